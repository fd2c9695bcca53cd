#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The supervisor and its workers under valgrind (every process: the
# plugin-check children too): start, calls, a worker killed while running a
# request (the supervisor answers for it), a reload, a drain. No valgrind
# error and no definite leak in any process that exits.
#
#   test_server_valgrind.sh RPCCTL RPCD FIB_SO CRASH_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 crash=$4 broker_dir=$5 work=$6
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-vg-$$-$RANDOM"
vgdir="$work/valgrind-$queue"
log="$vgdir/rpcd.log"
runs="$vgdir/runs.log"
ctl=("$rpcctl" --uri "$uri" --queue "$queue" --timeout 20000)
mkdir -p "$vgdir"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RPCD_CRASH_LOG=$runs valgrind --quiet --trace-children=yes \
  --leak-check=full --errors-for-leak-kinds=definite \
  --log-file="$vgdir/vg-%p.log" \
  "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --plugin "$crash" \
  --workers 2 --log-level info >"$log" 2>&1 &
server=$!
trap 'kill -KILL $server 2>/dev/null; wait $server 2>/dev/null' EXIT

for _ in $(seq 1 300); do
  "${ctl[@]}" ping >/dev/null 2>&1 && break
  sleep 0.1
done
[ "$("${ctl[@]}" call fib 30)" = 832040 ] || fail "no answer"

# A worker killed while it runs a request: the supervisor answers for it.
"${ctl[@]}" call crash.sleep '"vg-kill"' 20000 >"$vgdir/kill.out" 2>&1 &
caller=$!
for _ in $(seq 1 200); do
  grep -q '^crash.sleep vg-kill ' "$runs" 2>/dev/null && break
  sleep 0.1
done
worker=$(awk '$2 == "vg-kill" { print $3 }' "$runs")
[ -n "$worker" ] || fail "the sleeping call never started"
kill -KILL "$worker"
wait "$caller"
grep -q -- '-32000' "$vgdir/kill.out" ||
  fail "no handler-crashed answer: $(cat "$vgdir/kill.out")"

kill -HUP "$server"
for _ in $(seq 1 300); do
  grep -q 'reload done' "$log" && break
  sleep 0.1
done
grep -q 'reload done' "$log" || fail "the reload did not finish"
[ "$("${ctl[@]}" call fib 20)" = 6765 ] || fail "no answer after the reload"

kill -TERM "$server"
wait "$server"
status=$?
trap - EXIT
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"

# The killed worker's log ends without a summary; every other process
# reports nothing, valgrind being --quiet.
bad=$(grep -l -E 'Invalid|uninitialised|definitely lost|Mismatched' \
  "$vgdir"/vg-*.log 2>/dev/null)
if [ -n "$bad" ]; then
  for f in $bad; do
    echo "--- $f"
    head -n 40 "$f"
  done
  fail "valgrind found errors"
fi
n=$(ls "$vgdir"/vg-*.log | wc -l)
[ "$n" -ge 6 ] || fail "only $n processes ran under valgrind"
echo "server under valgrind ($n processes): 1 passed, 0 failed"
