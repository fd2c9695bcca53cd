#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Prints rpcd's performance figures, each against a baseline measured in the
# same run (the machine may be shared and noisy, so read the ratios):
#   1. bench_decode: the bounded msgpack decoder vs msgpack-c's unpacker
#   2. rpcctl bench against rpcd on a private broker: fib(90) vs rpc.ping
#      (what a plugin call costs over the server's own cheapest method),
#      with 1 and 32 calls in flight on one connection
#   3. rpcd --workers 2 vs --workers 1 at 64 calls in flight (runs
#      alternating, the median of 3 each), with fib 90 (the broker's work
#      dominates) and with burn 1000 (1 ms of CPU per call, bench/burn.so),
#      and the resident memory of the supervisor and of a worker serving
#      fib.so and burn.so after the load
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
servers=()
# start_server QUEUE ARGS...: an rpcd serving fib.so on QUEUE
start_server() {
  local q=$1
  shift
  "$build/core/rpcd" --uri "$uri" --queue "$q" --prefetch 64 \
    --plugin "$build/plugins/fib.so" --plugin "$build/bench/burn.so" \
    --log-level warn "$@" \
    >>"$build/rpcd.log" 2>&1 &
  servers+=($!)
}
start_server "$queue"
server=${servers[0]}
cleanup() {
  local pid
  for pid in "${servers[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
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

echo
echo "== --workers 2 vs --workers 1, 64 in flight, prefetch 64 each"
start_server "$queue-w1" --workers 1
w1=${servers[-1]}
start_server "$queue-w2" --workers 2
w2=${servers[-1]}
ctl1=("$build/tools/rpcctl" --uri "$uri" --queue "$queue-w1" --timeout 30000)
ctl2=("$build/tools/rpcctl" --uri "$uri" --queue "$queue-w2" --timeout 30000)
for _ in $(seq 1 100); do
  "${ctl1[@]}" ping >/dev/null 2>&1 && "${ctl2[@]}" ping >/dev/null 2>&1 &&
    break
  sleep 0.1
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# compare N METHOD ARG: calls/s of each, 3 runs alternating, and the ratio
compare() {
  local n=$1 r1=() r2=() m1 m2
  shift
  "${ctl1[@]}" bench -n 200 -c 64 "$@" >/dev/null
  "${ctl2[@]}" bench -n 200 -c 64 "$@" >/dev/null
  for _ in 1 2 3; do
    r1+=("$("${ctl1[@]}" bench -n "$n" -c 64 "$@" |
      awk -F': ' '/^calls_per_s/{print $2}')")
    r2+=("$("${ctl2[@]}" bench -n "$n" -c 64 "$@" |
      awk -F': ' '/^calls_per_s/{print $2}')")
  done
  m1=$(median "${r1[@]}")
  m2=$(median "${r2[@]}")
  printf '%-12s %-12s %12s   (runs: %s)\n' "$*" "--workers 1" "$m1" "${r1[*]}"
  printf '%-12s %-12s %12s   (runs: %s)\n' "$*" "--workers 2" "$m2" "${r2[*]}"
  printf '%-12s %-12s %11.2fx\n' "$*" "ratio" \
    "$(awk -v a="$m2" -v b="$m1" 'BEGIN { print a / b }')"
}
compare "$calls" fib 90
compare 2000 burn 1000

echo "== resident memory after the load (VmRSS)"
rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$1/status"; }
printf '%-28s %s\n' "supervisor (--workers 2)" "$(rss "$w2")"
for pid in $(pgrep -P "$w2"); do
  printf '%-28s %s\n' "worker pid $pid" "$(rss "$pid")"
done
