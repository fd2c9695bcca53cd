/* SPDX-License-Identifier: MIT */
/*
 * The scoreboard (core/scoreboard.c): request keys, slots, and tombstones
 * claimed once. Shared memory across processes is exercised by the process
 * model's integration tests; here one process checks the rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scoreboard.h"

static void test_request_key(void **state)
{
  static char big[1000];
  uint64_t k;

  (void)state;
  k = rpcd__request_key("cid-1", 5, "body", 4);
  assert_true(k == rpcd__request_key("cid-1", 5, "body", 4));
  assert_true(k != rpcd__request_key("cid-2", 5, "body", 4));
  assert_true(k != rpcd__request_key("cid-1", 5, "bodx", 4));
  assert_true(k != rpcd__request_key("cid-1", 5, "body!", 5));
  /* The id and the body do not run into each other. */
  assert_true(rpcd__request_key("ab", 2, "c", 1) !=
              rpcd__request_key("a", 1, "bc", 2));
  assert_true(rpcd__request_key(NULL, 0, NULL, 0) ==
              rpcd__request_key(NULL, 0, NULL, 0));
  /* A large body counts by its length and its ends. */
  memset(big, 'x', sizeof(big));
  k = rpcd__request_key("c", 1, big, sizeof(big));
  big[0] = 'y';
  assert_true(k != rpcd__request_key("c", 1, big, sizeof(big)));
  big[0] = 'x';
  big[sizeof(big) - 1] = 'y';
  assert_true(k != rpcd__request_key("c", 1, big, sizeof(big)));
  big[sizeof(big) - 1] = 'x';
  assert_true(k != rpcd__request_key("c", 1, big, sizeof(big) - 1));
}

static void test_slots(void **state)
{
  rpcd_scoreboard *sb = rpcd__scoreboard_create(2, 4);
  int a;
  int b;

  (void)state;
  assert_non_null(sb);
  a = rpcd__slot_take(sb, 1);
  b = rpcd__slot_take(sb, 1);
  assert_true(a >= 0 && b >= 0 && a != b);
  assert_int_equal(rpcd__slot_take(sb, 1), -1); /* all taken */
  assert_int_equal(atomic_load(&sb->slots[a].state), RPCD_SLOT_IDLE);

  sb->slots[a].req.key = 42;
  atomic_store(&sb->slots[a].state, RPCD_SLOT_RUNNING);
  assert_true(rpcd__slot_running_elsewhere(sb, b, 42));
  assert_false(rpcd__slot_running_elsewhere(sb, a, 42)); /* itself */
  assert_false(rpcd__slot_running_elsewhere(sb, b, 43));
  atomic_store(&sb->slots[a].state, RPCD_SLOT_IDLE);
  assert_false(rpcd__slot_running_elsewhere(sb, b, 42));

  rpcd__slot_release(sb, a);
  assert_int_equal(rpcd__slot_take(sb, 2), a);
  assert_int_equal(atomic_load(&sb->slots[a].generation), 2);
  assert_int_equal(atomic_load(&sb->slots[a].calls), 0);
  rpcd__scoreboard_destroy(sb);
}

static void test_tombstones(void **state)
{
  rpcd_scoreboard *sb = rpcd__scoreboard_create(1, 2);
  rpcd_slot_request req;
  rpcd_tombstone t;
  int i;

  (void)state;
  assert_non_null(sb);
  memset(&req, 0, sizeof(req));
  req.key = 7;
  strcpy(req.method, "crash.segv");
  assert_false(rpcd__tomb_claim(sb, 7, &t));
  rpcd__tomb_add(sb, &req, "handler-crashed", "SIGSEGV");
  /* Claimed once: a second redelivery of the same key would run. */
  assert_true(rpcd__tomb_claim(sb, 7, &t));
  assert_string_equal(t.reason, "handler-crashed");
  assert_string_equal(t.signal, "SIGSEGV");
  assert_string_equal(t.method, "crash.segv");
  assert_false(rpcd__tomb_claim(sb, 7, &t));
  /* The ring keeps the newest: key 7 again, then two more push it out. */
  rpcd__tomb_add(sb, &req, "handler-crashed", "SIGSEGV");
  for (i = 0; i < 2; i++) {
    req.key = 100 + (uint64_t)i;
    rpcd__tomb_add(sb, &req, "handler-crashed", "SIGABRT");
  }
  assert_false(rpcd__tomb_claim(sb, 7, &t));
  assert_true(rpcd__tomb_claim(sb, 101, &t));
  rpcd__scoreboard_destroy(sb);
}

/* The answered ring: what a worker answered and may not have acked. */
static void test_answered(void **state)
{
  rpcd_scoreboard *sb = rpcd__scoreboard_create(2, 128);
  rpcd_tombstone t;
  uint64_t k;
  int a;
  int b;

  (void)state;
  assert_non_null(sb);
  a = rpcd__slot_take(sb, 1);
  b = rpcd__slot_take(sb, 1);
  assert_false(rpcd__answered_anywhere(sb, 7));
  rpcd__slot_note_answered(&sb->slots[a], 7);
  /* Seen from every slot, its own too (a reconnected worker). */
  assert_true(rpcd__answered_anywhere(sb, 7));
  assert_false(rpcd__answered_anywhere(sb, 8));

  /* The ring keeps the last RPCD_SLOT_ANSWERED keys. */
  for (k = 100; k < 100 + RPCD_SLOT_ANSWERED; k++)
    rpcd__slot_note_answered(&sb->slots[b], k);
  assert_true(rpcd__answered_anywhere(sb, 100));
  rpcd__slot_note_answered(&sb->slots[b], 999);
  assert_false(rpcd__answered_anywhere(sb, 100)); /* overwritten */
  assert_true(rpcd__answered_anywhere(sb, 101));
  assert_true(rpcd__answered_anywhere(sb, 999));

  /* Buried: the ring is empty, and each key is an "answered" tombstone,
   * claimed once. */
  rpcd__slot_bury_answered(sb, a);
  assert_int_equal(atomic_load(&sb->slots[a].n_answered), 0);
  assert_false(rpcd__answered_anywhere(sb, 7));
  assert_true(rpcd__tomb_claim(sb, 7, &t));
  assert_true(t.answered);
  assert_false(rpcd__tomb_claim(sb, 7, &t));
  /* A crash's tombstone is not an answered one. */
  sb->slots[b].req.key = 55;
  rpcd__tomb_add(sb, &sb->slots[b].req, "handler-crashed", "SIGSEGV");
  assert_true(rpcd__tomb_claim(sb, 55, &t));
  assert_false(t.answered);
  /* A new worker in a slot starts with an empty ring. */
  rpcd__slot_release(sb, b);
  assert_int_equal(rpcd__slot_take(sb, 2), b);
  assert_false(rpcd__answered_anywhere(sb, 999));
  rpcd__scoreboard_destroy(sb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_key),
      cmocka_unit_test(test_slots),
      cmocka_unit_test(test_tombstones),
      cmocka_unit_test(test_answered),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
