#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# TLS to the broker. The test makes a throwaway CA (tools/tls-certs.sh) and
# starts a private node of its own with a TLS listener and SASL EXTERNAL;
# then rpcd, the SDK (rpcctl is built on it, and bench drives its event
# loop with many calls in flight) and rpcctl call fib over amqps://, with
# and without client certificates and with EXTERNAL login (whose user the
# ACL sees). A wrong CA, an expired certificate on either side, a host name
# the certificate does not list, plain AMQP to the TLS port and TLS to the
# plain port each fail at once with a message that says so.
#
#   test_tls.sh RPCCTL RPCD FIB_SO BROKER_SH TLS_CERTS_SH WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_sh=$4 tls_certs=$5 work=$6
queue="rpcd-test-tls-$$-$RANDOM"
log="$work/rpcd-$queue.log"
certs="$work/tls-$$/certs"
node="$work/tls-$$/broker"
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
s_server=

# shellcheck source=lib.sh
. "$here/lib.sh"

at_exit() {
  [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null &&
    wait "$server" 2>/dev/null
  [ -n "$s_server" ] && kill "$s_server" 2>/dev/null
  "$broker_sh" stop "$node" >/dev/null 2>&1
  rm -rf "$work/tls-$$"
}
trap at_exit EXIT
touch "$log"

"$tls_certs" "$certs" >/dev/null || fail "could not make the certificates"
"$broker_sh" start "$node" --tls "$certs" >/dev/null ||
  fail "could not start a broker with a TLS listener"
tls_port=$(cat "$node/tls-port")
plain_uri=$(cat "$node/uri")
plain_port=${plain_uri##*:}
tls_uri="amqps://guest:guest@localhost:$tls_port"
ca=(--tls-ca "$certs/ca.pem")
client_cert=(--tls-cert "$certs/client.pem" --tls-key "$certs/client.key")
cert_user=rpcd-tls-client
"$broker_sh" ctl "$node" add_user "$cert_user" "unused-$$" >/dev/null 2>&1 &&
  "$broker_sh" ctl "$node" set_permissions -p / "$cert_user" '.*' '.*' '.*' \
    >/dev/null 2>&1 || fail "could not add the certificate's broker user"

# Everything below must fail or succeed well within this: never a hang.
call=(timeout 30 "$rpcctl" --timeout 5000 --queue "$queue")

# rpcd over TLS, verifying the broker against the test CA.
ctl=("${call[@]}" --uri "$tls_uri" "${ca[@]}")
start_rpcd "$rpcd" --uri "$tls_uri" "${ca[@]}" --queue "$queue" \
  --plugin "$fib" --workers 2
expect "rpcctl over TLS" 0 '^832040$' -- "${ctl[@]}" call fib 30
expect "the SDK's event loop over TLS, 64 in flight" 0 \
  '"calls": *400,.*"errors": *0' -- \
  "${ctl[@]}" bench -n 400 -c 64 --json fib 10
expect "mutual TLS" 0 '^55$' -- "${ctl[@]}" "${client_cert[@]}" call fib 10
# The workers were forked with the supervisor's TLS connection open: it
# must outlive them (a child's TLS close would end it).
sleep 1.5
if grep -q "supervisor's broker connection" "$log"; then
  failed=$((failed + 1))
  echo "FAIL the supervisor's TLS connection was lost:"
  grep "supervisor's broker connection" "$log"
else
  passed=$((passed + 1))
fi
expect "EXTERNAL login" 0 '^55$' -- \
  "${call[@]}" --uri "amqps://localhost:$tls_port" "${ca[@]}" \
  "${client_cert[@]}" --auth-external call fib 10
expect_err "insecure warns, and connects to an unlisted host" 0 \
  'warning: --tls-insecure' -- \
  "${call[@]}" --uri "amqps://guest:guest@127.0.0.1:$tls_port" \
  --tls-insecure call fib 10

# What a client cannot accept, with words to act on.
expect_err "a wrong CA" 5 \
  "certificate was refused: .*not signed by a CA the client trusts" -- \
  "${call[@]}" --uri "$tls_uri" --tls-ca "$certs/other-ca.pem" call fib 1
expect_err "a host name the certificate does not list" 5 \
  'certificate is not for host "127\.0\.0\.1"' -- \
  "${call[@]}" --uri "amqps://guest:guest@127.0.0.1:$tls_port" "${ca[@]}" \
  call fib 1
expect_err "plain AMQP to the TLS port" 5 \
  "is port $tls_port a TLS port\\? then use amqps://" -- \
  "${call[@]}" --uri "amqp://guest:guest@localhost:$tls_port" call fib 1
expect_err "TLS to the plain port" 5 \
  "is port $plain_port a plain AMQP port\\? then use amqp://" -- \
  "${call[@]}" --uri "amqps://guest:guest@localhost:$plain_port" "${ca[@]}" \
  call fib 1
expect_err "an expired client certificate, refused by the broker" 5 \
  'broker ended the connection at login' -- \
  "${call[@]}" --uri "$tls_uri" "${ca[@]}" --tls-cert "$certs/expired.pem" \
  --tls-key "$certs/expired.key" call fib 1
expect_err "TLS options with a plain URI" 2 'use amqps://' -- \
  "${call[@]}" --uri "$plain_uri" "${ca[@]}" call fib 1
expect_err "a key that is not the certificate's" 2 \
  "client key \".*server\\.key\": " -- \
  "${call[@]}" --uri "$tls_uri" --tls-cert "$certs/client.pem" \
  --tls-key "$certs/server.key" call fib 1

# A server whose certificate expired: openssl's own TLS server.
s_port=$((20000 + RANDOM % 30000))
openssl s_server -quiet -accept "127.0.0.1:$s_port" \
  -cert "$certs/expired.pem" -key "$certs/expired.key" </dev/null \
  >/dev/null 2>&1 &
s_server=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$s_port") 2>/dev/null && break
  sleep 0.1
done
expect_err "an expired broker certificate" 5 \
  'certificate was refused: certificate has expired' -- \
  "${call[@]}" --uri "amqps://guest:guest@localhost:$s_port" "${ca[@]}" \
  call fib 1

# rpcd refuses what it cannot use before it starts anything.
expect_err "rpcd: unreadable CA file" 2 "CA file \".*none\\.pem\"" -- \
  timeout 30 "$rpcd" --uri "$tls_uri" --tls-ca "$certs/none.pem" \
  --queue "$queue" --plugin "$fib"
expect_err "rpcd: TLS options with a plain URI" 2 'use amqps://' -- \
  timeout 30 "$rpcd" --uri "$plain_uri" "${ca[@]}" --queue "$queue" \
  --plugin "$fib"
expect_err "rpcd: EXTERNAL without a certificate" 2 \
  'EXTERNAL login needs a client certificate' -- \
  timeout 30 "$rpcd" --uri "$tls_uri" "${ca[@]}" --auth-external \
  --queue "$queue" --plugin "$fib"
expect_err "rpcd: a wrong CA fails the start with the reason" 1 \
  'not signed by a CA the client trusts' -- \
  timeout 30 "$rpcd" --uri "$tls_uri" --tls-ca "$certs/other-ca.pem" \
  --queue "$queue" --plugin "$fib"
stop_rpcd

# rpcd logged in by its certificate (EXTERNAL, mutual TLS): requests that
# arrive by EXTERNAL carry the certificate's user, which the ACL goes by.
printf 'allow %s fib rpc.*\n' "$cert_user" >"$work/tls-$$/acl"
as_guest=("${ctl[@]}")
ctl=("${call[@]}" --uri "amqps://localhost:$tls_port" "${ca[@]}"
  "${client_cert[@]}" --auth-external)
start_rpcd "$rpcd" --uri "amqps://localhost:$tls_port" "${ca[@]}" \
  "${client_cert[@]}" --auth-external --acl "$work/tls-$$/acl" \
  --queue "$queue" --plugin "$fib" --workers 1
expect "EXTERNAL rpcd and client, the ACL allows the certificate's user" 0 \
  '^832040$' -- "${ctl[@]}" call fib 30
expect_err "guest is not in the ACL" 1 'error -32007 .*user "guest"' -- \
  "${as_guest[@]}" call fib 30
stop_rpcd
ctl=("${as_guest[@]}")

# --tls-insecure warns at every connect.
start_rpcd "$rpcd" --uri "amqps://guest:guest@127.0.0.1:$tls_port" \
  --tls-insecure --queue "$queue" --plugin "$fib" --workers 1
expect "insecure rpcd serves" 0 '^55$' -- "${ctl[@]}" call fib 10
n=$(grep -c 'tls-insecure: connecting without checking' "$log")
if [ "$n" -ge 2 ]; then # the supervisor's connection and the worker's
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL insecure warnings: $n, want one per connect (2 or more)"
fi
stop_rpcd

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
