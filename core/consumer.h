/* SPDX-License-Identifier: MIT */
/*
 * A worker's AMQP connection (one connection, one channel): declares the
 * queues, consumes the request queue with a prefetch limit, and publishes
 * replies, acks, requeues and dead letters. It never blocks waiting for a
 * delivery: the worker's loop (worker.c) polls rpcd__consumer_fd() and calls
 * rpcd__consumer_read(). Requests are acked only after their reply was
 * handed to the socket, so a worker that dies mid-request leaves the
 * request to be delivered again.
 *
 * Threads: a connection belongs to the thread that opened it.
 */
#ifndef RPCD_CONSUMER_H
#define RPCD_CONSUMER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "request_handler.h"
#include "transport_amqp.h"

typedef struct rpcd_consumer_config {
  const char *uri;
  const rpcd_tls_options *tls; /* for amqps://, or NULL */
  rpcd_queue_spec queue;
  unsigned prefetch;
  unsigned heartbeat_s;
} rpcd_consumer_config;

typedef struct rpcd_consumer_stats {
  uint64_t received;
  uint64_t ok;
  uint64_t errors;
  uint64_t expired;
  uint64_t notifications;
  uint64_t poison;  /* delivered more than --max-deliveries times */
  uint64_t cancels; /* basic.cancel from the broker: the queue was deleted */
} rpcd_consumer_stats;

/* Why a request goes to the dead-letter queue (x-rpcd-* headers). */
typedef struct rpcd_dead_letter {
  const char *reason; /* "handler-crashed", "timeout", "poison" */
  const char *signal; /* "SIGSEGV", "exit 3", "" */
  const char *method; /* "" when unknown */
  int64_t time_ms;    /* unix ms */
} rpcd_dead_letter;

typedef struct rpcd_consumer rpcd_consumer;

/*
 * Connect, set the prefetch, declare the queues (broker.h) and start
 * consuming. cfg is borrowed for the consumer's life.
 * \return RPCD_OK, or RPCD_ECONNECT / RPCD_EBROKER / RPCD_EINVAL / RPCD_ENOMEM
 *         with a message in err
 */
int rpcd__consumer_open(const rpcd_consumer_config *cfg, rpcd_consumer **out,
                        char *err, size_t errlen);

/* Close the connection (unacked deliveries go back to the queue) and free.
 * NULL ok. */
void rpcd__consumer_close(rpcd_consumer *c);

/* The socket, to poll for reading. */
int rpcd__consumer_fd(const rpcd_consumer *c);

/* True when rabbitmq-c already holds bytes or frames not yet read: poll()
 * on the socket would not report them. */
bool rpcd__consumer_buffered(const rpcd_consumer *c);

/*
 * Read what arrived without waiting: a delivery (*got true; destroy env
 * with amqp_destroy_envelope) or nothing. Other frames are handled here: a
 * basic.cancel (queue deleted) declares the queue again and consumes it, a
 * connection.blocked is logged. Also sends a heartbeat that is due and
 * notices a broker that has gone quiet for two heartbeat intervals.
 * \return RPCD_OK, or RPCD_ECONNLOST / another status with err: reconnect
 */
int rpcd__consumer_read(rpcd_consumer *c, amqp_envelope_t *env, bool *got,
                        rpcd_consumer_stats *stats, char *err, size_t errlen);

/* Publish `out` to the request's reply_to, with its correlation_id and
 * x-rpc-status. \return an rpcd_status */
int rpcd__consumer_reply(rpcd_consumer *c, const amqp_envelope_t *env,
                         const rpcd_message_out *out);

/* Ack one delivery; hand one back to the queue (basic.reject, requeue). */
int rpcd__consumer_ack(rpcd_consumer *c, uint64_t delivery_tag);
/* Ack every delivery on the channel up to and including `delivery_tag`
 * (basic.ack with multiple). */
int rpcd__consumer_ack_upto(rpcd_consumer *c, uint64_t delivery_tag);
int rpcd__consumer_requeue(rpcd_consumer *c, uint64_t delivery_tag);

/* Change the prefetch limit (basic.qos) on a consuming channel. */
int rpcd__consumer_set_prefetch(rpcd_consumer *c, unsigned prefetch, char *err,
                                size_t errlen);

/* Stop consuming (basic.cancel): the drain's first step. */
int rpcd__consumer_cancel(rpcd_consumer *c, char *err, size_t errlen);

/* Publish a copy of the delivery to "<queue>.dead", persistent, with its
 * properties and headers and the x-rpcd-* headers of `why`. */
int rpcd__consumer_dead_letter(rpcd_consumer *c, const amqp_envelope_t *env,
                               const rpcd_dead_letter *why);

/* Fill `in` from a delivery: body, content type, reply_to, headers. cid
 * receives the correlation id as printable text (in->correlation_id points
 * there). */
void rpcd__message_from_envelope(const amqp_envelope_t *env,
                                 rpcd_message_in *in, char *cid, size_t cidlen);

/*
 * Async-signal-safe: if the consumer is blocked writing (a broker under a
 * resource alarm stops reading), shut its socket down so the write fails
 * and the worker can stop; the request is then redelivered. Does nothing
 * otherwise.
 */
void rpcd__consumer_abort_io(rpcd_consumer *c);

#endif /* RPCD_CONSUMER_H */
