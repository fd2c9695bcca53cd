/* SPDX-License-Identifier: MIT */
/*
 * The consumer loop. Requests are acked only after their reply has been
 * handed to the socket, so a server that dies mid-request leaves the request
 * to be delivered again (at least once). Malformed requests are answered and
 * acked too: redelivering them could never succeed.
 */
#include "consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "rpcd_proto.h"
#include "text_escape.h"
#include "transport_amqp.h"

#define CHANNEL 1
#define POLL_MS 250 /* how often the loop looks at the stop flag */

/* The socket while a reply or an ack is being written, else -1; read by
 * rpcd__consumer_abort_io() from a signal handler. */
static volatile sig_atomic_t writing_fd = -1;

void rpcd__consumer_abort_io(void)
{
  int fd = writing_fd;

  if (fd >= 0)
    shutdown(fd, SHUT_RDWR);
}

struct rpcd_consumer {
  const rpcd_consumer_config *cfg;
  amqp_connection_state_t conn;
  bool channel_closed; /* by the broker: closing it again is an error */
};

static amqp_bytes_t span_bytes(const char *s)
{
  return amqp_cstring_bytes(s);
}

/* Declare the request queue and consume it. Also what a basic.cancel (the
 * queue was deleted under us) calls again on the same channel.
 * *channel_closed tells whether the broker closed the channel on failure. */
static int subscribe(rpcd_consumer *c, bool *channel_closed, char *err,
                     size_t errlen)
{
  const rpcd_consumer_config *cfg = c->cfg;
  char detail[256];
  int rc;

  amqp_queue_declare(c->conn, CHANNEL, span_bytes(cfg->queue), 0, 1, 0, 0,
                     amqp_empty_table);
  rc = rpcd__amqp_status(c->conn, CHANNEL, amqp_get_rpc_reply(c->conn),
                         "declaring the queue", channel_closed, NULL, detail,
                         sizeof(detail));
  if (rc != RPCD_OK) {
    /* e.g. PRECONDITION_FAILED: the queue exists with other arguments */
    rpcd__set_err(err, errlen, "could not declare queue \"%s\" (durable): %s",
                  cfg->queue, detail);
    return rc;
  }
  amqp_basic_consume(c->conn, CHANNEL, span_bytes(cfg->queue), amqp_empty_bytes,
                     0, 0, 0, amqp_empty_table);
  rc = rpcd__amqp_status(c->conn, CHANNEL, amqp_get_rpc_reply(c->conn),
                         "starting to consume", channel_closed, NULL, detail,
                         sizeof(detail));
  if (rc != RPCD_OK)
    rpcd__set_err(err, errlen, "could not consume queue \"%s\": %s", cfg->queue,
                  detail);
  return rc;
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
  opts.heartbeat_s = cfg->heartbeat_s;
  opts.product = "rpcd";
  opts.consumer_cancel_notify = true; /* handled in handle_other_frame */
  opts.connection_blocked = true;     /* logged there */
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

/* Read what the request handler needs out of the AMQP properties. cid is
 * the buffer for the correlation id as printable text. */
static void message_from_envelope(const amqp_envelope_t *env,
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

  body.bytes = out->body.data;
  body.len = out->body.size;
  return rpcd__amqp_lib_status(amqp_basic_publish(
      c->conn, CHANNEL, amqp_empty_bytes, req->reply_to, 0, 0, &props, body));
}

static void count(rpcd_consumer_stats *stats, const rpcd_message_out *out)
{
  stats->received++;
  switch (out->outcome) {
  case RPCD_OUTCOME_OK:
    stats->ok++;
    break;
  case RPCD_OUTCOME_ERROR:
    stats->errors++;
    break;
  case RPCD_OUTCOME_NOTIFIED:
    stats->notifications++;
    break;
  case RPCD_OUTCOME_EXPIRED:
    stats->expired++;
    break;
  }
}

/* Handle one delivery: answer, then ack. */
static int serve_one(rpcd_consumer *c, const amqp_envelope_t *env,
                     rpcd_consumer_stats *stats, char *err, size_t errlen)
{
  const amqp_basic_properties_t *p = &env->message.properties;
  rpcd_message_out out;
  rpcd_message_in in;
  char cid[160];
  int64_t started = rpcd__now_mono_ms();
  int rc = RPCD_OK;

  message_from_envelope(env, &in, cid, sizeof(cid));
  rpcd__handle_message(&c->cfg->handler, &in, &out);
  count(stats, &out);

  /* rabbitmq-c writes without a deadline: let a stop break a write that a
   * blocked broker never drains. */
  writing_fd = amqp_get_sockfd(c->conn);
  if (out.send_reply) {
    rc = publish_reply(c, env, &out);
    if (rc != RPCD_OK) {
      rpcd__set_err(err, errlen, "could not publish the reply: %s",
                    rpcd_strerror(rc));
      goto out;
    }
  }
  rc = rpcd__amqp_lib_status(
      amqp_basic_ack(c->conn, CHANNEL, env->delivery_tag, 0));
  writing_fd = -1;
  if (rc != RPCD_OK) {
    rpcd__set_err(err, errlen, "could not ack delivery %llu: %s",
                  (unsigned long long)env->delivery_tag, rpcd_strerror(rc));
    goto out;
  }

  if (out.outcome == RPCD_OUTCOME_ERROR)
    rpcd_log(RPCD_LOG_INFO, "call %s cid=%.*s failed with %d: %s",
             out.method[0] ? out.method : "?", (int)in.correlation_id.len,
             in.correlation_id.ptr ? in.correlation_id.ptr : "", out.status,
             out.error);
  else if (out.outcome == RPCD_OUTCOME_EXPIRED)
    rpcd_log(RPCD_LOG_INFO,
             "cid=%.*s: deadline passed before it started, "
             "dropped",
             (int)in.correlation_id.len,
             in.correlation_id.ptr ? in.correlation_id.ptr : "");
  else
    rpcd_log(RPCD_LOG_DEBUG, "call %s cid=%.*s took %lld ms%s", out.method,
             (int)in.correlation_id.len,
             in.correlation_id.ptr ? in.correlation_id.ptr : "",
             (long long)(rpcd__now_mono_ms() - started),
             (p->_flags & AMQP_BASIC_REPLY_TO_FLAG) ? "" : " (no reply_to)");
out:
  writing_fd = -1;
  rpcd__message_out_destroy(&out);
  return rc;
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
    rpcd_log(RPCD_LOG_WARN,
             "the broker cancelled the consumer of queue \"%s\" (queue "
             "deleted?); declaring it again",
             c->cfg->queue);
    if (subscribe(c, &c->channel_closed, err, errlen) != RPCD_OK)
      return RPCD_ECONNLOST;
    rpcd_log(RPCD_LOG_INFO, "consuming queue \"%s\" again", c->cfg->queue);
    return RPCD_OK;
  case AMQP_CONNECTION_BLOCKED_METHOD: {
    const amqp_connection_blocked_t *m = frame.payload.method.decoded;
    char reason[128];

    rpcd_log(
        RPCD_LOG_WARN,
        "the broker blocks publishing (%s): replies wait until it "
        "unblocks",
        m ? rpcd__escape(reason, sizeof(reason), m->reason.bytes, m->reason.len)
          : "no reason given");
    return RPCD_OK;
  }
  case AMQP_CONNECTION_UNBLOCKED_METHOD:
    rpcd_log(RPCD_LOG_INFO, "the broker unblocked publishing");
    return RPCD_OK;
  default:
    return RPCD_OK; /* e.g. basic.ack: nothing to do */
  }
}

int rpcd__consumer_serve(rpcd_consumer *c, volatile sig_atomic_t *stop,
                         rpcd_consumer_stats *stats, char *err, size_t errlen)
{
  struct timeval tv;
  int rc;

  while (!*stop) {
    amqp_envelope_t env;
    amqp_rpc_reply_t r;

    amqp_maybe_release_buffers(c->conn);
    tv.tv_sec = 0;
    tv.tv_usec = POLL_MS * 1000;
    r = amqp_consume_message(c->conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      rc = serve_one(c, &env, stats, err, errlen);
      amqp_destroy_envelope(&env);
      if (rc != RPCD_OK)
        return rc == RPCD_ENOMEM ? rc : RPCD_ECONNLOST;
      continue;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT)
      continue;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      rc = handle_other_frame(c, stats, err, errlen);
      if (rc != RPCD_OK)
        return rc;
      continue;
    }
    rc = rpcd__amqp_status(c->conn, CHANNEL, r, "consuming", NULL, NULL, err,
                           errlen);
    return rc == RPCD_OK ? RPCD_ECONNLOST : rc;
  }
  return RPCD_OK;
}
