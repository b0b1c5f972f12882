#!/usr/bin/env bash
# End-to-end: nurture lead add / import / show / list / set-stage on a
# temporary folder with its own nurture.yaml.  CSV (quotes, commas, line
# breaks, CRLF, a byte order mark) and JSON lines on standard input; --json
# output parsed by python3; error cases with their messages and exit codes;
# a failed --strict import must leave the database exactly as it was.
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# run ARGS...: the command's stdout, stderr and exit code in out, err, rc.
run() {
    set +e
    "$NURTURE" "$@" >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    set -e
}
# run_in FILE ARGS...: the same with FILE on standard input.
run_in() {
    local input=$1; shift
    set +e
    "$NURTURE" "$@" >"$work/out" 2>"$work/err" <"$input"
    rc=$?
    set -e
}
expect_rc() { # WHAT CODE
    if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit $rc, expected $2; stderr: $(cat "$work/err")"; fi
}
out_has() { # WHAT TEXT
    if grep -qF -- "$2" "$work/out"; then ok; else bad "$1: stdout lacks '$2': $(cat "$work/out")"; fi
}
err_has() { # WHAT TEXT
    if grep -qF -- "$2" "$work/err"; then ok; else bad "$1: stderr lacks '$2': $(cat "$work/err")"; fi
}
# json EXPR: evaluate a python expression over the JSON document in out (as d).
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$work/out" "$1"
}
json_is() { # WHAT EXPR VALUE
    local got
    got=$(json "$2" 2>&1) || true
    if [ "$got" = "$3" ]; then ok; else bad "$1: $2 = '$got', expected '$3'"; fi
}
db_digest() {
    python3 -c 'import sqlite3,sys,hashlib; c=sqlite3.connect(sys.argv[1]); print(hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest())' "$work/nurture.db"
}

cat >"$work/nurture.yaml" <<'EOF'
database: nurture.db
timezone: Europe/Paris
stages:
  - name: subscriber
    definition: Opted in to receive content.
  - name: lead
    definition: Gave contact details.
  - name: MQL
    definition: Marketing-qualified.
  - name: customer
    definition: Signed and paying.
EOF
export NURTURE_CONFIG="$work/nurture.yaml"

# ---- help ----
run lead
expect_rc "lead alone" 64
err_has "lead alone lists the commands" "set-stage"
run lead --help
expect_rc "lead --help" 0
for sub in add import show list set-stage; do
    run lead "$sub" --help
    expect_rc "lead $sub --help" 0
    out_has "lead $sub --help" "usage: nurture lead $sub"
done
run lead frobnicate
expect_rc "unknown lead command" 64
err_has "unknown lead command" "unknown lead command 'frobnicate'"

# ---- add ----
run lead add "  ann@Example.COM " --first-name Ann --last-name Lee --company "Acme, Inc." \
    --stage mql --timezone Europe/Berlin --field plan=pro --field seats=12
expect_rc "add" 0
out_has "add says created" "created lead 1: ann@example.com (stage MQL)"
run lead add ann@example.com --title CEO --json
expect_rc "add again" 0
json_is "add again updates" 'd["created"]' False
json_is "add again keeps fields" 'd["company"], d["title"], d["fields"]["plan"]' \
    "('Acme, Inc.', 'CEO', 'pro')"
run lead add "user@bücher.example" --first-name Jörg
expect_rc "add IDN" 0
out_has "add IDN is stored in ASCII" "user@xn--bcher-kva.example"
run lead add not-an-address
expect_rc "add bad address" 65
err_has "add bad address" "'not-an-address' is not a usable email address"
run lead add bob@example.com --stage prospect
expect_rc "add unknown stage" 65
err_has "add unknown stage" "unknown stage 'prospect'"
run lead add bob@example.com --timezone Mars/Olympus
expect_rc "add unknown zone" 65
err_has "add unknown zone" "unknown time zone 'Mars/Olympus'"
run lead add bob@example.com --field Plan=x
expect_rc "add bad field name" 64
err_has "add bad field name" "'Plan' is not a field name"
run lead add bob@example.com --first-name "$(printf 'Bob\nBcc: x@evil.example')"
expect_rc "add header injection" 64
err_has "add header injection" "line break"
run lead add
expect_rc "add without address" 64
run lead list --json
json_is "failed adds stored nothing" 'len(d)' 2

# ---- import CSV ----
printf '\xef\xbb\xbfE-mail,First Name,Company Name,Lifecycle Stage,Time Zone,Plan,Notes\r\n' >"$work/leads.csv"
printf 'bob@example.com,Bob,"Bob, Ltd",lead,America/New_York,free,"said ""hi""\r\non two lines"\r\n' >>"$work/leads.csv"
printf 'no-at-sign,X,,,,,\r\n' >>"$work/leads.csv"
printf 'cy@example.com,Cy,Cyco,lead,Asia/Tokyo,,\r\n' >>"$work/leads.csv"
printf 'dee@example.com,Dee,"Dee ""Q"" Corp",nope,,,\r\n' >>"$work/leads.csv"
printf 'eve@example.com,Eve,Eveco,customer,,pro,"x"y\r\n' >>"$work/leads.csv"
printf 'ann@example.com,Ann,,,,enterprise,\r\n' >>"$work/leads.csv"
(cd "$work" && set +e && "$NURTURE" lead import leads.csv >"$work/out" 2>"$work/err"; echo $? >"$work/rc")
rc=$(cat "$work/rc")
expect_rc "import with bad rows exits 1" 1
out_has "import summary" "leads.csv: 6 rows, 2 created, 1 updated, 3 rejected"
err_has "bad address with its line" "leads.csv:4: 'no-at-sign' has no '@'"
err_has "bad stage with its line" "leads.csv:6: unknown stage 'nope'"
err_has "malformed quote with line and column" "leads.csv:7:44: text after the closing quote"
run lead show bob@example.com --json
json_is "quoted comma kept" 'd["company"]' "Bob, Ltd"
json_is "quotes and CRLF inside a value kept" 'd["fields"]["notes"] == "said \"hi\"\r\non two lines"' True
json_is "header aliases" 'd["stage"], d["timezone"], d["first_name"]' \
    "('lead', 'America/New_York', 'Bob')"
run lead show ann@example.com --json
json_is "import updated the existing lead" 'd["fields"]["plan"], d["title"]' "('enterprise', 'CEO')"

(cd "$work" && set +e && "$NURTURE" lead import --json leads.csv >"$work/out" 2>"$work/err"; echo $? >"$work/rc")
rc=$(cat "$work/rc")
expect_rc "re-import exits 1 (same bad rows)" 1
json_is "re-import updates, creates none" 'd["rows"], d["created"], d["updated"], d["rejected"]' \
    "(6, 0, 3, 3)"
json_is "re-import errors with line numbers" '[e["line"] for e in d["errors"]]' "[4, 6, 7]"
run lead list --json
json_is "no duplicates after re-import" 'len(d)' 4

# ---- strict: all or nothing ----
before=$(db_digest)
printf 'email,company\nann@example.com,Changed Inc\nfay@example.com,Fayco\nbroken,X\n' >"$work/strict.csv"
run lead import --strict "$work/strict.csv"
expect_rc "strict with a bad row" 65
out_has "strict summary" "nothing imported (--strict)"
err_has "strict reports the row" "strict.csv:4: 'broken' has no '@'"
after=$(db_digest)
check "failed strict import left the database as it was" test "$before" = "$after"
printf 'email,company\nfay@example.com,Fayco\ngus@example.com,Gusco\n' >"$work/strict-ok.csv"
run lead import --strict "$work/strict-ok.csv"
expect_rc "strict and clean" 0
out_has "strict and clean summary" "2 rows, 2 created, 0 updated, 0 rejected"

# ---- JSON lines on standard input ----
cat >"$work/form.jsonl" <<'EOF'
{"email": "hal@example.com", "First Name": "Hal", "utm_source": "ads", "seats": 3, "consent": true}

{"email": "ivy@example.com", "stage": "MQL"
{"email": "jo@example.com", "tags": ["a", "b"]}
{"email": "Hal@EXAMPLE.com", "company": "Halco"}
EOF
run_in "$work/form.jsonl" lead import -
expect_rc "JSON lines with bad lines exits 1" 1
out_has "JSON lines summary" "<stdin>: 4 rows, 2 created, 0 updated, 2 rejected"
err_has "bad JSON with its line" "<stdin>:3:"
err_has "bad JSON message" "not valid JSON"
err_has "list value with its line" "<stdin>:4: the value of 'tags' is a list"
run lead show hal@example.com --json
json_is "JSON lines fields" 'd["first_name"], d["company"], d["fields"]["seats"], d["fields"]["consent"], d["fields"]["utm_source"]' \
    "('Hal', None, '3', 'true', 'ads')"
run lead show Hal@example.com --json
json_is "JSON lines second object is another address" 'd["company"]' "Halco"
printf 'email,first_name\nkim@example.com,Kim\n' >"$work/stdin.csv"
run_in "$work/stdin.csv" lead import --format csv -
expect_rc "CSV on standard input" 0
out_has "CSV on standard input" "<stdin>: 1 rows, 1 created"

# ---- show ----
run lead show ann@example.com
expect_rc "show" 0
out_has "show email" "ann@example.com"
out_has "show custom field" "plan"
out_has "show timeline" "timeline"
run lead show "  ANN@example.COM "
expect_rc "show by another spelling of the domain" 1
run lead show " ann@EXAMPLE.com "
expect_rc "show normalises the domain" 0
run lead show 1 --json
json_is "show by id" 'd["id"], d["email"]' "(1, 'ann@example.com')"
json_is "show events" '[e["kind"] for e in d["events"]][:2]' "['created', 'updated']"
json_is "show enrollments" 'd["enrollments"]' "[]"
run lead show nobody@example.com
expect_rc "show unknown lead" 1
err_has "show unknown lead" "no lead with email address 'nobody@example.com'"
run lead show 9999
expect_rc "show unknown id" 1
err_has "show unknown id" "no lead with id 9999"

# ---- list ----
run lead list
expect_rc "list" 0
out_has "list header" "EMAIL"
out_has "list row" "bob@example.com"
run lead list --json
json_is "list --json is one array" 'type(d).__name__, len(d)' "('list', 9)"
json_is "list is oldest first" '[x["id"] for x in d] == sorted(x["id"] for x in d)' "True"
run lead list --stage LEAD --json
json_is "list by stage (any case)" 'sorted(x["email"] for x in d)' "['bob@example.com', 'cy@example.com']"
run lead list --limit 3 --json
json_is "list --limit" 'len(d)' 3
run lead list --stage lead
out_has "list by stage, for people" "cy@example.com"
run lead list --stage nope
expect_rc "list unknown stage" 64
err_has "list unknown stage" "unknown stage 'nope'; the stages are: subscriber, lead, MQL, customer"
run lead list --limit zero
expect_rc "list bad limit" 64

# ---- set-stage ----
run lead set-stage bob@example.com mql
expect_rc "set-stage" 0
out_has "set-stage says what changed" "bob@example.com: lead -> MQL"
run lead set-stage bob@example.com MQL --json
json_is "set-stage again changes nothing" 'd["changed"], d["to"]' "(False, 'MQL')"
run lead show bob@example.com --json
json_is "set-stage recorded" 'd["stage"], [e["detail"] for e in d["events"] if e["kind"] == "stage"]' \
    "('MQL', [{'from': 'lead', 'to': 'MQL'}])"
run lead set-stage bob@example.com prospect
expect_rc "set-stage unknown stage" 64
err_has "set-stage unknown stage" "unknown stage 'prospect'"
run lead set-stage nobody@example.com lead
expect_rc "set-stage unknown lead" 1
run lead set-stage bob@example.com
expect_rc "set-stage without a stage" 64

# ---- files that cannot be imported ----
run lead import "$work/missing.csv"
expect_rc "missing file" 66
err_has "missing file" "cannot open $work/missing.csv: No such file or directory"
run lead import --format csv "$work"
expect_rc "a folder" 66
err_has "a folder" "is a folder"
cp "$work/leads.csv" "$work/leads.txt"
run lead import "$work/leads.txt"
expect_rc "unknown extension" 64
err_has "unknown extension" "--format csv"
run lead import --format xml "$work/leads.csv"
expect_rc "unknown format" 64
before=$(db_digest)
printf 'name,company\nAnn,Acme\n' >"$work/noemail.csv"
run lead import "$work/noemail.csv"
expect_rc "no email column" 65
err_has "no email column" "noemail.csv:1: no email column"
: >"$work/empty.csv"
run lead import "$work/empty.csv"
expect_rc "empty file" 65
err_has "empty file" "empty"
head -c 3000 /dev/urandom >"$work/garbage.csv" || true
run lead import "$work/garbage.csv"
check "binary garbage is refused, not a crash" test "$rc" -eq 65 -o "$rc" -eq 1
after=$(db_digest)
check "unusable files changed nothing" test "$before" = "$after"
run lead import --json "$work/noemail.csv"
json_is "import --json of an unusable file" 'd["imported"], d["errors"][0]["line"]' "(False, 1)"

# ---- no configuration ----
(unset NURTURE_CONFIG; cd "$work" && mkdir -p empty && cd empty && set +e && "$NURTURE" lead list >/dev/null 2>"$work/err"; echo $? >"$work/rc")
rc=$(cat "$work/rc")
expect_rc "no configuration" 78
err_has "no configuration" "no configuration"

echo "e2e lead: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
