#!/usr/bin/python3
"""A real SMTP server for nurture's tests, built on aiosmtpd.

Listens on 127.0.0.1 (by default), accepts mail, and writes every accepted
message once per recipient into a folder, so that a test can count what
arrived (duplicates show up as .2.eml, .3.eml...) and parse it back.  Flags
make it refuse chosen recipients, drop the connection, stall, offer
STARTTLS or require AUTH.  Run it with /usr/bin/python3 (Debian's
python3-aiosmtpd).  SIGTERM or SIGINT stops it cleanly (exit status 0).

Dump folder (--dump DIR):
  DIR/<rcpt>.<n>.eml   the message exactly as received (after dot-unstuffing,
                       CRLF line ends), one file per accepted recipient;
                       <rcpt> is the address with characters other than
                       [A-Za-z0-9@._+-] replaced by '_', n counts from 1 per
                       recipient: a second copy to the same address is
                       <rcpt>.2.eml.  Written to a temporary name and linked
                       into place, so a file that exists is complete.
  DIR/log.jsonl        one JSON object per line and event, in order:
                       {"ev": "connect", "conn": 1, "peer": "127.0.0.1"}
                       {"ev": "ehlo", "conn": 1, "name": "client.example"}
                       {"ev": "starttls", "conn": 1}
                       {"ev": "auth", "conn": 1, "mech": "PLAIN",
                        "user": "ana", "ok": true}          (never the password)
                       {"ev": "mail", "conn": 1, "from": "b+x@example.com",
                        "code": 250}
                       {"ev": "rcpt", "conn": 1, "to": "a@example.com", "code": 250}
                       {"ev": "data", "conn": 1, "from": ..., "to": [...],
                        "code": 250, "size": 4096, "files": ["a@example.com.1.eml"]}
                       {"ev": "drop", "conn": 1, "to": [...]}  (--drop-in-data)
                       {"ev": "disconnect", "conn": 1}
                       Every RCPT attempt is logged, refused ones included, so
                       a test can count how often a recipient was tried.

Reply rules (--reject-rcpt, --reject-mail, --reject-data, --drop-in-data)
take a Python regular expression that must match the WHOLE address,
case-insensitively.  The first matching rule wins.

Example:
  /usr/bin/python3 tests/e2e/smtpd.py --port 0 --dump /tmp/mail \\
      --reject-rcpt 'bad.*=550 5.1.1 No such user' \\
      --reject-rcpt 'slow.*=451 4.3.0 Try later' --ready-file /tmp/mail/port
"""

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import ssl
import sys
import tempfile

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_rule(text, what):
    """'REGEX=CODE TEXT' -> (compiled regex, 'CODE TEXT')."""
    regex, sep, reply = text.rpartition("=")
    if not sep or not re.match(r"^[245]\d\d( |$)", reply):
        raise argparse.ArgumentTypeError(
            f"{what} must look like 'REGEX=CODE TEXT', e.g. 'bad.*=550 5.1.1 No such user'")
    try:
        return re.compile(regex, re.IGNORECASE), reply
    except re.error as e:
        raise argparse.ArgumentTypeError(f"{what}: bad regular expression: {e}")


def parse_regex(text):
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"bad regular expression: {e}")


def sender_of(address):
    """aiosmtpd keeps the brackets of the null sender: log it as ""."""
    return "" if address == "<>" else address


def safe_name(addr):
    return (re.sub(r"[^A-Za-z0-9@._+-]", "_", addr) or "_")[:200]


class Log:
    def __init__(self, path, verbose):
        self.f = open(path, "a", encoding="utf-8") if path else None
        self.verbose = verbose

    def __call__(self, **ev):
        line = json.dumps(ev, sort_keys=False)
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()
        if self.verbose:
            print(line, file=sys.stderr, flush=True)


class Handler:
    def __init__(self, args, log):
        self.a = args
        self.log = log
        self.seq = itertools.count(1)

    async def pause(self, seconds):
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await self.pause(self.a.delay)
        session.host_name = hostname
        self.log(ev="ehlo", conn=server.nt_conn, name=hostname)
        if not self.a.auth:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        extra = []
        if not self.a.no_pipelining:
            extra.append("250-PIPELINING")
        if not self.a.no_enhanced:
            extra.append("250-ENHANCEDSTATUSCODES")
        return responses[:1] + extra + responses[1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self.pause(self.a.delay)
        sender = sender_of(address)
        for rx, reply in self.a.reject_mail:
            if rx.fullmatch(sender):
                self.log(ev="mail", conn=server.nt_conn, **{"from": sender},
                         code=int(reply[:3]))
                return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        self.log(ev="mail", conn=server.nt_conn, **{"from": sender}, code=250)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self.pause(self.a.delay)
        for rx, reply in self.a.reject_rcpt:
            if rx.fullmatch(address):
                self.log(ev="rcpt", conn=server.nt_conn, to=address, code=int(reply[:3]))
                return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self.log(ev="rcpt", conn=server.nt_conn, to=address, code=250)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        await self.pause(self.a.delay + self.a.delay_data)
        rcpts = list(envelope.rcpt_tos)
        if any(rx.fullmatch(r) for rx in self.a.drop_in_data for r in rcpts):
            self.log(ev="drop", conn=server.nt_conn, to=rcpts)
            server.transport.abort()
            # No reply, ever: connection_lost() cancels this coroutine.
            await asyncio.get_running_loop().create_future()
        for rx, reply in self.a.reject_data:
            if any(rx.fullmatch(r) for r in rcpts):
                self.log(ev="data", conn=server.nt_conn,
                         **{"from": sender_of(envelope.mail_from)},
                         to=rcpts, code=int(reply[:3]), size=len(envelope.original_content),
                         files=[])
                return reply
        files = [self.store(r, envelope.original_content) for r in rcpts]
        self.log(ev="data", conn=server.nt_conn, **{"from": sender_of(envelope.mail_from)},
                 to=rcpts,
                 code=250, size=len(envelope.original_content), files=files)
        return f"250 2.0.0 OK queued as {next(self.seq)}"

    def store(self, rcpt, content):
        if not self.a.dump:
            return None
        base = safe_name(rcpt)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.a.dump)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o644)
                f.write(content)
            for n in itertools.count(1):
                name = f"{base}.{n}.eml"
                try:
                    os.link(tmp, os.path.join(self.a.dump, name))
                    return name
                except FileExistsError:
                    continue
        finally:
            os.unlink(tmp)


class TestSMTP(SMTP):
    """aiosmtpd's server plus a connection number, a slow greeting and
    connect/disconnect events in the log."""

    counter = itertools.count(1)

    def __init__(self, handler, args, log, **kw):
        super().__init__(handler, **kw)
        self.nt_args = args
        self.nt_log = log
        self.nt_conn = None

    async def _handle_client(self):
        # Once per TCP connection (aiosmtpd makes a new session after
        # STARTTLS, so the number lives here, not in the session).
        self.nt_conn = next(TestSMTP.counter)
        peer = self.session.peer[0] if self.session.peer else None
        self.nt_log(ev="connect", conn=self.nt_conn, peer=peer)
        if self.nt_args.delay > 0:
            await asyncio.sleep(self.nt_args.delay)
        await super()._handle_client()

    async def smtp_STARTTLS(self, arg):
        self.nt_log(ev="starttls", conn=self.nt_conn)
        return await super().smtp_STARTTLS(arg)

    def connection_lost(self, error):
        if getattr(self, "nt_conn", None) is not None:
            self.nt_log(ev="disconnect", conn=self.nt_conn)
            self.nt_conn = None
        super().connection_lost(error)


def main():
    p = argparse.ArgumentParser(
        prog="smtpd.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; keep tests on loopback)")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on; 0 (default) picks a free one. The port is "
                        "printed on stdout as one line once listening")
    p.add_argument("--ready-file", metavar="PATH",
                   help="write the port number into PATH once listening (atomically)")
    p.add_argument("--dump", "--maildir", dest="dump", metavar="DIR",
                   help="write each accepted message, once per recipient, into DIR, "
                        "and the event log into DIR/log.jsonl (see above)")
    p.add_argument("--hostname", default="smtpd.test",
                   help="name in the greeting and EHLO reply (default smtpd.test)")
    p.add_argument("--reject-rcpt", action="append", default=[], metavar="REGEX=CODE TEXT",
                   type=lambda t: parse_rule(t, "--reject-rcpt"),
                   help="answer RCPT TO for matching recipients with this reply, e.g. "
                        "'bad.*=550 5.1.1 No such user' or 'slow.*=451 4.3.0 Try later' "
                        "(repeatable)")
    p.add_argument("--reject-mail", action="append", default=[], metavar="REGEX=CODE TEXT",
                   type=lambda t: parse_rule(t, "--reject-mail"),
                   help="answer MAIL FROM for matching senders with this reply (repeatable)")
    p.add_argument("--reject-data", action="append", default=[], metavar="REGEX=CODE TEXT",
                   type=lambda t: parse_rule(t, "--reject-data"),
                   help="answer the end of DATA with this reply when a recipient of the "
                        "message matches, e.g. 'spam.*=554 5.7.1 Rejected as spam' "
                        "(repeatable); the message is not stored")
    p.add_argument("--drop-in-data", action="append", default=[], metavar="REGEX",
                   type=parse_regex,
                   help="when a recipient of the message matches, abort the connection "
                        "after the message data has arrived and before replying to it: the "
                        "client never learns whether it was accepted (repeatable); the "
                        "message is not stored")
    p.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long before the greeting and before every reply to "
                        "EHLO, MAIL, RCPT and DATA (for timeout tests)")
    p.add_argument("--delay-data", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long (more) before the reply to the end of DATA only")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"),
                   help="offer STARTTLS with this PEM certificate (chain) and key")
    p.add_argument("--require-starttls", action="store_true",
                   help="refuse everything but EHLO/NOOP/QUIT/STARTTLS before TLS "
                        "(needs --starttls)")
    p.add_argument("--auth", metavar="USER:PASS",
                   help="require AUTH with these credentials before MAIL (530 otherwise); "
                        "offered also without TLS unless --auth-require-tls")
    p.add_argument("--auth-mech", default="PLAIN,LOGIN", metavar="LIST",
                   help="AUTH mechanisms to offer, comma-separated (default PLAIN,LOGIN)")
    p.add_argument("--auth-require-tls", action="store_true",
                   help="offer AUTH only after STARTTLS")
    p.add_argument("--no-pipelining", action="store_true",
                   help="do not advertise PIPELINING")
    p.add_argument("--no-enhanced", action="store_true",
                   help="do not advertise ENHANCEDSTATUSCODES (replies keep their codes)")
    p.add_argument("--verbose", action="store_true", help="also print events on stderr")
    a = p.parse_args()

    if a.require_starttls and not a.starttls:
        p.error("--require-starttls needs --starttls CERT KEY")
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
    log = Log(os.path.join(a.dump, "log.jsonl") if a.dump else None, a.verbose)

    kw = dict(hostname=a.hostname, decode_data=False, data_size_limit=64 << 20,
              timeout=60)
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.starttls[0], a.starttls[1])
        kw.update(tls_context=ctx, require_starttls=a.require_starttls)
    if a.auth:
        user, sep, password = a.auth.partition(":")
        if not sep:
            p.error("--auth must be USER:PASS")
        offered = {m.strip().upper() for m in a.auth_mech.split(",") if m.strip()}

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            login = auth_data.login.decode(errors="replace") \
                if isinstance(auth_data, LoginPassword) else None
            log(ev="auth", conn=server.nt_conn, mech=mechanism, user=login, ok=ok)
            # handled=False: aiosmtpd then answers 535 itself
            return AuthResult(success=ok, handled=False)

        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=a.auth_require_tls,
                  auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in offered])
    else:
        # Without --auth, offer no AUTH at all.
        kw.update(auth_require_tls=True, auth_exclude_mechanism=["LOGIN", "PLAIN"])

    handler = Handler(a, log)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: TestSMTP(handler, a, log, loop=loop, **kw), host=a.host, port=a.port)
        port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(port, flush=True)
        if a.ready_file:
            tmp = a.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{port}\n")
            os.replace(tmp, a.ready_file)
        await stop.wait()
        server.close()

    # aiosmtpd warns (on stderr) when AUTH is allowed without TLS; that is
    # what the tests want.
    import warnings
    warnings.simplefilter("ignore")
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
