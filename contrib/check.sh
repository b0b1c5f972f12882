#!/usr/bin/env bash
# Install the dependencies, build nurture twice (plain with warnings as
# errors, and with AddressSanitizer + UndefinedBehaviorSanitizer), run the
# whole test suite under ctest in both builds, and run each libFuzzer target
# briefly.  This is what CI runs (.ci/run).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${NT_FUZZ_SECONDS:-15}

"$top/contrib/install-deps.sh"

echo "== build (warnings as errors)"
cmake -S . -B build -DNT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DNT_WERROR=ON -DNT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under sanitizers"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs")

if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzzing each target for ${fuzz_seconds}s (clang, libFuzzer)"
  CC=clang cmake -S . -B build-fuzz -DNT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j "$jobs" --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
  for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    log=$(mktemp)
    status=0
    # Seeds larger than max_len (the 1 MiB pathological messages) are
    # replayed whole by ctest; here they are cut, so mutation stays fast.
    ./build-fuzz/tests/"$name" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 "$work" >"$log" 2>&1 || status=$?
    echo "$name: $(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions"
    if [ "$status" -ne 0 ]; then
      tail -n 60 "$log"
      echo "fuzz: $name failed (exit $status)"; exit 1
    fi
    rm -rf "$work" "$log"
  done
fi
echo "== all checks passed"
