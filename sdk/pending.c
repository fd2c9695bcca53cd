/* SPDX-License-Identifier: MIT */
/*
 * The SDK's correlation table. Every call in flight is one heap entry,
 * indexed twice with open addressing and linear probing: by correlation id,
 * which is how a reply or a returned request finds its call, and by call id,
 * which is how rpcd_client_wait() finds it. Deletion shifts the following
 * run back instead of leaving tombstones, so the tables never fill up with
 * dead slots however many calls come and go.
 */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

/* FNV-1a, 64 bit: the correlation ids are random UUIDs already, so any
 * reasonable mix of all the bytes spreads them well. */
static size_t hash_cid(const void *cid, size_t len)
{
  const unsigned char *p = cid;
  uint64_t h = 14695981039346656037ull;
  size_t i;

  for (i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return (size_t)(h ^ (h >> 32));
}

/* splitmix64 finaliser: call ids are sequential, so they need mixing. */
static size_t hash_id(rpcd_call_id id)
{
  uint64_t z = id;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (size_t)(z ^ (z >> 31));
}

static bool cid_eq(const rpcd_pending *p, const void *cid, size_t len)
{
  return len == RPCD_CID_LEN && memcmp(p->cid, cid, RPCD_CID_LEN) == 0;
}

static void free_entry(rpcd_pending_table *t, rpcd_pending *p)
{
  if (p->reply && t->reply_free)
    t->reply_free(p->reply);
  free(p->detail);
  free(p->held_body);
  free(p->held_method);
  free(p);
}

static void put_cid(rpcd_pending **slots, size_t cap, rpcd_pending *p)
{
  size_t mask = cap - 1;
  size_t i = hash_cid(p->cid, RPCD_CID_LEN) & mask;

  while (slots[i])
    i = (i + 1) & mask;
  slots[i] = p;
}

static void put_id(rpcd_pending **slots, size_t cap, rpcd_pending *p)
{
  size_t mask = cap - 1;
  size_t i = hash_id(p->id) & mask;

  while (slots[i])
    i = (i + 1) & mask;
  slots[i] = p;
}

static int grow(rpcd_pending_table *t)
{
  rpcd_pending **by_cid;
  rpcd_pending **by_id;
  size_t cap;
  size_t i;

  if (t->cap > SIZE_MAX / 2 / sizeof(*by_cid))
    return RPCD_ENOMEM;
  cap = t->cap * 2;
  by_cid = calloc(cap, sizeof(*by_cid));
  if (!by_cid)
    return RPCD_ENOMEM;
  by_id = calloc(cap, sizeof(*by_id));
  if (!by_id) {
    free(by_cid);
    return RPCD_ENOMEM;
  }
  for (i = 0; i < t->cap; i++) {
    if (t->by_cid[i])
      put_cid(by_cid, cap, t->by_cid[i]);
    if (t->by_id[i])
      put_id(by_id, cap, t->by_id[i]);
  }
  free(t->by_cid);
  free(t->by_id);
  t->by_cid = by_cid;
  t->by_id = by_id;
  t->cap = cap;
  return RPCD_OK;
}

int rpcd__pending_init(rpcd_pending_table *t,
                       rpcd_pending_reply_free_fn reply_free)
{
  memset(t, 0, sizeof(*t));
  t->by_cid = calloc(MIN_CAP, sizeof(*t->by_cid));
  t->by_id = calloc(MIN_CAP, sizeof(*t->by_id));
  if (!t->by_cid || !t->by_id) {
    free(t->by_cid);
    free(t->by_id);
    t->by_cid = NULL;
    t->by_id = NULL;
    return RPCD_ENOMEM;
  }
  t->cap = MIN_CAP;
  t->reply_free = reply_free;
  return RPCD_OK;
}

void rpcd__pending_destroy(rpcd_pending_table *t)
{
  size_t i;

  if (!t->by_id)
    return;
  for (i = 0; i < t->cap; i++) {
    if (t->by_id[i])
      free_entry(t, t->by_id[i]);
  }
  free(t->by_cid);
  free(t->by_id);
  t->by_cid = NULL;
  t->by_id = NULL;
  t->cap = 0;
  t->count = 0;
}

int rpcd__pending_insert(rpcd_pending_table *t, const char *cid, size_t cid_len,
                         uint32_t msgid, uint32_t queue_ix, int64_t deadline_ms,
                         rpcd_pending **out)
{
  rpcd_pending *p;
  int rc;

  if (out)
    *out = NULL;
  if (cid_len != RPCD_CID_LEN || rpcd__pending_find_cid(t, cid, cid_len))
    return RPCD_EINVAL;
  /* Keep both indexes at most half full. */
  if ((t->count + 1) * 2 > t->cap) {
    rc = grow(t);
    if (rc != RPCD_OK)
      return rc;
  }
  p = calloc(1, sizeof(*p));
  if (!p)
    return RPCD_ENOMEM;
  p->id = ++t->last_id;
  memcpy(p->cid, cid, RPCD_CID_LEN);
  p->cid[RPCD_CID_LEN] = '\0';
  p->msgid = msgid;
  p->queue_ix = queue_ix;
  p->deadline_ms = deadline_ms;
  p->state = RPCD_PENDING_IN_FLIGHT;
  p->status = RPCD_OK;
  rpcd__dheap_node_init(&p->dl, deadline_ms);
  put_cid(t->by_cid, t->cap, p);
  put_id(t->by_id, t->cap, p);
  t->count++;
  if (out)
    *out = p;
  return RPCD_OK;
}

rpcd_pending *rpcd__pending_find_cid(const rpcd_pending_table *t,
                                     const void *cid, size_t cid_len)
{
  size_t mask;
  size_t i;

  if (!t->by_cid || cid_len != RPCD_CID_LEN || !cid)
    return NULL;
  mask = t->cap - 1;
  i = hash_cid(cid, cid_len) & mask;
  while (t->by_cid[i]) {
    if (cid_eq(t->by_cid[i], cid, cid_len))
      return t->by_cid[i];
    i = (i + 1) & mask;
  }
  return NULL;
}

rpcd_pending *rpcd__pending_find_id(const rpcd_pending_table *t,
                                    rpcd_call_id id)
{
  size_t mask;
  size_t i;

  if (!t->by_id || id == 0)
    return NULL;
  mask = t->cap - 1;
  i = hash_id(id) & mask;
  while (t->by_id[i]) {
    if (t->by_id[i]->id == id)
      return t->by_id[i];
    i = (i + 1) & mask;
  }
  return NULL;
}

bool rpcd__pending_complete(rpcd_pending_table *t, rpcd_pending *p, int status,
                            rpcd_reply *reply, const char *detail)
{
  if (p->state == RPCD_PENDING_DONE) {
    if (reply && t->reply_free)
      t->reply_free(reply);
    return false;
  }
  p->state = RPCD_PENDING_DONE;
  p->status = status;
  p->reply = reply;
  /* Out of memory for the detail only loses the text, not the outcome. */
  p->detail = detail && *detail ? strdup(detail) : NULL;
  return true;
}

/*
 * Empty slot i of a linear-probing table and shift back the entries after
 * it that would otherwise become unreachable (Knuth's algorithm R).
 */
static void unlink_slot(rpcd_pending **slots, size_t cap, size_t i, bool by_cid)
{
  size_t mask = cap - 1;
  size_t j = i;

  slots[i] = NULL;
  for (;;) {
    size_t home;

    j = (j + 1) & mask;
    if (!slots[j])
      return;
    home = (by_cid ? hash_cid(slots[j]->cid, RPCD_CID_LEN)
                   : hash_id(slots[j]->id)) &
           mask;
    /* Move slots[j] into the hole unless its home lies cyclically in
     * (i, j], where it is still reachable without passing the hole. */
    if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
      continue;
    slots[i] = slots[j];
    slots[j] = NULL;
    i = j;
  }
}

static size_t slot_of(rpcd_pending **slots, size_t cap, size_t start,
                      const rpcd_pending *p)
{
  size_t mask = cap - 1;
  size_t i = start & mask;

  while (slots[i] != p)
    i = (i + 1) & mask;
  return i;
}

void rpcd__pending_remove(rpcd_pending_table *t, rpcd_pending *p)
{
  size_t i;

  if (!p || rpcd__pending_find_id(t, p->id) != p)
    return;
  i = slot_of(t->by_cid, t->cap, hash_cid(p->cid, RPCD_CID_LEN), p);
  unlink_slot(t->by_cid, t->cap, i, true);
  i = slot_of(t->by_id, t->cap, hash_id(p->id), p);
  unlink_slot(t->by_id, t->cap, i, false);
  t->count--;
  free_entry(t, p);
}

rpcd_pending *rpcd__pending_next(const rpcd_pending_table *t, size_t *pos)
{
  while (*pos < t->cap) {
    rpcd_pending *p = t->by_id[*pos];

    (*pos)++;
    if (p)
      return p;
  }
  return NULL;
}
