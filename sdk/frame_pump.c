/* SPDX-License-Identifier: MIT */
/*
 * The frame pump: reads frames one by one, matches replies to the calls in
 * flight by correlation id, and handles returned requests and channel or
 * connection closes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "reply_internal.h"
#include "rpcd_proto.h"

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
 * \return RPCD_OK, or RPCD_ECONNLOST after rpcd__connection_lost()
 */
static int next_content_frame(rpcd_client *c, amqp_channel_t channel,
                              int frame_type, amqp_frame_t *f)
{
  struct timeval tv;
  char detail[256];
  int st;

  for (;;) {
    tv = rpcd__ms_to_tv(CONTENT_STALL_MS);
    st = amqp_simple_wait_frame_noblock(c->conn, f, &tv);
    if (st == AMQP_STATUS_TIMEOUT) {
      rpcd__set_err(detail, sizeof(detail),
                    "the broker stopped sending in the middle of a reply "
                    "(nothing for %d ms)",
                    CONTENT_STALL_MS);
      rpcd__connection_lost(c, detail, false);
      return RPCD_ECONNLOST;
    }
    if (st != AMQP_STATUS_OK) {
      rpcd__set_err(detail, sizeof(detail), "reading a reply: %s",
                    amqp_error_string2(st));
      rpcd__connection_lost(c, detail, false);
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
    rpcd__connection_lost(c, detail, false);
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
      rpcd__connection_lost(
          c, "reading a reply: more body than its header said", false);
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
    rpcd__connection_lost(c, why, false);
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
    rpcd__connection_lost(c, detail, true);
    return RPCD_ECONNLOST;
  }
  case AMQP_CONNECTION_CLOSE_METHOD: {
    const amqp_connection_close_t *m = f->payload.method.decoded;
    amqp_connection_close_ok_t ok;

    rpcd__set_err(detail, sizeof(detail),
                  "the broker closed the connection: %.*s",
                  (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    amqp_send_method(c->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    rpcd__connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  case AMQP_BASIC_CANCEL_METHOD:
    /* Without the reply consumer no reply can arrive any more. */
    rpcd__connection_lost(c, "the broker cancelled the reply consumer", true);
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
int rpcd__pump(rpcd_client *c, int64_t timeout_ms)
{
  struct timeval tv = rpcd__ms_to_tv(timeout_ms);
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
    rpcd__connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  rc = handle_frame(c, &f);
  if (c->conn)
    amqp_maybe_release_buffers(c->conn);
  return rc;
}
