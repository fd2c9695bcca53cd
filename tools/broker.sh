#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Starts and stops a private RabbitMQ node for rpcd: loopback only, its own node
# name, its own free AMQP, distribution and epmd ports, and its own data and log
# directory, so it never touches (or collides with) a system broker.
#
#   tools/broker.sh start [DIR]   start a node in DIR (default: build/broker),
#                                 wait until it accepts AMQP, print its URI
#                                 (also written to DIR/uri); a node already
#                                 running there is reused
#   tools/broker.sh stop  [DIR]   stop the node started in DIR and its epmd
#   tools/broker.sh uri   [DIR]   print the URI of the running node
#   tools/broker.sh status [DIR]  exit 0 when the node accepts AMQP
#   tools/broker.sh ctl DIR ARGS  run rabbitmqctl ARGS against that node
#
# The URI has no trailing "/": rabbitmq-c reads "amqp://h:p/" as the empty vhost.
set -euo pipefail

RABBITMQ_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
START_TIMEOUT=${RPCD_BROKER_START_TIMEOUT:-120}

usage() {
  sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "broker.sh: $*" >&2
  exit 1
}

# A port nobody listens on now, picked at random above the ephemeral range's
# usual start so parallel runs rarely pick the same one.
free_port() {
  local port i
  for i in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "could not find a free port"
}

# True when the port answers the AMQP 0-9-1 protocol header with a frame
# (a Connection.Start method frame begins with frame type 1).
amqp_ready() {
  local port=$1 byte
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'AMQP\x00\x00\x09\x01' >&3
  byte=$(timeout 2 head -c 1 <&3 | od -An -tx1 | tr -d ' \n') || true
  exec 3<&- 3>&- || true
  [ "$byte" = "01" ]
}

# The environment every rabbitmq command of this node runs with.
node_env() {
  local dir=$1
  # shellcheck source=/dev/null
  . "$dir/ports.env"
  export HOME="$dir" # private Erlang cookie
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$EPMD_PORT"
  export RABBITMQ_NODENAME="$NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  # Erlang distribution listens on loopback too, not on every interface.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_DIST_PORT_MIN=$((DIST_PORT + 1))
  export RABBITMQ_CTL_DIST_PORT_MAX=$((DIST_PORT + 10))
}

cmd_uri() {
  local dir=$1
  [ -f "$dir/ports.env" ] || die "no broker in $dir"
  # shellcheck source=/dev/null
  . "$dir/ports.env"
  echo "amqp://guest:guest@127.0.0.1:$AMQP_PORT"
}

cmd_status() {
  local dir=$1
  [ -f "$dir/ports.env" ] || return 1
  # shellcheck source=/dev/null
  . "$dir/ports.env"
  amqp_ready "$AMQP_PORT"
}

cmd_start() {
  local dir=$1 pid i
  [ -x "$RABBITMQ_BIN/rabbitmq-server" ] ||
    die "rabbitmq-server not found in $RABBITMQ_BIN (run tools/install-deps.sh)"
  if cmd_status "$dir" 2>/dev/null; then
    cmd_uri "$dir" | tee "$dir/uri"
    return 0
  fi
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/ports.env" ]; then
    die "refusing to use $dir: not empty and not a broker directory"
  fi
  [ -f "$dir/ports.env" ] && cmd_stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
  mkdir -p "$dir/log" "$dir/mnesia"
  local amqp dist epmd
  amqp=$(free_port)
  dist=$(free_port)
  epmd=$(free_port)
  [ "$amqp" != "$dist" ] && [ "$dist" != "$epmd" ] && [ "$amqp" != "$epmd" ] ||
    die "port collision, try again"
  cat >"$dir/ports.env" <<EOF
AMQP_PORT=$amqp
DIST_PORT=$dist
EPMD_PORT=$epmd
NODENAME=rpcd-$amqp@localhost
EOF
  : >"$dir/rabbitmq-env.conf"
  echo "[]." >"$dir/enabled_plugins"
  echo "[]." >"$dir/advanced.config"
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp
loopback_users.guest = true
disk_free_limit.absolute = 1MB
log.file.level = warning
log.console = false
EOF
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie"
  chmod 400 "$dir/.erlang.cookie"

  (
    node_env "$dir"
    cd "$dir"
    exec setsid "$RABBITMQ_BIN/rabbitmq-server" >"$dir/log/startup.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$dir/server.pid"

  for ((i = 0; i < START_TIMEOUT * 5; i++)); do
    if amqp_ready "$amqp"; then
      cmd_uri "$dir" | tee "$dir/uri"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || {
      tail -n 30 "$dir/log/startup.log" >&2 || true
      die "rabbitmq-server exited during start; logs in $dir/log"
    }
    sleep 0.2
  done
  tail -n 30 "$dir/log/startup.log" >&2 || true
  cmd_stop "$dir" >/dev/null 2>&1 || true
  die "broker did not accept AMQP within ${START_TIMEOUT}s; logs in $dir/log"
}

cmd_stop() {
  local dir=$1 pid i
  [ -f "$dir/ports.env" ] || return 0
  (
    node_env "$dir"
    timeout 30 "$RABBITMQ_BIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true
  )
  if [ -f "$dir/server.pid" ]; then
    pid=$(cat "$dir/server.pid")
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      [ "$i" = 20 ] && kill -TERM -- "-$pid" 2>/dev/null
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  # The node's epmd runs on the private port; stop it so nothing is left.
  (
    node_env "$dir"
    epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
  )
  rm -f "$dir/server.pid"
  echo "broker in $dir stopped"
}

cmd_ctl() {
  local dir=$1
  shift
  [ -f "$dir/ports.env" ] || die "no broker in $dir"
  node_env "$dir"
  exec "$RABBITMQ_BIN/rabbitmqctl" "$@"
}

action=${1:-}
dir=${2:-${RPCD_BROKER_DIR:-build/broker}}
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
case "$action" in
start) cmd_start "$dir" ;;
stop) cmd_stop "$dir" ;;
uri) cmd_uri "$dir" ;;
status) cmd_status "$dir" ;;
ctl)
  shift 2
  cmd_ctl "$dir" "$@"
  ;;
*) usage ;;
esac
