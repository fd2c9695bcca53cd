#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end tests of rpcctl against an rpcd serving fib.so and itest.so on
# the private broker: outputs and the documented exit codes.
#
#   test_rpcctl.sh RPCCTL RPCD FIB_SO ITEST_SO BROKER_URI_FILE WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 itest=$4 uri_file=$5 work=$6
uri=$(cat "$uri_file")
queue="rpcd-test-rpcctl-$$-$RANDOM"
idle_queue="rpcd-test-idle-$$-$RANDOM"
log="$work/rpcd-$queue.log"
passed=0
failed=0

# expect NAME WANT_STATUS WANT_STDOUT_REGEX -- COMMAND...
expect() {
  local name=$1 want_status=$2 want_out=$3 out status
  shift 4
  out=$("$@" 2>"$work/stderr.txt")
  status=$?
  if [ "$status" = "$want_status" ] && [[ "$out" =~ $want_out ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: status $status (want $want_status), stdout '$out'" \
      "(want /$want_out/), stderr: $(cat "$work/stderr.txt")"
  fi
}

# expect_err NAME WANT_STATUS WANT_STDERR_REGEX -- COMMAND...
expect_err() {
  local name=$1 want_status=$2 want_err=$3 err status
  shift 4
  "$@" >/dev/null 2>"$work/stderr.txt"
  status=$?
  err=$(cat "$work/stderr.txt")
  if [ "$status" = "$want_status" ] && [[ "$err" =~ $want_err ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: status $status (want $want_status), stderr '$err'" \
      "(want /$want_err/)"
  fi
}

"$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --plugin "$itest" \
  --text-method fib --log-level debug >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT

ctl=("$rpcctl" --uri "$uri" --queue "$queue")
for _ in $(seq 1 100); do
  "${ctl[@]}" --timeout 500 ping >/dev/null 2>&1 && break
  sleep 0.1
done

expect "call fib 30" 0 '^832040$' -- "${ctl[@]}" call fib 30
expect "call fib 93 (above INT64_MAX)" 0 '^12200160415121876738$' -- \
  "${ctl[@]}" call fib 93
expect "named params" 0 '^55$' -- "${ctl[@]}" call --named fib '{"n":10}'
expect "echo round-trips JSON" 0 '^\[\[1,"x",\{"a":true\},null,1.5\]\]$' -- \
  "${ctl[@]}" call itest.echo '[1,"x",{"a":true},null,1.5]'
expect "ping" 0 '^pong ' -- "${ctl[@]}" ping
expect "list shows fib" 0 $'fib\tfib\t1.0.0' -- "${ctl[@]}" list
expect "RPCD_URI is the default URI" 0 '^832040$' -- \
  env RPCD_URI="$uri" "$rpcctl" --queue "$queue" call fib 30

expect_err "unknown method: exit 1" 1 'error -32601' -- \
  "${ctl[@]}" call no.such.method
expect_err "bad params: exit 1" 1 'error -32602.*param n' -- \
  "${ctl[@]}" call fib -1
expect_err "application error: exit 1" 1 'error 9 .*requested failure 9' -- \
  "${ctl[@]}" call itest.fail 9
expect_err "timeout: exit 3" 3 'tim' -- \
  "${ctl[@]}" --timeout 300 call itest.sleep 2000
expect_err "no route: exit 4" 4 'does not exist' -- \
  "$rpcctl" --uri "$uri" --queue "$idle_queue-missing" call fib 1
expect_err "connection refused: exit 5" 5 'connect' -- \
  "$rpcctl" --uri amqp://guest:guest@127.0.0.1:1 call fib 1
expect_err "bad JSON argument: exit 2" 2 'argument 1' -- \
  "${ctl[@]}" call fib '[1,'
expect_err "unknown command: exit 2" 2 'rpcctl' -- "${ctl[@]}" frobnicate
expect_err "bad flag: exit 2" 2 'rpcctl' -- "${ctl[@]}" --no-such-flag ping
expect "help: exit 0" 0 'usage' -- "$rpcctl" --help

# rpcd's own failures: clear message and status, never a hang.
expect_err "rpcd: broker down: exit 1" 1 'could not connect to broker' -- \
  timeout 30 "$rpcd" --uri amqp://guest:guest@127.0.0.1:1 --plugin "$fib"
expect_err "rpcd: missing plugin: exit 1" 1 'could not load plugin ".*nope.so"' -- \
  timeout 30 "$rpcd" --uri "$uri" --plugin "$work/nope.so"
expect_err "rpcd: not a plugin: exit 1" 1 'rpcd_plugin_entry' -- \
  timeout 30 "$rpcd" --uri "$uri" --plugin /lib/x86_64-linux-gnu/libuuid.so.1
expect_err "rpcd: bad flag: exit 2" 2 'unknown argument' -- \
  timeout 30 "$rpcd" --uri "$uri" --plugin "$fib" --bogus
expect_err "rpcd: bad prefetch: exit 2" 2 'prefetch' -- \
  timeout 30 "$rpcd" --uri "$uri" --plugin "$fib" --prefetch 0
expect_err "rpcd: unknown text method: exit 1" 1 'text-method' -- \
  timeout 30 "$rpcd" --uri "$uri" --plugin "$fib" --text-method nope
expect "rpcd: --version" 0 '^rpcd [0-9]+\.[0-9]+\.[0-9]+$' -- "$rpcd" --version

# The server survived all of the above and still answers.
expect "still serving" 0 '^832040$' -- "${ctl[@]}" call fib 30

# SIGTERM: clean stop with status 0.
kill -TERM $server
wait $server
status=$?
trap - EXIT
if [ "$status" = 0 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL rpcd exit status after SIGTERM: $status; log: $log"
fi
# With the server gone, its queue exists but has no consumer: exit 4.
expect_err "no consumer: exit 4" 4 'consumer' -- "${ctl[@]}" call fib 1

echo "rpcctl: $passed passed, $failed failed"
[ "$failed" = 0 ]
