#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Takes a screenshot of the RabbitMQ management UI's page for a queue
# (rpc_queue by default) with headless Chromium, logged in as guest/guest:
# the private node of tools/broker.sh started with --management (the
# quickstart's, build/broker, by default).
#
#   tools/screenshot-mgmt.sh OUT.png [BROKER_DIR] [options]
#     --queue NAME       the queue to show (default rpc_queue, vhost /)
#     --consumers N      wait until the page shows at least N consumers
#                        (default 1)
#     --size WxH         the PNG's size in pixels (default 1400x1000)
#     --dom FILE         also write the page's DOM (HTML, after login) there
#
# The UI logs in with a JavaScript form and keeps the credentials in a
# cookie: neither credentials in the URL nor `chromium --screenshot` get past
# it. So Chromium runs with --remote-debugging-pipe and this script speaks
# the DevTools protocol to it over two pipes, in bash: it opens the page,
# fills in and submits the login form, waits for the queue page with its
# consumers, opens the "Consumers" section, and asks for a PNG of the
# viewport. Needs Debian's chromium package (apt-get install chromium).
# RPCD_SCREENSHOT_TIMEOUT (seconds, default 60) bounds the wait for the page.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
timeout_s=${RPCD_SCREENSHOT_TIMEOUT:-60}

usage() {
  sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "screenshot-mgmt.sh: $*" >&2
  exit 1
}

if [ $# -lt 1 ] || [[ $1 == -* ]]; then usage; fi
out=$1
shift
broker_dir=$root/build/broker
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  broker_dir=$1
  shift
fi
queue=rpc_queue consumers=1 width=1400 height=1000 dom=
while [ $# -gt 0 ]; do
  case $1 in
  --queue | --consumers | --size | --dom) [ $# -ge 2 ] || usage ;;&
  --queue) queue=$2 ;;
  --consumers) consumers=$2 ;;
  --size) [[ $2 =~ ^([0-9]+)x([0-9]+)$ ]] || usage
    width=${BASH_REMATCH[1]} height=${BASH_REMATCH[2]} ;;
  --dom) dom=$2 ;;
  *) usage ;;
  esac
  shift 2
done
[[ $consumers =~ ^[0-9]+$ ]] || usage
# The queue name goes into JavaScript and a URL: keep it to plain characters.
[[ $queue =~ ^[A-Za-z0-9._-]+$ ]] || die "unsupported queue name: $queue"

command -v chromium >/dev/null ||
  die "chromium is not installed (apt-get install -y chromium)"
url=$("$root/tools/broker.sh" management-url "$broker_dir") || exit 1
"$root/tools/broker.sh" status "$broker_dir" ||
  die "the broker in $broker_dir is not running"
# Check the login first: with credentials the API refuses, the UI's
# synchronous request would wait for an HTTP auth dialog headless Chromium
# never shows.
http_port=${url#http://127.0.0.1:}
http_port=${http_port%/}
{ exec 7<>"/dev/tcp/127.0.0.1/$http_port"; } 2>/dev/null ||
  die "nothing answers on $url"
printf 'GET /api/whoami HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAuthorization: Basic %s\r\n\r\n' \
  "$http_port" "$(printf guest:guest | base64)" >&7
status=$(timeout 10 head -n 1 <&7) || true
status=${status%$'\r'}
exec 7<&- 7>&-
[[ $status == "HTTP/1."[01]" 200"* ]] ||
  die "the management API at $url refused guest/guest: ${status:-no answer}"
page="${url}#/queues/%2F/$queue"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcd-screenshot.XXXXXX")
browser=
cleanup() {
  exec 5>&- 6<&- 2>/dev/null || true
  if [ -n "$browser" ]; then
    # Chromium started in a session of its own: end all of its processes.
    kill -TERM -- "-$browser" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$browser" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$browser" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# A write to a Chromium that is gone fails (and says so) instead of killing
# the script.
trap '' PIPE

# Chromium reads the protocol's commands on fd 3 and writes its answers and
# events on fd 4, each message a JSON text ended by a NUL byte.
mkfifo "$tmp/to-browser" "$tmp/from-browser"
sandbox=()
[ "$(id -u)" -ne 0 ] || sandbox=(--no-sandbox) # Chromium refuses root otherwise
setsid chromium --headless "${sandbox[@]}" --remote-debugging-pipe \
  --user-data-dir="$tmp/profile" --no-first-run --disable-gpu \
  --hide-scrollbars --window-size="$width,$height" about:blank \
  3<"$tmp/to-browser" 4>"$tmp/from-browser" >"$tmp/chromium.log" 2>&1 &
browser=$!
exec 5>"$tmp/to-browser" 6<"$tmp/from-browser"

next_id=0
session=
reply=

# cdp METHOD [PARAMS_JSON]: send a command (to the page's session once
# there is one) and set `reply` to its answer; events in between are
# skipped. Fails on an error answer, when Chromium is gone, or after 30 s.
cdp() {
  local method=$1 params=${2:-"{}"} msg left give_up=$((SECONDS + 30))
  next_id=$((next_id + 1))
  printf '{"id":%d,"method":"%s","params":%s%s}\0' "$next_id" "$method" \
    "$params" "${session:+,\"sessionId\":\"$session\"}" 2>/dev/null >&5 ||
    die "chromium is gone; its log: $(tail -n 5 "$tmp/chromium.log")"
  while :; do
    left=$((give_up - SECONDS))
    ((left > 0)) || die "timed out waiting for chromium ($method)"
    IFS= read -r -d '' -t "$left" -u 6 msg ||
      die "no answer from chromium to $method; its log: $(tail -n 5 "$tmp/chromium.log")"
    [[ $msg == "{\"id\":$next_id,"* ]] && break
  done
  [[ $msg != *'"error":{'* ]] || die "$method failed: $msg"
  reply=$msg
}

# js EXPRESSION: evaluate it in the page and set `value` to its value, a
# string that must need no JSON escaping. The expression must hold no
# double quotes, backslashes or newlines.
js() {
  cdp Runtime.evaluate "{\"expression\":\"$1\",\"returnByValue\":true}"
  value=$(sed -n 's/^.*"result":{"type":"string","value":"\([^"\\]*\)".*$/\1/p' <<<"$reply")
}

# The page's state: "login", "failed" (the form says so), "queue:N" when the
# queue's page shows N consumers, or "loading".
state_js="(function () {
  var st = document.querySelector('#login-status');
  if (st && /failed/i.test(st.textContent)) return 'failed';
  if (document.querySelector('#login form')) return 'login';
  var h1 = document.querySelector('#main h1');
  if (!h1 || h1.textContent.indexOf('$queue') < 0) return 'loading';
  var h2s = document.querySelectorAll('#main h2');
  for (var i = 0; i < h2s.length; i++) {
    var t = h2s[i].textContent.trim();
    if (t.indexOf('Consumers (') == 0)
      return 'queue:' + parseInt(t.slice(11), 10);
  }
  return 'loading';
})()"
state_js=$(tr '\n' ' ' <<<"$state_js")

login_js="(function () {
  var f = document.querySelector('#login form');
  f.querySelector('input[name=username]').value = 'guest';
  f.querySelector('input[name=password]').value = 'guest';
  setTimeout(function () { f.querySelector('input[type=submit]').click(); }, 0);
  return 'submitted';
})()"
login_js=$(tr '\n' ' ' <<<"$login_js")

# Open the Consumers section (hidden by default) and scroll to the top.
open_js="(function () {
  var h2s = document.querySelectorAll('#main div.section-hidden h2');
  for (var i = 0; i < h2s.length; i++)
    if (h2s[i].textContent.indexOf('Consumers') >= 0 &&
        !h2s[i].parentNode.classList.contains('section-visible'))
      h2s[i].click();
  window.scrollTo(0, 0);
  return 'opened';
})()"
open_js=$(tr '\n' ' ' <<<"$open_js")

cdp Target.createTarget '{"url":"about:blank"}'
target=$(sed -n 's/.*"targetId":"\([^"]*\)".*/\1/p' <<<"$reply")
[ -n "$target" ] || die "no page target: $reply"
cdp Target.attachToTarget "{\"targetId\":\"$target\",\"flatten\":true}"
session=$(sed -n 's/.*"sessionId":"\([^"]*\)".*/\1/p' <<<"$reply")
[ -n "$session" ] || die "could not attach to the page: $reply"
cdp Emulation.setDeviceMetricsOverride \
  "{\"width\":$width,\"height\":$height,\"deviceScaleFactor\":1,\"mobile\":false}"
cdp Page.navigate "{\"url\":\"$page\"}"

logged_in=0 state='' value=''
deadline=$((SECONDS + timeout_s))
while :; do
  js "$state_js"
  state=$value
  case $state in
  failed) die "the management UI refused guest/guest" ;;
  login)
    [ "$logged_in" = 0 ] || die "the login form came back after logging in"
    js "$login_js"
    logged_in=1
    ;;
  queue:*) [ "${state#queue:}" -lt "$consumers" ] || break ;;
  esac
  ((SECONDS < deadline)) ||
    die "the page of $queue with $consumers consumer(s) did not show within ${timeout_s}s (last state: ${state:-none})"
  sleep 0.5
done
js "$open_js"
sleep 1 # the section slides open

cdp Page.captureScreenshot '{"format":"png"}'
sed -n 's/.*"data":"\([^"]*\)".*/\1/p' <<<"$reply" | base64 -d >"$out.tmp" ||
  die "could not decode the screenshot"
mv "$out.tmp" "$out"
if [ -n "$dom" ]; then
  # As base64, so that no JSON string escapes need undoing here.
  js 'btoa(unescape(encodeURIComponent(document.documentElement.outerHTML)))'
  base64 -d <<<"$value" >"$dom" || die "could not decode the DOM"
fi
# Ask Chromium to quit; it may go without answering, and cleanup makes sure.
printf '{"id":%d,"method":"Browser.close","params":{}}\0' $((next_id + 1)) >&5 ||
  true
echo "$out: $queue with ${state#queue:} consumer(s), ${width}x$height, from $page" >&2
