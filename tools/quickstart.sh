#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# From a fresh checkout to a running rpcd: installs what is missing, builds
# into build/, starts a private RabbitMQ node (build/broker) with its
# management UI on a free loopback port, and runs rpcd with plugins/fib.so in
# the background (log: build/rpcd.log). It prints the UI's URL
# (http://127.0.0.1:PORT/, log in as guest / guest) to watch rpc_queue, its
# consumers and message rates in a browser.
#
#   eval "$(tools/quickstart.sh)"   set up, then export RPCD_URI and put
#                                   rpcctl on PATH in this shell
#   tools/quickstart.sh stop        stop rpcd and the broker
#
# Progress goes to stderr; stdout carries only the export lines, or "false"
# on failure so that `eval "$(...)" && ...` stops there.
set -euo pipefail
status=0
trap 'status=$?; [ $status = 0 ] || echo false; exit $status' EXIT

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
broker_dir="$build/broker"
pidfile="$build/rpcd.pid"

stop_rpcd() {
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

if [ "${1:-}" = "stop" ]; then
  stop_rpcd
  "$root/tools/broker.sh" stop "$broker_dir" >&2
  exit 0
elif [ -n "${1:-}" ]; then
  sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

"$root/tools/install-deps.sh" >&2
echo "building into $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

echo "starting a private RabbitMQ node in $broker_dir" >&2
uri=$("$root/tools/broker.sh" start "$broker_dir" --management)
mgmt_url=$("$root/tools/broker.sh" management-url "$broker_dir")

stop_rpcd
# The URI through the environment, so that no password is in rpcd's argv.
RPCD_URI="$uri" setsid "$build/core/rpcd" --plugin "$build/plugins/fib.so" \
  --text-method fib </dev/null >>"$build/rpcd.log" 2>&1 &
echo $! >"$pidfile"

# Ready when rpc.ping answers.
for _ in $(seq 1 100); do
  if RPCD_URI="$uri" "$build/tools/rpcctl" --timeout 1000 ping >/dev/null 2>&1; then
    # shellcheck disable=SC2001 # (the password masked with a regex)
    echo "rpcd is serving fib.so on $(sed 's#\(://[^:@/]*:\)[^@]*@#\1***@#' <<<"$uri") (pid $(cat "$pidfile"), log $build/rpcd.log)" >&2
    echo "management UI: $mgmt_url (log in as guest / guest); rpc_queue: ${mgmt_url}#/queues/%2F/rpc_queue" >&2
    echo "try: rpcctl call fib 30" >&2
    # shellcheck disable=SC2016 # ($PATH is for the eval to expand)
    printf 'export RPCD_URI=%q\nexport PATH=%q:"$PATH"\n' "$uri" "$build/tools"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
echo "rpcd did not come up; see $build/rpcd.log:" >&2
tail -n 20 "$build/rpcd.log" >&2 || true
exit 1
