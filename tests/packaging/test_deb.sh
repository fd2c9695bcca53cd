#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The Debian package: build it with cpack -G DEB from a tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr (the test build itself when it is one, else a
# fresh one in a temporary directory), then check with dpkg-deb what it
# declares (name, version, section, maintainer, the library Depends
# dpkg-shlibdeps found, the conffile) and what it holds (binaries, library,
# headers, pkg-config files, CMake package, plugins in the multiarch plugin
# directory, man pages, the systemd unit naming the installed paths, the
# environment file mode 0600), and that none of its text files names the
# source or build tree.
#
#   test_deb.sh SOURCE_DIR BUILD_DIR
#
# With RPCD_DEB_ROOT_TEST=1, as root, with debootstrap installed and a
# Debian mirror reachable (RPCD_DEB_MIRROR, default http://deb.debian.org/debian):
# also install the package with apt into a fresh minimal Debian root made by
# debootstrap (the suite of this machine, else bookworm), run rpcd --version
# and rpcctl --version there, and start the installed rpcd on the installed
# plugin directory against an unreachable broker: both plugins must load
# (rpcd then exits 1 for the broker). packaging/README.md has the commands.
#
# Exit status 77 (ctest's SKIP_RETURN_CODE) without cpack, dpkg-deb or
# dpkg-shlibdeps (Debian: cmake, dpkg, dpkg-dev).
set -euo pipefail

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

for tool in cmake cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (Debian: cmake, dpkg, dpkg-dev)"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcd-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cache_var() {
  sed -n "s/^$1:[A-Z]*=//p" "$2/CMakeCache.txt"
}

# 1. A build configured for /usr: this one, or a fresh one.
if [ "$(cache_var CMAKE_INSTALL_PREFIX "$build")" = /usr ]; then
  pkg_build=$build
else
  pkg_build=$tmp/build
  echo "configuring and building $src with -DCMAKE_INSTALL_PREFIX=/usr in $pkg_build"
  if ! cmake -S "$src" -B "$pkg_build" -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
    >"$tmp/configure.log" 2>&1; then
    cat "$tmp/configure.log"
    echo "FAIL: cmake configure"
    exit 1
  fi
  if ! cmake --build "$pkg_build" -j 2 >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log"
    echo "FAIL: cmake --build"
    exit 1
  fi
fi
libdir=$(cache_var CMAKE_INSTALL_LIBDIR "$pkg_build")
version=$("$pkg_build/core/rpcd" --version | sed -n 's/^rpcd //p')

if ! (cd "$pkg_build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"
  echo "FAIL: cpack -G DEB"
  exit 1
fi
debs=("$tmp"/out/rpcd_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
  ls -l "$tmp/out"
  echo "FAIL: cpack made no rpcd_*.deb (or several)"
  exit 1
fi
deb=${debs[0]}
echo "built $(basename "$deb")"

# 2. The control fields.
field() {
  dpkg-deb --field "$deb" "$1"
}
[ "$(field Package)" = rpcd ] || fail "Package: $(field Package)"
[[ "$(field Version)" == "$version-"* ]] ||
  fail "Version: $(field Version), rpcd --version says $version"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
  fail "Architecture: $(field Architecture)"
[[ "$(field Maintainer)" == *"<"*"@"*">" ]] ||
  fail "Maintainer: $(field Maintainer)"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 librabbitmq4 libssl3 libmsgpackc2 libuuid1 libjansson4 \
  procps; do
  [[ ", $depends," == *", $lib"[\ ,]* ]] || fail "Depends has no $lib"
done
dpkg-deb --info "$deb" conffiles 2>/dev/null | grep -qx /etc/rpcd/rpcd.env ||
  fail "conffiles does not list /etc/rpcd/rpcd.env"

# 3. The contents.
dpkg-deb --contents "$deb" >"$tmp/contents"
for f in usr/bin/rpcd usr/bin/rpcctl \
  "usr/$libdir/librpcd_client.so" "usr/$libdir/librpcd_client.so.0" \
  usr/include/rpcd/plugin.h usr/include/rpcd/client.h \
  usr/include/rpcd/status.h \
  "usr/$libdir/pkgconfig/rpcd-client.pc" \
  "usr/$libdir/pkgconfig/rpcd-plugin.pc" \
  "usr/$libdir/cmake/rpcd/rpcdConfig.cmake" \
  "usr/$libdir/cmake/rpcd/rpcdTargets.cmake" \
  "usr/$libdir/rpcd/plugins/fib.so" "usr/$libdir/rpcd/plugins/kv.so" \
  usr/lib/systemd/system/rpcd.service etc/rpcd/rpcd.env; do
  grep -qE " \./$f( ->|$)" "$tmp/contents" || fail "not in the package: /$f"
done
for page in man1/rpcctl.1 man7/rpcd-plugin.7 man8/rpcd.8; do
  grep -qE " \./usr/share/man/$page(\.gz)?$" "$tmp/contents" ||
    fail "not in the package: /usr/share/man/$page"
done
grep -qE '^-rw------- root/root .* \./etc/rpcd/rpcd\.env$' "$tmp/contents" ||
  fail "/etc/rpcd/rpcd.env is not root's, mode 0600: $(grep rpcd.env "$tmp/contents")"

mkdir "$tmp/root-files"
dpkg-deb --extract "$deb" "$tmp/root-files"
unit=$tmp/root-files/usr/lib/systemd/system/rpcd.service
grep -qxF "ExecStart=/usr/bin/rpcd --plugin-dir /usr/$libdir/rpcd/plugins \$RPCD_OPTS" \
  "$unit" || fail "the unit's ExecStart=: $(grep ExecStart= "$unit")"
grep -qxF "EnvironmentFile=-/etc/rpcd/rpcd.env" "$unit" ||
  fail "the unit's EnvironmentFile=: $(grep EnvironmentFile= "$unit")"
if leaks=$(grep -rlF -e "$src" -e "$pkg_build" -e "$tmp" \
  "$tmp/root-files/usr/$libdir/cmake" "$tmp/root-files/usr/$libdir/pkgconfig" \
  "$tmp/root-files/usr/lib/systemd" "$tmp/root-files/usr/share" \
  "$tmp/root-files/etc"); then
  fail "files in the package name the source or build tree: $leaks"
fi

# 4. Optionally: install it into a fresh Debian and run it there.
if [ "${RPCD_DEB_ROOT_TEST:-0}" = 1 ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "NOTE: RPCD_DEB_ROOT_TEST=1 but debootstrap is not installed: not done"
  elif [ "$(id -u)" != 0 ]; then
    echo "NOTE: RPCD_DEB_ROOT_TEST=1 needs root (debootstrap, chroot): not done"
  else
    suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    suite=${suite:-bookworm}
    mirror=${RPCD_DEB_MIRROR:-http://deb.debian.org/debian}
    root=$tmp/debian-root
    echo "debootstrap --variant=minbase $suite $root $mirror"
    if ! timeout 900 debootstrap --variant=minbase "$suite" "$root" "$mirror" \
      >"$tmp/debootstrap.log" 2>&1; then
      tail -n 20 "$tmp/debootstrap.log"
      fail "debootstrap"
    else
      cp /etc/resolv.conf "$root/etc/resolv.conf"
      cp "$deb" "$root/rpcd.deb"
      if ! chroot "$root" sh -c 'apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /rpcd.deb' \
        >"$tmp/apt.log" 2>&1; then
        tail -n 30 "$tmp/apt.log"
        fail "apt-get install /rpcd.deb in the Debian root"
      else
        out=$(chroot "$root" rpcd --version 2>&1) || true
        echo "chroot: rpcd --version: $out"
        [ "$out" = "rpcd $version" ] || fail "chroot rpcd --version: $out"
        out=$(chroot "$root" rpcctl --version 2>&1) || true
        [ "$out" = "rpcctl $version" ] || fail "chroot rpcctl --version: $out"
        st=0
        out=$(chroot "$root" rpcd --uri amqp://guest:guest@127.0.0.1:1 \
          --workers 1 --plugin-dir "/usr/$libdir/rpcd/plugins" 2>&1) || st=$?
        # The log's format may quote the names differently: "fib", \"fib\".
        if [ $st != 1 ] ||
          ! grep -qE 'loaded plugin [^a-z]*fib[^a-z]' <<<"$out" ||
          ! grep -qE 'loaded plugin [^a-z]*kv[^a-z]' <<<"$out" ||
          ! grep -qi 'broker' <<<"$out"; then
          fail "chroot rpcd on the installed plugins (exit status $st): $out"
        fi
        chroot "$root" dpkg-query -W -f='${Conffiles}\n' rpcd |
          grep -q '/etc/rpcd/rpcd.env' ||
          fail "dpkg does not know /etc/rpcd/rpcd.env as a conffile"
      fi
    fi
  fi
fi

if [ $failures -gt 0 ]; then
  echo "deb package: $failures failed"
  exit 1
fi
echo "deb package: $(basename "$deb") declares and holds what it should"
