#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Prints rpcd's performance figures, each against a baseline measured in the
# same run on one private broker (the machine may be shared and noisy, so
# read the ratios):
#   1. bench_decode: the bounded msgpack decoder vs msgpack-c's unpacker
#   2. the floor: an echo server and client written directly on rabbitmq-c
#      (bench/floor_server.c, bench/floor_client.c) against
#        rpcd          the same floor client calling fib 10 on rpcd
#                      (--workers 1, prefetch 64): what the server costs
#        rpcd+rpcctl   `rpcctl bench` calling rpcd: server and client SDK
#      at 1, 8, 64 and 256 calls in flight, and with bodies of 10 B, 1 KB and
#      64 KB at 64 in flight (bench.so's echo); each row runs its sides RUNS
#      times, alternating (floor, rpcd, rpcd+rpcctl, floor, rpcd, ...), and
#      prints the median calls/s, the median p50 latency, the ratios of those
#      medians to the floor's, and the median server CPU per call (from
#      /proc), so that one noisy run does not decide a figure
#   3. rpcd --workers 2 vs --workers 1 at 64 calls in flight (the median of
#      3 runs each, alternating), with fib 90 (the broker's work dominates)
#      and with burn 1000 (1 ms of CPU per call, bench.so)
#   4. the resident memory of the supervisor and of each worker after the
#      load
#
#   tools/bench.sh [CALLS] [RUNS]   (default 20000 calls per run, and RUNS
#                                   from $RUNS, else 3; with 3 runs about 1.5
#                                   minutes on a 2-core machine)
# Builds into build/bench (RelWithDebInfo) and stops what it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
calls=${1:-20000}
runs=${2:-${RUNS:-3}}
case $runs in
'' | *[!0-9]* | 0)
  echo "bench.sh: RUNS must be a positive integer, not '$runs'" >&2
  exit 2
  ;;
esac

"$root/tools/install-deps.sh" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

echo "== bounded msgpack decoder vs msgpack-c"
"$build/bench/bench_decode"

uri=$("$root/tools/broker.sh" start "$build/broker")
queue="bench-$$"
servers=()
# start_server QUEUE ARGS...: an rpcd serving fib.so and bench.so on QUEUE
start_server() {
  local q=$1
  shift
  "$build/core/rpcd" --uri "$uri" --queue "$q" --prefetch 64 \
    --plugin "$build/plugins/fib.so" --plugin "$build/bench/bench.so" \
    --log-level warn "$@" >>"$build/rpcd.log" 2>&1 &
  servers+=($!)
}
cleanup() {
  local pid
  for pid in "${servers[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  "$root/tools/broker.sh" stop "$build/broker" >/dev/null
}
trap cleanup EXIT

"$build/bench/floor_server" "$uri" "$queue-floor" &
servers+=($!)
floor=${servers[-1]}
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

# cpu_ticks PID: user+system clock ticks of PID and its children now alive
cpu_ticks() {
  local pid total=0 t
  for pid in "$1" $(pgrep -P "$1" || true); do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
# run SERVER_PID COMMAND...: "calls_per_s p50_ms cpu_us_per_call"
run() {
  local pid=$1 before after out
  shift
  before=$(cpu_ticks "$pid")
  out=$("$@")
  after=$(cpu_ticks "$pid")
  awk -F': ' -v d=$((after - before)) -v hz="$hz" -v n="$calls" '
    /^calls_per_s/ { r = $2 } /^p50_ms/ { p = $2 }
    END { printf "%s %s %.1f\n", r, p, d * 1e6 / hz / n }' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# median FORMAT VALUE...: the middle value, or with an even count the mean of
# the two middle ones printed with FORMAT
median() {
  local f=$1
  shift
  printf '%s\n' "$@" | sort -g | awk -v f="$f" '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]
          else printf f "\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

floor_client() { # QUEUE IN_FLIGHT METHOD ARG PAD
  "$build/bench/floor_client" "$uri" "$1" "$calls" "$2" "$3" "$4" "$5"
}

echo
echo "== against the floor (rabbitmq-c echo pair), $calls calls per run," \
  "median of $runs runs"
printf '%-8s %-8s %-12s %10s %8s %8s %8s %9s\n' in-flight body what \
  calls/s p50_ms rate p50 cpu_us
# side SIDE IN_FLIGHT METHOD ARG PAD: one run of SIDE (floor, rpcd or
# rpcd+rpcctl), as run prints it
side() {
  case $1 in
  floor) run "$floor" floor_client "$queue-floor" "${@:2}" ;;
  rpcd) run "$w1" floor_client "$queue-w1" "${@:2}" ;;
  rpcd+rpcctl) run "$w1" "${ctl1[@]}" bench -n "$calls" -c "$2" "$3" "$4" ;;
  esac
}
# row IN_FLIGHT BODY_LABEL METHOD ARG PAD: one line per side, each the median
# of $runs runs, the sides alternating (rpcd+rpcctl only with PAD 0)
row() {
  local c=$1 label=$2 m=$3 a=$4 pad=$5 s i r p u
  local -A rs=() ps=() us=() mr=() mp=() mu=()
  local sides=(floor rpcd)
  if [ "$pad" = 0 ]; then
    sides+=(rpcd+rpcctl)
  fi
  for ((i = 0; i < runs; i++)); do
    for s in "${sides[@]}"; do
      read -r r p u < <(side "$s" "$c" "$m" "$a" "$pad")
      rs[$s]+=" $r"
      ps[$s]+=" $p"
      us[$s]+=" $u"
    done
  done
  for s in "${sides[@]}"; do
    # shellcheck disable=SC2086 # the lists are space-separated numbers
    {
      mr[$s]=$(median %.1f ${rs[$s]})
      mp[$s]=$(median %.3f ${ps[$s]})
      mu[$s]=$(median %.1f ${us[$s]})
    }
    printf '%-8s %-8s %-12s %10s %8s %8s %8s %9s\n' "$c" "$label" "$s" \
      "${mr[$s]}" "${mp[$s]}" "$(ratio "${mr[$s]}" "${mr[floor]}")" \
      "$(ratio "${mp[$s]}" "${mp[floor]}")" "${mu[$s]}"
  done
}
floor_client "$queue-floor" 64 fib 10 0 >/dev/null # warm up
floor_client "$queue-w1" 64 fib 10 0 >/dev/null
for c in 1 8 64 256; do
  row "$c" "10 B" fib 10 0
done
row 64 "1 KB" echo 0 1024
row 64 "64 KB" echo 0 65536
echo "rate, p50 = rpcd's median / the floor's median, runs alternating"
echo "(rate: higher is better; p50: lower is better); cpu_us = the median"
echo "server CPU time per call"

echo
echo "== --workers 2 vs --workers 1, 64 in flight, prefetch 64 each"
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
  m1=$(median %.1f "${r1[@]}")
  m2=$(median %.1f "${r2[@]}")
  printf '%-12s %-12s %12s   (runs: %s)\n' "$*" "--workers 1" "$m1" "${r1[*]}"
  printf '%-12s %-12s %12s   (runs: %s)\n' "$*" "--workers 2" "$m2" "${r2[*]}"
  printf '%-12s %-12s %12s\n' "$*" "ratio" "$(ratio "$m2" "$m1")"
}
compare "$calls" fib 90
compare 2000 burn 1000

echo
echo "== resident memory after the load (VmRSS)"
rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$1/status"; }
printf '%-28s %s\n' "supervisor (--workers 2)" "$(rss "$w2")"
for pid in $(pgrep -P "$w2"); do
  printf '%-28s %s\n' "worker pid $pid" "$(rss "$pid")"
done
printf '%-28s %s\n' "floor_server" "$(rss "$floor")"
