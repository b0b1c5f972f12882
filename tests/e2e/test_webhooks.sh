#!/usr/bin/env bash
# End-to-end: webhook delivery against a real HTTP receiver (hookd.py) on
# 127.0.0.1.  A folder made by `nurture init`, two webhooks (a signed JSON
# one and an unsigned Slack one) on the same receiver, queue events stored
# by webhook_probe.  The receiver fails its first requests with 500, is then
# stopped (connection refused) while more events are queued, and comes back
# on the same port; `nurture webhooks deliver --now T` and `nurture run` run
# with increasing T.  At the end every event arrived exactly once, every
# signature verified, retries followed the backoff schedule, and nothing
# was lost while the receiver was down.  Also: --help, usage errors, the
# run lock (exit 75), an unreadable secret (exit 78) and secrets never
# shown.
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
: "${NT_WEBHOOK_PROBE:?path of webhook_probe}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
hookd_pid=
lock_pid=
cleanup() {
    [ -n "$hookd_pid" ] && kill "$hookd_pid" 2>/dev/null && wait "$hookd_pid" 2>/dev/null
    [ -n "$lock_pid" ] && kill "$lock_pid" 2>/dev/null && wait "$lock_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

run() {
    set +e
    "$NURTURE" -c "$work/site/nurture.yaml" "$@" >"$work/out" 2>"$work/err" </dev/null
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
# py WHAT PYTHON: run a check over the outbox (list --json, as `rows`) and
# the receiver's log (as `log`); it prints "ok" or what is wrong.
py() {
    local got
    "$NURTURE" -c "$work/site/nurture.yaml" webhooks list --json >"$work/list.json"
    got=$(python3 - "$work/list.json" "$work/hooks.log" "$2" <<'EOF' 2>&1
import json, os, sys
rows = json.load(open(sys.argv[1]))
log = [json.loads(l) for l in open(sys.argv[2])] if os.path.exists(sys.argv[2]) else []
exec(sys.argv[3])
EOF
) || true
    if [ "$got" = ok ]; then ok; else bad "$1: $got"; fi
}

# hookd [ARGS]: start the receiver (on $port when set) and wait for it.
start_hookd() {
    rm -f "$work/ready"
    python3 "$here/hookd.py" --ready "$work/ready" --log "$work/hooks.log" \
        --unsigned-prefix /chat ${port:+--port "$port"} "$@" 2>>"$work/hookd.err" &
    hookd_pid=$!
    for _ in $(seq 100); do
        [ -s "$work/ready" ] && break
        sleep 0.05
    done
    port=$(cat "$work/ready")
}
stop_hookd() {
    kill "$hookd_pid"
    wait "$hookd_pid" 2>/dev/null || true
    hookd_pid=
}

export HOOKD_SECRET="whsec_e2e_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
T0=1790000000 # 2026-09-21T14:13:20Z

"$NURTURE" init "$work/site" >/dev/null
rm -rf "$work/site/campaigns"/* # nothing to send: runs only deliver webhooks
start_hookd --fail-first 3
cat >>"$work/site/nurture.yaml" <<EOF

webhooks:
  - name: crm
    url: "http://127.0.0.1:$port/crm/hook?tenant=1"
    secret: {env: HOOKD_SECRET}
    timeout: 5
  - {name: chat, url: "http://127.0.0.1:$port/chat/T000/B000/XXXX", format: slack, events: [handoff]}
EOF

# --help and usage errors
run webhooks --help
expect_rc "webhooks --help" 0
out_has "webhooks --help" "nurture webhooks deliver [--now TIME] [--limit N] [--json]"
run webhooks deliver --help
expect_rc "deliver --help" 0
run webhooks list --help
expect_rc "list --help" 0
run webhooks deliver --limit 0
expect_rc "deliver --limit 0" 64
run webhooks frobnicate
expect_rc "unknown subcommand" 64
err_has "unknown subcommand" "unknown subcommand 'frobnicate'"
run webhooks deliver --now @$T0
expect_rc "deliver, empty outbox" 0
out_has "deliver, empty outbox" "0 attempted, 0 delivered, 0 to retry; 0 pending"

# Four hand-offs, two claims: 6 messages for crm, 4 for chat (handoff only).
"$NT_WEBHOOK_PROBE" "$work/site/nurture.yaml" $T0 1 4 >"$work/probe.out"
run webhooks list --pending
expect_rc "list --pending" 0
if [ "$(wc -l <"$work/out")" -eq 10 ]; then ok; else bad "10 messages queued once: $(cat "$work/out")"; fi

# 1. The receiver fails the first 3 requests with 500.
run webhooks deliver --now @$T0 --json
expect_rc "deliver 1" 0
out_has "deliver 1" '"attempted":10,"delivered":7,"retrying":3,"pending":3'
py "500s retried in 30 s with the answer kept" "
bad = [r for r in rows if r['delivered_at'] is None]
assert len(bad) == 3, bad
for r in bad:
    assert r['attempts'] == 1 and r['last_status'] == 500, r
    assert r['next_attempt_at'] == '2026-09-21T14:13:50Z', r
    assert r['last_error'] == 'HTTP 500: temporarily failing', r
print('ok')"

# 2. The receiver is down: connection refused, retried on schedule.
stop_hookd
run webhooks deliver --now @$((T0 + 30))
expect_rc "deliver while down" 0
out_has "deliver while down" "3 attempted, 0 delivered, 3 to retry; 3 pending"
run webhooks list --pending
out_has "list while down" "no answer: http://127.0.0.1:$port: "
if grep -q "XXXX\|tenant" "$work/out"; then bad "the URL's path or query shown: $(cat "$work/out")"; else ok; fi
# more events happen while it is down: 2 hand-offs, 1 claim, for each webhook
"$NT_WEBHOOK_PROBE" "$work/site/nurture.yaml" $((T0 + 40)) 5 2 >>"$work/probe.out"
run webhooks deliver --now @$((T0 + 45))
out_has "the new ones at T0+45" "5 attempted, 0 delivered, 5 to retry; 8 pending"
run webhooks deliver --now @$((T0 + 74))
out_has "nothing due at T0+74" "0 attempted, 0 delivered, 0 to retry; 8 pending"
run webhooks deliver --now @$((T0 + 75))
out_has "the new ones again at T0+75" "5 attempted, 0 delivered, 5 to retry; 8 pending"
run webhooks deliver --now @$((T0 + 89))
out_has "nothing due at T0+89" "0 attempted, 0 delivered, 0 to retry; 8 pending"
run webhooks deliver --now @$((T0 + 90))
out_has "the 500s a third time at T0+90" "3 attempted, 0 delivered, 3 to retry; 8 pending"
py "backoff: 30 s, then 60 s, then 120 s" "
late = [r for r in rows if r['delivered_at'] is None]
assert len(late) == 8, late
old = [r for r in late if r['created_at'] == '2026-09-21T14:13:20Z']
new = [r for r in late if r['created_at'] == '2026-09-21T14:14:00Z']
assert len(old) == 3 and len(new) == 5, late
for r in old:
    assert r['attempts'] == 3 and r['next_attempt_at'] == '2026-09-21T14:16:50Z', r
    assert r['last_status'] is None and r['last_error'].startswith('no answer: '), r
for r in new:
    assert r['attempts'] == 2 and r['next_attempt_at'] == '2026-09-21T14:15:35Z', r
print('ok')"

# 3. Another run holds the lock: deliver says so and exits 75.
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
time.sleep(60)' "$work/site/nurture.db.lock" &
lock_pid=$!
for _ in $(seq 50); do
    run webhooks deliver --now @$((T0 + 100))
    [ "$rc" -eq 75 ] && break
    sleep 0.1
done
expect_rc "deliver while the run lock is held" 75
err_has "deliver while the run lock is held" "in progress"
kill "$lock_pid"
wait "$lock_pid" 2>/dev/null || true
lock_pid=

# 4. An unreadable secret: exit 78 naming the variable; nothing signed is
# sent (the unsigned chat webhook still is), and the messages are kept and
# tried again later.
(
    unset HOOKD_SECRET
    set +e
    "$NURTURE" -c "$work/site/nurture.yaml" webhooks deliver --now @$((T0 + 300)) \
        >"$work/out" 2>"$work/err"
    echo $? >"$work/rc"
)
rc=$(cat "$work/rc")
expect_rc "deliver without the secret" 78
err_has "deliver without the secret" "HOOKD_SECRET"
out_has "deliver without the secret" "3 attempted, 0 delivered, 8 to retry; 8 pending"
run webhooks list --pending
out_has "list without the secret" "not sent: "

# 5. Back up on the same port.  `nurture run` delivers what is due.
start_hookd
run run --now @$((T0 + 1000)) --no-ingest --json
expect_rc "run delivers" 0
py "run: the receiver got the rest" "
assert all(r['delivered_at'] for r in rows), [r for r in rows if not r['delivered_at']]
print('ok')"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); w=d["webhooks"]; sys.exit(0 if w["delivered"] == 8 and w["pending"] == 0 else 1)' "$work/out"; then
    ok
else
    bad "run --json webhooks: $(cat "$work/out")"
fi
run webhooks deliver --now @$((T0 + 100000))
out_has "nothing left" "0 attempted, 0 delivered, 0 to retry; 0 pending"
run webhooks list
expect_rc "list" 0
if [ "$(grep -c ' delivered ' "$work/out")" -eq 15 ]; then ok; else bad "15 delivered: $(cat "$work/out")"; fi
stop_hookd

# 6. What the receiver saw.
py "every event arrived once, signed, with consistent headers" "
keys = sorted(r['key'] for r in rows)
want = sorted(['q%d-handoff-%s' % (i, w) for i in range(1, 7) for w in ('crm', 'chat')]
              + ['q2-claim-crm', 'q4-claim-crm', 'q6-claim-crm'])
assert keys == want, keys
accepted = [l['headers']['Idempotency-Key'] for l in log if l['status'] == 200]
assert sorted(accepted) == keys, (sorted(accepted), keys)
assert len(set(accepted)) == len(accepted), 'a key accepted twice'
assert not any(l['duplicate'] for l in log), 'a duplicate POST'
assert all(l['signature_ok'] for l in log), [l for l in log if not l['signature_ok']]
for l in log:
    h, body = l['headers'], json.loads(l['body'])
    assert h['Content-Type'] == 'application/json', h
    assert h['User-Agent'].startswith('nurture/'), h
    assert h['X-Nurture-Event'] in ('handoff', 'claim'), h
    assert h['X-Nurture-Timestamp'].isdigit(), h
    if l['path'].startswith('/crm'):
        assert l['path'] == '/crm/hook?tenant=1', l['path']
        assert h['X-Nurture-Signature'].startswith('sha256='), h
        assert body['id'] == h['Idempotency-Key'] and body['event'] == h['X-Nurture-Event'], body
        assert body['lead']['email'].startswith('lead') and body['entry']['rep'] == 'sam', body
        assert body['lead']['fields'] == {'industry': 'software'}, body
        assert body['entry']['reply_text'].startswith('Yes, let'), body
    else:
        assert 'X-Nurture-Signature' not in h, h
        assert list(body) == ['text'] and 'New hand-off for sam: Lead' in body['text'], body
        assert '&amp; Co' in body['text'], body
assert sum(1 for l in log if l['status'] == 500) == 3
assert len(log) == 18, len(log)  # 15 delivered, 3 refused with 500
# the messages that failed while the receiver was down arrived after it came back
ts = {}
for l in log:
    if l['status'] == 200:
        ts[l['headers']['Idempotency-Key']] = int(l['headers']['X-Nurture-Timestamp'])
late = [k for k, t in ts.items() if t == $((T0 + 1000))]
assert len(late) == 8, late
assert all(r['attempts'] >= 3 for r in rows if r['key'] in late), rows
secret = os.environ['HOOKD_SECRET']
assert all(secret not in json.dumps(r) for r in rows)
print('ok')"
if grep -rqF "$HOOKD_SECRET" "$work/site/nurture.db" "$work/site/nurture.yaml"; then
    bad "the secret is stored"
else
    ok
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
