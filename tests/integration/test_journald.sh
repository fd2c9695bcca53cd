#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rpcd --log journald against a real systemd-journald of its own: in
# private mount and PID namespaces with a fresh tmpfs on /run, the journal
# daemon is started by hand (no systemd needed), rpcd logs to it, and
# journalctl reads the entries back: identifier rpcd, the priority of each
# level, MESSAGE, and the event's fields as RPCD_METHOD, RPCD_CODE...
# Skipped (77) without root, namespaces, systemd-journald or journalctl.
#
#   test_journald.sh RPCCTL RPCD FIB_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_dir=$4 work=$5
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-journald-$$-$RANDOM"
out="$work/journal-$$.txt"
journald=/lib/systemd/systemd-journald
passed=0
failed=0

if [ "$(id -u)" != 0 ] || [ ! -x "$journald" ] ||
  ! command -v journalctl >/dev/null ||
  ! unshare -m -p -f --mount-proc true 2>/dev/null; then
  echo "skipped: needs root, namespaces, systemd-journald and journalctl"
  exit 77
fi
rm -f "$out"

unshare -m -p -f --mount-proc bash -s "$rpcctl" "$rpcd" "$fib" "$uri" \
  "$queue" "$out" "$journald" <<'INNER'
set -u
rpcctl=$1 rpcd=$2 fib=$3 uri=$4 queue=$5 out=$6 journald=$7
mount -t tmpfs none /run || exit 1
mkdir -p /run/systemd/journal
"$journald" >/dev/null 2>&1 &
for _ in $(seq 1 50); do
  [ -S /run/systemd/journal/socket ] && break
  sleep 0.1
done
"$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --workers 1 \
  --log journald >/dev/null 2>"$out.stderr" &
server=$!
for _ in $(seq 1 100); do
  "$rpcctl" --uri "$uri" --queue "$queue" ping >/dev/null 2>&1 && break
  sleep 0.1
done
"$rpcctl" --uri "$uri" --queue "$queue" call --no-check fib '"x"' \
  >/dev/null 2>&1
kill -TERM "$server"
wait "$server"
journalctl --directory /run/log/journal --no-pager -t rpcd -o export \
  >"$out" 2>&1
INNER

# check NAME REGEX: some line of the export matches.
check() {
  if grep -qE -- "$2" "$out" 2>/dev/null; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: no line matches /$2/ in the journal export:"
    grep -E '^(MESSAGE|PRIORITY|RPCD_)' "$out" 2>/dev/null | head -20
  fi
}
check "the supervisor's start" '^MESSAGE=rpcd [0-9.]+ supervising 1 workers'
check "info is priority 6" '^PRIORITY=6$'
check "a failed call, its message" '^MESSAGE=call failed: param n: expected uint'
check "its method as a field" '^RPCD_METHOD=fib$'
check "its code as a field" '^RPCD_CODE=-32602$'
check "its correlation id" '^RPCD_CID=[0-9a-f-]{36}$'
check "the stop" '^MESSAGE=stopped: 0 worker restarts'
if [ -s "$out.stderr" ]; then
  failed=$((failed + 1))
  echo "FAIL rpcd wrote to stderr with --log journald:"
  head -5 "$out.stderr"
else
  passed=$((passed + 1))
fi
rm -f "$out" "$out.stderr"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
