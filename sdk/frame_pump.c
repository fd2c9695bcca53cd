/* SPDX-License-Identifier: MIT */
/*
 * The frame pump: reads frames one by one, matches replies to the calls in
 * flight by correlation id, and handles returned requests and channel or
 * connection closes.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

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
    rpcd__call_complete(c, p, RPCD_ETOOBIG, NULL, detail);
    return;
  }
  if (body_status != RPCD_OK) {
    rpcd__call_complete(c, p, body_status, NULL,
                        "out of memory while receiving a reply");
    return;
  }
  rc = rpcd__reply_decode(body, (size_t)body_len, &view, why, sizeof(why));
  if (rc == RPCD_OK)
    rc = rpcd__reply_check(&view, p->msgid, why, sizeof(why));
  if (rc != RPCD_OK) {
    rpcd__set_err(detail, sizeof(detail),
                  "malformed reply from queue \"%s\": %s", queue, why);
    rpcd__call_complete(c, p, rc == RPCD_ENOMEM ? RPCD_ENOMEM : RPCD_EPROTO,
                        NULL, detail);
    goto out_destroy;
  }
  rc = rpcd__reply_from_view(&view, &reply);
  if (rc != RPCD_OK) {
    rpcd__call_complete(c, p, rc, NULL, "out of memory while copying a reply");
    goto out_destroy;
  }
  if (view.error_code == 0) {
    rpcd__call_complete(c, p, RPCD_OK, reply, NULL);
  } else {
    rpcd__set_err(detail, sizeof(detail),
                  "the server answered with error %d (%s): %.*s",
                  view.error_code, rpcd_errcode_name(view.error_code),
                  (int)view.message_len, view.message ? view.message : "");
    rpcd__call_complete(c, p, RPCD_EREMOTE, reply, detail);
  }

out_destroy:
  rpcd__reply_view_destroy(&view);
}

/* Stop reading the current message (its call, if any, is not completed). */
static void reader_reset(rpcd_client *c)
{
  free(c->rd.body);
  memset(&c->rd, 0, sizeof(c->rd));
}

/* A broker that sends something else than the content of the message being
 * read loses the connection. */
static int reader_fail(rpcd_client *c, const char *detail)
{
  reader_reset(c);
  rpcd__connection_lost(c, detail, false);
  return RPCD_ECONNLOST;
}

/* The message was read whole: complete its call. `whole` is its body when
 * it came in one frame (it is decoded where it lies), else NULL. */
static void reader_finish(rpcd_client *c, const void *whole)
{
  struct msg_reader *rd = &c->rd;
  rpcd_pending *p = rd->id ? rpcd__pending_find_id(&c->pending, rd->id) : NULL;
  const void *body = whole ? whole : rd->body ? rd->body : (const void *)"";

  /* The call may have timed out while its reply was arriving. */
  if (p && p->state != RPCD_PENDING_IN_FLIGHT) {
    p = NULL;
    c->dropped_replies++;
  }
  if (p && rd->is_return)
    rpcd__call_complete(c, p, RPCD_ENOROUTE, NULL, rd->detail);
  else if (p)
    complete_call(c, p, body, rd->size, rd->body_status);
  reader_reset(c);
}

/*
 * The content header of the message being read. The size check comes
 * before the body is read: a body over max_reply (or one for no call in
 * flight) is read frame by frame and dropped, never held whole, so a huge
 * reply costs neither the memory nor the connection.
 */
static void reader_header(rpcd_client *c, const amqp_frame_t *f)
{
  struct msg_reader *rd = &c->rd;
  const amqp_basic_properties_t *props = f->payload.properties.decoded;
  rpcd_pending *p = NULL;

  rd->have_header = true;
  rd->size = f->payload.properties.body_size;
  /* A reply to a call that timed out, was answered already (a request
   * delivered twice) or was never ours. */
  if (props->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
    p = rpcd__pending_find_cid(&c->pending, props->correlation_id.bytes,
                               props->correlation_id.len);
  if (p && p->state != RPCD_PENDING_IN_FLIGHT)
    p = NULL;
  if (!p) {
    if (!rd->is_return)
      c->dropped_replies++;
    return;
  }
  if (!rd->is_return && rd->size > c->max_reply) {
    /* The outcome is known from the header: the body is only read and
     * dropped. */
    complete_call(c, p, NULL, rd->size, RPCD_ETOOBIG);
    return;
  }
  rd->id = p->id;
  if (rd->is_return)
    return; /* the request's own body: not needed */
  rd->keep = true;
  /* Its reply has begun: the call completes with it (or with the
   * connection, when the rest stalls), not with its deadline. */
  rpcd__dheap_remove(&c->deadlines, &p->dl);
}

/* A frame on the call channel while a message is being read. */
static int reader_frame(rpcd_client *c, const amqp_frame_t *f)
{
  struct msg_reader *rd = &c->rd;
  const void *whole = NULL;
  char detail[256];
  size_t n;

  /* The pump's clock: close enough for a limit of seconds, and no clock
   * read per frame. */
  rd->stall_deadline_ms = c->last_pump_ms + CONTENT_STALL_MS;
  if (!rd->have_header) {
    if (f->frame_type != AMQP_FRAME_HEADER)
      goto out_unexpected;
    reader_header(c, f);
  } else {
    if (f->frame_type != AMQP_FRAME_BODY)
      goto out_unexpected;
    n = f->payload.body_fragment.len;
    if (n > rd->size - rd->got)
      return reader_fail(c, "reading a reply: more body than its header said");
    if (rd->keep && rd->body_status == RPCD_OK) {
      if (rd->got == 0 && n == rd->size) {
        /* A body in one frame (the usual reply) needs no copy: it stays
         * valid until the next frame is read. */
        whole = f->payload.body_fragment.bytes;
      } else if (!rd->body && !(rd->body = malloc((size_t)rd->size))) {
        rd->body_status = RPCD_ENOMEM;
      } else {
        memcpy(rd->body + rd->got, f->payload.body_fragment.bytes, n);
      }
    }
    rd->got += n;
  }
  if (rd->got == rd->size)
    reader_finish(c, whole);
  return RPCD_OK;

out_unexpected:
  rpcd__set_err(detail, sizeof(detail),
                "reading a reply: frame type %d where %d was expected",
                (int)f->frame_type,
                rd->have_header ? AMQP_FRAME_BODY : AMQP_FRAME_HEADER);
  return reader_fail(c, detail);
}

static void reader_start(rpcd_client *c, bool is_return)
{
  reader_reset(c);
  c->rd.active = true;
  c->rd.is_return = is_return;
  c->rd.body_status = RPCD_OK;
  c->rd.stall_deadline_ms = c->last_pump_ms + CONTENT_STALL_MS;
}

/* Handle one frame. */
static int handle_frame(rpcd_client *c, const amqp_frame_t *f)
{
  char detail[256];

  if (c->rd.active && f->channel == CALL_CHANNEL)
    return reader_frame(c, f);
  if (f->frame_type != AMQP_FRAME_METHOD)
    return RPCD_OK; /* stray content of a message already abandoned */
  if (f->channel == PROBE_CHANNEL)
    return rpcd__probe_frame(c, f);

  switch (f->payload.method.id) {
  case AMQP_BASIC_DELIVER_METHOD:
    /* Replies are consumed on the call channel only. */
    if (f->channel == CALL_CHANNEL)
      reader_start(c, false);
    return RPCD_OK;
  case AMQP_BASIC_RETURN_METHOD: {
    /* The broker returned a mandatory request: its queue is gone. */
    const amqp_basic_return_t *m = f->payload.method.decoded;

    if (f->channel != CALL_CHANNEL)
      return RPCD_OK;
    reader_start(c, true);
    /* Format now: m lives in the connection's pool. */
    rpcd__set_err(c->rd.detail, sizeof(c->rd.detail),
                  "queue \"%.*s\" does not exist (the broker returned the "
                  "request: %.*s)",
                  (int)m->routing_key.len, (const char *)m->routing_key.bytes,
                  (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    return RPCD_OK;
  }
  case AMQP_BASIC_ACK_METHOD:
    return RPCD_OK;
  case AMQP_CHANNEL_CLOSE_METHOD: {
    const amqp_channel_close_t *m = f->payload.method.decoded;
    amqp_channel_close_ok_t ok;

    rpcd__set_err(detail, sizeof(detail), "the broker closed channel %d: %.*s",
                  (int)f->channel, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    amqp_send_method(c->conn, f->channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
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
  case AMQP_CONNECTION_BLOCKED_METHOD: {
    /* A resource alarm: the broker stops reading from connections that
     * publish. Calls are held (and time out by their own deadlines) until
     * it unblocks, so nothing waits in a send that cannot finish. */
    const amqp_connection_blocked_t *m = f->payload.method.decoded;

    c->blocked = true;
    rpcd__set_err(c->blocked_reason, sizeof(c->blocked_reason), "%.*s",
                  (int)m->reason.len, (const char *)m->reason.bytes);
    return RPCD_OK;
  }
  case AMQP_CONNECTION_UNBLOCKED_METHOD:
    c->blocked = false;
    /* A probe sent while blocked had no chance to be answered. */
    if (c->probe_qix != NO_QUEUE)
      c->probe_deadline_ms = rpcd__now_mono_ms() + PROBE_TIMEOUT_MAX_MS;
    if (rpcd__probe_start_wanted(c) != RPCD_OK)
      return RPCD_ECONNLOST;
    rpcd__publish_unblocked(c);
    return c->conn ? RPCD_OK : RPCD_ECONNLOST;
  case AMQP_BASIC_CANCEL_METHOD:
    /* Without the reply consumer no reply can arrive any more. */
    rpcd__connection_lost(c, "the broker cancelled the reply consumer", true);
    return RPCD_ECONNLOST;
  default:
    return RPCD_OK;
  }
}

/* True when the socket has bytes to read, or when it cannot tell (then
 * rabbitmq-c's read finds out). */
static bool socket_has_data(rpcd_client *c)
{
  int fd = amqp_get_sockfd(c->conn);
  int n = 0;

  return fd < 0 || ioctl(fd, FIONREAD, &n) != 0 || n > 0;
}

int rpcd__pump_available(rpcd_client *c)
{
  struct timeval zero = {0, 0};
  amqp_frame_t f;
  char detail[256];
  bool read_socket = false;
  int reads = 0;
  int st;
  int rc;

  if (!c->conn)
    return RPCD_ECONNLOST;
  c->last_pump_ms = rpcd__now_mono_ms();
  if (c->hb_s > 0) {
    /* Anything readable, heartbeats included (rabbitmq-c takes those
     * itself), shows the broker is alive. */
    struct pollfd p;

    p.fd = amqp_get_sockfd(c->conn);
    p.events = POLLIN;
    p.revents = 0;
    if (amqp_data_in_buffer(c->conn) || (p.fd >= 0 && poll(&p, 1, 0) > 0))
      c->last_recv_ms = c->last_pump_ms;
  }
  while (c->conn) {
    if (!amqp_data_in_buffer(c->conn) && !amqp_frames_enqueued(c->conn)) {
      /* Past the limit, only what rabbitmq-c has buffered: that the socket
       * is quiet does not mean nothing is waiting. */
      if (reads >= PROCESS_MAX_READS)
        return RPCD_OK;
      /* rabbitmq-c reads the socket next. Once it has been read in this
       * pump, ask first whether anything more came: one ioctl, where
       * rabbitmq-c spends a recv and a poll to find nothing. */
      if (read_socket && !socket_has_data(c))
        return RPCD_OK;
      read_socket = true;
    }
    st = amqp_simple_wait_frame_noblock(c->conn, &f, &zero);
    if (st == AMQP_STATUS_TIMEOUT)
      return RPCD_OK;
    if (st != AMQP_STATUS_OK) {
      rpcd__set_err(detail, sizeof(detail), "waiting for replies: %s",
                    amqp_error_string2(st));
      reader_reset(c);
      rpcd__connection_lost(c, detail, false);
      return RPCD_ECONNLOST;
    }
    reads++;
    c->last_recv_ms = c->last_pump_ms;
    rc = handle_frame(c, &f);
    if (rc != RPCD_OK || !c->conn)
      return RPCD_ECONNLOST;
    /* What the frame pointed into is not needed any more (the reader
     * copies what it keeps). */
    amqp_maybe_release_buffers(c->conn);
  }
  return RPCD_ECONNLOST;
}

int64_t rpcd__pump_next_ms(const rpcd_client *c)
{
  int64_t next = INT64_MAX;

  if (!c->conn)
    return next;
  if (c->rd.active)
    next = c->rd.stall_deadline_ms;
  if (c->hb_s > 0) {
    /* Come back twice per interval: rabbitmq-c sends our heartbeats when
     * it reads, and a broker not heard from for two intervals is gone. */
    int64_t t = c->last_pump_ms + (int64_t)c->hb_s * 500;

    if (t < next)
      next = t;
    t = c->last_recv_ms + (int64_t)c->hb_s * 2000;
    if (t < next)
      next = t;
  }
  return next;
}

int rpcd__pump_tick(rpcd_client *c, int64_t now)
{
  char detail[256];

  if (!c->conn)
    return RPCD_OK;
  if (c->hb_s > 0 && now - c->last_recv_ms >= (int64_t)c->hb_s * 2000) {
    rpcd__set_err(detail, sizeof(detail),
                  "nothing from the broker for two heartbeat intervals "
                  "(%d s): the connection is dead or half-open",
                  2 * c->hb_s);
    reader_reset(c);
    rpcd__connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  if (!c->rd.active || now < c->rd.stall_deadline_ms)
    return RPCD_OK;
  rpcd__set_err(detail, sizeof(detail),
                "the broker stopped sending in the middle of a reply "
                "(nothing for %d ms)",
                CONTENT_STALL_MS);
  return reader_fail(c, detail);
}
