/* SPDX-License-Identifier: MIT */
/* The SDK's deadline min-heap (sdk/deadline_heap.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include <rpcd/status.h>

#include "deadline_heap.h"

/* Every parent is due no later than its children, and every node knows
 * where it is. */
static void check_heap(const rpcd_deadline_heap *h)
{
  size_t i;

  for (i = 0; i < h->n; i++) {
    assert_int_equal(h->v[i]->ix, i);
    if (i > 0)
      assert_true(h->v[(i - 1) / 2]->deadline_ms <= h->v[i]->deadline_ms);
  }
}

static void test_empty(void **state)
{
  rpcd_deadline_heap h;
  rpcd_deadline_node n;

  (void)state;
  rpcd__dheap_init(&h);
  assert_null(rpcd__dheap_top(&h));
  assert_int_equal(rpcd__dheap_size(&h), 0);
  rpcd__dheap_node_init(&n, 5);
  assert_false(rpcd__dheap_contains(&n));
  rpcd__dheap_remove(&h, &n); /* not in it: nothing happens */
  assert_int_equal(rpcd__dheap_push(&h, &n), RPCD_OK);
  assert_true(rpcd__dheap_contains(&n));
  assert_ptr_equal(rpcd__dheap_top(&h), &n);
  rpcd__dheap_remove(&h, &n);
  rpcd__dheap_remove(&h, &n); /* twice: nothing happens */
  assert_false(rpcd__dheap_contains(&n));
  assert_null(rpcd__dheap_top(&h));
  rpcd__dheap_destroy(&h);
}

/* Popping the top gives the deadlines in order, duplicates included. */
static void test_pops_in_order(void **state)
{
  enum { N = 5000 };
  rpcd_deadline_node *nodes = calloc(N, sizeof(*nodes));
  rpcd_deadline_heap h;
  unsigned seed = 7;
  int64_t last = INT64_MIN;
  size_t i;

  (void)state;
  rpcd__dheap_init(&h);
  for (i = 0; i < N; i++) {
    rpcd__dheap_node_init(&nodes[i], (int64_t)(rand_r(&seed) % 1000));
    assert_int_equal(rpcd__dheap_push(&h, &nodes[i]), RPCD_OK);
  }
  check_heap(&h);
  for (i = 0; i < N; i++) {
    rpcd_deadline_node *top = rpcd__dheap_top(&h);

    assert_non_null(top);
    assert_true(top->deadline_ms >= last);
    last = top->deadline_ms;
    rpcd__dheap_remove(&h, top);
    assert_false(rpcd__dheap_contains(top));
  }
  assert_null(rpcd__dheap_top(&h));
  rpcd__dheap_destroy(&h);
  free(nodes);
}

/* Removing nodes from anywhere (calls that got their reply) keeps the heap
 * a heap; the rest still come out in order. */
static void test_remove_anywhere(void **state)
{
  enum { N = 2000 };
  rpcd_deadline_node *nodes = calloc(N, sizeof(*nodes));
  rpcd_deadline_heap h;
  unsigned seed = 99;
  int64_t last = INT64_MIN;
  size_t left = N;
  size_t i;

  (void)state;
  rpcd__dheap_init(&h);
  for (i = 0; i < N; i++) {
    rpcd__dheap_node_init(&nodes[i], (int64_t)(rand_r(&seed) % 10000));
    assert_int_equal(rpcd__dheap_push(&h, &nodes[i]), RPCD_OK);
  }
  for (i = 0; i < N; i += 3) {
    rpcd__dheap_remove(&h, &nodes[i]);
    left--;
    check_heap(&h);
  }
  assert_int_equal(rpcd__dheap_size(&h), left);
  /* Push some of them back with new deadlines. */
  for (i = 0; i < N; i += 6) {
    nodes[i].deadline_ms = (int64_t)(rand_r(&seed) % 10000);
    assert_int_equal(rpcd__dheap_push(&h, &nodes[i]), RPCD_OK);
    left++;
  }
  check_heap(&h);
  while (rpcd__dheap_top(&h)) {
    rpcd_deadline_node *top = rpcd__dheap_top(&h);

    assert_true(top->deadline_ms >= last);
    last = top->deadline_ms;
    rpcd__dheap_remove(&h, top);
    left--;
  }
  assert_int_equal(left, 0);
  for (i = 0; i < N; i++)
    assert_false(rpcd__dheap_contains(&nodes[i]));
  rpcd__dheap_destroy(&h);
  free(nodes);
}

/* Destroying a heap that still holds nodes marks them out of it. */
static void test_destroy_releases_nodes(void **state)
{
  rpcd_deadline_node n[3];
  rpcd_deadline_heap h;
  int i;

  (void)state;
  rpcd__dheap_init(&h);
  for (i = 0; i < 3; i++) {
    rpcd__dheap_node_init(&n[i], 3 - i);
    assert_int_equal(rpcd__dheap_push(&h, &n[i]), RPCD_OK);
  }
  assert_ptr_equal(rpcd__dheap_top(&h), &n[2]);
  rpcd__dheap_destroy(&h);
  for (i = 0; i < 3; i++)
    assert_false(rpcd__dheap_contains(&n[i]));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_pops_in_order),
      cmocka_unit_test(test_remove_anywhere),
      cmocka_unit_test(test_destroy_releases_nodes),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
