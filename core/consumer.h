/* SPDX-License-Identifier: MIT */
/*
 * The consumer loop: one AMQP connection that declares the request queue,
 * consumes it with a prefetch limit, hands each delivery to the request
 * handler, publishes the reply to reply_to, and acks after the reply is
 * published.
 */
#ifndef RPCD_CONSUMER_H
#define RPCD_CONSUMER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "request_handler.h"

typedef struct rpcd_consumer_config {
  const char *uri;
  const char *queue;
  unsigned prefetch;
  unsigned heartbeat_s;
  rpcd_handler_config handler;
} rpcd_consumer_config;

typedef struct rpcd_consumer_stats {
  uint64_t received;
  uint64_t ok;
  uint64_t errors;
  uint64_t expired;
  uint64_t notifications;
  uint64_t cancels; /* basic.cancel from the broker: the queue was deleted */
} rpcd_consumer_stats;

typedef struct rpcd_consumer rpcd_consumer;

/*
 * Connect, declare the queue (durable), set the prefetch and start
 * consuming.
 * \return RPCD_OK, or RPCD_ECONNECT / RPCD_EBROKER / RPCD_EINVAL / RPCD_ENOMEM
 *         with a message in err
 */
int rpcd__consumer_open(const rpcd_consumer_config *cfg, rpcd_consumer **out,
                        char *err, size_t errlen);

/*
 * Serve requests until *stop becomes non-zero (then RPCD_OK: the request in
 * hand is finished first) or the connection fails (RPCD_ECONNLOST, or
 * another status, with a message in err).
 */
int rpcd__consumer_serve(rpcd_consumer *c, volatile sig_atomic_t *stop,
                         rpcd_consumer_stats *stats, char *err, size_t errlen);

/*
 * Async-signal-safe: if the consumer is blocked writing a reply or an ack
 * (a broker under a resource alarm stops reading), shut its socket down so
 * the write fails and the server can stop; the request is then redelivered.
 * Does nothing otherwise.
 */
void rpcd__consumer_abort_io(void);

/* Cancel, close the connection (unacked deliveries go back to the queue)
 * and free. NULL ok. */
void rpcd__consumer_close(rpcd_consumer *c);

#endif /* RPCD_CONSUMER_H */
