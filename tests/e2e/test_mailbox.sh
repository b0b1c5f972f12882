#!/usr/bin/env bash
# The mailbox sources against a real Dovecot on 127.0.0.1.  First the
# harness as a shell test would use it (dovecot.py --ready-file, stopped
# with SIGTERM, nothing left behind), then the tests in test_mailbox.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
probe=${NT_MAILBOX_PROBE:?built by CMake: mailbox_probe}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$here/dovecot.py" --ready-file "$work/ready" >"$work/dovecot.out" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$work/ready" ] && break; sleep 0.05; done
[ -s "$work/ready" ] || { echo "FAIL: dovecot.py did not get ready"; cat "$work/dovecot.out"; exit 1; }
imap_port=$(sed -n 's/^imap_port=//p' "$work/ready")
pop3_port=$(sed -n 's/^pop3_port=//p' "$work/ready")
dir=$(sed -n 's/^dir=//p' "$work/ready")
export NT_TEST_PASSWORD=$(sed -n 's/^password=//p' "$work/ready")
user=$(sed -n 's/^user=//p' "$work/ready")

out=$("$probe" --kind imap --url "imap://127.0.0.1:$imap_port/INBOX" --user "$user" \
      --password-env NT_TEST_PASSWORD)
grep -q "^open	0	imap://127.0.0.1:$imap_port/INBOX$" <<<"$out" ||
  { echo "FAIL: IMAP session on the script's Dovecot: $out"; exit 1; }
out=$("$probe" --kind pop3 --url "pop3://127.0.0.1:$pop3_port" --user "$user" \
      --password-env NT_TEST_PASSWORD)
grep -q "^open	0	pop3://127.0.0.1:$pop3_port/$" <<<"$out" ||
  { echo "FAIL: POP3 session on the script's Dovecot: $out"; exit 1; }

kill -TERM "$pid"
wait "$pid" || { echo "FAIL: dovecot.py exited $? on SIGTERM"; exit 1; }
pid=
if pgrep -f "$dir/dovecot.conf" >/dev/null; then echo "FAIL: Dovecot still running"; exit 1; fi
[ ! -e "$dir" ] || { echo "FAIL: $dir left behind"; exit 1; }
echo "ok   dovecot.py as a script"

exec /usr/bin/python3 "$here/test_mailbox.py"
