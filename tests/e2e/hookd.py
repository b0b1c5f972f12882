#!/usr/bin/env python3
"""A webhook receiver for the end-to-end tests (Python standard library only).

Listens on 127.0.0.1 (port 0 = any free port; give --port to come back on
the same one after a restart), writes its port into the --ready file once
it accepts connections, and answers each POST:

  500  for the first --fail-first requests of this process (a failing endpoint);
  401  when the signature does not verify (paths under --unsigned-prefix
       must carry none instead);
  200  otherwise.  A key it accepted before (also in an earlier process:
       the log is read back at start) is answered 200 again, as a receiver
       should, and logged as a duplicate.

Every request is appended to the --log file as one JSON object per line:
  {"n", "path", "headers", "body", "status", "signature_ok", "duplicate"}
signature_ok is true when X-Nurture-Signature equals
"sha256=" + hex HMAC-SHA256(secret, "<X-Nurture-Timestamp>.<body>"), with
the secret from the environment variable named by --secret-env; for an
unsigned path it is true when the header is absent.

Stops cleanly on SIGTERM or SIGINT.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import signal
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ready", required=True, help="file to write the port into")
    p.add_argument("--log", required=True, help="JSON lines log of requests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--secret-env", default="HOOKD_SECRET")
    p.add_argument("--unsigned-prefix", default=None)
    return p.parse_args()


def main():
    args = parse_args()
    secret = os.environ.get(args.secret_env, "").encode()
    accepted = set()
    if os.path.exists(args.log):
        with open(args.log, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec["status"] == 200 and not rec["duplicate"]:
                    accepted.add(rec["headers"].get("Idempotency-Key"))
    state = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):  # quiet: the JSON log says it all
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state["n"] += 1
            headers = {k: v for k, v in self.headers.items()}
            sig = self.headers.get("X-Nurture-Signature")
            unsigned = args.unsigned_prefix and self.path.startswith(args.unsigned_prefix)
            if unsigned:
                sig_ok = sig is None
            else:
                ts = self.headers.get("X-Nurture-Timestamp", "")
                want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                sig_ok = bool(secret) and sig is not None and hmac.compare_digest(sig, want)
            key = self.headers.get("Idempotency-Key")
            duplicate = False
            if state["n"] <= args.fail_first:
                status, text = 500, "temporarily failing\nsecond line"
            elif not sig_ok:
                status, text = 401, "bad signature"
            elif key in accepted:
                status, text, duplicate = 200, "duplicate", True
            else:
                accepted.add(key)
                status, text = 200, "ok"
            rec = {
                "n": state["n"],
                "path": self.path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
                "status": status,
                "signature_ok": sig_ok,
                "duplicate": duplicate,
            }
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.ready)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
