#!/usr/bin/env python3
"""End-to-end tests of `nurture run` against a real SMTP server on 127.0.0.1.

- server behaviour: a connection dropped in the middle of DATA, a server
  slower than the timeout, STARTTLS required with the certificate checked,
  AUTH with a good and a wrong password;
- the governor: a daily cap holds sends back until it rolls over; --limit
  and --dry-run;
- time: a five-step campaign run day by day with --now delivers each step
  once per lead, inside the lead's business hours, with the headers a
  serious sender writes (parsed back with Python's email package), and stops
  for a lead whose address the server refuses with 550 5.1.1;
- a 451 answer is retried on a later run and then delivered once;
- a server that is down: nothing is lost, everything is retried;
- overlap: three runs started at once on one database, 20 times: one sends,
  the others exit 75 at once; no duplicate at the server;
- crash: a run killed with SIGKILL at a random moment, 50 times, then run
  again: no message delivered twice, every send ends sent, deferred, failed
  or unknown, and the database passes its integrity check.
"""
import email
import email.policy
import glob
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import datetime
from zoneinfo import ZoneInfo

NURTURE = os.environ["NURTURE"]
SRC = os.environ["NT_SOURCE_DIR"]
SMTPD = os.path.join(SRC, "tests", "e2e", "smtpd.py")
passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what} {detail}", file=sys.stderr)


class Server:
    """smtpd.py on a free port, dumping each accepted message to a folder."""

    def __init__(self, work, *flags):
        self.dump = tempfile.mkdtemp(dir=work, prefix="dump-")
        ready = os.path.join(work, f"ready-{os.getpid()}-{random.random()}")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", SMTPD, "--port", "0", "--dump", self.dump,
             "--ready-file", ready, *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(ready) and open(ready).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(ready).read().split()[0])

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dump, "*.eml"))):
            with open(path, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def nurture(cfg, *args, check_rc=None):
    p = subprocess.run([NURTURE, "-c", cfg, *args], capture_output=True, text=True)
    if check_rc is not None and p.returncode != check_rc:
        print(f"  nurture {' '.join(args)} exited {p.returncode}\n  {p.stderr}", file=sys.stderr)
    return p


def make_workdir(work, port, leads, tz="America/New_York", extra_smtp=""):
    d = tempfile.mkdtemp(dir=work, prefix="w-")
    shutil.rmtree(d)
    subprocess.run([NURTURE, "init", "--timezone", tz, d], check=True, capture_output=True)
    cfg = os.path.join(d, "nurture.yaml")
    text = open(cfg).read()
    text = re.sub(r"smtp:\n  host: 127.0.0.1\n  port: 2525\n  tls: off\n",
                  f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  tls: off\n  timeout: 5\n"
                  f"  retry_after: 1h\n{extra_smtp}", text)
    text = text.replace("daily_cap: 500", "daily_cap: 0")
    open(cfg, "w").write(text)
    csv = os.path.join(d, "leads.csv")
    with open(csv, "w") as f:
        f.write("email,first_name,stage,timezone\n")
        for i, (addr, zone) in enumerate(leads):
            f.write(f"{addr},Lead{i},lead,{zone}\n")
    nurture(cfg, "lead", "import", csv, check_rc=0)
    return cfg


def sends(cfg):
    db = os.path.join(os.path.dirname(cfg), "nurture.db")
    c = sqlite3.connect(db)
    rows = c.execute("SELECT lead_id, campaign, step_id, state, attempts, smtp_code FROM sends").fetchall()
    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    return rows, ok


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_time(work):
    zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]
    leads = [(f"lead{i}@example.com", zones[i % 4]) for i in range(8)]
    leads.append(("gone@example.com", "America/New_York"))
    srv = Server(work, "--reject-rcpt", r"gone@.*=550 5.1.1 No such user")
    try:
        cfg = make_workdir(work, srv.port, leads)
        t = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.timezone.utc)
        # every hour for 18 days
        codes = []
        for h in range(18 * 24):
            p = nurture(cfg, "run", "--now", iso(t + datetime.timedelta(hours=h)), "--json")
            codes.append(p.returncode)
            if p.returncode not in (0, 1):
                print(p.stderr, file=sys.stderr)
                break
        msgs = srv.messages()
        by_lead = {}
        for m in msgs:
            by_lead.setdefault(str(m["To"].addresses[0].addr_spec), []).append(m)
        check("every lead but the refused one got 5 emails",
              sorted(len(v) for k, v in by_lead.items() if not k.startswith("gone")) == [5] * 8,
              {k: len(v) for k, v in by_lead.items()})
        check("the refused address got nothing", "gone@example.com" not in by_lead)
        steps = ["Welcome to Northwind", "Your first report", "How a 40-person",
                 "The three dashboard mistakes", "Worth a 20-minute call"]
        zone_of = dict(leads)
        for addr, ms in by_lead.items():
            subjects = [str(m["Subject"]) for m in sorted(ms, key=lambda m: m["Date"].datetime)]
            check(f"{addr}: steps in order, once each",
                  all(s.startswith(p) for s, p in zip(subjects, steps)), subjects)
            for m in ms:
                local = m["Date"].datetime.astimezone(ZoneInfo(zone_of[addr]))
                check(f"{addr}: sent in local business hours",
                      local.weekday() < 5 and 9 <= local.hour < 17, str(local))
        m = msgs[0]
        check("multipart/alternative", m.get_content_type() == "multipart/alternative")
        parts = [p.get_content_type() for p in m.iter_parts()]
        check("text and html parts", parts == ["text/plain", "text/html"], parts)
        check("no MIME defects", not m.defects and all(not p.defects for p in m.iter_parts()))
        mid = str(m["Message-ID"])
        check("Message-ID carries a token", re.fullmatch(r"<[a-z2-7]{20,}@northwind\.example>", mid) is not None, mid)
        lu = str(m["List-Unsubscribe"])
        check("List-Unsubscribe mailto with token", re.search(r"<mailto:unsubscribe\+[a-z2-7]+@northwind\.example>", lu) is not None, lu)
        text = m.get_body(("plain",)).get_content()
        check("unsubscribe link in the text", "unsubscribe+" in text)
        check("postal address in the text", "100 Main Street" in text)
        rows, ok = sends(cfg)
        check("integrity", ok == "ok")
        states = sorted(set(r[3] for r in rows))
        check("the refused send failed, the rest were sent", states == ["failed", "sent"], states)
        gone = nurture(cfg, "lead", "show", "gone@example.com", "--json")
        check("5.1.1 suppressed the lead's campaigns",
              '"exited"' in gone.stdout or "exited" in gone.stdout, gone.stdout[:400])
    finally:
        srv.stop()


def test_deferred_and_down(work):
    leads = [(f"p{i}@example.com", "America/New_York") for i in range(3)]
    leads.append(("later@example.com", "America/New_York"))
    srv = Server(work, "--reject-rcpt", r"later@.*=451 4.3.0 Try again later")
    cfg = make_workdir(work, srv.port, leads)
    t0 = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.timezone.utc)
    nurture(cfg, "run", "--now", iso(t0), check_rc=0)
    p = nurture(cfg, "run", "--now", iso(t0 + datetime.timedelta(minutes=15)), "--json")
    s = json.loads(p.stdout)
    check("3 sent, 1 deferred", (s["sent"], s["deferred"]) == (3, 1), s)
    srv.stop()
    # the server accepts everyone now
    srv2 = Server(work)
    text = open(cfg).read().replace(f"port: {srv.port}", f"port: {srv2.port}")
    open(cfg, "w").write(text)
    p = nurture(cfg, "run", "--now", iso(t0 + datetime.timedelta(minutes=30)), "--json")
    check("not retried before its backoff", json.loads(p.stdout)["retries"] == 0, p.stdout)
    p = nurture(cfg, "run", "--now", iso(t0 + datetime.timedelta(minutes=80)), "--json")
    s = json.loads(p.stdout)
    check("retried after the backoff and sent", (s["retries"], s["sent"]) == (1, 1), s)
    check("delivered once", [str(m["To"]) for m in srv2.messages()] == ["Lead3 <later@example.com>"] or
          len(srv2.messages()) == 1, [str(m["To"]) for m in srv2.messages()])
    srv2.stop()
    # server down: run says so, exits 1, and the send is deferred, not lost
    cfg2 = make_workdir(work, 1, [("down@example.com", "America/New_York")])
    nurture(cfg2, "run", "--now", iso(t0))
    p = nurture(cfg2, "run", "--now", iso(t0 + datetime.timedelta(minutes=15)), "--json")
    s = json.loads(p.stdout)
    check("server down exits 1", p.returncode == 1, p.returncode)
    check("server down: deferred", s["deferred"] == 1 and s["sent"] == 0, s)
    rows, ok = sends(cfg2)
    check("server down: the send is kept as deferred", [r[3] for r in rows] == ["deferred"], rows)


def test_server_behaviour(work):
    """A drop in the middle of DATA, a server slower than the timeout, and a
    relay that requires STARTTLS and AUTH, each through `nurture run`."""
    t0 = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.timezone.utc)
    t1 = t0 + datetime.timedelta(minutes=15)
    # dropped in DATA: nobody knows if it arrived, so it is retried later
    srv = Server(work, "--drop-in-data", r"drop@.*")
    try:
        # the accepted message comes first in the session; the dropped one
        # is the last thing the connection did
        cfg = make_workdir(work, srv.port, [("ok@example.com", "UTC"), ("drop@example.com", "UTC")])
        nurture(cfg, "run", "--now", iso(t0), check_rc=0)
        p = nurture(cfg, "run", "--now", iso(t1), "--json")
        s = json.loads(p.stdout)
        check("drop in DATA: the first message sent, the dropped one deferred",
              (s["sent"], s["deferred"]) == (1, 1), s)
        rows, _ = sends(cfg)
        check("drop in DATA: recorded as deferred", sorted(r[3] for r in rows) == ["deferred", "sent"], rows)
        # dropped first: the message after it never got an answer either
        cfg = make_workdir(work, srv.port, [("drop@example.com", "UTC"), ("ok2@example.com", "UTC")])
        nurture(cfg, "run", "--now", iso(t0), check_rc=0)
        s = json.loads(nurture(cfg, "run", "--now", iso(t1), "--json").stdout)
        check("drop in DATA: nothing after the drop is counted as sent", (s["sent"], s["deferred"]) == (0, 2), s)
    finally:
        srv.stop()
    # slower than the configured timeout (5 s): deferred, run exits 1
    srv = Server(work, "--delay", "8")
    try:
        cfg = make_workdir(work, srv.port, [("slow@example.com", "UTC")])
        nurture(cfg, "run", "--now", iso(t0), check_rc=0)
        started = time.monotonic()
        p = nurture(cfg, "run", "--now", iso(t1), "--json")
        took = time.monotonic() - started
        s = json.loads(p.stdout)
        check("slow server: deferred, not sent", (s["sent"], s["deferred"]) == (0, 1), s)
        check("slow server: the run gives up near its timeout", took < 30, took)
        check("slow server: exit 1", p.returncode == 1, p.returncode)
    finally:
        srv.stop()
    # STARTTLS required, certificate checked against a CA file, AUTH
    cert = os.path.join(work, "cert.pem")
    key = os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    srv = Server(work, "--starttls", cert, key, "--require-starttls", "--auth", "nurture:s3cret",
                 "--auth-require-tls")
    try:
        extra = (f"  username: nurture\n  password: {{env: NT_TEST_SMTP_PW}}\n"
                 f"  ca_file: {cert}\n")
        cfg = make_workdir(work, srv.port, [("tls@example.com", "UTC")], extra_smtp=extra)
        text = open(cfg).read().replace("  tls: off\n", "  tls: required\n")
        open(cfg, "w").write(text)
        os.environ["NT_TEST_SMTP_PW"] = "s3cret"
        nurture(cfg, "run", "--now", iso(t0), check_rc=0)
        p = nurture(cfg, "run", "--now", iso(t1), "--json")
        s = json.loads(p.stdout)
        check("STARTTLS + AUTH: sent", s["sent"] == 1, (s, p.stderr))
        log = open(os.path.join(srv.dump, "log.jsonl")).read()
        check("STARTTLS + AUTH: the server saw TLS and a good login",
              '"starttls"' in log and '"ok": true' in log, log[-500:])
        # a wrong password: nothing is sent, nobody is blamed, the run exits 1
        os.environ["NT_TEST_SMTP_PW"] = "wrong"
        cfg2 = make_workdir(work, srv.port, [("tls2@example.com", "UTC")], extra_smtp=extra)
        text = open(cfg2).read().replace("  tls: off\n", "  tls: required\n")
        open(cfg2, "w").write(text)
        nurture(cfg2, "run", "--now", iso(t0), check_rc=0)
        p = nurture(cfg2, "run", "--now", iso(t1), "--json")
        s = json.loads(p.stdout)
        check("wrong password: deferred, exit 1", (s["sent"], s["deferred"], p.returncode) == (0, 1, 1),
              (s, p.returncode))
        check("wrong password: the error is said", "AUTH" in p.stderr or "auth" in p.stderr, p.stderr)
    finally:
        os.environ.pop("NT_TEST_SMTP_PW", None)
        srv.stop()


def test_governor(work):
    srv = Server(work)
    try:
        leads = [(f"g{i}@example.com", "America/New_York") for i in range(5)]
        cfg = make_workdir(work, srv.port, leads)
        text = open(cfg).read().replace("daily_cap: 0", "daily_cap: 3")
        open(cfg, "w").write(text)
        t0 = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.timezone.utc)
        nurture(cfg, "run", "--now", iso(t0), check_rc=0)
        t1 = t0 + datetime.timedelta(minutes=15)
        p = nurture(cfg, "run", "--now", iso(t1), "--dry-run", "--json")
        s = json.loads(p.stdout)
        check("dry run: 5 due, nothing sent", (s["due"], s["sent"], s["dry_run"]) == (5, 0, True), s)
        check("dry run sent nothing", len(srv.messages()) == 0)
        p = nurture(cfg, "run", "--now", iso(t1), "--limit", "2", "--json")
        check("--limit 2 sends 2", json.loads(p.stdout)["sent"] == 2, p.stdout)
        p = nurture(cfg, "run", "--now", iso(t1 + datetime.timedelta(minutes=5)), "--json")
        s = json.loads(p.stdout)
        check("daily cap 3: one more sent, two capped", (s["sent"], s["capped"]) == (1, 2), s)
        p = nurture(cfg, "run", "--now", iso(t1 + datetime.timedelta(hours=3)), "--json")
        s = json.loads(p.stdout)
        check("still capped within 24 hours", (s["sent"], s["capped"]) == (0, 2), s)
        # cron goes on every hour; the next day, inside the window, the cap
        # has rolled over and the two go out (not judged stale)
        sent = capped_runs = 0
        for h in range(4, 30):
            p = nurture(cfg, "run", "--now", iso(t1 + datetime.timedelta(hours=h, minutes=10)), "--json")
            s = json.loads(p.stdout)
            sent += s["sent"]
            capped_runs += s["capped"] > 0
        check("sent the next day, once the cap rolled over", sent == 2, sent)
        check("5 messages in all, one per lead", len(srv.messages()) == 5 and
              len({str(m["To"]) for m in srv.messages()}) == 5)
        for m in srv.messages():
            check("no MIME defects", not m.defects and all(not q.defects for q in m.walk()))
    finally:
        srv.stop()


def test_doctor(work):
    srv = Server(work)
    try:
        cfg = make_workdir(work, srv.port, [("d@example.com", "UTC")])
        p = nurture(cfg, "doctor", "--no-dns", "--json")
        checks = {(c["check"], c["status"]) for c in json.loads(p.stdout)}
        check("doctor: all ok against a live relay", p.returncode == 0 and
              all(st == "ok" for _, st in checks), p.stdout)
        check("doctor: reports TCP_NODELAY", "TCP_NODELAY on" in p.stdout, p.stdout)
    finally:
        srv.stop()
    p = nurture(cfg, "doctor", "--no-dns")
    check("doctor: relay down fails", p.returncode == 1 and
          re.search(r"FAIL +smtp +.*cannot connect", p.stdout) is not None, p.stdout)
    os.rename(os.path.join(os.path.dirname(cfg), "secret"), os.path.join(os.path.dirname(cfg), "s2"))
    p = nurture(cfg, "doctor", "--no-dns", "--no-smtp")
    check("doctor: missing secret fails", p.returncode == 1 and
          re.search(r"FAIL +secret", p.stdout) is not None, p.stdout)
    p = nurture(cfg, "run")
    check("run without a secret is a configuration error", p.returncode == 78, p.returncode)


def many_leads(n):
    return [(f"m{i}@example.com", "America/New_York") for i in range(n)]


def test_overlap(work, rounds=20, n=300):
    srv = Server(work)
    try:
        t0 = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.timezone.utc)
        total_dupes = 0
        refused = 0
        for r in range(rounds):
            cfg = make_workdir(work, srv.port, many_leads(n))
            nurture(cfg, "run", "--now", iso(t0), check_rc=0)
            before = set(glob.glob(os.path.join(srv.dump, "*.eml")))
            procs = [subprocess.Popen([NURTURE, "-c", cfg, "run", "--now",
                                       iso(t0 + datetime.timedelta(minutes=15))],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for _ in range(3)]
            rcs = sorted(p.wait() for p in procs)
            refused += rcs.count(75)
            # a run that lost the race for the lock exits 75; one that came
            # after the winner finished finds nothing due and exits 0
            check(f"overlap {r}: exit codes", rcs[0] == 0 and all(c in (0, 75) for c in rcs), rcs)
            got = sorted(set(glob.glob(os.path.join(srv.dump, "*.eml"))) - before)
            rows, ok = sends(cfg)
            check(f"overlap {r}: every due send accounted for",
                  len(rows) == n and all(x[3] == "sent" for x in rows), len(rows))
            rcpts = [open(g, "rb").read().split(b"\nTo: ", 1)[1].split(b"\n", 1)[0] for g in got]
            total_dupes += len(rcpts) - len(set(rcpts))
            check(f"overlap {r}: {n} delivered", len(got) == n, len(got))
        check("overlap: zero duplicates at the server", total_dupes == 0, total_dupes)
        check("overlap: runs really overlapped (some were refused the lock)", refused > 0, refused)
        print(f"overlap: {rounds} rounds of 3 runs, {refused} refused the lock", file=sys.stderr)
    finally:
        srv.stop()


def test_crash(work, rounds=50, n=300):
    srv = Server(work)
    try:
        t0 = datetime.datetime(2026, 11, 23, 15, 0, tzinfo=datetime.timezone.utc)
        dupes = unknown = killed = 0
        for r in range(rounds):
            cfg = make_workdir(work, srv.port, many_leads(n))
            nurture(cfg, "run", "--now", iso(t0), check_rc=0)
            before = set(glob.glob(os.path.join(srv.dump, "*.eml")))
            p = subprocess.Popen([NURTURE, "-c", cfg, "run", "--now",
                                  iso(t0 + datetime.timedelta(minutes=15))],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(random.uniform(0.0, 0.6))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                killed += 1
            p.wait()
            p2 = nurture(cfg, "run", "--now", iso(t0 + datetime.timedelta(minutes=20)), "--json")
            check(f"crash {r}: the next run works", p2.returncode in (0, 1), p2.stderr)
            rows, ok = sends(cfg)
            check(f"crash {r}: integrity", ok == "ok", ok)
            check(f"crash {r}: every send ends sent, deferred, failed or unknown",
                  all(x[3] in ("sent", "deferred", "failed", "unknown") for x in rows),
                  sorted(set(x[3] for x in rows)))
            check(f"crash {r}: no due send lost", len(rows) == n, len(rows))
            unknown += sum(1 for x in rows if x[3] == "unknown")
            got = sorted(set(glob.glob(os.path.join(srv.dump, "*.eml"))) - before)
            rcpts = [open(g, "rb").read().split(b"\nTo: ", 1)[1].split(b"\n", 1)[0] for g in got]
            dupes += len(rcpts) - len(set(rcpts))
        check("crash: no message delivered twice", dupes == 0, dupes)
        print(f"crash: {rounds} rounds, {killed} killed mid-run, {unknown} sends left unknown",
              file=sys.stderr)
    finally:
        srv.stop()


def main():
    work = tempfile.mkdtemp(prefix="nt-e2e-run-")
    try:
        test_time(work)
        test_deferred_and_down(work)
        test_server_behaviour(work)
        test_governor(work)
        test_doctor(work)
        quick = os.environ.get("NT_E2E_QUICK") == "1"
        test_overlap(work, rounds=2 if quick else 20)
        test_crash(work, rounds=3 if quick else 50)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"e2e run: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
