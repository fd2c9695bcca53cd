#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The management UI of a private node (tools/broker.sh start --management)
# shows rpcd's consumers, and tools/screenshot-mgmt.sh logs in to it and
# takes a PNG of the rpc_queue page. The test starts a node of its own and
# rpcd with fib.so and N workers on rpc_queue, then checks that:
#   - the management API reports N consumers on rpc_queue;
#   - the screenshot is a PNG of the size asked for;
#   - the DOM of the page it shot (after login) names rpc_queue, says
#     "Consumers (N)" and lists each consumer tag the API reports;
#   - without the login, `chromium --headless --dump-dom` of the same URL
#     is the login form (so the login is what got the page).
# Exits 77 (skipped) when chromium is not installed.
#
#   test_mgmt_screenshot.sh RPCCTL RPCD FIB_SO BROKER_SH SCREENSHOT_SH WORK_DIR
set -uo pipefail

rpcctl=$1 rpcd=$2 fib=$3 broker_sh=$4 screenshot=$5 work=$6
if ! command -v chromium >/dev/null; then
  echo "SKIP: chromium is not installed (apt-get install -y chromium)"
  exit 77
fi

scratch="$work/mgmt-$$"
node="$scratch/broker"
log="$work/rpcd-mgmt-$$.log" # kept: run-tests.sh scans these for TSan reports
png="$scratch/rpc_queue.png"
dom="$scratch/rpc_queue.html"
workers=3 width=1280 height=900
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
server=

# shellcheck source=lib.sh
. "$here/lib.sh"

cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null &&
    wait "$server" 2>/dev/null
  "$broker_sh" stop "$node" >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT
mkdir -p "$scratch"
touch "$log"

check() { # check NAME CONDITION_STATUS [DETAIL]
  if [ "$2" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1${3:+: $3}"
  fi
}

# http_get PATH: the body of GET http://127.0.0.1:$port/PATH as guest, in
# plain bash (curl need not be installed).
http_get() {
  local response
  { exec 8<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAuthorization: Basic %s\r\n\r\n' \
    "$1" "$port" "$(printf guest:guest | base64)" >&8
  response=$(timeout 10 cat <&8)
  exec 8<&- 8>&-
  [[ $response == "HTTP/1."[01]" 200"* ]] || return 1
  printf '%s\n' "${response#*$'\r\n\r\n'}"
}

uri=$("$broker_sh" start "$node" --management) ||
  fail "could not start a broker with the management plugin"
port=$(cat "$node/management-port")
url=$("$broker_sh" management-url "$node")
check "management-url names the port" "$([ "$url" = "http://127.0.0.1:$port/" ]; echo $?)" "$url"

ctl=(timeout 30 "$rpcctl" --uri "$uri" --timeout 5000)
RPCD_URI="$uri" "$rpcd" --plugin "$fib" --workers "$workers" >"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  "${ctl[@]}" ping >/dev/null 2>&1 && break
  sleep 0.1
done
expect "rpcd serves fib on rpc_queue" 0 '^832040$' -- "${ctl[@]}" call fib 30

# The API's consumer count (its statistics lag up to 5 s behind).
consumers=
for _ in $(seq 1 60); do
  body=$(http_get /api/queues/%2F/rpc_queue) &&
    consumers=$(grep -o '"consumers":[0-9]*' <<<"$body" | head -n 1 | cut -d: -f2)
  [ "${consumers:-0}" = "$workers" ] && break
  sleep 0.5
done
check "the API reports $workers consumers on rpc_queue" \
  "$([ "$consumers" = "$workers" ]; echo $?)" "consumers: ${consumers:-none}"
mapfile -t tags < <(grep -o '"consumer_tag":"[^"]*"' <<<"${body:-}" | cut -d'"' -f4)
check "the API lists $workers consumer tags" \
  "$([ "${#tags[@]}" = "$workers" ]; echo $?)" "tags: ${tags[*]}"

"$screenshot" "$png" "$node" --consumers "$workers" \
  --size "${width}x$height" --dom "$dom"
status=$?
check "screenshot-mgmt.sh succeeds" "$status" "exit status $status"

# A PNG: the 8-byte signature, then the IHDR chunk with the width and the
# height as 32-bit big-endian numbers (bytes 16-23).
read -ra b < <(head -c 24 "$png" 2>/dev/null | od -An -v -tu1 | tr '\n' ' ')
check "the screenshot is a PNG" \
  "$([ "${b[*]:0:8}" = "137 80 78 71 13 10 26 10" ] &&
    [ "${b[*]:12:4}" = "73 72 68 82" ]; echo $?)" "header bytes: ${b[*]:-none}"
png_w=$(((${b[16]:-0} << 24) | (${b[17]:-0} << 16) | (${b[18]:-0} << 8) | ${b[19]:-0}))
png_h=$(((${b[20]:-0} << 24) | (${b[21]:-0} << 16) | (${b[22]:-0} << 8) | ${b[23]:-0}))
check "the screenshot is ${width}x$height" \
  "$([ "$png_w" = "$width" ] && [ "$png_h" = "$height" ]; echo $?)" \
  "${png_w}x$png_h"
size=$(stat -c %s "$png" 2>/dev/null || echo 0)
check "the screenshot is not blank" "$([ "$size" -gt 20000 ]; echo $?)" \
  "$size bytes"

page=$(cat "$dom" 2>/dev/null)
check "the page is the queue's" \
  "$(grep -q '<h1>Queue <b>rpc_queue</b>' <<<"$page"; echo $?)" \
  "$(grep -o '<h1>.*</h1>' <<<"$page" | head -n 1)"
check "the page shows $workers consumers" \
  "$(grep -q "Consumers ($workers)" <<<"$page"; echo $?)" \
  "$(grep -o 'Consumers ([0-9]*)' <<<"$page" | head -n 1)"
for tag in "${tags[@]}"; do
  check "the page lists consumer $tag" "$(grep -qF "$tag" <<<"$page"; echo $?)"
done
check "the page is logged in, not the login form" \
  "$(! grep -q 'name="password"' <<<"$page"; echo $?)"

# Without the login, the same URL is the login form.
sandbox=()
[ "$(id -u)" -ne 0 ] || sandbox=(--no-sandbox)
plain=$(timeout 60 chromium --headless "${sandbox[@]}" --disable-gpu \
  --user-data-dir="$scratch/profile" --virtual-time-budget=5000 \
  --dump-dom "${url}#/queues/%2F/rpc_queue" 2>/dev/null)
check "without the login, --dump-dom gets the login form" \
  "$(grep -q 'name="password"' <<<"$plain" && ! grep -q 'Consumers (' <<<"$plain"; echo $?)" \
  "$(head -c 300 <<<"$plain")"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
