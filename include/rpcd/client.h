/* SPDX-License-Identifier: MIT */
/*
 * rpcd client SDK: call methods served by rpcd over RabbitMQ.
 *
 * A client owns one AMQP connection. Threads: a client is used by one
 * thread at a time (it is not thread-safe; a rabbitmq-c connection belongs
 * to one thread): use one client per thread, or lock around every call on
 * a shared one. Completion callbacks run on the thread that calls
 * rpcd_client_process() (or a blocking call, close or free), inside that
 * call. Different clients may be used by different threads at once.
 *
 * Blocking: rpcd_client_call() calls and waits; rpcd_client_send() starts a
 * call and rpcd_client_wait() collects its reply, in any order, so one
 * client can carry many calls in flight.
 *
 * Event loop (in the manner of hiredis's async context and curl's multi
 * API): rpcd_client_submit() starts a call with a completion callback and
 * never waits for the broker; the application watches rpcd_client_fd() for
 * reading, sleeps at most rpcd_client_timeout_ms(), and then calls
 * rpcd_client_process(), which reads what arrived, completes calls (running
 * their callbacks), expires timeouts and never blocks:
 *
 *   for (;;) {
 *     struct pollfd p = {rpcd_client_fd(c), POLLIN, 0};
 *     poll(&p, p.fd >= 0, rpcd_client_timeout_ms(c));
 *     rpcd_client_process(c);
 *   }
 *
 * Params and results are msgpack bytes; build params with msgpack-c's
 * msgpack_packer (an array for positional arguments, a map for named ones).
 *
 *   rpcd_client *c;
 *   rpcd_reply *r;
 *   rpcd_client_new(&c);
 *   if (rpcd_client_connect(c, "amqp://guest:guest@127.0.0.1:5672") != 0)
 *     fprintf(stderr, "%s\n", rpcd_client_last_error(c));
 *   int rc = rpcd_client_call(c, "fib", params, params_len, 5000, &r, 0);
 *   ...
 *   rpcd_reply_free(r);
 *   rpcd_client_free(c);
 */
#ifndef RPCD_CLIENT_H
#define RPCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rpcd/export.h>
#include <rpcd/status.h>
#include <rpcd/version.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpcd_client rpcd_client; /* opaque */
typedef struct rpcd_reply rpcd_reply;   /* opaque */
typedef uint64_t rpcd_call_id;          /* handle of a call in flight */

#define RPCD_DEFAULT_QUEUE "rpc_queue"
#define RPCD_DEFAULT_TIMEOUT_MS 30000u
/* Default of rpcd_client_set_max_reply(): the largest result a server with
 * the default --max-body (1 MiB) sends, plus room for the reply's framing
 * around it ([1, msgid, nil, result] adds at most 8 bytes). */
#define RPCD_DEFAULT_MAX_REPLY ((size_t)(1u << 20) + 64u)

/**
 * Allocate a client. No I/O happens until rpcd_client_connect().
 *
 * \param out  out: the new client, owned by the caller; free it with
 *             rpcd_client_free()
 * \return RPCD_OK or RPCD_ENOMEM
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_new(rpcd_client **out);

/**
 * Close the connection (if any), fail the calls in flight and free the
 * client. Does nothing for NULL.
 * \since 0.1
 */
RPCD_EXPORT void rpcd_client_free(rpcd_client *client);

/**
 * Set the request queue calls are sent to (default "rpc_queue").
 *
 * \param queue  NUL-terminated, 1 to 255 bytes (copied)
 * \return RPCD_OK, RPCD_EINVAL for a bad name, RPCD_ENOMEM
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_set_queue(rpcd_client *client, const char *queue);

/**
 * Set the timeout used by calls that pass timeout_ms = 0 (default 30000).
 * Until rpcd_client_set_connect_timeout() is called, it also bounds
 * rpcd_client_connect().
 *
 * \return RPCD_OK, or RPCD_EINVAL for 0
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_set_timeout(rpcd_client *client,
                                        unsigned timeout_ms);

/**
 * Set how long rpcd_client_connect() waits for the broker. The timeout
 * bounds the TCP connect and the AMQP handshake and login (rabbitmq-c gives
 * each step the whole timeout), and opening the channels and starting the
 * reply consumer must finish before it has passed since the connect began:
 * a listener that accepts the connection and never answers costs exactly
 * timeout_ms. Takes effect at the next connect. Like every function on a
 * client, call it from the thread that owns the client.
 *
 * \param timeout_ms  milliseconds; 0 restores the default: the timeout set
 *                    with rpcd_client_set_timeout() when one was set, else
 *                    5000
 * \return RPCD_OK, or RPCD_EINVAL for a NULL client
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_set_connect_timeout(rpcd_client *client,
                                                unsigned timeout_ms);

/**
 * Ask for AMQP heartbeats every `seconds` at the next connect (default 0:
 * none; the broker may lower it). With heartbeats, a connection the broker
 * has not been heard from for two intervals (dead, or half-open, also in
 * the middle of a message) is given up: every call in flight fails with
 * RPCD_ECONNLOST. rpcd_client_timeout_ms() then wakes the loop twice per
 * interval, and the application must call rpcd_client_process() (or a
 * blocking call) at least that often, even with no call in flight, or
 * the broker closes the connection for missed heartbeats.
 *
 * \return RPCD_OK, or RPCD_EINVAL for a NULL client or more than 65535
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_set_heartbeat(rpcd_client *client,
                                          unsigned seconds);

/**
 * Set the largest reply body the client accepts (default
 * RPCD_DEFAULT_MAX_REPLY, a little over 1 MiB). A larger reply is checked by
 * the size its content header announces, before its body is read; the body
 * is then read in frames and dropped, never held whole, and the call fails
 * with RPCD_ETOOBIG ("reply of N bytes exceeds the limit of M bytes" in
 * rpcd_client_last_error()). The connection stays usable. Call it from the
 * thread that owns the client; it applies to the replies read from then on.
 *
 * \param bytes  at least 1
 * \return RPCD_OK, or RPCD_EINVAL for 0 or a NULL client
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_set_max_reply(rpcd_client *client, size_t bytes);

/* rpcd_client_set_tls() flags. */
/** Verify neither the broker's certificate nor its host name. */
#define RPCD_TLS_INSECURE 0x1u
/** Log in as the client certificate's user (SASL EXTERNAL). */
#define RPCD_TLS_EXTERNAL 0x2u

/**
 * TLS settings for the next connects to an amqps:// URI. Without this
 * call, an amqps:// broker's certificate is verified against the system's
 * CA store and its host name checked; a plain amqp:// URI given with these
 * settings is refused (RPCD_EINVAL at connect).
 *
 * Host names are matched against the certificate's DNS names only, also
 * when the URI names an IP address: connect by a name the certificate
 * lists (e.g. localhost), or give the certificate a DNS:127.0.0.1 entry.
 * Connections use TLS 1.2 or later. Over TLS, requests are written frame
 * by frame through the TLS socket, without the batching of plain
 * connections.
 *
 * \param ca_file    PEM file of the CAs to trust; NULL: the system's store
 * \param cert_file  PEM client certificate for mutual TLS, or NULL
 * \param key_file   its unencrypted PEM key; NULL: in cert_file
 * \param flags      0, or RPCD_TLS_INSECURE: no verification at all (anyone
 *                   on the path can read and change the traffic; for tests
 *                   only; the SDK prints nothing, the application should
 *                   warn), RPCD_TLS_EXTERNAL: log in with SASL EXTERNAL as
 *                   the certificate's user (its subject's common name,
 *                   which requests then carry as user_id) instead of the
 *                   URI's user and password
 * \return RPCD_OK; RPCD_EINVAL when a file cannot be read or used (the key
 *         does not match the certificate, EXTERNAL without a certificate),
 *         with the detail in rpcd_client_last_error(); RPCD_ENOMEM. The
 *         paths are copied; the files are read again at every connect.
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_set_tls(rpcd_client *client, const char *ca_file,
                                    const char *cert_file, const char *key_file,
                                    unsigned flags);

/**
 * Connect to the broker and get ready to receive replies through RabbitMQ's
 * direct reply-to. A connected client may be connected again after a
 * failure; the calls in flight are then failed with RPCD_ECONNLOST.
 *
 * A broker that does not answer fails the connect after the connect
 * timeout (see rpcd_client_set_connect_timeout()).
 *
 * After a lost connection (every call in flight failed with
 * RPCD_ECONNLOST), the next rpcd_client_call() or rpcd_client_send()
 * connects again to the same URI before it starts (since 0.2); not after
 * rpcd_client_close(). The event loop never waits for a connect: its
 * caller calls rpcd_client_connect() again.
 *
 * Every request then carries the URI's user as its AMQP user_id, which the
 * broker checks against the login and a server with --acl goes by.
 *
 * \param uri  "amqp://user:pass@host:port[/vhost]", or amqps:// for TLS
 *             (see rpcd_client_set_tls()) (copied). Note that a
 *             trailing "/" names the empty vhost; leave it out for "/".
 * \return RPCD_OK, RPCD_EINVAL for a bad URI, RPCD_ECONNECT when the broker
 *         cannot be reached, refuses the login or does not finish within
 *         the connect timeout; the detail is in rpcd_client_last_error(),
 *         which never holds the password (a URI in it is masked)
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_connect(rpcd_client *client, const char *uri);

/**
 * Close the connection; calls in flight fail with RPCD_ECONNLOST. The client
 * may be connected again.
 * \since 0.1
 */
RPCD_EXPORT void rpcd_client_close(rpcd_client *client);

/** True while the client has a usable connection. \since 0.1 */
RPCD_EXPORT bool rpcd_client_is_connected(const rpcd_client *client);

/**
 * True while the broker blocks the client's publishes (connection.blocked:
 * a resource alarm, e.g. memory or disk); calls are then held. \since 0.2
 */
RPCD_EXPORT bool rpcd_client_is_blocked(const rpcd_client *client);

/**
 * Detail of the client's last failure, e.g. "queue \"rpc_queue\" has no
 * consumer". Static or client-owned; valid until the next call on the
 * client. Never NULL ("" when there is none).
 * \since 0.1
 */
RPCD_EXPORT const char *rpcd_client_last_error(const rpcd_client *client);

/**
 * Call `method` and wait for its reply.
 *
 * Before publishing, the client checks (at most once a second per queue)
 * that the request queue exists and has a consumer, so a call with no
 * server fails at once instead of at its timeout; while waiting it checks
 * again every few hundred milliseconds.
 *
 * \param method      NUL-terminated name (copied)
 * \param params      msgpack array or map (borrowed for the call only);
 *                    NULL with params_len 0 sends an empty array
 * \param timeout_ms  how long to wait; 0 means the client's default. The
 *                    request carries it as its deadline (x-rpc-deadline),
 *                    so a server does not start it after the caller gave
 *                    up.
 * \param reply       out: on RPCD_OK and RPCD_EREMOTE the reply, owned by
 *                    the caller (free with rpcd_reply_free()); NULL on other
 *                    failures
 * \param flags       pass 0
 * \return RPCD_OK (result in the reply); RPCD_EREMOTE (the server answered
 *         with an error: see rpcd_reply_error_code()); RPCD_ETIMEDOUT;
 *         RPCD_ENOROUTE (the queue does not exist); RPCD_ENOCONSUMER (it
 *         exists but nobody serves it); RPCD_ECONNLOST; RPCD_EPROTO (a
 *         malformed reply: not a reply that decodes, a msgid other than the
 *         request's, or a success with a nil msgid); RPCD_ETOOBIG (the
 *         reply is larger than rpcd_client_set_max_reply() allows);
 *         RPCD_EINVAL (bad method or params, not sent); RPCD_ESTATE (not
 *         connected); RPCD_ENOMEM
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_call(rpcd_client *client, const char *method,
                                 const void *params, size_t params_len,
                                 unsigned timeout_ms, rpcd_reply **reply,
                                 unsigned flags);

/**
 * Start a call and return without waiting. Collect the outcome with
 * rpcd_client_wait(); every started call must be waited for once.
 *
 * Same parameters and checks as rpcd_client_call(); on RPCD_OK *id names the
 * call. The timeout counts from now.
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_send(rpcd_client *client, const char *method,
                                 const void *params, size_t params_len,
                                 unsigned timeout_ms, rpcd_call_id *id,
                                 unsigned flags);

/**
 * Wait for the call `id` (from rpcd_client_send()) to complete, and forget
 * it. Replies to other calls that arrive meanwhile are kept for their own
 * rpcd_client_wait(); calls submitted with a callback complete meanwhile
 * (their callbacks run inside this call). Built on rpcd_client_process()
 * and poll(2).
 *
 * \return as rpcd_client_call(); RPCD_EINVAL for an unknown id
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_wait(rpcd_client *client, rpcd_call_id id,
                                 rpcd_reply **reply);

/**
 * Completion callback of rpcd_client_submit(). Runs exactly once per
 * submitted call, on the thread that drives the client, inside
 * rpcd_client_process() (or rpcd_client_close() / rpcd_client_free() /
 * the blocking calls, which process too; close and free complete the calls
 * in flight with RPCD_ECONNLOST). The call is already forgotten when it
 * runs (rpcd_client_pending() no longer counts it).
 *
 * \param id      the call's id, as rpcd_client_submit() returned it
 * \param status  as rpcd_client_call() returns; rpcd_client_last_error()
 *                holds the detail while the callback runs
 * \param reply   on RPCD_OK and RPCD_EREMOTE the reply, else NULL. The
 *                callback owns it: free it with rpcd_reply_free() (now or
 *                later)
 *
 * From a callback one may submit, notify, close, and use the reply; not
 * rpcd_client_process(), rpcd_client_call(), _send(), _wait() (they fail
 * with RPCD_ESTATE) nor rpcd_client_free().
 * \since 0.2
 */
typedef void (*rpcd_call_cb)(rpcd_client *client, rpcd_call_id id, int status,
                             rpcd_reply *reply, void *user);

/**
 * Start a call whose outcome is given to `cb`. Never waits for the broker:
 * when the request queue needs checking (see rpcd_client_call()), the
 * check is sent and the call is published when its answer comes, or fails
 * with RPCD_ENOROUTE / RPCD_ENOCONSUMER through the callback. While the
 * broker blocks publishers (connection.blocked, a resource alarm), calls
 * are held unpublished until it unblocks, and time out by their own
 * deadline, never later.
 *
 * \param timeout_ms  0 means the client's default; counts from now
 * \param cb          required
 * \param user        passed to cb
 * \param id          out (may be NULL): the call's id
 * \return RPCD_OK (cb will run exactly once); otherwise cb never runs:
 *         RPCD_EINVAL (bad method or params, no cb), RPCD_ESTATE (not
 *         connected), RPCD_ECONNLOST (the connection failed while sending),
 *         RPCD_ENOMEM
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_submit(rpcd_client *client, const char *method,
                                   const void *params, size_t params_len,
                                   unsigned timeout_ms, rpcd_call_cb cb,
                                   void *user, rpcd_call_id *id);

/**
 * The connection's socket, to watch for reading (POLLIN); -1 when not
 * connected. It changes when the client reconnects.
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_fd(const rpcd_client *client);

/**
 * Milliseconds until rpcd_client_process() has work to do even if the fd
 * stays quiet: the next call deadline, queue check or stalled reply. 0 when
 * it must be called now (data already read into the client's buffers, or
 * callbacks to run): do not sleep then. -1 when there is nothing to wait
 * for (no calls; sleep on the fd alone, or not at all when not connected).
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_timeout_ms(const rpcd_client *client);

/**
 * Read every frame that is available without waiting (including what
 * rabbitmq-c has buffered already, which a quiet fd does not show),
 * complete the calls whose replies arrived, expire the calls whose
 * deadline passed, and run the completion callbacks. Never blocks.
 *
 * \return RPCD_OK; RPCD_ECONNLOST when the client is not connected (the
 *         connection was lost now or before: every call failed with
 *         RPCD_ECONNLOST and its callback ran; rpcd_client_connect()
 *         connects again); RPCD_ESTATE from a callback; RPCD_EINVAL
 * \since 0.2
 */
RPCD_EXPORT int rpcd_client_process(rpcd_client *client);

/**
 * Send a notification: a request that gets no reply. Success means the
 * broker accepted the message, not that a server ran it.
 *
 * \return RPCD_OK, RPCD_EINVAL, RPCD_ESTATE, RPCD_ECONNLOST, RPCD_ENOMEM
 * \since 0.1
 */
RPCD_EXPORT int rpcd_client_notify(rpcd_client *client, const char *method,
                                   const void *params, size_t params_len,
                                   unsigned flags);

/**
 * Calls started and not yet collected with rpcd_client_wait() (in flight,
 * or answered and waiting to be collected), and submitted calls whose
 * callback has not run yet.
 * \since 0.1
 */
RPCD_EXPORT size_t rpcd_client_pending(const rpcd_client *client);

/**
 * Replies dropped since the client was created because their correlation id
 * matched no pending call: late replies to calls that timed out, duplicates
 * of redelivered requests, replies with no or a foreign correlation id.
 * \since 0.1
 */
RPCD_EXPORT uint64_t rpcd_client_dropped_replies(const rpcd_client *client);

/** Free a reply. Does nothing for NULL. \since 0.1 */
RPCD_EXPORT void rpcd_reply_free(rpcd_reply *reply);

/**
 * The result as msgpack bytes (exactly one object; nil for an error reply).
 *
 * \param data  out: borrowed from the reply, valid until rpcd_reply_free()
 * \return RPCD_OK
 * \since 0.1
 */
RPCD_EXPORT int rpcd_reply_result(const rpcd_reply *reply, const void **data,
                                  size_t *len);

/** The reply's error code: 0 on success, else a wire code. \since 0.1 */
RPCD_EXPORT int rpcd_reply_error_code(const rpcd_reply *reply);

/**
 * The error message (NUL-terminated, owned by the reply); "" on success.
 * \since 0.1
 */
RPCD_EXPORT const char *rpcd_reply_error_message(const rpcd_reply *reply);

/**
 * The error's "data" member as msgpack bytes, when the server sent one.
 *
 * \param data  out: borrowed from the reply, valid until rpcd_reply_free()
 * \return true when there is data
 * \since 0.1
 */
RPCD_EXPORT bool rpcd_reply_error_data(const rpcd_reply *reply,
                                       const void **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_CLIENT_H */
