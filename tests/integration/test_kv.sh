#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kv.so served by rpcd on the private broker, called through rpcctl: every
# method with positional and named params, its application errors (1 not
# found, 2 store full) and the host's param checks (-32602 naming the
# param). JSON has no binary type, so a bin value is stored by a small SDK
# client built here, and read back both by it and by rpcctl (as base64).
#
#   test_kv.sh RPCCTL RPCD KV_SO BROKER_URI_FILE WORK_DIR CC INCLUDE_DIR \
#              CLIENT_LIB [CFLAGS]
set -uo pipefail

rpcctl=$1 rpcd=$2 kv=$3 uri_file=$4 work=$5 cc=$6 include=$7 client_lib=$8
read -ra cflags <<<"${9:-}"
uri=$(cat "$uri_file")
queue="rpcd-test-kv-$$-$RANDOM"
log="$work/rpcd-$queue.log"
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0


# shellcheck source=lib.sh
. "$here/lib.sh"
ctl=("$rpcctl" --uri "$uri" --queue "$queue")
# One worker: kv's store is per worker process, and every call must see the
# same one.
start_rpcd "$rpcd" --uri "$uri" --queue "$queue" --plugin "$kv" --workers 1 \
  --log-level debug

# Set, get, overwrite; positional and named.
expect "set" 0 '^null$' -- "${ctl[@]}" call kv.set '"a"' '"alpha"'
expect "get" 0 '^"alpha"$' -- "${ctl[@]}" call kv.get '"a"'
expect "set overwrites" 0 '^null$' -- "${ctl[@]}" call kv.set '"a"' '"A"'
expect "get the new value" 0 '^"A"$' -- "${ctl[@]}" call kv.get '"a"'
expect "named set, a map value" 0 '^null$' -- "${ctl[@]}" call --named \
  kv.set '{"value":{"x":[1,true,null,-2.5]},"key":"m"}'
expect "named get: the map as sent" 0 '^\{"x":\[1,true,null,-2\.5\]\}$' -- \
  "${ctl[@]}" call --named kv.get '{"key":"m"}'
expect "a key with a NUL byte and UTF-8" 0 '^null$' -- \
  "${ctl[@]}" call kv.set '"n\u0000\u00e9"' 7
expect "get it by the same bytes" 0 '^7$' -- \
  "${ctl[@]}" call kv.get '"n\u0000\u00e9"'

# Keys: sorted, by prefix, the prefix left out or named.
expect "keys, no prefix" 0 '^\["a","m","n\\u0000é"\]$' -- \
  "${ctl[@]}" call kv.keys
expect "keys with a prefix" 0 '^\["m"\]$' -- "${ctl[@]}" call kv.keys '"m"'
expect "keys, named prefix" 0 '^\["a"\]$' -- \
  "${ctl[@]}" call --named kv.keys '{"prefix":"a"}'
expect "keys, no match" 0 '^\[\]$' -- "${ctl[@]}" call kv.keys '"zz"'

# Delete, then not found (application error 1).
expect "del" 0 '^true$' -- "${ctl[@]}" call kv.del '"a"'
expect "del again" 0 '^false$' -- "${ctl[@]}" call kv.del '"a"'
expect_err "get a deleted key: error 1" 1 'error 1 .*not found: key "a"' -- \
  "${ctl[@]}" call kv.get '"a"'
expect_err "get a key never set: error 1" 1 'error 1 .*not found' -- \
  "${ctl[@]}" call --named kv.get '{"key":"nope"}'

# mset: a map param; the count; stats: a map result.
expect "mset" 0 '^3$' -- "${ctl[@]}" call kv.mset '{"x":1,"y":"two","z":[3]}'
expect "mset's values" 0 '^\[3\]$' -- "${ctl[@]}" call kv.get '"z"'
expect "named mset" 0 '^1$' -- \
  "${ctl[@]}" call --named kv.mset '{"entries":{"x":10}}'
expect "mset overwrote x" 0 '^10$' -- "${ctl[@]}" call kv.get '"x"'
expect "stats" 0 \
  '^\{"entries":5,"bytes":[0-9]+,"max_entries":1024,"max_value_bytes":65536\}$' \
  -- "${ctl[@]}" call kv.stats

# The host checks params before kv runs: -32602, naming the param
# (--no-check: rpcctl would refuse these itself, exit 2).
long=$(printf 'k%.0s' $(seq 1 256))
expect_err "key not a str" 1 'error -32602 .*param key: expected str' -- \
  "${ctl[@]}" call --no-check kv.set 5 '"v"'
expect_err "key too long" 1 'error -32602 .*param key: .*255' -- \
  "${ctl[@]}" call --no-check kv.get "\"$long\""
expect_err "value missing" 1 'error -32602 .*param value: missing' -- \
  "${ctl[@]}" call --no-check kv.set '"k"'
expect_err "entries not a map" 1 'error -32602 .*param entries: expected map' \
  -- "${ctl[@]}" call --no-check kv.mset '[1]'
expect_err "unknown named param" 1 'error -32602 .*param valu: unknown' -- \
  "${ctl[@]}" call --no-check --named kv.set '{"key":"k","valu":1}'
expect_err "prefix not a str" 1 'error -32602 .*param prefix' -- \
  "${ctl[@]}" call --no-check kv.keys 7
expect_err "too many params" 1 'error -32602 .*at most 1 param' -- \
  "${ctl[@]}" call --no-check kv.del '"a"' '"b"'
# ... and kv checks what the host cannot: an mset key, a value's size.
expect_err "mset key too long" 1 'error -32602 .*param entries: key 1 ' -- \
  "${ctl[@]}" call kv.mset "{\"ok\":1,\"$long\":2}"
# A str of 65534 bytes packs to 65537 (a 3-byte header), one over the limit.
big=$(printf 'v%.0s' $(seq 1 65534))
expect_err "value over 64 KiB" 1 'error -32602 .*param value: 65537 bytes' -- \
  "${ctl[@]}" call kv.set '"big"' "\"$big\""
expect "a value of 65536 bytes" 0 '^null$' -- \
  "${ctl[@]}" call kv.set '"big"' "\"${big:1}\""
expect "del it" 0 '^true$' -- "${ctl[@]}" call kv.del '"big"'

# The descriptor as rpc.describe shows it.
expect "describe kv.keys" 0 \
  '"signature":"kv\.keys\(prefix\?: str <=255 = \\"\\"\) -> array"' -- \
  "${ctl[@]}" call rpc.describe '"kv.keys"'

# A bin value round trip, through a client that sends one.
cat >"$work/kv_bin.c" <<'EOF'
/* kv_bin URI QUEUE: kv.set("bin", <bin 00 ff 80 41>), kv.get("bin"), and
 * check that the result is the same bin, byte for byte. */
#include <rpcd/client.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  static const unsigned char set[] = {0x92, 0xa3, 'b',  'i',  'n', 0xc4,
                                      0x04, 0x00, 0xff, 0x80, 'A'};
  static const unsigned char get[] = {0x91, 0xa3, 'b', 'i', 'n'};
  rpcd_client *c = NULL;
  rpcd_reply *r = NULL;
  const void *data;
  size_t len;
  int rc;

  if (argc != 3 || rpcd_client_new(&c) != RPCD_OK ||
      rpcd_client_set_queue(c, argv[2]) != RPCD_OK ||
      rpcd_client_connect(c, argv[1]) != RPCD_OK)
    return 2;
  rc = rpcd_client_call(c, "kv.set", set, sizeof(set), 5000, &r, 0);
  if (rc == RPCD_OK) {
    rpcd_reply_free(r);
    r = NULL;
    rc = rpcd_client_call(c, "kv.get", get, sizeof(get), 5000, &r, 0);
  }
  if (rc != RPCD_OK) {
    fprintf(stderr, "%s: %s\n", rpcd_strerror(rc),
            r ? rpcd_reply_error_message(r) : rpcd_client_last_error(c));
    return 1;
  }
  rpcd_reply_result(r, &data, &len);
  if (len != 6 || memcmp(data, set + 5, 6) != 0) {
    fprintf(stderr, "kv.get returned other bytes (%zu)\n", len);
    return 1;
  }
  rpcd_reply_free(r);
  rpcd_client_free(c);
  return 0;
}
EOF
if "$cc" "${cflags[@]}" -I"$include" -o "$work/kv_bin" "$work/kv_bin.c" \
  "$client_lib" -Wl,-rpath,"$(dirname "$client_lib")" \
  >"$work/kv-cc.txt" 2>&1; then
  expect "bin round trip through the SDK" 0 '' -- \
    "$work/kv_bin" "$uri" "$queue"
  expect "rpcctl prints the bin as base64" 0 '^"AP\+AQQ=="$' -- \
    "${ctl[@]}" call kv.get '"bin"'
else
  failed=$((failed + 1))
  echo "FAIL building the bin client: $(cat "$work/kv-cc.txt")"
fi

# Store full (application error 2): all or nothing, and an existing key can
# still be overwritten.
n=$("${ctl[@]}" call kv.stats | sed 's/.*"entries":\([0-9]*\).*/\1/')
entries() { # entries FROM COUNT: a JSON object of COUNT keys fFROM...
  local i sep=
  printf '{'
  for ((i = $1; i < $1 + $2; i++)); do
    printf '%s"f%d":%d' "$sep" "$i" "$i"
    sep=,
  done
  printf '}'
}
expect_err "mset over the limit: error 2" 1 'error 2 .*store full' -- \
  "${ctl[@]}" call kv.mset "$(entries 0 $((1024 - n + 1)))"
expect "nothing was stored" 0 "\"entries\":$n," -- "${ctl[@]}" call kv.stats
expect "mset up to the limit" 0 "^$((1024 - n))\$" -- \
  "${ctl[@]}" call kv.mset "$(entries 0 $((1024 - n)))"
expect_err "set a new key when full: error 2" 1 'error 2 .*store full' -- \
  "${ctl[@]}" call kv.set '"one-more"' 1
expect "overwrite when full" 0 '^null$' -- "${ctl[@]}" call kv.set '"x"' 11
expect "full stats" 0 '"entries":1024,' -- "${ctl[@]}" call kv.stats
expect "del makes room" 0 '^true$' -- "${ctl[@]}" call kv.del '"x"'
expect "then set works" 0 '^null$' -- "${ctl[@]}" call kv.set '"one-more"' 1

stop_rpcd
# close() ran in the worker at its clean exit, and logged what it freed.
grep -q 'store closed with 1024 entries' "$log" || {
  failed=$((failed + 1))
  echo "FAIL close(): no 'store closed with 1024 entries' in the log"
}
echo "kv: $passed passed, $failed failed"
[ "$failed" = 0 ]
