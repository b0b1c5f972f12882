#!/usr/bin/python3
"""A TCP proxy that breaks connections on purpose, for nurture's tests.

It listens on a loopback address, forwards every connection to a target,
and, when a rule fires, cuts the connection (both sides closed at once, as
when a network path dies) or stalls it (nothing forwarded any more, the
sockets left open, as when a server hangs).  Rules look at what the client
sends, so a test can say "cut when the client sends its 3rd UID FETCH".
Every connection gets its own count; only the first `connections` (default
every) connection is broken.

As a module:

    from tcpproxy import Proxy
    with Proxy(("127.0.0.1", dovecot_port), cut_before=(b"UID FETCH", 3)) as px:
        url = f"imap://127.0.0.1:{px.port}/INBOX"
        ...
        px.fired        # how many times a rule fired

Rules (give one):
    cut_before=(PATTERN, N)    cut when the client's Nth PATTERN arrives,
                               without forwarding it: the server never sees
                               that command
    cut_after=(PATTERN, N)     forward the client's Nth PATTERN, then cut when
                               the server answers, without passing the
                               answer on: the server did the work, the
                               client never learns it
    cut_reply=(PATTERN, N, K)  after the client's Nth PATTERN, pass K more
                               bytes of the server's answer on, then cut (a
                               connection lost in the middle of a transfer)
    stall_after=(PATTERN, N)   after the client's Nth PATTERN, forward
                               nothing more in either direction

listen_host may be any loopback address (127.0.0.2 makes a host that is
not "127.0.0.1" for tests of rules about loopback names).

As a script:

    /usr/bin/python3 tests/e2e/tcpproxy.py --target 127.0.0.1:1143 \\
        --cut-before 'UID FETCH' 3 --ready-file /tmp/x/port
    # writes the port into the file once listening; SIGTERM stops it
"""

import argparse
import os
import signal
import socket
import sys
import threading


class Proxy:
    def __init__(self, target, listen_host="127.0.0.1", cut_before=None, cut_after=None,
                 cut_reply=None, stall_after=None, connections=None):
        self.target = target
        self.rule = None
        for name, value in (("cut_before", cut_before), ("cut_after", cut_after),
                            ("cut_reply", cut_reply), ("stall_after", stall_after)):
            if value is not None:
                self.rule = (name, value)
        self.connections = connections
        self.fired = 0
        self.accepted = 0
        self.lock = threading.Lock()
        self.socks = []
        self.closing = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((listen_host, 0))
        self.listener.listen(16)
        self.host = listen_host
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self.closing = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            kill(s)

    def _accept(self):
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                number = self.accepted
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                kill(client)
                continue
            with self.lock:
                self.socks += [client, server]
            breakable = self.connections is None or number <= self.connections
            Link(self, client, server, self.rule if breakable else None).start()


def kill(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class Link:
    """One proxied connection: two pumps and the rule's state."""

    def __init__(self, proxy, client, server, rule):
        self.proxy = proxy
        self.client = client
        self.server = server
        self.rule = rule
        self.seen = 0          # occurrences of the pattern from the client
        self.tail = b""        # end of the client's last chunk (patterns across chunks)
        self.armed = False     # cut_after / cut_reply: the next answers are counted
        self.reply_left = None
        self.stalled = False
        self.cond = threading.Condition()

    def start(self):
        threading.Thread(target=self._pump_client, daemon=True).start()
        threading.Thread(target=self._pump_server, daemon=True).start()

    def _cut(self):
        with self.proxy.lock:
            self.proxy.fired += 1
        kill(self.client)
        kill(self.server)

    def _stall(self):
        with self.proxy.lock:
            self.proxy.fired += 1
        self.stalled = True

    def _count(self, data):
        """How many times the pattern completes in this chunk."""
        pattern = self.rule[1][0]
        buf = self.tail + data
        count = buf.count(pattern) - self.tail.count(pattern)
        self.tail = buf[-(len(pattern) - 1):] if len(pattern) > 1 else b""
        return count

    def _pump_client(self):
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                if self.stalled:
                    continue
                if self.rule and not self.armed:
                    name, args = self.rule
                    before = self.seen
                    self.seen += self._count(data)
                    if before < args[1] <= self.seen:
                        if name == "cut_before":
                            self._cut()
                            return
                        if name == "stall_after":
                            self._stall()
                            continue
                        self.armed = True
                        self.reply_left = args[2] if name == "cut_reply" else 0
                self.server.sendall(data)
        except OSError:
            pass
        kill(self.server)

    def _pump_server(self):
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                if self.stalled:
                    continue
                if self.armed:
                    if len(data) >= self.reply_left:
                        if self.reply_left:
                            self.client.sendall(data[:self.reply_left])
                        self._cut()
                        return
                    self.reply_left -= len(data)
                self.client.sendall(data)
        except OSError:
            pass
        kill(self.client)


def main():
    p = argparse.ArgumentParser(prog="tcpproxy.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", required=True, metavar="HOST:PORT")
    p.add_argument("--listen-host", default="127.0.0.1")
    p.add_argument("--ready-file", metavar="PATH",
                   help="write the port into PATH (atomically) once listening")
    p.add_argument("--connections", type=int, help="break only the first N connections")
    for flag in ("--cut-before", "--cut-after", "--stall-after"):
        p.add_argument(flag, nargs=2, metavar=("PATTERN", "N"))
    p.add_argument("--cut-reply", nargs=3, metavar=("PATTERN", "N", "BYTES"))
    a = p.parse_args()
    host, _, port = a.target.rpartition(":")
    kw = {}
    for name in ("cut_before", "cut_after", "stall_after"):
        v = getattr(a, name)
        if v:
            kw[name] = (v[0].encode(), int(v[1]))
    if a.cut_reply:
        kw["cut_reply"] = (a.cut_reply[0].encode(), int(a.cut_reply[1]), int(a.cut_reply[2]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Proxy((host, int(port)), listen_host=a.listen_host, connections=a.connections,
               **kw) as px:
        print(px.port, flush=True)
        if a.ready_file:
            tmp = a.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{px.port}\n")
            os.replace(tmp, a.ready_file)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
