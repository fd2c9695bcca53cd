/* SPDX-License-Identifier: MIT */
/*
 * Acks held back until a batch of replies is written, then sent at once:
 * one basic.ack with `multiple` when every earlier delivery on the channel
 * is settled, else one ack per delivery. A request is acked only after its
 * reply was written, never before; while its ack waits, the key of the
 * request is in its worker's scoreboard ring (rpcd__slot_note_answered), so
 * a redelivery after a lost connection or a death is not run again.
 *
 * Owned by one worker; used by its main thread, or by its keeper while it
 * holds the worker's lock.
 */
#ifndef RPCD_ACK_BATCH_H
#define RPCD_ACK_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "consumer.h"
#include "scoreboard.h"

/* At most as many as the scoreboard ring remembers. */
#define RPCD_ACK_BATCH_MAX RPCD_SLOT_ANSWERED
/* An ack waits at most this long for more to join it, so that a slow
 * handler that follows does not hold a prefetch slot. */
#define RPCD_ACK_BATCH_AGE_MS 1

typedef struct rpcd_ack_batch {
  uint64_t tags[RPCD_ACK_BATCH_MAX]; /* in the order answered */
  unsigned n;
  int64_t first_ms; /* monotonic: when tags[0] was added */
} rpcd_ack_batch;

/* Add the tag of an answered delivery. True when the batch is full and
 * must be flushed before the next one is added. */
bool rpcd__ack_batch_add(rpcd_ack_batch *b, uint64_t tag, int64_t now_ms);

/* True when the batch holds acks that waited RPCD_ACK_BATCH_AGE_MS. */
bool rpcd__ack_batch_due(const rpcd_ack_batch *b, int64_t now_ms);

/*
 * Send the batch. `lowest_open` is the lowest delivery tag received and not
 * yet settled (UINT64_MAX: none): an ack with `multiple` would settle it
 * too, so below it the batch is acked one by one. Empties the batch, also
 * on a failure. \return an rpcd_status
 */
int rpcd__ack_batch_flush(rpcd_ack_batch *b, rpcd_consumer *c,
                          uint64_t lowest_open);

/* Forget the batch: its connection is gone, and the broker requeues what
 * it held. */
void rpcd__ack_batch_drop(rpcd_ack_batch *b);

#endif /* RPCD_ACK_BATCH_H */
