#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What `cmake --install` puts under a prefix is all it takes to use rpcd
# outside its tree: install into a fresh prefix, build a client with
# find_package(rpcd) (rpcd::client) and with pkg-config rpcd-client, build a
# plugin with pkg-config rpcd-plugin (and one with rpcd::plugin), run the
# installed rpcd with that plugin, and call it from the installed rpcctl and
# from both clients; then build examples/plugin-template with its Makefile,
# as docs/plugins.md tells a user to, serve it and call it. Nothing built
# here sees the build tree, nor the source tree but for the template, copied
# out of it as a user would.
#
#   test_install.sh BUILD_DIR BROKER_URI_FILE BINDIR LIBDIR
#
# BINDIR and LIBDIR are CMAKE_INSTALL_BINDIR and CMAKE_INSTALL_LIBDIR,
# relative to the prefix.
set -euo pipefail

build=$(cd "$1" && pwd)
uri=$(cat "$2")
bindir=$3 libdir=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
queue="rpcd-test-install-$$-$RANDOM"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcd-install.XXXXXX")
prefix=$tmp/prefix
log=$tmp/rpcd.log
server=

cleanup() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# fail MESSAGE: print it (with the tail of the rpcd log once there is one)
# and exit 1.
fail() {
  echo "FAIL: $*"
  if [ -s "$log" ]; then
    echo "--- rpcd log:"
    tail -n 30 "$log"
  fi
  exit 1
}

# step WHAT CMD...: run CMD quietly; on failure show its output and fail.
step() {
  local what=$1
  shift
  if ! "$@" >"$tmp/step.log" 2>&1; then
    cat "$tmp/step.log"
    fail "$what"
  fi
}

case "$bindir$libdir" in
  /*) fail "CMAKE_INSTALL_BINDIR ($bindir) and CMAKE_INSTALL_LIBDIR ($libdir)" \
           "must be relative for an install under --prefix" ;;
esac

# 1. Install, and check what a user builds against is there.
step "cmake --install $build --prefix $prefix" \
  cmake --install "$build" --prefix "$prefix"
for f in "$bindir/rpcd" "$bindir/rpcctl" include/rpcd/client.h \
  include/rpcd/plugin.h "$libdir/librpcd_client.so" \
  "$libdir/rpcd/plugins/fib.so" "$libdir/rpcd/plugins/kv.so" \
  "$libdir/pkgconfig/rpcd-client.pc" \
  "$libdir/pkgconfig/rpcd-plugin.pc" "$libdir/cmake/rpcd/rpcdConfig.cmake" \
  "$libdir/cmake/rpcd/rpcdConfigVersion.cmake" \
  "$libdir/cmake/rpcd/rpcdTargets.cmake"; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
# The package and pkg-config files name nothing in the source or build tree.
if leaks=$(grep -rlF -e "$root" -e "$build" "$prefix/$libdir/cmake" \
  "$prefix/$libdir/pkgconfig"); then
  fail "installed files name the source or build tree: $leaks"
fi

export LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
cc=${CC:-cc}

# 2. A project with find_package(rpcd): the client and a plugin.
cp -R "$here/consumer" "$tmp/consumer"
step "configuring a project with find_package(rpcd)" \
  cmake -S "$tmp/consumer" -B "$tmp/consumer/build" \
  -DCMAKE_PREFIX_PATH="$prefix"
grep -qxF "rpcd_DIR:PATH=$prefix/$libdir/cmake/rpcd" \
  "$tmp/consumer/build/CMakeCache.txt" ||
  fail "find_package(rpcd) did not find the rpcd installed in $prefix"
step "building rpcd::client and rpcd::plugin users" \
  cmake --build "$tmp/consumer/build"

# 3. Without CMake: the plugin rpcd loads, and the client again. Both .pc
# files find the prefix from their own place (it was configured elsewhere).
mkdir "$tmp/plugin" "$tmp/pc"
cp "$here/consumer/hello.c" "$here/consumer/client.c" "$tmp/pc/"
flags=$(pkg-config --cflags rpcd-plugin) ||
  fail "pkg-config --cflags rpcd-plugin: $flags"
read -ra plugin_flags <<<"$flags"
step "building hello.so with pkg-config rpcd-plugin" \
  "$cc" "${plugin_flags[@]}" -shared -fPIC -o "$tmp/plugin/hello.so" \
  "$tmp/pc/hello.c"
flags=$(pkg-config --cflags --libs rpcd-client) ||
  fail "pkg-config --cflags --libs rpcd-client: $flags"
read -ra client_flags <<<"$flags"
step "building a client with pkg-config rpcd-client" \
  "$cc" -o "$tmp/pc/client" "$tmp/pc/client.c" "${client_flags[@]}"
# rpcd refuses plugin files and directories others may write to.
chmod 755 "$tmp" "$tmp/plugin"
chmod 644 "$tmp/plugin/hello.so"

# 4. The installed rpcd serves the plugin; everyone gets the same answer.
ctl=("$prefix/$bindir/rpcctl" --uri "$uri" --queue "$queue" --timeout 2000)
"$prefix/$bindir/rpcd" --uri "$uri" --queue "$queue" --workers 1 \
  --plugin "$tmp/plugin/hello.so" >"$log" 2>&1 &
server=$!
ok=0
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || fail "the installed rpcd exited"
  if "${ctl[@]}" ping >/dev/null 2>&1; then
    ok=1
    break
  fi
  sleep 0.1
done
[ "$ok" = 1 ] || fail "the installed rpcd did not answer rpc.ping within 10 s"

out=$("${ctl[@]}" call hello '"install"' 2>&1) ||
  fail "installed rpcctl call hello: $out"
[ "$out" = '"hello, install"' ] || fail "installed rpcctl printed: $out"
out=$("$tmp/consumer/build/client" "$uri" "$queue" 2>&1) ||
  fail "the find_package(rpcd) client: $out"
[ "$out" = "hello, install" ] || fail "the find_package(rpcd) client printed: $out"
out=$("$tmp/pc/client" "$uri" "$queue" 2>&1) ||
  fail "the pkg-config client: $out"
[ "$out" = "hello, install" ] || fail "the pkg-config client printed: $out"

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=
[ "$status" = 0 ] || fail "rpcd exit status $status after SIGTERM"

# 5. docs/plugins.md's walk-through, command for command: copy
# examples/plugin-template, build it with its Makefile (pkg-config
# rpcd-plugin, found through PKG_CONFIG_PATH as exported above), serve it
# and call hello with rpcctl.
cp -R "$root/examples/plugin-template" "$tmp/my-plugin"
rm -f "$tmp/my-plugin/hello.so"
step "make in a copy of examples/plugin-template" make -C "$tmp/my-plugin"
chmod go-w "$tmp/my-plugin" "$tmp/my-plugin/hello.so"
(cd "$tmp/my-plugin" &&
  exec "$prefix/$bindir/rpcd" --uri "$uri" --queue "$queue-template" \
    --workers 1 --plugin ./hello.so) >"$log" 2>&1 &
server=$!
ctl=("$prefix/$bindir/rpcctl" --uri "$uri" --queue "$queue-template"
  --timeout 2000)
ok=0
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || fail "rpcd with the template's hello.so exited"
  if "${ctl[@]}" ping >/dev/null 2>&1; then
    ok=1
    break
  fi
  sleep 0.1
done
[ "$ok" = 1 ] || fail "rpcd with the template's hello.so did not answer"
# The commands of docs/plugins.md, step 4.
out=$("${ctl[@]}" call hello world 2>&1) || fail "call hello world: $out"
[ "$out" = '"hello, world"' ] || fail "call hello world printed: $out"
out=$("${ctl[@]}" call hello name=named 2>&1) || fail "call hello name=: $out"
[ "$out" = '"hello, named"' ] || fail "call hello name=named printed: $out"
st=0
out=$("${ctl[@]}" call hello 42 2>&1) || st=$?
[ "$st" = 2 ] || fail "call hello 42 exited $st: $out"
[[ "$out" == *"param name: expected str of at most 64 bytes, got uint"* ]] ||
  fail "call hello 42 printed: $out"
out=$("${ctl[@]}" call --no-check hello 42 2>&1) &&
  fail "call --no-check hello 42 succeeded: $out"
[[ "$out" == *"error -32602"*"param name: expected str"* ]] ||
  fail "call --no-check hello 42 printed: $out"
out=$("${ctl[@]}" describe hello 2>&1) || fail "describe hello: $out"
[[ "$out" == "hello(name: str <=64) -> str"* ]] ||
  fail "describe hello printed: $out"
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=
[ "$status" = 0 ] || fail "rpcd exit status $status after SIGTERM"
echo "install: 3 callers and the plugin template passed, 0 failed"
