#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Deleting the request queue under a running rpcd (an operator, a policy, a
# cluster incident) does not stop the service: the broker cancels the
# consumer, rpcd logs it, declares the queue again and consumes it. Within
# 5 s the queue exists again with rpcd consuming it, and a call succeeds.
#
#   test_queue_deleted.sh RPCCTL RPCD FIB_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_dir=$4 work=$5
root=$(cd "$(dirname "$0")/../.." && pwd)
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-qdel-$$-$RANDOM"
log="$work/rpcd-$queue.log"
ctl=("$rpcctl" --uri "$uri" --queue "$queue" --timeout 2000)
broker() { "$root/tools/broker.sh" ctl "$broker_dir" "$@"; }

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_rpcd "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" \
  --workers 1 --log-level info
[ "$("${ctl[@]}" call fib 10)" = 55 ] || fail "no answer before the delete"

# Two deletes in a row: the second hits the queue rpcd declared again.
for round in 1 2; do
  broker delete_queue "$queue" >/dev/null 2>&1 || fail "delete_queue failed"
  start=$(date +%s%N)
  ok=0
  while [ $(($(date +%s%N) - start)) -lt 5000000000 ]; do
    consumers=$(broker list_queues name consumers 2>/dev/null |
      awk -v q="$queue" '$1 == q { print $2 }')
    if [ "${consumers:-0}" -ge 1 ]; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || fail "round $round: queue not consumed again within 5 s"
  [ "$("${ctl[@]}" call fib 20)" = 6765 ] ||
    fail "round $round: no answer after the delete"
done

grep -qF "cancelled the consumer of queue \\\"$queue\\\"" "$log" ||
  fail "the log does not say the consumer was cancelled"
[ "$(grep -cF "consuming queue \\\"$queue\\\" again" "$log")" = 2 ] ||
  fail "the log does not say rpcd consumes again, twice"
grep -q "connection lost" "$log" &&
  fail "rpcd dropped its connection instead of declaring the queue again"

stop_rpcd
grep -q "re-declared 2 times" "$log" || fail "the stop line does not count 2"
echo "queue deleted: 1 passed, 0 failed"
