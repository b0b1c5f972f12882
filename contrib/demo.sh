#!/usr/bin/env bash
# Install the dependencies, build nurture, and run its main job on a demo:
# a working folder made by `nurture init` (embedded SQLite, the example
# campaigns), sixteen demo leads in eight time zones, the campaign linter,
# the plan for the next two weeks, then `nurture run` every hour of two
# simulated weeks against a local SMTP server (tests/e2e/smtpd.py on
# 127.0.0.1), and what arrived there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/contrib/install-deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target nurture-bin
nurture="$top/build/nurture"

demo=${NT_DEMO_DIR:-"$top/build/demo"}
rm -rf "$demo"
"$nurture" init --timezone America/New_York "$demo"
cd "$demo"
export NURTURE_CONFIG="$demo/nurture.yaml"
now=${NT_DEMO_NOW:-2026-11-23T13:00:00Z}

echo; echo "== nurture campaign lint"
"$nurture" campaign lint
echo; echo "== nurture lead import contrib/demo/leads.csv"
"$nurture" lead import "$top/contrib/demo/leads.csv"
echo; echo "== nurture lead list --stage lead"
"$nurture" lead list --stage lead
echo; echo "== nurture plan --at $now   (what a run now would send)"
"$nurture" plan --at "$now"
echo; echo "== nurture plan --at $now --until +14d --campaign welcome   (the next two weeks)"
"$nurture" plan --at "$now" --until +14d --campaign welcome | head -n 40
echo; echo "== nurture preview welcome 1 ana.lima@harbor.example"
"$nurture" preview --at "$now" welcome 1 ana.lima@harbor.example | head -n 40

echo; echo "== a local SMTP server on 127.0.0.1"
mail="$demo/mail"
mkdir -p "$mail"
/usr/bin/python3 "$top/tests/e2e/smtpd.py" --port 0 --dump "$mail" \
  --ready-file "$demo/smtp.port" >/dev/null 2>&1 &
smtpd=$!
trap 'kill $smtpd 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$demo/smtp.port" ] && break; sleep 0.1; done
port=$(cat "$demo/smtp.port")
sed -i "s/^  port: 2525$/  port: $port/" "$demo/nurture.yaml"
echo "listening on 127.0.0.1:$port, keeping each message in $mail"

run_hours() { # FROM_HOUR TO_HOUR: nurture run once per simulated hour
  for h in $(seq "$1" "$2"); do
    t=$(date -u -d "@$((start + h * 3600))" +%Y-%m-%dT%H:%M:%SZ)
    out=$("$nurture" run --now "$t") || true
    case "$out" in *" 0 sent, 0 deferred, 0 failed"*) ;; *) echo "$out" ;; esac
  done
}
start=$(date -u -d "$now" +%s)
echo; echo "== nurture run, every hour for 2 days from $now (cron, simulated with --now)"
run_hours 0 48

echo; echo "== what comes back: Ana replies to her first email, another address bounces"
/usr/bin/python3 - "$mail" "$demo/back" <<'PY'
import email, email.policy, glob, json, os, sys
mail, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
sent = {}
for line in open(os.path.join(mail, "log.jsonl")):
    ev = json.loads(line)
    if ev.get("ev") == "data" and ev.get("code") == 250:
        for fn in ev["files"]:
            with open(os.path.join(mail, fn), "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            sent.setdefault(ev["to"][0], (m, ev["from"]))
ana, _ = sent["ana.lima@harbor.example"]
open(os.path.join(out, "reply.eml"), "w").write(
    f"From: Ana Lima <ana.lima@harbor.example>\nTo: {ana['From']}\n"
    f"Subject: Re: {ana['Subject']}\nIn-Reply-To: {ana['Message-ID']}\n"
    f"Message-ID: <demo-reply@harbor.example>\n\n"
    f"Thanks! Could we book a call next week to see a demo?\n\nAna\n\n"
    f"On Mon, Nov 23, 2026, {ana['From']} wrote:\n> {ana['Subject']}\n")
rcpt, (m, verp) = next((r, v) for r, v in sorted(sent.items()) if not r.startswith("ana."))
open(os.path.join(out, "bounce.eml"), "w").write(
    f"From: MAILER-DAEMON@mx.example.net\nTo: {verp}\nSubject: Undelivered Mail\n"
    f"Message-ID: <demo-dsn@mx.example.net>\nMIME-Version: 1.0\n"
    f"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
    f"--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
    f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
    f"Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: 5.1.1\n"
    f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: user unknown\n--b--\n")
PY
t=$(date -u -d "@$((start + 49 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
echo "-- nurture classify reply.eml   (what it is, without touching the database)"
"$nurture" classify "$demo/back/reply.eml"
echo "-- nurture ingest -   (as an MTA pipe delivers them)"
"$nurture" ingest --now "$t" - < "$demo/back/reply.eml"
"$nurture" ingest --now "$t" - < "$demo/back/bounce.eml"
echo "-- nurture inbound list"
"$nurture" inbound list

echo; echo "== nurture run, every hour for the next 14 days (no more emails to Ana or the bounced address)"
run_hours 49 $((16 * 24))

echo; echo "== what arrived at the SMTP server"
/usr/bin/python3 - "$mail" <<'PY'
import email, email.policy, glob, os, sys, collections
msgs = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml"))):
    with open(path, "rb") as f:
        msgs.append(email.message_from_binary_file(f, policy=email.policy.default))
per_subject = collections.Counter(str(m["Subject"]).split(",")[0] for m in msgs)
print(f"{len(msgs)} messages to {len({str(m['To']) for m in msgs})} leads")
for subject, n in per_subject.most_common():
    print(f"  {n:3d}  {subject}")
m = msgs[0]
print("\nOne of them, as received:")
for h in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
    print(f"  {h}: {m[h]}")
PY
echo; echo "== nurture sends list --limit 5"
"$nurture" sends list --limit 5
echo
echo "The demo folder is $demo; try: NURTURE_CONFIG=$demo/nurture.yaml $nurture --help"
