#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the whole test suite, as CI does: installs what is missing, then
#   0. clang-format    every tracked C file matches .clang-format
#   1. build/ci-plain  gcc, -Werror: unit tests (also under valgrind), fuzz
#                      regression replays and integration tests against a
#                      private RabbitMQ node
#   2. build/ci-asan   the same suite under AddressSanitizer + UBSan
#   3. build/ci-tsan   the same suite under ThreadSanitizer (each worker
#                      has a keeper thread beside its main thread); a race that
#                      any rpcd process reports in its log fails the suite
#   4. build/ci-fuzz   clang libFuzzer targets, each run for a bounded time
#                      (RPCD_FUZZ_SECONDS, default 60; 0 skips)
# and ends with one line: "N passed, N failed".
#
#   tools/run-tests.sh [--no-asan] [--no-tsan] [--no-fuzz]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
fuzz_seconds=${RPCD_FUZZ_SECONDS:-60}
run_asan=1
run_tsan=1
for arg in "$@"; do
  case "$arg" in
  --no-asan) run_asan=0 ;;
  --no-tsan) run_tsan=0 ;;
  --no-fuzz) fuzz_seconds=0 ;;
  *)
    sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
  esac
done

if ! "$root/tools/install-deps.sh" --test; then
  echo "== could not install the dependencies"
  echo "0 passed, 1 failed"
  exit 1
fi

total_passed=0
total_failed=0

# run_suite NAME BUILD_DIR CMAKE_ARGS...
run_suite() {
  local name=$1 dir=$2 log
  shift 2
  log="$dir/ctest.log"
  echo "== $name: configure and build ($dir)"
  mkdir -p "$dir"
  if ! cmake -S "$root" -B "$dir" "$@" >"$dir/configure.log" 2>&1 ||
    ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    tail -n 40 "$dir/configure.log" "$dir/build.log" 2>/dev/null
    echo "== $name: build failed"
    total_failed=$((total_failed + 1))
    return
  fi
  echo "== $name: ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600) 2>&1 |
    tee "$log"
  # "100% tests passed, 0 tests failed out of 42"
  local line passed failed all
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "== $name: ctest printed no summary"
    total_failed=$((total_failed + 1))
    return
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  all=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((all - failed))
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

echo "== clang-format"
if (cd "$root" && find common core sdk plugins include tools tests fuzz bench \
  -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror); then
  total_passed=$((total_passed + 1))
else
  echo "== clang-format: files differ from .clang-format (run clang-format -i)"
  total_failed=$((total_failed + 1))
fi

run_suite "plain build" "$root/build/ci-plain" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRPCD_VALGRIND=ON

if [ "$run_asan" = 1 ]; then
  run_suite "asan+ubsan build" "$root/build/ci-asan" -DCMAKE_BUILD_TYPE=Debug \
    -DRPCD_SANITIZE=ON
fi

if [ "$run_tsan" = 1 ]; then
  rm -f "$root"/build/ci-tsan/tests/integration/*.log
  run_suite "tsan build" "$root/build/ci-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRPCD_TSAN=ON
  # Workers are separate processes: their reports land in their logs, not
  # in any test's exit status.
  races=$(grep -l 'WARNING: ThreadSanitizer' \
    "$root"/build/ci-tsan/tests/integration/*.log 2>/dev/null)
  if [ -n "$races" ]; then
    for f in $races; do
      echo "== ThreadSanitizer report in $f:"
      grep -A 30 'WARNING: ThreadSanitizer' "$f" | head -n 60
    done
    total_failed=$((total_failed + 1))
  else
    total_passed=$((total_passed + 1))
  fi
fi

if [ "$fuzz_seconds" -gt 0 ]; then
  run_suite "fuzz ($fuzz_seconds s per target)" "$root/build/ci-fuzz" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DRPCD_SANITIZE=ON \
    -DRPCD_BUILD_FUZZERS=ON -DRPCD_FUZZ_SECONDS="$fuzz_seconds" \
    -DBUILD_TESTING=OFF
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
