/* SPDX-License-Identifier: MIT */
/*
 * The SDK's correlation table. Every call in flight is one heap entry in
 * one open-addressing index by call id, with linear probing. A reply finds
 * its call by correlation id, which is the call id written into a UUID of
 * the table's own, so it needs no index of its own: the call id is read
 * back and the entry's correlation id compared whole. Deletion shifts the
 * following run back instead of leaving tombstones, so the index never
 * fills up with dead slots however many calls come and go.
 */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

/* splitmix64 finaliser: call ids are sequential, so they need mixing. */
static size_t hash_id(rpcd_call_id id)
{
  uint64_t z = id;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (size_t)(z ^ (z >> 31));
}

/* Call ids fill the low 60 bits of a UUID; the 4 above them hold the
 * variant, which stays as it is. */
#define ID_BITS 60

static const char hex_digits[] = "0123456789abcdef";

/* Write n bytes of b as lowercase hex. */
static char *put_hex(char *out, const unsigned char *b, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    *out++ = hex_digits[b[i] >> 4];
    *out++ = hex_digits[b[i] & 15];
  }
  return out;
}

/* A version 4 UUID from 16 random bytes, split as the table keeps it. */
static void uuid_base(const unsigned char *rnd, char head[RPCD_UUID_HEAD_LEN],
                      uint64_t *tail)
{
  unsigned char u[16];
  char *o = head;
  int i;

  memcpy(u, rnd, sizeof(u));
  u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
  u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  o = put_hex(o, u, 4);
  *o++ = '-';
  o = put_hex(o, u + 4, 2);
  *o++ = '-';
  o = put_hex(o, u + 6, 2);
  *o = '-';
  *tail = 0;
  for (i = 8; i < 16; i++)
    *tail = *tail << 8 | u[i];
}

/* The UUID whose first groups are head and whose last 64 bits are
 * tail ^ id: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", NUL-terminated. */
static void uuid_format(const char head[RPCD_UUID_HEAD_LEN], uint64_t tail,
                        rpcd_call_id id, char out[RPCD_CID_LEN + 1])
{
  uint64_t v = tail ^ id;
  char *o = out + RPCD_CID_LEN;
  int i;

  *o = '\0';
  for (i = 0; i < 12; i++, v >>= 4)
    *--o = hex_digits[v & 15];
  *--o = '-';
  for (i = 0; i < 4; i++, v >>= 4)
    *--o = hex_digits[v & 15];
  memcpy(out, head, RPCD_UUID_HEAD_LEN);
}

static int hex_value(unsigned char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

/* The call id a correlation id of this table would carry; 0 when it
 * cannot be one (the caller still compares the whole id). */
static rpcd_call_id id_of_cid(const rpcd_pending_table *t, const char *cid)
{
  uint64_t v = 0;
  int i;

  if (cid[RPCD_UUID_HEAD_LEN + 4] != '-')
    return 0;
  for (i = RPCD_UUID_HEAD_LEN; i < RPCD_CID_LEN; i++) {
    int d;

    if (i == RPCD_UUID_HEAD_LEN + 4)
      continue;
    d = hex_value((unsigned char)cid[i]);
    if (d < 0)
      return 0;
    v = v << 4 | (uint64_t)d;
  }
  v ^= t->cid_tail;
  return v >> ID_BITS ? 0 : v;
}

static void free_entry(rpcd_pending_table *t, rpcd_pending *p)
{
  if (p->reply && t->reply_free)
    t->reply_free(p->reply);
  free(p->detail);
  free(p->held_body);
  free(p);
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
  rpcd_pending **slots;
  size_t cap;
  size_t i;

  if (t->cap > SIZE_MAX / 2 / sizeof(*slots))
    return RPCD_ENOMEM;
  cap = t->cap * 2;
  slots = calloc(cap, sizeof(*slots));
  if (!slots)
    return RPCD_ENOMEM;
  for (i = 0; i < t->cap; i++) {
    if (t->slots[i])
      put_id(slots, cap, t->slots[i]);
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return RPCD_OK;
}

int rpcd__pending_init(rpcd_pending_table *t, const unsigned char *seed,
                       rpcd_pending_reply_free_fn reply_free)
{
  memset(t, 0, sizeof(*t));
  t->slots = calloc(MIN_CAP, sizeof(*t->slots));
  if (!t->slots)
    return RPCD_ENOMEM;
  t->cap = MIN_CAP;
  t->reply_free = reply_free;
  uuid_base(seed, t->cid_head, &t->cid_tail);
  return RPCD_OK;
}

void rpcd__pending_destroy(rpcd_pending_table *t)
{
  size_t i;

  if (!t->slots)
    return;
  for (i = 0; i < t->cap; i++) {
    if (t->slots[i])
      free_entry(t, t->slots[i]);
  }
  free(t->slots);
  t->slots = NULL;
  t->cap = 0;
  t->count = 0;
}

int rpcd__pending_insert(rpcd_pending_table *t, uint32_t msgid,
                         uint32_t queue_ix, int64_t deadline_ms,
                         rpcd_pending **out)
{
  rpcd_pending *p;
  int rc;

  if (out)
    *out = NULL;
  if (t->last_id + 1 >= (rpcd_call_id)1 << ID_BITS)
    return RPCD_ENOMEM; /* never reached, see pending.h */
  /* Keep the index at most half full. */
  if ((t->count + 1) * 2 > t->cap) {
    rc = grow(t);
    if (rc != RPCD_OK)
      return rc;
  }
  p = calloc(1, sizeof(*p));
  if (!p)
    return RPCD_ENOMEM;
  p->id = ++t->last_id;
  uuid_format(t->cid_head, t->cid_tail, p->id, p->cid);
  p->msgid = msgid;
  p->queue_ix = queue_ix;
  p->deadline_ms = deadline_ms;
  p->state = RPCD_PENDING_IN_FLIGHT;
  p->status = RPCD_OK;
  rpcd__dheap_node_init(&p->dl, deadline_ms);
  put_id(t->slots, t->cap, p);
  t->count++;
  if (out)
    *out = p;
  return RPCD_OK;
}

rpcd_pending *rpcd__pending_find_cid(const rpcd_pending_table *t,
                                     const void *cid, size_t cid_len)
{
  rpcd_pending *p;

  if (!t->slots || cid_len != RPCD_CID_LEN || !cid)
    return NULL;
  p = rpcd__pending_find_id(t, id_of_cid(t, cid));
  /* The id's other bits must be the table's too: a reply meant for
   * another client (or made up) finds nothing. */
  return p && memcmp(p->cid, cid, RPCD_CID_LEN) == 0 ? p : NULL;
}

rpcd_pending *rpcd__pending_find_id(const rpcd_pending_table *t,
                                    rpcd_call_id id)
{
  size_t mask;
  size_t i;

  if (!t->slots || id == 0)
    return NULL;
  mask = t->cap - 1;
  i = hash_id(id) & mask;
  while (t->slots[i]) {
    if (t->slots[i]->id == id)
      return t->slots[i];
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
 * Empty slot i and shift back the entries after it that would otherwise
 * become unreachable (Knuth's algorithm R).
 */
static void unlink_slot(rpcd_pending **slots, size_t cap, size_t i)
{
  size_t mask = cap - 1;
  size_t j = i;

  slots[i] = NULL;
  for (;;) {
    size_t home;

    j = (j + 1) & mask;
    if (!slots[j])
      return;
    home = hash_id(slots[j]->id) & mask;
    /* Move slots[j] into the hole unless its home lies cyclically in
     * (i, j], where it is still reachable without passing the hole. */
    if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
      continue;
    slots[i] = slots[j];
    slots[j] = NULL;
    i = j;
  }
}

void rpcd__pending_remove(rpcd_pending_table *t, rpcd_pending *p)
{
  size_t mask;
  size_t i;

  if (!p || !t->slots)
    return;
  /* Only an entry of this table, once. */
  mask = t->cap - 1;
  for (i = hash_id(p->id) & mask; t->slots[i] && t->slots[i] != p;
       i = (i + 1) & mask)
    ;
  if (t->slots[i] != p)
    return;
  unlink_slot(t->slots, t->cap, i);
  t->count--;
  free_entry(t, p);
}

rpcd_pending *rpcd__pending_next(const rpcd_pending_table *t, size_t *pos)
{
  while (*pos < t->cap) {
    rpcd_pending *p = t->slots[*pos];

    (*pos)++;
    if (p)
      return p;
  }
  return NULL;
}
