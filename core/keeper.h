/* SPDX-License-Identifier: MIT */
/*
 * The keeper: a thread of each worker that keeps the worker's connection
 * alive while the main thread runs a long handler. Handlers run inline on
 * the main thread, which holds the connection lock the rest of the time, so
 * a fast handler costs no thread hand-off at all. The main thread lets go
 * of the lock only while plugin code runs; once a handler has run for
 * `after_ms`, the keeper takes the lock every tick and calls back to pump
 * the connection: heartbeats, deliveries to hold, a drain to begin, a
 * handler timeout to enforce. A rabbitmq-c connection is so used by one
 * thread at a time, handed over by the lock.
 */
#ifndef RPCD_KEEPER_H
#define RPCD_KEEPER_H

#include <pthread.h>
#include <stdint.h>

typedef struct rpcd_keeper rpcd_keeper;

/* Called on the keeper thread with the lock held, while a handler has been
 * running for ran_ms >= after_ms. */
typedef void (*rpcd_keeper_fn)(void *ctx, int64_t ran_ms);

/*
 * Start the keeper thread. lock, fn and ctx are borrowed for its life.
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__keeper_start(pthread_mutex_t *lock, rpcd_keeper_fn fn, void *ctx,
                       unsigned tick_ms, unsigned after_ms, rpcd_keeper **out);

/* Main thread, around a handler: begin releases the lock, end takes it
 * back (waiting for a pump under way to finish). */
void rpcd__keeper_handler_begin(rpcd_keeper *k);
void rpcd__keeper_handler_end(rpcd_keeper *k);

/* Stop and join the thread. NULL ok. */
void rpcd__keeper_stop(rpcd_keeper *k);

#endif /* RPCD_KEEPER_H */
