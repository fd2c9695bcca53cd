/* SPDX-License-Identifier: MIT */
/*
 * Per-method metrics (core/metrics.c) and their Prometheus text
 * (core/metrics_http.c): entries claimed once per name, outcomes counted
 * by code, the histogram's buckets, the last error, a dead worker's call,
 * and the exposition text for exactly those counts. The scoreboard is
 * mapped as the server maps it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <rpcd/status.h>

#include "metrics.h"
#include "metrics_http.h"
#include "scoreboard.h"

static void test_codes(void **state)
{
  (void)state;
  assert_int_equal(rpcd__metric_code(0), RPCD_MC_OK);
  assert_int_equal(rpcd__metric_code(RPCD_ERR_INVALID_PARAMS),
                   RPCD_MC_INVALID_PARAMS);
  assert_int_equal(rpcd__metric_code(RPCD_ERR_FORBIDDEN), RPCD_MC_FORBIDDEN);
  assert_int_equal(rpcd__metric_code(7), RPCD_MC_APPLICATION);
  assert_int_equal(rpcd__metric_code(-5), RPCD_MC_OTHER);
  assert_string_equal(rpcd__metric_code_name(RPCD_MC_OK), "0");
  assert_string_equal(rpcd__metric_code_name(RPCD_MC_CRASHED), "-32000");
  assert_string_equal(rpcd__metric_code_name(RPCD_MC_APPLICATION),
                      "application");
}

static void test_entries(void **state)
{
  rpcd_scoreboard *sb = rpcd__scoreboard_create(2, 4);
  rpcd_metrics *m;
  char name[16];
  int fib;
  int i;

  (void)state;
  assert_non_null(sb);
  m = &sb->metrics;
  fib = rpcd__metrics_entry(m, "fib", 3);
  assert_true(fib >= 0);
  assert_int_equal(rpcd__metrics_entry(m, "fib", 3), fib);
  assert_int_not_equal(rpcd__metrics_entry(m, "fibo", 4), fib);
  assert_int_not_equal(rpcd__metrics_entry(m, "fi", 2), fib);
  /* Full: later methods are not counted, earlier ones still are. */
  for (i = 0; i < RPCD_METRICS_METHODS; i++) {
    int n = snprintf(name, sizeof(name), "m%d", i);

    rpcd__metrics_entry(m, name, (size_t)n);
  }
  assert_int_equal(rpcd__metrics_entry(m, "late", 4), -1);
  assert_int_equal(rpcd__metrics_entry(m, "fib", 3), fib);
  rpcd__scoreboard_destroy(sb);
}

static void test_calls_and_text(void **state)
{
  rpcd_scoreboard *sb = rpcd__scoreboard_create(2, 4);
  rpcd_metrics *m;
  char text[200];
  int64_t when;
  char *expo;
  size_t len;
  int code;
  int ix;

  (void)state;
  assert_non_null(sb);
  m = &sb->metrics;
  ix = rpcd__metrics_entry(m, "fib", 3);
  assert_false(
      rpcd__metrics_last_error(m, ix, &code, &when, text, sizeof(text)));
  rpcd__metrics_begin(m, ix);
  assert_int_equal(m->methods[ix].in_flight, 1);
  rpcd__metrics_end(m, ix, 0, 50, NULL); /* bucket <= 100 us */
  rpcd__metrics_begin(m, ix);
  rpcd__metrics_end(m, ix, 0, 100, NULL); /* still <= 100 us */
  rpcd__metrics_begin(m, ix);
  rpcd__metrics_end(m, ix, RPCD_ERR_INVALID_PARAMS, 3000, "param n: bad");
  rpcd__metrics_begin(m, ix);
  rpcd__metrics_abort(m, ix, RPCD_ERR_HANDLER_CRASHED,
                      "handler crashed: SIGSEGV");
  rpcd__metrics_begin(m, ix);
  rpcd__metrics_abort(m, ix, 0, NULL); /* handed back: not a call */
  assert_int_equal(m->methods[ix].in_flight, 0);
  assert_int_equal(m->methods[ix].calls[RPCD_MC_OK], 2);
  assert_int_equal(m->methods[ix].calls[RPCD_MC_INVALID_PARAMS], 1);
  assert_int_equal(m->methods[ix].calls[RPCD_MC_CRASHED], 1);
  assert_int_equal(m->methods[ix].buckets[0], 2);
  assert_int_equal(m->methods[ix].buckets[5], 1); /* 2500 < 3000 <= 5000 */
  assert_int_equal(m->methods[ix].time_us, 3150);
  assert_true(
      rpcd__metrics_last_error(m, ix, &code, &when, text, sizeof(text)));
  assert_int_equal(code, RPCD_ERR_HANDLER_CRASHED);
  assert_string_equal(text, "handler crashed: SIGSEGV");
  assert_true(when > 0);
  m->rejected[RPCD_MC_METHOD_NOT_FOUND] = 4;

  assert_int_equal(rpcd__metrics_text(sb, &expo, &len), RPCD_OK);
  assert_int_equal(strlen(expo), len);
  assert_non_null(strstr(expo, "# TYPE rpcd_calls_total counter\n"));
  assert_non_null(
      strstr(expo, "rpcd_calls_total{method=\"fib\",code=\"0\"} 2\n"));
  assert_non_null(
      strstr(expo, "rpcd_calls_total{method=\"fib\",code=\"-32602\"} 1\n"));
  assert_non_null(
      strstr(expo, "rpcd_calls_total{method=\"fib\",code=\"-32000\"} 1\n"));
  assert_non_null(strstr(expo, "rpcd_calls_in_flight{method=\"fib\"} 0\n"));
  /* Cumulative buckets; the crash has no time and is not in them. */
  assert_non_null(strstr(
      expo,
      "rpcd_call_duration_seconds_bucket{method=\"fib\",le=\"0.0001\"} 2\n"));
  assert_non_null(strstr(
      expo,
      "rpcd_call_duration_seconds_bucket{method=\"fib\",le=\"0.005\"} 3\n"));
  assert_non_null(strstr(
      expo,
      "rpcd_call_duration_seconds_bucket{method=\"fib\",le=\"+Inf\"} 3\n"));
  assert_non_null(strstr(
      expo, "rpcd_call_duration_seconds_sum{method=\"fib\"} 0.003150\n"));
  assert_non_null(
      strstr(expo, "rpcd_call_duration_seconds_count{method=\"fib\"} 3\n"));
  assert_non_null(
      strstr(expo, "rpcd_requests_rejected_total{code=\"-32601\"} 4\n"));
  /* No worker consumes in this scoreboard. */
  assert_non_null(strstr(expo, "rpcd_serving 0\n"));
  free(expo);
  rpcd__scoreboard_destroy(sb);
}

int main(void)
{
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codes),
      cmocka_unit_test(test_entries),
      cmocka_unit_test(test_calls_and_text),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
