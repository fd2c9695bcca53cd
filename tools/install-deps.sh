#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what building and testing rpcd needs on Debian 12, with apt-get.
# Idempotent, and silent when everything is already there.
#
#   tools/install-deps.sh          build + run: compiler, cmake, libraries,
#                                  rabbitmq-server
#   tools/install-deps.sh --test   also what the test suite uses: clang and
#                                  its sanitizer/libFuzzer runtime,
#                                  clang-format, valgrind, libuv (the SDK's
#                                  libuv adapter example is run)
set -euo pipefail

packages=(
  gcc make libc6-dev cmake pkg-config
  librabbitmq-dev libssl-dev libmsgpack-dev uuid-dev libjansson-dev
  libmicrohttpd-dev
  libcmocka-dev openssl
  rabbitmq-server
)
if [ "${1:-}" = "--test" ]; then
  packages+=(clang libclang-rt-14-dev clang-format valgrind libuv1-dev)
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--test]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
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
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
