#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rpcd survives the broker dropping its connection: it reconnects with
# backoff and serves again, without a restart. Runs alone (RUN_SERIAL): it
# closes every connection of the shared test broker.
#
#   test_reconnect.sh RPCCTL RPCD FIB_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_dir=$4 work=$5
root=$(cd "$(dirname "$0")/../.." && pwd)
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-reconnect-$$-$RANDOM"
log="$work/rpcd-$queue.log"
ctl=("$rpcctl" --uri "$uri" --queue "$queue" --timeout 2000)

fail() {
  echo "FAIL: $*"
  echo "--- rpcd log:"
  tail -n 20 "$log"
  exit 1
}

"$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --log-level info \
  >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT

for _ in $(seq 1 100); do
  "${ctl[@]}" ping >/dev/null 2>&1 && break
  sleep 0.1
done
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

kill -TERM "$server"
wait "$server"
status=$?
trap - EXIT
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
echo "reconnect: 1 passed, 0 failed"
