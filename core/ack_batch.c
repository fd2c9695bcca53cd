/* SPDX-License-Identifier: MIT */
#include "ack_batch.h"

#include "rpcd/status.h"

bool rpcd__ack_batch_add(rpcd_ack_batch *b, uint64_t tag, int64_t now_ms)
{
  if (b->n == 0)
    b->first_ms = now_ms;
  if (b->n < RPCD_ACK_BATCH_MAX)
    b->tags[b->n++] = tag;
  return b->n == RPCD_ACK_BATCH_MAX;
}

bool rpcd__ack_batch_due(const rpcd_ack_batch *b, int64_t now_ms)
{
  return b->n > 0 && now_ms - b->first_ms >= RPCD_ACK_BATCH_AGE_MS;
}

int rpcd__ack_batch_flush(rpcd_ack_batch *b, rpcd_consumer *c,
                          uint64_t lowest_open)
{
  uint64_t highest = 0;
  unsigned i;
  int rc = RPCD_OK;

  if (b->n == 0)
    return RPCD_OK;
  for (i = 0; i < b->n; i++)
    if (b->tags[i] > highest)
      highest = b->tags[i];
  if (highest < lowest_open) {
    rc = rpcd__consumer_ack_upto(c, highest);
  } else {
    for (i = 0; i < b->n && rc == RPCD_OK; i++)
      rc = rpcd__consumer_ack(c, b->tags[i]);
  }
  b->n = 0;
  return rc;
}

void rpcd__ack_batch_drop(rpcd_ack_batch *b)
{
  b->n = 0;
}
