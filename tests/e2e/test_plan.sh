#!/usr/bin/env bash
# End-to-end: nurture init + lead import + plan on a temporary folder.
# The plan for two weeks of the welcome campaign must put every step of
# every lead inside local business hours on weekdays, in order, no sooner
# than its delay; the plan must change nothing in the database; bad
# arguments must fail with a message and exit 64.
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
: "${NT_SOURCE_DIR:?path of the source tree}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

"$NURTURE" init --timezone America/New_York "$work/w" >/dev/null
export NURTURE_CONFIG="$work/w/nurture.yaml"
"$NURTURE" lead import "$NT_SOURCE_DIR/contrib/demo/leads.csv" >/dev/null 2>&1 || true
check "demo leads imported" test "$("$NURTURE" lead list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 16

db="$work/w/nurture.db"
before=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); import hashlib; print(hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest())' "$db")

at=2026-11-23T14:00:00Z   # Monday 09:00 in New York
"$NURTURE" plan --at "$at" --until +14d --campaign welcome --json >"$work/plan.json"
after=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); import hashlib; print(hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest())' "$db")
check "plan changed nothing in the database" test "$before" = "$after"

python3 - "$work/plan.json" "$NT_SOURCE_DIR/contrib/demo/leads.csv" <<'PY' && ok || bad "plan content"
import csv, datetime, json, sys
from zoneinfo import ZoneInfo
plan = json.load(open(sys.argv[1]))
leads = {r["email"]: r for r in csv.DictReader(open(sys.argv[2], newline="", encoding="utf-8"))}
expected_leads = {e for e, r in leads.items() if r["stage"] == "lead"}
delays = [600, 2*86400, 2*86400, 3*86400, 4*86400]
errors = []
by_lead = {}
for it in plan["items"]:
    by_lead.setdefault(it["lead"], []).append(it)
    t = datetime.datetime.fromisoformat(it["when_utc"].replace("Z", "+00:00"))
    local = t.astimezone(ZoneInfo(leads[it["lead"]]["timezone"]))
    if not (local.weekday() < 5 and 9 <= local.hour < 17):
        errors.append(f"{it['lead']} step {it['step']} at {local} is outside Mon-Fri 09-17 local")
    if it["timezone"] != leads[it["lead"]]["timezone"]:
        errors.append(f"{it['lead']}: zone {it['timezone']}")
    if not it["subject"]:
        errors.append(f"{it['lead']} step {it['step']}: no subject")
if set(by_lead) != expected_leads:
    errors.append(f"leads in plan {sorted(by_lead)} != stage 'lead' {sorted(expected_leads)}")
enrolled = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.timezone.utc)
for lead, items in by_lead.items():
    steps = [it["step"] for it in items]
    if steps != list(range(1, len(steps) + 1)):
        errors.append(f"{lead}: steps {steps}")
    prev = enrolled
    for it, delay in zip(items, delays):
        t = datetime.datetime.fromisoformat(it["when_utc"].replace("Z", "+00:00"))
        if (t - prev).total_seconds() < delay:
            errors.append(f"{lead} step {it['step']} only {(t - prev)} after the previous")
        prev = t
    if len(items) < 5:
        errors.append(f"{lead}: only {len(items)} steps within two weeks")
    first = items[0]
    if first["status"] != "waiting" or "Welcome to Northwind" not in first["subject"]:
        errors.append(f"{lead}: first item {first}")
name = {e: r["first_name"] for e, r in leads.items()}
for lead, items in by_lead.items():
    if name[lead] not in items[0]["subject"]:
        errors.append(f"subject not personalised for {lead}: {items[0]['subject']}")
if plan["enrolled"] != len(expected_leads):
    errors.append(f"enrolled {plan['enrolled']}")
if sum(plan["counts"].values()) != len(plan["items"]):
    errors.append("counts do not add up")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# A run right at enrollment sends nothing yet (the first email waits 10m);
# ten minutes later in Tokyo it is night: outside the window.
set +e
out=$("$NURTURE" plan --at "$at" 2>"$work/err"); rc=$?
set -e
check "plan with nothing due exits 0" test "$rc" -eq 0
check "nothing due at enrollment" test -z "$out"
check "summary on stderr" grep -q "0 to send" "$work/err"
"$NURTURE" plan --at "$at" --until +10m --json >"$work/p2.json"
python3 - "$work/p2.json" <<'PY' && ok || bad "statuses ten minutes after enrollment"
import json, sys
p = json.load(open(sys.argv[1]))
st = {(i["lead"], i["status"]) for i in p["items"]}
assert ("ana.lima@harbor.example", "waiting") in st, st
assert all(i["projected"] is False for i in p["items"])
PY

# MQLs enter the re-engagement campaign, whose first email waits 21 days.
"$NURTURE" plan --at "$at" --until +23d --campaign reengage-mql --json >"$work/p3.json"
python3 - "$work/p3.json" <<'PY' && ok || bad "re-engagement plan"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["enrolled"] == 4, p["enrolled"]
firsts = [i for i in p["items"] if i["step"] == 1]
assert len(firsts) == 4 and all(i["when_utc"] >= "2026-12-14" for i in firsts), firsts
PY

# Human output: one line per step, UTC then local time.
"$NURTURE" plan --at "$at" --until +1d --campaign welcome >"$work/human" 2>&1
check "human output names a lead and its local time" grep -q "ana.lima@harbor.example" "$work/human"
check "human output has local zone" grep -q "EST" "$work/human"

# Errors
set +e
"$NURTURE" plan --at yesterday >/dev/null 2>"$work/err"; rc=$?
set -e
check "bad --at exits 64" test "$rc" -eq 64
check "bad --at says why" grep -q "bad time 'yesterday'" "$work/err"
set +e
"$NURTURE" plan --at "$at" --until 2026-11-01 >/dev/null 2>"$work/err"; rc=$?
set -e
check "--until before --at exits 64" test "$rc" -eq 64
set +e
"$NURTURE" plan --campaign nope >/dev/null 2>"$work/err"; rc=$?
set -e
check "unknown campaign fails" test "$rc" -eq 1
check "unknown campaign named" grep -q "no campaign named 'nope'" "$work/err"
check "--help" "$NURTURE" plan --help

# A broken campaign is skipped with its error; the others are still planned.
printf 'name: broken\nsteps: [\n' >"$work/w/campaigns/broken.yaml"
set +e
"$NURTURE" plan --at "$at" --until +1d --json >"$work/p4.json" 2>"$work/err"; rc=$?
set -e
check "broken campaign makes plan exit 1" test "$rc" -eq 1
check "broken campaign reported with position" grep -q "broken.yaml:" "$work/err"
check "other campaigns still planned" python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["items"]' "$work/p4.json"

echo "e2e plan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
