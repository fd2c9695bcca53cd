#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the seed corpora (fuzz/corpus/<target>/) and the hand-made hostile
# inputs (fuzz/regressions/<target>/hand-*) that are committed. Run from
# anywhere; rerunning rewrites the same files. Crashers found by fuzzing are
# saved next to these by hand (minimized) and are not touched here.
set -eu
cd "$(dirname "$0")"

# put FILE 'printf-format-bytes'
put() {
  mkdir -p "$(dirname "$1")"
  # shellcheck disable=SC2059 # the format is the data: octal escapes
  printf "$2" >"$1"
}

# n copies of a printf byte sequence
rep() {
  i=0
  out=
  while [ "$i" -lt "$1" ]; do
    out="$out$2"
    i=$((i + 1))
  done
  printf '%s' "$out"
}

C=corpus
R=regressions

# --- requests ---------------------------------------------------------------
put $C/fuzz_request/request-fib '\224\000\001\243fib\221\012'
put $C/fuzz_request/request-ping-maxid '\224\000\316\377\377\377\377\250rpc.ping\220'
put $C/fuzz_request/request-map-params \
  '\224\000\007\244echo\201\241a\227\001\377\313\077\370\000\000\000\000\000\000\300\303\241s\304\002\000\001'
put $C/fuzz_request/request-nested-params \
  '\224\000\011\244echo\221\221\221\201\241k\222\324\001\002\332\000\003abc'
put $C/fuzz_request/notify-log '\223\002\251log.write\202\245level\244info\243msg\242hi'

put $R/fuzz_request/hand-bomb-array32 '\335\377\377\377\377'
put $R/fuzz_request/hand-params-bomb-map32 '\224\000\001\241x\337\377\377\377\377\000\000'
# root + params + 63 arrays = 65 levels
put $R/fuzz_request/hand-depth65-params "\224\000\001\241x$(rep 64 '\221')\001"
put $R/fuzz_request/hand-truncated-str32-method '\224\000\001\333\000\000\000\377fib'
put $R/fuzz_request/hand-method-256 "\224\000\001\332\001\000$(rep 256 'm')\220"
put $R/fuzz_request/hand-msgid-2pow32 '\224\000\317\000\000\000\001\000\000\000\000\241x\220'

# --- replies ----------------------------------------------------------------
put $C/fuzz_reply/result-int '\224\001\001\300\067'
put $C/fuzz_reply/result-pong-nil-msgid '\224\001\300\300\244pong'
put $C/fuzz_reply/error-not-found \
  '\224\001\002\202\244code\321\200\047\247message\260method not found\300'
put $C/fuzz_reply/error-with-data \
  '\224\001\003\203\244code\321\202\376\247message\244busy\244data\201\256retry_after_ms\144\300'
put $C/fuzz_reply/result-list \
  '\224\001\005\300\221\203\244name\243fib\246plugin\243fib\247version\2451.0.0'

put $R/fuzz_reply/hand-bomb-map32 '\337\377\377\377\377'
put $R/fuzz_reply/hand-depth65-result "\224\001\001\300$(rep 64 '\221')\001"
put $R/fuzz_reply/hand-truncated-str32-message \
  '\224\001\002\202\244code\052\247message\333\177\377\377\377oops\300'
put $R/fuzz_reply/hand-code-int32-overflow \
  '\224\001\002\201\244code\316\200\000\000\000\300'
put $R/fuzz_reply/hand-message-embedded-nul \
  '\224\001\002\202\244code\052\247message\243a\000b\300'

# --- raw msgpack ------------------------------------------------------------
put $C/fuzz_mp_decode/every-kind \
  '\334\000\015\300\303\377\317\000\000\000\000\000\000\001\000\323\200\000\000\000\000\000\000\000\312\000\000\000\000\241z\304\000\324\001\002\220\200\313\100\011\041\373\124\104\055\030\307\003\005abc'
put $C/fuzz_mp_decode/nested-maps \
  '\202\241a\201\241b\201\241c\221\320\200\241d\336\000\001\304\001\000\307\000\000'
put $C/fuzz_mp_decode/wide-headers \
  '\335\000\000\000\004\333\000\000\000\001x\306\000\000\000\001\000\311\000\000\000\001\177\000\337\000\000\000\001\001\002'
put $C/fuzz_mp_decode/depth64 "$(rep 64 '\221')\001"

put $R/fuzz_mp_decode/hand-bomb-array32 '\335\377\377\377\377'
put $R/fuzz_mp_decode/hand-depth65 "$(rep 65 '\221')\001"
put $R/fuzz_mp_decode/hand-depth65-empty "$(rep 64 '\221')\220"
put $R/fuzz_mp_decode/hand-truncated-str32 '\333\000\001\000\000abc'
put $R/fuzz_mp_decode/hand-c1-in-map '\202\001\002\301\003'

# --- params of a typed method (fuzz_params' descriptor) ----------------------
put $C/fuzz_params/positional '\222\036\375'
put $C/fuzz_params/named '\203\241n\005\241i\000\241s\242ab'
put $C/fuzz_params/every-param \
  '\232\135\005\001\241x\303\304\002\001\002\221\001\200\300\241q'
put $C/fuzz_params/out-of-range '\221\136'
put $R/fuzz_params/hand-named-twice '\202\241n\001\241n\002'
put $R/fuzz_params/hand-int-key '\202\001\001\241i\000'
put $R/fuzz_params/hand-nan '\223\001\001\313\177\370\000\000\000\000\000\000'
