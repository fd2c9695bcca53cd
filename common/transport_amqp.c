/* SPDX-License-Identifier: MIT */
/*
 * AMQP transport helpers shared by the server and the SDK. This is the one
 * place that reads amqp_rpc_reply_t: everything above it sees rpcd_status
 * values and a message.
 */
#include "transport_amqp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <rpcd/status.h>
#include <rpcd/version.h>

#include "rpcd_proto.h"
#include "uri_mask.h"

#define FRAME_MAX 131072

static struct timeval ms_to_tv(unsigned ms)
{
  struct timeval tv;

  tv.tv_sec = ms / 1000;
  tv.tv_usec = (long)(ms % 1000) * 1000;
  return tv;
}

/* Parse uri into info, whose strings point into *copy (free it). */
static int parse_uri(const char *uri, struct amqp_connection_info *info,
                     char **copy, char *err, size_t errlen)
{
  char masked[512];

  *copy = NULL;
  if (!uri || !*uri) {
    rpcd__set_err(err, errlen, "no broker URI given");
    return RPCD_EINVAL;
  }
  *copy = strdup(uri);
  if (!*copy)
    return RPCD_ENOMEM;
  amqp_default_connection_info(info);
  if (amqp_parse_url(*copy, info) != AMQP_STATUS_OK) {
    /* The URI that failed is the one most likely to be mistyped around
     * its password: never print it unmasked. */
    rpcd__uri_mask(uri, masked, sizeof(masked));
    rpcd__set_err(err, errlen,
                  "invalid broker URI \"%s\": expected "
                  "amqp[s]://user:pass@host:port[/vhost] (port 1-65535, "
                  "%%XX escapes in user, password and vhost)",
                  masked);
    goto fail;
  }
  return RPCD_OK;

fail:
  free(*copy);
  *copy = NULL;
  return RPCD_EINVAL;
}

/* TLS options go with amqps:// only: given for a plain URI they would
 * protect nothing while looking as if they did. */
static int check_scheme(const struct amqp_connection_info *info,
                        const rpcd_tls_options *tls, char *err, size_t errlen)
{
  if (!info->ssl && tls &&
      (tls->ca_file || tls->cert_file || tls->key_file || tls->insecure ||
       tls->external)) {
    rpcd__set_err(err, errlen,
                  "TLS options were given for a plain amqp:// URI: use "
                  "amqps://");
    return RPCD_EINVAL;
  }
  return RPCD_OK;
}

int rpcd__amqp_uri_check(const char *uri, const rpcd_tls_options *tls,
                         char *err, size_t errlen)
{
  struct amqp_connection_info info;
  char *copy;
  int rc;

  rc = parse_uri(uri, &info, &copy, err, errlen);
  if (rc == RPCD_OK)
    rc = check_scheme(&info, tls, err, errlen);
  if (rc == RPCD_OK && info.ssl)
    rc = rpcd__tls_check(tls, err, errlen);
  free(copy);
  return rc;
}

int rpcd__amqp_uri_user(const char *uri, char *user, size_t userlen, char *err,
                        size_t errlen)
{
  struct amqp_connection_info info;
  char *copy;
  int rc;

  rc = parse_uri(uri, &info, &copy, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  if (strlen(info.user) >= userlen) {
    rpcd__set_err(err, errlen, "the broker user is longer than %zu bytes",
                  userlen - 1);
    rc = RPCD_EINVAL;
  } else {
    strcpy(user, info.user);
  }
  free(copy);
  return rc;
}

/* A login that failed because the other end dropped the connection (a
 * TLS alert, or a TLS port answering plain AMQP), not for a reason of
 * rabbitmq-c's own. */
static bool ended_by_peer(int status)
{
  return status == AMQP_STATUS_CONNECTION_CLOSED ||
         status == AMQP_STATUS_SOCKET_ERROR ||
         status == AMQP_STATUS_SOCKET_CLOSED ||
         status == AMQP_STATUS_SSL_ERROR || status == AMQP_STATUS_BAD_AMQP_DATA;
}

int rpcd__amqp_connect(const char *uri, const rpcd_amqp_options *opts,
                       int channels, amqp_connection_state_t *out, char *err,
                       size_t errlen)
{
  struct amqp_connection_info info;
  const rpcd_tls_options *tls;
  amqp_connection_state_t conn;
  amqp_socket_t *sock;
  amqp_table_entry_t props[2];
  amqp_table_entry_t caps[2];
  amqp_table_t props_table;
  struct timeval tv;
  char *uri_copy;
  unsigned timeout_ms;
  int64_t started;
  int64_t left;
  int status;
  int rc;
  int ch;

  *out = NULL;
  rc = parse_uri(uri, &info, &uri_copy, err, errlen);
  if (rc != RPCD_OK)
    return rc;

  conn = amqp_new_connection();
  if (!conn) {
    rc = RPCD_ENOMEM;
    goto out_free_uri;
  }
  tls = opts ? opts->tls : NULL;
  rc = check_scheme(&info, tls, err, errlen);
  if (rc != RPCD_OK)
    goto out_destroy;
  if (info.ssl) {
    sock = rpcd__tls_socket_new(conn, tls, err, errlen);
    if (!sock) {
      rc = RPCD_EINVAL;
      goto out_destroy;
    }
  } else {
    sock = amqp_tcp_socket_new(conn);
    if (!sock) {
      rc = RPCD_ENOMEM;
      goto out_destroy;
    }
  }
  timeout_ms =
      opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
  started = rpcd__now_mono_ms();
  tv = ms_to_tv(timeout_ms);
  status = amqp_socket_open_noblock(sock, info.host, info.port, &tv);
  if (status != AMQP_STATUS_OK) {
    char detail[400];

    if (info.ssl && status != AMQP_STATUS_SOCKET_ERROR &&
        status != AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED)
      rpcd__tls_describe(status, false, info.host, info.port, detail,
                         sizeof(detail));
    else
      rpcd__set_err(detail, sizeof(detail), "%s", amqp_error_string2(status));
    rpcd__set_err(err, errlen, "could not connect to broker at %s:%d: %s",
                  info.host, info.port, detail);
    rc = RPCD_ECONNECT;
    goto out_destroy;
  }
  /* One deadline for connecting and logging in: the handshake gets what
   * the TCP connect left of it. */
  left = (int64_t)timeout_ms - (rpcd__now_mono_ms() - started);
  tv = ms_to_tv(left > 0 ? (unsigned)left : 1);
  amqp_set_handshake_timeout(conn, &tv);
  amqp_set_rpc_timeout(conn, &tv);

  props[0].key = amqp_cstring_bytes("product");
  props[0].value.kind = AMQP_FIELD_KIND_UTF8;
  props[0].value.value.bytes =
      amqp_cstring_bytes(opts && opts->product ? opts->product : "rpcd");
  /* rabbitmq-c merges this with its own capabilities table. */
  caps[0].key = amqp_cstring_bytes("consumer_cancel_notify");
  caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[0].value.value.boolean = opts && opts->consumer_cancel_notify;
  caps[1].key = amqp_cstring_bytes("connection.blocked");
  caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  caps[1].value.value.boolean = opts && opts->connection_blocked;
  props[1].key = amqp_cstring_bytes("capabilities");
  props[1].value.kind = AMQP_FIELD_KIND_TABLE;
  props[1].value.value.table.num_entries = 2;
  props[1].value.value.table.entries = caps;
  props_table.num_entries = 2;
  props_table.entries = props;
  {
    int heartbeat = opts ? (int)opts->heartbeat_s : 0;
    bool external = tls && tls->external;
    char cert_user[256];
    amqp_rpc_reply_t r;
    char detail[400];

    /* EXTERNAL: the broker takes the user from the client certificate and
     * ignores the identity sent; rabbitmq-c cannot send an empty one. */
    if (external) {
      rc = rpcd__tls_cert_user(tls->cert_file, cert_user, sizeof(cert_user),
                               err, errlen);
      if (rc != RPCD_OK)
        goto out_destroy;
      r = amqp_login_with_properties(conn, info.vhost, 0, FRAME_MAX, heartbeat,
                                     &props_table, AMQP_SASL_METHOD_EXTERNAL,
                                     cert_user);
    } else {
      r = amqp_login_with_properties(conn, info.vhost, 0, FRAME_MAX, heartbeat,
                                     &props_table, AMQP_SASL_METHOD_PLAIN,
                                     info.user, info.password);
    }

    rc = rpcd__amqp_status(conn, 0, r, "logging in", NULL, NULL, detail,
                           sizeof(detail));
    if (rc != RPCD_OK) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && info.ssl &&
          ended_by_peer(r.library_error))
        rpcd__tls_describe(r.library_error, true, info.host, info.port, detail,
                           sizeof(detail));
      else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && !info.ssl &&
               ended_by_peer(r.library_error))
        rpcd__set_err(detail + strlen(detail), sizeof(detail) - strlen(detail),
                      " (is port %d a TLS port? then use amqps://)", info.port);
      rpcd__set_err(
          err, errlen,
          "could not log in to broker at %s:%d (vhost \"%s\") as "
          "\"%s\"%s: %s",
          info.host, info.port, info.vhost, external ? cert_user : info.user,
          external ? " (EXTERNAL, from the client certificate)" : "", detail);
      rc = RPCD_ECONNECT;
      goto out_destroy;
    }
  }
  /* Later synchronous methods (declare, consume) get the whole timeout:
   * never wait forever on a broker that stopped answering. */
  tv = ms_to_tv(timeout_ms);
  amqp_set_rpc_timeout(conn, &tv);
  for (ch = 1; ch <= channels; ch++) {
    char detail[256];

    amqp_channel_open(conn, (amqp_channel_t)ch);
    rc = rpcd__amqp_last_status(conn, (amqp_channel_t)ch, "opening channel",
                                detail, sizeof(detail));
    if (rc != RPCD_OK) {
      rpcd__set_err(err, errlen, "could not open channel %d: %s", ch, detail);
      rc = RPCD_ECONNECT;
      goto out_close;
    }
  }
  free(uri_copy);
  *out = conn;
  return RPCD_OK;

out_close:
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
out_destroy:
  amqp_destroy_connection(conn);
out_free_uri:
  free(uri_copy);
  return rc;
}

void rpcd__amqp_forget_inherited(amqp_connection_state_t conn)
{
  int fd = conn ? amqp_get_sockfd(conn) : -1;
  int null_fd;

  if (!conn)
    return;
  if (fd >= 0) {
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, fd);
      close(null_fd);
    }
  }
  amqp_destroy_connection(conn);
}

void rpcd__amqp_close(amqp_connection_state_t conn, int channels)
{
  struct timeval tv = ms_to_tv(1000);
  int ch;

  if (!conn)
    return;
  /* A dead peer must not hold up shutdown. */
  amqp_set_rpc_timeout(conn, &tv);
  if (amqp_get_socket(conn) && amqp_get_sockfd(conn) >= 0) {
    for (ch = 1; ch <= channels; ch++)
      amqp_channel_close(conn, (amqp_channel_t)ch, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
}

int rpcd__amqp_lib_status(int amqp_status)
{
  switch (amqp_status) {
  case AMQP_STATUS_OK:
    return RPCD_OK;
  case AMQP_STATUS_NO_MEMORY:
    return RPCD_ENOMEM;
  case AMQP_STATUS_TIMEOUT:
    return RPCD_ETIMEDOUT;
  case AMQP_STATUS_CONNECTION_CLOSED:
  case AMQP_STATUS_SOCKET_ERROR:
  case AMQP_STATUS_SOCKET_CLOSED:
  case AMQP_STATUS_HEARTBEAT_TIMEOUT:
  case AMQP_STATUS_TCP_ERROR:
  case AMQP_STATUS_SSL_ERROR:
  case AMQP_STATUS_SSL_CONNECTION_FAILED:
    return RPCD_ECONNLOST;
  case AMQP_STATUS_INVALID_PARAMETER:
  case AMQP_STATUS_TABLE_TOO_BIG:
    return RPCD_EINVAL;
  default:
    return RPCD_EBROKER;
  }
}

int rpcd__amqp_status(amqp_connection_state_t conn, amqp_channel_t channel,
                      amqp_rpc_reply_t r, const char *what,
                      bool *closed_channel, bool *closed_connection, char *err,
                      size_t errlen)
{
  if (closed_channel)
    *closed_channel = false;
  if (closed_connection)
    *closed_connection = false;

  switch (r.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    return RPCD_OK;
  case AMQP_RESPONSE_NONE:
    rpcd__set_err(err, errlen, "%s: the broker closed the connection", what);
    return RPCD_ECONNLOST;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    rpcd__set_err(err, errlen, "%s: %s", what,
                  amqp_error_string2(r.library_error));
    return rpcd__amqp_lib_status(r.library_error);
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    break;
  default:
    rpcd__set_err(err, errlen, "%s: unknown rabbitmq-c reply type %d", what,
                  (int)r.reply_type);
    return RPCD_EBROKER;
  }

  if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const amqp_channel_close_t *m = r.reply.decoded;
    amqp_channel_close_ok_t ok;

    rpcd__set_err(err, errlen, "%s: %.*s", what, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    if (closed_channel)
      *closed_channel = true;
    /* The broker waits for close-ok before it reuses the channel number. */
    if (conn)
      amqp_send_method(conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    return m->reply_code == AMQP_NOT_FOUND ? RPCD_ENOROUTE : RPCD_EBROKER;
  }
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const amqp_connection_close_t *m = r.reply.decoded;
    amqp_connection_close_ok_t ok;

    rpcd__set_err(err, errlen, "%s: the broker closed the connection: %.*s",
                  what, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    if (closed_connection)
      *closed_connection = true;
    if (conn)
      amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    return RPCD_ECONNLOST;
  }
  rpcd__set_err(err, errlen, "%s: unexpected method 0x%08x from the broker",
                what, (unsigned)r.reply.id);
  return RPCD_EBROKER;
}

int rpcd__amqp_last_status(amqp_connection_state_t conn, amqp_channel_t channel,
                           const char *what, char *err, size_t errlen)
{
  return rpcd__amqp_status(conn, channel, amqp_get_rpc_reply(conn), what, NULL,
                           NULL, err, errlen);
}

const amqp_table_entry_t *rpcd__amqp_table_get(const amqp_table_t *t,
                                               const char *key)
{
  int i;

  if (!t)
    return NULL;
  for (i = 0; i < t->num_entries; i++) {
    if (rpcd__amqp_bytes_eq(t->entries[i].key, key))
      return &t->entries[i];
  }
  return NULL;
}

bool rpcd__amqp_field_int(const amqp_field_value_t *v, int64_t *out)
{
  switch (v->kind) {
  case AMQP_FIELD_KIND_I8:
    *out = v->value.i8;
    return true;
  case AMQP_FIELD_KIND_U8:
    *out = v->value.u8;
    return true;
  case AMQP_FIELD_KIND_I16:
    *out = v->value.i16;
    return true;
  case AMQP_FIELD_KIND_U16:
    *out = v->value.u16;
    return true;
  case AMQP_FIELD_KIND_I32:
    *out = v->value.i32;
    return true;
  case AMQP_FIELD_KIND_U32:
    *out = v->value.u32;
    return true;
  case AMQP_FIELD_KIND_I64:
    *out = v->value.i64;
    return true;
  case AMQP_FIELD_KIND_U64:
    if (v->value.u64 > (uint64_t)INT64_MAX)
      return false;
    *out = (int64_t)v->value.u64;
    return true;
  default:
    return false;
  }
}

const char *rpcd__amqp_kind_name(uint8_t kind)
{
  switch (kind) {
  case AMQP_FIELD_KIND_BOOLEAN:
    return "a boolean";
  case AMQP_FIELD_KIND_I8:
  case AMQP_FIELD_KIND_U8:
  case AMQP_FIELD_KIND_I16:
  case AMQP_FIELD_KIND_U16:
  case AMQP_FIELD_KIND_I32:
  case AMQP_FIELD_KIND_U32:
  case AMQP_FIELD_KIND_I64:
  case AMQP_FIELD_KIND_U64:
    return "an integer";
  case AMQP_FIELD_KIND_F32:
  case AMQP_FIELD_KIND_F64:
    return "a float";
  case AMQP_FIELD_KIND_DECIMAL:
    return "a decimal";
  case AMQP_FIELD_KIND_UTF8:
  case AMQP_FIELD_KIND_BYTES:
    return "a string";
  case AMQP_FIELD_KIND_ARRAY:
    return "an array";
  case AMQP_FIELD_KIND_TIMESTAMP:
    return "a timestamp";
  case AMQP_FIELD_KIND_TABLE:
    return "a table";
  case AMQP_FIELD_KIND_VOID:
    return "void";
  default:
    return "an unknown field type";
  }
}

bool rpcd__amqp_bytes_eq(amqp_bytes_t b, const char *s)
{
  size_t n = strlen(s);

  return b.len == n && (n == 0 || memcmp(b.bytes, s, n) == 0);
}

int64_t rpcd__now_unix_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rpcd__now_mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
