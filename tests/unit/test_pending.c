/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SDK's correlation table (sdk/pending.c): inserting many
 * calls, finding them by correlation id and by call id, the correlation
 * ids it makes (UUIDs, distinct per call and per seed), ids that
 * are not its own, growth, removal (including a randomised run checked
 * against a plain array), stale ids, outcomes and the ownership of the
 * replies they carry.
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

/* A fixed seed per n: tests are repeatable, and seeds can differ. */
static void make_seed(unsigned char seed[RPCD_PENDING_SEED_LEN], unsigned n)
{
  unsigned i;

  for (i = 0; i < RPCD_PENDING_SEED_LEN; i++)
    seed[i] = (unsigned char)(i * 37u + n * 101u + 11u);
}

static int init_table(rpcd_pending_table *t, unsigned seed_n)
{
  unsigned char seed[RPCD_PENDING_SEED_LEN];

  make_seed(seed, seed_n);
  return rpcd__pending_init(t, seed, count_free);
}

static int setup(void **state)
{
  rpcd_pending_table *t = malloc(sizeof(*t));

  if (!t || init_table(t, 1) != RPCD_OK) {
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

/* A lowercase version 4 UUID: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx. */
static void assert_uuid_v4(const char *s)
{
  size_t i;

  assert_int_equal(strlen(s), RPCD_CID_LEN);
  for (i = 0; i < RPCD_CID_LEN; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      assert_int_equal(s[i], '-');
    else
      assert_non_null(strchr("0123456789abcdef", s[i]));
  }
  assert_int_equal(s[14], '4');
  assert_non_null(strchr("89ab", s[19]));
}

static rpcd_pending *insert(rpcd_pending_table *t, uint32_t msgid)
{
  rpcd_pending *p = NULL;

  assert_int_equal(rpcd__pending_insert(t, msgid, 0, 0, &p), RPCD_OK);
  assert_non_null(p);
  return p;
}

static void test_empty(void **state)
{
  rpcd_pending_table *t = *state;
  rpcd_pending_table other;
  rpcd_pending *p;
  char cid[RPCD_CID_LEN + 1];
  size_t pos = 0;

  /* The correlation id call 1 gets, taken from a table seeded alike. */
  assert_int_equal(init_table(&other, 1), RPCD_OK);
  p = insert(&other, 1);
  memcpy(cid, p->cid, sizeof(cid));
  rpcd__pending_destroy(&other);

  assert_int_equal(rpcd__pending_count(t), 0);
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));
  assert_null(rpcd__pending_find_id(t, 1));
  assert_null(rpcd__pending_find_id(t, 0));
  assert_null(rpcd__pending_next(t, &pos));
}

static void test_insert_and_find(void **state)
{
  rpcd_pending_table *t = *state;
  char framed[RPCD_CID_LEN + 8];
  char cid[RPCD_CID_LEN + 1];
  rpcd_pending *p;

  assert_int_equal(rpcd__pending_insert(t, 7, 3, 12345, &p), RPCD_OK);
  assert_non_null(p);
  assert_true(p->id != 0);
  assert_uuid_v4(p->cid);
  assert_int_equal(p->msgid, 7);
  assert_int_equal(p->queue_ix, 3);
  assert_int_equal(p->deadline_ms, 12345);
  assert_int_equal(p->state, RPCD_PENDING_IN_FLIGHT);
  assert_null(p->reply);
  assert_int_equal(rpcd__pending_count(t), 1);

  memcpy(cid, p->cid, sizeof(cid));
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

/* Ids that carry the call's id in their last groups but are not the
 * table's: other random groups, other case, other separators, bits above
 * the call id changed. */
static void test_foreign_cids(void **state)
{
  rpcd_pending_table *t = *state;
  char cid[RPCD_CID_LEN + 1];
  rpcd_pending *p = insert(t, 1);

  memcpy(cid, p->cid, sizeof(cid));
  cid[0] = cid[0] == '0' ? '1' : '0'; /* first group */
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));

  memcpy(cid, p->cid, sizeof(cid));
  cid[RPCD_CID_LEN - 1] = 'G'; /* not hex */
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));

  memcpy(cid, p->cid, sizeof(cid));
  cid[23] = '0'; /* the 4th group's dash */
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));

  memcpy(cid, p->cid, sizeof(cid));
  cid[19] = cid[19] == '8' ? '9' : '8'; /* variant bits above the call id */
  assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));

  /* The same id in upper case is another string. */
  memcpy(cid, p->cid, sizeof(cid));
  for (char *s = cid; *s; s++)
    if (*s >= 'a' && *s <= 'f')
      *s = (char)(*s - 'a' + 'A');
  if (strcmp(cid, p->cid) != 0)
    assert_null(rpcd__pending_find_cid(t, cid, RPCD_CID_LEN));

  assert_ptr_equal(rpcd__pending_find_cid(t, p->cid, RPCD_CID_LEN), p);
}

/* The ids come from the seed: tables seeded apart share no correlation id
 * for the same call id, and one never finds the other's. */
static void test_ids_by_seed(void **state)
{
  rpcd_pending_table *t = *state;
  rpcd_pending_table same;
  rpcd_pending_table other;
  rpcd_pending *a = insert(t, 1);
  rpcd_pending *b = insert(t, 2);
  rpcd_pending *s;
  rpcd_pending *o;

  assert_int_equal(init_table(&same, 1), RPCD_OK);
  assert_int_equal(init_table(&other, 2), RPCD_OK);
  s = insert(&same, 1);
  o = insert(&other, 1);
  assert_int_equal(s->id, a->id);
  assert_int_equal(o->id, a->id);
  assert_string_equal(s->cid, a->cid);
  assert_string_not_equal(o->cid, a->cid);
  assert_null(rpcd__pending_find_cid(&other, a->cid, RPCD_CID_LEN));
  assert_null(rpcd__pending_find_cid(t, o->cid, RPCD_CID_LEN));
  /* Calls differ in their last groups only. */
  assert_string_not_equal(a->cid, b->cid);
  assert_memory_equal(a->cid, b->cid, RPCD_UUID_HEAD_LEN);

  rpcd__pending_destroy(&same);
  rpcd__pending_destroy(&other);
}

/* The largest call id still round-trips through its correlation id; the
 * table refuses to go past it rather than reuse one. */
static void test_last_call_id(void **state)
{
  rpcd_pending_table *t = *state;
  rpcd_call_id top = ((rpcd_call_id)1 << 60) - 1;
  rpcd_pending *p;

  t->last_id = top - 1;
  p = insert(t, 1);
  assert_int_equal(p->id, top);
  assert_uuid_v4(p->cid);
  assert_ptr_equal(rpcd__pending_find_cid(t, p->cid, RPCD_CID_LEN), p);
  assert_int_equal(rpcd__pending_insert(t, 2, 0, 0, NULL), RPCD_ENOMEM);
  assert_int_equal(rpcd__pending_count(t), 1);
}

#define MANY 5000

static char many_cids[MANY][RPCD_CID_LEN + 1];

static void test_many_and_growth(void **state)
{
  rpcd_pending_table *t = *state;
  static rpcd_pending *entries[MANY];
  rpcd_call_id last = 0;
  size_t initial_cap = t->cap;
  unsigned i;
  unsigned j;

  for (i = 0; i < MANY; i++) {
    assert_int_equal(rpcd__pending_insert(t, i, 0, 1000 + i, &entries[i]),
                     RPCD_OK);
    memcpy(many_cids[i], entries[i]->cid, RPCD_CID_LEN + 1);
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
    assert_ptr_equal(rpcd__pending_find_cid(t, many_cids[i], RPCD_CID_LEN),
                     entries[i]);
    assert_ptr_equal(rpcd__pending_find_id(t, entries[i]->id), entries[i]);
    assert_int_equal(entries[i]->msgid, i);
    assert_int_equal(entries[i]->deadline_ms, 1000 + i);
  }
  /* Every correlation id is distinct (neighbours in id differ least). */
  for (i = 0; i < MANY; i++)
    for (j = i + 1; j < MANY && j < i + 64; j++)
      assert_string_not_equal(many_cids[i], many_cids[j]);
}

static void test_remove_and_stale(void **state)
{
  rpcd_pending_table *t = *state;
  static rpcd_pending *entries[MANY];
  static rpcd_call_id ids[MANY];
  rpcd_call_id max_id = 0;
  rpcd_pending *p;
  unsigned i;

  for (i = 0; i < MANY; i++) {
    assert_int_equal(rpcd__pending_insert(t, i, 0, 0, &entries[i]), RPCD_OK);
    memcpy(many_cids[i], entries[i]->cid, RPCD_CID_LEN + 1);
    ids[i] = entries[i]->id;
    if (ids[i] > max_id)
      max_id = ids[i];
  }
  for (i = 0; i < MANY; i += 2)
    rpcd__pending_remove(t, entries[i]);
  assert_int_equal(rpcd__pending_count(t), MANY / 2);

  for (i = 0; i < MANY; i++) {
    p = rpcd__pending_find_cid(t, many_cids[i], RPCD_CID_LEN);
    if (i % 2 == 0) {
      /* Stale: a late reply or wait for a removed call finds nothing. */
      assert_null(p);
      assert_null(rpcd__pending_find_id(t, ids[i]));
    } else {
      assert_ptr_equal(p, entries[i]);
      assert_ptr_equal(rpcd__pending_find_id(t, ids[i]), entries[i]);
    }
  }

  /* Neither a call id nor a correlation id ever comes back: a late reply
   * to a removed call cannot complete a new one. */
  p = insert(t, 99);
  assert_true(p->id > max_id);
  assert_null(rpcd__pending_find_id(t, ids[0]));
  assert_null(rpcd__pending_find_cid(t, many_cids[0], RPCD_CID_LEN));
  for (i = 0; i < MANY; i++)
    assert_string_not_equal(p->cid, many_cids[i]);
  assert_ptr_equal(rpcd__pending_find_cid(t, p->cid, RPCD_CID_LEN), p);
}

/* Random inserts and removes checked against a plain array, with a table
 * that stays small, so that removals shift runs that wrap around. */
static void test_random_against_reference(void **state)
{
  enum { LIVE_MAX = 64, ROUNDS = 40000 };
  rpcd_pending_table *t = *state;
  rpcd_pending *live[LIVE_MAX];
  char live_cid[LIVE_MAX][RPCD_CID_LEN + 1];
  char gone_cid[RPCD_CID_LEN + 1];
  unsigned n_live = 0;
  unsigned next_key = 0;
  unsigned seed = 12345;
  unsigned round;
  unsigned i;

  for (round = 0; round < ROUNDS; round++) {
    seed = seed * 1103515245u + 12345u;
    if (n_live < LIVE_MAX && ((seed >> 16) % 3 != 0 || n_live == 0)) {
      assert_int_equal(rpcd__pending_insert(t, next_key++, 0, 0, &live[n_live]),
                       RPCD_OK);
      memcpy(live_cid[n_live], live[n_live]->cid, RPCD_CID_LEN + 1);
      n_live++;
    } else {
      i = (seed >> 8) % n_live;
      memcpy(gone_cid, live_cid[i], sizeof(gone_cid));
      rpcd__pending_remove(t, live[i]);
      assert_null(rpcd__pending_find_cid(t, gone_cid, RPCD_CID_LEN));
      live[i] = live[--n_live];
      memcpy(live_cid[i], live_cid[n_live], RPCD_CID_LEN + 1);
    }
    if (round % 97 == 0) {
      assert_int_equal(rpcd__pending_count(t), n_live);
      for (i = 0; i < n_live; i++) {
        assert_ptr_equal(rpcd__pending_find_cid(t, live_cid[i], RPCD_CID_LEN),
                         live[i]);
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
  rpcd_pending *a = insert(t, 1);
  rpcd_pending *b = insert(t, 2);
  rpcd_pending *c = insert(t, 3);
  rpcd_reply *kept;

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

  assert_int_equal(rpcd__pending_count(t), 1);
  a = insert(t, 4);
  assert_true(rpcd__pending_complete(t, a, RPCD_OK, new_reply(4), NULL));
  assert_int_equal(rpcd__pending_count(t), 2);
  /* Destroy (in teardown) frees the remaining reply; check it here. */
  rpcd__pending_destroy(t);
  assert_int_equal(replies_freed, 3);
  assert_int_equal(init_table(t, 1), RPCD_OK);
}

static void test_iteration(void **state)
{
  enum { N = 300 };
  rpcd_pending_table *t = *state;
  rpcd_call_id ids[N];
  unsigned seen[N];
  rpcd_pending *p;
  size_t pos = 0;
  unsigned visited = 0;
  unsigned i;

  memset(seen, 0, sizeof(seen));
  for (i = 0; i < N; i++)
    ids[i] = insert(t, i)->id;
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
    p = rpcd__pending_find_id(t, ids[i]);
    assert_non_null(p);
    assert_int_equal(p->state,
                     i % 3 == 0 ? RPCD_PENDING_DONE : RPCD_PENDING_IN_FLIGHT);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(test_insert_and_find, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_cids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ids_by_seed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_last_call_id, setup, teardown),
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
