/* SPDX-License-Identifier: MIT */
/*
 * The queues rpcd declares, in one place, so that the supervisor (at
 * startup) and every worker (when it subscribes, and again after the queue
 * was deleted) declare them with the same arguments: the request queue and
 * its dead-letter queue "<queue>.dead", both durable.
 */
#ifndef RPCD_BROKER_H
#define RPCD_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "transport_amqp.h"

#define RPCD_DEAD_LETTER_SUFFIX ".dead"

/* The request queue as the flags describe it. */
typedef struct rpcd_queue_spec {
  const char *name;
  rpcd_queue_type type;    /* classic, or quorum with dead-lettering */
  unsigned max_deliveries; /* quorum: x-delivery-limit is one above */
} rpcd_queue_spec;

/*
 * Declare the request queue and its dead-letter queue on `channel`. A
 * quorum queue dead-letters to "<queue>.dead" by itself once a request was
 * delivered more than max_deliveries + 1 times: the broker's backstop for a
 * request rpcd never got to settle.
 * \param channel_closed  out (may be NULL): the broker closed the channel
 *                        (e.g. the queue exists with other arguments)
 * \return RPCD_OK, or a status with err naming the queue and the reason
 */
int rpcd__declare_queues(amqp_connection_state_t conn, amqp_channel_t channel,
                         const rpcd_queue_spec *queue, bool *channel_closed,
                         char *err, size_t errlen);

/*
 * The supervisor's own connection (channel 1): connect with heartbeat_s
 * and declare the queues. It is idle until a dead worker's request needs
 * an answer; rpcd__broker_keep_alive() keeps it so.
 * \return RPCD_OK, or RPCD_ECONNECT / RPCD_EBROKER / RPCD_EINVAL with err
 */
int rpcd__broker_open(const char *uri, const rpcd_tls_options *tls,
                      const rpcd_queue_spec *queue, unsigned heartbeat_s,
                      amqp_connection_state_t *out, char *err, size_t errlen);

/* Log a warning when `tls` (NULL ok) turns verification off: at every
 * connect, so that it never goes unnoticed. */
void rpcd__warn_if_insecure(const rpcd_tls_options *tls);

/*
 * Without waiting: send a heartbeat that is due, take in what arrived (the
 * broker's heartbeats), and notice a broker that went quiet for two
 * heartbeat intervals, so that a half-open connection is found before a
 * reply is published into it.
 * \return RPCD_OK, or RPCD_ECONNLOST with err: close it and open anew
 */
int rpcd__broker_keep_alive(amqp_connection_state_t conn, char *err,
                            size_t errlen);

/*
 * Publish a reply on `conn` (channel 1) to reply_to, with correlation id
 * cid (raw bytes) and header x-rpc-status = status: how the supervisor
 * answers for a worker that died with the request in hand.
 * \return an rpcd_status
 */
int rpcd__broker_publish_reply(amqp_connection_state_t conn,
                               amqp_bytes_t reply_to, amqp_bytes_t cid,
                               const char *content_type, int32_t status,
                               amqp_bytes_t body);

#endif /* RPCD_BROKER_H */
