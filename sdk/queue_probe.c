/* SPDX-License-Identifier: MIT */
/*
 * The queue probe: a passive declare of the request queue on the probe
 * channel tells a call at once whether a server is there (the queue exists
 * and has a consumer).
 */
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

/* ------------------------------------------------------------------------ */
/* Probing the request queue                                                 */

/*
 * Declare queue `qix` passively on the probe channel, waiting at most
 * budget_ms (the time left to the calls that need the answer; at most
 * PROBE_TIMEOUT_MAX_MS) for the broker.
 *
 * \return RPCD_OK (it exists and has a consumer), RPCD_ENOROUTE,
 *         RPCD_ENOCONSUMER, RPCD_EBROKER (could not tell) with a message in
 *         err, or RPCD_ECONNLOST after rpcd__connection_lost()
 */
int rpcd__probe_queue(rpcd_client *c, uint32_t qix, int64_t budget_ms,
                      char *err, size_t errlen)
{
  struct queue_info *q = &c->queues[qix];
  amqp_queue_declare_ok_t *ok;
  amqp_rpc_reply_t r;
  bool closed_channel = false;
  bool closed_connection = false;
  char detail[256];
  int rc;

  q->served = false;
  q->probed_ms = rpcd__now_mono_ms();
  /* A broker that stopped answering must not hold a call past its
   * deadline. rabbitmq-c closes the connection when this runs out. */
  if (budget_ms < PROBE_TIMEOUT_MIN_MS)
    budget_ms = PROBE_TIMEOUT_MIN_MS;
  if (budget_ms > PROBE_TIMEOUT_MAX_MS)
    budget_ms = PROBE_TIMEOUT_MAX_MS;
  {
    struct timeval tv = rpcd__ms_to_tv(budget_ms);

    amqp_set_rpc_timeout(c->conn, &tv);
  }
  if (!c->probe_open) {
    amqp_channel_open(c->conn, PROBE_CHANNEL);
    r = amqp_get_rpc_reply(c->conn);
    rc = rpcd__amqp_status(c->conn, PROBE_CHANNEL, r, "opening channel 2",
                           &closed_channel, &closed_connection, detail,
                           sizeof(detail));
    if (rc != RPCD_OK)
      goto out_failed;
    c->probe_open = true;
  }
  ok = amqp_queue_declare(c->conn, PROBE_CHANNEL, amqp_cstring_bytes(q->name),
                          1, 0, 0, 0, amqp_empty_table);
  r = amqp_get_rpc_reply(c->conn);
  rc = rpcd__amqp_status(c->conn, PROBE_CHANNEL, r, "checking the queue",
                         &closed_channel, &closed_connection, detail,
                         sizeof(detail));
  if (rc != RPCD_OK)
    goto out_failed;
  if (ok->consumer_count == 0) {
    amqp_maybe_release_buffers(c->conn);
    rpcd__set_err(err, errlen,
                  "queue \"%s\" has no consumer (no server is running)",
                  q->name);
    return RPCD_ENOCONSUMER;
  }
  amqp_maybe_release_buffers(c->conn);
  q->served = true;
  return RPCD_OK;

out_failed:
  if (closed_channel)
    c->probe_open = false;
  /* An RPC timeout leaves rabbitmq-c's connection closed as well; the calls
   * whose deadline has passed meanwhile report that, not the loss. */
  if (rc == RPCD_ETIMEDOUT)
    rpcd__fail_expired_calls(c, "timed out: the broker did not answer in time");
  if (closed_connection || rc == RPCD_ECONNLOST || rc == RPCD_ETIMEDOUT) {
    rpcd__connection_lost(c, detail, false);
    rpcd__set_err(err, errlen, "%s", c->last_error);
    return RPCD_ECONNLOST;
  }
  if (rc == RPCD_ENOROUTE) {
    rpcd__set_err(err, errlen,
                  "queue \"%s\" does not exist (no server has declared it)",
                  q->name);
    return RPCD_ENOROUTE;
  }
  rpcd__set_err(err, errlen, "could not check queue \"%s\": %s", q->name,
                detail);
  return RPCD_EBROKER;
}
