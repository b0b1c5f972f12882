#!/usr/bin/env bash
# The sales hand-off over five simulated days: see test_handoff.py.
exec /usr/bin/python3 "$(dirname "$0")/test_handoff.py"
