/* SPDX-License-Identifier: MIT */
/*
 * The client's correlation table: the calls in flight, each found by the
 * call id rpcd_client_send() returned or by the correlation id its reply
 * carries. The table names its calls: a correlation id is the call id
 * written into a UUID that is random per table, so one index by call id
 * serves both lookups. Internal to the SDK: not installed, not part of the
 * ABI.
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
/* The random bytes a table makes its ids from (rpcd__pending_init()). */
#define RPCD_PENDING_SEED_LEN 16
/* A UUID's text up to its 4th group: "xxxxxxxx-xxxx-4xxx-". */
#define RPCD_UUID_HEAD_LEN 19

enum rpcd_pending_state {
  RPCD_PENDING_IN_FLIGHT = 0, /* published, no outcome yet */
  RPCD_PENDING_DONE = 1,      /* outcome recorded, waiting for its wait */
  RPCD_PENDING_HELD = 2       /* not published yet: its queue is being
                                 checked (no outcome yet either) */
};

typedef struct rpcd_pending {
  rpcd_call_id id;            /* never 0; increases with every insert */
  char cid[RPCD_CID_LEN + 1]; /* correlation id from id, NUL-terminated */
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
  bool published; /* the request was published */
} rpcd_pending;

typedef void (*rpcd_pending_reply_free_fn)(rpcd_reply *reply);

/*
 * One open-addressing index by call id (linear probing, backward-shift
 * deletion) over heap-allocated entries. It has `cap` slots (a power of
 * two) and is kept at most half full, so a lookup touches few slots even
 * with thousands of calls in flight. Entry pointers stay valid until the
 * entry is removed.
 *
 * Correlation and message ids are UUIDs (version 4 layout) whose low 60
 * bits are the call id XORed into random bits of the table's own: unique
 * within the table because call ids are, and across clients because the
 * other 62 random bits are (the server keys requests it must not run twice
 * by correlation id). A reply's correlation id gives its call id back
 * without a second index. Call ids stay below 2^60: a billion calls a
 * second would take 36 years.
 */
typedef struct rpcd_pending_table {
  rpcd_pending **slots; /* by call id */
  size_t cap;
  size_t count;
  rpcd_call_id last_id;
  /* The random UUID correlation ids vary: its first 19 characters (up to
   * the 4th group) and its last 64 bits. */
  char cid_head[RPCD_UUID_HEAD_LEN];
  uint64_t cid_tail;
  rpcd_pending_reply_free_fn reply_free; /* frees entry replies; may be NULL */
} rpcd_pending_table;

/*
 * Initialise an empty table in storage the caller owns.
 *
 * \param seed        RPCD_PENDING_SEED_LEN random bytes (copied), what makes
 *                    its correlation ids unique across clients
 * \param reply_free  called on the reply of an entry that is removed or
 *                    destroyed while it still owns one (NULL: never freed)
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__pending_init(rpcd_pending_table *t, const unsigned char *seed,
                       rpcd_pending_reply_free_fn reply_free);

/* Free every entry (with its reply and detail) and the indexes. */
void rpcd__pending_destroy(rpcd_pending_table *t);

/*
 * Insert an in-flight call with a fresh call id and the correlation id
 * made from it.
 *
 * \param out  out: the entry, owned by the table (may be NULL)
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__pending_insert(rpcd_pending_table *t, uint32_t msgid,
                         uint32_t queue_ix, int64_t deadline_ms,
                         rpcd_pending **out);

/* The entry with this correlation id (bytes, not NUL-terminated), or NULL:
 * the call id is read back from it, and the entry's whole id compared. */
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
