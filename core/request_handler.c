/* SPDX-License-Identifier: MIT */
/*
 * One message in, one reply (or none) out. The checks run in the order
 * docs/PROTOCOL.md gives, and the first failure is the answer; a malformed
 * request never reaches a handler. Every failure is answered when the
 * message has a reply_to; notifications are never answered.
 */
#include "request_handler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dispatcher.h"
#include "log.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"
#include "text_escape.h"

static const char *const msgpack_types[] = {
    "application/vnd.msgpack",
    "application/msgpack",
    "application/x-msgpack",
};

/* The media type without parameters or surrounding blanks. */
static rpcd_span media_type(rpcd_span ct)
{
  size_t n = 0;

  while (n < ct.len && ct.ptr[n] != ';')
    n++;
  while (n > 0 && (ct.ptr[n - 1] == ' ' || ct.ptr[n - 1] == '\t'))
    n--;
  ct.len = n;
  return ct;
}

static bool span_eq_ci(rpcd_span s, const char *lit)
{
  size_t n = strlen(lit);

  return s.ptr && s.len == n && strncasecmp(s.ptr, lit, n) == 0;
}

/* The msgpack content type to answer with, or NULL if `ct` is not one. */
static const char *msgpack_content_type(rpcd_span ct)
{
  size_t i;

  ct = media_type(ct);
  for (i = 0; i < sizeof(msgpack_types) / sizeof(msgpack_types[0]); i++) {
    if (span_eq_ci(ct, msgpack_types[i]))
      return msgpack_types[i];
  }
  return NULL;
}

static bool is_text_content_type(rpcd_span ct)
{
  return !ct.ptr || ct.len == 0 || span_eq_ci(media_type(ct), "text/plain");
}

static void set_method(rpcd_message_out *out, const char *m, size_t len)
{
  if (len >= sizeof(out->method))
    len = sizeof(out->method) - 1;
  memcpy(out->method, m, len);
  out->method[len] = '\0';
}

/* Big-endian unsigned integer of n bytes at p. */
static uint64_t be(const unsigned char *p, size_t n)
{
  uint64_t v = 0;

  while (n--)
    v = (v << 8) | *p++;
  return v;
}

/* A notification never gets a reply, even one rejected before its body is
 * decoded (too large, wrong content type): its first headers, an array of 3
 * whose first element is the integer 2 in any encoding, are enough to tell. */
static bool looks_like_notification(const rpcd_message_in *in)
{
  const unsigned char *b = in->body;
  size_t len = in->body_len;
  size_t off;
  size_t n;

  if (len >= 1 && b[0] == 0x93)
    off = 1;
  else if (len >= 3 && b[0] == 0xdc && be(b + 1, 2) == 3)
    off = 3;
  else if (len >= 5 && b[0] == 0xdd && be(b + 1, 4) == 3)
    off = 5;
  else
    return false;
  if (off >= len)
    return false;
  if (b[off] == RPCD_MSG_NOTIFY)
    return true;
  /* uint8..64 (0xcc..0xcf) and int8..64 (0xd0..0xd3) */
  if (b[off] < 0xcc || b[off] > 0xd3)
    return false;
  n = (size_t)1 << ((b[off] - 0xcc) & 3);
  return len - off - 1 >= n && be(b + off + 1, n) == RPCD_MSG_NOTIFY;
}

/* Answer with an error reply (when there is someone to answer). */
static void reply_error(const rpcd_message_in *in, rpcd_message_out *out,
                        bool has_msgid, uint32_t msgid, int code,
                        const char *message)
{
  out->outcome = RPCD_OUTCOME_ERROR;
  out->status = code;
  snprintf(out->error, sizeof(out->error), "%s", message ? message : "");
  if (!out->content_type)
    out->content_type = RPCD_CONTENT_TYPE;
  if (!in->has_reply_to)
    return;
  msgpack_sbuffer_clear(&out->body);
  out->body_off = 0;
  if (rpcd__reply_encode_error(&out->body, has_msgid, msgid, code, message) ==
      RPCD_OK)
    out->send_reply = true;
}

/* Refuse a message before its body is decoded. A notification is told by
 * its first bytes and stays unanswered; once a body is decoded, only a
 * well-formed notification is silent (see rpcd__handle_message). */
static void reject_unread(const rpcd_message_in *in, rpcd_message_out *out,
                          int code, const char *message)
{
  bool reply_to = in->has_reply_to && !looks_like_notification(in);
  rpcd_message_in quiet;

  if (reply_to) {
    reply_error(in, out, false, 0, code, message);
    return;
  }
  quiet = *in;
  quiet.has_reply_to = false;
  reply_error(&quiet, out, false, 0, code, message);
}

/* The header checks that come before decoding: content type and x-rpc-v. */
static bool check_envelope(const rpcd_handler_config *cfg,
                           const rpcd_message_in *in, rpcd_message_out *out)
{
  bool is_msgpack = out->content_type != NULL;
  char msg[320];

  if (in->body_len > cfg->max_body) {
    snprintf(msg, sizeof(msg),
             "request body of %zu bytes exceeds the limit of %zu bytes",
             in->body_len, cfg->max_body);
    reject_unread(in, out, RPCD_ERR_PAYLOAD_TOO_LARGE, msg);
    return false;
  }
  if (!is_msgpack) {
    char ct[200];

    snprintf(msg, sizeof(msg),
             "unsupported content type \"%s\": send "
             "application/vnd.msgpack%s",
             rpcd__escape(ct, sizeof(ct), in->content_type.ptr,
                          in->content_type.len),
             is_text_content_type(in->content_type)
                 ? " (the server runs without --text-method)"
                 : "");
    reject_unread(in, out, RPCD_ERR_UNSUPPORTED, msg);
    return false;
  }
  if (in->has_version && (!in->version_valid || in->version != 1)) {
    if (in->version_valid)
      snprintf(msg, sizeof(msg),
               "unsupported protocol version %lld in x-rpc-v: this server "
               "speaks version 1%s",
               (long long)in->version,
               in->version < 0 ? " (RabbitMQ carries an unsigned 64-bit "
                                 "field as signed: a value above 2^63-1 "
                                 "arrives negative)"
                               : "");
    else
      snprintf(msg, sizeof(msg), "x-rpc-v must be an integer");
    reject_unread(in, out, RPCD_ERR_UNSUPPORTED, msg);
    return false;
  }
  return true;
}

/* Everything but the body's buffer, which is kept. */
static void reset_out(rpcd_message_out *out)
{
  out->outcome = RPCD_OUTCOME_OK;
  out->send_reply = false;
  msgpack_sbuffer_clear(&out->body);
  out->body_off = 0;
  out->content_type = NULL;
  out->status = 0;
  out->method[0] = '\0';
  out->error[0] = '\0';
}

/*
 * Run the method with its result written straight into the reply body,
 * after room for the reply's head, which is filled in afterwards: the
 * result is not copied. An error leaves the body for reply_error.
 */
static void dispatch_to_reply(const rpcd_handler_config *cfg,
                              const rpcd_message_in *in,
                              const rpcd_request *req, rpcd_message_out *out,
                              rpcd_dispatch_result *res)
{
  rpcd_caller caller = {cfg->acl, in->user.ptr, in->user.len, cfg->gate};
  static const char room[RPCD_REPLY_HEAD_MAX];
  unsigned char head[RPCD_REPLY_HEAD_MAX];
  size_t head_len;

  if (msgpack_sbuffer_write(&out->body, room, sizeof(room)) != 0) {
    memset(res, 0, sizeof(*res));
    res->error_code = RPCD_ERR_INTERNAL;
    res->error_message = strdup("out of memory");
    return;
  }
  rpcd__dispatch_into(cfg->registry, &caller, req->method, req->method_len,
                      req->params, in->correlation_id.ptr,
                      in->correlation_id.len, in->stop_at_ms, cfg->max_body,
                      &out->body, res);
  if (res->error_code != 0)
    return;
  head_len = rpcd__reply_result_head(head, req->has_msgid, req->msgid);
  out->body_off = sizeof(room) - head_len;
  memcpy(out->body.data + out->body_off, head, head_len);
}

void rpcd__handle_message(const rpcd_handler_config *cfg,
                          const rpcd_message_in *in, rpcd_message_out *out)
{
  rpcd_dispatch_result res;
  rpcd_request req;
  char msg[320];
  int code;

  reset_out(out);

  /* The caller stopped waiting: running it would be wasted work, and the
   * reply would go to nobody. */
  if (in->has_deadline && in->now_ms > in->deadline_ms) {
    out->outcome = RPCD_OUTCOME_EXPIRED;
    return;
  }
  out->content_type = msgpack_content_type(in->content_type);
  if (!out->content_type && cfg->text_method &&
      is_text_content_type(in->content_type)) {
    rpcd__handle_text(cfg, in, out);
    return;
  }
  if (!check_envelope(cfg, in, out))
    return;

  code = rpcd__request_decode(in->body, in->body_len, cfg->max_body, &req, msg,
                              sizeof(msg));
  if (code == 0 && in->bad_deadline_type) {
    snprintf(msg, sizeof(msg),
             "header x-rpc-deadline must be an integer (unix time in "
             "milliseconds) or an AMQP timestamp (unix time in seconds), "
             "not %s",
             in->bad_deadline_type);
    code = RPCD_ERR_INVALID_REQUEST;
  }
  if (code == 0 && in->has_header_method &&
      (!in->header_method_valid || in->header_method.len != req.method_len ||
       memcmp(in->header_method.ptr, req.method, req.method_len) != 0)) {
    snprintf(msg, sizeof(msg),
             "header x-rpc-method does not match the body's method \"%.*s\"",
             (int)req.method_len, req.method);
    code = RPCD_ERR_INVALID_REQUEST;
  }
  if (code != 0) {
    /* Only a well-formed notification is silent: a body that claims to be
     * one but cannot be read is answered, or its caller waits in vain. */
    reply_error(in, out, req.has_msgid, req.msgid, code, msg);
    rpcd__request_destroy(&req);
    return;
  }
  set_method(out, req.method, req.method_len);

  if (in->poison) {
    snprintf(msg, sizeof(msg),
             "request delivered %lld times before (its handler kept killing "
             "servers): not run again",
             (long long)in->delivery_count);
    if (req.type == RPCD_MSG_NOTIFY) {
      out->status = RPCD_ERR_POISON;
      snprintf(out->error, sizeof(out->error), "%s", msg);
    } else {
      reply_error(in, out, true, req.msgid, RPCD_ERR_POISON, msg);
    }
    out->outcome = RPCD_OUTCOME_POISON;
    rpcd__request_destroy(&req);
    return;
  }
  if (cfg->before_dispatch &&
      rpcd__registry_lookup(cfg->registry, req.method, req.method_len))
    cfg->before_dispatch(cfg->ctx, req.method, req.method_len, req.has_msgid,
                         req.msgid, out->content_type);
  dispatch_to_reply(cfg, in, &req, out, &res);
  if (req.type == RPCD_MSG_NOTIFY) {
    out->outcome = res.error_code ? RPCD_OUTCOME_ERROR : RPCD_OUTCOME_NOTIFIED;
    out->status = res.error_code;
    if (res.error_code)
      snprintf(out->error, sizeof(out->error), "%s",
               res.error_message ? res.error_message : "");
  } else if (res.error_code != 0) {
    reply_error(in, out, true, req.msgid, res.error_code, res.error_message);
  } else {
    out->outcome = RPCD_OUTCOME_OK;
    out->send_reply = in->has_reply_to;
  }
  if (!out->send_reply) {
    /* Nobody to answer: the body stays empty. */
    msgpack_sbuffer_clear(&out->body);
    out->body_off = 0;
  }
  rpcd__dispatch_result_destroy(&res);
  rpcd__request_destroy(&req);
}

int64_t rpcd__handler_stop_at(const rpcd_handler_config *cfg,
                              const rpcd_message_in *in)
{
  int64_t now = rpcd__now_mono_ms();
  int64_t stop = 0;

  if (in->has_deadline) {
    int64_t left = in->deadline_ms - rpcd__now_unix_ms();

    /* A deadline beyond any clock (INT64_MAX) must not overflow. */
    stop = left > INT64_MAX / 2 ? 0 : now + (left > 0 ? left : 0);
  }
  if (cfg->handler_timeout_ms &&
      (stop == 0 || now + cfg->handler_timeout_ms < stop))
    stop = now + cfg->handler_timeout_ms;
  return stop;
}

void rpcd__message_out_destroy(rpcd_message_out *out)
{
  if (!out)
    return;
  msgpack_sbuffer_destroy(&out->body);
  memset(out, 0, sizeof(*out));
}
