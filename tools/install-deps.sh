#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what building and testing rpcd needs on Debian 12, with apt-get.
# Idempotent, and fast when everything is already there (one dpkg-query).
#
#   tools/install-deps.sh          build + run: compiler, cmake, libraries,
#                                  rabbitmq-server
#   tools/install-deps.sh --test   also what the test suite uses: clang and
#                                  its sanitizer/libFuzzer runtime,
#                                  clang-format, valgrind, libuv (the SDK's
#                                  libuv adapter example is run), man and
#                                  groff (man pages), systemd-analyze (the
#                                  unit), dpkg-dev (the .deb)
#
# Prints one line on stderr: "all dependencies present", or "installed: PKG..."
# once apt-get is done. apt-get's own output goes to build/install-deps.log
# (RPCD_INSTALL_LOG sets another file); when it fails, the last 30 lines of
# that log are printed with its path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
log=${RPCD_INSTALL_LOG:-$root/build/install-deps.log}

packages=(
  gcc make libc6-dev cmake pkg-config
  librabbitmq-dev libssl-dev libmsgpack-dev uuid-dev libjansson-dev
  libmicrohttpd-dev libsystemd-dev
  libcmocka-dev openssl
  rabbitmq-server
)
if [ "${1:-}" = "--test" ]; then
  packages+=(clang libclang-rt-14-dev clang-format valgrind libuv1-dev
    man-db groff-base systemd dpkg-dev)
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--test]" >&2
  exit 2
fi

# The packages of the list that are not installed, in one dpkg-query (a
# package dpkg has never heard of is not listed, so it counts as missing).
missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" \
    2>/dev/null | sed -n 's/^\([^ ]*\) install ok installed$/\1/p' || true)
  for p in "${packages[@]}"; do
    grep -qxF "$p" <<<"$installed" || echo "$p"
  done
}

mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -eq 0 ]; then
  echo "all dependencies present" >&2
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "installing: ${missing[*]} (log: $log)" >&2
mkdir -p "$(dirname "$log")"
: >"$log"
export DEBIAN_FRONTEND=noninteractive
# No init system here: keep the package from trying to start a system broker.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT

failed() {
  echo "install-deps.sh: $1 failed; the last 30 lines of $log:" >&2
  tail -n 30 "$log" >&2
  echo "install-deps.sh: full log: $log" >&2
  exit 1
}
# Wait for another apt/dpkg run to let go of its lock instead of failing.
apt=(apt-get -q -o DPkg::Lock::Timeout=300)
"${apt[@]}" update >>"$log" 2>&1 || failed "apt-get update"
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
  failed "apt-get install ${missing[*]}"

mapfile -t still < <(missing_packages)
[ ${#still[@]} -eq 0 ] || failed "installing ${still[*]}"
echo "installed: ${missing[*]}" >&2
