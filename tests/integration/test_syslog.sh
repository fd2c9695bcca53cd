#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rpcd --log syslog against a stand-in syslog daemon (syslog_sink): in a
# private mount namespace whose /dev is a fresh tmpfs, so that /dev/log is
# the sink's socket and the machine's /dev is untouched. The lines must
# arrive with the daemon facility and the right priority, in logfmt without
# a timestamp of their own (syslog adds one), for the supervisor's and a
# worker's events. Skipped (77) where a mount namespace cannot be made.
#
#   test_syslog.sh RPCCTL RPCD FIB_SO SYSLOG_SINK BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 sink=$4 broker_dir=$5 work=$6
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-syslog-$$-$RANDOM"
out="$work/syslog-$$.txt"
passed=0
failed=0

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
  echo "skipped: needs root and a mount namespace (unshare -m)"
  exit 77
fi
rm -f "$out"

# Everything below runs inside the namespace; what it prints is its report.
unshare -m bash -s "$rpcctl" "$rpcd" "$fib" "$sink" "$uri" "$queue" "$out" \
  <<'INNER'
set -u
rpcctl=$1 rpcd=$2 fib=$3 sink=$4 uri=$5 queue=$6 out=$7
mount -t tmpfs none /dev || exit 1
mknod -m 666 /dev/null c 1 3
mknod -m 444 /dev/urandom c 1 9
"$sink" /dev/log "$out" &
sink_pid=$!
for _ in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done
"$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --workers 1 \
  --log syslog >/dev/null 2>"$out.stderr" &
server=$!
for _ in $(seq 1 100); do
  "$rpcctl" --uri "$uri" --queue "$queue" ping >/dev/null 2>&1 && break
  sleep 0.1
done
"$rpcctl" --uri "$uri" --queue "$queue" call --no-check fib '"x"' \
  >/dev/null 2>&1
kill -TERM "$server"
wait "$server"
echo "rpcd exit $?"
sleep 0.2
kill "$sink_pid"
INNER

check() {
  if grep -qE -- "$2" "$out" 2>/dev/null; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: no line matches /$2/ in:"
    head -20 "$out" 2>/dev/null
  fi
}
# <30> is daemon.info (3 * 8 + 6), <27> daemon.err, <28> daemon.warning.
check "the supervisor's start, at info" \
  '^<30>.* rpcd\[[0-9]+\]: msg="rpcd [0-9.]+ supervising 1 workers'
check "a worker's plugin load" \
  '^<30>.* rpcd\[[0-9]+\]: msg="loaded plugin \\"fib\\"'
check "a failed call with its fields" \
  '^<30>.* msg="call failed: param n: expected uint.*" method=fib cid=[^ ]+ ms=[0-9]+ code=-32602$'
check "the stop" '^<30>.* msg="stopped: 0 worker restarts'
if grep -q 'ts=' "$out" 2>/dev/null; then
  failed=$((failed + 1))
  echo "FAIL a line carries its own ts= (syslog adds the time)"
else
  passed=$((passed + 1))
fi
if [ -s "$out.stderr" ]; then
  failed=$((failed + 1))
  echo "FAIL rpcd wrote to stderr with --log syslog:"
  head -5 "$out.stderr"
else
  passed=$((passed + 1))
fi
rm -f "$out" "$out.stderr"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
