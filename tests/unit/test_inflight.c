/* SPDX-License-Identifier: MIT */
/*
 * --max-in-flight (core/inflight.c): rules parsed with reasons, the first
 * matching rule counted, a call over the limit refused and not counted,
 * and a dead worker's place given back. The counters are plain memory
 * here; across processes they are the scoreboard's (integration tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rpcd/status.h>

#include "inflight.h"

static void parse_bad(const char *spec, const char *want)
{
  rpcd_inflight_rule r;
  char err[400];

  assert_int_equal(rpcd__inflight_rule_parse(spec, &r, err, sizeof(err)),
                   RPCD_EINVAL);
  if (!strstr(err, want))
    fail_msg("\"%s\": got \"%s\", want \"%s\" in it", spec, err, want);
}

static void test_parse(void **state)
{
  rpcd_inflight_rule r;
  char err[400];

  (void)state;
  assert_int_equal(rpcd__inflight_rule_parse("kv.*=4", &r, err, sizeof(err)),
                   RPCD_OK);
  assert_string_equal(r.pattern, "kv.*");
  assert_int_equal(r.max, 4);
  assert_int_equal(rpcd__inflight_rule_parse("*=65535", &r, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(r.max, 65535);
  parse_bad("fib", "expected PATTERN=N");
  parse_bad("=3", "expected PATTERN=N");
  parse_bad("fib=0", "from 1 to 65535");
  parse_bad("fib=65536", "from 1 to 65535");
  parse_bad("fib=-1", "from 1 to 65535");
  parse_bad("fib=2x", "from 1 to 65535");
  parse_bad("fib=", "from 1 to 65535");
  parse_bad("k*v=2", "'*' may only end a pattern");
  parse_bad("f b=2", "invalid character ' '");
}

static void test_gate(void **state)
{
  rpcd_inflight_rule rules[2];
  _Atomic unsigned counts[2] = {0, 0};
  _Atomic int held = -1;
  rpcd_gate g = {rules, 2, counts, &held};
  char why[400];
  char err[400];

  (void)state;
  assert_int_equal(
      rpcd__inflight_rule_parse("kv.set=1", &rules[0], err, sizeof(err)),
      RPCD_OK);
  assert_int_equal(
      rpcd__inflight_rule_parse("kv.*=2", &rules[1], err, sizeof(err)),
      RPCD_OK);
  /* The first match applies: kv.set has its own rule. */
  assert_int_equal(rpcd__gate_enter(&g, "kv.set", 6, why, sizeof(why)), 0);
  assert_int_equal(held, 0);
  assert_int_equal(counts[0], 1);
  assert_int_equal(rpcd__gate_enter(&g, "kv.set", 6, why, sizeof(why)),
                   RPCD_ERR_OVERLOADED);
  assert_non_null(strstr(why, "\"kv.set\" has 1 calls in flight"));
  assert_non_null(strstr(why, "--max-in-flight kv.set=1"));
  assert_int_equal(counts[0], 1); /* the refused call is not counted */
  rpcd__gate_leave(&g);
  assert_int_equal(counts[0], 0);
  assert_int_equal(held, -1);
  rpcd__gate_leave(&g); /* nothing held: nothing given back twice */
  assert_int_equal(counts[0], 0);

  /* Two places for the other kv methods, counted together. */
  assert_int_equal(rpcd__gate_enter(&g, "kv.get", 6, why, sizeof(why)), 0);
  counts[1]++; /* another worker's call */
  assert_int_equal(rpcd__gate_enter(&g, "kv.del", 6, why, sizeof(why)),
                   RPCD_ERR_OVERLOADED);
  /* Methods no rule names are not limited, and hold nothing. */
  held = -1;
  assert_int_equal(rpcd__gate_enter(&g, "fib", 3, why, sizeof(why)), 0);
  assert_int_equal(held, -1);
  /* The supervisor gives back what a dead worker held. */
  held = 1;
  rpcd__inflight_release(counts, &held);
  assert_int_equal(counts[1], 1);
  assert_int_equal(held, -1);
  /* No gate: everything may run. */
  assert_int_equal(rpcd__gate_enter(NULL, "kv.set", 6, why, sizeof(why)), 0);
}

int main(void)
{
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_gate),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
