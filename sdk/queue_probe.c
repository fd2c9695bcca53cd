/* SPDX-License-Identifier: MIT */
/*
 * The queue probe: a passive declare of the request queue on the probe
 * channel tells a call at once whether a server is there (the queue exists
 * and has a consumer). It never waits: the declare is sent, and its answer
 * (declare-ok, or a channel.close with 404 when the queue does not exist)
 * is matched when the frame pump reads it. Calls to a queue whose last
 * positive answer is older than PROBE_MAX_AGE_MS are held, not published,
 * until the answer comes; while calls to a queue are in flight it is
 * checked again every PROBE_WAIT_INTERVAL_MS, so a server that goes away
 * fails them well before their timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

static int64_t clamp_budget(int64_t budget_ms)
{
  if (budget_ms < PROBE_TIMEOUT_MIN_MS)
    return PROBE_TIMEOUT_MIN_MS;
  if (budget_ms > PROBE_TIMEOUT_MAX_MS)
    return PROBE_TIMEOUT_MAX_MS;
  return budget_ms;
}

static int send_failed(rpcd_client *c, int st, const char *what)
{
  char detail[256];

  rpcd__set_err(detail, sizeof(detail), "%s: %s", what, amqp_error_string2(st));
  rpcd__connection_lost(c, detail, false);
  return RPCD_ECONNLOST;
}

int rpcd__probe_start(rpcd_client *c, uint32_t qix, int64_t budget_ms)
{
  struct queue_info *q = &c->queues[qix];
  amqp_queue_declare_t m;
  int64_t now = rpcd__now_mono_ms();
  int st;

  if (!c->conn)
    return RPCD_ECONNLOST;
  if (c->probe_qix != NO_QUEUE || c->blocked) {
    /* One at a time; and a blocked broker reads nothing we send. */
    if (c->probe_qix != qix)
      q->probe_wanted = true;
    return RPCD_OK;
  }
  q->probe_wanted = false;
  if (!c->probe_open) {
    amqp_channel_open_t open;

    /* The broker closed channel 2 after a 404: open it again. The declare
     * follows at once; the broker handles them in order. */
    memset(&open, 0, sizeof(open));
    open.out_of_band = amqp_empty_bytes;
    st = amqp_send_method(c->conn, PROBE_CHANNEL, AMQP_CHANNEL_OPEN_METHOD,
                          &open);
    if (st != AMQP_STATUS_OK)
      return send_failed(c, st, "opening channel 2");
    c->probe_open = true;
  }
  memset(&m, 0, sizeof(m));
  m.queue = amqp_cstring_bytes(q->name);
  m.passive = 1;
  m.arguments = amqp_empty_table;
  st = amqp_send_method(c->conn, PROBE_CHANNEL, AMQP_QUEUE_DECLARE_METHOD, &m);
  if (st != AMQP_STATUS_OK)
    return send_failed(c, st, "checking the queue");
  c->probe_qix = qix;
  c->probe_deadline_ms = now + clamp_budget(budget_ms);
  q->probed_ms = now;
  return RPCD_OK;
}

int rpcd__probe_start_wanted(rpcd_client *c)
{
  size_t i;

  for (i = 0; i < c->n_queues && c->probe_qix == NO_QUEUE; i++) {
    if (c->queues[i].probe_wanted) {
      int rc = rpcd__probe_start(c, (uint32_t)i, PROBE_TIMEOUT_MAX_MS);

      if (rc != RPCD_OK)
        return rc;
    }
  }
  return RPCD_OK;
}

/*
 * The probe of the queue being probed answered: RPCD_OK (a consumer is
 * there), RPCD_ENOROUTE, RPCD_ENOCONSUMER, or RPCD_EBROKER (could not
 * tell: the calls are published anyway, the mandatory flag still reports a
 * missing queue).
 */
static int probe_done(rpcd_client *c, int result, const char *detail)
{
  uint32_t qix = c->probe_qix;
  struct queue_info *q = &c->queues[qix];
  rpcd_pending *p;
  size_t pos;

  c->probe_qix = NO_QUEUE;
  q->served = result == RPCD_OK;
  if (result == RPCD_OK || result == RPCD_EBROKER)
    q->fail_at_ms = 0; /* a server is back: no grace period runs out */
  /* Held calls: failed at once with the answer (they were never
   * published), or published now. */
  for (pos = 0, p = rpcd__pending_next(&c->pending, &pos);
       p && q->n_held > 0 && c->conn;
       p = rpcd__pending_next(&c->pending, &pos)) {
    if (p->state != RPCD_PENDING_HELD || p->queue_ix != qix)
      continue;
    if (result == RPCD_ENOROUTE || result == RPCD_ENOCONSUMER)
      rpcd__call_complete(c, p, result, NULL, detail);
    else if (!c->blocked)
      rpcd__publish_held(c, p);
  }
  if (!c->conn)
    return RPCD_ECONNLOST;
  return rpcd__probe_start_wanted(c);
}

int rpcd__probe_frame(rpcd_client *c, const amqp_frame_t *f)
{
  char detail[320];
  struct queue_info *q;

  switch (f->payload.method.id) {
  case AMQP_QUEUE_DECLARE_OK_METHOD: {
    const amqp_queue_declare_ok_t *ok = f->payload.method.decoded;

    if (c->probe_qix == NO_QUEUE)
      return RPCD_OK;
    q = &c->queues[c->probe_qix];
    if (ok->consumer_count == 0) {
      rpcd__set_err(detail, sizeof(detail),
                    "queue \"%s\" has no consumer (no server is running)",
                    q->name);
      /* Published calls fail only while requests wait in the queue with
       * nobody to take them. With none waiting, ours are in a server's
       * hands: a draining rpcd cancels its consumer first and then
       * finishes the request in hand, however long it takes; their own
       * timeouts bound them. The grace gives replies already on their
       * way a moment to arrive. */
      if (q->n_published > 0 && q->fail_at_ms == 0 && ok->message_count > 0) {
        q->fail_at_ms = rpcd__now_mono_ms() + DRAIN_GRACE_MS;
        q->fail_status = RPCD_ENOCONSUMER;
        rpcd__set_err(q->fail_detail, sizeof(q->fail_detail), "%s", detail);
      }
      return probe_done(c, RPCD_ENOCONSUMER, detail);
    }
    return probe_done(c, RPCD_OK, NULL);
  }
  case AMQP_CHANNEL_CLOSE_METHOD: {
    const amqp_channel_close_t *m = f->payload.method.decoded;
    amqp_channel_close_ok_t ok;
    int st;

    c->probe_open = false;
    memset(&ok, 0, sizeof(ok));
    st = amqp_send_method(c->conn, PROBE_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD,
                          &ok);
    if (st != AMQP_STATUS_OK)
      return send_failed(c, st, "closing channel 2");
    if (c->probe_qix == NO_QUEUE)
      return RPCD_OK;
    q = &c->queues[c->probe_qix];
    if (m->reply_code == AMQP_NOT_FOUND) {
      rpcd__set_err(detail, sizeof(detail),
                    "queue \"%s\" does not exist (no server has declared it)",
                    q->name);
      if (q->n_published > 0 && q->fail_at_ms == 0) {
        q->fail_at_ms = rpcd__now_mono_ms() + DRAIN_GRACE_MS;
        q->fail_status = RPCD_ENOROUTE;
        rpcd__set_err(q->fail_detail, sizeof(q->fail_detail), "%s", detail);
      }
      return probe_done(c, RPCD_ENOROUTE, detail);
    }
    rpcd__set_err(detail, sizeof(detail),
                  "could not check queue \"%s\": the broker closed channel 2: "
                  "%.*s",
                  q->name, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    return probe_done(c, RPCD_EBROKER, detail);
  }
  default:
    return RPCD_OK; /* channel.open-ok, close-ok */
  }
}

int rpcd__probe_tick(rpcd_client *c, int64_t now)
{
  char detail[256];
  size_t i;

  if (!c->conn)
    return RPCD_ECONNLOST;
  if (c->probe_qix != NO_QUEUE && !c->blocked && now >= c->probe_deadline_ms) {
    rpcd__set_err(detail, sizeof(detail),
                  "the broker did not answer the check of queue \"%s\" in "
                  "time",
                  c->queues[c->probe_qix].name);
    rpcd__connection_lost(c, detail, false);
    return RPCD_ECONNLOST;
  }
  for (i = 0; i < c->n_queues; i++) {
    struct queue_info *q = &c->queues[i];

    if (q->fail_at_ms != 0 && now >= q->fail_at_ms) {
      q->fail_at_ms = 0;
      rpcd__fail_calls(c, (uint32_t)i, false, q->fail_status, q->fail_detail);
    }
    if (q->n_published > 0 && c->probe_qix != (uint32_t)i &&
        now - q->probed_ms >= PROBE_WAIT_INTERVAL_MS) {
      int rc = rpcd__probe_start(c, (uint32_t)i, PROBE_TIMEOUT_MAX_MS);

      if (rc != RPCD_OK)
        return rc;
    }
  }
  return RPCD_OK;
}

int64_t rpcd__probe_next_ms(const rpcd_client *c)
{
  int64_t next = INT64_MAX;
  size_t i;

  if (!c->conn)
    return next;
  if (c->probe_qix != NO_QUEUE && !c->blocked)
    next = c->probe_deadline_ms;
  for (i = 0; i < c->n_queues; i++) {
    const struct queue_info *q = &c->queues[i];

    if (q->fail_at_ms != 0 && q->fail_at_ms < next)
      next = q->fail_at_ms;
    if (q->n_published > 0 && c->probe_qix != (uint32_t)i && !q->probe_wanted &&
        q->probed_ms + PROBE_WAIT_INTERVAL_MS < next)
      next = q->probed_ms + PROBE_WAIT_INTERVAL_MS;
  }
  return next;
}
