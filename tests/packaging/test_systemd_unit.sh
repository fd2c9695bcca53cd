#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The systemd unit the build generates (packaging/systemd/rpcd.service.in)
# passes `systemd-analyze verify` without a single message, and says what
# packaging/README.md promises: the sandboxing directives, reload and stop
# by signal, and a stop timeout longer than rpcd's default --drain-timeout.
#
#   test_systemd_unit.sh UNIT RPCD MAN_DIR
#
# UNIT is the generated rpcd.service, RPCD the built rpcd, MAN_DIR the
# directory with rpcd.8, rpcctl.1 and rpcd-plugin.7. verify checks that
# every Exec*= program exists and every man: page of Documentation= is
# found, so it runs on a test-only copy of the unit whose ExecStart= names
# RPCD, with MANPATH pointing at MAN_DIR's pages. It needs no running
# systemd. Exit status 77 (ctest's SKIP_RETURN_CODE) without systemd-analyze
# (Debian: systemd).
set -euo pipefail

unit=$1
rpcd=$2
man_dir=$3
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian: systemd)"
  exit 77
fi
[ -f "$unit" ] || {
  echo "FAIL: no unit at $unit"
  exit 1
}
rpcd=$(cd "$(dirname "$rpcd")" && pwd)/$(basename "$rpcd")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcd-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. What the unit says (checked on the generated file itself).
if grep -qE '@[A-Za-z_]+@' "$unit"; then
  fail "an @VARIABLE@ was left in the unit: $(grep -E '@[A-Za-z_]+@' "$unit")"
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r installed_rpcd _ <<<"$exec_start"
case "$installed_rpcd" in
  /*/rpcd) ;;
  *) fail "ExecStart= does not start an absolute .../rpcd: $exec_start" ;;
esac
[[ "$exec_start" == *" --plugin-dir /"*"/rpcd/plugins "* ]] ||
  fail "ExecStart= does not load an absolute LIBDIR/rpcd/plugins: $exec_start"
# Options the unit passes must be rpcd's. The help is read once: piped
# into grep -q, rpcd could die of SIGPIPE and fail the pipeline.
help=$("$rpcd" --help)
for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$exec_start"); do
  grep -qE -- "(^|[ [])$flag([] =]|$)" <<<"$help" ||
    fail "ExecStart= passes $flag, which rpcd --help does not list"
done
for want in \
  'Type=simple' 'EnvironmentFile=-/*/rpcd/rpcd.env' \
  'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' \
  'Restart=on-failure' 'DynamicUser=yes' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
  'NoNewPrivileges=yes' 'ProtectKernelTunables=yes' \
  'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
  'ProtectControlGroups=yes' \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
  'RestrictNamespaces=yes' 'LockPersonality=yes' \
  'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native' \
  'CapabilityBoundingSet=' 'WantedBy=multi-user.target'; do
  found=0
  while IFS= read -r line; do
    # shellcheck disable=SC2053 # $want is a glob on purpose
    [[ "$line" == $want ]] && found=1
  done <"$unit"
  [ $found = 1 ] || fail "the unit has no line $want"
done
# rpcd kills its workers itself after --drain-timeout; systemd must not
# SIGKILL them first.
drain_ms=$(tr '\n' ' ' <<<"$help" |
  sed -nE 's/.*--drain-timeout MS +[^(]*\(default: ([0-9]+)\).*/\1/p')
stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
case "$stop" in
  *min) stop_s=$((${stop%min} * 60)) ;;
  *s) stop_s=${stop%s} ;;
  *) stop_s=$stop ;;
esac
if [ -z "$drain_ms" ]; then
  fail "no default --drain-timeout in rpcd --help"
elif ! [[ "$stop_s" =~ ^[0-9]+$ ]]; then
  fail "TimeoutStopSec=$stop is not a plain number of seconds"
elif [ $((stop_s * 1000)) -le "$drain_ms" ]; then
  fail "TimeoutStopSec=$stop is not longer than --drain-timeout's default" \
    "($drain_ms ms)"
fi

# 2. systemd-analyze verify, on a copy whose programs exist here.
sed -e "s|^ExecStart=$installed_rpcd |ExecStart=$rpcd |" "$unit" \
  >"$tmp/rpcd.service"
if [ ! -x /bin/kill ]; then
  # procps is not installed: any program will do for verify.
  sed -i "s|^ExecReload=/bin/kill |ExecReload=$(command -v true) |" \
    "$tmp/rpcd.service"
fi
for page in rpcd.8 rpcctl.1 rpcd-plugin.7; do
  mkdir -p "$tmp/man/man${page##*.}"
  ln -s "$(cd "$man_dir" && pwd)/$page" "$tmp/man/man${page##*.}/$page"
done
st=0
(cd "$tmp" && MANPATH="$tmp/man" LC_ALL=C.UTF-8 SYSTEMD_LOG_COLOR=0 \
  systemd-analyze verify ./rpcd.service) >"$tmp/verify.out" 2>&1 || st=$?
if [ $st != 0 ] || [ -s "$tmp/verify.out" ]; then
  fail "systemd-analyze verify (exit status $st):"
  sed 's/^/  /' "$tmp/verify.out"
fi

if [ $failures -gt 0 ]; then
  echo "systemd unit: $failures failed"
  exit 1
fi
echo "systemd unit: systemd-analyze verify has nothing to say;" \
  "sandboxing, signals and TimeoutStopSec=$stop as promised"
