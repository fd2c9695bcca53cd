/* SPDX-License-Identifier: MIT */
/* The deadline min-heap (see deadline_heap.h). */
#include "deadline_heap.h"

#include <stdlib.h>

#include <rpcd/status.h>

static void place(rpcd_deadline_heap *h, size_t i, rpcd_deadline_node *node)
{
  h->v[i] = node;
  node->ix = i;
}

static void sift_up(rpcd_deadline_heap *h, size_t i)
{
  rpcd_deadline_node *node = h->v[i];

  while (i > 0) {
    size_t parent = (i - 1) / 2;

    if (h->v[parent]->deadline_ms <= node->deadline_ms)
      break;
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, node);
}

static void sift_down(rpcd_deadline_heap *h, size_t i)
{
  rpcd_deadline_node *node = h->v[i];

  for (;;) {
    size_t child = 2 * i + 1;

    if (child >= h->n)
      break;
    if (child + 1 < h->n &&
        h->v[child + 1]->deadline_ms < h->v[child]->deadline_ms)
      child++;
    if (node->deadline_ms <= h->v[child]->deadline_ms)
      break;
    place(h, i, h->v[child]);
    i = child;
  }
  place(h, i, node);
}

void rpcd__dheap_init(rpcd_deadline_heap *h)
{
  h->v = NULL;
  h->n = 0;
  h->cap = 0;
}

void rpcd__dheap_destroy(rpcd_deadline_heap *h)
{
  size_t i;

  for (i = 0; i < h->n; i++)
    h->v[i]->ix = RPCD_DHEAP_NONE;
  free(h->v);
  rpcd__dheap_init(h);
}

int rpcd__dheap_push(rpcd_deadline_heap *h, rpcd_deadline_node *node)
{
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    rpcd_deadline_node **v;

    if (cap > SIZE_MAX / sizeof(*v))
      return RPCD_ENOMEM;
    v = realloc(h->v, cap * sizeof(*v));
    if (!v)
      return RPCD_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  h->v[h->n] = node;
  node->ix = h->n;
  h->n++;
  sift_up(h, h->n - 1);
  return RPCD_OK;
}

void rpcd__dheap_remove(rpcd_deadline_heap *h, rpcd_deadline_node *node)
{
  size_t i = node->ix;
  rpcd_deadline_node *last;

  if (i == RPCD_DHEAP_NONE || i >= h->n || h->v[i] != node)
    return;
  node->ix = RPCD_DHEAP_NONE;
  h->n--;
  if (i == h->n)
    return;
  last = h->v[h->n];
  place(h, i, last);
  if (i > 0 && h->v[(i - 1) / 2]->deadline_ms > last->deadline_ms)
    sift_up(h, i);
  else
    sift_down(h, i);
}
