/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SDK's correlation table (sdk/pending.c): inserting many
 * calls, finding them by correlation id and by call id, growth, removal
 * (including a randomised run checked against a plain array), unknown and
 * stale ids, outcomes and the ownership of the replies they carry.
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

/* The table only stores reply pointers; a stand-in is enough here. */
struct rpcd_reply {
  int tag;
};

static int replies_freed;

static void count_free(rpcd_reply *r)
{
  replies_freed++;
  free(r);
}

static rpcd_reply *new_reply(int tag)
{
  rpcd_reply *r = malloc(sizeof(*r));

  assert_non_null(r);
  r->tag = tag;
  return r;
}

/* A well-formed, distinct correlation id for each n. */
static void make_cid(char out[RPCD_CID_LEN + 1], unsigned n)
{
  snprintf(out, RPCD_CID_LEN + 1, "%08x-0000-4000-8000-%012x", n, n * 7919u);
  assert_int_equal(strlen(out), RPCD_CID_LEN);
}

static int setup(void **state)
{
  rpcd_pending_table *t = malloc(sizeof(*t));

  if (!t || rpcd__pending_init(t, count_free) != RPCD_OK) {
    free(t);
    return -1;
  }
  replies_freed = 0;
  *state = t;
  return 0;
}

static int teardown(void **state)
{
  rpcd_pending_table *t = *state;

  rpcd__pending_destroy(t);
  free(t);
  return 0;
}

static void test_empty(void **state)
{
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  size_t pos = 0;

  make_cid(cid, 1);
  assert_int_equal(rpcd__pending_count(t), 0);
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));
  assert_null(rpcd__pending_find_id(t, 1));
  assert_null(rpcd__pending_find_id(t, 0));
  assert_null(rpcd__pending_next(t, &pos));
}

static void test_insert_and_find(void **state)
{
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  char framed[RPCD_CID_LEN + 8];
  rpcd_pending *p;

  make_cid(cid, 42);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 7, 3, 12345, &p),
                   RPCD_OK);
  assert_non_null(p);
  assert_true(p->id != 0);
  assert_string_equal(p->cid, cid);
  assert_int_equal(p->msgid, 7);
  assert_int_equal(p->queue_ix, 3);
  assert_int_equal(p->deadline_ms, 12345);
  assert_int_equal(p->state, RPCD_PENDING_IN_FLIGHT);
  assert_null(p->reply);
  assert_int_equal(rpcd__pending_count(t), 1);

  assert_ptr_equal(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN), p);
  assert_ptr_equal(rpcd__pending_find_id(t, p->id), p);

  /* Lookup takes bytes with a length, as AMQP delivers them: no NUL. */
  memset(framed, 'x', sizeof(framed));
  memcpy(framed + 3, cid, RPCD_CID_LEN);
  assert_ptr_equal(rpcd__pending_find_cid(t, framed + 3, RPCD_CID_LEN), p);
  /* A prefix, a longer run or another id are not the same key. */
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN - 1));
  assert_null(rpcd__pending_find_cid(t, framed + 3, RPCD_CID_LEN + 1));
  framed[3 + RPCD_CID_LEN - 1] ^= 1;
  assert_null(rpcd__pending_find_cid(t, framed + 3, RPCD_CID_LEN));
  assert_null(rpcd__pending_find_cid(t, NULL, 0));
  assert_null(rpcd__pending_find_id(t, p->id + 1));
}

static void test_rejects_bad_and_duplicate_cid(void **state)
{
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  rpcd_pending *p = (rpcd_pending *)1;

  make_cid(cid, 9);
  assert_int_equal(rpcd__pending_insert(t, cid, 35, 1, 0, 0, &p), RPCD_EINVAL);
  assert_null(p);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 1, 0, 0, &p),
                   RPCD_OK);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 2, 0, 0, NULL),
                   RPCD_EINVAL);
  assert_int_equal(rpcd__pending_count(t), 1);
  assert_int_equal(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN)->msgid, 1);
}

#define MANY 5000

static void test_many_and_growth(void **state)
{
  rpcd_pending_table *t = *state;
  static rpcd_pending *entries[MANY];
  char cid[RPCD_CID_LEN + 1];
  rpcd_call_id last = 0;
  size_t initial_cap = t->cap;
  unsigned i;

  for (i = 0; i < MANY; i++) {
    make_cid(cid, i);
    assert_int_equal(
        rpcd__pending_insert(t, cid, RPCD_CID_LEN, i, 0, 1000 + i, &entries[i]),
        RPCD_OK);
    /* Call ids increase monotonically. */
    assert_true(entries[i]->id > last);
    last = entries[i]->id;
    /* Never more than half full. */
    assert_true(rpcd__pending_count(t) * 2 <= t->cap);
  }
  assert_int_equal(rpcd__pending_count(t), MANY);
  assert_true(t->cap > initial_cap);
  assert_int_equal(t->cap & (t->cap - 1), 0);

  /* Entries survived the rehashes: the same pointers, found both ways. */
  for (i = 0; i < MANY; i++) {
    make_cid(cid, i);
    assert_ptr_equal(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN), entries[i]);
    assert_ptr_equal(rpcd__pending_find_id(t, entries[i]->id), entries[i]);
    assert_int_equal(entries[i]->msgid, i);
    assert_int_equal(entries[i]->deadline_ms, 1000 + i);
  }
}

static void test_remove_and_stale(void **state)
{
  rpcd_pending_table *t = *state;
  static rpcd_pending *entries[MANY];
  static rpcd_call_id ids[MANY];
  char cid[RPCD_CID_LEN + 1];
  rpcd_call_id max_id = 0;
  rpcd_pending *p;
  unsigned i;

  for (i = 0; i < MANY; i++) {
    make_cid(cid, i);
    assert_int_equal(
        rpcd__pending_insert(t, cid, RPCD_CID_LEN, i, 0, 0, &entries[i]),
        RPCD_OK);
    ids[i] = entries[i]->id;
    if (ids[i] > max_id)
      max_id = ids[i];
  }
  for (i = 0; i < MANY; i += 2)
    rpcd__pending_remove(t, entries[i]);
  assert_int_equal(rpcd__pending_count(t), MANY / 2);

  for (i = 0; i < MANY; i++) {
    make_cid(cid, i);
    p = rpcd__pending_find_cid(t, cid, RPCD_CID_LEN);
    if (i % 2 == 0) {
      /* Stale: a late reply or wait for a removed call finds nothing. */
      assert_null(p);
      assert_null(rpcd__pending_find_id(t, ids[i]));
    } else {
      assert_ptr_equal(p, entries[i]);
      assert_ptr_equal(rpcd__pending_find_id(t, ids[i]), entries[i]);
    }
  }

  /* A correlation id that was removed can be used again; a call id never
   * comes back. */
  make_cid(cid, 0);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 99, 0, 0, &p),
                   RPCD_OK);
  assert_true(p->id > max_id);
  assert_null(rpcd__pending_find_id(t, ids[0]));
  assert_ptr_equal(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN), p);
}

/* Random inserts and removes checked against a plain array, with a table
 * that stays small, so that removals shift runs that wrap around. */
static void test_random_against_reference(void **state)
{
  enum { LIVE_MAX = 64, ROUNDS = 40000 };
  rpcd_pending_table *t = *state;
  rpcd_pending *live[LIVE_MAX];
  unsigned live_key[LIVE_MAX];
  char cid[RPCD_CID_LEN + 1];
  unsigned n_live = 0;
  unsigned next_key = 0;
  unsigned seed = 12345;
  unsigned round;
  unsigned i;

  for (round = 0; round < ROUNDS; round++) {
    seed = seed * 1103515245u + 12345u;
    if (n_live < LIVE_MAX && ((seed >> 16) % 3 != 0 || n_live == 0)) {
      make_cid(cid, next_key);
      assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, next_key, 0,
                                            0, &live[n_live]),
                       RPCD_OK);
      live_key[n_live++] = next_key++;
    } else {
      i = (seed >> 8) % n_live;
      rpcd__pending_remove(t, live[i]);
      make_cid(cid, live_key[i]);
      assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));
      live[i] = live[--n_live];
      live_key[i] = live_key[n_live];
    }
    if (round % 97 == 0) {
      assert_int_equal(rpcd__pending_count(t), n_live);
      for (i = 0; i < n_live; i++) {
        make_cid(cid, live_key[i]);
        assert_ptr_equal(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN), live[i]);
        assert_ptr_equal(rpcd__pending_find_id(t, live[i]->id), live[i]);
      }
    }
  }
  /* 64 live calls never need more than 128 slots. */
  assert_true(t->cap <= 2 * LIVE_MAX);
}

static void test_complete_and_ownership(void **state)
{
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  rpcd_pending *a;
  rpcd_pending *b;
  rpcd_pending *c;
  rpcd_reply *kept;

  make_cid(cid, 1);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 1, 0, 0, &a),
                   RPCD_OK);
  make_cid(cid, 2);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 2, 0, 0, &b),
                   RPCD_OK);
  make_cid(cid, 3);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 3, 0, 0, &c),
                   RPCD_OK);

  assert_true(rpcd__pending_complete(t, a, RPCD_OK, new_reply(1), NULL));
  assert_int_equal(a->state, RPCD_PENDING_DONE);
  assert_int_equal(a->status, RPCD_OK);
  assert_int_equal(a->reply->tag, 1);
  assert_null(a->detail);

  /* The first outcome wins; a second reply is freed, not leaked. */
  assert_false(
      rpcd__pending_complete(t, a, RPCD_EPROTO, new_reply(2), "second"));
  assert_int_equal(replies_freed, 1);
  assert_int_equal(a->status, RPCD_OK);
  assert_int_equal(a->reply->tag, 1);
  assert_null(a->detail);

  assert_true(rpcd__pending_complete(t, b, RPCD_ENOROUTE, NULL,
                                     "queue \"q\" does not exist"));
  assert_string_equal(b->detail, "queue \"q\" does not exist");

  /* Removing an entry frees the reply it still owns... */
  rpcd__pending_remove(t, a);
  assert_int_equal(replies_freed, 2);
  /* ...but not one taken out first. */
  assert_true(rpcd__pending_complete(t, c, RPCD_EREMOTE, new_reply(3), "e"));
  kept = c->reply;
  c->reply = NULL;
  rpcd__pending_remove(t, c);
  assert_int_equal(replies_freed, 2);
  assert_int_equal(kept->tag, 3);
  free(kept);

  /* Removing what is not there (any more) does nothing. */
  assert_int_equal(rpcd__pending_count(t), 1);
  make_cid(cid, 4);
  assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, 4, 0, 0, &a),
                   RPCD_OK);
  assert_true(rpcd__pending_complete(t, a, RPCD_OK, new_reply(4), NULL));
  assert_int_equal(rpcd__pending_count(t), 2);
  /* Destroy (in teardown) frees the remaining reply; check it here. */
  rpcd__pending_destroy(t);
  assert_int_equal(replies_freed, 3);
  assert_int_equal(rpcd__pending_init(t, count_free), RPCD_OK);
}

static void test_iteration(void **state)
{
  enum { N = 300 };
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  unsigned seen[N];
  rpcd_pending *p;
  size_t pos = 0;
  unsigned visited = 0;
  unsigned i;

  memset(seen, 0, sizeof(seen));
  for (i = 0; i < N; i++) {
    make_cid(cid, i);
    assert_int_equal(rpcd__pending_insert(t, cid, RPCD_CID_LEN, i, 0, 0, NULL),
                     RPCD_OK);
  }
  for (p = rpcd__pending_next(t, &pos); p; p = rpcd__pending_next(t, &pos)) {
    assert_true(p->msgid < N);
    seen[p->msgid]++;
    visited++;
    /* Completing while iterating is allowed. */
    if (p->msgid % 3 == 0)
      rpcd__pending_complete(t, p, RPCD_ECONNLOST, NULL, "lost");
  }
  assert_int_equal(visited, N);
  for (i = 0; i < N; i++) {
    assert_int_equal(seen[i], 1);
    make_cid(cid, i);
    p = rpcd__pending_find_cid(t, cid, RPCD_CID_LEN);
    assert_int_equal(p->state,
                     i % 3 == 0 ? RPCD_PENDING_DONE : RPCD_PENDING_IN_FLIGHT);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(test_insert_and_find, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejects_bad_and_duplicate_cid, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_many_and_growth, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_and_stale, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_against_reference, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_complete_and_ownership, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_iteration, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
