#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rpcd --config FILE and --check-config, against the private broker:
# --check-config passes a good file (exit 0, "configuration OK", without
# touching the broker: a URI with no broker behind it passes too) and names
# every problem of a broken one, each on its own line (exit 1): an unknown
# key at its line, a bad value at its line, a missing plugin, an unreadable
# ACL. A file that holds a password must be chmod 600. Then rpcd starts
# from the good file, with --queue overriding the file's queue and
# --plugin the file's plugin lines, and answers fib 30 through rpcctl.
#
#   test_config_file.sh RPCCTL RPCD FIB_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_dir=$4 work=$5 kv=$6
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-config-$$-$RANDOM"
log="$work/rpcd-$queue.log"
conf="$work/$queue.conf"
passed=0
failed=0

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

: >"$log" # for fail(), before rpcd has one

# The broker URI, with its password, in a uri-file of its own.
(umask 077 && printf '%s\n' "$uri" >"$work/$queue.uri")
printf 'allow * *\n' >"$work/$queue.acl"

# A good file, 0644: it holds no password. Its queue is not the test's.
cat >"$conf" <<EOF
# rpcd for test_config_file.sh
uri-file = $work/$queue.uri
queue = "not the test's queue"   # --queue overrides it
plugin = $fib
workers = 1
acl = $work/$queue.acl
max-in-flight = fib=4
text-method = fib
log-level = debug
skip-bad-plugins = false
EOF
chmod 644 "$conf"

expect "check-config: a good file" 0 '^rpcd: configuration OK$' -- \
  "$rpcd" --config "$conf" --check-config
expect_err "check-config: says nothing on stderr" 0 '^$' -- \
  "$rpcd" --config "$conf" --check-config
# No broker is reached: a URI with nothing behind it passes just the same.
(umask 077 && printf 'amqp://nobody:pw@127.0.0.1:1\n' >"$conf.nobroker-uri")
expect "check-config: never connects" 0 '^rpcd: configuration OK$' -- \
  "$rpcd" --config "$conf" --uri-file "$conf.nobroker-uri" --check-config

# A broken file: every problem on its own line, with its line number.
cat >"$conf.bad" <<EOF
uri-file = $work/$queue.uri
queue = $queue
bogus = 1
plugin = $fib
plugin = $work/$queue-missing.so
acl = $work/$queue-missing.acl
workers = 0
EOF
expect_err "check-config: an unknown key at its line" 1 \
  "rpcd: $conf\\.bad:3: unknown key \"bogus\"" -- \
  "$rpcd" --config "$conf.bad" --check-config
expect_err "check-config: a bad value at its line" 1 \
  "rpcd: $conf\\.bad:7: workers: \"0\" is not an integer" -- \
  "$rpcd" --config "$conf.bad" --check-config
expect_err "check-config: a missing plugin" 1 \
  "rpcd: could not load plugin \"$work/$queue-missing\\.so\"" -- \
  "$rpcd" --config "$conf.bad" --check-config
expect_err "check-config: an unreadable ACL" 1 \
  "rpcd: $work/$queue-missing\\.acl: cannot read the ACL" -- \
  "$rpcd" --config "$conf.bad" --check-config
expect "check-config: four problems, four lines" 0 '^4$' -- \
  bash -c '"$@" 2>&1 >/dev/null | grep -c "^rpcd: "' _ \
  "$rpcd" --config "$conf.bad" --check-config
expect "check-config: nothing on stdout then" 1 '^$' -- \
  "$rpcd" --config "$conf.bad" --check-config
# Without --check-config the file's problems stop rpcd: a usage error.
expect_err "the broken file at startup" 2 \
  "rpcd: $conf\\.bad:3: unknown key \"bogus\".*$conf\\.bad:7: workers" -- \
  "$rpcd" --config "$conf.bad"
# --plugin replaces all of the file's plugin lines: the missing one goes.
grep -v -e '^bogus' -e '^workers' -e '^acl' "$conf.bad" >"$conf.plugins"
expect "flags replace the file's plugin lines" 0 'configuration OK' -- \
  "$rpcd" --config "$conf.plugins" --plugin "$fib" --check-config

# A password in the file: refused unless only its owner can read it.
printf 'uri = %s\nplugin = %s\n' "$uri" "$fib" >"$conf.pw"
chmod 644 "$conf.pw"
expect_err "a password in a 0644 file" 1 \
  "rpcd: $conf\\.pw: mode 0644 lets group or others read the password" -- \
  "$rpcd" --config "$conf.pw" --check-config
chmod 600 "$conf.pw"
expect "a password in a 0600 file" 0 'configuration OK' -- \
  "$rpcd" --config "$conf.pw" --check-config

# rpcd from the good file, with --queue from the command line.
ctl=("$rpcctl" --uri "$uri" --queue "$queue")
start_rpcd "$rpcd" --config "$conf" --queue "$queue"
expect "fib 30 through the file's configuration" 0 '^832040$' -- \
  "${ctl[@]}" call fib 30
expect "on the flag's queue, with the file's one worker" 0 "$queue" -- \
  grep -F "supervising 1 workers on queue" "$log"

# SIGHUP rereads the file: a plugin line added loads in the new generation,
# a changed queue is logged as taking a restart (the flag's stays anyway),
# a changed workers too; a broken file is refused, the generation serves on.
sed -i -e "s|^plugin = .*|&\nplugin = $kv|" -e 's|^workers = 1|workers = 2|' \
  "$conf"
kill -HUP "$server"
for _ in $(seq 1 100); do
  grep -q 'reload done: generation 2' "$log" && break
  sleep 0.1
done
expect_err "reload: the file's new plugin is loaded" 1 'not found: key' -- \
  "${ctl[@]}" call kv.get '"a"'
expect "reload: workers takes a restart" 0 . -- \
  grep -F "$conf:6: workers changed; it takes a restart" "$log"
expect "reload: the flag's queue, not the file's, no note" 1 '^$' -- \
  grep -F "queue changed" "$log"
printf 'bogus = 1\n' >>"$conf"
kill -HUP "$server"
for _ in $(seq 1 50); do
  grep -q 'reload refused' "$log" && break
  sleep 0.1
done
expect "reload: a broken file is refused" 0 . -- \
  grep -F "reload refused: $conf:12: unknown key \\\"bogus\\\"" "$log"
expect "reload: generation 2 serves on" 0 '^832040$' -- \
  "${ctl[@]}" call fib 30
stop_rpcd

rm -f "$conf" "$conf".* "$work/$queue.uri" "$work/$queue.acl"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
