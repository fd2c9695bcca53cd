/* SPDX-License-Identifier: MIT */
/*
 * The AMQP edge shared by the server and the SDK: opening a connection from
 * a URI, translating rabbitmq-c's results into rpcd_status values with a
 * readable message, and reading AMQP table fields. Nothing outside
 * transport_amqp.c looks at amqp_rpc_reply_t.reply_type.
 */
#ifndef RPCD_TRANSPORT_AMQP_H
#define RPCD_TRANSPORT_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h> /* struct timeval, used by rabbitmq-c */

#include "amqp_compat.h"
#include "transport_tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rpcd_amqp_options {
  unsigned connect_timeout_ms; /* 0: 5000 */
  unsigned heartbeat_s;        /* 0: none */
  const char *product;         /* client property "product", may be NULL */
  /* Capabilities to advertise. The broker sends basic.cancel (queue
   * deleted) and connection.blocked/unblocked (resource alarm) only to
   * clients that advertise them; set one only where its frame is handled. */
  bool consumer_cancel_notify;
  bool connection_blocked;
  /* For amqps:// URIs (borrowed); NULL: verified against the system's CA
   * store, PLAIN login. Refused with an amqp:// URI. */
  const rpcd_tls_options *tls;
} rpcd_amqp_options;

/*
 * Parse `uri`, open a TCP connection (TLS for amqps://), log in and open
 * `channels` channels numbered 1..channels.
 *
 * \param out  out: the connection, owned by the caller; close it with
 *             rpcd__amqp_close()
 * \return RPCD_OK, RPCD_EINVAL (bad URI), RPCD_ECONNECT (socket, login or
 *         channel failure) with a message in err
 */
int rpcd__amqp_connect(const char *uri, const rpcd_amqp_options *opts,
                       int channels, amqp_connection_state_t *out, char *err,
                       size_t errlen);

/* Check that `uri` parses as rpcd__amqp_connect() would parse it, and
 * that `tls` (NULL: none) goes with it and names usable files, without
 * connecting. \return RPCD_OK, or RPCD_EINVAL / RPCD_ENOMEM with a message
 * in err (the URI in it masked) */
int rpcd__amqp_uri_check(const char *uri, const rpcd_tls_options *tls,
                         char *err, size_t errlen);

/* The user `uri` logs in as ("guest" when it names none), %XX escapes
 * decoded, into user: what the broker accepts as a message's user_id.
 * \return RPCD_OK, RPCD_EINVAL (bad URI, or a user that does not fit
 * userlen) with a message in err, RPCD_ENOMEM */
int rpcd__amqp_uri_user(const char *uri, char *user, size_t userlen, char *err,
                        size_t errlen);

/*
 * Free a connection that a forked child inherited and must leave alone:
 * the parent still uses the socket. Destroying it the usual way would
 * write on that shared socket (a TLS close_notify ends the parent's
 * connection), so the child's descriptor is first pointed at /dev/null.
 */
void rpcd__amqp_forget_inherited(amqp_connection_state_t conn);

/* Close channels 1..channels and the connection politely, then destroy it.
 * NULL ok. Safe on a connection that already failed. Pass only channels
 * still open: closing one the broker already closed is a protocol error. */
void rpcd__amqp_close(amqp_connection_state_t conn, int channels);

/*
 * Translate a rabbitmq-c RPC result into an rpcd_status.
 *
 * \param what  what was being done, for the message ("declaring queue")
 * \return RPCD_OK for AMQP_RESPONSE_NORMAL. For a server exception:
 *         RPCD_ENOROUTE for channel.close 404 (NOT_FOUND), otherwise
 *         RPCD_EBROKER; *closed_channel / *closed_connection (either may be
 *         NULL) tell what the broker closed, and the close is acknowledged
 *         (channel.close-ok on `channel`, connection.close-ok) here. For a
 * library error: RPCD_ECONNLOST for socket and connection errors,
 *         RPCD_ETIMEDOUT for AMQP_STATUS_TIMEOUT, RPCD_EBROKER otherwise
 *         (AMQP_STATUS_UNEXPECTED_STATE included: a frame other than the
 *         awaited one arrived, which amqp_consume_message() callers read
 *         with amqp_simple_wait_frame()). RPCD_ETIMEDOUT is benign after
 *         amqp_consume_message() (nothing arrived), but after a synchronous
 *         method rabbitmq-c has closed the connection: treat it as lost.
 *         err gets e.g. "declaring queue: NOT_FOUND - no queue 'x'".
 */
int rpcd__amqp_status(amqp_connection_state_t conn, amqp_channel_t channel,
                      amqp_rpc_reply_t r, const char *what,
                      bool *closed_channel, bool *closed_connection, char *err,
                      size_t errlen);

/* rpcd__amqp_status(conn, channel, amqp_get_rpc_reply(conn), ...) */
int rpcd__amqp_last_status(amqp_connection_state_t conn, amqp_channel_t channel,
                           const char *what, char *err, size_t errlen);

/* Map a rabbitmq-c library status (AMQP_STATUS_*, a negative int from a
 * function such as amqp_basic_publish) to an rpcd_status. */
int rpcd__amqp_lib_status(int amqp_status);

/* Look up `key` in a table. NULL when absent. */
const amqp_table_entry_t *rpcd__amqp_table_get(const amqp_table_t *t,
                                               const char *key);

/* Read an integer field of any AMQP integer kind. false when the entry is
 * not an integer (a timestamp is not one) or is a uint64 above INT64_MAX. */
bool rpcd__amqp_field_int(const amqp_field_value_t *v, int64_t *out);

/* "an integer", "a string", "a timestamp"...: a field kind for messages. */
const char *rpcd__amqp_kind_name(uint8_t kind);

/* Compare amqp_bytes_t with a C string. */
bool rpcd__amqp_bytes_eq(amqp_bytes_t b, const char *s);

/* Milliseconds since the Unix epoch, and a monotonic clock in milliseconds. */
int64_t rpcd__now_unix_ms(void);
int64_t rpcd__now_mono_ms(void);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_TRANSPORT_AMQP_H */
