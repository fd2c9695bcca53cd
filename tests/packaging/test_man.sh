#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The man pages render without a single warning, and they cannot drift from
# the code: every long and short flag of `rpcd --help` has an entry in the
# OPTIONS of rpcd.8, every flag of `rpcctl --help` is in rpcctl.1 (its global
# options with an entry in OPTIONS, its commands with one in COMMANDS), and
# the exit statuses both --help texts list have an entry in EXIT STATUS.
#
#   test_man.sh MAN_DIR RPCD RPCCTL
#
# MAN_DIR holds rpcd.8, rpcctl.1 and rpcd-plugin.7; RPCD and RPCCTL are the
# built binaries. Each page is rendered with
#   LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings=w -E UTF-8 PAGE
# (man-db, every groff warning on) and with groff -man -ww -z -Tutf8; any
# output on stderr fails the test. Exit status 77 (ctest's SKIP_RETURN_CODE)
# when neither man nor groff is installed (Debian: man-db, groff-base).
set -euo pipefail

man_dir=$1
rpcd=$2
rpcctl=$3
pages=(rpcd.8 rpcctl.1 rpcd-plugin.7)
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

have_man=0
have_groff=0
command -v man >/dev/null 2>&1 && have_man=1
command -v groff >/dev/null 2>&1 && have_groff=1
if [ $have_man = 0 ] && [ $have_groff = 0 ]; then
  echo "SKIP: neither man (man-db) nor groff (groff-base) is installed"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpcd-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. Rendering: no warnings, no errors, some text.
for page in "${pages[@]}"; do
  f=$man_dir/$page
  [ -f "$f" ] || {
    fail "$f: missing"
    continue
  }
  if [ $have_man = 1 ]; then
    st=0
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings=w -E UTF-8 -P cat "$f" \
      >"$tmp/out" 2>"$tmp/err" || st=$?
    if [ $st != 0 ] || [ -s "$tmp/err" ]; then
      fail "man -l $page (exit status $st):"
      sed 's/^/  /' "$tmp/err"
    elif [ "$(wc -l <"$tmp/out")" -lt 20 ]; then
      fail "man -l $page rendered only $(wc -l <"$tmp/out") lines"
    fi
  fi
  if [ $have_groff = 1 ]; then
    st=0
    LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$f" 2>"$tmp/err" || st=$?
    if [ $st != 0 ] || [ -s "$tmp/err" ]; then
      fail "groff -man -ww $page (exit status $st):"
      sed 's/^/  /' "$tmp/err"
    fi
  fi
done

# 2. The pages against the programs' --help.

# plain PAGE: the roff source with escapes a flag may carry taken out
# (\- is -, \% \& \| are nothing, font changes are dropped).
plain() {
  sed -e 's/\\-/-/g' -e 's/\\[%&|]//g' -e 's/\\f[BIRP]//g' \
    -e 's/\\f(..//g' -e 's/\\fB//g' "$1"
}

# section NAME: the lines of the plain page under .SH NAME, up to the next .SH.
section() {
  awk -v want="$1" '
    /^\.SH / {
      name = substr($0, 5)
      gsub(/"/, "", name)
      on = (name == want)
      next
    }
    on' "$tmp/page"
}

# tags: the lines that follow .TP or .TQ (the terms of a tagged list), from
# stdin.
tags() {
  awk '/^\.T[PQ]/ { tag = 1; next } tag { print; tag = 0 }'
}

# has_flag FLAG: stdin mentions FLAG as a whole word.
has_flag() {
  grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|$)"
}

# long_flags / short_flags: the flags a --help text (stdin) names.
long_flags() {
  grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
short_flags() {
  grep -oE -- '(^|[[ ,])-[A-Za-z]([] ,]|$)' | grep -oE -- '-[A-Za-z]' | sort -u
}

# exit_codes PAGE_SECTION_TEXT: the codes with a .TP entry, from stdin.
entries_codes() {
  tags | sed -nE 's/^\.B ([0-9]+)$/\1/p' | sort -u
}

# rpcd: every flag an entry of OPTIONS; the exit statuses of --help's last
# line entries of EXIT STATUS.
help=$("$rpcd" --help) || fail "$rpcd --help failed"
plain "$man_dir/rpcd.8" >"$tmp/page"
section OPTIONS | tags >"$tmp/options"
n=0
for flag in $(long_flags <<<"$help") $(short_flags <<<"$help"); do
  n=$((n + 1))
  has_flag "$flag" <"$tmp/options" ||
    fail "rpcd.8: $flag (rpcd --help) has no entry in OPTIONS"
done
[ $n -ge 25 ] || fail "found only $n flags in rpcd --help"
codes=$(sed -n 's/^Exit status: //p' <<<"$help" | grep -oE '(^|, )[0-9]+' |
  grep -oE '[0-9]+' | sort -u)
[ -n "$codes" ] || fail "rpcd --help lists no exit status"
have=$(section "EXIT STATUS" | entries_codes)
for c in $codes; do
  grep -qx "$c" <<<"$have" ||
    fail "rpcd.8: exit status $c (rpcd --help) has no entry in EXIT STATUS"
done

# rpcctl: every flag in the page; the global options entries of OPTIONS, the
# commands entries of COMMANDS, the exit statuses entries of EXIT STATUS.
help=$("$rpcctl" --help) || fail "$rpcctl --help failed"
plain "$man_dir/rpcctl.1" >"$tmp/page"
n=0
for flag in $(long_flags <<<"$help") $(short_flags <<<"$help"); do
  n=$((n + 1))
  has_flag "$flag" <"$tmp/page" ||
    fail "rpcctl.1: $flag (rpcctl --help) is not in the page"
done
[ $n -ge 20 ] || fail "found only $n flags in rpcctl --help"
opts_help=$(awk '/^Options:/ { on = 1; next } /^[^ ]/ { on = 0 } on' <<<"$help")
cmds_help=$(awk '/^Commands:/ { on = 1; next } /^[^ ]/ { on = 0 } on' <<<"$help")
codes_help=$(awk '/^Exit status:/ { on = 1; next } /^[^ ]/ { on = 0 } on' <<<"$help")
section OPTIONS | tags >"$tmp/options"
for flag in $(long_flags <<<"$opts_help") $(short_flags <<<"$opts_help"); do
  has_flag "$flag" <"$tmp/options" ||
    fail "rpcctl.1: option $flag (rpcctl --help) has no entry in OPTIONS"
done
section COMMANDS | tags >"$tmp/commands"
cmds=$(sed -nE 's/^  ([a-z]+)( .*)?$/\1/p' <<<"$cmds_help")
[ "$(wc -w <<<"$cmds")" -ge 6 ] || fail "found only these commands: $cmds"
for cmd in $cmds; do
  grep -qE "^\.B $cmd( |$)" "$tmp/commands" ||
    fail "rpcctl.1: command $cmd (rpcctl --help) has no entry in COMMANDS"
done
codes=$(sed -nE 's/^  ([0-9]+) .*/\1/p' <<<"$codes_help")
[ "$(wc -w <<<"$codes")" -ge 8 ] || fail "found only these exit statuses: $codes"
have=$(section "EXIT STATUS" | entries_codes)
for c in $codes; do
  grep -qx "$c" <<<"$have" ||
    fail "rpcctl.1: exit status $c (rpcctl --help) has no entry in EXIT STATUS"
done

# rpcd-plugin(7) names the plugin macros of <rpcd/plugin.h> it teaches.
plain "$man_dir/rpcd-plugin.7" >"$tmp/page"
for m in RPCD_PLUGIN_INFO RPCD_METHOD RPCD_METHODS_END RPCD_PLUGIN_DECLARE \
  RPCD_PARAMS_END rpcd_error rpcd_log rpcd_alloc rpcd_remaining_ms \
  "pkg-config --cflags --libs rpcd-plugin"; do
  grep -qF -- "$m" "$tmp/page" || fail "rpcd-plugin.7 does not mention $m"
done

if [ $failures -gt 0 ]; then
  echo "man pages: $failures failed"
  exit 1
fi
echo "man pages: ${#pages[@]} pages render without warnings; rpcd.8 and" \
  "rpcctl.1 cover every flag, command and exit status of --help"
