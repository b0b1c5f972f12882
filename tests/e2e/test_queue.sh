#!/usr/bin/env bash
# End-to-end: the sales queue through the real path.  A folder made by
# `nurture init`, with reps and a scoring rule that hands a lead off on any
# human reply; leads imported; replies fed one at a time to `nurture ingest -`
# (attributed by their sender), so every entry is made by ingest, scoring
# and the hand-off exactly as in production.  Then:
#
# - assignment: weighted round-robin (ana 2, ben 1: ana ben ana ana ben ana),
#   a lead's owner gets it, a rep marked away gets none, a lead with an open
#   entry does not enter again (and does once its entry is decided);
# - list: filters, the table, --json, --csv (RFC 4180, formula cells
#   neutralised) read back by Python's csv module;
# - pull (escalated first, then the rep's own, oldest first; nothing left
#   is "nothing to pull" / null), show, accept (the stage moves), reject
#   (the reason recorded; a reason with recycle re-enrolls), recycle,
#   escalate, reasons;
# - bad input (unknown id, reason not in the list, rep not in the config,
#   an entry already decided, a campaign that does not exist, a malformed
#   score rule in the config): a clear message, a non-zero exit, and the
#   queue and the database exactly as they were; a busy database exits 75.
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
# The system's python3 starts in a tenth of the time of a version manager's shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
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
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$work/out" "$1"
}
json_is() { # WHAT EXPR VALUE
    local got
    got=$(json "$2" 2>&1) || true
    if [ "$got" = "$3" ]; then ok; else bad "$1: $2 = '$got', expected '$3'"; fi
}
db_digest() {
    "$PY" -c 'import sqlite3,sys,hashlib; c=sqlite3.connect(sys.argv[1]); print(hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest())' "$w/nurture.db"
}
# reply N ADDRESS TIME TEXT: a plain reply from ADDRESS, on standard input.
seq_no=0
reply() {
    seq_no=$((seq_no + 1))
    printf 'From: %s\r\nTo: dana@northwind.example\r\nSubject: Re: Welcome\r\nMessage-ID: <reply-%d@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n%s\r\n' \
        "$1" "$seq_no" "$3" >"$work/msg"
    set +e
    "$NURTURE" ingest - --now "$2" >"$work/out" 2>"$work/err" <"$work/msg"
    rc=$?
    set -e
}

w=$work/w
"$NURTURE" init --timezone UTC "$w" >/dev/null
# init's own scoring, reps and queue give way to this test's.
"$PY" - "$w/nurture.yaml" <<'EOF'
import re, sys
keep, skip = [], False
for line in open(sys.argv[1]):
    if re.match(r"(scoring|reps|queue|webhooks):", line):
        skip = True
    elif skip and line.strip() and not line[0].isspace() and not line.startswith("#"):
        skip = False
    if not skip:
        keep.append(line)
open(sys.argv[1], "w").write("".join(keep))
EOF
cat >>"$w/nurture.yaml" <<'EOF'

scoring:
  engagement:
    - {rule: replied, on: replied, points: 20, handoff: yes}
  fit:
    - {rule: senior, field: title, contains: [VP, Director], points: 15}
reps:
  - {name: ana, email: ana@example.com, weight: 2}
  - {name: ben, weight: 1}
  - {name: cleo, away: yes}
queue:
  sla: 24h
  handoff_stage: MQL
  accept_stage: SQL
  reject_reasons: [not-a-fit, {reason: bad-timing, recycle: welcome}, no-budget]
EOF
export NURTURE_CONFIG="$w/nurture.yaml"

# ---- help ----
run queue
expect_rc "queue alone" 64
err_has "queue alone lists the commands" "queue reject"
run queue --help
expect_rc "queue --help" 0
for sub in list pull show accept reject recycle escalate reasons; do
    run queue "$sub" --help
    expect_rc "queue $sub --help" 0
    out_has "queue $sub --help" "usage: nurture queue $sub"
done
run queue frobnicate
expect_rc "unknown queue command" 64
err_has "unknown queue command named" "frobnicate"

run queue reasons
expect_rc "reasons" 0
out_has "reasons" "not-a-fit"
out_has "reasons: recycling" "recycles into welcome"
run queue reasons --json
json_is "reasons --json" '[(r["reason"], r["recycle"]) for r in d]' \
    "[('not-a-fit', None), ('bad-timing', 'welcome'), ('no-budget', None)]"

run queue list
expect_rc "empty list" 0
out_has "empty list" "no queue entries"
run queue pull --rep ana --json
expect_rc "pull from an empty queue" 0
json_is "pull from an empty queue is null" 'd' "None"

# ---- leads and their replies, through ingest ----
cat >"$work/leads.csv" <<'EOF'
email,first_name,last_name,company,title,stage
l1@example.org,Ada,Lovelace,"Analytical, Ltd",VP Engineering,lead
l2@example.org,Ben,Bitdiddle,Acme,,lead
l3@example.org,=HYPERLINK(1),Quote,"Say ""hi"" Inc",,lead
l4@example.org,Dee,Four,Four Co,,lead
l5@example.org,Eve,Five,Five Co,,lead
l6@example.org,Fay,Six,Six Co,,lead
EOF
run lead import "$work/leads.csv"
expect_rc "leads imported" 0
run lead add l7@example.org --first-name Gil --company Owned --owner ben --stage lead
expect_rc "lead with an owner" 0

for i in 1 2 3 4 5 6; do
    case $i in
    3) text=$'Yes, let\'s talk.\r\nWhat about "Tuesday", 10am?' ;;
    *) text="Sounds good, can we talk next week? ($i)" ;;
    esac
    reply "l$i@example.org" "2026-11-23T10:0${i}:00Z" "$text"
    expect_rc "reply $i ingested" 0
    out_has "reply $i handed off" "handed to sales: queue entry $i"
done
reply l7@example.org 2026-11-23T10:07:00Z "Please call me."
expect_rc "reply 7 ingested" 0
out_has "reply 7 handed off" "handed to sales: queue entry 7"

run queue list --json
expect_rc "list --json" 0
json_is "weighted round-robin, the owner's lead to the owner" '[e["rep"] for e in d]' \
    "['ana', 'ben', 'ana', 'ana', 'ben', 'ana', 'ben']"
json_is "how each was assigned" '[e["assigned_by"] for e in d]' \
    "['round-robin', 'round-robin', 'round-robin', 'round-robin', 'round-robin', 'round-robin', 'owner']"
json_is "the away rep gets none" '[e for e in d if e["rep"] == "cleo"]' "[]"
json_is "all open" '{e["state"] for e in d}' "{'open'}"
json_is "entry carries the lead" '(d[0]["lead"]["email"], d[0]["lead"]["company"])' \
    "('l1@example.org', 'Analytical, Ltd')"
json_is "entry carries the reply" 'd[0]["reply_text"]' "Sounds good, can we talk next week? (1)"
json_is "entry carries the trigger and score" '(d[0]["trigger"], d[0]["score"] >= 20)' \
    "('replied', True)"
json_is "handed-off leads moved to the handoff stage" '{e["lead"]["stage"] for e in d}' "{'MQL'}"
json_is "reply with a line break kept" 'd[2]["reply_text"]' \
    "Yes, let's talk.
What about \"Tuesday\", 10am?"

# A lead with an open entry does not enter again.
reply l1@example.org 2026-11-23T10:08:00Z "Also, one more question."
expect_rc "second reply ingested" 0
run queue list --json
json_is "no second entry for a lead with an open one" 'len(d)' "7"

# ---- list: filters, table, CSV ----
run queue list
expect_rc "table" 0
out_has "table header" "REASON"
out_has "table has the lead" "l1@example.org (Ada Lovelace, Analytic"
out_has "table has the reason" "replied (meeting)"
out_has "table has the rep" "ana"
run queue list --now 2026-11-23T13:07:00Z
out_has "table: ages from --now" "3h"
run queue list --state open --json
json_is "--state open" 'len(d)' "7"
run queue list --state accepted --json
json_is "--state accepted" 'len(d)' "0"
run queue list --rep ana --json
json_is "--rep ana" '[e["id"] for e in d]' "[1, 3, 4, 6]"
run queue list --rep BEN --json
json_is "--rep in another case" '[e["id"] for e in d]' "[2, 5, 7]"
run queue list --lead l2@EXAMPLE.org --json
json_is "--lead by address" '[e["id"] for e in d]' "[2]"
run queue list --lead 3 --json
json_is "--lead by id" '[e["id"] for e in d]' "[3]"
run queue list --since 2026-11-23T10:05:00Z --json
json_is "--since" '[e["id"] for e in d]' "[5, 6, 7]"
run queue list --limit 2 --json
json_is "--limit" '[e["id"] for e in d]' "[1, 2]"
run queue list --escalated --json
json_is "--escalated before any escalation" 'len(d)' "0"
run queue list --state bogus
expect_rc "--state bogus" 64
err_has "--state bogus names the states" "open, claimed, accepted, rejected or recycled"
run queue list --json --csv
expect_rc "--json with --csv" 64
run queue list --rep zed
expect_rc "list --rep not a rep" 64
err_has "list --rep not a rep lists them" "ana, ben, cleo"
run queue list --lead nobody@example.org
expect_rc "list --lead unknown" 1
run queue list --limit 0
expect_rc "list --limit 0" 64

run queue list --csv
expect_rc "list --csv" 0
cp "$work/out" "$work/queue.csv"
csvcheck() { # WHAT EXPR VALUE over the rows of queue.csv (as r, header as h)
    local got
    got=$("$PY" -c 'import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline=""))); h=rows[0]; r=[dict(zip(h, x)) for x in rows[1:]]; print(eval(sys.argv[2]))' \
        "$work/queue.csv" "$2" 2>&1) || true
    if [ "$got" = "$3" ]; then ok; else bad "$1: $2 = '$got', expected '$3'"; fi
}
csvcheck "csv header" 'h[:6]' "['id', 'state', 'escalated', 'rep', 'assigned_by', 'lead_id']"
csvcheck "csv rows" 'len(r)' "7"
csvcheck "csv: same columns on every row" '{len(x) for x in r}' "{25}"
csvcheck "csv: a comma in a field" 'r[0]["company"]' "Analytical, Ltd"
csvcheck "csv: quotes in a field" 'r[2]["company"]' 'Say "hi" Inc'
csvcheck "csv: a formula neutralised" 'r[2]["first_name"]' "'=HYPERLINK(1)"
csvcheck "csv: a line break in a field" 'r[2]["reply_text"]' "Yes, let's talk.
What about \"Tuesday\", 10am?"
csvcheck "csv: reps" '[x["rep"] for x in r]' "['ana', 'ben', 'ana', 'ana', 'ben', 'ana', 'ben']"
check "csv lines end in CRLF" grep -q $'^id,state.*\r$' "$work/queue.csv"

# ---- show ----
run queue show 3
expect_rc "show" 0
out_has "show: the lead" "l3@example.org"
out_has "show: the reply" "What about \"Tuesday\", 10am?"
out_has "show: the rep" "ana (round-robin)"
out_has "show: the reason" "reason"
run queue show 3 --json
json_is "show --json" '(d["id"], d["lead"]["email"], d["state"])' "(3, 'l3@example.org', 'open')"

# ---- pull ----
run queue pull --rep ben --now 2026-11-23T11:00:00Z --json
expect_rc "pull ben" 0
json_is "ben gets his oldest" '(d["id"], d["state"], d["claimed_by"], d["lead"]["email"])' \
    "(2, 'claimed', 'ben', 'l2@example.org')"
json_is "pull gives the reply and intent" '(d["reply_text"], d["intent"] is not None)' \
    "('Sounds good, can we talk next week? (2)', True)"
run queue pull --rep ana --now 2026-11-23T11:00:00Z
expect_rc "pull ana (text)" 0
out_has "pull text: the entry" "queue entry 1: claimed"
out_has "pull text: the lead" "l1@example.org"
out_has "pull text: the fields" "VP Engineering"
out_has "pull text: the reply" "Sounds good, can we talk next week? (1)"
out_has "pull text: the score" "score"
out_has "pull text: who claimed" "by ana"
run queue pull --rep cleo --json
expect_rc "pull for the away rep" 0
json_is "nothing for the away rep" 'd' "None"
run queue pull --rep cleo
out_has "nothing to pull, in words" "nothing to pull"

# Escalation: entry 3 (ana's, created 10:03) is past the 24h SLA at 10:03:30
# the next day; the others are not.  Ben's next pull takes it before his own.
run queue escalate --now 2026-11-24T10:03:30Z
expect_rc "escalate" 0
out_has "escalate count" "1 entry escalated"
run queue list --escalated --json
json_is "--escalated" '[e["id"] for e in d]' "[3]"
run queue list
out_has "table marks escalated" "open!"
run queue pull --rep ben --now 2026-11-24T10:04:00Z --json
json_is "escalated entries first, whoever they were assigned to" \
    '(d["id"], d["rep"], d["claimed_by"], d["escalated"])' "(3, 'ana', 'ben', True)"
run queue pull --rep ben --now 2026-11-24T10:05:00Z --json
json_is "then the rep's own" 'd["id"]' "5"
run queue escalate --now 2026-11-24T10:05:00Z --json
json_is "escalate --json" 'd["escalated"]' "1"

# ---- accept, reject, recycle ----
run queue accept 1 --rep ana --note "Call booked" --now 2026-11-24T12:00:00Z
expect_rc "accept" 0
out_has "accept says where the lead is" "lead l1@example.org is now SQL"
run lead show l1@example.org --json
json_is "accepted lead moved to the accept stage" 'd["stage"]' "SQL"
run queue show 1 --json
json_is "accept recorded" '(d["state"], d["note"], d["decided_at"])' \
    "('accepted', 'Call booked', '2026-11-24T12:00:00Z')"

run queue reject 2 --reason not-a-fit --note "too small" --rep ben --json
expect_rc "reject" 0
json_is "reject recorded" '(d["state"], d["reject_reason"], d["note"], d["recycle_campaign"])' \
    "('rejected', 'not-a-fit', 'too small', None)"
run lead show l2@example.org --json
json_is "a plain reject leaves the stage" 'd["stage"]' "MQL"

run queue reject 4 --reason bad-timing --json
expect_rc "reject with a recycling reason" 0
json_is "recycling reason: recycled, reason kept" \
    '(d["state"], d["reject_reason"], d["recycle_campaign"])' "('recycled', 'bad-timing', 'welcome')"
run lead show l4@example.org --json
json_is "recycled lead back at the campaign's stage" 'd["stage"]' "lead"
json_is "recycled lead enrolled again" \
    '[e["state"] for e in d["enrollments"] if e["campaign"] == "welcome"]' "['active']"

run queue recycle 2 welcome --rep ben
expect_rc "recycle a rejected entry" 0
out_has "recycle says so" "back in campaign welcome"
run queue show 2 --json
json_is "recycle recorded" '(d["state"], d["reject_reason"], d["recycle_campaign"])' \
    "('recycled', 'not-a-fit', 'welcome')"
run lead show l2@example.org --json
json_is "recycled lead at the campaign's stage" 'd["stage"]' "lead"

# A decided lead enters again on its next reply.
reply l2@example.org 2026-11-25T09:00:00Z "Actually, we have budget now."
expect_rc "reply after recycling" 0
out_has "a decided lead enters again" "handed to sales: queue entry 8"

run queue list --state rejected --json
json_is "list --state rejected" '[e["id"] for e in d]' "[]"
run queue list --state recycled --json
json_is "list --state recycled" '[e["id"] for e in d]' "[2, 4]"
run queue list --state claimed --json
json_is "list --state claimed" '[e["id"] for e in d]' "[3, 5]"

# ---- bad input changes nothing ----
run queue list --json
cp "$work/out" "$work/before.json"
before_db=$(db_digest)

run queue show 999
expect_rc "show unknown id" 1
err_has "show unknown id" "no queue entry 999"
run queue accept 999
expect_rc "accept unknown id" 1
err_has "accept unknown id" "no queue entry 999"
run queue reject 999 --reason not-a-fit
expect_rc "reject unknown id" 1
run queue show abc
expect_rc "show a non-number" 64
err_has "show a non-number" "'abc' is not a queue entry id"
run queue reject 5 --reason nope
expect_rc "reason not in the list" 64
err_has "reason not in the list says which exist" "'nope' is not a reject reason; the reasons are: not-a-fit, bad-timing, no-budget"
run queue reject 5
expect_rc "reject without a reason" 64
err_has "reject without a reason" "--reason"
run queue pull --rep zed
expect_rc "pull: rep not in the config" 64
err_has "pull: rep not in the config lists the reps" "no rep named 'zed'"
err_has "pull: the reps" "the reps are: ana, ben, cleo"
run queue pull
expect_rc "pull without --rep" 64
run queue accept 5 --rep zed
expect_rc "accept: rep not in the config" 64
err_has "accept: rep not in the config" "no rep named 'zed'"
run queue accept 1
expect_rc "accept an entry already decided" 65
err_has "already decided says what became of it" "queue entry 1 is accepted"
run queue reject 2 --reason no-budget
expect_rc "reject an entry already recycled" 65
err_has "reject an entry already recycled" "queue entry 2 is recycled"
run queue recycle 4 welcome
expect_rc "recycle twice" 65
run queue recycle 5 nosuch
expect_rc "recycle into a campaign that does not exist" 1
err_has "unknown campaign named" "no campaign named 'nosuch'"
run queue accept 5 --note "$(head -c 5000 /dev/zero | tr '\0' x)"
expect_rc "a note too long" 64
run queue accept 5 --now yesterday-ish
expect_rc "a bad time" 64

# A malformed score rule: nurture refuses the config, saying where.
sed 's/points: 20, handoff: yes/points: lots, handoff: yes/' "$w/nurture.yaml" >"$w/bad.yaml"
line=$(grep -n 'points: lots' "$w/bad.yaml" | cut -d: -f1)
run -c "$w/bad.yaml" queue list
expect_rc "malformed score rule" 78
err_has "malformed score rule: file and line" "bad.yaml:$line:"
err_has "malformed score rule: what" "points"
run -c "$w/bad.yaml" queue accept 5
expect_rc "malformed score rule: accept refused" 78

run queue list --json
if cmp -s "$work/out" "$work/before.json"; then ok; else bad "bad input changed the queue"; fi
check "bad input changed nothing in the database" [ "$(db_digest)" = "$before_db" ]

# A database held by another writer: exit 75, nothing done.
"$PY" - "$w/nurture.db" "$work/held" <<'EOF' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(25)
c.execute("ROLLBACK")
EOF
holder=$!
for _ in $(seq 100); do [ -e "$work/held" ] && break; sleep 0.1; done
run queue pull --rep ana
expect_rc "busy database" 75
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
run queue list --json
if cmp -s "$work/out" "$work/before.json"; then ok; else bad "a busy pull changed the queue"; fi

echo "test_queue: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
