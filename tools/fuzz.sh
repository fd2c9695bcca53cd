#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# run each of them for a while.
#
# usage: tools/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  per target, default 60
#   TARGET   fuzz_request, fuzz_reply, fuzz_mp_decode, fuzz_params (default: all)
#
# Each target starts from fuzz/corpus/<target>/ and fuzz/regressions/<target>/
# and keeps what it learns in build-fuzz/corpus/<target>/ for the next run
# (the committed corpus is never written). A crash, leak, timeout or
# sanitizer report leaves its input in build-fuzz/artifacts/<target>/; then
# minimize it with
#   build-fuzz/fuzz/<target> -minimize_crash=1 -runs=10000 <file>
# and commit it to fuzz/regressions/<target>/. Exits non-zero when any
# target found something.
#
# Environment: CC (default clang), RPCD_FUZZ_BUILD_DIR (default build-fuzz),
# RPCD_FUZZ_ARGS (extra libFuzzer options, e.g. "-jobs=2 -workers=2").
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_request fuzz_reply fuzz_mp_decode fuzz_params}
build=${RPCD_FUZZ_BUILD_DIR:-$root/build-fuzz}

case $secs in
'' | *[!0-9]*)
  echo "fuzz.sh: SECONDS must be a whole number, not \"$secs\"" >&2
  exit 2
  ;;
esac

CC=${CC:-clang} cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRPCD_SANITIZE=ON -DRPCD_BUILD_FUZZERS=ON -DBUILD_TESTING=OFF
# shellcheck disable=SC2086 # targets is a list
cmake --build "$build" -j"$(nproc)" --target $targets

failed=
for t in $targets; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  echo "=== $t: ${secs}s" >&2
  # shellcheck disable=SC2086 # RPCD_FUZZ_ARGS is a list of options
  if ! "$build/fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    ${RPCD_FUZZ_ARGS:-} "$corpus" "$root/fuzz/corpus/$t" \
    "$root/fuzz/regressions/$t"; then
    echo "=== $t: FAILED, see $artifacts/" >&2
    failed="$failed $t"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz.sh: found problems in:$failed" >&2
  exit 1
fi
echo "fuzz.sh: no crash in $targets" >&2
