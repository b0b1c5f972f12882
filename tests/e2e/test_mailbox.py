#!/usr/bin/env python3
"""End-to-end tests of the IMAP and POP3 mailbox sources against a real
Dovecot on 127.0.0.1 (tests/e2e/dovecot.py), driven through
tests/e2e/mailbox_probe (one session per run, following a plan).

- a session: five messages seeded; three finished as processed, one as
  unknown, one fetched and left; the folders on the server hold them, INBOX
  the one left, unread; every message is somewhere, once;
- state: the (uidvalidity, last_uid) of one session resumes the next; a
  message fetched or skipped but not finished comes back; a UIDVALIDITY
  change starts over;
- errors: a wrong password (IMAP and POP3) names the server and the step
  and never shows the password; no such mailbox; a processed folder that
  is the mailbox itself; nothing listening;
- POP3 lists and fetches the same messages, byte for byte, with keys that
  stay the same from one session to the next, and deletes nothing;
- a connection dropped before a FETCH, after a MOVE went through (the reply
  lost), in the middle of a message, and a server that stalls: a transient
  error (NT_EIO), and every message is still in INBOX or in its folder; the
  next session finishes the rest;
- TLS: STARTTLS and imaps/pop3s with the test CA, a certificate not trusted,
  and a host other than 127.0.0.1 without STARTTLS refused before login;
- a message over the size limit: refused without filling memory, the
  session goes on, and it can still be finished into Unknown;
- a server without MOVE: UID COPY plus flags, the original stays, and is not
  listed again;
- Dovecot is stopped after each test with no process left behind.
"""
import collections
import email
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dovecot import Dovecot  # noqa: E402
from tcpproxy import Proxy  # noqa: E402

PROBE = os.environ["NT_MAILBOX_PROBE"]
passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what} {detail}", file=sys.stderr)


class Session:
    """What one mailbox_probe run printed."""

    def __init__(self, p, elapsed):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr
        self.elapsed = elapsed
        self.count = None
        self.name = None
        self.keys = []
        self.uids = []
        self.fetched = {}
        self.skipped = {}
        self.finished = {}
        self.state = None
        self.error = None
        for line in p.stdout.splitlines():
            f = line.split("\t")
            if f[0] == "open":
                self.count, self.name = int(f[1]), f[2]
            elif f[0] == "msg":
                self.keys.append(f[2])
                self.uids.append(int(f[3]))
            elif f[0] == "fetched":
                self.fetched[int(f[1])] = int(f[2])
            elif f[0] == "skipped":
                self.skipped[int(f[1])] = (f[2], f[3])
            elif f[0] == "finished":
                self.finished[int(f[1])] = f[2]
            elif f[0] == "state":
                self.state = (int(f[1]), int(f[2]))
            elif f[0] == "error":
                self.error = (f[1], f[2], f[3])

    def __repr__(self):
        return f"rc={self.rc} out={self.out!r} err={self.err[-500:]!r}"


def probe(kind, url, password=None, plan=None, state=None, out=None, ca=None, timeout_ms=5000,
          user="tester", extra=()):
    env = dict(os.environ, NT_TEST_PASSWORD=password if password is not None else "s3cret-pass")
    cmd = [PROBE, "--kind", kind, "--url", url, "--user", user, "--password-env",
           "NT_TEST_PASSWORD", "--timeout-ms", str(timeout_ms), *extra]
    if plan is not None:
        cmd += ["--plan", plan]
    if state is not None:
        cmd += ["--state", f"{state[0]}:{state[1]}"]
    if out is not None:
        cmd += ["--out", out]
    if ca is not None:
        cmd += ["--ca-file", ca]
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    # Under ASan/UBSan a report ends the probe with another status, or
    # leaves its text on stderr.
    check(f"probe {kind} {url}: clean exit", p.returncode in (0, 2) and
          "Sanitizer" not in p.stderr and "runtime error" not in p.stderr,
          f"rc={p.returncode} {p.stderr[-2000:]}")
    return Session(p, time.monotonic() - t)


def imap_url(port, mailbox="INBOX", host="127.0.0.1", scheme="imap"):
    return f"{scheme}://{host}:{port}/{mailbox}"


def make_message(i, size=0):
    """A CRLF message whose body holds lines that look like protocol."""
    lines = [f"From: Lead {i} <lead{i}@example.com>",
             "To: hello@northwind.example",
             f"Subject: message {i}",
             f"Message-ID: <m{i}.{time.time_ns()}@example.com>",
             "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8",
             "",
             f"Body of message {i}, caf\u00e9.",
             "nt3 OK [READ-WRITE] not a reply",
             "* 1 FETCH (UID 1 BODY[] {5}",
             ".a line that starts with a dot",
             "..and one with two",
             ".",
             "From the start of a line",
             "x" * 5000]
    while size and sum(len(x) + 2 for x in lines) < size:
        lines.append("filler " + "y" * 990)
    return ("\r\n".join(lines) + "\r\n").encode()


def seed(dc, n, big_first=False):
    msgs = []
    for i in range(n):
        raw = make_message(i, size=300_000 if big_first and i == 0 else 0)
        dc.seed(raw, name=f"{1700000000 + i}.M{i}P1.nt-test")
        msgs.append(raw)
    return msgs


def message_ids(dc):
    """Message-ID -> how many copies, over every folder."""
    c = collections.Counter()
    for folder in dc.folders():
        for _, raw in dc.list_folder(folder):
            c[email.message_from_bytes(raw)["Message-ID"]] += 1
    return c


def all_once(dc, msgs, what):
    ids = message_ids(dc)
    want = collections.Counter(email.message_from_bytes(m)["Message-ID"] for m in msgs)
    check(f"{what}: every message is in some folder, exactly once", ids == want,
          f"{dict(ids)} {dc.count_all()}")


def flags_of(name):
    return name.split(":2,", 1)[1] if ":2," in name else ""


def stopped(dc_pgid, what):
    try:
        os.killpg(dc_pgid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    check(f"{what}: no Dovecot process left", not alive)


def read_saved(out, n):
    return [open(os.path.join(out, f"{i}.eml"), "rb").read() for i in range(n)]


# --- the tests ------------------------------------------------------------


def test_session_and_state(work):
    with Dovecot() as dc:
        pgid = dc.pgid
        msgs = seed(dc, 5, big_first=True)
        url = imap_url(dc.imap_port)
        out = tempfile.mkdtemp(dir=work)
        s = probe("imap", url, plan="PPFUP", out=out)
        check("session: ok", s.rc == 0 and s.error is None, s)
        check("session: 5 listed", s.count == 5 and len(s.keys) == 5, s)
        uv = s.state[0] if s.state else 0
        check("session: keys are imap:<uidvalidity>:<uid>, UIDs ascending",
              all(k == f"imap:{uv}:{u}" for k, u in zip(s.keys, s.uids)) and
              s.uids == sorted(s.uids) and uv > 0, s.keys)
        check("session: 4 finished as planned",
              s.finished == {0: "P", 1: "P", 3: "U", 4: "P"}, s.finished)
        check("session: state stops below the unfinished message",
              s.state == (uv, s.uids[1]), s.state)
        got = read_saved(out, 5)
        check("session: fetched bytes are the seeded bytes", got == msgs,
              [len(g) for g in got])
        check("session: the large message came whole", s.fetched.get(0) == len(msgs[0]))
        counts = dc.count_all()
        check("session: Processed 3, Unknown 1, INBOX 1",
              counts == {"INBOX": 1, "Processed": 3, "Unknown": 1}, counts)
        inbox = dc.list_folder("INBOX")
        check("session: INBOX holds the unfinished message",
              [raw for _, raw in inbox] == [msgs[2]])
        check("session: fetching did not mark it read",
              "S" not in flags_of(inbox[0][0]), inbox[0][0])
        check("session: Unknown holds the one finished as unknown",
              [raw for _, raw in dc.list_folder("Unknown")] == [msgs[3]])
        all_once(dc, msgs, "session")

        s2 = probe("imap", url, plan="P", state=s.state)
        check("resume: only the unfinished message is offered",
              s2.rc == 0 and s2.keys == [s.keys[2]], s2)
        check("resume: last_uid passes it once finished", s2.state == (uv, s.uids[2]), s2.state)
        s3 = probe("imap", url, state=s2.state)
        check("resume: then nothing", s3.rc == 0 and s3.count == 0 and s3.state == s2.state, s3)

        # Two new ones: skip the first, finish the second; the first comes back.
        more = [make_message(10), make_message(11)]
        for i, raw in enumerate(more):
            dc.seed(raw, name=f"{1800000000 + i}.M{i}P2.nt-test")
        s4 = probe("imap", url, plan="SP", state=s3.state)
        check("skip: both new ones listed", s4.rc == 0 and s4.count == 2, s4)
        check("skip: last_uid stays below the skipped one", s4.state == s3.state, s4.state)
        s5 = probe("imap", url, plan="K", state=s4.state)
        check("skip: the skipped one is offered again, finished without a download",
              s5.rc == 0 and s5.keys == s4.keys[:1] and s5.fetched == {} and
              s5.finished == {0: "P"}, s5)
        check("skip: last_uid passes it now", s5.state == (uv, s4.uids[0]), s5.state)
        s6 = probe("imap", url, state=s5.state)
        check("skip: and the next session has nothing", s6.rc == 0 and s6.count == 0, s6)
        counts = dc.count_all()
        check("skip: INBOX empty, 6 processed, 1 unknown",
              counts == {"INBOX": 0, "Processed": 6, "Unknown": 1}, counts)
        all_once(dc, msgs + more, "skip")
    stopped(pgid, "session")


def test_uidvalidity(work):
    with Dovecot() as dc:
        pgid = dc.pgid
        msgs = seed(dc, 3)
        url = imap_url(dc.imap_port)
        s = probe("imap", url, plan="P")
        check("uidvalidity: first session", s.rc == 0 and s.state[1] == s.uids[0], s)
        dc.renumber()
        s2 = probe("imap", url, plan="", state=s.state)
        check("uidvalidity: a new UIDVALIDITY is seen",
              s2.rc == 0 and s2.state[0] != s.state[0], s2)
        check("uidvalidity: last_uid starts over and everything in INBOX is listed",
              s2.state[1] == 0 and s2.count == 2, s2)
        check("uidvalidity: keys carry the new UIDVALIDITY",
              all(k.startswith(f"imap:{s2.state[0]}:") for k in s2.keys), s2.keys)
        # State from somewhere else (a wrong UIDVALIDITY) is not trusted either.
        s3 = probe("imap", url, state=(s2.state[0] + 1, 999999))
        check("uidvalidity: a state with another UIDVALIDITY lists all",
              s3.count == 2 and s3.state == (s2.state[0], 0), s3)
        all_once(dc, msgs, "uidvalidity")
    stopped(pgid, "uidvalidity")


def test_errors(work):
    with Dovecot() as dc:
        pgid = dc.pgid
        seed(dc, 1)
        secret = "Wr0ng-Pa55word-xyzzy"
        for kind, url, name in (
                ("imap", imap_url(dc.imap_port), f"imap://127.0.0.1:{dc.imap_port}/INBOX"),
                ("pop3", f"pop3://127.0.0.1:{dc.pop3_port}", f"pop3://127.0.0.1:{dc.pop3_port}/")):
            s = probe(kind, url, password=secret)
            check(f"{kind} wrong password: refused at open as a configuration error",
                  s.rc == 2 and s.error and s.error[:2] == ("open", "NT_ECONFIG"), s)
            msg = s.error[2] if s.error else ""
            check(f"{kind} wrong password: the message names the server and the step",
                  msg.startswith(f"{name}: login failed: ") and "uthentication failed" in msg,
                  msg)
            check(f"{kind} wrong password: the password appears nowhere",
                  secret not in s.out and secret not in s.err)
        s = probe("imap", imap_url(dc.imap_port, "Nope"))
        check("no such mailbox: NT_ECONFIG naming SELECT",
              s.error and s.error[1] == "NT_ECONFIG" and "SELECT Nope: the server said NO" in
              s.error[2], s)
        s = probe("imap", imap_url(dc.imap_port), extra=("--processed", "inbox"))
        check("processed folder = the mailbox: refused",
              s.error and s.error[1] == "NT_ECONFIG" and "is the mailbox being read" in
              s.error[2], s)
        s = probe("imap", imap_url(dc.imap_port), user="nobody-here")
        check("unknown user: login failed", s.error and "login failed" in s.error[2], s)
        counts = dc.count_all()
        check("errors: nothing moved", counts == {"INBOX": 1}, counts)
    stopped(pgid, "errors")
    # Nothing listens there any more.
    s = probe("imap", imap_url(dc.imap_port), timeout_ms=2000)
    check("server down: NT_EIO at connect",
          s.error and s.error[:2] == ("open", "NT_EIO") and "connect" in s.error[2], s)


def test_pop3(work):
    with Dovecot() as dc:
        pgid = dc.pgid
        msgs = seed(dc, 4, big_first=True)
        url = f"pop3://127.0.0.1:{dc.pop3_port}"
        out = tempfile.mkdtemp(dir=work)
        s = probe("pop3", url, out=out, plan="PUFK")
        check("pop3: ok", s.rc == 0 and s.count == 4, s)
        check("pop3: keys are pop3:<uidl>, distinct",
              all(re.fullmatch(r"pop3:[\x21-\x7e]+", k) for k in s.keys) and
              len(set(s.keys)) == 4, s.keys)
        check("pop3: message numbers 1..4", s.uids == [1, 2, 3, 4], s.uids)
        got = read_saved(out, 3)
        check("pop3: fetched bytes (dot-stuffing undone) are the seeded bytes",
              sorted(got) == sorted(msgs[:3]), [len(g) for g in got])
        check("pop3: finishing is accepted and does nothing",
              s.finished == {0: "P", 1: "U", 3: "P"} and s.state == (0, 0), s)
        s2 = probe("pop3", url)
        check("pop3: the same keys in the next session", s2.keys == s.keys, (s.keys, s2.keys))
        counts = dc.count_all()
        check("pop3: nothing deleted, nothing moved", counts == {"INBOX": 4}, counts)
        all_once(dc, msgs, "pop3")
        i = probe("imap", imap_url(dc.imap_port))
        check("pop3 and imap see the same messages", i.count == 4, i)
    stopped(pgid, "pop3")


def test_drops(work):
    """A connection broken at the worst moments loses nothing."""
    cases = [
        ("before the 3rd FETCH", dict(cut_before=(b"UID FETCH", 3)), "fetch", 2),
        ("after the 2nd MOVE reached the server", dict(cut_after=(b"UID MOVE", 2)), "finish", 1),
        ("in the middle of the large message", dict(cut_reply=(b"UID FETCH", 1, 4000)), "fetch", 0),
    ]
    for what, rule, step, finished in cases:
        with Dovecot() as dc:
            pgid = dc.pgid
            msgs = seed(dc, 5, big_first=True)
            with Proxy(("127.0.0.1", dc.imap_port), **rule) as px:
                s = probe("imap", imap_url(px.port), plan="PPPPP")
            check(f"drop {what}: the rule fired", px.fired == 1, px.fired)
            check(f"drop {what}: NT_EIO at {step}",
                  s.rc == 2 and s.error and s.error[:2] == (step, "NT_EIO"), s)
            check(f"drop {what}: the message says which command",
                  s.error and re.search(r"UID (FETCH|MOVE) \d+", s.error[2]), s.error)
            check(f"drop {what}: {finished} finished before it",
                  len(s.finished) == finished, s.finished)
            want = (s.state[0], s.uids[finished - 1] if finished else 0)
            check(f"drop {what}: last_uid covers only what was finished", s.state == want,
                  (s.state, want))
            all_once(dc, msgs, f"drop {what}")
            s2 = probe("imap", imap_url(dc.imap_port), plan="PPPPP", state=s.state)
            check(f"drop {what}: the next session finishes the rest", s2.rc == 0, s2)
            counts = dc.count_all()
            check(f"drop {what}: all 5 processed in the end",
                  counts == {"INBOX": 0, "Processed": 5}, counts)
            all_once(dc, msgs, f"drop {what}, after the next session")
        stopped(pgid, f"drop {what}")

    with Dovecot() as dc:
        pgid = dc.pgid
        msgs = seed(dc, 2)
        with Proxy(("127.0.0.1", dc.imap_port), stall_after=(b"UID FETCH", 1)) as px:
            s = probe("imap", imap_url(px.port), plan="PP", timeout_ms=1000)
        check("stall: NT_EIO after the timeout",
              s.error and s.error[:2] == ("fetch", "NT_EIO") and "1000 ms" in s.error[2], s)
        check("stall: gave up in about a second", s.elapsed < 4, s.elapsed)
        with Proxy(("127.0.0.1", dc.pop3_port), cut_reply=(b"RETR", 1, 200)) as px:
            s = probe("pop3", f"pop3://127.0.0.1:{px.port}")
        check("pop3 drop in RETR: NT_EIO at fetch",
              s.error and s.error[:2] == ("fetch", "NT_EIO") and "RETR 1" in s.error[2], s)
        all_once(dc, msgs, "stall")
    stopped(pgid, "stall")


def test_too_large(work):
    """A message over the 64 MiB limit is not downloaded into memory; the
    session goes on, and the message can still be finished (into Unknown)."""
    with Dovecot() as dc:
        pgid = dc.pgid
        big = make_message(0) + b"z" * (65 << 20) + b"\r\n"
        dc.seed(big, name="1700000000.M0P1.nt-test")
        small = make_message(1)
        dc.seed(small, name="1700000001.M1P1.nt-test")
        out = tempfile.mkdtemp(dir=work)
        s = probe("imap", imap_url(dc.imap_port), plan="UP", out=out, timeout_ms=20000)
        check("too large: NT_ELIMIT for it, the session goes on",
              s.rc == 0 and s.skipped.get(0, ("",))[0] == "NT_ELIMIT" and s.fetched.get(1) ==
              len(small), s)
        check("too large: nothing of it was saved, the next message is whole",
              not os.path.exists(os.path.join(out, "0.eml")) and
              open(os.path.join(out, "1.eml"), "rb").read() == small)
        check("too large: both finished", s.finished == {0: "U", 1: "P"}, s.finished)
        counts = dc.count_all()
        check("too large: it went to Unknown, untouched",
              counts == {"INBOX": 0, "Processed": 1, "Unknown": 1} and
              len(dc.list_folder("Unknown")[0][1]) == len(big), counts)
        p = probe("pop3", f"pop3://127.0.0.1:{dc.pop3_port}", timeout_ms=20000)
        check("too large: POP3 has nothing left in INBOX", p.rc == 0 and p.count == 0, p)
    stopped(pgid, "too large")


def test_tls(work):
    with Dovecot(tls=True) as dc:
        pgid = dc.pgid
        seed(dc, 1)
        for label, url in (
                ("imap STARTTLS", imap_url(dc.imap_port)),
                ("imaps", imap_url(dc.imaps_port, scheme="imaps")),
                ("pop3 STLS", f"pop3://127.0.0.1:{dc.pop3_port}"),
                ("pop3s", f"pop3s://127.0.0.1:{dc.pop3s_port}")):
            kind = "pop3" if url.startswith("pop3") else "imap"
            s = probe(kind, url, ca=dc.ca_file)
            check(f"{label}: with the test CA", s.rc == 0 and s.count == 1, s)
            s = probe(kind, url)
            check(f"{label}: an untrusted certificate is refused",
                  s.error and s.error[:2] == ("open", "NT_ECONFIG") and "TLS:" in s.error[2], s)
        logins = [ln for ln in dc.log_tail(200).splitlines() if "Login: user=<tester>" in ln]
        check("tls: every login went over TLS", logins and all(", TLS," in ln for ln in logins),
              logins)
        # 127.0.0.2 is not one of the names that may go without TLS: STARTTLS
        # is required, and used.
        with Proxy(("127.0.0.1", dc.imap_port), listen_host="127.0.0.2") as px:
            s = probe("imap", imap_url(px.port, host="127.0.0.2"), ca=dc.ca_file)
        check("tls: 127.0.0.2 with STARTTLS", s.rc == 0 and s.count == 1, s)
    stopped(pgid, "tls")

    with Dovecot() as dc:  # no TLS at all
        pgid = dc.pgid
        with Proxy(("127.0.0.1", dc.imap_port), listen_host="127.0.0.2") as px:
            s = probe("imap", imap_url(px.port, host="127.0.0.2"))
        check("no STARTTLS on a host that needs it: refused",
              s.error and s.error[:2] == ("open", "NT_ECONFIG") and "STARTTLS" in s.error[2], s)
        check("no STARTTLS: no login was attempted",
              "Login: user=<tester>" not in dc.log_tail(200) and
              "auth failed" not in dc.log_tail(200))
        with Proxy(("127.0.0.1", dc.pop3_port), listen_host="127.0.0.2") as px:
            s = probe("pop3", f"pop3://127.0.0.2:{px.port}")
        check("pop3 without STLS on a host that needs it: refused",
              s.error and s.error[1] == "NT_ECONFIG" and "STARTTLS" in s.error[2], s)
    stopped(pgid, "no tls")


def test_without_move(work):
    caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE UIDPLUS CHILDREN"
    with Dovecot(imap_capability=caps) as dc:
        pgid = dc.pgid
        msgs = seed(dc, 3)
        url = imap_url(dc.imap_port)
        s = probe("imap", url, plan="PUF")
        check("no MOVE: ok", s.rc == 0 and s.finished == {0: "P", 1: "U"}, s)
        counts = dc.count_all()
        check("no MOVE: copies in the folders, the originals stay",
              counts == {"INBOX": 3, "Processed": 1, "Unknown": 1}, counts)
        inbox = dc.list_folder("INBOX")
        kw = open(os.path.join(dc.maildir, "dovecot-keywords")).read() \
            if os.path.exists(os.path.join(dc.maildir, "dovecot-keywords")) else ""
        seen = [n for n, raw in inbox if "S" in flags_of(n) and raw in msgs[:2]]
        check("no MOVE: the finished originals are \\Seen and $Processed",
              len(seen) == 2 and "$Processed" in kw and
              all(re.search(r"[a-z]", flags_of(n)) for n in seen), (inbox, kw))
        s2 = probe("imap", url, plan="P", state=s.state)
        check("no MOVE: the next session offers only the unfinished one",
              s2.keys == [s.keys[2]], s2)
        s3 = probe("imap", url)
        check("no MOVE: even without state, flagged originals are not listed again",
              s3.count == 0, s3)
        counts = dc.count_all()
        check("no MOVE: nothing deleted",
              counts == {"INBOX": 3, "Processed": 2, "Unknown": 1}, counts)
    stopped(pgid, "no move")


def main():
    work = tempfile.mkdtemp(prefix="nt-e2e-mailbox-")
    t0 = time.monotonic()
    try:
        for test in (test_session_and_state, test_uidvalidity, test_errors, test_pop3,
                     test_drops, test_too_large, test_tls, test_without_move):
            t = time.monotonic()
            before = failed
            test(work)
            print(f"{'ok  ' if failed == before else 'FAIL'} {test.__name__} "
                  f"({time.monotonic() - t:.1f} s)", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} checks, {failed} failed ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
