#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Prints rpcd's performance figures, each against a baseline measured in the
# same run (the machine may be shared and noisy, so read the ratios):
#   1. bench_decode: the bounded msgpack decoder vs msgpack-c's unpacker
#   2. rpcctl bench against rpcd on a private broker: fib(90) vs rpc.ping
#      (what a plugin call costs over the server's own cheapest method),
#      with 1 and 32 calls in flight on one connection
#
#   tools/bench.sh [CALLS]        (default 20000 calls per rpcctl run)
# Builds into build/bench (RelWithDebInfo) and stops what it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
calls=${1:-20000}

"$root/tools/install-deps.sh" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

echo "== bounded msgpack decoder vs msgpack-c"
"$build/bench/bench_decode"

uri=$("$root/tools/broker.sh" start "$build/broker")
queue="bench-$$"
"$build/core/rpcd" --uri "$uri" --queue "$queue" --prefetch 64 \
  --plugin "$build/plugins/fib.so" --log-level warn \
  >"$build/rpcd.log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  "$root/tools/broker.sh" stop "$build/broker" >/dev/null
}
trap cleanup EXIT

ctl=("$build/tools/rpcctl" --uri "$uri" --queue "$queue" --timeout 10000)
for _ in $(seq 1 100); do
  "${ctl[@]}" ping >/dev/null 2>&1 && break
  sleep 0.1
done

# bench_one IN_FLIGHT METHOD ARGS... -> "calls_per_s p50_ms p99_ms"
bench_one() {
  local c=$1
  shift
  "${ctl[@]}" bench -n "$calls" -c "$c" "$@" |
    awk -F': ' '/^calls_per_s/{r=$2} /^p50_ms/{p=$2} /^p99_ms/{q=$2}
                END{print r, p, q}'
}

echo
echo "== end to end, $calls calls per run, one client connection"
printf '%-10s %-12s %12s %9s %9s %8s\n' in-flight method calls/s p50_ms \
  p99_ms vs-ping
for c in 1 32; do
  "${ctl[@]}" bench -n 2000 -c "$c" rpc.ping >/dev/null # warm up
  read -r ping_rate ping_p50 ping_p99 < <(bench_one "$c" rpc.ping)
  read -r fib_rate fib_p50 fib_p99 < <(bench_one "$c" fib 90)
  printf '%-10s %-12s %12s %9s %9s %8s\n' "$c" rpc.ping "$ping_rate" \
    "$ping_p50" "$ping_p99" "1.00x"
  printf '%-10s %-12s %12s %9s %9s %7.2fx\n' "$c" "fib 90" "$fib_rate" \
    "$fib_p50" "$fib_p99" "$(awk -v a="$fib_rate" -v b="$ping_rate" 'BEGIN { print a / b }')"
done
echo "vs-ping = calls/s of the method / calls/s of rpc.ping in the same run"
