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
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

"$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --plugin "$itest" \
  --text-method fib --workers 2 --log-level debug >"$log" 2>&1 &
server=$!
silent=
trap 'kill -TERM $server $silent 2>/dev/null; wait $server 2>/dev/null' EXIT

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
expect "list: a header, then fib's signature, plugin, version and doc" 0 \
  $'^method +signature +plugin +version +doc\n(.*\n)*fib +fib\\(n: uint 0\\.\\.93\\) -> uint +fib +1\\.0\\.0 +The n-th Fibonacci number, exactly\n' \
  -- "${ctl[@]}" list
expect "list: an untyped method, no doc, no trailing blanks" 0 \
  $'\nitest\\.echo +itest\\.echo\\(\\.\\.\\.\\) -> any +itest +[0-9.]+\n' \
  -- "${ctl[@]}" list
expect "list --json" 0 '^\[\{"name":"fib",' -- "${ctl[@]}" list --json
expect "describe fib" 0 \
  $'^fib\\(n: uint 0\\.\\.93\\) -> uint\nThe n-th Fibonacci number, exactly\nflags: idempotent\nparam n: uint, required, range 0\\.\\.93$' \
  -- "${ctl[@]}" describe fib
expect "describe a built-in: a str param with a max length" 0 \
  $'^rpc\\.describe\\(method: str <=255\\) -> map\n.+\nparam method: str, required, max length 255$' \
  -- "${ctl[@]}" describe rpc.describe
expect "describe an untyped method" 0 \
  $'^itest\\.echo\\(\\.\\.\\.\\) -> any\n\nparams: not checked \\(untyped method\\)$' \
  -- "${ctl[@]}" describe itest.echo
expect "describe --json" 0 '^\{.*"signature":"fib\(n: uint 0\.\.93\) -> uint"' \
  -- "${ctl[@]}" describe --json fib
expect_err "describe: unknown method: exit 1" 1 'no method "no\.such" on the server' \
  -- "${ctl[@]}" describe no.such
expect_err "describe: missing METHOD: exit 2" 2 'missing METHOD' -- \
  "${ctl[@]}" describe

# call checks a typed method's ARGs against rpc.describe before sending.
expect_err "call fib 94: refused, exit 2" 2 \
  '^rpcctl: param n: expected uint in 0\.\.93, got 94$' -- "${ctl[@]}" call fib 94
expect_err "call fib -1: refused in the server's words, exit 2" 2 \
  '^rpcctl: param n: expected uint in 0\.\.93, got int$' -- "${ctl[@]}" call fib -1
expect_err "call fib x: refused, exit 2" 2 \
  '^rpcctl: param n: expected uint in 0\.\.93, got x$' -- "${ctl[@]}" call fib x
expect_err "call fib 1.5: refused, exit 2" 2 'param n: .*, got float$' -- \
  "${ctl[@]}" call fib 1.5
expect_err "call fib with no ARG: exit 2" 2 '^rpcctl: param n: missing$' -- \
  "${ctl[@]}" call fib
expect_err "call fib with 2 ARGs: exit 2" 2 'expected at most 1 param, got 2' \
  -- "${ctl[@]}" call fib 1 2
expect_err "--named: an unknown param: exit 2" 2 '^rpcctl: param m: unknown$' \
  -- "${ctl[@]}" call --named fib '{"m":1}'
expect_err "--named: out of range: exit 2" 2 'param n: .*got 100$' -- \
  "${ctl[@]}" call --named fib '{"n":100}'
expect "NAME=VALUE" 0 '^55$' -- "${ctl[@]}" call fib n=10
expect_err "NAME=VALUE and a positional ARG for the same param: exit 2" 2 \
  'param n: given twice' -- "${ctl[@]}" call fib n=10 3
expect "a bare word for a str param is the string" 0 \
  '"signature":"fib\(n: uint 0\.\.93\) -> uint"' -- \
  "${ctl[@]}" call rpc.describe fib
expect "a JSON string for a str param" 0 '"name":"fib"' -- \
  "${ctl[@]}" call rpc.describe '"fib"'
expect_err "an untyped method gets its ARGs unchecked: a bare word is bad JSON" \
  2 'invalid JSON in argument 1' -- "${ctl[@]}" call itest.echo hello
expect_err "--no-check sends the ARG: the server refuses it" 1 \
  'error -32602 \(invalid params\): param n: expected uint in 0\.\.93, got 94' \
  -- "${ctl[@]}" call --no-check fib 94
expect_err "--no-check: the server names the type" 1 \
  'error -32602 .*param n: expected uint in 0\.\.93, got int' -- \
  "${ctl[@]}" call --no-check fib -1
expect_err "--no-check: bad JSON is still found before connecting" 2 \
  'invalid JSON in argument 1' -- "${ctl[@]}" call --no-check fib x

# rpcctl refuses with the server's own check: for each ARG its message is
# the one the server answers to the same ARG sent with --no-check.
for arg in 94 -1 1.5 '"5"' '[1]' null; do
  "${ctl[@]}" call fib "$arg" >/dev/null 2>"$work/ctl.txt"
  status=$?
  "${ctl[@]}" call --no-check fib "$arg" >/dev/null 2>"$work/srv.txt"
  mine=$(sed -n 's/^rpcctl: //p' "$work/ctl.txt")
  theirs=$(sed -n 's/.*error -32602 (invalid params): //p' "$work/srv.txt")
  if [ "$status" = 2 ] && [ -n "$mine" ] && [ "$mine" = "$theirs" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL call fib $arg: rpcctl said '$mine' (exit $status)," \
      "the server '$theirs'"
  fi
done

# Nothing is sent for a refused ARG: the server logs every failed call
# (its debug log every call); a refused "call fib 94" adds no line, and the
# --no-check one after it adds exactly one.
fib_calls() { grep -c ' method=fib cid=' "$log"; }
before=$(fib_calls)
"${ctl[@]}" call fib 94 >/dev/null 2>&1
"${ctl[@]}" call fib x >/dev/null 2>&1
"${ctl[@]}" call --no-check fib 94 >/dev/null 2>&1
for _ in $(seq 1 50); do
  [ "$(fib_calls)" -gt "$before" ] && break
  sleep 0.1
done
sleep 0.3
after=$(fib_calls)
if [ "$after" = $((before + 1)) ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL refused ARGs are not sent: $((after - before)) calls of fib" \
    "logged (want 1, the --no-check one)"
fi
expect "stats: server counters, one line per method and per worker" 0 \
  $'^workers\tcalls\terrors\tcrashes\tpoison\ttimeouts\treloads\trestarts\texpired\tdropped_replies\n2\t[0-9]+\t[0-9]+\t0\t0\t0\t0\t0\t0\t0\n\nmethod\tcalls\terrors\tin_flight\ttime_us\n.*\nfib\t[0-9]+\t.*\npid\tgeneration\tstate\tcalls\terrors\tstarted\n[0-9]+\t1\t(idle|running)\t' \
  -- "${ctl[@]}" stats
expect "bench: counts, percentiles and a histogram" 0 \
  'calls: 200.*errors: 0.*calls_per_s: .*p999_ms: .*histogram:' -- \
  "${ctl[@]}" bench -n 200 -c 8 fib 10
expect "bench --json on 2 connections after a warmup" 0 \
  '^\{"calls":300,"errors":0,"errors_by_kind":\{\},"seconds":[0-9.]+,"calls_per_s":[0-9.]+,"p50_us":[0-9]+,"p90_us":[0-9]+,"p99_us":[0-9]+,"p999_us":[0-9]+,"max_us":[0-9]+\}$' \
  -- "${ctl[@]}" bench -n 300 -c 4 --connections 2 --warmup 50 --json fib 10
expect "bench --duration 1" 0 'seconds: 1\.[0-9]+' -- \
  "${ctl[@]}" bench --duration 1 -c 4 fib 10
expect_err "bench: -n and --duration together" 2 'do not go together' -- \
  "${ctl[@]}" bench -n 5 --duration 1 fib 10
expect "bench: errors by kind" 1 'errors: 2.*RPCD_EREMOTE: 2' -- \
  "${ctl[@]}" bench -n 2 itest.fail 7
expect "stats --json" 0 '^\{"server":\{"workers":2,' -- "${ctl[@]}" stats --json
expect_err "stats takes no argument" 2 'unexpected argument' -- \
  "${ctl[@]}" stats x
expect "RPCD_URI is the default URI" 0 '^832040$' -- \
  env RPCD_URI="$uri" "$rpcctl" --queue "$queue" call fib 30

expect_err "unknown method: exit 1" 1 'error -32601' -- \
  "${ctl[@]}" call no.such.method
expect_err "bad params: exit 1" 1 'error -32602.*param n' -- \
  "${ctl[@]}" call --no-check fib -1
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

# The password never reaches stderr, whatever fails.
# expect_hidden NAME WANT_STATUS WANT_STDERR_REGEX SECRET -- COMMAND...
expect_hidden() {
  local name=$1 want_status=$2 want_err=$3 secret=$4 err status
  shift 5
  "$@" >/dev/null 2>"$work/stderr.txt"
  status=$?
  err=$(cat "$work/stderr.txt")
  if [ "$status" = "$want_status" ] && [[ "$err" =~ $want_err ]] &&
    [[ "$err" != *"$secret"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: status $status (want $want_status), stderr '$err'" \
      "(want /$want_err/, without \"$secret\")"
  fi
}
host_port=${uri##*@}
expect_hidden "password: bad port" 2 '127\.0\.0\.1:99999' S3cret -- \
  "$rpcctl" --uri amqp://guest:S3cret@127.0.0.1:99999 ping
expect_hidden "password: bad %-escape in the vhost" 2 'h/%zz' S3cret -- \
  "$rpcctl" --uri 'amqp://u:S3cret@h/%zz' ping
expect_hidden "password: unreachable host" 5 '127\.0\.0\.1:1' S3cret -- \
  "$rpcctl" --uri amqp://guest:S3cret@127.0.0.1:1 call fib 1
expect_hidden "password: unknown host" 5 'host\.invalid' S3cret -- \
  "$rpcctl" --uri amqp://guest:S3cret@host.invalid:5672 list
expect_hidden "password: login refused" 5 'log in' S3cret -- \
  "$rpcctl" --uri "amqp://guest:S3cret@$host_port" --queue "$queue" \
  bench -n 1 fib 1
expect_hidden "password: RPCD_URI, login refused" 5 'log in' S3cret -- \
  env RPCD_URI="amqp://guest:S3cret@$host_port" "$rpcctl" ping
expect_hidden "password: a:b:c@d@e shows host e" 2 'amqp://a:\*\*\*@e"' \
  'b:c' -- "$rpcctl" --uri 'amqp://a:b:c@d@e' ping
expect_hidden "password: a:b:c@d@e hides all of b:c@d" 2 'amqp://a:\*\*\*@e"' \
  'c@d' -- "$rpcctl" --uri 'amqp://a:b:c@d@e' ping
expect_hidden "password: no scheme" 2 '\*\*\*@127\.0\.0\.1' S3cret -- \
  "$rpcctl" --uri guest:S3cret@127.0.0.1 ping

# --timeout bounds connecting and logging in: a listener that accepts and
# never answers gets 1000 ms (and 10% for the process itself).
python3 -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])
' "$work/silent.port" &
silent=$!
for _ in $(seq 1 100); do
  [ -s "$work/silent.port" ] && break
  sleep 0.05
done
silent_port=$(cat "$work/silent.port")
rm -f "$work/silent.port"
t0=$(date +%s%N)
"$rpcctl" --uri "amqp://guest:S3cret@127.0.0.1:$silent_port" --timeout 1000 \
  call fib 1 >/dev/null 2>"$work/stderr.txt"
status=$?
took=$((($(date +%s%N) - t0) / 1000000))
err=$(cat "$work/stderr.txt")
if [ "$status" = 5 ] && [ "$took" -le 1500 ] && [ "$took" -ge 900 ] &&
  [[ "$err" =~ "connect timeout" ]] && [[ "$err" != *S3cret* ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL --timeout bounds the connect: status $status (want 5)," \
    "$took ms (want 900-1500), stderr '$err'"
fi
kill "$silent" 2>/dev/null
wait "$silent" 2>/dev/null
silent=

# --max-reply: a larger reply fails its call (exit 6); the connection goes
# on, so bench makes all its calls.
long='"a string longer than the sixteen bytes allowed"'
expect_err "--max-reply: reply too big: exit 6" 6 \
  'reply of [0-9]+ bytes exceeds the limit of 16 bytes' -- \
  "${ctl[@]}" --max-reply 16 call itest.echo "$long"
expect "--max-reply: reply that fits" 0 '^\["abc"\]$' -- \
  "${ctl[@]}" --max-reply 16 call itest.echo '"abc"'
expect "--max-reply: bench goes on" 6 'calls: 3.*errors: 3' -- \
  "${ctl[@]}" --max-reply 16 bench -n 3 itest.echo "$long"
expect_err "--max-reply 0: exit 2" 2 'max-reply' -- \
  "${ctl[@]}" --max-reply 0 call fib 1
expect "--strict: exact results print as usual" 0 '^832040$' -- \
  "${ctl[@]}" --strict call fib 30

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
# A URI that does not parse is a usage error, masked, and found before any
# plugin is touched (the missing plugin is not what is reported).
expect_hidden "rpcd: password: bad port, before the plugins" 2 \
  'invalid broker URI "amqp://guest:\*\*\*@127\.0\.0\.1:99999"' S3cret -- \
  timeout 30 "$rpcd" --uri amqp://guest:S3cret@127.0.0.1:99999 \
  --plugin "$work/nope.so"
expect_hidden "rpcd: password: bad %-escape in the vhost" 2 'h/%zz' S3cret -- \
  timeout 30 "$rpcd" --uri 'amqp://u:S3cret@h/%zz' --plugin "$fib"
expect_hidden "rpcd: password: a:b:c@d@e shows host e" 2 'a:\*\*\*@e' \
  'b:c' -- timeout 30 "$rpcd" --uri 'amqp://a:b:c@d@e:99999' --plugin "$fib"

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
