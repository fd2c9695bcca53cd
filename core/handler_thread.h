/* SPDX-License-Identifier: MIT */
/*
 * The worker's handler thread. Handlers run here, one request at a time,
 * while the worker's main thread, which alone owns the AMQP connection,
 * keeps heartbeats flowing and reads what arrives. A handler that runs for
 * minutes therefore neither loses the connection nor runs twice.
 *
 * Threads: submit, fd and collect are called from the main thread only; the
 * handler thread touches nothing but the job it was handed.
 */
#ifndef RPCD_HANDLER_THREAD_H
#define RPCD_HANDLER_THREAD_H

#include <stdbool.h>

#include "request_handler.h"

typedef struct rpcd_handler_thread rpcd_handler_thread;

/* Start the thread. cfg is borrowed for the thread's life.
 * \return RPCD_OK or RPCD_ENOMEM (thread or eventfd could not be made) */
int rpcd__handler_thread_start(const rpcd_handler_config *cfg,
                               rpcd_handler_thread **out);

/* Run rpcd__handle_message(cfg, in, out) on the thread. Only when idle; in
 * and what it points to must stay valid until collected. */
void rpcd__handler_thread_submit(rpcd_handler_thread *t,
                                 const rpcd_message_in *in,
                                 rpcd_message_out *out);

/* Readable when the submitted job is done. */
int rpcd__handler_thread_fd(const rpcd_handler_thread *t);

/* True (once per job) when the submitted job is done and *out filled. */
bool rpcd__handler_thread_collect(rpcd_handler_thread *t);

/* True while a job is submitted and not collected. */
bool rpcd__handler_thread_busy(const rpcd_handler_thread *t);

/* Stop and join the thread; only when not busy. NULL ok. */
void rpcd__handler_thread_stop(rpcd_handler_thread *t);

#endif /* RPCD_HANDLER_THREAD_H */
