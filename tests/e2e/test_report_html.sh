#!/usr/bin/env bash
# End-to-end: `nurture report` on a small populated database, and its HTML
# page opened in a real browser (headless Chromium).
#
# The database is made by `nurture init` and `lead import`, then filled
# with enrollments, sends, inbound messages, timeline events and hand-offs
# by direct SQL with known counts.  The text, JSON and CSV reports must
# carry those counts; the HTML page must load in Chromium without a single
# console message (it has no script, and its Content-Security-Policy turns
# any attempt to fetch or run something into one), and the screenshot must
# show the charts.  A control page that calls console.error() must be
# caught by the same check, so the check cannot pass by being blind.  Names
# from the data that are HTML (a reject reason with an <img onerror>) must
# arrive escaped.
#
# Chromium (Debian package `chromium`) is installed by contrib/install-deps.sh.
# When it is missing, the test installs it if it runs as root in CI, and
# otherwise skips (exit 77, ctest's SKIP_RETURN_CODE) rather than pass.
set -euo pipefail
: "${NURTURE:?path of the nurture binary}"
: "${NT_SOURCE_DIR:?path of the source tree}"

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" -eq 0 ] && [ -n "${CI:-}" ]; then
    echo "installing chromium (root, CI)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
    browser=$(command -v chromium)
  else
    echo "SKIP: chromium is not installed (contrib/install-deps.sh installs it)" >&2
    exit 77
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

"$NURTURE" init --timezone UTC "$work/w" >/dev/null
export NURTURE_CONFIG="$work/w/nurture.yaml"
"$NURTURE" lead import "$NT_SOURCE_DIR/contrib/demo/leads.csv" >/dev/null 2>&1 || true
db="$work/w/nurture.db"

# T0 = 2027-01-15T08:00:00Z; the period is the week after it.
python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
T0, D = 1800000000, 86400
leads = [r[0] for r in db.execute("SELECT id FROM leads ORDER BY id")]
assert len(leads) == 16, leads
ins = db.execute
def enroll(lead, campaign, at):
    ins("INSERT INTO enrollments (lead_id, campaign, version, state, enrolled_at, due_at, next_at)"
        " VALUES (?, ?, 'v1', 'active', ?, ?, ?)", (lead, campaign, at, at, at))
def send(lead, campaign, step_id, step, state, at, sender="hello"):
    cur = ins("INSERT INTO sends (lead_id, campaign, version, step_id, step, state, sender, email,"
              " created_at, updated_at, sent_at) VALUES (?, ?, 'v1', ?, ?, ?, ?, 'x@example.com',"
              " ?, ?, ?)", (lead, campaign, step_id, step, state, sender, at - 60, at,
                            at if state == "sent" else 0))
    return cur.lastrowid
n = 0
def inbound(lead, send_id, kind, at, hard=0, reason=None, intent=None):
    global n
    n += 1
    ins("INSERT INTO inbound (received_at, source, content_hash, raw, kind, hard, reason, intent,"
        " lead_id, send_id, classified_at) VALUES (?, 'test', ?, 'x', ?, ?, ?, ?, ?, ?, ?)",
        (at, "h%d" % n, kind, hard, reason, intent, lead, send_id, at))
def replied(lead, campaign, step, intent, at):
    ins("INSERT INTO events (lead_id, at, kind, detail) VALUES (?, ?, 'replied', ?)",
        (lead, at, '{"campaign":"%s","step":"%s","intent":"%s"}' % (campaign, step, intent)))
def handoff(lead, campaign, step, rep, created, state, claimed=None, decided=None, why=None,
            recycle=None):
    ins("INSERT INTO queue (lead_id, state, rep, assigned_by, trigger, reason, score, campaign,"
        " step_id, created_at, claimed_at, claimed_by, decided_at, reject_reason, recycle_campaign)"
        " VALUES (?, ?, ?, 'round-robin', 'threshold', 'score 60 >= 50', 60, ?, ?, ?, ?, ?, ?, ?, ?)",
        (lead, state, rep, campaign, step, created, claimed, rep if claimed else None, decided,
         why, recycle))

for lead in leads[:12]:
    enroll(lead, "welcome", T0 + 100)
for lead in leads[12:]:
    enroll(lead, "reengage-mql", T0 + 100)
s1 = [send(l, "welcome", "welcome", 0, "sent", T0 + 600) for l in leads[:10]]
send(leads[10], "welcome", "welcome", 0, "deferred", T0 + 600)
send(leads[11], "welcome", "welcome", 0, "failed", T0 + 600)
s2 = [send(l, "welcome", "first-report", 1, "sent", T0 + 2 * D) for l in leads[:8]]
s3 = [send(l, "reengage-mql", "checking-in", 0, "sent", T0 + 3 * D) for l in leads[12:]]

inbound(leads[0], s1[0], "reply", T0 + D, intent="interested")
inbound(leads[1], s1[1], "reply", T0 + D, intent="meeting")
inbound(leads[2], s1[2], "bounce", T0 + 700, hard=1, reason="user-unknown")
inbound(leads[3], s1[3], "bounce", T0 + 700, hard=0, reason="mailbox-full")
inbound(leads[4], s1[4], "auto-reply", T0 + 800)
inbound(leads[5], s2[5], "unsubscribe", T0 + 3 * D)
inbound(leads[6], s2[6], "complaint", T0 + 3 * D)
inbound(leads[12], s3[0], "reply", T0 + 4 * D, intent="pricing")
replied(leads[0], "welcome", "welcome", "interested", T0 + D)
replied(leads[1], "welcome", "welcome", "meeting", T0 + D)
replied(leads[12], "reengage-mql", "checking-in", "pricing", T0 + 4 * D)

handoff(leads[0], "welcome", "welcome", "ana", T0 + D + 60, "accepted", T0 + D + 660, T0 + 2 * D)
handoff(leads[1], "welcome", "welcome", "ben", T0 + D + 60, "rejected", T0 + D + 1860,
        T0 + 2 * D, '<img src=x onerror="console.error(\'xss\')">')
handoff(leads[12], "reengage-mql", "checking-in", "ana", T0 + 4 * D, "claimed", T0 + 4 * D + 1260)
db.commit()
PY

period=(--since 2027-01-15T08:00:00Z --until 2027-01-22T08:00:00Z)

# text, JSON and CSV carry the same counts
"$NURTURE" report "${period[@]}" >"$work/report.txt"
check "text report has the overview" grep -q '^Overview$' "$work/report.txt"
check "text report: sent per campaign" grep -Eq '^  sent +4 +18 +22$' "$work/report.txt"
"$NURTURE" report "${period[@]}" --json >"$work/report.json"
python3 - "$work/report.json" <<'PY' && ok || bad "JSON figures"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
want = {"enrolled": 16, "sent": 22, "reached": 14, "deferred": 1, "failed": 1, "bounced_hard": 1,
        "bounced_soft": 1, "out_of_office": 1, "replied": 3, "unsubscribed": 1, "complained": 1,
        "engaged": 3, "handed_off": 3, "claimed": 3, "accepted": 1, "rejected": 1}
bad = {k: (t[k], v) for k, v in want.items() if t[k] != v}
assert not bad, bad
w = [c for c in r["campaigns"] if c["name"] == "welcome"][0]
assert [s["id"] for s in w["steps"]] == ["welcome", "first-report"], w["steps"]
assert w["steps"][0]["figures"]["reply_rate"] == 0.2, w["steps"][0]["figures"]
assert r["claims"]["median_seconds"] == 1260, r["claims"]
assert r["senders"][0] == {"id": "hello", "configured": True, "daily_cap": 500, "sent": 22,
                           "last_24h": 0}, r["senders"]
PY
"$NURTURE" report "${period[@]}" --csv >"$work/report.csv"
check "CSV: total sent" grep -q '^total,,,sent,,22' "$work/report.csv"
check "CSV: step reply rate" grep -q '^step,welcome,welcome,reply_rate,,0.2000' "$work/report.csv"

# bad arguments: exit 64 with a message
set +e
"$NURTURE" report --json --csv >/dev/null 2>"$work/err"; rc=$?
set -e
check "two formats refused (64)" test "$rc" = 64
check "two formats: message" grep -q 'exclude each other' "$work/err"
set +e
"$NURTURE" report --since 2027-01-22 --until 2027-01-15 >/dev/null 2>&1; rc=$?
set -e
check "since after until refused (64)" test "$rc" = 64

# the HTML page
"$NURTURE" report "${period[@]}" --html "$work/report.html" 2>/dev/null
check "HTML written" test -s "$work/report.html"
check "HTML: the hostile reason is escaped" grep -q '&lt;img src=x onerror=&quot;console.error(&#39;xss&#39;)&quot;&gt;' "$work/report.html"
check "HTML: no tag from the data" bash -c "! grep -q '<img' '$work/report.html'"

# Run Chromium on a page: screenshot to $2, console messages to $3.
shoot() {
  local page=$1 png=$2 log=$3
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-extensions --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
    --window-size=1280,2000 --screenshot="$png" "file://$page" >"$log.out" 2>"$log" || true
}
# Chromium's log line for a console message, whatever its level (the log
# does not say which): the report has no script, so any is an error.
console_lines() { grep -E ':CONSOLE[:(]' "$1" || true; }

cat >"$work/control.html" <<'HTML'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>control</title></head>
<body><p>control page</p><script>console.error("nurture-control-error");</script></body></html>
HTML
shoot "$work/control.html" "$work/control.png" "$work/control.log"
check "control page: its console.error is caught" grep -q 'nurture-control-error' <(console_lines "$work/control.log")

shoot "$work/report.html" "$work/report.png" "$work/report.log"
msgs=$(console_lines "$work/report.log")
if [ -n "$msgs" ]; then bad "console messages on the report page: $msgs"; else ok; fi
check "screenshot taken" test -s "$work/report.png"
python3 - "$work/report.png" <<'PY' && ok || bad "screenshot content"
# Decode the PNG (8-bit RGB or RGBA, not interlaced) with the standard
# library and look at what it shows.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", data[pos + 8:pos + 21])
    elif kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert (w, h) == (1280, 2000), (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, off = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride])
    off += 1 + stride
    if f == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for i in range(stride):
            line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
colors, ink, blue = set(), 0, 0
for y in range(0, h, 2):
    line = rows[y]
    for x in range(0, stride, bpp * 2):
        r, g, b = line[x], line[x + 1], line[x + 2]
        colors.add((r, g, b))
        if (r, g, b) != (255, 255, 255):
            ink += 1
        if b > 180 and r < 140 and b - r > 80:
            blue += 1
total = (h // 2) * (w // 2)
assert len(colors) > 20, "a blank page: %d colours" % len(colors)
assert ink > total // 50, "almost nothing drawn: %d of %d" % (ink, total)
assert blue > 2000, "no chart bars: %d blue samples" % blue
PY

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
