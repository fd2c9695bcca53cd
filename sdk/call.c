/* SPDX-License-Identifier: MIT */
/*
 * The public call API: checking and publishing requests and notifications,
 * and waiting for replies.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "client_internal.h"
#include "rpcd_proto.h"

static void new_uuid(char out[RPCD_CID_LEN + 1])
{
  uuid_t u;

  uuid_generate(u);
  uuid_unparse_lower(u, out);
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
    rpcd__connection_lost(c, detail, false);
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
    rc = rpcd__probe_queue(c, qix, timeout_ms, detail, sizeof(detail));
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
    if (left < 0 || rpcd__pump(c, left) == RPCD_ECONNLOST)
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
        if (rpcd__pump(c, 0) != RPCD_OK)
          break;
      }
      rpcd__set_err(detail, sizeof(detail),
                    "timed out waiting for a reply from queue \"%s\"", q->name);
      rpcd__pending_complete(&c->pending, p, RPCD_ETIMEDOUT, NULL, detail);
      break;
    }
    if (now - q->probed_ms >= PROBE_WAIT_INTERVAL_MS) {
      rc = rpcd__probe_queue(c, p->queue_ix, p->deadline_ms - now, detail,
                             sizeof(detail));
      if (rc == RPCD_ENOROUTE || rc == RPCD_ENOCONSUMER) {
        /* A server that stops answers the request in hand before it
         * cancels its consumer, but the reply may reach us after the
         * probe's answer: give replies already on their way a moment. */
        drain(c, p, DRAIN_GRACE_MS);
        if (p->state == RPCD_PENDING_IN_FLIGHT)
          rpcd__fail_calls(c, p->queue_ix, rc, detail);
      }
      continue;
    }
    until = q->probed_ms + PROBE_WAIT_INTERVAL_MS;
    if (p->deadline_ms < until)
      until = p->deadline_ms;
    rpcd__pump(c, until - now);
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
