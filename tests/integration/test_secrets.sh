#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A broker password stays out of ps and out of rpcd's log, whether it comes
# from $RPCD_URI, from --uri-file or from --uri on the command line (whose
# argv bytes rpcd blanks): for each, /proc/PID/cmdline of the supervisor and
# of every worker lacks it, and so does the whole debug log after calls that
# succeed and fail. rpcctl reads --uri-file too, and both refuse a URI file
# that others may read, with exit status 2 and the file's name.
#
#   test_secrets.sh RPCCTL RPCD FIB_SO BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_dir=$4 work=$5
root=$(cd "$(dirname "$0")/../.." && pwd)
guest_uri=$(cat "$broker_dir/uri")
queue="rpcd-test-secrets-$$-$RANDOM"
log="$work/rpcd-$queue.log"
passed=0
failed=0
broker() { "$root/tools/broker.sh" ctl "$broker_dir" "$@"; }

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# A user of our own with a password found nowhere else ("guest" is in
# every default URI and help text). Letters, digits and '-' need no
# %-escape in a URI.
user="rpcd-secrets-$$"
pass="Pw-$RANDOM$RANDOM-sEcReT-$$"
uri="amqp://$user:$pass@${guest_uri#*@}"
uri_file="$work/uri-$queue"
loose_file="$work/uri-$queue-644"
cleanup() {
  broker delete_user "$user" >/dev/null 2>&1
  rm -f "$uri_file" "$loose_file"
}
broker add_user "$user" "$pass" >/dev/null 2>&1 || fail "add_user failed"
broker set_permissions -p / "$user" '.*' '.*' '.*' >/dev/null 2>&1 ||
  fail "set_permissions failed"
trap cleanup EXIT

(
  umask 077
  printf '%s\n' "$uri" >"$uri_file"
  printf '%s\n' "$uri" >"$loose_file"
)
chmod 644 "$loose_file"
ctl=("$rpcctl" --uri-file "$uri_file" --queue "$queue" --timeout 5000)

# check_secret CASE: with rpcd serving, make calls that work and fail, check
# every rpcd process's command line, stop rpcd, then check its log.
check_secret() {
  local name=$1 pids pid n=0
  expect "$name: call" 0 '^55$' -- "${ctl[@]}" call fib 10
  expect "$name: unknown method" 1 '' -- "${ctl[@]}" call no.such.method
  expect_err "$name: bad params" 1 '' -- "${ctl[@]}" call --no-check fib '"x"'
  pids="$server $(pgrep -P "$server")"
  for pid in $pids; do
    n=$((n + 1))
    if grep -qaF -- "$pass" "/proc/$pid/cmdline"; then
      failed=$((failed + 1))
      echo "FAIL $name: the password is in /proc/$pid/cmdline:" \
        "$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    else
      passed=$((passed + 1))
    fi
  done
  # The supervisor and its 2 workers.
  if [ "$n" -ge 3 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: $n rpcd processes found, want 3"
  fi
  stop_rpcd
  trap cleanup EXIT
  if grep -qF "method=fib" "$log" && ! grep -qF -- "$pass" "$log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: the log has the password, or no call line:"
    grep -F -- "$pass" "$log" | head -5
  fi
}

common=(--queue "$queue" --plugin "$fib" --workers 2 --log-level debug)

# (a) The password in the environment only.
start_rpcd env RPCD_URI="$uri" "$rpcd" "${common[@]}"
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; cleanup' EXIT
check_secret "RPCD_URI"

# (b) --uri-file, which wins over a $RPCD_URI that would not work.
start_rpcd env RPCD_URI="amqp://nobody:wrong@127.0.0.1:1" "$rpcd" \
  --uri-file "$uri_file" "${common[@]}"
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; cleanup' EXIT
check_secret "--uri-file"

# (c) --uri on the command line: rpcd blanks the password in its argv, and
# what ps shows is still the URI, with stars.
start_rpcd env -u RPCD_URI "$rpcd" --uri "$uri" "${common[@]}"
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; cleanup' EXIT
expect "--uri: blanked in place" 0 "amqp://$user:\*+@" -- \
  tr '\0' ' ' <"/proc/$server/cmdline"
# rpcctl blanks its own --uri too (bench runs long enough to look).
"$rpcctl" --uri "$uri" --queue "$queue" bench --duration 2 fib 5 \
  >/dev/null 2>&1 &
bench=$!
sleep 0.5
expect "rpcctl --uri: blanked in place" 0 "amqp://$user:\*+@" -- \
  tr '\0' ' ' <"/proc/$bench/cmdline"
wait "$bench"
check_secret "--uri"

# Refused: a URI file others may read; --uri with --uri-file.
expect_err "rpcd: mode 644 refused" 2 "$loose_file.*0644" -- \
  "$rpcd" --uri-file "$loose_file" "${common[@]}"
expect_err "rpcctl: mode 644 refused" 2 "$loose_file.*0644" -- \
  "$rpcctl" --uri-file "$loose_file" --queue "$queue" ping
expect_err "rpcd: --uri and --uri-file" 2 "--uri and --uri-file" -- \
  "$rpcd" --uri "$uri" --uri-file "$uri_file" "${common[@]}"
expect_err "rpcctl: --uri and --uri-file" 2 "--uri and --uri-file" -- \
  "$rpcctl" --uri "$uri" --uri-file "$uri_file" ping
expect_err "rpcd: no such file" 2 "$uri_file-none" -- \
  "$rpcd" --uri-file "$uri_file-none" "${common[@]}"
expect_err "rpcctl: empty file" 2 "$work/empty-$queue.*empty" -- \
  bash -c 'umask 077; : >"$1"; "$2" --uri-file "$1" ping; s=$?; rm -f "$1";
           exit $s' _ "$work/empty-$queue" "$rpcctl"
grep -qF -- "$pass" "$work/stderr-$$.txt" &&
  fail "a refusal printed the password"
# A URI given without --uri is refused, and shown masked.
expect_err "rpcd: stray URI masked" 2 "amqp://$user:\*\*\*@" -- \
  "$rpcd" "${common[@]}" "$uri"
grep -qF -- "$pass" "$work/stderr-$$.txt" && fail "rpcd printed the password"
expect_err "rpcctl: stray URI masked" 2 "amqp://$user:\*\*\*@" -- \
  "$rpcctl" "$uri" ping
grep -qF -- "$pass" "$work/stderr-$$.txt" && fail "rpcctl printed the password"

echo "secrets: $passed passed, $failed failed"
[ "$failed" = 0 ]
