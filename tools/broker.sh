#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Starts and stops a private RabbitMQ node for rpcd: loopback only, its own node
# name, its own free AMQP, distribution and epmd ports, and its own data and log
# directory, so it never touches (or collides with) a system broker.
#
#   tools/broker.sh start [DIR] [--tls CERTDIR] [--management]
#                                 start a node in DIR (default: build/broker),
#                                 wait until it accepts AMQP, print its URI
#                                 (also written to DIR/uri); a node already
#                                 running there is reused
#   tools/broker.sh stop  [DIR]   stop the node started in DIR and its epmd
#   tools/broker.sh uri   [DIR]   print the URI of the running node
#   tools/broker.sh tls-uri [DIR] print the amqps URI of its TLS listener
#   tools/broker.sh management-url [DIR]
#                                 print the URL of its management UI
#   tools/broker.sh status [DIR]  exit 0 when the node accepts AMQP
#   tools/broker.sh ctl DIR ARGS  run rabbitmqctl ARGS against that node
#
# --tls CERTDIR (made by tools/tls-certs.sh) adds a TLS listener on another
# loopback port (in DIR/tls-port) with CERTDIR's server.pem: a client
# certificate is asked for but not required, and one that is sent must verify
# against CERTDIR/ca.pem; SASL EXTERNAL logs in as its CN. start then also
# waits for a verified TLS handshake. A running node is reused only if its TLS
# certificate verifies against CERTDIR/ca.pem, else it is restarted afresh.
#
# --management enables the rabbitmq_management plugin with its HTTP listener
# on another loopback port (in DIR/management-port): the web UI and the HTTP
# API at http://127.0.0.1:PORT/, where guest/guest logs in (from loopback
# only). start then also waits until the API answers; the plugin adds a few
# seconds to the start, so only with the option. A running node is reused
# only if its management API answers, else it is restarted afresh.
#
# The URI has no trailing "/": rabbitmq-c reads "amqp://h:p/" as the empty vhost.
# The amqps URI names localhost, the only name in the server certificate.
set -euo pipefail

RABBITMQ_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
START_TIMEOUT=${RPCD_BROKER_START_TIMEOUT:-120}

usage() {
  sed -n '4,36p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# True when the TLS port completes a handshake whose certificate verifies
# against the CA file for the name localhost.
tls_ready() {
  local port=$1 ca=$2
  timeout 5 openssl s_client -connect "127.0.0.1:$port" -CAfile "$ca" \
    -verify_hostname localhost -verify_return_error </dev/null >/dev/null 2>&1
}

# The TLS port of the node in DIR; empty when it has none.
tls_port() {
  sed -n 's/^TLS_PORT=//p' "$1/ports.env" 2>/dev/null || true
}

# The management port of the node in DIR; empty when it has none.
mgmt_port() {
  sed -n 's/^MGMT_PORT=//p' "$1/ports.env" 2>/dev/null || true
}

# True when the management API on the port answers GET /api/overview with
# 200 for guest/guest (plain bash: curl need not be installed).
mgmt_ready() {
  local port=$1 status
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /api/overview HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAuthorization: Basic %s\r\n\r\n' \
    "$port" "$(printf guest:guest | base64)" >&3
  status=$(timeout 5 head -n 1 <&3) || true
  exec 3<&- 3>&- || true
  [[ $status == "HTTP/1."[01]" 200"* ]]
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

cmd_tls_uri() {
  local dir=$1 port
  [ -f "$dir/ports.env" ] || die "no broker in $dir"
  port=$(tls_port "$dir")
  [ -n "$port" ] || die "the broker in $dir has no TLS listener (start it with --tls)"
  echo "amqps://guest:guest@localhost:$port"
}

cmd_management_url() {
  local dir=$1 port
  [ -f "$dir/ports.env" ] || die "no broker in $dir"
  port=$(mgmt_port "$dir")
  [ -n "$port" ] || die "the broker in $dir has no management UI (start it with --management)"
  echo "http://127.0.0.1:$port/"
}

cmd_status() {
  local dir=$1
  [ -f "$dir/ports.env" ] || return 1
  # shellcheck source=/dev/null
  . "$dir/ports.env"
  amqp_ready "$AMQP_PORT"
}

cmd_start() {
  local dir=$1 certs=$2 mgmt=$3 pid deadline f
  [ -x "$RABBITMQ_BIN/rabbitmq-server" ] ||
    die "rabbitmq-server not found in $RABBITMQ_BIN (run tools/install-deps.sh)"
  for f in ${certs:+ca.pem server.pem server.key}; do
    [ -r "$certs/$f" ] || die "no $certs/$f (make CERTDIR with tools/tls-certs.sh)"
  done
  if cmd_status "$dir" 2>/dev/null; then
    local port
    port=$(tls_port "$dir")
    if { [ -z "$certs" ] || { [ -n "$port" ] && tls_ready "$port" "$certs/ca.pem"; }; } &&
      { [ -z "$mgmt" ] || { port=$(mgmt_port "$dir") && [ -n "$port" ] && mgmt_ready "$port"; }; }; then
      cmd_uri "$dir" | tee "$dir/uri"
      return 0
    fi
  fi
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/ports.env" ]; then
    die "refusing to use $dir: not empty and not a broker directory"
  fi
  if [ -f "$dir/ports.env" ]; then
    cmd_stop "$dir" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  mkdir -p "$dir/log" "$dir/mnesia"
  local amqp dist epmd http='' plugins='' tls=
  amqp=$(free_port)
  dist=$(free_port)
  epmd=$(free_port)
  if [ "$amqp" = "$dist" ] || [ "$dist" = "$epmd" ] || [ "$amqp" = "$epmd" ]; then
    die "port collision, try again"
  fi
  if [ -n "$certs" ]; then
    tls=$(free_port)
    case $tls in
    "$amqp" | "$dist" | "$epmd") die "port collision, try again" ;;
    esac
  fi
  if [ -n "$mgmt" ]; then
    http=$(free_port)
    case $http in
    "$amqp" | "$dist" | "$epmd" | "$tls") die "port collision, try again" ;;
    esac
  fi
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
  if [ -n "$certs" ]; then
    echo "TLS_PORT=$tls" >>"$dir/ports.env"
    echo "$tls" >"$dir/tls-port"
    # SASL EXTERNAL comes with this plugin.
    plugins=rabbitmq_auth_mechanism_ssl
    echo "[$plugins]." >"$dir/enabled_plugins"
    cat >>"$dir/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$tls
ssl_options.cacertfile = $certs/ca.pem
ssl_options.certfile = $certs/server.pem
ssl_options.keyfile = $certs/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
EOF
  fi
  if [ -n "$mgmt" ]; then
    echo "MGMT_PORT=$http" >>"$dir/ports.env"
    echo "$http" >"$dir/management-port"
    plugins=${plugins:+$plugins,}rabbitmq_management
    echo "[$plugins]." >"$dir/enabled_plugins"
    cat >>"$dir/rabbitmq.conf" <<EOF
management.tcp.ip = 127.0.0.1
management.tcp.port = $http
EOF
  fi
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie"
  chmod 400 "$dir/.erlang.cookie"

  (
    node_env "$dir"
    cd "$dir"
    exec setsid "$RABBITMQ_BIN/rabbitmq-server" >"$dir/log/startup.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$dir/server.pid"

  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if amqp_ready "$amqp" && { [ -z "$certs" ] || tls_ready "$tls" "$certs/ca.pem"; } &&
      { [ -z "$mgmt" ] || mgmt_ready "$http"; }; then
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
  die "broker did not accept AMQP${certs:+ and TLS}${mgmt:+ and HTTP} within ${START_TIMEOUT}s; logs in $dir/log"
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
[ $# = 0 ] || shift
dir=${RPCD_BROKER_DIR:-build/broker}
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  dir=${1:-$dir}
  shift
fi
certs=
mgmt=
if [ "$action" = start ]; then
  while [ $# -gt 0 ]; do
    case $1 in
    --tls)
      [ $# -ge 2 ] || usage
      certs=$(cd "$2" 2>/dev/null && pwd) || die "no directory $2"
      shift 2
      ;;
    --management)
      mgmt=1
      shift
      ;;
    *) usage ;;
    esac
  done
fi
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
case "$action" in
start) cmd_start "$dir" "$certs" "$mgmt" ;;
stop) cmd_stop "$dir" ;;
uri) cmd_uri "$dir" ;;
tls-uri) cmd_tls_uri "$dir" ;;
management-url) cmd_management_url "$dir" ;;
status) cmd_status "$dir" ;;
ctl) cmd_ctl "$dir" "$@" ;;
*) usage ;;
esac
