#!/usr/bin/python3
"""A real Dovecot (IMAP and POP3) for nurture's tests, on 127.0.0.1.

Everything lives under one temporary folder: Dovecot's configuration, its
base_dir (sockets, pid file), state_dir, log, a passwd-file with one test
user, and the user's Maildir.  Dovecot runs in the foreground as a child
(its own process group), listens on two free loopback ports, and is stopped
at the end, even when the test fails: SIGTERM, then SIGKILL for the whole
group if it lingers, and stop() returns once no process of the group is
left.  Should the test process itself be killed, Dovecot gets SIGTERM from
the kernel (PR_SET_PDEATHSIG) and shuts down all the same (only the folder
stays behind then).  Nothing outside the temporary folder is read or
written apart from Dovecot's own binaries and libraries.

As a module:

    from dovecot import Dovecot
    with Dovecot() as dc:                     # or Dovecot(tls=True), see below
        dc.seed(b"From: a@example.com\\r\\n\\r\\nhi\\r\\n")   # tmp/ -> new/
        url = f"imap://127.0.0.1:{dc.imap_port}/INBOX"     # dc.pop3_port
        ... dc.user, dc.password, dc.maildir ...
        dc.list_folder("INBOX")               # [(file name, bytes), ...]
        dc.list_folder("Processed")           # [] when the folder is missing
        dc.count_all()                        # {"INBOX": 1, "Processed": 3, ...}
        dc.renumber()                         # next SELECT: a new UIDVALIDITY
    # stopped and removed here; dc.pgid was Dovecot's process group

As a script (for shell tests):

    /usr/bin/python3 tests/e2e/dovecot.py --ready-file /tmp/x/ready &
    # once /tmp/x/ready exists it holds, one per line:
    #   imap_port=N pop3_port=N user=U password=P maildir=DIR dir=DIR
    #   (and ca_file=F imaps_port=N pop3s_port=N with --tls)
    # the same lines go to stdout; SIGTERM or SIGINT stops Dovecot and
    # removes the folder (unless --keep).

TLS: Dovecot(tls=True) (or --tls) makes a self-signed certificate for
127.0.0.1, 127.0.0.2 and localhost with openssl, offers STARTTLS on both
ports, and listens for implicit TLS too (dc.imaps_port, dc.pop3s_port);
dc.ca_file is the certificate to trust.  Without it, ssl = no and plain-text
logins are allowed, which is what a loopback test wants.

Dovecot(imap_capability="IMAP4rev1 ...") replaces the capabilities IMAP
announces after login (to play a server without MOVE, say).  The per-IP
penalty after a failed login and the delay of the failure reply are off,
so tests can log in wrongly and then rightly without waiting.

Root: CI runs as root, and Dovecot never serves mail as root: a userdb
that returns uid 0 is refused ("userdb returned 0 as uid"), and mail_uid =
0 is refused by the imap and pop3 processes themselves ("Mail access not
allowed for root"), whatever first_valid_uid says.  So as root the mail
user is nobody:nogroup (mail_uid/mail_gid, first_valid_uid = 0 so that no
uid range gets in the way), the Maildir belongs to it, and seed() chowns
what it writes.  The internal and login processes run as the system's
dovecot and dovenull users, as with the Debian package; the temporary
folder is world-searchable (0755) so that they reach the sockets in
base_dir.  When not root, everything runs as the current user.
"""

import argparse
import ctypes
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def die_with_parent():
    """In the child before exec: SIGTERM when the process that started it
    ends, however it ends (a test killed by a timeout runs no cleanup)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def group_gone(pgid, wait):
    """Wait up to `wait` seconds for every process of the group to end."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mail_owner():
    """(uid, gid) that Dovecot's mail processes run as: the current user,
    or nobody:nogroup for root (Dovecot never serves mail as root)."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        uid = 65534
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = 65534
    return uid, gid


def port_open(port, greeting=True):
    """Does the port accept connections (and greet, for plain IMAP/POP3)?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if not greeting:
                return True
            s.settimeout(2)
            return s.recv(64).startswith((b"* OK", b"+OK"))
    except OSError:
        return False


class Dovecot:
    """One Dovecot instance with one user; see the module docstring."""

    def __init__(self, tls=False, user="tester", password="s3cret-pass", keep=False,
                 imap_capability=None):
        self.tls = tls
        self.imap_capability = imap_capability
        self.imaps_port = self.pop3s_port = None
        self.pgid = None
        self.user = user
        self.password = password
        self.keep = keep
        self.proc = None
        self.dir = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, attempts=5):
        self.dir = tempfile.mkdtemp(prefix="nt-dovecot-")
        try:
            self._prepare()
            # A port found free may be taken before Dovecot binds it: retry.
            for _ in range(attempts):
                ports = [free_port() for _ in range(4 if self.tls else 2)]
                if len(set(ports)) != len(ports):
                    continue
                self.imap_port, self.pop3_port = ports[:2]
                if self.tls:
                    self.imaps_port, self.pop3s_port = ports[2:]
                if self._launch():
                    return self
            raise RuntimeError("dovecot did not start:\n" + self.log_tail())
        except BaseException:
            self.stop()
            raise

    def _prepare(self):
        os.chmod(self.dir, 0o755)
        self.mail_uid, self.mail_gid = mail_owner()
        self.maildir = os.path.join(self.dir, "Maildir")
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub))
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub))
        for sub in ("home", "Maildir", "Maildir/tmp", "Maildir/new", "Maildir/cur"):
            self._own(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.ca_file = self._make_cert() if self.tls else None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            # The master ends its children on SIGTERM; make sure of it, and
            # wait until the last of them is gone.
            if not group_gone(self.proc.pid, 5):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                group_gone(self.proc.pid, 5)
            if self.proc.poll() is None:
                self.proc.wait(10)
            self.proc = None
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _launch(self):
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        out = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=die_with_parent)
        self.pgid = self.proc.pid
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if all(port_open(p, greeting=p in (self.imap_port, self.pop3_port))
                   for p in self._ports()):
                return True
            time.sleep(0.05)
        self.stop_process_only()
        return False

    def stop_process_only(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
            self.proc = None

    def _ports(self):
        return [p for p in (self.imap_port, self.pop3_port, self.imaps_port, self.pop3s_port)
                if p]

    def _make_cert(self):
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost"],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
        self.key_file = key
        return cert

    def _config(self):
        uid, gid = os.getuid(), os.getgid()
        me = pwd.getpwuid(uid).pw_name
        mygroup = grp.getgrgid(gid).gr_name
        if uid == 0:
            internal, login = "dovecot", "dovenull"
        else:
            internal = login = me
        d = self.dir
        ssl = (f"ssl = yes\nssl_cert = <{self.ca_file}\nssl_key = <{self.key_file}\n"
               if self.tls else "ssl = no\n")
        capability = (f"imap_capability = {self.imap_capability}\n"
                      if self.imap_capability else "")
        return f"""# Written by tests/e2e/dovecot.py for one test run.
base_dir = {d}/run
state_dir = {d}/state
instance_name = nt-test-{uuid.uuid4().hex[:12]}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
debug_log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once, not after the usual 2 s.
auth_failure_delay = 0
first_valid_uid = 0
first_valid_gid = 0
default_internal_user = {internal}
default_internal_group = {internal if uid == 0 else mygroup}
default_login_user = {login}
mail_location = maildir:{d}/Maildir
{capability}mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
mail_uid = {self.mail_uid}
mail_gid = {self.mail_gid}
userdb {{
  driver = static
  args = home={d}/home
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port or 0}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port or 0}
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
# No per-IP penalty after a failed login: the tests log in with a wrong
# password on purpose and then again with the right one.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""

    # -- mail --------------------------------------------------------------

    def folder_path(self, name):
        """The Maildir++ folder of an IMAP mailbox name ("INBOX" is the root)."""
        if name.upper() == "INBOX":
            return self.maildir
        return os.path.join(self.maildir, "." + name.replace("/", "."))

    def seed(self, raw, name=None):
        """Deliver raw (bytes) into INBOX the Maildir way: write under tmp/,
        then rename into new/.  Returns the file name."""
        if name is None:
            name = f"{time.time_ns()}.P{os.getpid()}Q{uuid.uuid4().hex[:8]}.nt-test"
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
            self._own(tmp, f.fileno())
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return name

    def _own(self, path, fd=None):
        if os.getuid() == 0:
            if fd is not None:
                os.fchown(fd, self.mail_uid, self.mail_gid)
            else:
                os.chown(path, self.mail_uid, self.mail_gid)

    def list_folder(self, name):
        """[(file name, bytes)] of the messages in new/ and cur/ of a folder,
        sorted by name; [] when the folder does not exist."""
        out = []
        base = self.folder_path(name)
        for sub in ("new", "cur"):
            path = os.path.join(base, sub)
            if not os.path.isdir(path):
                continue
            for fn in os.listdir(path):
                with open(os.path.join(path, fn), "rb") as f:
                    out.append((fn, f.read()))
        return sorted(out)

    def folders(self):
        """Every folder's IMAP name, INBOX first."""
        names = ["INBOX"]
        for fn in sorted(os.listdir(self.maildir)):
            if fn.startswith(".") and fn not in (".", "..") and \
                    os.path.isdir(os.path.join(self.maildir, fn, "cur")):
                names.append(fn[1:].replace(".", "/"))
        return names

    def count_all(self):
        """{folder name: number of messages} over every folder."""
        return {n: len(self.list_folder(n)) for n in self.folders()}

    def renumber(self):
        """Make Dovecot give INBOX a new UIDVALIDITY (and new UIDs), as after a
        server migration: remove its UID list and indexes.  Call it while no
        session is open."""
        for fn in os.listdir(self.maildir):
            if fn == "dovecot-uidlist" or fn.startswith("dovecot.index"):
                os.unlink(os.path.join(self.maildir, fn))

    def log_tail(self, n=40):
        text = ""
        for fn in ("dovecot.log", "dovecot.out"):
            try:
                with open(os.path.join(self.dir, fn), errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except (OSError, TypeError):
                pass
        return text


def main():
    p = argparse.ArgumentParser(prog="dovecot.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ready-file", metavar="PATH",
                   help="write the ports and paths into PATH (atomically) once Dovecot "
                        "accepts connections")
    p.add_argument("--tls", action="store_true",
                   help="offer STARTTLS with a fresh self-signed certificate (ca_file=...)")
    p.add_argument("--user", default="tester")
    p.add_argument("--password", default="s3cret-pass")
    p.add_argument("--keep", action="store_true", help="keep the folder at the end")
    a = p.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with Dovecot(tls=a.tls, user=a.user, password=a.password, keep=a.keep) as dc:
        lines = [f"imap_port={dc.imap_port}", f"pop3_port={dc.pop3_port}",
                 f"user={dc.user}", f"password={dc.password}", f"maildir={dc.maildir}",
                 f"dir={dc.dir}"]
        if dc.ca_file:
            lines += [f"ca_file={dc.ca_file}", f"imaps_port={dc.imaps_port}",
                      f"pop3s_port={dc.pop3s_port}"]
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        if a.ready_file:
            tmp = a.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, a.ready_file)
        while not stop:
            if dc.proc is None or dc.proc.poll() is not None:
                print("dovecot.py: dovecot exited:\n" + dc.log_tail(), file=sys.stderr)
                return 1
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
