#!/usr/bin/env bash
# End-to-end tests for the marketer's side of the command line: `nurture
# init` (what it creates, the secret's mode, that it never overwrites and
# then changes nothing), `campaign lint` and `campaign list` on the init
# folder and on broken campaigns (exit codes and the exact file:line:col
# lines, binary garbage, a huge file), how every command finds its
# configuration (-c, NURTURE_CONFIG, ./nurture.yaml, none), `preview` (the
# defaults, the unsubscribe link and postal address, --raw as real MIME, a
# step that does not exist) and --help.  Nothing here depends on
# `nurture lead`.
#
# Needs $NURTURE (the built binary) and python3.
set -euo pipefail

: "${NURTURE:?set NURTURE to the nurture binary}"
if [[ ! -x $NURTURE ]]; then
    echo "e2e campaign: $NURTURE is not built" >&2
    exit 1
fi
NURTURE=$(cd "$(dirname "$NURTURE")" && pwd)/$(basename "$NURTURE")

T=$(mktemp -d "${TMPDIR:-/tmp}/nt_e2e_campaign.XXXXXX")
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
unset NURTURE_CONFIG

passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*" >&2
}

# run CMD...: stdout in $T/out, stderr in $T/err, exit code in $rc.
run() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}

expect_rc() { # WANT WHAT
    if [[ $rc -eq $1 ]]; then pass; else fail "$2: exit $rc, want $1 (stderr: $(head -c 600 "$T/err"))"; fi
}

expect_file_eq() { # FILE WANT WHAT: the whole file is exactly WANT
    local got
    got=$(cat "$1")
    if [[ "$got" == "$2" ]]; then pass; else
        fail "$3: got
$got
--- want
$2"
    fi
}

expect_grep() { # FILE FIXED-STRING WHAT
    if grep -qF -- "$2" "$1"; then pass; else fail "$3: no '$2' in $(basename "$1"): $(head -c 800 "$1")"; fi
}

expect_no_grep() { # FILE FIXED-STRING WHAT
    if grep -qF -- "$2" "$1"; then fail "$3: '$2' found in $(basename "$1")"; else pass; fi
}

expect_true() { # WHAT CMD...
    local what=$1
    shift
    if "$@"; then pass; else fail "$what"; fi
}

# A fingerprint of every file under a folder: names, modes, sizes, contents.
snapshot() {
    (cd "$1" && find . -print0 | LC_ALL=C sort -z |
        xargs -0 stat -c '%n %a %s %Y' && find . -type f -print0 | LC_ALL=C sort -z |
        xargs -0 sha256sum) | sha256sum
}

# ---- init ----

run "$NURTURE" init acme
expect_rc 0 "init"
expect_grep "$T/out" "Created acme: nurture.yaml, secret, nurture.db, campaigns/" "init message"
for f in nurture.yaml secret nurture.db campaigns/welcome/campaign.yaml \
    campaigns/welcome/emails/01-welcome.md campaigns/welcome/emails/footer.md \
    campaigns/reengage-mql/campaign.yaml campaigns/reengage-mql/emails/03-close-the-loop.md; do
    expect_true "init created $f" test -f "acme/$f"
done
expect_true "secret is mode 0600" test "$(stat -c %a acme/secret)" = 600
expect_true "secret is 64 hex digits" grep -qxE '[0-9a-f]{64}' acme/secret
expect_true "the example campaigns are the shipped ones" \
    cmp -s acme/campaigns/welcome/campaign.yaml "$NT_SOURCE_DIR/campaigns/welcome/campaign.yaml"
expect_true "the config is commented" grep -q '^# nurture configuration' acme/nurture.yaml
expect_true "the config names the secret file, not its value" \
    grep -qx 'secret: {file: secret}' acme/nurture.yaml
expect_no_grep acme/nurture.yaml "$(cat acme/secret)" "secret value in the config"
expect_no_grep "$T/out" "$(cat acme/secret)" "secret value printed by init"

if [[ ! -f acme/nurture.yaml ]]; then
    fail "init made no working folder; the rest depends on it"
    echo "e2e campaign: $passed passed, $failed failed"
    exit 1
fi

# A second init refuses and changes nothing.
before=$(snapshot acme)
run "$NURTURE" init acme
expect_rc 1 "init over an existing folder"
expect_file_eq "$T/err" "nurture: acme/nurture.yaml already exists; init never overwrites (choose an empty folder)" "init refusal"
expect_true "refused init changed nothing" test "$(snapshot acme)" = "$before"

# One leftover file is enough to refuse, and nothing else appears.
mkdir partial
echo keep >partial/secret
run "$NURTURE" init partial
expect_rc 1 "init over a folder with a secret"
expect_file_eq "$T/err" "nurture: partial/secret already exists; init never overwrites (choose an empty folder)" "init refusal (secret)"
expect_true "only the old secret is there" test "$(ls -A partial)" = secret
expect_true "the old secret is kept" test "$(cat partial/secret)" = keep

# An init that fails part way (here: a file size limit, so writes fail with
# EFBIG) removes what it made and says so.
run bash -c 'trap "" XFSZ; ulimit -f 1; exec "$0" init halfway' "$NURTURE"
expect_rc 74 "init that cannot write"
expect_grep "$T/err" "File too large" "init names the failed write"
expect_grep "$T/err" "nothing was left in halfway" "init says it cleaned up"
expect_true "a failed init leaves no folder" test ! -e halfway

touch plainfile
run "$NURTURE" init plainfile
expect_rc 1 "init on a file"
expect_file_eq "$T/err" "nurture: plainfile exists and is not a folder; init never overwrites" "init on a file"
expect_true "the file is untouched" test ! -s plainfile

run "$NURTURE" init --timezone Mars/Olympus newdir
expect_rc 64 "init with a bad zone"
expect_grep "$T/err" "unknown time zone 'Mars/Olympus'" "init bad zone message"
expect_true "nothing created for a bad zone" test ! -e newdir

run "$NURTURE" init --timezone America/New_York ny
expect_rc 0 "init with a zone"
expect_true "the zone is in the config" grep -q '^timezone: America/New_York ' ny/nurture.yaml

run "$NURTURE" init
expect_rc 64 "init without a folder"
expect_grep "$T/err" "init needs exactly one folder name" "init usage"

# ---- lint and list on the init folder ----

before=$(snapshot acme)
cd acme
run "$NURTURE" campaign lint
expect_rc 0 "lint of the init folder"
expect_file_eq "$T/err" "nurture: 2 campaigns checked: 0 errors, 0 warnings" "lint summary"
expect_file_eq "$T/out" "" "lint prints nothing on stdout"

run "$NURTURE" campaign lint --werror
expect_rc 0 "lint --werror of the init folder"

run "$NURTURE" campaign lint --json
expect_rc 0 "lint --json"
expect_true "lint --json parses" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"checked": 2, "errors": 0, "warnings": 0, "diagnostics": []}, d
' "$T/out"

run "$NURTURE" campaign list
expect_rc 0 "campaign list"
expect_true "list has a header and two rows" test "$(wc -l <"$T/out")" -eq 3
expect_true "list header" grep -qE '^NAME +STATUS +AUDIENCE +STEPS +LENGTH +VERSION$' "$T/out"
expect_true "list row welcome" grep -qE '^welcome +active +lead +5 +[0-9wdhm]+ +[0-9a-f]{16}$' "$T/out"
expect_true "list row reengage-mql" grep -qE '^reengage-mql +active +MQL +3 +[0-9wdhm]+ +[0-9a-f]{16}$' "$T/out"

run "$NURTURE" campaign list --json
expect_rc 0 "campaign list --json"
expect_true "list --json parses" python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
assert [c["name"] for c in d] == ["reengage-mql", "welcome"], d
w = d[1]
assert w["status"] == "active" and w["stage"] == "lead" and w["steps"] == 5, w
# The length is the sum of the delays in the file (which marketing edits).
unit = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
total = sum(int(n) * unit[u] for a in re.findall(r"^[ -]*after: *(\S+)", open(sys.argv[2]).read(), re.M)
            for n, u in re.findall(r"(\d+)([wdhms])", a))
assert w["length_seconds"] == total, (w, total)
assert re.fullmatch(r"[0-9a-f]{16}", w["version"]), w
assert w["path"].endswith("campaigns/welcome/campaign.yaml"), w
assert d[0]["stage"] == "MQL" and d[0]["steps"] == 3, d[0]
' "$T/out" campaigns/welcome/campaign.yaml
welcome_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["version"])' "$T/out")

run "$NURTURE" campaign lint campaigns/welcome campaigns/reengage-mql/campaign.yaml
expect_rc 0 "lint of named campaigns"
expect_file_eq "$T/err" "nurture: 2 campaigns checked: 0 errors, 0 warnings" "lint of named campaigns"

run "$NURTURE" campaign frobnicate
expect_rc 64 "unknown campaign subcommand"
expect_grep "$T/err" "unknown subcommand 'frobnicate' (lint or list)" "unknown subcommand message"
run "$NURTURE" campaign
expect_rc 64 "campaign without a subcommand"
expect_grep "$T/err" "usage: nurture campaign lint" "campaign usage on stderr"

# ---- preview ----

run "$NURTURE" preview welcome 1 --at 2026-11-23T09:00:00Z
expect_rc 0 "preview welcome 1"
expect_grep "$T/out" "Subject: Welcome to Northwind, there" "preview subject default"
expect_grep "$T/out" "Hi there," "preview body default"
expect_grep "$T/out" "what a team like yours got out of it" "preview company default"
expect_grep "$T/out" "To: preview@example.com" "preview lead"
expect_grep "$T/out" "Date: Mon, 23 Nov 2026 09:00:00 +0000" "preview --at"
expect_grep "$T/out" "[Unsubscribe](mailto:unsubscribe@northwind.example?subject=unsubscribe)" "preview unsubscribe link (text)"
expect_grep "$T/out" '<a href="mailto:unsubscribe@northwind.example?subject=unsubscribe">Unsubscribe</a>' "preview unsubscribe link (html)"
expect_grep "$T/out" "Northwind Metrics Inc., 100 Main Street, Springfield, OR 97477, USA" "preview postal address"
expect_grep "$T/out" "List-Unsubscribe: <mailto:unsubscribe@northwind.example>" "preview List-Unsubscribe"
expect_grep "$T/out" "----- text/plain -----" "preview text part"
expect_grep "$T/out" "----- text/html -----" "preview html part"
expect_grep "$T/out" "Message-ID: <preview.${welcome_version:0:8}.1.0@northwind.example>" "preview Message-ID names the version and step"
expect_no_grep "$T/out" "{{" "no merge field left in the preview"

run "$NURTURE" preview welcome talk-to-us
expect_rc 0 "preview by step id"
expect_grep "$T/out" "Subject: Worth a 20-minute call?" "preview by step id subject"

run "$NURTURE" preview campaigns/reengage-mql 3
expect_rc 0 "preview by path"
expect_grep "$T/out" "Subject: Should I close your file?" "preview by path subject"

run "$NURTURE" preview --raw welcome 2 --at 2026-11-23T09:00:00Z
expect_rc 0 "preview --raw"
expect_true "preview --raw is multipart/alternative MIME" python3 -c '
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "line ends are not CRLF"
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m.get_content_type() == "multipart/alternative", m.get_content_type()
assert m["Subject"] == "Your first report in 20 minutes", m["Subject"]
assert m["To"] == "preview@example.com", m["To"]
assert "northwind.example" in m["From"], m["From"]
assert m["Message-ID"], "no Message-ID"
parts = [p.get_content_type() for p in m.iter_parts()]
assert parts == ["text/plain", "text/html"], parts
text = m.get_body(("plain",)).get_content()
html = m.get_body(("html",)).get_content()
assert "Hi there," in text, text[:200]
assert "Northwind Metrics Inc., 100 Main Street" in text
assert "<p>Hi there,</p>" in html, html[:400]
assert "unsubscribe@northwind.example" in html
assert max(len(l) for l in raw.split(b"\r\n")) <= 998, "a line over the RFC 5322 limit"
' "$T/out"

run "$NURTURE" preview welcome 9
expect_rc 64 "preview of a step that does not exist"
expect_file_eq "$T/err" "nurture: campaign 'welcome' has no step '9' (steps are numbered 1 to 5)" "preview missing step"
run "$NURTURE" preview welcome no-such-step
expect_rc 64 "preview of a step id that does not exist"
expect_file_eq "$T/err" "nurture: campaign 'welcome' has no step 'no-such-step' (steps are numbered 1 to 5)" "preview missing step id"
run "$NURTURE" preview welcome 0
expect_rc 64 "preview of step 0"
run "$NURTURE" preview nosuch 1
expect_rc 1 "preview of a campaign that does not exist"
expect_file_eq "$T/err" "nurture: no campaign named 'nosuch' (see \`nurture campaign list\`)" "preview missing campaign"
run "$NURTURE" preview welcome
expect_rc 64 "preview without a step"
expect_grep "$T/err" "preview needs CAMPAIGN STEP [LEAD]" "preview usage"
cd "$T"
expect_true "lint, list and preview changed nothing in the folder" test "$(snapshot acme)" = "$before"

# ---- broken campaigns ----

CFG=$T/acme/nurture.yaml
mkdir -p bad
cat >bad/ok.md <<'EOF'
---
subject: Hello {{first_name | there}}
preheader: A short note
---
Hi {{first_name | there}},

[Unsubscribe]({{unsubscribe_url}}) {{postal_address}}
EOF

HEAD='name: t
audience:
  stage: lead
sender: hello
window:
  days: [mon, tue, wed, thu, fri]
  hours: "09:00-17:00"'

# lint_one NAME YAML WANT: bad/NAME.yaml must fail lint with exactly WANT
# (the file:line:col lines, then the summary) and exit 65.  The campaign is
# renamed NAME, as its file is, so that lint has no note about the name.
lint_one() {
    printf '%s\n' "${2/#name: t/name: $1}" >"bad/$1.yaml"
    run "$NURTURE" -c "$CFG" campaign lint "bad/$1.yaml"
    expect_rc 65 "lint $1"
    expect_file_eq "$T/err" "$3" "lint $1"
}

lint_one delay "$HEAD
steps:
  - delay: 1d
    email: ok.md" \
"nurture: bad/delay.yaml:9:5: unknown key 'delay' in a step; did you mean 'after'?
nurture: bad/delay.yaml:9:5: each step needs 'after', the wait before it, such as 3d or 0d
nurture: 1 campaign checked: 2 errors, 0 warnings"

lint_one sendr "name: t
audience: {stage: lead}
sendr: hello
steps:
  - {after: 1d, email: ok.md}" \
"nurture: bad/sendr.yaml:3:1: unknown key 'sendr' in the campaign; did you mean 'sender'?
nurture: bad/sendr.yaml:1:1: the campaign needs a 'sender', one of the sender ids in the configuration
nurture: 1 campaign checked: 2 errors, 0 warnings"

lint_one syntax "$HEAD
steps:
  - after: 1d
    email: [ok.md" \
"nurture: bad/syntax.yaml:11:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence
nurture: 1 campaign checked: 1 error, 0 warnings"

lint_one stage "name: t
audience:
  stage: opportunty
sender: hello
steps:
  - {after: 1d, email: ok.md}" \
"nurture: bad/stage.yaml:3:10: unknown stage 'opportunty'; did you mean 'opportunity'? (stages are defined in $CFG)
nurture: 1 campaign checked: 1 error, 0 warnings"

lint_one duration "$HEAD
steps:
  - after: 3 days
    email: ok.md" \
"nurture: bad/duration.yaml:9:12: 'after': invalid duration '3 days': unknown unit 'days' at column 3 (use w, d, h, m or s)
nurture: 1 campaign checked: 1 error, 0 warnings"

lint_one missing "$HEAD
steps:
  - after: 1d
    email: emails/gone.md" \
"nurture: bad/missing.yaml:10:12: email file 'emails/gone.md' cannot be read (No such file or directory): check the path, which is relative to bad
nurture: 1 campaign checked: 1 error, 0 warnings"

lint_one hours "name: t
audience: {stage: lead}
sender: hello
window:
  days: weekdays
  hours: \"17:00-09:00\"
steps:
  - {after: 1d, email: ok.md}" \
"nurture: bad/hours.yaml:6:10: the send window '17:00-09:00' has no hours: the end must be after the start
nurture: 1 campaign checked: 1 error, 0 warnings"

cat >bad/merge.md <<'EOF'
---
subject: Hi {{frist_name | there}}
preheader: p
---
No link, no address, {{company}}.
EOF
lint_one merge "$HEAD
steps:
  - after: 1d
    email: merge.md" \
"nurture: bad/merge.md:2:13: unknown merge field 'frist_name'; did you mean 'first_name'?
nurture: bad/merge.md:5:22: warning: merge field 'company' has no default: leads without it get an empty value; write {{company | something}}
nurture: bad/merge.md:1:1: no unsubscribe link: every email needs {{unsubscribe_url}} (in the email or the campaign's footer)
nurture: bad/merge.md:1:1: no postal address: every email needs {{postal_address}} (in the email or the campaign's footer)
nurture: 1 campaign checked: 3 errors, 1 warning"

# Warnings alone pass, unless --werror.
printf '%s\n' "name: weekend
audience: {stage: lead}
sender: hello
window: {days: [mon, sat], hours: \"09:00-17:00\"}
steps:
  - {after: 1d, email: ok.md}" >bad/weekend.yaml
run "$NURTURE" -c "$CFG" campaign lint bad/weekend.yaml
expect_rc 0 "lint with a warning"
expect_file_eq "$T/err" "nurture: bad/weekend.yaml:4:9: warning: the send window includes the weekend, when B2B email is read least
nurture: 1 campaign checked: 0 errors, 1 warning" "lint warning"
run "$NURTURE" -c "$CFG" campaign lint --werror bad/weekend.yaml
expect_rc 65 "lint --werror with a warning"

run "$NURTURE" -c "$CFG" campaign lint --json bad/merge.yaml
expect_rc 65 "lint --json with errors"
expect_true "lint --json lists the errors" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["checked"] == 1 and d["errors"] == 3 and d["warnings"] == 1, d
first = d["diagnostics"][0]
assert first == {"file": "bad/merge.md", "line": 2, "column": 13, "severity": "error",
                 "message": "unknown merge field '"'"'frist_name'"'"'; did you mean '"'"'first_name'"'"'?"}, first
assert [x["severity"] for x in d["diagnostics"]] == ["error", "warning", "error", "error"]
' "$T/out"

# Several files at once: every problem, one summary.
run "$NURTURE" -c "$CFG" campaign lint bad/delay.yaml bad/weekend.yaml bad/stage.yaml
expect_rc 65 "lint of several files"
expect_grep "$T/err" "nurture: 3 campaigns checked: 3 errors, 1 warning" "lint of several files summary"

# Binary garbage (random, so it is a NUL byte or bad UTF-8, somewhere).
head -c 4096 /dev/urandom >bad/garbage.yaml
run "$NURTURE" -c "$CFG" campaign lint bad/garbage.yaml
expect_rc 65 "lint of binary garbage"
expect_true "binary garbage gets a positioned message" grep -qE \
    '^nurture: bad/garbage\.yaml:[0-9]+:[0-9]+: (the file contains a NUL byte; is it a text file\?|YAML syntax error: .+)$' "$T/err"
expect_grep "$T/err" "nurture: 1 campaign checked: 1 error, 0 warnings" "binary garbage summary"
printf 'name: t\nsender: he\0llo\n' >bad/nul.yaml
run "$NURTURE" -c "$CFG" campaign lint bad/nul.yaml
expect_rc 65 "lint of a file with a NUL"
expect_file_eq "$T/err" "nurture: bad/nul.yaml:2:11: the file contains a NUL byte; is it a text file?
nurture: 1 campaign checked: 1 error, 0 warnings" "NUL byte"

# A huge file is refused without being parsed.
head -c 5242880 /dev/zero | tr '\0' '#' >bad/huge.yaml
run "$NURTURE" -c "$CFG" campaign lint bad/huge.yaml
expect_rc 65 "lint of a 5 MB file"
expect_file_eq "$T/err" "nurture: bad/huge.yaml: cannot read the campaign: larger than 4 MiB
nurture: 1 campaign checked: 1 error, 0 warnings" "huge file"

run "$NURTURE" -c "$CFG" campaign lint bad/no-such.yaml
expect_rc 65 "lint of a missing file"
expect_grep "$T/err" "nurture: bad/no-such.yaml: cannot read the campaign: No such file or directory" "missing file"

# A campaigns folder with two campaigns of one name: both left out.
cp -r acme dup
cp dup/campaigns/welcome/campaign.yaml dup/campaigns/welcome2.yaml
sed -i 's#emails/#welcome/emails/#' dup/campaigns/welcome2.yaml
run "$NURTURE" -c dup/nurture.yaml campaign lint
expect_rc 65 "lint of a folder with a duplicate name"
expect_file_eq "$T/err" "nurture: dup/campaigns/welcome2.yaml:6:7: campaign name 'welcome' is also used by dup/campaigns/welcome/campaign.yaml; names must be unique
nurture: 3 campaigns checked: 1 error, 0 warnings" "duplicate names"
run "$NURTURE" -c dup/nurture.yaml campaign list
expect_rc 65 "list with a duplicate name"
expect_true "list shows only the good one" test "$(tail -n +2 "$T/out" | awk '{print $1}')" = reengage-mql
expect_grep "$T/err" "2 campaigns failed to load; run \`nurture campaign lint\`" "list failure message"

# No campaigns folder is an error, not an empty list.
mv dup/campaigns dup/campaigns.away
run "$NURTURE" -c dup/nurture.yaml campaign list
expect_rc 66 "list without a campaigns folder"
expect_file_eq "$T/err" "nurture: dup/campaigns: cannot open the campaigns folder: No such file or directory" "list without a campaigns folder"
run "$NURTURE" -c dup/nurture.yaml campaign lint
expect_rc 65 "lint without a campaigns folder"
expect_file_eq "$T/err" "nurture: dup/campaigns: cannot open the campaigns folder: No such file or directory
nurture: 0 campaigns checked: 1 error, 0 warnings" "lint without a campaigns folder"

# ---- finding the configuration ----

mkdir -p find/empty find/cwd
cat >find/broken.yaml <<'EOF'
stages: [
EOF
cp "$CFG" find/cwd/nurture.yaml
sed -i "s#^campaigns: campaigns #campaigns: $T/acme/campaigns #" find/cwd/nurture.yaml
cd find/empty
run "$NURTURE" campaign list
expect_rc 78 "no configuration anywhere"
expect_file_eq "$T/err" "nurture: no configuration: give -c FILE, set NURTURE_CONFIG, or run in a folder with nurture.yaml (create one with \`nurture init DIR\`)" "no configuration message"
run "$NURTURE" campaign lint
expect_rc 78 "lint with no configuration"
run "$NURTURE" preview welcome 1
expect_rc 78 "preview with no configuration"

run "$NURTURE" -c "$CFG" campaign list
expect_rc 0 "-c"
expect_true "-c finds the campaigns" test "$(wc -l <"$T/out")" -eq 3
run "$NURTURE" campaign list --config "$CFG"
expect_rc 0 "--config after the command"
run "$NURTURE" -c nope.yaml campaign list
expect_rc 78 "-c with a missing file"
expect_file_eq "$T/err" "nurture: nope.yaml: cannot read the config file given with -c: No such file or directory" "-c missing"

NURTURE_CONFIG=$CFG run "$NURTURE" campaign list
expect_rc 0 "NURTURE_CONFIG"
expect_true "NURTURE_CONFIG finds the campaigns" test "$(wc -l <"$T/out")" -eq 3
NURTURE_CONFIG=$T/find/gone.yaml run "$NURTURE" campaign list
expect_rc 78 "NURTURE_CONFIG naming a missing file"
expect_file_eq "$T/err" "nurture: $T/find/gone.yaml: cannot read the config file named by NURTURE_CONFIG: No such file or directory" "NURTURE_CONFIG missing"
# -c wins over NURTURE_CONFIG.
NURTURE_CONFIG=$T/find/broken.yaml run "$NURTURE" -c "$CFG" campaign list
expect_rc 0 "-c wins over NURTURE_CONFIG"
NURTURE_CONFIG=$T/find/broken.yaml run "$NURTURE" campaign list
expect_rc 78 "a broken config"
expect_file_eq "$T/err" "nurture: $T/find/broken.yaml:2:1: YAML syntax error: did not find expected node content while parsing a flow node" "broken config message"

cd "$T/find/cwd"
run "$NURTURE" campaign list
expect_rc 0 "./nurture.yaml"
expect_true "./nurture.yaml finds the campaigns" test "$(wc -l <"$T/out")" -eq 3
# NURTURE_CONFIG wins over ./nurture.yaml.
NURTURE_CONFIG=$T/find/broken.yaml run "$NURTURE" campaign list
expect_rc 78 "NURTURE_CONFIG wins over ./nurture.yaml"
cd "$T"

# A config with errors: every one with its position, exit 78.
cat >find/errors.yaml <<'EOF'
datbase: x.db
stages:
  - name: lead
    definition: x
smtp:
  host: h
  port: 70000
  tls: maybe
secret: {env: NURTURE_SECRET, file: secret}
EOF
run "$NURTURE" -c find/errors.yaml campaign list
expect_rc 78 "config with errors"
expect_file_eq "$T/err" "nurture: find/errors.yaml:1:1: unknown key 'datbase' in the configuration; did you mean 'database'?
nurture: find/errors.yaml:7:9: 'port' must be between 1 and 65535, not 70000
nurture: find/errors.yaml:8:8: smtp tls must be 'required', 'opportunistic' or 'off'
nurture: find/errors.yaml:9:9: secret must name exactly one of 'env' (an environment variable) or 'file'" "config errors"
expect_file_eq "$T/out" "" "nothing on stdout for a bad config"

# ---- --help ----

for cmd in init campaign preview stages; do
    run "$NURTURE" "$cmd" --help
    expect_rc 0 "$cmd --help"
    expect_true "$cmd --help prints its usage" grep -q "^usage: nurture $cmd" "$T/out"
    expect_file_eq "$T/err" "" "$cmd --help writes nothing to stderr"
done
run "$NURTURE" campaign lint --help
expect_rc 0 "campaign lint --help"
expect_grep "$T/out" "usage: nurture campaign lint" "campaign lint --help"
run "$NURTURE" --help
expect_rc 0 "nurture --help"
expect_grep "$T/out" "campaign   check campaign files (lint) and list them" "nurture --help lists campaign"

echo "e2e campaign: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
