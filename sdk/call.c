/* SPDX-License-Identifier: MIT */
/*
 * The public call API: checking and publishing requests and notifications,
 * and waiting for replies.
 */
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "rpcd_proto.h"

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

/* The client's request buffer, emptied: one buffer reused by every call
 * rather than one allocated per call. */
static msgpack_sbuffer *request_buffer(rpcd_client *c)
{
  msgpack_sbuffer_clear(&c->req_buf);
  return &c->req_buf;
}

/* Done with the request buffer: a large one is not kept for later. */
static void request_buffer_done(rpcd_client *c)
{
  if (c->req_buf.alloc > REQ_BUF_KEEP) {
    msgpack_sbuffer_destroy(&c->req_buf);
    msgpack_sbuffer_init(&c->req_buf);
  }
}

/*
 * Publish a request body on the call channel. `p` is the call, or NULL for
 * a notification, which is published without correlation and message id,
 * reply_to, deadline or mandatory flag.
 *
 * \return RPCD_OK, or a failure with last_error set (the connection is
 *         dropped for RPCD_ECONNLOST: a write that failed half-way leaves
 *         the frame stream unusable)
 */
static int publish(rpcd_client *c, const char *queue, const void *body,
                   size_t body_len, const rpcd_pending *p, unsigned timeout_ms)
{
  amqp_basic_properties_t props;
  amqp_table_entry_t deadline;
  char detail[256];
  int64_t now_unix = rpcd__now_unix_ms();
  bool first;
  int st;

  memset(&props, 0, sizeof(props));
  memset(&deadline, 0, sizeof(deadline));
  /* Only what a request needs, since every property costs the broker a
   * decode: x-rpc-v 1 and x-rpc-method are what their absence means, a
   * missing delivery_mode is transient, x-rpc-deadline alone carries the
   * deadline (the server does not start an expired request; an expiration
   * as well cost about 4% of the calls/s at 64 in flight, and a classic
   * queue drops expired messages only at its head anyway), and message_id,
   * timestamp and app_id were diagnostics nobody read (about 2% more). */
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
  /* Exactly the login user, or the broker closes the channel: it names
   * the caller to the server's access control. */
  if (c->user[0]) {
    props._flags |= AMQP_BASIC_USER_ID_FLAG;
    props.user_id = amqp_cstring_bytes(c->user);
  }

  if (p) {
    deadline.key = amqp_cstring_bytes(RPCD_HDR_DEADLINE);
    deadline.value.kind = AMQP_FIELD_KIND_I64;
    deadline.value.value.i64 = now_unix + (int64_t)timeout_ms;
    props.headers.entries = &deadline;
    props.headers.num_entries = 1;
    props._flags |= AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG |
                    AMQP_BASIC_REPLY_TO_FLAG;
    props.correlation_id = amqp_cstring_bytes(p->cid);
    props.reply_to = amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO);
  }

  first = c->out_len == 0;
  st = rpcd__out_publish(c, queue, p != NULL, &props, body, body_len);
  if (st != AMQP_STATUS_OK) {
    /* Nothing was written: the connection stays usable. */
    set_error(c, "could not publish to queue \"%s\": %s", queue,
              amqp_error_string2(st));
    return rpcd__amqp_lib_status(st);
  }
  /* While process() runs, calls wait to go out with the others it
   * publishes; a notification has no callback to report a failure later,
   * and goes now. */
  if (p && c->in_process) {
    if (first)
      c->out_since_ms = rpcd__now_mono_ms();
    return RPCD_OK;
  }
  rpcd__set_err(detail, sizeof(detail), "publishing to queue \"%s\"", queue);
  return rpcd__out_flush(c, detail);
}

/* A call's published: it waits for its reply in its queue's count. */
static void mark_published(rpcd_client *c, rpcd_pending *p)
{
  p->state = RPCD_PENDING_IN_FLIGHT;
  p->published = true;
  c->queues[p->queue_ix].n_published++;
}

int rpcd__publish_held(rpcd_client *c, rpcd_pending *p)
{
  int64_t left = p->deadline_ms - rpcd__now_mono_ms();
  int rc;

  if (left < 1)
    left = 1;
  rc = publish(c, c->queues[p->queue_ix].name, p->held_body, p->held_len, p,
               (unsigned)left);
  if (rc != RPCD_OK) {
    /* RPCD_ECONNLOST failed the call with every other one. */
    rpcd__call_complete(c, p, rc, NULL, c->last_error);
    return rc;
  }
  free(p->held_body);
  p->held_body = NULL;
  c->queues[p->queue_ix].n_held--;
  mark_published(c, p);
  return RPCD_OK;
}

void rpcd__publish_unblocked(rpcd_client *c)
{
  rpcd_pending *p;
  size_t pos = 0;

  for (p = rpcd__pending_next(&c->pending, &pos); p && c->conn && !c->blocked;
       p = rpcd__pending_next(&c->pending, &pos)) {
    /* Calls whose queue is being checked go when its answer comes. */
    if (p->state == RPCD_PENDING_HELD && c->probe_qix != p->queue_ix &&
        !c->queues[p->queue_ix].probe_wanted)
      rpcd__publish_held(c, p);
  }
}

/*
 * Start a call: it is published at once when its queue was found served
 * less than PROBE_MAX_AGE_MS ago, otherwise held and its queue probed.
 * On RPCD_OK the call is in the table (held or in flight, or done already
 * when the probe could not even be sent); on a failure it is not.
 */
static int start_call(rpcd_client *c, const char *method, const void *params,
                      size_t params_len, unsigned timeout_ms, rpcd_call_cb cb,
                      void *user, unsigned flags, rpcd_pending **out)
{
  msgpack_sbuffer *body;
  struct queue_info *q;
  rpcd_pending *p;
  size_t method_len;
  uint32_t msgid;
  uint32_t qix;
  int64_t now;
  int rc;

  rc = check_request(c, method, params, params_len, flags, &method_len);
  if (rc != RPCD_OK)
    return rc;
  if (timeout_ms == 0)
    timeout_ms = c->timeout_ms;
  qix = c->queue_ix;
  q = &c->queues[qix];
  now = rpcd__now_mono_ms();

  msgid = c->next_msgid++;
  body = request_buffer(c);
  rc = rpcd__request_encode(body, false, msgid, method, method_len, params,
                            params_len);
  if (rc != RPCD_OK) {
    set_error(c, "could not encode the request: %s", rpcd_strerror(rc));
    goto out_body;
  }
  rc = rpcd__pending_insert(&c->pending, msgid, qix, now + (int64_t)timeout_ms,
                            &p);
  if (rc == RPCD_OK) {
    rc = rpcd__dheap_push(&c->deadlines, &p->dl);
    if (rc != RPCD_OK)
      rpcd__pending_remove(&c->pending, p);
  }
  if (rc != RPCD_OK) {
    set_error(c, "could not record the call: %s", rpcd_strerror(rc));
    goto out_body;
  }

  if (!c->blocked && q->served && now - q->probed_ms < PROBE_MAX_AGE_MS) {
    rc = publish(c, q->name, body->data, body->size, p, timeout_ms);
    if (rc != RPCD_OK) {
      rpcd__call_forget(c, p);
      goto out_body;
    }
    mark_published(c, p);
  } else {
    /* Fail at once when nobody can answer, rather than at the deadline:
     * hold the call until its queue's probe answers (and while the broker
     * blocks publishers, until it unblocks). */
    p->held_body = malloc(body->size);
    if (!p->held_body) {
      rpcd__call_forget(c, p);
      set_error(c, "out of memory");
      rc = RPCD_ENOMEM;
      goto out_body;
    }
    memcpy(p->held_body, body->data, body->size);
    p->held_len = body->size;
    p->state = RPCD_PENDING_HELD;
    q->n_held++;
    if (!q->served || now - q->probed_ms >= PROBE_MAX_AGE_MS)
      rpcd__probe_start(c, qix, timeout_ms);
  }
  /* Callbacks are set last: a call that failed already (the probe could
   * not be sent) is reported by the caller, not by a callback. */
  if (p->state != RPCD_PENDING_DONE) {
    p->cb = cb;
    p->user = user;
  }
  *out = p;

out_body:
  request_buffer_done(c);
  return rc;
}

/* Report a call that completed within start_call() and forget it. */
static int started_done(rpcd_client *c, rpcd_pending *p)
{
  int status = p->status;

  set_error(c, "%s", p->detail ? p->detail : rpcd_strerror(status));
  rpcd__pending_remove(&c->pending, p);
  return status;
}

static int check_not_in_callback(rpcd_client *c, const char *what)
{
  if (!c->in_callback)
    return RPCD_OK;
  set_error(c, "%s cannot be called from a completion callback", what);
  return RPCD_ESTATE;
}

int rpcd_client_submit(rpcd_client *c, const char *method, const void *params,
                       size_t params_len, unsigned timeout_ms, rpcd_call_cb cb,
                       void *user, rpcd_call_id *id)
{
  rpcd_pending *p;
  int rc;

  if (id)
    *id = 0;
  if (!c)
    return RPCD_EINVAL;
  if (!cb) {
    set_error(c, "no completion callback given");
    return RPCD_EINVAL;
  }
  rc = start_call(c, method, params, params_len, timeout_ms, cb, user, 0, &p);
  if (rc != RPCD_OK)
    return rc;
  /* Only a call that was never published can be done already. */
  if (p->state == RPCD_PENDING_DONE)
    return started_done(c, p);
  if (id)
    *id = p->id;
  return RPCD_OK;
}

/* Read what arrived, expire calls, run the probes' timers, and run the
 * callbacks of what completed. */
static int process(rpcd_client *c)
{
  rpcd_deadline_node *n;
  int64_t now;

  c->in_process = true;
  if (c->conn)
    rpcd__pump_available(c);
  now = rpcd__now_mono_ms();
  /* Replies already read win over deadlines that passed meanwhile. */
  while ((n = rpcd__dheap_top(&c->deadlines)) && n->deadline_ms <= now) {
    rpcd_pending *p = rpcd__pending_of_node(n);
    char detail[sizeof(c->last_error)];

    if (p->state == RPCD_PENDING_HELD && c->blocked)
      rpcd__set_err(detail, sizeof(detail),
                    "timed out: the broker blocks publishers (%s)",
                    c->blocked_reason);
    else if (p->state == RPCD_PENDING_HELD)
      rpcd__set_err(detail, sizeof(detail),
                    "timed out: the broker did not answer in time (checking "
                    "queue \"%s\")",
                    c->queues[p->queue_ix].name);
    else
      rpcd__set_err(detail, sizeof(detail),
                    "timed out waiting for a reply from queue \"%s\"",
                    c->queues[p->queue_ix].name);
    rpcd__call_complete(c, p, RPCD_ETIMEDOUT, NULL, detail);
  }
  if (c->conn)
    rpcd__pump_tick(c, now);
  if (c->conn)
    rpcd__probe_tick(c, now);
  /* Held calls published meanwhile go out before the callbacks run, and
   * what the callbacks submit goes out in one write after them; a failed
   * write fails those calls through their callbacks. */
  rpcd__out_flush(c, "publishing requests");
  rpcd__deliver(c);
  c->in_process = false;
  if (rpcd__out_flush(c, "publishing requests") != RPCD_OK)
    rpcd__deliver(c);
  return c->conn ? RPCD_OK : RPCD_ECONNLOST;
}

int rpcd_client_process(rpcd_client *c)
{
  int rc;

  if (!c)
    return RPCD_EINVAL;
  rc = check_not_in_callback(c, "rpcd_client_process()");
  if (rc != RPCD_OK)
    return rc;
  return process(c);
}

int rpcd_client_fd(const rpcd_client *c)
{
  return c && c->conn ? amqp_get_sockfd(c->conn) : -1;
}

int rpcd_client_timeout_ms(const rpcd_client *c)
{
  rpcd_deadline_node *n;
  int64_t next = INT64_MAX;
  int64_t t;
  int64_t left;

  if (!c)
    return -1;
  if (c->done_head)
    return 0; /* callbacks to run */
  if (!c->conn)
    return -1;
  if (amqp_data_in_buffer(c->conn) || amqp_frames_enqueued(c->conn))
    return 0; /* read already, not handled: the fd may stay quiet */
  n = rpcd__dheap_top(&c->deadlines);
  if (n)
    next = n->deadline_ms;
  t = rpcd__probe_next_ms(c);
  if (t < next)
    next = t;
  t = rpcd__pump_next_ms(c);
  if (t < next)
    next = t;
  if (next == INT64_MAX)
    return -1;
  left = next - rpcd__now_mono_ms();
  if (left < 0)
    return 0;
  return left > INT_MAX ? INT_MAX : (int)left;
}

/* Sleep in poll(2) until the connection has something or the next deadline
 * comes. */
static void wait_io(rpcd_client *c)
{
  struct pollfd pfd;
  int t = rpcd_client_timeout_ms(c);
  int fd = rpcd_client_fd(c);

  if (t == 0 || fd < 0)
    return;
  pfd.fd = fd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  (void)poll(&pfd, 1, t);
}

int rpcd_client_send(rpcd_client *c, const char *method, const void *params,
                     size_t params_len, unsigned timeout_ms, rpcd_call_id *id,
                     unsigned flags)
{
  rpcd_pending *p;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  if (!id) {
    set_error(c, "no call id pointer given");
    return RPCD_EINVAL;
  }
  *id = 0;
  rc = check_not_in_callback(c, "rpcd_client_send()");
  if (rc != RPCD_OK)
    return rc;
  /* The connection was lost (not closed): a blocking call may wait for a
   * connect, so the next one reconnects. The event loop's submit never
   * waits: its caller reconnects. */
  if (!c->conn && c->uri) {
    rc = rpcd_client_connect(c, c->uri);
    if (rc != RPCD_OK)
      return rc;
  }
  rc = start_call(c, method, params, params_len, timeout_ms, NULL, NULL, flags,
                  &p);
  if (rc != RPCD_OK)
    return rc;
  /* As before the event loop: a call nobody can answer fails here. A
   * call published meanwhile may even have its reply already (the same
   * process() read the queue's answer and the reply): rpcd_client_wait()
   * collects that. */
  while (p->state == RPCD_PENDING_HELD) {
    process(c);
    if (p->state == RPCD_PENDING_HELD)
      wait_io(c);
  }
  if (p->state == RPCD_PENDING_DONE && !p->published)
    return started_done(c, p);
  *id = p->id;
  return RPCD_OK;
}

int rpcd_client_notify(rpcd_client *c, const char *method, const void *params,
                       size_t params_len, unsigned flags)
{
  msgpack_sbuffer *body;
  size_t method_len;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  rc = check_request(c, method, params, params_len, flags, &method_len);
  if (rc != RPCD_OK)
    return rc;
  body = request_buffer(c);
  rc = rpcd__request_encode(body, true, 0, method, method_len, params,
                            params_len);
  if (rc != RPCD_OK) {
    set_error(c, "could not encode the notification: %s", rpcd_strerror(rc));
    goto out_body;
  }
  rc = publish(c, c->queues[c->queue_ix].name, body->data, body->size, NULL, 0);

out_body:
  request_buffer_done(c);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Waiting                                                                   */

int rpcd_client_wait(rpcd_client *c, rpcd_call_id id, rpcd_reply **reply)
{
  rpcd_reply *r;
  rpcd_pending *p;
  int status;
  int rc;

  if (reply)
    *reply = NULL;
  if (!c)
    return RPCD_EINVAL;
  rc = check_not_in_callback(c, "rpcd_client_wait()");
  if (rc != RPCD_OK)
    return rc;
  p = rpcd__pending_find_id(&c->pending, id);
  if (!p || p->cb) {
    set_error(c, "unknown call id %" PRIu64, (uint64_t)id);
    return RPCD_EINVAL;
  }

  /* Calls without a callback are completed but never removed by
   * process(), so p stays valid. */
  while (p->state != RPCD_PENDING_DONE) {
    if (!c->conn) {
      rpcd__call_complete(c, p, RPCD_ECONNLOST, NULL, "not connected");
      break;
    }
    process(c);
    if (p->state != RPCD_PENDING_DONE)
      wait_io(c);
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
