/* SPDX-License-Identifier: MIT */
/*
 * The examples run against rpcd with fib.so on the test broker: the poll(2)
 * one (examples/poll_client.c) and, when libuv is installed, the libuv one
 * (examples/libuv_client.c, <rpcd/adapters/libuv.h>): 2,000 calls, 64 in
 * flight, every result checked by the example itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static void run_example(const char *program)
{
  static const char *const args[] = {"--plugin", FIB_PLUGIN, "--prefetch", "64",
                                     NULL};
  char queue[128];
  char cmd[2048];
  pid_t server;

  h_unique_queue(queue, sizeof(queue));
  server = h_rpcd_start(queue, args);
  assert_true(server > 0);
  snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' 2000 64", program, h_broker_uri(),
           queue);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(h_rpcd_stop(server), 0);
}

static void test_poll_example(void **state)
{
  (void)state;
  run_example(POLL_CLIENT);
}

#ifdef LIBUV_CLIENT
static void test_libuv_example(void **state)
{
  (void)state;
  run_example(LIBUV_CLIENT);
}
#endif

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poll_example),
#ifdef LIBUV_CLIENT
      cmocka_unit_test(test_libuv_example),
#endif
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
