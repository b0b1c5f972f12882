#!/usr/bin/env python3
"""End-to-end tests of `nurture ingest` with a real Dovecot and a real SMTP
server on 127.0.0.1.

Leads are sent the first step of the welcome campaign through smtpd.py;
what comes back is built from what was sent (its Message-ID, its VERP
return path, its unsubscribe address) and delivered into Dovecot:

- a human reply, a DSN (5.1.1), an out-of-office with a return date, an
  unsubscribe request, a policy block (5.7.1), a bounce with a forged
  token, and a newsletter nobody asked for: one ingest acts on each once
  (reply ends the sequence and records the engagement, the bounce
  suppresses, the out-of-office holds the sequence until the day after the
  return date, the unsubscribe suppresses, the policy block pauses the
  sender and suppresses nobody, the forgery is recorded and ignored), moves
  each to Processed or Unknown and deletes nothing;
- a second ingest does nothing new;
- a connection dropped in the middle (a proxy that cuts after some bytes)
  exits 75 and loses nothing: the next ingest finishes the work, and every
  message is acted on exactly once;
- standard input (an MTA pipe): a message is processed, the same message
  again is a duplicate, and a database held by another writer exits 75;
- a Maildir: new/ to cur/, nothing deleted;
- `nurture run` ingests first when a mailbox is configured;
- `inbound show`, `inbound reclassify --dry-run` and `lead unsuppress
  --resume` undo a suppression.
"""
import email
import email.policy
import glob
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dovecot  # noqa: E402

NURTURE = os.environ["NURTURE"]
SMTPD = os.path.join(HERE, "smtpd.py")
passed = failed = 0
T0 = "2026-11-23T14:00:00Z"  # a Monday, inside the welcome campaign's hours
T1 = "2026-11-23T14:15:00Z"
T2 = "2026-11-23T15:00:00Z"


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what} {detail}", file=sys.stderr)


def nurture(cfg, *args, stdin=None, env=None):
    e = dict(os.environ, NT_TEST_IMAP_PASSWORD="s3cret-pass")
    if env:
        e.update(env)
    return subprocess.run([NURTURE, "-c", cfg, *args], capture_output=True,
                          input=stdin, env=e)


def jsonl(p):
    return [json.loads(x) for x in p.stdout.decode().splitlines() if x.startswith("{")]


class Smtpd:
    def __init__(self, work):
        self.dump = tempfile.mkdtemp(dir=work, prefix="dump-")
        ready = os.path.join(work, "smtpd-ready")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", SMTPD, "--port", "0", "--dump", self.dump,
             "--ready-file", ready], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(ready) and open(ready).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(ready).read().split()[0])

    def sent(self):
        """{recipient: (parsed message, envelope sender)}"""
        out = {}
        with open(os.path.join(self.dump, "log.jsonl")) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("ev") != "data" or ev.get("code") != 250:
                    continue
                for fn in ev["files"]:
                    with open(os.path.join(self.dump, fn), "rb") as g:
                        m = email.message_from_binary_file(g, policy=email.policy.default)
                    out[str(m["To"]).split("<")[-1].rstrip(">")] = (m, ev["from"])
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class CuttingProxy:
    """Forwards 127.0.0.1:port to the IMAP server and cuts the connection
    once `limit` bytes have come back from the server."""

    def __init__(self, target, limit):
        self.target, self.limit = target, limit
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.cuts = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self.pipe, args=(c, s, None), daemon=True).start()
            threading.Thread(target=self.pipe, args=(s, c, self.limit), daemon=True).start()

    def pipe(self, a, b, limit):
        n = 0
        try:
            while True:
                data = a.recv(4096)
                if not data:
                    break
                if limit is not None and n + len(data) > limit:
                    b.sendall(data[:max(0, limit - n)])
                    self.cuts += 1
                    break
                n += len(data)
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def close(self):
        self.sock.close()


def make_workdir(work, smtp_port, imap_port, nleads):
    d = os.path.join(work, "w")
    subprocess.run([NURTURE, "init", "--timezone", "UTC", d], check=True, capture_output=True)
    cfg = os.path.join(d, "nurture.yaml")
    text = open(cfg).read()
    text = re.sub(r"smtp:\n  host: 127.0.0.1\n  port: 2525\n",
                  f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n", text)
    text += (f"\ninbound:\n  imap: imap://127.0.0.1:{imap_port}/INBOX\n"
             f"  username: tester\n  password: {{env: NT_TEST_IMAP_PASSWORD}}\n")
    open(cfg, "w").write(text)
    csv = os.path.join(d, "leads.csv")
    with open(csv, "w") as f:
        f.write("email,first_name,stage,timezone\n")
        for i in range(nleads):
            f.write(f"lead{i}@example.org,Lead{i},lead,UTC\n")
    p = nurture(cfg, "lead", "import", csv)
    check("leads imported", p.returncode == 0, p.stderr)
    return cfg


def db(cfg, sql, *args):
    c = sqlite3.connect(os.path.join(os.path.dirname(cfg), "nurture.db"))
    rows = c.execute(sql, args).fetchall()
    c.close()
    return rows


def lead_id(cfg, addr):
    return db(cfg, "SELECT id FROM leads WHERE email = ?", addr)[0][0]


# ---- messages that come back, built from what was sent ----

def reply(sent, text="Thanks, this looks useful. Could you send me pricing for 50 seats?"):
    m, _ = sent
    to = str(m["To"]).split("<")[-1].rstrip(">")
    return (f"From: {to}\r\nTo: {m['From']}\r\nSubject: Re: {m['Subject']}\r\n"
            f"Message-ID: <reply-{time.time_ns()}@example.org>\r\n"
            f"In-Reply-To: {m['Message-ID']}\r\nReferences: {m['Message-ID']}\r\n"
            f"Date: Mon, 23 Nov 2026 14:40:00 +0000\r\n\r\n{text}\r\n\r\n"
            f"On Mon, 23 Nov 2026 at 14:15, Northwind wrote:\r\n> Welcome\r\n").encode()


def dsn(sent, status="5.1.1", diag="550 5.1.1 <{rcpt}>: Recipient address rejected: "
        "User unknown in virtual mailbox table", verp=None, returned_id=None):
    m, envelope_from = sent
    rcpt = str(m["To"]).split("<")[-1].rstrip(">")
    verp = verp or envelope_from
    return (f"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
            f"To: {verp}\r\nDelivered-To: {verp}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <dsn-{time.time_ns()}@mx.example.org>\r\n"
            f"Date: Mon, 23 Nov 2026 14:20:00 +0000\r\nAuto-Submitted: auto-replied\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
            f" boundary=\"BND\"\r\n\r\n--BND\r\nContent-Type: text/plain\r\n\r\n"
            f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
            f"\r\n--BND\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\n"
            f"Original-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; {diag.format(rcpt=rcpt)}\r\n\r\n"
            f"--BND\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Message-ID: {returned_id or m['Message-ID']}\r\nTo: {rcpt}\r\n"
            f"Subject: {m['Subject']}\r\n"
            f"\r\n--BND--\r\n").encode()


def out_of_office(sent):
    m, _ = sent
    to = str(m["To"]).split("<")[-1].rstrip(">")
    return (f"From: {to}\r\nTo: {m['From']}\r\nSubject: Out of Office: {m['Subject']}\r\n"
            f"Message-ID: <ooo-{time.time_ns()}@example.org>\r\nAuto-Submitted: auto-replied\r\n"
            f"In-Reply-To: {m['Message-ID']}\r\nDate: Mon, 23 Nov 2026 14:16:00 +0000\r\n\r\n"
            f"I am out of the office with limited access to email. I will be back on "
            f"30 November 2026.\r\n").encode()


def unsubscribe(sent):
    m, _ = sent
    to = str(m["To"]).split("<")[-1].rstrip(">")
    mailto = re.search(r"<mailto:([^>?]+)", str(m["List-Unsubscribe"])).group(1)
    return (f"From: {to}\r\nTo: {mailto}\r\nSubject: unsubscribe\r\n"
            f"Message-ID: <unsub-{time.time_ns()}@example.org>\r\n"
            f"Date: Mon, 23 Nov 2026 14:30:00 +0000\r\n\r\nunsubscribe\r\n").encode()


def newsletter():
    return (b"From: news@vendor.example\r\nTo: hello@northwind.example\r\n"
            b"Subject: Our November product digest\r\nList-Id: <digest.vendor.example>\r\n"
            b"Precedence: bulk\r\nMessage-ID: <digest-1@vendor.example>\r\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
            b"This month: three new integrations and a webinar.\r\n")


def forge(verp):
    local, domain = verp.split("@")
    prefix, token = local.split("+")
    bad = token[:-1] + ("a" if token[-1] != "a" else "b")
    return f"{prefix}+{bad}@{domain}"


# ---- the tests ----

def send_first_step(cfg):
    for t in (T0, T1):
        p = nurture(cfg, "run", "--now", t)
        check(f"run at {t}", p.returncode == 0, p.stderr)


def test_imap(work, dc, smtpd):
    cfg = make_workdir(work, smtpd.port, dc.imap_port, 8)
    # no mailbox traffic yet: the run ingests an empty INBOX first
    send_first_step(cfg)
    sent = smtpd.sent()
    check("first step sent to every lead", len(sent) == 8, sorted(sent))
    L = [f"lead{i}@example.org" for i in range(8)]
    seeded = {
        "reply": dc.seed(reply(sent[L[0]])),
        "bounce": dc.seed(dsn(sent[L[1]])),
        "ooo": dc.seed(out_of_office(sent[L[2]])),
        "unsub": dc.seed(unsubscribe(sent[L[3]])),
        "policy": dc.seed(dsn(sent[L[4]], "5.7.1", "550 5.7.1 Service unavailable; client "
                               "[203.0.113.9] blocked using Spamhaus")),
        # a forged return path, and no other token of ours in it
        "forged": dc.seed(dsn(sent[L[5]], verp=forge(sent[L[5]][1]),
                              returned_id="<CAFx1y2@mail.example.org>")),
        "news": dc.seed(newsletter()),
    }
    before = sum(dc.count_all().values())
    p = nurture(cfg, "ingest", "--json", "--now", T2)
    check("ingest exits 0", p.returncode == 0, p.stderr)
    rows = [r for r in jsonl(p) if "summary" not in r]
    kinds = sorted(r["kind"] for r in rows)
    check("seven messages, each classified", kinds == sorted(
        ["reply", "bounce", "auto-reply", "unsubscribe", "bounce", "bounce", "unknown"]), kinds)
    counts = dc.count_all()
    check("nothing deleted", sum(counts.values()) == before, counts)
    check("INBOX emptied", counts.get("INBOX") == 0, counts)
    check("six in Processed", counts.get("Processed") == 6, counts)
    check("one in Unknown", counts.get("Unknown") == 1, counts)

    ids = {addr: lead_id(cfg, addr) for addr in L}
    supp = {r[0] for r in db(cfg, "SELECT email FROM suppressions")}
    check("hard bounce suppressed", L[1] in supp, supp)
    check("unsubscribe suppressed", L[3] in supp, supp)
    check("policy block suppresses nobody", L[4] not in supp, supp)
    check("forged bounce suppresses nobody", L[5] not in supp, supp)
    check("reply suppresses nobody", L[0] not in supp, supp)
    check("nothing else suppressed", len(supp) == 2, supp)
    ev = lambda a, k: db(cfg, "SELECT detail FROM events WHERE lead_id = ? AND kind = ?", ids[a], k)
    replied = ev(L[0], "replied")
    check("reply recorded as engagement", len(replied) == 1, replied)
    if replied:
        det = json.loads(replied[0][0])
        check("reply intent pricing", det.get("intent") == "pricing", det)
        check("reply visible text without the quote",
              "pricing" in det.get("text", "") and "wrote:" not in det.get("text", ""), det)
        check("reply names the campaign and step",
              det.get("campaign") == "welcome" and det.get("step") == "welcome", det)
    state = lambda a: db(cfg, "SELECT state, next_at, exit_reason FROM enrollments "
                         "WHERE lead_id = ? AND campaign = 'welcome'", ids[a])[0]
    check("reply ends the sequence", state(L[0])[0] == "exited", state(L[0]))
    check("bounce ends the sequence", state(L[1])[0] == "exited", state(L[1]))
    back = 1764547200  # 2026-12-01T00:00:00Z, the day after the return date
    check("out-of-office holds the sequence to the day after the return date",
          state(L[2])[0] == "active" and state(L[2])[1] >= back, state(L[2]))
    paused = db(cfg, "SELECT sender, until FROM sender_pauses")
    check("policy block pauses the sender", len(paused) == 1 and paused[0][0] == "hello", paused)
    forged = db(cfg, "SELECT forged, lead_id, action FROM inbound WHERE forged = 1")
    check("forgery recorded, not attributed", len(forged) == 1 and forged[0][1] is None, forged)
    check("untouched leads go on", state(L[6])[0] == "active" and state(L[7])[0] == "active")

    # again: nothing new
    p = nurture(cfg, "ingest", "--json", "--now", T2)
    summary = [r for r in jsonl(p) if r.get("summary")]
    check("second ingest: nothing new", p.returncode == 0 and summary and
          summary[0]["new"] == 0 and summary[0]["messages"] == 0, p.stdout)
    check("second ingest: still 7 stored", db(cfg, "SELECT count(*) FROM inbound")[0][0] == 7)

    # a block reported just before the next steps are due holds them
    p = nurture(cfg, "ingest", "-", "--now", "2026-11-25T14:00:00Z",
                stdin=dsn(sent[L[4]], "5.7.1", "550 5.7.1 rejected by DMARC policy"))
    check("a second policy block", p.returncode == 0, p.stderr)
    p = nurture(cfg, "run", "--json", "--now", "2026-11-25T14:30:00Z")
    out = jsonl(p)
    check("paused sender holds mail", out and out[-1].get("paused", 0) > 0, p.stdout)

    # inbound show / reclassify / unsuppress
    bid = db(cfg, "SELECT id FROM inbound WHERE lead_id = ? AND kind = 'bounce'", ids[L[1]])[0][0]
    p = nurture(cfg, "inbound", "show", str(bid), "--json")
    shown = jsonl(p)
    check("inbound show", p.returncode == 0 and shown and shown[0]["status"] == "5.1.1" and
          shown[0]["reason"] == "user-unknown" and shown[0]["attributed_by"] == "verp", p.stdout)
    p = nurture(cfg, "inbound", "show", str(bid), "--raw")
    check("inbound show --raw gives the message back", b"Final-Recipient" in p.stdout)
    p = nurture(cfg, "inbound", "reclassify", "--all", "--dry-run", "--json")
    check("reclassify --dry-run changes nothing", p.returncode == 0 and
          all(not r["changed"] for r in jsonl(p)), p.stdout + p.stderr)
    p = nurture(cfg, "lead", "unsuppress", L[1], "--resume", "--json")
    out = jsonl(p)
    check("unsuppress", p.returncode == 0 and out and out[0]["was_suppressed"] and
          out[0]["resumed"] == 1, p.stdout + p.stderr)
    check("unsuppress lifts it", L[1] not in {r[0] for r in db(cfg, "SELECT email FROM suppressions")})
    check("unsuppress --resume puts the lead back", state(L[1])[0] == "active", state(L[1]))
    return cfg, sent


def test_dropped_connection(work, dc, cfg, sent):
    L = [f"lead{i}@example.org" for i in range(8)]
    stored = db(cfg, "SELECT count(*) FROM inbound")[0][0]
    msgs = [reply(sent[L[6]], "Sounds good, let's set up a call next week."),
            out_of_office(sent[L[7]]), newsletter().replace(b"digest-1", b"digest-2")]
    for raw in msgs:
        dc.seed(raw)
    before = sum(dc.count_all().values())
    proxy = CuttingProxy(dc.imap_port, 1500)
    text = open(cfg).read()
    cut_cfg = cfg.replace(".yaml", "-cut.yaml")
    open(cut_cfg, "w").write(text.replace(f":{dc.imap_port}/", f":{proxy.port}/"))
    p = nurture(cut_cfg, "ingest", "--now", T2)
    check("dropped connection exits 75", p.returncode == 75, (p.returncode, p.stderr))
    check("the proxy did cut", proxy.cuts >= 1)
    proxy.close()
    check("nothing lost after the cut", sum(dc.count_all().values()) == before, dc.count_all())
    p = nurture(cfg, "ingest", "--json", "--now", T2)
    check("ingest after the cut", p.returncode == 0, p.stderr)
    check("every message stored once",
          db(cfg, "SELECT count(*) FROM inbound")[0][0] == stored + 3)
    counts = dc.count_all()
    check("INBOX empty after the retry", counts.get("INBOX") == 0, counts)
    check("still nothing deleted", sum(counts.values()) == before, counts)
    n = db(cfg, "SELECT count(*) FROM events WHERE lead_id = ? AND kind = 'replied'",
           lead_id(cfg, L[6]))[0][0]
    check("the reply acted on once", n == 1, n)


def test_stdin_and_maildir(work, cfg, sent):
    L = [f"lead{i}@example.org" for i in range(8)]
    raw = dsn(sent[L[7]], "4.2.2", "452 4.2.2 Mailbox full")
    p = nurture(cfg, "ingest", "-", "--json", stdin=raw)
    out = jsonl(p)
    check("stdin: processed", p.returncode == 0 and out and out[0]["kind"] == "bounce" and
          not out[0]["duplicate"], p.stdout + p.stderr)
    p = nurture(cfg, "ingest", "-", "--json", stdin=raw)
    out = jsonl(p)
    check("stdin: the same message again is a duplicate",
          p.returncode == 0 and out and out[0]["duplicate"], p.stdout)
    check("soft bounce recorded, not suppressed", L[7] not in
          {r[0] for r in db(cfg, "SELECT email FROM suppressions")})
    # a database locked by another writer: EX_TEMPFAIL, so the MTA retries
    dbpath = os.path.join(os.path.dirname(cfg), "nurture.db")
    holder = sqlite3.connect(dbpath, isolation_level=None, timeout=1)
    holder.execute("BEGIN EXCLUSIVE")
    p = nurture(cfg, "ingest", "-", stdin=reply(sent[L[7]], "Please call me, I'm interested."))
    holder.execute("ROLLBACK")
    holder.close()
    check("stdin: busy database exits 75", p.returncode == 75, (p.returncode, p.stderr))
    p = nurture(cfg, "ingest", "-", "--json",
                stdin=reply(sent[L[7]], "Please call me, I'm interested."))
    check("stdin: the retry goes through", p.returncode == 0 and jsonl(p) and
          jsonl(p)[0]["kind"] == "reply", p.stdout + p.stderr)

    md = os.path.join(work, "Maildir")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub))
    for i, raw in enumerate([newsletter().replace(b"digest-1", b"digest-3"),
                             unsubscribe(sent[L[6]])]):
        with open(os.path.join(md, "new", f"17000000{i}.M1P1.test"), "wb") as f:
            f.write(raw)
    p = nurture(cfg, "ingest", "--maildir", md, "--json")
    out = [r for r in jsonl(p) if "summary" not in r]
    check("maildir: both processed", p.returncode == 0 and
          sorted(r["kind"] for r in out) == ["unknown", "unsubscribe"], p.stdout + p.stderr)
    check("maildir: new/ emptied, cur/ holds both",
          not os.listdir(os.path.join(md, "new")) and len(os.listdir(os.path.join(md, "cur"))) == 2)
    p = nurture(cfg, "ingest", "--maildir", md, "--json")
    summary = [r for r in jsonl(p) if r.get("summary")]
    check("maildir: again, nothing new", summary and summary[0]["new"] == 0, p.stdout)


def main():
    work = tempfile.mkdtemp(prefix="nt-e2e-ingest-")
    smtpd = Smtpd(work)
    try:
        with dovecot.Dovecot() as dc:
            cfg, sent = test_imap(work, dc, smtpd)
            test_dropped_connection(work, dc, cfg, sent)
            test_stdin_and_maildir(work, cfg, sent)
    finally:
        smtpd.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"e2e ingest: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
