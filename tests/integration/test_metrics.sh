#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Metrics and health against the private broker: known calls (successes,
# invalid params, an application error, an unknown method, a crash), then
# rpc.stats through `rpcctl stats --json` and the Prometheus text scraped
# from --metrics-listen must show exactly those counts; /healthz answers
# 200 SERVING, and 503 NOT_SERVING while the server drains. SIGUSR1 and
# SIGUSR2 change the log level of the supervisor and the workers.
#
#   test_metrics.sh RPCCTL RPCD FIB_SO KV_SO CRASH_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 kv=$4 crash=$5 broker_dir=$6 work=$7
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-metrics-$$-$RANDOM"
log="$work/rpcd-$queue.log"
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0

# shellcheck source=lib.sh
. "$here/lib.sh"

# http_get PATH: the whole response (status line, headers, body) from the
# listener, with bash's /dev/tcp: no HTTP client needed.
http_get() {
  local resp
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  resp=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$resp" | tr -d '\r'
}

# check NAME REGEX TEXT: one assertion on text already fetched.
check() {
  if [[ "$3" =~ $2 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: /$2/ not in:"
    printf '%s\n' "$3" | head -40
  fi
}

port=$((20000 + RANDOM % 30000))
ctl=("$rpcctl" --uri "$uri" --queue "$queue" --timeout 5000)
call=("${ctl[@]}" call --no-check)
RPCD_CRASH_LOG="$work/crash-runs-metrics-$$.log" start_rpcd "$rpcd" \
  --uri "$uri" --queue "$queue" --plugin "$fib" --plugin "$kv" \
  --plugin "$crash" --workers 2 --metrics-listen "127.0.0.1:$port"

# The calls whose counts are checked below (ping by start_rpcd aside).
for _ in 1 2 3; do "${call[@]}" fib 10 >/dev/null; done
"${call[@]}" fib '"x"' >/dev/null 2>&1      # -32602
"${call[@]}" kv.get '"nokey"' >/dev/null 2>&1 # application error 1
"${call[@]}" nope >/dev/null 2>&1             # -32601, before any method
"${call[@]}" crash.segv '"t"' >/dev/null 2>&1 # -32000, a worker dies
# The supervisor answers the crash after it reaped the worker; the
# replacement may still be starting.
for _ in $(seq 1 50); do
  "${ctl[@]}" ping >/dev/null 2>&1 && break
  sleep 0.1
done

stats=$("${ctl[@]}" stats --json)
check "fib: 3 ok, 1 invalid params" \
  '"name":"fib","calls":4,"errors":1,"codes":\{"0":3,"-32602":1\},"in_flight":0' \
  "$stats"
check "kv.get: an application error, its last error kept" \
  '"name":"kv.get","calls":1,"errors":1,"codes":\{"application":1\}.*"last_error":\{"code":1,"message":"not found: key \\"nokey\\"","time":[0-9]+\}' \
  "$stats"
check "crash.segv: counted as handler crashed" \
  '"name":"crash.segv","calls":1,"errors":1,"codes":\{"-32000":1\}' "$stats"
check "the unknown method is rejected, not a method" \
  '"rejected":\{"-32601":1\}' "$stats"
check "no entry for the unknown method" '^none$' \
  "$(grep -o '"name":"nope"' <<<"$stats" || echo none)"
check "server counters" '"crashes":1,' "$stats"
check "not draining" '"draining":false' "$stats"

metrics=$(http_get /metrics)
check "/metrics is 200 text" $'^http/1\\.[01] 200 .*\ncontent-type: text/plain; version=0\\.0\\.4' \
  "$(tr 'A-Z' 'a-z' <<<"$metrics")"
check "calls_total fib ok" $'\nrpcd_calls_total\\{method="fib",code="0"\\} 3\n' "$metrics"
check "calls_total fib invalid params" \
  $'\nrpcd_calls_total\\{method="fib",code="-32602"\\} 1\n' "$metrics"
check "calls_total kv.get application" \
  $'\nrpcd_calls_total\\{method="kv\\.get",code="application"\\} 1\n' "$metrics"
check "calls_total crash.segv crashed" \
  $'\nrpcd_calls_total\\{method="crash\\.segv",code="-32000"\\} 1\n' "$metrics"
check "rejected unknown method" \
  $'\nrpcd_requests_rejected_total\\{code="-32601"\\} 1\n' "$metrics"
check "histogram count: the 4 fib calls that returned" \
  $'\nrpcd_call_duration_seconds_count\\{method="fib"\\} 4\n' "$metrics"
check "histogram +Inf bucket" \
  $'\nrpcd_call_duration_seconds_bucket\\{method="fib",le="\\+Inf"\\} 4\n' \
  "$metrics"
check "worker crashes" $'\nrpcd_worker_crashes_total 1\n' "$metrics"
check "serving" $'\nrpcd_serving 1\n' "$metrics"
check "/healthz while serving" $'^HTTP/1\\.[01] 200 [^\n]*\n.*\nSERVING$' \
  "$(http_get /healthz)"
check "unknown path" '^HTTP/1\.[01] 404 ' "$(http_get /nope)"

# The listener is a process of its own: killed, it comes back.
mpid=$(sed -n 's/.*metrics process started (pid \([0-9]*\)).*/\1/p' "$log" |
  head -n 1)
check "the metrics process is logged" '^[0-9]+$' "$mpid"
kill -KILL "$mpid" 2>/dev/null
for _ in $(seq 1 50); do
  [ "$(grep -c 'metrics process started' "$log")" -ge 2 ] &&
    http_get /healthz >/dev/null 2>&1 && break
  sleep 0.1
done
check "/healthz again after the metrics process was killed" \
  $'^HTTP/1\\.[01] 200 ' "$(http_get /healthz)"
# A port already taken stops another rpcd at startup, naming it.
expect_err "a taken port" 1 "--metrics-listen 127\\.0\\.0\\.1:$port: Address already in use" -- \
  timeout 30 "$rpcd" --uri "$uri" --queue "$queue-2" --plugin "$fib" \
  --metrics-listen "127.0.0.1:$port"

# SIGUSR1: debug lines from the workers; SIGUSR2: back to info.
kill -USR1 "$server"
sleep 0.3
"${call[@]}" fib 5 >/dev/null
sleep 0.2
check "SIGUSR1 raised the level" 'log level now debug' "$(cat "$log")"
check "a worker logs each call at debug" \
  'level=debug pid=[0-9]+ msg="call done" method=fib cid=[^ ]+ ms=[0-9]+' \
  "$(cat "$log")"
kill -USR2 "$server"
sleep 0.3
n=$(grep -c 'msg="call done" method=fib' "$log")
"${call[@]}" fib 6 >/dev/null
sleep 0.2
check "SIGUSR2 lowered it again" "^$n$" \
  "$(grep -c 'msg="call done" method=fib' "$log")"

# Draining: a call keeps a worker busy while SIGTERM drains the server.
"${call[@]}" crash.sleep '"slow"' 2500 >/dev/null 2>&1 &
slow=$!
sleep 0.5
kill -TERM "$server"
sleep 0.3
check "/healthz while draining" $'^HTTP/1\\.[01] 503 [^\n]*\n.*\nNOT_SERVING$' \
  "$(http_get /healthz)"
check "rpcd_serving while draining" $'\nrpcd_serving 0\n' "$(http_get /metrics)"
wait "$slow"
check "the call in hand was finished" '^0$' "$?"
wait "$server"
check "rpcd exits 0 after the drain" '^0$' "$?"
trap - EXIT

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
