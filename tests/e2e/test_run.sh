#!/usr/bin/env bash
# nurture run against a real SMTP server on 127.0.0.1: see test_run.py.
exec /usr/bin/python3 "$(dirname "$0")/test_run.py"
