#!/usr/bin/env bash
# Install the dependencies, build nurture, and run its main job on a demo:
# a working folder made by `nurture init` (embedded SQLite, the example
# campaigns), sixteen demo leads in eight time zones, the campaign linter,
# the plan for the next two weeks, and a preview of the first email.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/contrib/install-deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target nurture-bin
nurture="$top/build/nurture"

demo=${NT_DEMO_DIR:-"$top/build/demo"}
rm -rf "$demo"
"$nurture" init --timezone America/New_York "$demo"
cd "$demo"
export NURTURE_CONFIG="$demo/nurture.yaml"
now=${NT_DEMO_NOW:-2026-11-23T13:00:00Z}

echo; echo "== nurture campaign lint"
"$nurture" campaign lint
echo; echo "== nurture lead import contrib/demo/leads.csv"
"$nurture" lead import "$top/contrib/demo/leads.csv"
echo; echo "== nurture lead list --stage lead"
"$nurture" lead list --stage lead
echo; echo "== nurture plan --at $now   (what a run now would send)"
"$nurture" plan --at "$now"
echo; echo "== nurture plan --at $now --until +14d --campaign welcome   (the next two weeks)"
"$nurture" plan --at "$now" --until +14d --campaign welcome | head -n 40
echo; echo "== nurture preview welcome 1 ana.lima@harbor.example"
"$nurture" preview --at "$now" welcome 1 ana.lima@harbor.example
echo
echo "The demo folder is $demo; try: NURTURE_CONFIG=$demo/nurture.yaml $nurture --help"
