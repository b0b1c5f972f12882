#!/usr/bin/env bash
# End-to-end: nurture classify on messages of the shared corpus and on
# hand-written ones: the --json fields of each kind, tokens verified with
# the configuration's secret (and shown unverified without one), a rules
# folder that extends the built-in rules, a bad rule reported with its
# position, standard input, and the exit codes for a missing file (66) and
# a message that cannot be parsed (65).
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
: "${NT_SHARED_DIR:?path of the shared corpus folder}"
corpus="$NT_SHARED_DIR/corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset NURTURE_CONFIG
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# run ARGS...: stdout, stderr and exit code in out, err, rc; run from $work/cwd.
mkdir -p "$work/cwd"
run() {
    set +e
    (cd "$work/cwd" && "$NURTURE" "$@") >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    set -e
}
expect_rc() { # WHAT CODE
    if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit $rc, expected $2; stderr: $(cat "$work/err")"; fi
}
err_has() { # WHAT TEXT
    if grep -qF -- "$2" "$work/err"; then ok; else bad "$1: stderr lacks '$2': $(cat "$work/err")"; fi
}
# field N EXPR: a python expression over the JSON object on line N of out (as d).
field() {
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]); print(eval(sys.argv[3]))' \
        "$work/out" "$1" "$2"
}
is() { # WHAT LINE EXPR VALUE
    local got
    got=$(field "$2" "$3" 2>&1) || true
    if [ "$got" = "$4" ]; then ok; else bad "$1: $3 = '$got', expected '$4'"; fi
}

# Tokens as src/token.c makes them: HMAC-SHA256 subkeys per kind, version,
# varint send id, 10 bytes of MAC, lowercase base32 without padding.
secret=0123456789abcdef0123456789abcdef
token() { # KIND(m|b|u) SEND_ID
    python3 - "$secret" "$1" "$2" <<'EOF'
import base64, hashlib, hmac, sys
secret, kind, sid = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])
label = {"m": "message-id", "b": "bounce", "u": "unsubscribe"}[kind]
sub = hmac.new(secret, ("nurture token v1: " + label).encode(), hashlib.sha256).digest()
v = bytearray()
while sid >= 0x80:
    v.append((sid & 0x7f) | 0x80)
    sid >>= 7
v.append(sid)
mac = hmac.new(sub, bytes([1, ord(kind)]) + bytes(v), hashlib.sha256).digest()[:10]
print(base64.b32encode(bytes([1]) + bytes(v) + mac).decode().lower().rstrip("="))
EOF
}
verp=$(token b 42)
msgid=$(token m 7)

# ---- corpus messages, no configuration ----
run classify --json "$corpus/bounces-flufl/data/dsn_01.txt" \
    "$corpus/bounces-flufl/data/qmail_08.txt" \
    "$corpus/replies/talon/fixtures/standard_replies/gmail.eml" \
    "$corpus/bounces-flufl/data/simple_01.txt"
expect_rc "corpus" 0
is "dsn kind" 0 'd["kind"]' bounce
is "dsn rule" 0 'd["rule"]' dsn
is "dsn recipient" 0 'd["recipients"][0]["address"]' userx@example.com
is "dsn hard" 0 'd["hard"]' True
is "dsn original id" 0 'd["message_id"]' F1218V8zDv60gxapzha000001ae@hotmail.com
is "dsn no token" 0 'd["token"]' None
is "auto-reply kind" 1 'd["kind"]' auto-reply
is "auto-reply not a bounce" 1 'd["recipients"]' '[]'
is "reply kind" 2 'd["kind"]' reply
is "reply visible" 2 'd["visible"]' Hello
is "reply has no return date" 2 'd["return_date"]' None
is "non-DSN bounce" 3 'd["kind"]' bounce
is "four lines" 3 'len(open("'"$work/out"'").read().splitlines())' 4

# ---- hand-written messages ----
cat >"$work/ooo.eml" <<EOF
Return-Path: <>
From: Jane Roe <jane@customer.example>
To: <bounces+$verp@northwind.example>
Date: Wed, 3 Mar 2027 08:00:00 +0000
Subject: Abwesenheitsnotiz: Ihre Anfrage
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

Ich bin nicht im Büro und zurück am 15. März.
EOF
cat >"$work/reply.eml" <<EOF
From: Lead <lead@customer.example>
To: dana@northwind.example
Subject: Re: Your trial
In-Reply-To: <$msgid@northwind.example>
Content-Type: text/plain; charset=utf-8

Can we schedule a call next week?

On Mon, 1 Mar 2027, Dana <dana@northwind.example> wrote:
> Hello
> To unsubscribe, reply unsubscribe.
EOF
cat >"$work/forged.eml" <<EOF
From: MAILER-DAEMON@mx.example.org
To: bounces+aaaaaaaaaaaaaaaaaaaaaaaa@northwind.example
Subject: failure notice

<ann@example.org>:
Sorry, no mailbox here by that name.
EOF
cat >"$work/unsub.eml" <<EOF
From: lead@customer.example
To: <unsubscribe+$(token u 9)@northwind.example>
Subject: unsubscribe

EOF
printf 'this is not a message\n' >"$work/garbage.txt"

run classify --json "$work/ooo.eml" "$work/reply.eml" "$work/forged.eml" "$work/unsub.eml"
expect_rc "hand-written, no config" 0
is "ooo kind" 0 'd["kind"]' auto-reply
is "ooo return date" 0 'd["return_date"]' 2027-03-15
is "ooo token found" 0 'd["token"]["value"]' "$verp"
is "ooo token unverified" 0 'd["token"]["verified"]' False
is "reply intent" 1 'd["intent"]' meeting
is "reply visible" 1 'd["visible"]' 'Can we schedule a call next week?'
is "reply token unverified" 1 'd["token"]["value"]' "$msgid"
is "forged bounce" 2 'd["kind"]' bounce
is "forged recipient" 2 'd["recipients"][0]["address"]' ann@example.org
is "unsubscribe" 3 'd["kind"]' unsubscribe
is "unsubscribe rule" 3 'd["rule"]' address:unsubscribe

# ---- with a configuration and its secret: tokens verify ----
mkdir -p "$work/cfg"
printf '%s\n' "$secret" >"$work/cfg/secret"
chmod 600 "$work/cfg/secret"
cat >"$work/cfg/nurture.yaml" <<'EOF'
database: nurture.db
stages:
  - name: lead
    definition: Gave contact details.
secret: {file: secret}
EOF
run -c "$work/cfg/nurture.yaml" classify --json "$work/ooo.eml" "$work/reply.eml" \
    "$work/forged.eml"
expect_rc "with config" 0
is "verp verified" 0 'd["token"]["verified"]' True
is "verp send" 0 'd["token"]["send_id"]' 42
is "verp method" 0 'd["token"]["method"]' verp
is "msgid verified" 1 'd["token"]["send_id"]' 7
is "msgid method" 1 'd["token"]["method"]' in-reply-to
is "forgery not verified" 2 'd["token"]' None
is "forgery reported" 2 'd["forged"]["value"]' aaaaaaaaaaaaaaaaaaaaaaaa
if [ -e "$work/cfg/nurture.db" ]; then bad "classify created the database"; else ok; fi

# Plain text output says the same.
run -c "$work/cfg/nurture.yaml" classify "$work/ooo.eml"
expect_rc "text output" 0
for want in "kind         auto-reply" "return date  2027-03-15" "send 42, verified"; do
    if grep -qF -- "$want" "$work/out"; then ok; else bad "text lacks '$want': $(cat "$work/out")"; fi
done

# ---- a rules folder: one file replaced, the others built in ----
mkdir -p "$work/rules"
{
    echo 'auto-subject gone-fishing ^Gone fishing'
    grep -v '^auto-subject' "$NT_SOURCE_DIR/contrib/rules/inbound.rules"
} >"$work/rules/inbound.rules"
printf 'From: a@customer.example\nSubject: Gone fishing\n\nBack soon.\n' >"$work/fish.eml"
run classify --json --rules "$work/rules" "$work/fish.eml" "$corpus/bounces-flufl/data/dsn_01.txt"
expect_rc "rules folder" 0
is "own rule" 0 'd["rule"]' gone-fishing
is "built-in bounce rules" 1 'd["kind"]' bounce
run classify --json "$work/fish.eml"
is "without the folder" 0 'd["kind"]' reply
printf 'auto-subject broken (unclosed\n' >>"$work/rules/inbound.rules"
run classify --rules "$work/rules" "$work/fish.eml"
expect_rc "bad rule" 78
err_has "bad rule position" "$work/rules/inbound.rules:$(wc -l <"$work/rules/inbound.rules"):"
run classify --rules "$work/no-such-folder" "$work/fish.eml"
expect_rc "missing rules folder" 66

# ---- standard input, exit codes, help ----
set +e
(cd "$work/cwd" && "$NURTURE" classify --json - <"$work/reply.eml") >"$work/out" 2>"$work/err"
rc=$?
set -e
expect_rc "stdin" 0
is "stdin file" 0 'd["file"]' -
is "stdin kind" 0 'd["kind"]' reply
run classify --json "$work/reply.eml" "$work/garbage.txt"
expect_rc "unparseable" 65
is "unparseable error line" 1 'd["file"].endswith("garbage.txt") and "error" in d' True
is "parsed one still printed" 0 'd["kind"]' reply
run classify "$work/reply.eml" "$work/missing.eml" "$work/garbage.txt"
expect_rc "missing file" 66
err_has "missing file named" "missing.eml"
run classify
expect_rc "no file" 64
run classify --help
expect_rc "help" 0
run -c "$work/nope.yaml" classify "$work/reply.eml"
expect_rc "named config missing" 78

echo "classify e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
