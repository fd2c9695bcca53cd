/* SPDX-License-Identifier: MIT */
/*
 * The client's correlation table: the calls in flight, each found by the
 * correlation id its reply carries or by the call id rpcd_client_send()
 * returned. Internal to the SDK: not installed, not part of the ABI.
 */
#ifndef RPCD_SDK_PENDING_H
#define RPCD_SDK_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rpcd/client.h>

#include "deadline_heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A lowercase UUID as uuid_unparse_lower() writes it, without the NUL. */
#define RPCD_CID_LEN 36

enum rpcd_pending_state {
  RPCD_PENDING_IN_FLIGHT = 0, /* published, no outcome yet */
  RPCD_PENDING_DONE = 1,      /* outcome recorded, waiting for its wait */
  RPCD_PENDING_HELD = 2       /* not published yet: its queue is being
                                 checked (no outcome yet either) */
};

typedef struct rpcd_pending {
  rpcd_call_id id;            /* never 0; increases with every insert */
  char cid[RPCD_CID_LEN + 1]; /* correlation id, NUL-terminated */
  uint32_t msgid;             /* msgid of the request body */
  uint32_t queue_ix;          /* the client's index of the target queue */
  int64_t deadline_ms;        /* monotonic, rpcd__now_mono_ms() */
  int state;                  /* enum rpcd_pending_state */
  int status;                 /* outcome when done: an rpcd_status */
  rpcd_reply *reply;          /* when done: owned by the entry, or NULL */
  char *detail;               /* when done and failed: owned, or NULL */
  /* Set by the client, not by the table: */
  rpcd_call_cb cb;           /* completion callback (submit), or NULL */
  void *user;                /* the callback's argument */
  rpcd_deadline_node dl;     /* its place in the client's deadline heap */
  struct rpcd_pending *next; /* completed, waiting for its callback */
  unsigned char *held_body;  /* while held: the encoded request (owned) */
  size_t held_len;
  char *held_method; /* while held: the method name (owned) */
  bool published;    /* the request was published */
} rpcd_pending;

typedef void (*rpcd_pending_reply_free_fn)(rpcd_reply *reply);

/*
 * Two open-addressing indexes (linear probing, backward-shift deletion) over
 * the same heap-allocated entries, one keyed by correlation id and one by
 * call id. Both have `cap` slots (a power of two) and are kept at most half
 * full, so a lookup touches few slots even with thousands of calls in
 * flight. Entry pointers stay valid until the entry is removed.
 */
typedef struct rpcd_pending_table {
  rpcd_pending **by_cid;
  rpcd_pending **by_id;
  size_t cap;
  size_t count;
  rpcd_call_id last_id;
  rpcd_pending_reply_free_fn reply_free; /* frees entry replies; may be NULL */
} rpcd_pending_table;

/*
 * Initialise an empty table in storage the caller owns.
 *
 * \param reply_free  called on the reply of an entry that is removed or
 *                    destroyed while it still owns one (NULL: never freed)
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__pending_init(rpcd_pending_table *t,
                       rpcd_pending_reply_free_fn reply_free);

/* Free every entry (with its reply and detail) and the indexes. */
void rpcd__pending_destroy(rpcd_pending_table *t);

/*
 * Insert an in-flight call with a fresh call id.
 *
 * \param cid  RPCD_CID_LEN bytes (copied); must not be in the table already
 * \param out  out: the entry, owned by the table (may be NULL)
 * \return RPCD_OK, RPCD_EINVAL (bad cid length or a duplicate), RPCD_ENOMEM
 */
int rpcd__pending_insert(rpcd_pending_table *t, const char *cid, size_t cid_len,
                         uint32_t msgid, uint32_t queue_ix, int64_t deadline_ms,
                         rpcd_pending **out);

/* The entry with this correlation id (bytes, not NUL-terminated), or NULL. */
rpcd_pending *rpcd__pending_find_cid(const rpcd_pending_table *t,
                                     const void *cid, size_t cid_len);

/* The entry with this call id, or NULL. */
rpcd_pending *rpcd__pending_find_id(const rpcd_pending_table *t,
                                    rpcd_call_id id);

/*
 * Record the outcome of an in-flight call. Takes ownership of `reply` (may
 * be NULL); `detail` (may be NULL) is copied. Does nothing but free `reply`
 * when the entry is already done, so the first outcome wins. A held entry
 * completes like one in flight.
 *
 * \return true when the outcome was recorded
 */
bool rpcd__pending_complete(rpcd_pending_table *t, rpcd_pending *p, int status,
                            rpcd_reply *reply, const char *detail);

/* Unlink the entry and free it, with the reply and detail it still owns
 * (set p->reply = NULL first to keep the reply). */
void rpcd__pending_remove(rpcd_pending_table *t, rpcd_pending *p);

/*
 * Iterate: start with *pos = 0; each call returns the next entry or NULL at
 * the end. Completing entries while iterating is fine; removing is not.
 */
rpcd_pending *rpcd__pending_next(const rpcd_pending_table *t, size_t *pos);

static inline size_t rpcd__pending_count(const rpcd_pending_table *t)
{
  return t->count;
}

#ifdef __cplusplus
}
#endif
#endif /* RPCD_SDK_PENDING_H */
