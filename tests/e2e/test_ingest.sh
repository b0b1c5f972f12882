#!/usr/bin/env bash
# nurture ingest against a real Dovecot and SMTP server on 127.0.0.1: see test_ingest.py.
exec /usr/bin/python3 "$(dirname "$0")/test_ingest.py"
