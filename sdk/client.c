/* SPDX-License-Identifier: MIT */
/*
 * The client SDK: one AMQP connection per client, requests published to the
 * request queue with RabbitMQ's direct reply-to, and a frame pump that
 * matches replies to the calls in flight by correlation id. Channel 1
 * carries requests and replies; channel 2 only carries passive queue
 * declarations, which tell a call at once that no server is there (a 404
 * closes that channel, not the one the replies arrive on). A call that
 * cannot be answered fails with a status of its own: timeout, no route, no
 * consumer, connection lost or a malformed reply.
 */
#include <rpcd/client.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <uuid/uuid.h>

#include "amqp_compat.h"
#include "pending.h"
#include "reply_internal.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

#define CALL_CHANNEL 1
#define PROBE_CHANNEL 2
#define N_CHANNELS 2

/* A positive probe lets calls publish without asking again for this long. */
#define PROBE_MAX_AGE_MS 1000
/* While a call waits, its queue is checked again this often. */
#define PROBE_WAIT_INTERVAL_MS 250
/* Replies already buffered are still taken when a deadline has passed. */
#define DRAIN_MAX 64
/* How long a call whose server vanished still waits for a reply that may
 * already be on its way. */
#define DRAIN_GRACE_MS 200
/* Bounds of how long a queue check waits for the broker. */
#define PROBE_TIMEOUT_MIN_MS 50
#define PROBE_TIMEOUT_MAX_MS 5000
/* Connect timeout when neither rpcd_client_set_connect_timeout() nor
 * rpcd_client_set_timeout() was called. */
#define CONNECT_TIMEOUT_DEFAULT_MS 5000u
/* Once a reply has started, each of its frames must follow within this
 * long, whatever the call's timeout: giving up in the middle of a message
 * would leave the frame stream unusable anyway. */
#define CONTENT_STALL_MS 5000

#define APP_ID "rpcd-client"
#define MAX_QUEUE_LEN 255

#define set_error(c, ...)                                                      \
  rpcd__set_err((c)->last_error, sizeof((c)->last_error), __VA_ARGS__)

/* What the client knows about one request queue. */
struct queue_info {
  char *name;        /* owned */
  bool served;       /* the last probe found it with a consumer */
  int64_t probed_ms; /* monotonic time of the last probe; 0: never */
};

struct rpcd_client {
  amqp_connection_state_t conn; /* NULL when not connected */
  bool probe_open;              /* channel 2 is open */
  unsigned timeout_ms;
  bool timeout_set;            /* rpcd_client_set_timeout() was called */
  unsigned connect_timeout_ms; /* 0: timeout_ms when set, else the default */
  size_t max_reply;            /* largest reply body accepted, in bytes */
  uint32_t next_msgid;
  uint32_t queue_ix; /* the queue calls go to, an index into queues */
  struct queue_info *queues;
  size_t n_queues;
  rpcd_pending_table pending;
  uint64_t dropped_replies;
  char last_error[512];
};

static struct timeval ms_to_tv(int64_t ms)
{
  struct timeval tv;

  if (ms < 0)
    ms = 0;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
  return tv;
}

static void new_uuid(char out[RPCD_CID_LEN + 1])
{
  uuid_t u;

  uuid_generate(u);
  uuid_unparse_lower(u, out);
}

/* ------------------------------------------------------------------------ */
/* Queues                                                                    */

/* Index of the queue named `name`, added when new. */
static int queue_index(rpcd_client *c, const char *name, uint32_t *ix)
{
  struct queue_info *qs;
  size_t i;

  for (i = 0; i < c->n_queues; i++) {
    if (strcmp(c->queues[i].name, name) == 0) {
      *ix = (uint32_t)i;
      return RPCD_OK;
    }
  }
  if (c->n_queues >= UINT32_MAX)
    return RPCD_ENOMEM;
  qs = realloc(c->queues, (c->n_queues + 1) * sizeof(*qs));
  if (!qs)
    return RPCD_ENOMEM;
  c->queues = qs;
  memset(&qs[c->n_queues], 0, sizeof(qs[0]));
  qs[c->n_queues].name = strdup(name);
  if (!qs[c->n_queues].name)
    return RPCD_ENOMEM;
  *ix = (uint32_t)c->n_queues;
  c->n_queues++;
  return RPCD_OK;
}

static void forget_probes(rpcd_client *c)
{
  size_t i;

  for (i = 0; i < c->n_queues; i++) {
    c->queues[i].served = false;
    c->queues[i].probed_ms = 0;
  }
}

/* ------------------------------------------------------------------------ */
/* Failing calls                                                             */

/* Complete every call in flight (to queue `qix`, or to any queue when qix
 * is UINT32_MAX) with `status`. */
static void fail_calls(rpcd_client *c, uint32_t qix, int status,
                       const char *detail)
{
  rpcd_pending *p;
  size_t pos = 0;

  for (p = rpcd__pending_next(&c->pending, &pos); p;
       p = rpcd__pending_next(&c->pending, &pos)) {
    if (p->state == RPCD_PENDING_IN_FLIGHT &&
        (qix == UINT32_MAX || p->queue_ix == qix))
      rpcd__pending_complete(&c->pending, p, status, NULL, detail);
  }
}

/* Complete every call in flight whose deadline has passed with
 * RPCD_ETIMEDOUT. */
static void fail_expired_calls(rpcd_client *c, const char *detail)
{
  int64_t now = rpcd__now_mono_ms();
  rpcd_pending *p;
  size_t pos = 0;

  for (p = rpcd__pending_next(&c->pending, &pos); p;
       p = rpcd__pending_next(&c->pending, &pos)) {
    if (p->state == RPCD_PENDING_IN_FLIGHT && now >= p->deadline_ms)
      rpcd__pending_complete(&c->pending, p, RPCD_ETIMEDOUT, NULL, detail);
  }
}

/*
 * Give up the connection: every call in flight fails with RPCD_ECONNLOST
 * and the client is not connected any more. `polite` closes the connection
 * properly (the socket still works, only the call channel is gone);
 * otherwise it is just destroyed. `detail` must not be c->last_error.
 */
static void connection_lost(rpcd_client *c, const char *detail, bool polite)
{
  char msg[sizeof(c->last_error)];

  rpcd__set_err(msg, sizeof(msg), "connection to the broker lost: %s", detail);
  fail_calls(c, UINT32_MAX, RPCD_ECONNLOST, msg);
  if (c->conn) {
    if (polite)
      rpcd__amqp_close(c->conn, 0);
    else
      amqp_destroy_connection(c->conn);
    c->conn = NULL;
  }
  c->probe_open = false;
  forget_probes(c);
  set_error(c, "%s", msg);
}

/* ------------------------------------------------------------------------ */
/* Probing the request queue                                                 */

/*
 * Declare queue `qix` passively on the probe channel, waiting at most
 * budget_ms (the time left to the calls that need the answer; at most
 * PROBE_TIMEOUT_MAX_MS) for the broker.
 *
 * \return RPCD_OK (it exists and has a consumer), RPCD_ENOROUTE,
 *         RPCD_ENOCONSUMER, RPCD_EBROKER (could not tell) with a message in
 *         err, or RPCD_ECONNLOST after connection_lost()
 */
static int probe_queue(rpcd_client *c, uint32_t qix, int64_t budget_ms,
                       char *err, size_t errlen)
{
  struct queue_info *q = &c->queues[qix];
  amqp_queue_declare_ok_t *ok;
  amqp_rpc_reply_t r;
  bool closed_channel = false;
  bool closed_connection = false;
  char detail[256];
  int rc;

  q->served = false;
  q->probed_ms = rpcd__now_mono_ms();
  /* A broker that stopped answering must not hold a call past its
   * deadline. rabbitmq-c closes the connection when this runs out. */
  if (budget_ms < PROBE_TIMEOUT_MIN_MS)
    budget_ms = PROBE_TIMEOUT_MIN_MS;
  if (budget_ms > PROBE_TIMEOUT_MAX_MS)
    budget_ms = PROBE_TIMEOUT_MAX_MS;
  {
    struct timeval tv = ms_to_tv(budget_ms);

    amqp_set_rpc_timeout(c->conn, &tv);
  }
  if (!c->probe_open) {
    amqp_channel_open(c->conn, PROBE_CHANNEL);
    r = amqp_get_rpc_reply(c->conn);
    rc = rpcd__amqp_status(c->conn, PROBE_CHANNEL, r, "opening channel 2",
                           &closed_channel, &closed_connection, detail,
                           sizeof(detail));
    if (rc != RPCD_OK)
      goto out_failed;
    c->probe_open = true;
  }
  ok = amqp_queue_declare(c->conn, PROBE_CHANNEL, amqp_cstring_bytes(q->name),
                          1, 0, 0, 0, amqp_empty_table);
  r = amqp_get_rpc_reply(c->conn);
  rc = rpcd__amqp_status(c->conn, PROBE_CHANNEL, r, "checking the queue",
                         &closed_channel, &closed_connection, detail,
                         sizeof(detail));
  if (rc != RPCD_OK)
    goto out_failed;
  if (ok->consumer_count == 0) {
    amqp_maybe_release_buffers(c->conn);
    rpcd__set_err(err, errlen,
                  "queue \"%s\" has no consumer (no server is running)",
                  q->name);
    return RPCD_ENOCONSUMER;
  }
  amqp_maybe_release_buffers(c->conn);
  q->served = true;
  return RPCD_OK;

out_failed:
  if (closed_channel)
    c->probe_open = false;
  /* An RPC timeout leaves rabbitmq-c's connection closed as well; the calls
   * whose deadline has passed meanwhile report that, not the loss. */
  if (rc == RPCD_ETIMEDOUT)
    fail_expired_calls(c, "timed out: the broker did not answer in time");
  if (closed_connection || rc == RPCD_ECONNLOST || rc == RPCD_ETIMEDOUT) {
    connection_lost(c, detail, false);
    rpcd__set_err(err, errlen, "%s", c->last_error);
    return RPCD_ECONNLOST;
  }
  if (rc == RPCD_ENOROUTE) {
    rpcd__set_err(err, errlen,
                  "queue \"%s\" does not exist (no server has declared it)",
                  q->name);
    return RPCD_ENOROUTE;
  }
  rpcd__set_err(err, errlen, "could not check queue \"%s\": %s", q->name,
                detail);
  return RPCD_EBROKER;
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */

/*
 * A reply for a call in flight arrived whole (body_status RPCD_OK), or its
 * body was not kept: RPCD_ETOOBIG (over the client's max_reply) or
 * RPCD_ENOMEM. Complete the call with the outcome.
 */
static void complete_call(rpcd_client *c, rpcd_pending *p, const void *body,
                          uint64_t body_len, int body_status)
{
  rpcd_reply_view view;
  rpcd_reply *reply;
  char why[256];
  char detail[sizeof(c->last_error)];
  const char *queue = c->queues[p->queue_ix].name;
  int rc;

  if (body_status == RPCD_ETOOBIG) {
    rpcd__set_err(detail, sizeof(detail),
                  "reply of %" PRIu64 " bytes exceeds the limit of %zu bytes "
                  "(from queue \"%s\")",
                  body_len, c->max_reply, queue);
    rpcd__pending_complete(&c->pending, p, RPCD_ETOOBIG, NULL, detail);
    return;
  }
  if (body_status != RPCD_OK) {
    rpcd__pending_complete(&c->pending, p, body_status, NULL,
                           "out of memory while receiving a reply");
    return;
  }
  rc = rpcd__reply_decode(body, (size_t)body_len, &view, why, sizeof(why));
  if (rc == RPCD_OK)
    rc = rpcd__reply_check(&view, p->msgid, why, sizeof(why));
  if (rc != RPCD_OK) {
    rpcd__set_err(detail, sizeof(detail),
                  "malformed reply from queue \"%s\": %s", queue, why);
    rpcd__pending_complete(&c->pending, p,
                           rc == RPCD_ENOMEM ? RPCD_ENOMEM : RPCD_EPROTO, NULL,
                           detail);
    goto out_destroy;
  }
  rc = rpcd__reply_from_view(&view, &reply);
  if (rc != RPCD_OK) {
    rpcd__pending_complete(&c->pending, p, rc, NULL,
                           "out of memory while copying a reply");
    goto out_destroy;
  }
  if (view.error_code == 0) {
    rpcd__pending_complete(&c->pending, p, RPCD_OK, reply, NULL);
  } else {
    rpcd__set_err(detail, sizeof(detail),
                  "the server answered with error %d (%s): %.*s",
                  view.error_code, rpcd_errcode_name(view.error_code),
                  (int)view.message_len, view.message ? view.message : "");
    rpcd__pending_complete(&c->pending, p, RPCD_EREMOTE, reply, detail);
  }

out_destroy:
  rpcd__reply_view_destroy(&view);
}

static int handle_frame(rpcd_client *c, const amqp_frame_t *f);

/*
 * The next frame of the message being read on `channel`. Frames of other
 * channels that arrive meanwhile are handled; a broker that stops sending
 * in the middle of a message, or sends something else, loses the
 * connection.
 *
 * \return RPCD_OK, or RPCD_ECONNLOST after connection_lost()
 */
static int next_content_frame(rpcd_client *c, amqp_channel_t channel,
                              int frame_type, amqp_frame_t *f)
{
  struct timeval tv;
  char detail[256];
  int st;

  for (;;) {
    tv = ms_to_tv(CONTENT_STALL_MS);
    st = amqp_simple_wait_frame_noblock(c->conn, f, &tv);
    if (st == AMQP_STATUS_TIMEOUT) {
      rpcd__set_err(detail, sizeof(detail),
                    "the broker stopped sending in the middle of a reply "
                    "(nothing for %d ms)",
                    CONTENT_STALL_MS);
      connection_lost(c, detail, false);
      return RPCD_ECONNLOST;
    }
    if (st != AMQP_STATUS_OK) {
      rpcd__set_err(detail, sizeof(detail), "reading a reply: %s",
                    amqp_error_string2(st));
      connection_lost(c, detail, false);
      return RPCD_ECONNLOST;
    }
    if (f->channel == channel)
      break;
    if (handle_frame(c, f) != RPCD_OK || !c->conn)
      return RPCD_ECONNLOST;
  }
  if (f->frame_type != frame_type) {
    rpcd__set_err(detail, sizeof(detail),
                  "reading a reply: frame type %d where %d was expected",
                  (int)f->frame_type, frame_type);
    connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  return RPCD_OK;
}

/*
 * A basic.deliver arrived on `channel`: read the content header and body
 * that follow, and complete the call the reply is for. The size check comes
 * before the body is read: a body over max_reply (or one for no call in
 * flight) is read frame by frame and dropped, never held whole, so a huge
 * reply costs neither the memory nor the connection.
 */
static int read_delivery(rpcd_client *c, amqp_channel_t channel)
{
  const amqp_basic_properties_t *props;
  amqp_frame_t f;
  rpcd_pending *p = NULL;
  unsigned char *body = NULL;
  uint64_t size;
  uint64_t got = 0;
  int body_status = RPCD_OK;
  int rc;

  rc = next_content_frame(c, channel, AMQP_FRAME_HEADER, &f);
  if (rc != RPCD_OK)
    return rc;
  props = f.payload.properties.decoded;
  size = f.payload.properties.body_size;
  /* A reply to a call that timed out, was answered already (a request
   * delivered twice) or was never ours. */
  if (props->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
    p = rpcd__pending_find_cid(&c->pending, props->correlation_id.bytes,
                               props->correlation_id.len);
  if (p && p->state != RPCD_PENDING_IN_FLIGHT)
    p = NULL;
  if (!p)
    c->dropped_replies++;
  else if (size > c->max_reply)
    body_status = RPCD_ETOOBIG;
  else if (!(body = malloc(size ? (size_t)size : 1)))
    body_status = RPCD_ENOMEM;

  while (got < size) {
    size_t n;

    /* Frames read so far (the header too) are not needed any more. */
    amqp_maybe_release_buffers_on_channel(c->conn, channel);
    rc = next_content_frame(c, channel, AMQP_FRAME_BODY, &f);
    if (rc != RPCD_OK)
      goto out_free;
    n = f.payload.body_fragment.len;
    if (n > size - got) {
      connection_lost(c, "reading a reply: more body than its header said",
                      false);
      rc = RPCD_ECONNLOST;
      goto out_free;
    }
    if (body && n > 0)
      memcpy(body + got, f.payload.body_fragment.bytes, n);
    got += n;
  }
  /* p is still in flight: the frames of other channels read meanwhile can
   * only fail calls by losing the connection, which returned above. */
  if (p)
    complete_call(c, p, body, size, body_status);
  rc = RPCD_OK;

out_free:
  free(body);
  return rc;
}

/* The broker returned a mandatory request: its queue is gone. */
static int handle_return(rpcd_client *c, amqp_channel_t channel,
                         const amqp_basic_return_t *m)
{
  amqp_message_t msg;
  amqp_rpc_reply_t r;
  rpcd_pending *p;
  char detail[sizeof(c->last_error)];
  char why[256];
  int rc;

  /* Format now: m lives in the connection's pool. */
  rpcd__set_err(detail, sizeof(detail),
                "queue \"%.*s\" does not exist (the broker returned the "
                "request: %.*s)",
                (int)m->routing_key.len, (const char *)m->routing_key.bytes,
                (int)m->reply_text.len, (const char *)m->reply_text.bytes);
  /* The content is the client's own request, of a size it chose. */
  r = amqp_read_message(c->conn, channel, &msg, 0);
  rc = rpcd__amqp_status(c->conn, channel, r, "reading a returned request",
                         NULL, NULL, why, sizeof(why));
  if (rc != RPCD_OK) {
    connection_lost(c, why, false);
    return RPCD_ECONNLOST;
  }
  p = NULL;
  if (msg.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
    p = rpcd__pending_find_cid(&c->pending, msg.properties.correlation_id.bytes,
                               msg.properties.correlation_id.len);
  if (p)
    rpcd__pending_complete(&c->pending, p, RPCD_ENOROUTE, NULL, detail);
  amqp_destroy_message(&msg);
  return RPCD_OK;
}

/* Handle one frame read while no message was being read. */
static int handle_frame(rpcd_client *c, const amqp_frame_t *f)
{
  char detail[256];

  if (f->frame_type != AMQP_FRAME_METHOD)
    return RPCD_OK; /* stray content of a message already abandoned */

  switch (f->payload.method.id) {
  case AMQP_BASIC_DELIVER_METHOD:
    /* Replies are consumed on the call channel only. */
    if (f->channel != CALL_CHANNEL)
      return RPCD_OK;
    return read_delivery(c, f->channel);
  case AMQP_BASIC_RETURN_METHOD:
    return handle_return(c, f->channel, f->payload.method.decoded);
  case AMQP_BASIC_ACK_METHOD:
    return RPCD_OK;
  case AMQP_CHANNEL_CLOSE_METHOD: {
    const amqp_channel_close_t *m = f->payload.method.decoded;
    amqp_channel_close_ok_t ok;

    rpcd__set_err(detail, sizeof(detail), "the broker closed channel %d: %.*s",
                  (int)f->channel, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    amqp_send_method(c->conn, f->channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    if (f->channel == PROBE_CHANNEL) {
      c->probe_open = false;
      return RPCD_OK;
    }
    connection_lost(c, detail, true);
    return RPCD_ECONNLOST;
  }
  case AMQP_CONNECTION_CLOSE_METHOD: {
    const amqp_connection_close_t *m = f->payload.method.decoded;
    amqp_connection_close_ok_t ok;

    rpcd__set_err(detail, sizeof(detail),
                  "the broker closed the connection: %.*s",
                  (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    amqp_send_method(c->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  case AMQP_BASIC_CANCEL_METHOD:
    /* Without the reply consumer no reply can arrive any more. */
    connection_lost(c, "the broker cancelled the reply consumer", true);
    return RPCD_ECONNLOST;
  default:
    return RPCD_OK;
  }
}

/*
 * Wait up to timeout_ms for one message or frame and handle it. Frames are
 * read one by one rather than with amqp_consume_message(), which reads a
 * message body whole whatever its size.
 *
 * \return RPCD_OK when something was handled, RPCD_ETIMEDOUT when nothing
 *         came, RPCD_ECONNLOST when the connection failed (every call in
 *         flight failed with it)
 */
static int pump(rpcd_client *c, int64_t timeout_ms)
{
  struct timeval tv = ms_to_tv(timeout_ms);
  amqp_frame_t f;
  char detail[256];
  int st;
  int rc;

  if (!c->conn)
    return RPCD_ECONNLOST;
  amqp_maybe_release_buffers(c->conn);
  st = amqp_simple_wait_frame_noblock(c->conn, &f, &tv);
  if (st == AMQP_STATUS_TIMEOUT)
    return RPCD_ETIMEDOUT;
  if (st != AMQP_STATUS_OK) {
    rpcd__set_err(detail, sizeof(detail), "waiting for replies: %s",
                  amqp_error_string2(st));
    connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  rc = handle_frame(c, &f);
  if (c->conn)
    amqp_maybe_release_buffers(c->conn);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

static bool is_array_or_map(unsigned char b)
{
  return (b >= 0x80 && b <= 0x9f) || b == 0xdc || b == 0xdd || b == 0xde ||
         b == 0xdf;
}

/* What every send checks before it touches the connection: the arguments
 * (RPCD_EINVAL), then that there is a connection (RPCD_ESTATE). */
static int check_request(rpcd_client *c, const char *method, const void *params,
                         size_t params_len, unsigned flags, size_t *method_len)
{
  char why[256];
  size_t len;

  if (flags != 0) {
    set_error(c, "unknown flags 0x%x", flags);
    return RPCD_EINVAL;
  }
  if (!method) {
    set_error(c, "no method name given");
    return RPCD_EINVAL;
  }
  len = strlen(method);
  if (!rpcd__method_name_valid(method, len)) {
    set_error(c,
              "invalid method name \"%.*s\": expected 1 to %d characters "
              "of [A-Za-z0-9_.-]",
              (int)(len > 64 ? 64 : len), method, RPCD_MAX_METHOD_LEN);
    return RPCD_EINVAL;
  }
  if (params_len > 0) {
    if (!params) {
      set_error(c, "params is NULL but params_len is %zu", params_len);
      return RPCD_EINVAL;
    }
    /* One level less than a body may have: the request wraps params. */
    if (rpcd__mp_check(params, params_len, RPCD_MAX_DEPTH - 1, NULL, why,
                       sizeof(why)) != RPCD_OK) {
      set_error(c, "invalid params for \"%s\": %s", method, why);
      return RPCD_EINVAL;
    }
    if (!is_array_or_map(*(const unsigned char *)params)) {
      set_error(c, "invalid params for \"%s\": expected a msgpack array or map",
                method);
      return RPCD_EINVAL;
    }
  }
  if (!c->conn) {
    set_error(c, "not connected");
    return RPCD_ESTATE;
  }
  *method_len = len;
  return RPCD_OK;
}

/*
 * Publish a request body on the call channel. `cid` and `message_id` are
 * NULL for a notification, which is published without reply_to, deadline
 * or mandatory flag.
 *
 * \return RPCD_OK, or a failure with last_error set (the connection is
 *         dropped for RPCD_ECONNLOST)
 */
static int publish(rpcd_client *c, const char *queue, const char *method,
                   size_t method_len, const msgpack_sbuffer *body,
                   const char *cid, const char *message_id, unsigned timeout_ms)
{
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[3];
  amqp_bytes_t content;
  char expiration[24];
  char detail[256];
  int64_t now_unix = rpcd__now_unix_ms();
  int st;
  int rc;

  memset(&props, 0, sizeof(props));
  memset(headers, 0, sizeof(headers));
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                 AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
                 AMQP_BASIC_APP_ID_FLAG;
  props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
  props.delivery_mode = 1; /* transient: a reply is worth nothing later */
  props.timestamp = (uint64_t)(now_unix / 1000);
  props.app_id = amqp_cstring_bytes(APP_ID);

  headers[0].key = amqp_cstring_bytes(RPCD_HDR_VERSION);
  headers[0].value.kind = AMQP_FIELD_KIND_I32;
  headers[0].value.value.i32 = RPCD_PROTOCOL_VERSION;
  headers[1].key = amqp_cstring_bytes(RPCD_HDR_METHOD);
  headers[1].value.kind = AMQP_FIELD_KIND_UTF8;
  headers[1].value.value.bytes.bytes = (void *)method;
  headers[1].value.value.bytes.len = method_len;
  props.headers.entries = headers;
  props.headers.num_entries = 2;

  if (cid) {
    headers[2].key = amqp_cstring_bytes(RPCD_HDR_DEADLINE);
    headers[2].value.kind = AMQP_FIELD_KIND_I64;
    headers[2].value.value.i64 = now_unix + (int64_t)timeout_ms;
    props.headers.num_entries = 3;
    snprintf(expiration, sizeof(expiration), "%u", timeout_ms);
    props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG |
                    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                    AMQP_BASIC_EXPIRATION_FLAG;
    props.correlation_id = amqp_cstring_bytes(cid);
    props.message_id = amqp_cstring_bytes(message_id);
    props.reply_to = amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO);
    props.expiration = amqp_cstring_bytes(expiration);
  }

  content.bytes = body->data;
  content.len = body->size;
  st = amqp_basic_publish(c->conn, CALL_CHANNEL, amqp_empty_bytes,
                          amqp_cstring_bytes(queue), cid ? 1 : 0, 0, &props,
                          content);
  if (st == AMQP_STATUS_OK)
    return RPCD_OK;
  rc = rpcd__amqp_lib_status(st);
  rpcd__set_err(detail, sizeof(detail), "publishing to queue \"%s\": %s", queue,
                amqp_error_string2(st));
  if (rc == RPCD_ECONNLOST || rc == RPCD_EBROKER) {
    /* A publish that failed half-way leaves the frame stream unusable. */
    connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  set_error(c, "could not publish: %s", detail);
  return rc;
}

int rpcd_client_send(rpcd_client *c, const char *method, const void *params,
                     size_t params_len, unsigned timeout_ms, rpcd_call_id *id,
                     unsigned flags)
{
  msgpack_sbuffer body;
  struct queue_info *q;
  rpcd_pending *p;
  char cid[RPCD_CID_LEN + 1];
  char message_id[RPCD_CID_LEN + 1];
  char detail[sizeof(c->last_error)];
  size_t method_len;
  uint32_t msgid;
  uint32_t qix;
  int64_t now;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  if (!id) {
    set_error(c, "no call id pointer given");
    return RPCD_EINVAL;
  }
  *id = 0;
  rc = check_request(c, method, params, params_len, flags, &method_len);
  if (rc != RPCD_OK)
    return rc;
  if (timeout_ms == 0)
    timeout_ms = c->timeout_ms;

  /* Fail at once when nobody can answer, rather than at the deadline. */
  qix = c->queue_ix;
  q = &c->queues[qix];
  now = rpcd__now_mono_ms();
  if (!q->served || now - q->probed_ms >= PROBE_MAX_AGE_MS) {
    rc = probe_queue(c, qix, timeout_ms, detail, sizeof(detail));
    /* The broker did not answer the check within the whole timeout. */
    if (rc == RPCD_ECONNLOST &&
        rpcd__now_mono_ms() - now >= (int64_t)timeout_ms) {
      set_error(c, "timed out: the broker did not answer in time (%s)", detail);
      return RPCD_ETIMEDOUT;
    }
    /* RPCD_EBROKER: the check itself failed; the mandatory flag still
     * reports a missing queue, so send anyway. */
    if (rc != RPCD_OK && rc != RPCD_EBROKER) {
      set_error(c, "%s", detail);
      return rc;
    }
  }

  msgid = c->next_msgid++;
  msgpack_sbuffer_init(&body);
  rc = rpcd__request_encode(&body, false, msgid, method, method_len, params,
                            params_len);
  if (rc != RPCD_OK) {
    set_error(c, "could not encode the request: %s", rpcd_strerror(rc));
    goto out_body;
  }
  new_uuid(cid);
  new_uuid(message_id);
  rc = rpcd__pending_insert(&c->pending, cid, RPCD_CID_LEN, msgid, qix,
                            now + (int64_t)timeout_ms, &p);
  if (rc != RPCD_OK) {
    set_error(c, "could not record the call: %s", rpcd_strerror(rc));
    goto out_body;
  }
  rc = publish(c, q->name, method, method_len, &body, cid, message_id,
               timeout_ms);
  if (rc != RPCD_OK) {
    rpcd__pending_remove(&c->pending, p);
    goto out_body;
  }
  *id = p->id;

out_body:
  msgpack_sbuffer_destroy(&body);
  return rc;
}

int rpcd_client_notify(rpcd_client *c, const char *method, const void *params,
                       size_t params_len, unsigned flags)
{
  msgpack_sbuffer body;
  size_t method_len;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  rc = check_request(c, method, params, params_len, flags, &method_len);
  if (rc != RPCD_OK)
    return rc;
  msgpack_sbuffer_init(&body);
  rc = rpcd__request_encode(&body, true, 0, method, method_len, params,
                            params_len);
  if (rc != RPCD_OK) {
    set_error(c, "could not encode the notification: %s", rpcd_strerror(rc));
    goto out_body;
  }
  rc = publish(c, c->queues[c->queue_ix].name, method, method_len, &body, NULL,
               NULL, 0);

out_body:
  msgpack_sbuffer_destroy(&body);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Waiting                                                                   */

/* Handle what arrives for up to ms milliseconds, or until p completes. */
static void drain(rpcd_client *c, const rpcd_pending *p, int64_t ms)
{
  int64_t until = rpcd__now_mono_ms() + ms;
  int64_t left;
  int i;

  for (i = 0; i < DRAIN_MAX && p->state == RPCD_PENDING_IN_FLIGHT; i++) {
    left = until - rpcd__now_mono_ms();
    if (left < 0 || pump(c, left) == RPCD_ECONNLOST)
      break;
  }
}

int rpcd_client_wait(rpcd_client *c, rpcd_call_id id, rpcd_reply **reply)
{
  struct queue_info *q;
  rpcd_reply *r;
  rpcd_pending *p;
  char detail[sizeof(c->last_error)];
  int64_t now;
  int64_t until;
  int status;
  int rc;
  int i;

  if (reply)
    *reply = NULL;
  if (!c)
    return RPCD_EINVAL;
  p = rpcd__pending_find_id(&c->pending, id);
  if (!p) {
    set_error(c, "unknown call id %" PRIu64, (uint64_t)id);
    return RPCD_EINVAL;
  }

  /* The pump completes entries but never removes them, so p stays valid. */
  while (p->state == RPCD_PENDING_IN_FLIGHT) {
    q = &c->queues[p->queue_ix];
    if (!c->conn) {
      rpcd__pending_complete(&c->pending, p, RPCD_ECONNLOST, NULL,
                             "not connected");
      break;
    }
    now = rpcd__now_mono_ms();
    if (now >= p->deadline_ms) {
      for (i = 0; i < DRAIN_MAX && p->state == RPCD_PENDING_IN_FLIGHT; i++) {
        if (pump(c, 0) != RPCD_OK)
          break;
      }
      rpcd__set_err(detail, sizeof(detail),
                    "timed out waiting for a reply from queue \"%s\"", q->name);
      rpcd__pending_complete(&c->pending, p, RPCD_ETIMEDOUT, NULL, detail);
      break;
    }
    if (now - q->probed_ms >= PROBE_WAIT_INTERVAL_MS) {
      rc = probe_queue(c, p->queue_ix, p->deadline_ms - now, detail,
                       sizeof(detail));
      if (rc == RPCD_ENOROUTE || rc == RPCD_ENOCONSUMER) {
        /* A server that stops answers the request in hand before it
         * cancels its consumer, but the reply may reach us after the
         * probe's answer: give replies already on their way a moment. */
        drain(c, p, DRAIN_GRACE_MS);
        if (p->state == RPCD_PENDING_IN_FLIGHT)
          fail_calls(c, p->queue_ix, rc, detail);
      }
      continue;
    }
    until = q->probed_ms + PROBE_WAIT_INTERVAL_MS;
    if (p->deadline_ms < until)
      until = p->deadline_ms;
    pump(c, until - now);
  }

  status = p->status;
  r = p->reply;
  p->reply = NULL;
  if (status != RPCD_OK)
    set_error(c, "%s", p->detail ? p->detail : rpcd_strerror(status));
  rpcd__pending_remove(&c->pending, p);
  if (reply)
    *reply = r;
  else
    rpcd_reply_free(r);
  return status;
}

int rpcd_client_call(rpcd_client *c, const char *method, const void *params,
                     size_t params_len, unsigned timeout_ms, rpcd_reply **reply,
                     unsigned flags)
{
  rpcd_call_id id;
  int rc;

  if (reply)
    *reply = NULL;
  rc = rpcd_client_send(c, method, params, params_len, timeout_ms, &id, flags);
  if (rc != RPCD_OK)
    return rc;
  return rpcd_client_wait(c, id, reply);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */

int rpcd_client_new(rpcd_client **out)
{
  rpcd_client *c;
  int rc;

  if (!out)
    return RPCD_EINVAL;
  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return RPCD_ENOMEM;
  rc = rpcd__pending_init(&c->pending, rpcd_reply_free);
  if (rc != RPCD_OK)
    goto out_free;
  rc = queue_index(c, RPCD_DEFAULT_QUEUE, &c->queue_ix);
  if (rc != RPCD_OK)
    goto out_free;
  c->timeout_ms = RPCD_DEFAULT_TIMEOUT_MS;
  c->max_reply = RPCD_DEFAULT_MAX_REPLY;
  c->next_msgid = 1;
  *out = c;
  return RPCD_OK;

out_free:
  rpcd_client_free(c);
  return rc;
}

void rpcd_client_free(rpcd_client *c)
{
  size_t i;

  if (!c)
    return;
  rpcd_client_close(c);
  rpcd__pending_destroy(&c->pending);
  for (i = 0; i < c->n_queues; i++)
    free(c->queues[i].name);
  free(c->queues);
  free(c);
}

int rpcd_client_set_queue(rpcd_client *c, const char *queue)
{
  size_t len;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  len = queue ? strlen(queue) : 0;
  if (len == 0 || len > MAX_QUEUE_LEN) {
    set_error(c, "invalid queue name: expected 1 to %d bytes", MAX_QUEUE_LEN);
    return RPCD_EINVAL;
  }
  rc = queue_index(c, queue, &c->queue_ix);
  if (rc != RPCD_OK)
    set_error(c, "out of memory");
  return rc;
}

int rpcd_client_set_timeout(rpcd_client *c, unsigned timeout_ms)
{
  if (!c)
    return RPCD_EINVAL;
  if (timeout_ms == 0) {
    set_error(c, "invalid timeout: must be at least 1 ms");
    return RPCD_EINVAL;
  }
  c->timeout_ms = timeout_ms;
  c->timeout_set = true;
  return RPCD_OK;
}

int rpcd_client_set_connect_timeout(rpcd_client *c, unsigned timeout_ms)
{
  if (!c)
    return RPCD_EINVAL;
  c->connect_timeout_ms = timeout_ms;
  return RPCD_OK;
}

int rpcd_client_set_max_reply(rpcd_client *c, size_t bytes)
{
  if (!c)
    return RPCD_EINVAL;
  if (bytes == 0) {
    set_error(c, "invalid reply limit: must be at least 1 byte");
    return RPCD_EINVAL;
  }
  c->max_reply = bytes;
  return RPCD_OK;
}

/* Let the next synchronous method on conn wait for what is left until
 * deadline_ms (monotonic); false when nothing is left. */
static bool time_left(amqp_connection_state_t conn, int64_t deadline_ms)
{
  int64_t left = deadline_ms - rpcd__now_mono_ms();
  struct timeval tv;

  if (left <= 0)
    return false;
  tv = ms_to_tv(left);
  amqp_set_rpc_timeout(conn, &tv);
  return true;
}

/*
 * Open the channels of a connection that is logged in and start consuming
 * replies, all before deadline_ms: a broker that stops answering after the
 * login must not hold the connect past its timeout.
 *
 * \return RPCD_OK, or RPCD_ECONNECT with a message in err (conn closed)
 */
static int open_channels(amqp_connection_state_t conn, int64_t deadline_ms,
                         unsigned timeout_ms, char *err, size_t errlen)
{
  char detail[256];
  int ch;
  int rc;

  for (ch = 1; ch <= N_CHANNELS; ch++) {
    if (!time_left(conn, deadline_ms))
      goto out_timeout;
    amqp_channel_open(conn, (amqp_channel_t)ch);
    rc = rpcd__amqp_last_status(conn, (amqp_channel_t)ch, "opening channel",
                                detail, sizeof(detail));
    if (rc != RPCD_OK) {
      rpcd__set_err(err, errlen, "could not open channel %d: %s", ch, detail);
      rpcd__amqp_close(conn, ch - 1);
      return RPCD_ECONNECT;
    }
  }
  if (!time_left(conn, deadline_ms))
    goto out_timeout;
  /* Direct reply-to: consume the pseudo-queue, without acks, on the channel
   * that publishes, before the first publish. */
  amqp_basic_consume(conn, CALL_CHANNEL,
                     amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO), amqp_empty_bytes,
                     0, 1, 0, amqp_empty_table);
  rc = rpcd__amqp_last_status(conn, CALL_CHANNEL, "consuming replies", detail,
                              sizeof(detail));
  if (rc != RPCD_OK) {
    rpcd__set_err(err, errlen, "could not receive replies through \"%s\": %s",
                  RPCD_DIRECT_REPLY_TO, detail);
    rpcd__amqp_close(conn, N_CHANNELS);
    return RPCD_ECONNECT;
  }
  return RPCD_OK;

out_timeout:
  rpcd__set_err(err, errlen,
                "the broker did not finish opening the connection within the "
                "connect timeout of %u ms",
                timeout_ms);
  rpcd__amqp_close(conn, ch - 1);
  return RPCD_ECONNECT;
}

int rpcd_client_connect(rpcd_client *c, const char *uri)
{
  rpcd_amqp_options opts;
  amqp_connection_state_t conn;
  char detail[sizeof(c->last_error)];
  unsigned timeout_ms;
  int64_t deadline_ms;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  if (c->conn) {
    fail_calls(c, UINT32_MAX, RPCD_ECONNLOST,
               "connection to the broker lost: the client reconnected");
    rpcd__amqp_close(c->conn, c->probe_open ? N_CHANNELS : CALL_CHANNEL);
    c->conn = NULL;
    c->probe_open = false;
  }
  forget_probes(c);

  /* One deadline for the whole connect: socket, login, channels. */
  timeout_ms = c->connect_timeout_ms;
  if (timeout_ms == 0)
    timeout_ms = c->timeout_set ? c->timeout_ms : CONNECT_TIMEOUT_DEFAULT_MS;
  deadline_ms = rpcd__now_mono_ms() + (int64_t)timeout_ms;
  memset(&opts, 0, sizeof(opts));
  opts.product = APP_ID;
  opts.connect_timeout_ms = timeout_ms;
  /* Its messages never hold the password: the URI in them is masked. */
  rc = rpcd__amqp_connect(uri, &opts, 0, &conn, detail, sizeof(detail));
  if (rc == RPCD_OK)
    rc = open_channels(conn, deadline_ms, timeout_ms, detail, sizeof(detail));
  if (rc != RPCD_OK) {
    if (rc == RPCD_ECONNECT && rpcd__now_mono_ms() >= deadline_ms &&
        !strstr(detail, "connect timeout"))
      set_error(c, "%s (connect timeout: %u ms)", detail, timeout_ms);
    else
      set_error(c, "%s", detail);
    return rc;
  }
  amqp_maybe_release_buffers(conn);
  c->conn = conn;
  c->probe_open = true;
  return RPCD_OK;
}

void rpcd_client_close(rpcd_client *c)
{
  if (!c || !c->conn)
    return;
  fail_calls(c, UINT32_MAX, RPCD_ECONNLOST,
             "connection to the broker lost: the client closed it");
  rpcd__amqp_close(c->conn, c->probe_open ? N_CHANNELS : CALL_CHANNEL);
  c->conn = NULL;
  c->probe_open = false;
  forget_probes(c);
}

bool rpcd_client_is_connected(const rpcd_client *c)
{
  return c && c->conn;
}

const char *rpcd_client_last_error(const rpcd_client *c)
{
  return c ? c->last_error : "";
}

uint64_t rpcd_client_dropped_replies(const rpcd_client *c)
{
  return c ? c->dropped_replies : 0;
}

size_t rpcd_client_pending(const rpcd_client *c)
{
  return c ? rpcd__pending_count(&c->pending) : 0;
}
