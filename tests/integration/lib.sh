# SPDX-License-Identifier: MIT
#
# Shared by the shell integration tests. Source it after setting `log` (the
# rpcd log file) and `ctl` (the rpcctl command line, an array).

# fail MESSAGE: print it with the tail of the rpcd log, and exit 1.
fail() {
  echo "FAIL: $*"
  echo "--- rpcd log:"
  tail -n 30 "$log"
  exit 1
}

# start_rpcd ARGS...: run rpcd in the background with its output in $log,
# set `server`, stop it on exit, and wait (up to TRIES tenths of a second,
# default 100) until it answers rpc.ping.
start_rpcd() {
  "$@" >"$log" 2>&1 &
  server=$!
  trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT
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
  trap - EXIT
  [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
}
