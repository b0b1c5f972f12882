#!/usr/bin/env bash
# End-to-end: eight reps' processes pulling from one queue at the same time.
#
# 200 leads reply (two mbox files read by `nurture ingest`, so every entry
# is made by the real ingest, scoring and hand-off path); the 80 older
# entries are escalated past the SLA, so every process competes for them
# before its own.  Then 8 processes (3 for ana, 3 for ben, 2 for cleo)
# start together and each runs `nurture queue pull --rep R --json` until it
# gets null.  Every entry must be claimed exactly once: 200 distinct ids
# claimed in total, none twice, none lost, each non-escalated entry by the
# rep it was assigned to, and the database agrees (200 claimed, none open,
# one "claimed" event each).
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
# The system's python3 starts in a tenth of the time of a version manager's shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
is() { # WHAT GOT EXPECTED
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', expected '$3'"; fi
}

N=200
OLD=80 # replies a day before the pull: escalated
T0=2026-11-23T10:00:00Z
T1=2026-11-23T12:00:00Z
TPULL=2026-11-24T11:00:00Z # past the 24h SLA for T0's entries only

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
reps:
  - {name: ana, weight: 2}
  - {name: ben}
  - {name: cleo}
queue:
  sla: 24h
EOF
export NURTURE_CONFIG="$w/nurture.yaml"

"$PY" - "$work" "$N" "$OLD" <<'EOF'
import sys
work, n, old = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/leads.csv", "w") as f:
    f.write("email,first_name,company,stage\n")
    for i in range(n):
        f.write(f"p{i}@example.org,P{i},Company {i},lead\n")
for name, lo, hi in (("old", 0, old), ("new", old, n)):
    with open(f"{work}/{name}.mbox", "w") as f:
        for i in range(lo, hi):
            f.write(f"From p{i}@example.org Mon Nov 23 10:00:00 2026\n"
                    f"From: p{i}@example.org\nTo: dana@northwind.example\n"
                    f"Subject: Re: Welcome\nMessage-ID: <c{i}@example.org>\n"
                    f"Date: Mon, 23 Nov 2026 10:00:00 +0000\n\n"
                    f"Yes please, tell me more about pricing. ({i})\n\n")
EOF
"$NURTURE" lead import "$work/leads.csv" >/dev/null
"$NURTURE" ingest --mbox "$work/old.mbox" --now "$T0" >/dev/null
"$NURTURE" ingest --mbox "$work/new.mbox" --now "$T1" >/dev/null
"$NURTURE" queue list --state open --json >"$work/entries.json"
is "entries made by ingest" "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/entries.json")" "$N"
is "escalated" "$("$NURTURE" queue escalate --now "$TPULL" --json)" "{\"escalated\":$OLD}"
"$NURTURE" queue list --json >"$work/entries.json"

# puller REP FILE: pull until there is nothing left for REP; "REP ID" lines
# into FILE, failed attempts into FILE.err.
puller() {
    local rep=$1 file=$2 out rc
    while [ ! -e "$work/go" ]; do sleep 0.01; done
    while :; do
        set +e
        out=$("$NURTURE" queue pull --rep "$rep" --json --now "$TPULL" 2>>"$file.err")
        rc=$?
        set -e
        if [ "$rc" -ne 0 ]; then
            echo "exit $rc" >>"$file.err"
            # Busy for the whole busy timeout: counted as a failure below,
            # but tried again so that the other checks still mean something.
            [ "$rc" -eq 75 ] && continue
            return 1
        fi
        [ "$out" = "null" ] && return 0
        # The object starts with its id (cmd_queue.c writes it first).
        if [[ $out =~ ^\{\"id\":([0-9]+), ]]; then
            echo "$rep ${BASH_REMATCH[1]}" >>"$file"
        else
            echo "unexpected output: $out" >>"$file.err"
            return 1
        fi
    done
}

pids=()
i=0
for rep in ana ana ana ben ben ben cleo cleo; do
    i=$((i + 1))
    : >"$work/claims.$i"
    : >"$work/claims.$i.err"
    puller "$rep" "$work/claims.$i" &
    pids+=($!)
done
start=$(date +%s.%N)
touch "$work/go"
pull_failed=0
for p in "${pids[@]}"; do wait "$p" || pull_failed=$((pull_failed + 1)); done
end=$(date +%s.%N)
is "every puller finished" "$pull_failed" "0"
is "no pull failed" "$(cat "$work"/claims.*.err | grep -c . || true)" "0"
cat "$work"/claims.[0-9] >"$work/claims"

"$NURTURE" queue list --state claimed --json >"$work/claimed.json"
"$NURTURE" queue list --state open --json >"$work/open.json"
"$PY" - "$work" "$N" "$OLD" <<'EOF' >"$work/verdict"
import json, sqlite3, sys
work, n, old = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
entries = {e["id"]: e for e in json.load(open(f"{work}/entries.json"))}
claims = [line.split() for line in open(f"{work}/claims")]
ids = [int(i) for _, i in claims]
claimed = {e["id"]: e for e in json.load(open(f"{work}/claimed.json"))}
db = sqlite3.connect(f"{work}/w/nurture.db")
events = db.execute("SELECT count(*), count(DISTINCT lead_id) FROM events "
                    "WHERE kind = 'claimed'").fetchone()
esc_by = {}
for i in range(1, 9):
    for line in open(f"{work}/claims.{i}"):
        rep, eid = line.split()
        if entries[int(eid)]["escalated"]:
            esc_by[i] = esc_by.get(i, 0) + 1
def say(what, got):
    print(f"{what}\t{got}")
say("claims", len(ids))
say("distinct", len(set(ids)))
say("twice", sorted({i for i in ids if ids.count(i) > 1}))
say("lost", sorted(set(entries) - set(ids)))
say("unknown", sorted(set(ids) - set(entries)))
say("wrong rep", sorted(int(i) for r, i in claims
                        if not entries[int(i)]["escalated"] and entries[int(i)]["rep"] != r))
say("db claimed", len(claimed))
say("db open", len(json.load(open(f"{work}/open.json"))))
say("db claimed_by agrees", all(claimed[int(i)]["claimed_by"] == r for r, i in claims))
say("claimed events", events)
say("escalated claims", sum(esc_by.values()))
say("processes sharing escalated", len(esc_by) > 1)
EOF
verdict() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$work/verdict"; }
is "claims in total" "$(verdict claims)" "$N"
is "distinct ids claimed" "$(verdict distinct)" "$N"
is "claimed twice" "$(verdict twice)" "[]"
is "lost" "$(verdict lost)" "[]"
is "ids that are not entries" "$(verdict unknown)" "[]"
is "non-escalated entries claimed by another rep" "$(verdict 'wrong rep')" "[]"
is "database: claimed" "$(verdict 'db claimed')" "$N"
is "database: open" "$(verdict 'db open')" "0"
is "database: claimed_by is who printed it" "$(verdict 'db claimed_by agrees')" "True"
is "one claimed event per entry" "$(verdict 'claimed events')" "($N, $N)"
is "escalated entries claimed" "$(verdict 'escalated claims')" "$OLD"
is "escalated entries shared among processes" "$(verdict 'processes sharing escalated')" "True"

printf 'test_queue_concurrency: %d entries pulled by 8 processes in %.2fs\n' "$N" \
    "$(echo "$end - $start" | bc)"
echo "test_queue_concurrency: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
