#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# --acl on the private broker: two broker users, alice (allowed everything)
# and bob (fib and rpc.* only), calling fib.so and kv.so through rpcctl,
# which sends the login user as user_id. A forbidden call is -32007 and its
# handler does not run; a request without user_id is anonymous; a forged
# user_id is refused by the broker; rpc.list shows bob only what he may
# call; a broken ACL on SIGHUP keeps the old rules, a good one replaces them.
#
#   test_acl.sh RPCCTL RPCD FIB_SO KV_SO RAW_CALL BROKER_SH BROKER_DIR WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 kv=$4 raw=$5 broker_sh=$6 broker_dir=$7 work=$8
uri=$(cat "$broker_dir/uri")
queue="rpcd-test-acl-$$-$RANDOM"
log="$work/rpcd-$queue.log"
acl="$work/$queue.acl"
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0

# shellcheck source=lib.sh
. "$here/lib.sh"

# Users of their own on the shared node, so parallel runs do not collide.
alice="acl-alice-$$"
bob="acl-bob-$$"
ctlb() { "$broker_sh" ctl "$broker_dir" "$@" >/dev/null 2>&1; }
for u in "$alice" "$bob"; do
  ctlb add_user "$u" "pw-$u" || fail "could not add broker user $u"
  ctlb set_permissions -p / "$u" '.*' '.*' '.*' ||
    fail "could not set the permissions of $u"
done
cleanup_users() {
  ctlb delete_user "$alice"
  ctlb delete_user "$bob"
}
hostport=${uri#*@}
alice_uri="amqp://$alice:pw-$alice@$hostport"
bob_uri="amqp://$bob:pw-$bob@$hostport"
as_alice=("$rpcctl" --uri "$alice_uri" --queue "$queue")
as_bob=("$rpcctl" --uri "$bob_uri" --queue "$queue")

cat >"$acl" <<RULES
# alice may call anything, bob only fib and the built-ins
allow $alice *
allow $bob fib rpc.*
RULES

# A bad file is refused at startup, naming the file, the line and why.
printf 'allow %s fib\ndeny %s *\n' "$alice" "$bob" >"$acl.bad"
expect_err "bad ACL at startup" 1 \
  "$acl\\.bad:2: unknown keyword \"deny\"" -- \
  "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --acl "$acl.bad"
expect_err "unreadable ACL at startup" 1 "$acl\\.none: cannot read" -- \
  "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" --acl "$acl.none"

# One worker: kv's store is per worker process.
ctl=("${as_alice[@]}")
start_rpcd "$rpcd" --uri "$uri" --queue "$queue" --plugin "$fib" \
  --plugin "$kv" --workers 1 --acl "$acl" --log-level debug
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; cleanup_users' EXIT

expect "alice sets a key" 0 '^null$' -- "${as_alice[@]}" call kv.set '"a"' 1
expect_err "bob may not call kv.set" 1 \
  "error -32007 .*user \"$bob\" may not call \"kv.set\"" -- \
  "${as_bob[@]}" call kv.set '"b"' 2
expect_err "nor kv.get" 1 "error -32007" -- "${as_bob[@]}" call kv.get '"a"'
expect_err "bob's kv.set did not run" 1 'error 1 .*not found: key "b"' -- \
  "${as_alice[@]}" call kv.get '"b"'
expect "bob may call fib" 0 '^55$' -- "${as_bob[@]}" call fib 10
expect_err "an unknown method is still -32601 for bob" 1 "error -32601" -- \
  "${as_bob[@]}" call nope
expect "bob's rpc.list: fib and rpc.* only" 0 \
  '^fib rpc\.describe rpc\.health rpc\.list rpc\.ping rpc\.stats $' -- \
  bash -c '"$@" call rpc.list | grep -o "\"name\":\"[^\"]*\"" |
    cut -d\" -f4 | tr "\n" " "' _ "${as_bob[@]}"
expect "alice's rpc.list has kv" 0 'kv\.set' -- \
  "${as_alice[@]}" call rpc.list
expect_err "bob may not describe kv.set" 1 "error -32007" -- \
  "${as_bob[@]}" call rpc.describe '"kv.set"'
expect "bob may describe fib" 0 '"name":"fib"' -- \
  "${as_bob[@]}" call rpc.describe '"fib"'

# Without user_id a request is anonymous: denied, as no rule names it.
expect "no user_id: anonymous, denied" 0 '^status -32007$' -- \
  "$raw" "$bob_uri" "$queue" rpc.ping
expect "with bob's own user_id: it runs" 0 '^status 0$' -- \
  "$raw" "$bob_uri" "$queue" rpc.ping "$bob"
# bob claiming to be alice: the broker closes the channel, nothing runs.
expect "forged user_id refused by the broker" 0 \
  '^refused: 406 PRECONDITION_FAILED.*user_id' -- \
  "$raw" "$bob_uri" "$queue" kv.set "$alice"
grep -q 'forbidden\|-32007' "$log" || fail "the log does not show a denial"

# A broken file on SIGHUP: the reload is refused and the old rules stay.
printf 'allow * *\nallow %s kv.*x\n' "$bob" >"$acl"
kill -HUP "$server"
for _ in $(seq 1 50); do
  grep -q 'reload refused: .*:2: pattern \\"kv\.\*x\\"' "$log" && break
  sleep 0.1
done
expect "reload refused, with the line and reason" 0 '.' -- \
  grep 'reload refused: .*\.acl:2: pattern \\"kv\.\*x\\": .\*. may only end' "$log"
expect_err "bob still may not call kv.set" 1 "error -32007" -- \
  "${as_bob[@]}" call kv.set '"b"' 2

# A good file on SIGHUP replaces the rules: anonymous may ping now.
printf 'allow %s *\nallow %s fib kv.get\nallow anonymous rpc.ping\n' \
  "$alice" "$bob" >"$acl"
kill -HUP "$server"
for _ in $(seq 1 100); do
  grep -q 'reload done: generation 2' "$log" && break
  sleep 0.1
done
grep -q 'reload done: generation 2' "$log" || fail "the reload did not finish"
# The new generation's kv store is empty: "not found" means kv.get ran.
expect_err "after reload bob may call kv.get" 1 'error 1 .*not found' -- \
  "${as_bob[@]}" call kv.get '"a"'
expect_err "but no longer rpc.list" 1 "error -32007" -- \
  "${as_bob[@]}" call rpc.list
expect "anonymous may ping" 0 '^status 0$' -- "$raw" "$bob_uri" "$queue" rpc.ping

stop_rpcd
cleanup_users
rm -f "$acl" "$acl.bad"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
