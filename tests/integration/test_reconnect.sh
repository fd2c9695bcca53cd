#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rpcd survives the broker dropping its connections: its workers reconnect
# with backoff and serve again, without a restart, and the supervisor still
# answers for a worker that crashes afterwards. Runs alone (RUN_SERIAL): it
# closes every connection of the shared test broker.
#
#   test_reconnect.sh RPCCTL RPCD FIB_SO CRASH_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 crash=$4 broker_dir=$5 work=$6
root=$(cd "$(dirname "$0")/../.." && pwd)
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-reconnect-$$-$RANDOM"
log="$work/rpcd-$queue.log"
ctl=("$rpcctl" --uri "$uri" --queue "$queue" --timeout 2000)

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_rpcd "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" \
  --plugin "$crash" --heartbeat 2 --log-level info
[ "$("${ctl[@]}" call fib 10)" = 55 ] || fail "no answer before the drop"

"$root/tools/broker.sh" ctl "$broker_dir" close_all_connections \
  "rpcd reconnect test" >/dev/null 2>&1 || fail "rabbitmqctl failed"

ok=0
for _ in $(seq 1 150); do
  if [ "$("${ctl[@]}" call fib 10 2>/dev/null)" = 55 ]; then
    ok=1
    break
  fi
  sleep 0.1
done
[ "$ok" = 1 ] || fail "rpcd did not serve again within 15 s"
grep -q "connection lost" "$log" || fail "rpcd did not notice the drop"
kill -0 "$server" 2>/dev/null || fail "rpcd exited"

# The supervisor's own connection was dropped too: it notices, and still
# answers for a worker that dies now.
sleep 2
out=$("${ctl[@]}" call crash.segv '"after-drop"' 2>&1)
status=$?
[ "$status" = 1 ] && grep -q -- '-32000' <<<"$out" ||
  fail "no handler-crashed answer after the drop (status $status): $out"

stop_rpcd
echo "reconnect: 1 passed, 0 failed"
