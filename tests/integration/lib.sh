# SPDX-License-Identifier: MIT
#
# Shared by the shell integration tests. Source it after setting `log` (the
# rpcd log file), `ctl` (the rpcctl command line, an array), `work` (a
# directory for scratch files) and the counters `passed` and `failed`.

# fail MESSAGE: print it with the tail of the rpcd log, and exit 1.
fail() {
  echo "FAIL: $*"
  echo "--- rpcd log:"
  tail -n 30 "$log"
  exit 1
}

# at_exit: what a test must undo however it ends (its own broker, users);
# define it after sourcing this file. start_rpcd and stop_rpcd keep it in
# the EXIT trap.
at_exit() { :; }

# start_rpcd ARGS...: run rpcd in the background with its output in $log,
# set `server`, stop it on exit, and wait (up to TRIES tenths of a second,
# default 100) until it answers rpc.ping.
start_rpcd() {
  "$@" >"$log" 2>&1 &
  server=$!
  trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; at_exit' EXIT
  for _ in $(seq 1 "${TRIES:-100}"); do
    "${ctl[@]}" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "rpcd did not answer rpc.ping"
}

# stop_rpcd: SIGTERM and wait; fails unless rpcd exits 0.
stop_rpcd() {
  local status
  kill -TERM "$server"
  wait "$server"
  status=$?
  trap at_exit EXIT
  [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
}

# expect NAME WANT_STATUS WANT_STDOUT_REGEX -- COMMAND...: count a check
# that COMMAND exits WANT_STATUS and prints what matches the regex.
expect() {
  local name=$1 want_status=$2 want_out=$3 out status
  shift 4
  out=$("$@" 2>"$work/stderr-$$.txt")
  status=$?
  if [ "$status" = "$want_status" ] && [[ "$out" =~ $want_out ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: status $status (want $want_status), stdout '$out'" \
      "(want /$want_out/), stderr: $(cat "$work/stderr-$$.txt")"
  fi
}

# expect_err NAME WANT_STATUS WANT_STDERR_REGEX -- COMMAND...: the same for
# what COMMAND writes to stderr.
expect_err() {
  local name=$1 want_status=$2 want_err=$3 err status
  shift 4
  "$@" >/dev/null 2>"$work/stderr-$$.txt"
  status=$?
  err=$(cat "$work/stderr-$$.txt")
  if [ "$status" = "$want_status" ] && [[ "$err" =~ $want_err ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: status $status (want $want_status), stderr '$err'" \
      "(want /$want_err/)"
  fi
}
