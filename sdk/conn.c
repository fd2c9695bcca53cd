/* SPDX-License-Identifier: MIT */
/*
 * The client's lifecycle: creating and freeing it, its settings, the AMQP
 * connection and its channels, and failing the calls in flight when the
 * connection goes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "client_internal.h"

/* ------------------------------------------------------------------------ */
/* Queues                                                                    */

/* Index of the queue named `name`, added when new. */
int rpcd__queue_index(rpcd_client *c, const char *name, uint32_t *ix)
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

void rpcd__forget_probes(rpcd_client *c)
{
  size_t i;

  for (i = 0; i < c->n_queues; i++) {
    c->queues[i].served = false;
    c->queues[i].probed_ms = 0;
  }
}

/* ------------------------------------------------------------------------ */
/* Completing and failing calls                                              */

void rpcd__call_complete(rpcd_client *c, rpcd_pending *p, int status,
                         rpcd_reply *reply, const char *detail)
{
  struct queue_info *q = &c->queues[p->queue_ix];
  int was = p->state;

  if (!rpcd__pending_complete(&c->pending, p, status, reply, detail))
    return;
  rpcd__dheap_remove(&c->deadlines, &p->dl);
  /* A call whose publish failed is in flight but was never counted. */
  if (was == RPCD_PENDING_IN_FLIGHT && p->published) {
    q->n_published--;
  } else if (was == RPCD_PENDING_HELD) {
    q->n_held--;
    free(p->held_body);
    p->held_body = NULL;
  }
  if (p->cb) {
    p->next = NULL;
    if (c->done_tail)
      c->done_tail->next = p;
    else
      c->done_head = p;
    c->done_tail = p;
  }
}

void rpcd__call_forget(rpcd_client *c, rpcd_pending *p)
{
  struct queue_info *q = &c->queues[p->queue_ix];

  rpcd__dheap_remove(&c->deadlines, &p->dl);
  if (p->state == RPCD_PENDING_IN_FLIGHT && p->published)
    q->n_published--;
  else if (p->state == RPCD_PENDING_HELD)
    q->n_held--;
  rpcd__pending_remove(&c->pending, p);
}

void rpcd__deliver(rpcd_client *c)
{
  bool was_in_callback = c->in_callback;

  while (c->done_head) {
    rpcd_pending *p = c->done_head;
    rpcd_call_cb cb = p->cb;
    void *user = p->user;
    rpcd_call_id id = p->id;
    rpcd_reply *reply = p->reply;
    int status = p->status;

    c->done_head = p->next;
    if (!c->done_head)
      c->done_tail = NULL;
    if (status != RPCD_OK)
      set_error(c, "%s", p->detail ? p->detail : rpcd_strerror(status));
    p->reply = NULL;
    rpcd__pending_remove(&c->pending, p);
    c->in_callback = true;
    cb(c, id, status, reply, user);
    c->in_callback = was_in_callback;
    /* Requests the callbacks submitted wait for the others, but not for
     * long: slow callbacks do not hold back the ones already submitted. */
    if (c->out_len > 0 &&
        rpcd__now_mono_ms() - c->out_since_ms >= OUT_MAX_WAIT_MS)
      rpcd__out_flush(c, "publishing requests");
  }
}

void rpcd__fail_calls(rpcd_client *c, uint32_t qix, bool held, int status,
                      const char *detail)
{
  rpcd_pending *p;
  size_t pos = 0;

  for (p = rpcd__pending_next(&c->pending, &pos); p;
       p = rpcd__pending_next(&c->pending, &pos)) {
    if ((p->state == RPCD_PENDING_IN_FLIGHT ||
         (held && p->state == RPCD_PENDING_HELD)) &&
        (qix == NO_QUEUE || p->queue_ix == qix))
      rpcd__call_complete(c, p, status, NULL, detail);
  }
}

void rpcd__reset_io(rpcd_client *c)
{
  size_t i;

  c->probe_open = false;
  c->blocked = false;
  c->probe_qix = NO_QUEUE;
  c->probe_deadline_ms = 0;
  free(c->rd.body);
  memset(&c->rd, 0, sizeof(c->rd));
  rpcd__out_reset(c);
  for (i = 0; i < c->n_queues; i++) {
    c->queues[i].probe_wanted = false;
    c->queues[i].fail_at_ms = 0;
  }
  rpcd__forget_probes(c);
}

void rpcd__connection_lost(rpcd_client *c, const char *detail, bool polite)
{
  char msg[sizeof(c->last_error)];

  rpcd__set_err(msg, sizeof(msg), "connection to the broker lost: %s", detail);
  rpcd__fail_calls(c, NO_QUEUE, true, RPCD_ECONNLOST, msg);
  if (c->conn) {
    if (polite)
      rpcd__amqp_close(c->conn, 0);
    else
      amqp_destroy_connection(c->conn);
    c->conn = NULL;
  }
  rpcd__reset_io(c);
  set_error(c, "%s", msg);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */

int rpcd_client_new(rpcd_client **out)
{
  unsigned char seed[RPCD_PENDING_SEED_LEN];
  rpcd_client *c;
  int rc;

  if (!out)
    return RPCD_EINVAL;
  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (!c)
    return RPCD_ENOMEM;
  /* The only random ids the client needs: correlation and message ids are
   * made from these (pending.h), not drawn per call. */
  uuid_generate(seed);
  rc = rpcd__pending_init(&c->pending, seed, rpcd_reply_free);
  if (rc != RPCD_OK)
    goto out_free;
  rc = rpcd__queue_index(c, RPCD_DEFAULT_QUEUE, &c->queue_ix);
  if (rc != RPCD_OK)
    goto out_free;
  rpcd__dheap_init(&c->deadlines);
  c->probe_qix = NO_QUEUE;
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
  rpcd__deliver(c);
  rpcd__dheap_destroy(&c->deadlines);
  rpcd__pending_destroy(&c->pending);
  msgpack_sbuffer_destroy(&c->req_buf);
  free(c->out);
  for (i = 0; i < 3; i++)
    free(c->tls_paths[i]);
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
  rc = rpcd__queue_index(c, queue, &c->queue_ix);
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

int rpcd_client_set_heartbeat(rpcd_client *c, unsigned seconds)
{
  if (!c)
    return RPCD_EINVAL;
  if (seconds > 65535) {
    set_error(c, "invalid heartbeat: at most 65535 s");
    return RPCD_EINVAL;
  }
  c->heartbeat_s = seconds;
  return RPCD_OK;
}

int rpcd_client_set_tls(rpcd_client *c, const char *ca_file,
                        const char *cert_file, const char *key_file,
                        unsigned flags)
{
  const char *given[3] = {ca_file, cert_file, key_file};
  char *copies[3] = {NULL, NULL, NULL};
  rpcd_tls_options tls;
  char detail[sizeof(c->last_error)];
  size_t i;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  if (flags & ~(RPCD_TLS_INSECURE | RPCD_TLS_EXTERNAL)) {
    set_error(c, "invalid TLS flags 0x%x", flags);
    return RPCD_EINVAL;
  }
  memset(&tls, 0, sizeof(tls));
  tls.ca_file = ca_file;
  tls.cert_file = cert_file;
  tls.key_file = key_file;
  tls.insecure = flags & RPCD_TLS_INSECURE;
  tls.external = flags & RPCD_TLS_EXTERNAL;
  rc = rpcd__tls_check(&tls, detail, sizeof(detail));
  if (rc != RPCD_OK) {
    set_error(c, "%s", detail);
    return rc;
  }
  for (i = 0; i < 3; i++) {
    if (given[i] && !(copies[i] = strdup(given[i]))) {
      while (i-- > 0)
        free(copies[i]);
      set_error(c, "out of memory");
      return RPCD_ENOMEM;
    }
  }
  for (i = 0; i < 3; i++) {
    free(c->tls_paths[i]);
    c->tls_paths[i] = copies[i];
  }
  c->tls = tls;
  c->tls.ca_file = copies[0];
  c->tls.cert_file = copies[1];
  c->tls.key_file = copies[2];
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
  tv = rpcd__ms_to_tv(left);
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

/* How far apart rabbitmq-c's timers and the client's clock may be. */
#define CONNECT_CLOCK_SLACK_MS 20

int rpcd_client_connect(rpcd_client *c, const char *uri)
{
  rpcd_amqp_options opts;
  amqp_connection_state_t conn;
  char detail[sizeof(c->last_error)];
  char *uri_copy;
  unsigned timeout_ms;
  int64_t deadline_ms;
  int rc;

  if (!c)
    return RPCD_EINVAL;
  /* A copy first: uri may be c->uri itself (a reconnect). */
  uri_copy = uri ? strdup(uri) : NULL;
  if (uri && !uri_copy)
    return RPCD_ENOMEM;
  if (c->conn) {
    rpcd__fail_calls(c, NO_QUEUE, true, RPCD_ECONNLOST,
                     "connection to the broker lost: the client reconnected");
    rpcd__amqp_close(c->conn, c->probe_open ? N_CHANNELS : CALL_CHANNEL);
    c->conn = NULL;
  }
  rpcd__reset_io(c);

  /* One deadline for the whole connect: socket, login, channels. */
  timeout_ms = c->connect_timeout_ms;
  if (timeout_ms == 0)
    timeout_ms = c->timeout_set ? c->timeout_ms : CONNECT_TIMEOUT_DEFAULT_MS;
  deadline_ms = rpcd__now_mono_ms() + (int64_t)timeout_ms;
  memset(&opts, 0, sizeof(opts));
  opts.product = APP_ID;
  opts.connect_timeout_ms = timeout_ms;
  opts.heartbeat_s = c->heartbeat_s;
  /* Handled by the frame pump: publishes are held while blocked. */
  opts.connection_blocked = true;
  opts.tls = &c->tls;
  /* Its messages never hold the password: the URI in them is masked. */
  rc = rpcd__amqp_connect(uri, &opts, 0, &conn, detail, sizeof(detail));
  if (rc == RPCD_OK)
    rc = open_channels(conn, deadline_ms, timeout_ms, detail, sizeof(detail));
  if (rc != RPCD_OK) {
    /* rabbitmq-c's timers run on their own clock and may fire a moment
     * before ours reaches the deadline: a failure that close to it is the
     * timeout's. */
    if (rc == RPCD_ECONNECT &&
        rpcd__now_mono_ms() + CONNECT_CLOCK_SLACK_MS >= deadline_ms &&
        !strstr(detail, "connect timeout"))
      set_error(c, "%s (connect timeout: %u ms)", detail, timeout_ms);
    else
      set_error(c, "%s", detail);
    free(uri_copy);
    return rc;
  }
  amqp_maybe_release_buffers(conn);
  /* The login worked, so the URI parses; a user too long for user_id (a
   * shortstr) calls anonymously. Under EXTERNAL the broker took the user
   * from the certificate: the same common name. */
  if ((c->tls.external
           ? rpcd__tls_cert_user(c->tls.cert_file, c->user, sizeof(c->user),
                                 detail, sizeof(detail))
           : rpcd__amqp_uri_user(uri_copy, c->user, sizeof(c->user), detail,
                                 sizeof(detail))) != RPCD_OK)
    c->user[0] = '\0';
  /* rabbitmq-c's parser takes the scheme as written. */
  c->tls_socket = strncmp(uri_copy, "amqps://", 8) == 0;
  free(c->uri);
  c->uri = uri_copy;
  c->conn = conn;
  c->probe_open = true;
  c->hb_s = amqp_get_heartbeat(conn);
  c->last_recv_ms = rpcd__now_mono_ms();
  c->last_pump_ms = c->last_recv_ms;
  return RPCD_OK;
}

void rpcd_client_close(rpcd_client *c)
{
  if (!c)
    return;
  /* Closed on purpose: the blocking calls do not reconnect. */
  free(c->uri);
  c->uri = NULL;
  if (!c->conn)
    return;
  rpcd__fail_calls(c, NO_QUEUE, true, RPCD_ECONNLOST,
                   "connection to the broker lost: the client closed it");
  rpcd__amqp_close(c->conn, c->probe_open ? N_CHANNELS : CALL_CHANNEL);
  c->conn = NULL;
  rpcd__reset_io(c);
  rpcd__deliver(c);
}

bool rpcd_client_is_connected(const rpcd_client *c)
{
  return c && c->conn;
}

bool rpcd_client_is_blocked(const rpcd_client *c)
{
  return c && c->conn && c->blocked;
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