/* SPDX-License-Identifier: MIT */
/*
 * A binary min-heap of deadlines: the client's calls in flight ordered by
 * when they time out, so finding the next deadline is O(1) and adding,
 * expiring or removing a call is O(log n), never a scan of every call.
 * Nodes are embedded in the caller's objects and remember their position,
 * so any node can be removed. Internal to the SDK, not part of the ABI.
 */
#ifndef RPCD_SDK_DEADLINE_HEAP_H
#define RPCD_SDK_DEADLINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPCD_DHEAP_NONE SIZE_MAX

typedef struct rpcd_deadline_node {
  int64_t deadline_ms; /* monotonic; the heap's key */
  size_t ix;           /* position in the heap, RPCD_DHEAP_NONE when out */
} rpcd_deadline_node;

typedef struct rpcd_deadline_heap {
  rpcd_deadline_node **v;
  size_t n;
  size_t cap;
} rpcd_deadline_heap;

/* Mark a node as in no heap (call before its first push). */
static inline void rpcd__dheap_node_init(rpcd_deadline_node *node,
                                         int64_t deadline_ms)
{
  node->deadline_ms = deadline_ms;
  node->ix = RPCD_DHEAP_NONE;
}

static inline bool rpcd__dheap_contains(const rpcd_deadline_node *node)
{
  return node->ix != RPCD_DHEAP_NONE;
}

/* An empty heap; nothing is allocated until the first push. */
void rpcd__dheap_init(rpcd_deadline_heap *h);
/* Free the heap's array (the nodes belong to their owners). */
void rpcd__dheap_destroy(rpcd_deadline_heap *h);
/* Add a node that is in no heap. \return RPCD_OK or RPCD_ENOMEM */
int rpcd__dheap_push(rpcd_deadline_heap *h, rpcd_deadline_node *node);
/* Remove a node; does nothing when it is in no heap. */
void rpcd__dheap_remove(rpcd_deadline_heap *h, rpcd_deadline_node *node);
/* The node with the earliest deadline, or NULL when empty. */
static inline rpcd_deadline_node *rpcd__dheap_top(const rpcd_deadline_heap *h)
{
  return h->n ? h->v[0] : NULL;
}
static inline size_t rpcd__dheap_size(const rpcd_deadline_heap *h)
{
  return h->n;
}

#ifdef __cplusplus
}
#endif
#endif /* RPCD_SDK_DEADLINE_HEAP_H */
