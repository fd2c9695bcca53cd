/* SPDX-License-Identifier: MIT */
/*
 * Plain-text mode (--text-method NAME), for callers written after the
 * classic RabbitMQ RPC tutorial: the body "30" calls NAME(30) and the reply
 * body is "832040" as text/plain. Errors reply "error <code>: <message>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "mp_json.h"
#include "request_handler.h"
#include "rpcd_proto.h"

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

/* An optional '-' and decimal digits that fit in int64. */
static bool parse_int64(const char *s, size_t len, int64_t *out)
{
  char buf[32];
  char *end;
  size_t i = 0;
  long long v;

  if (len == 0 || len >= sizeof(buf))
    return false;
  if (s[0] == '-')
    i = 1;
  if (i == len)
    return false;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  v = strtoll(buf, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return false;
  *out = v;
  return true;
}

static void text_reply(rpcd_message_out *out, const rpcd_message_in *in,
                       int code, const char *message)
{
  char line[400];
  int n;

  out->content_type = RPCD_CONTENT_TYPE_TEXT;
  out->status = code;
  out->outcome = code ? RPCD_OUTCOME_ERROR : RPCD_OUTCOME_OK;
  if (code) {
    snprintf(out->error, sizeof(out->error), "%s", message);
    msgpack_sbuffer_clear(&out->body);
    n = snprintf(line, sizeof(line), "error %d: %s", code, message);
    if (n < 0)
      return;
    if ((size_t)n >= sizeof(line))
      n = (int)sizeof(line) - 1;
    if (msgpack_sbuffer_write(&out->body, line, (size_t)n) != 0)
      return;
  }
  out->send_reply = in->has_reply_to;
}

/* The result as text: integers in decimal, strings as they are, anything
 * else as JSON. */
static int format_result(const void *data, size_t len, msgpack_sbuffer *out)
{
  rpcd_mp_doc doc;
  int rc;

  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, NULL, 0);
  if (rc != RPCD_OK)
    return rc;
  if (doc.root.type == MSGPACK_OBJECT_STR)
    rc = msgpack_sbuffer_write(out, doc.root.via.str.ptr,
                               doc.root.via.str.size) == 0
             ? RPCD_OK
             : RPCD_ENOMEM;
  else {
    rpcd_json_buf json;

    rpcd__json_buf_init(&json);
    rc = rpcd__json_dump(&json, &doc.root, 0);
    if (rc == RPCD_OK && msgpack_sbuffer_write(out, json.data, json.len) != 0)
      rc = RPCD_ENOMEM;
    rpcd__json_buf_destroy(&json);
  }
  rpcd__mp_doc_destroy(&doc);
  return rc;
}

void rpcd__handle_text(const rpcd_handler_config *cfg,
                       const rpcd_message_in *in, rpcd_message_out *out)
{
  rpcd_caller caller = {cfg->acl, in->user.ptr, in->user.len, cfg->gate};
  const char *s = in->body;
  size_t len = in->body_len;
  msgpack_sbuffer params;
  msgpack_packer pk;
  rpcd_mp_doc doc;
  rpcd_dispatch_result res;
  int64_t n;
  char msg[320];
  int rc;

  snprintf(out->method, sizeof(out->method), "%s", cfg->text_method);
  if (len > cfg->max_body) {
    snprintf(msg, sizeof(msg),
             "request body of %zu bytes exceeds the limit of %zu bytes", len,
             cfg->max_body);
    text_reply(out, in, RPCD_ERR_PAYLOAD_TOO_LARGE, msg);
    return;
  }
  if (in->has_version && (!in->version_valid || in->version != 1)) {
    text_reply(out, in, RPCD_ERR_UNSUPPORTED,
               "unsupported protocol version in x-rpc-v: this server speaks "
               "version 1");
    return;
  }
  while (len > 0 && is_space(s[0])) {
    s++;
    len--;
  }
  while (len > 0 && is_space(s[len - 1]))
    len--;

  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  rc = msgpack_pack_array(&pk, 1);
  if (parse_int64(s, len, &n))
    rc |= msgpack_pack_int64(&pk, n);
  else
    rc |= msgpack_pack_str_with_body(&pk, s, len);
  if (rc != 0 || rpcd__mp_decode(params.data, params.size, RPCD_MAX_DEPTH, &doc,
                                 NULL, 0) != RPCD_OK) {
    msgpack_sbuffer_destroy(&params);
    text_reply(out, in, RPCD_ERR_INTERNAL, "out of memory");
    return;
  }

  if (cfg->before_dispatch)
    cfg->before_dispatch(cfg->ctx, cfg->text_method, strlen(cfg->text_method),
                         false, 0, RPCD_CONTENT_TYPE_TEXT);
  rpcd__dispatch(cfg->registry, &caller, cfg->text_method,
                 strlen(cfg->text_method), &doc.root, in->correlation_id.ptr,
                 in->correlation_id.len, in->stop_at_ms, cfg->max_body, &res);
  if (res.error_code) {
    text_reply(out, in, res.error_code,
               res.error_message ? res.error_message : "");
  } else if (format_result(res.result.data, res.result.size, &out->body) !=
             RPCD_OK) {
    text_reply(out, in, RPCD_ERR_INTERNAL, "could not format the result");
  } else {
    text_reply(out, in, 0, "");
  }
  rpcd__dispatch_result_destroy(&res);
  rpcd__mp_doc_destroy(&doc);
  msgpack_sbuffer_destroy(&params);
}
