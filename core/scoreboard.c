/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "scoreboard.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "transport_amqp.h"

rpcd_scoreboard *rpcd__scoreboard_create(unsigned n_slots, unsigned n_tombs)
{
  size_t size = sizeof(rpcd_scoreboard) + n_slots * sizeof(rpcd_slot) +
                n_tombs * sizeof(rpcd_tombstone);
  rpcd_scoreboard *sb;
  void *p;

  p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
           0);
  if (p == MAP_FAILED)
    return NULL;
  /* Anonymous memory comes zeroed: every slot FREE, every tomb EMPTY. */
  sb = p;
  sb->n_slots = n_slots;
  sb->n_tombs = n_tombs;
  sb->slots = (rpcd_slot *)(sb + 1);
  sb->tombs = (rpcd_tombstone *)(sb->slots + n_slots);
  sb->map_size = size;
  return sb;
}

void rpcd__scoreboard_destroy(rpcd_scoreboard *sb)
{
  if (sb)
    munmap(sb, sb->map_size);
}

int rpcd__slot_take(rpcd_scoreboard *sb, unsigned generation)
{
  unsigned i;

  for (i = 0; i < sb->n_slots; i++) {
    rpcd_slot *s = &sb->slots[i];

    if (atomic_load(&s->state) != RPCD_SLOT_FREE)
      continue;
    atomic_store(&s->pid, 0);
    atomic_store(&s->generation, generation);
    atomic_store(&s->started_ms, rpcd__now_unix_ms());
    atomic_store(&s->calls, 0);
    atomic_store(&s->errors, 0);
    atomic_store(&s->ready, false);
    atomic_store(&s->n_answered, 0);
    atomic_store(&s->inflight_rule, -1);
    atomic_store(&s->metrics_ix, -1);
    atomic_store(&s->state, RPCD_SLOT_IDLE);
    return (int)i;
  }
  return -1;
}

void rpcd__slot_release(rpcd_scoreboard *sb, int slot)
{
  if (slot >= 0 && (unsigned)slot < sb->n_slots) {
    atomic_store(&sb->slots[slot].pid, 0);
    atomic_store(&sb->slots[slot].state, RPCD_SLOT_FREE);
  }
}

#define KEY_EDGE 64 /* bytes of each end of the body in a request key */

/* FNV-1a, 64-bit: cheap, and a collision costs one request run or not run
 * twice only when a worker died with the other in hand. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  size_t i;

  for (i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t rpcd__request_key(const void *cid, size_t cid_len, const void *body,
                           size_t body_len)
{
  const unsigned char *b = body;
  uint64_t h = 0xcbf29ce484222325ULL;
  uint64_t len = body_len;

  /* The correlation id names a call; the body's length and ends guard
   * against a client that reuses ids. Hashing all of a large body would
   * cost more than the rest of the request. */
  h = fnv1a(h, cid, cid_len);
  h = fnv1a(h, &len, sizeof(len));
  if (body_len <= 2 * KEY_EDGE)
    return fnv1a(h, b, body_len);
  h = fnv1a(h, b, KEY_EDGE);
  return fnv1a(h, b + body_len - KEY_EDGE, KEY_EDGE);
}

static void tomb_write(rpcd_scoreboard *sb, uint64_t key, bool answered,
                       const char *reason, const char *signal,
                       const char *method)
{
  unsigned i = atomic_fetch_add(&sb->next_tomb, 1) % sb->n_tombs;
  rpcd_tombstone *t = &sb->tombs[i];

  /* The ring overwrites its oldest entry: a redelivery that old has long
   * been run elsewhere or dead-lettered by the broker. */
  atomic_store(&t->state, RPCD_TOMB_WRITING);
  t->key = key;
  t->answered = answered;
  t->time_ms = rpcd__now_unix_ms();
  snprintf(t->reason, sizeof(t->reason), "%s", reason);
  snprintf(t->signal, sizeof(t->signal), "%s", signal);
  snprintf(t->method, sizeof(t->method), "%s", method);
  atomic_store_explicit(&t->state, RPCD_TOMB_DEAD, memory_order_release);
}

void rpcd__tomb_add(rpcd_scoreboard *sb, const rpcd_slot_request *req,
                    const char *reason, const char *signal)
{
  tomb_write(sb, req->key, false, reason, signal, req->method);
}

void rpcd__slot_note_answered(rpcd_slot *slot, uint64_t key)
{
  uint32_t n = atomic_load_explicit(&slot->n_answered, memory_order_relaxed);

  atomic_store_explicit(&slot->answered[n % RPCD_SLOT_ANSWERED], key,
                        memory_order_relaxed);
  atomic_store_explicit(&slot->n_answered, n + 1, memory_order_release);
}

bool rpcd__answered_anywhere(const rpcd_scoreboard *sb, uint64_t key)
{
  unsigned i;
  uint32_t k;

  for (i = 0; i < sb->n_slots; i++) {
    const rpcd_slot *s = &sb->slots[i];
    uint32_t n = atomic_load_explicit(&s->n_answered, memory_order_acquire);

    if (n > RPCD_SLOT_ANSWERED)
      n = RPCD_SLOT_ANSWERED;
    for (k = 0; k < n; k++)
      if (atomic_load_explicit(&s->answered[k], memory_order_relaxed) == key)
        return true;
  }
  return false;
}

void rpcd__slot_bury_answered(rpcd_scoreboard *sb, int slot)
{
  rpcd_slot *s;
  uint32_t n;
  uint32_t k;

  if (slot < 0 || (unsigned)slot >= sb->n_slots)
    return;
  s = &sb->slots[slot];
  n = atomic_load_explicit(&s->n_answered, memory_order_acquire);
  if (n > RPCD_SLOT_ANSWERED)
    n = RPCD_SLOT_ANSWERED;
  /* Tombstones first, then the ring: a redelivery checked in between
   * finds one or the other. */
  for (k = 0; k < n; k++)
    tomb_write(sb, atomic_load_explicit(&s->answered[k], memory_order_relaxed),
               true, "answered", "", "");
  atomic_store_explicit(&s->n_answered, 0, memory_order_release);
}

bool rpcd__tomb_claim(rpcd_scoreboard *sb, uint64_t key, rpcd_tombstone *out)
{
  unsigned i;

  for (i = 0; i < sb->n_tombs; i++) {
    rpcd_tombstone *t = &sb->tombs[i];
    int expected = RPCD_TOMB_DEAD;

    if (atomic_load_explicit(&t->state, memory_order_acquire) !=
            RPCD_TOMB_DEAD ||
        t->key != key)
      continue;
    if (!atomic_compare_exchange_strong(&t->state, &expected,
                                        RPCD_TOMB_CLAIMED))
      continue;
    memcpy(out, t, sizeof(*out));
    return true;
  }
  return false;
}

bool rpcd__slot_running_elsewhere(const rpcd_scoreboard *sb, int self,
                                  uint64_t key)
{
  unsigned i;

  for (i = 0; i < sb->n_slots; i++) {
    const rpcd_slot *s = &sb->slots[i];

    if ((int)i == self ||
        atomic_load_explicit(&s->state, memory_order_acquire) !=
            RPCD_SLOT_RUNNING)
      continue;
    if (s->req.key == key)
      return true;
  }
  return false;
}
