/* SPDX-License-Identifier: MIT */
/*
 * A worker's AMQP connection: consuming the request queue, publishing
 * replies, acks and dead letters. The loop that decides what to do when
 * lives in worker.c; nothing here blocks except a write to a broker that
 * stopped reading (see rpcd__consumer_abort_io).
 */
#include "consumer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "broker.h"
#include "log.h"
#include "rpcd_proto.h"
#include "text_escape.h"
#include "transport_amqp.h"

#define CHANNEL 1

struct rpcd_consumer {
  const rpcd_consumer_config *cfg;
  amqp_connection_state_t conn;
  bool channel_closed; /* by the broker: closing it again is an error */
  char tag[256];       /* the consumer tag; "" when not consuming */
  /* The socket while a reply, an ack or a dead letter is being written,
   * else -1; read by rpcd__consumer_abort_io() from a signal handler. */
  atomic_int writing_fd;
};

void rpcd__consumer_abort_io(rpcd_consumer *c)
{
  int fd = c ? atomic_load(&c->writing_fd) : -1;

  if (fd >= 0)
    shutdown(fd, SHUT_RDWR);
}

static amqp_bytes_t span_bytes(const char *s)
{
  return amqp_cstring_bytes(s);
}

/* Declare the queues and consume the request queue. Also what a
 * basic.cancel (the queue was deleted under us) calls again on the same
 * channel. *channel_closed tells whether the broker closed the channel. */
static int subscribe(rpcd_consumer *c, bool *channel_closed, char *err,
                     size_t errlen)
{
  const rpcd_consumer_config *cfg = c->cfg;
  amqp_basic_consume_ok_t *ok;
  char detail[256];
  int rc;

  rc = rpcd__declare_queues(c->conn, CHANNEL, &cfg->queue, channel_closed, err,
                            errlen);
  if (rc != RPCD_OK)
    return rc;
  ok = amqp_basic_consume(c->conn, CHANNEL, span_bytes(cfg->queue.name),
                          amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  rc = rpcd__amqp_status(c->conn, CHANNEL, amqp_get_rpc_reply(c->conn),
                         "starting to consume", channel_closed, NULL, detail,
                         sizeof(detail));
  if (rc != RPCD_OK) {
    rpcd__set_err(err, errlen, "could not consume queue \"%s\": %s",
                  cfg->queue.name, detail);
    return rc;
  }
  snprintf(c->tag, sizeof(c->tag), "%.*s", ok ? (int)ok->consumer_tag.len : 0,
           ok ? (const char *)ok->consumer_tag.bytes : "");
  return RPCD_OK;
}

int rpcd__consumer_open(const rpcd_consumer_config *cfg, rpcd_consumer **out,
                        char *err, size_t errlen)
{
  rpcd_amqp_options opts = {0};
  bool channel_closed = false;
  rpcd_consumer *c;
  char detail[256];
  int rc;

  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return RPCD_ENOMEM;
  c->cfg = cfg;
  atomic_init(&c->writing_fd, -1);
  opts.heartbeat_s = cfg->heartbeat_s;
  opts.product = "rpcd";
  opts.consumer_cancel_notify = true; /* handled in handle_other_frame */
  opts.connection_blocked = true;     /* logged there */
  opts.tls = cfg->tls;
  rpcd__warn_if_insecure(cfg->tls);
  rc = rpcd__amqp_connect(cfg->uri, &opts, 1, &c->conn, err, errlen);
  if (rc != RPCD_OK)
    goto out_free;

  amqp_basic_qos(c->conn, CHANNEL, 0, (uint16_t)cfg->prefetch, 0);
  rc = rpcd__amqp_status(c->conn, CHANNEL, amqp_get_rpc_reply(c->conn),
                         "setting the prefetch", &channel_closed, NULL, detail,
                         sizeof(detail));
  if (rc != RPCD_OK) {
    rpcd__set_err(err, errlen, "%s", detail);
    goto out_close;
  }
  rc = subscribe(c, &channel_closed, err, errlen);
  if (rc != RPCD_OK)
    goto out_close;
  *out = c;
  return RPCD_OK;

out_close:
  /* The broker already closed the channel when a declare failed. */
  rpcd__amqp_close(c->conn, channel_closed ? 0 : 1);
out_free:
  free(c);
  return rc == RPCD_OK ? RPCD_EBROKER : rc;
}

void rpcd__consumer_close(rpcd_consumer *c)
{
  if (!c)
    return;
  rpcd__amqp_close(c->conn, c->channel_closed ? 0 : 1);
  free(c);
}

static rpcd_span bytes_span(amqp_bytes_t b)
{
  rpcd_span s;

  s.ptr = b.bytes;
  s.len = b.len;
  return s;
}

/* x-rpc-deadline: an integer field is unix milliseconds; an AMQP timestamp
 * is unix seconds, as the AMQP spec defines it and clients such as pika
 * send a datetime. Anything else is refused, not ignored. */
static void read_deadline(const amqp_field_value_t *v, rpcd_message_in *in)
{
  if (v->kind == AMQP_FIELD_KIND_TIMESTAMP) {
    in->has_deadline = true;
    in->deadline_ms = v->value.u64 > (uint64_t)(INT64_MAX / 1000)
                          ? INT64_MAX
                          : (int64_t)v->value.u64 * 1000;
  } else if (v->kind == AMQP_FIELD_KIND_U64 &&
             v->value.u64 > (uint64_t)INT64_MAX) {
    in->has_deadline = true;
    in->deadline_ms = INT64_MAX; /* beyond any clock: no deadline to miss */
  } else if (rpcd__amqp_field_int(v, &in->deadline_ms)) {
    in->has_deadline = true;
  } else {
    in->bad_deadline_type = rpcd__amqp_kind_name(v->kind);
  }
}

void rpcd__message_from_envelope(const amqp_envelope_t *env,
                                 rpcd_message_in *in, char *cid, size_t cidlen)
{
  const amqp_basic_properties_t *p = &env->message.properties;
  const amqp_table_entry_t *h;

  memset(in, 0, sizeof(*in));
  in->body = env->message.body.bytes;
  in->body_len = env->message.body.len;
  in->now_ms = rpcd__now_unix_ms();
  if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
    in->content_type = bytes_span(p->content_type);
  if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
    rpcd__escape(cid, cidlen, p->correlation_id.bytes, p->correlation_id.len);
    in->correlation_id.ptr = cid;
    in->correlation_id.len = strlen(cid);
  }
  in->has_reply_to =
      (p->_flags & AMQP_BASIC_REPLY_TO_FLAG) && p->reply_to.len > 0;
  /* RabbitMQ refuses a user_id other than the connection's user, so it
   * names the caller; an empty one is as good as none. */
  if ((p->_flags & AMQP_BASIC_USER_ID_FLAG) && p->user_id.len > 0)
    in->user = bytes_span(p->user_id);
  if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
    return;

  h = rpcd__amqp_table_get(&p->headers, RPCD_HDR_VERSION);
  if (h) {
    in->has_version = true;
    in->version_valid = rpcd__amqp_field_int(&h->value, &in->version);
  }
  h = rpcd__amqp_table_get(&p->headers, RPCD_HDR_METHOD);
  if (h) {
    in->has_header_method = true;
    in->header_method_valid = h->value.kind == AMQP_FIELD_KIND_UTF8 ||
                              h->value.kind == AMQP_FIELD_KIND_BYTES;
    if (in->header_method_valid)
      in->header_method = bytes_span(h->value.value.bytes);
  }
  h = rpcd__amqp_table_get(&p->headers, RPCD_HDR_DEADLINE);
  if (h)
    read_deadline(&h->value, in);
  h = rpcd__amqp_table_get(&p->headers, "x-delivery-count");
  if (h && !rpcd__amqp_field_int(&h->value, &in->delivery_count))
    in->delivery_count = 0;
}

static int publish_reply(rpcd_consumer *c, const amqp_envelope_t *env,
                         const rpcd_message_out *out)
{
  const amqp_basic_properties_t *req = &env->message.properties;
  amqp_basic_properties_t props;
  amqp_table_entry_t status;
  amqp_bytes_t body;

  memset(&props, 0, sizeof(props));
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                 AMQP_BASIC_HEADERS_FLAG;
  props.content_type = amqp_cstring_bytes(out->content_type);
  props.delivery_mode = 1; /* transient: the caller is waiting right now */
  if (req->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
    props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    props.correlation_id = req->correlation_id;
  }
  status.key = amqp_cstring_bytes(RPCD_HDR_STATUS);
  status.value.kind = AMQP_FIELD_KIND_I32;
  status.value.value.i32 = out->status;
  props.headers.num_entries = 1;
  props.headers.entries = &status;

  body.bytes = out->body.data + out->body_off;
  body.len = out->body.size - out->body_off;
  return rpcd__amqp_lib_status(amqp_basic_publish(
      c->conn, CHANNEL, amqp_empty_bytes, req->reply_to, 0, 0, &props, body));
}

/* A frame other than a delivery arrived: find out whether it ends us. */
static int handle_other_frame(rpcd_consumer *c, rpcd_consumer_stats *stats,
                              char *err, size_t errlen)
{
  amqp_frame_t frame;
  amqp_rpc_reply_t r;
  int status;

  status = amqp_simple_wait_frame(c->conn, &frame);
  if (status != AMQP_STATUS_OK) {
    rpcd__set_err(err, errlen, "reading from the broker: %s",
                  amqp_error_string2(status));
    return rpcd__amqp_lib_status(status);
  }
  if (frame.frame_type != AMQP_FRAME_METHOD)
    return RPCD_OK;
  switch (frame.payload.method.id) {
  case AMQP_CHANNEL_CLOSE_METHOD:
  case AMQP_CONNECTION_CLOSE_METHOD:
    memset(&r, 0, sizeof(r));
    r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
    r.reply = frame.payload.method;
    rpcd__amqp_status(c->conn, CHANNEL, r, "consuming", NULL, NULL, err,
                      errlen);
    return RPCD_ECONNLOST;
  case AMQP_BASIC_CANCEL_METHOD:
    /* The queue was deleted (an operator, a policy, a lost node). Deliveries
     * already received stay valid on this channel: declare the queue again
     * and go on; a failure falls back to reconnecting with backoff. */
    stats->cancels++;
    rpcd__log(RPCD_LOG_WARN,
              "the broker cancelled the consumer of queue \"%s\" (queue "
              "deleted?); declaring it again",
              c->cfg->queue.name);
    if (subscribe(c, &c->channel_closed, err, errlen) != RPCD_OK)
      return RPCD_ECONNLOST;
    rpcd__log(RPCD_LOG_INFO, "consuming queue \"%s\" again",
              c->cfg->queue.name);
    return RPCD_OK;
  case AMQP_CONNECTION_BLOCKED_METHOD: {
    const amqp_connection_blocked_t *m = frame.payload.method.decoded;
    char reason[128];

    rpcd__log(
        RPCD_LOG_WARN,
        "the broker blocks publishing (%s): replies wait until it "
        "unblocks",
        m ? rpcd__escape(reason, sizeof(reason), m->reason.bytes, m->reason.len)
          : "no reason given");
    return RPCD_OK;
  }
  case AMQP_CONNECTION_UNBLOCKED_METHOD:
    rpcd__log(RPCD_LOG_INFO, "the broker unblocked publishing");
    return RPCD_OK;
  default:
    return RPCD_OK; /* e.g. basic.ack: nothing to do */
  }
}

int rpcd__consumer_read(rpcd_consumer *c, amqp_envelope_t *env, bool *got,
                        rpcd_consumer_stats *stats, char *err, size_t errlen)
{
  struct timeval now = {0, 0};
  amqp_rpc_reply_t r;
  int rc;

  *got = false;
  amqp_maybe_release_buffers(c->conn);
  /* A zero timeout never waits for the socket, but rabbitmq-c still sends
   * a heartbeat that is due and notices one that is overdue. */
  r = amqp_consume_message(c->conn, env, &now, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    *got = true;
    return RPCD_OK;
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_TIMEOUT)
    return RPCD_OK;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
    return handle_other_frame(c, stats, err, errlen);
  rc = rpcd__amqp_status(c->conn, CHANNEL, r, "consuming", NULL, NULL, err,
                         errlen);
  return rc == RPCD_OK || rc == RPCD_ETIMEDOUT ? RPCD_ECONNLOST : rc;
}

bool rpcd__consumer_buffered(const rpcd_consumer *c)
{
  return amqp_data_in_buffer(c->conn) || amqp_frames_enqueued(c->conn);
}

int rpcd__consumer_fd(const rpcd_consumer *c)
{
  return amqp_get_sockfd(c->conn);
}

/* rabbitmq-c writes without a deadline: while one is under way its socket
 * is where abort_io can break it off. */
static void writing(rpcd_consumer *c)
{
  atomic_store(&c->writing_fd, amqp_get_sockfd(c->conn));
}

static int written(rpcd_consumer *c, int amqp_status_code)
{
  atomic_store(&c->writing_fd, -1);
  return rpcd__amqp_lib_status(amqp_status_code);
}

int rpcd__consumer_reply(rpcd_consumer *c, const amqp_envelope_t *env,
                         const rpcd_message_out *out)
{
  writing(c);
  return written(c, publish_reply(c, env, out));
}

int rpcd__consumer_ack(rpcd_consumer *c, uint64_t delivery_tag)
{
  writing(c);
  return written(c, amqp_basic_ack(c->conn, CHANNEL, delivery_tag, 0));
}

int rpcd__consumer_ack_upto(rpcd_consumer *c, uint64_t delivery_tag)
{
  writing(c);
  return written(c, amqp_basic_ack(c->conn, CHANNEL, delivery_tag, 1));
}

int rpcd__consumer_requeue(rpcd_consumer *c, uint64_t delivery_tag)
{
  writing(c);
  return written(c, amqp_basic_reject(c->conn, CHANNEL, delivery_tag, 1));
}

int rpcd__consumer_set_prefetch(rpcd_consumer *c, unsigned prefetch, char *err,
                                size_t errlen)
{
  amqp_basic_qos(c->conn, CHANNEL, 0, (uint16_t)prefetch, 0);
  return rpcd__amqp_last_status(c->conn, CHANNEL, "setting the prefetch", err,
                                errlen);
}

int rpcd__consumer_cancel(rpcd_consumer *c, char *err, size_t errlen)
{
  if (!c->tag[0])
    return RPCD_OK;
  /* Deliveries already on their way still arrive until cancel-ok (which
   * rabbitmq-c waits for here, keeping them); the worker hands those back
   * too. */
  amqp_basic_cancel(c->conn, CHANNEL, amqp_cstring_bytes(c->tag));
  c->tag[0] = '\0';
  return rpcd__amqp_last_status(c->conn, CHANNEL, "cancelling the consumer",
                                err, errlen);
}

static void header_str(amqp_table_entry_t *e, const char *key,
                       const char *value)
{
  e->key = amqp_cstring_bytes(key);
  e->value.kind = AMQP_FIELD_KIND_UTF8;
  e->value.value.bytes = amqp_cstring_bytes(value);
}

int rpcd__consumer_dead_letter(rpcd_consumer *c, const amqp_envelope_t *env,
                               const rpcd_dead_letter *why)
{
  const amqp_basic_properties_t *req = &env->message.properties;
  amqp_basic_properties_t props = *req;
  int n_old =
      req->_flags & AMQP_BASIC_HEADERS_FLAG ? req->headers.num_entries : 0;
  amqp_table_entry_t *headers;
  char queue[300];
  int n = 0;
  int i;
  int rc;

  headers = calloc((size_t)n_old + 5, sizeof(*headers));
  if (!headers)
    return RPCD_ENOMEM;
  /* The original headers stay, so the request can be replayed as it was;
   * the x-rpcd-* ones say why it is here. */
  for (i = 0; i < n_old; i++) {
    amqp_bytes_t k = req->headers.entries[i].key;

    if (k.len < 7 || memcmp(k.bytes, "x-rpcd-", 7) != 0)
      headers[n++] = req->headers.entries[i];
  }
  header_str(&headers[n++], "x-rpcd-reason", why->reason);
  header_str(&headers[n++], "x-rpcd-signal", why->signal);
  header_str(&headers[n++], "x-rpcd-method", why->method);
  headers[n].key = amqp_cstring_bytes("x-rpcd-time");
  headers[n].value.kind = AMQP_FIELD_KIND_TIMESTAMP;
  headers[n++].value.value.u64 = (uint64_t)(why->time_ms / 1000);
  /* The broker refuses a user_id other than ours: the caller's goes in a
   * header instead. */
  if (req->_flags & AMQP_BASIC_USER_ID_FLAG) {
    headers[n].key = amqp_cstring_bytes("x-rpcd-user");
    headers[n].value.kind = AMQP_FIELD_KIND_UTF8;
    headers[n++].value.value.bytes = req->user_id;
    props._flags &= ~AMQP_BASIC_USER_ID_FLAG;
  }
  props._flags |= AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.headers.num_entries = n;
  props.headers.entries = headers;
  props.delivery_mode = 2; /* kept for an operator: persistent */
  /* No expiration: a request that waits in the dead-letter queue must not
   * vanish when its caller's deadline passes. */
  props._flags &= ~AMQP_BASIC_EXPIRATION_FLAG;
  snprintf(queue, sizeof(queue), "%s%s", c->cfg->queue.name,
           RPCD_DEAD_LETTER_SUFFIX);
  writing(c);
  rc = written(c, amqp_basic_publish(c->conn, CHANNEL, amqp_empty_bytes,
                                     amqp_cstring_bytes(queue), 0, 0, &props,
                                     env->message.body));
  free(headers);
  return rc;
}
