/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the request handler (core/request_handler.c, text_mode.c):
 * one message in, the reply (or none) out, without AMQP. They follow
 * docs/PROTOCOL.md's order of checks (size, content type and x-rpc-v,
 * msgpack limits, request shape and headers, method, params), content type
 * negotiation, replies only when there is a reply_to and never for
 * notifications, deadlines, and the plain-text mode. Replies are read back
 * with the codec the SDK uses (rpcd__reply_decode).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "request_handler.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

#include "core_fixture.h"

static int setup(void **state)
{
  (void)state;
  return core_fixture_setup(RPCD_LOG_ERROR);
}

/* ------------------------------------------------------------------------ */
/* Building messages                                                         */

#define P(lit) (lit), sizeof(lit) - 1

static rpcd_handler_config config(size_t max_body, const char *text_method)
{
  rpcd_handler_config cfg;

  memset(&cfg, 0, sizeof(cfg));
  cfg.registry = &reg;
  cfg.max_body = max_body;
  cfg.text_method = text_method;
  return cfg;
}

static rpcd_handler_config default_config(void)
{
  return config(RPCD_DEFAULT_MAX_BODY, NULL);
}

static rpcd_span span(const char *s)
{
  rpcd_span sp;

  sp.ptr = s;
  sp.len = s ? strlen(s) : 0;
  return sp;
}

/* A message with a reply_to, the standard content type, no headers. */
static rpcd_message_in message(const void *body, size_t len)
{
  rpcd_message_in in;

  memset(&in, 0, sizeof(in));
  in.body = body;
  in.body_len = len;
  in.content_type = span(RPCD_CONTENT_TYPE);
  in.correlation_id = span("cid-1");
  in.has_reply_to = true;
  in.now_ms = 1700000000000;
  return in;
}

/* An encoded request body (a malloc'd sbuffer the test destroys). */
typedef struct body {
  msgpack_sbuffer buf;
} body;

static void request(body *b, bool notify, uint32_t msgid, const char *method,
                    const char *params, size_t params_len)
{
  msgpack_sbuffer_init(&b->buf);
  assert_int_equal(rpcd__request_encode(&b->buf, notify, msgid, method,
                                        strlen(method), params, params_len),
                   RPCD_OK);
}

static void body_done(body *b)
{
  msgpack_sbuffer_destroy(&b->buf);
}

/* ------------------------------------------------------------------------ */
/* Reading replies                                                           */

typedef struct reply {
  rpcd_reply_view v;
} reply;

static void decode_reply(const rpcd_message_out *out, reply *r)
{
  char err[256];

  assert_true(out->send_reply);
  assert_non_null(out->content_type);
  if (rpcd__reply_decode(out->body.data + out->body_off,
                         out->body.size - out->body_off, &r->v, err,
                         sizeof(err)) != RPCD_OK)
    fail_msg("reply does not decode: %s", err);
}

static void reply_done(reply *r)
{
  rpcd__reply_view_destroy(&r->v);
}

static void assert_contains_n(const char *text, size_t len, const char *want)
{
  size_t n = strlen(want);
  size_t i;

  for (i = 0; i + n <= len; i++) {
    if (memcmp(text + i, want, n) == 0)
      return;
  }
  fail_msg("\"%.*s\" does not contain \"%s\"", (int)len, text ? text : "",
           want);
}

static void assert_contains(const char *text, const char *want)
{
  assert_non_null(text);
  assert_contains_n(text, strlen(text), want);
}

/* Handle `in` and expect an error reply: status, outcome, the msgpack
 * reply with `code`, msgid (has_msgid/msgid), and `want` in the message. */
static void expect_error_reply(const rpcd_handler_config *cfg,
                               const rpcd_message_in *in, int code,
                               bool has_msgid, uint32_t msgid, const char *want)
{
  rpcd_message_out out = {0};
  reply r;

  rpcd__handle_message(cfg, in, &out);
  if (out.status != code)
    fail_msg("status %d (%s), expected %d", out.status, out.error, code);
  assert_int_equal(out.outcome, RPCD_OUTCOME_ERROR);
  assert_true(out.send_reply);
  decode_reply(&out, &r);
  assert_int_equal(r.v.error_code, code);
  assert_int_equal(r.v.has_msgid, has_msgid);
  if (has_msgid)
    assert_int_equal(r.v.msgid, msgid);
  assert_int_equal(r.v.result->type, MSGPACK_OBJECT_NIL);
  if (want) {
    assert_contains_n(r.v.message, r.v.message_len, want);
    assert_contains(out.error, want);
  }
  reply_done(&r);
  rpcd__message_out_destroy(&out);
}

/* Same for a body given as bytes. */
static void expect_error_bytes(const void *bytes, size_t len, int code,
                               bool has_msgid, uint32_t msgid, const char *want)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in = message(bytes, len);

  expect_error_reply(&cfg, &in, code, has_msgid, msgid, want);
}

/* ------------------------------------------------------------------------ */
/* Success                                                                   */

static void test_success(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_out out = {0};
  rpcd_message_in in;
  body b;
  reply r;

  (void)state;
  request(&b, false, 42, "fib", P("\x91\x1e"));
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  assert_int_equal(out.status, 0);
  assert_true(out.send_reply);
  assert_string_equal(out.content_type, "application/vnd.msgpack");
  assert_string_equal(out.method, "fib");
  assert_string_equal(out.error, "");
  decode_reply(&out, &r);
  assert_true(r.v.has_msgid);
  assert_int_equal(r.v.msgid, 42);
  assert_int_equal(r.v.error_code, 0);
  assert_int_equal(r.v.result->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(r.v.result->via.u64, 832040);
  reply_done(&r);
  rpcd__message_out_destroy(&out);
  body_done(&b);

  /* msgid 0 and UINT32_MAX are echoed too; so are named params. */
  request(&b, false, 0, "fib", P("\x81\xa1n\x0a"));
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  decode_reply(&out, &r);
  assert_true(r.v.has_msgid);
  assert_int_equal(r.v.msgid, 0);
  assert_int_equal(r.v.result->via.u64, 55);
  reply_done(&r);
  rpcd__message_out_destroy(&out);
  body_done(&b);

  request(&b, false, UINT32_MAX, "rpc.ping", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  decode_reply(&out, &r);
  assert_int_equal(r.v.msgid, UINT32_MAX);
  assert_true(rpcd__mp_str_eq(r.v.result, "pong"));
  reply_done(&r);
  rpcd__message_out_destroy(&out);
  body_done(&b);
}

/* A result goes into the reply byte for byte. */
static void test_result_passthrough(void **state)
{
  static const char params[] = "\x93\x01\xa3two\x81\xa1k\xc3";
  rpcd_handler_config cfg = default_config();
  rpcd_message_out out = {0};
  rpcd_message_in in;
  msgpack_sbuffer expected;
  body b;

  (void)state;
  request(&b, false, 7, "echo", P(params));
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  msgpack_sbuffer_init(&expected);
  assert_int_equal(rpcd__reply_encode_result(&expected, true, 7, P(params)),
                   RPCD_OK);
  /* The same bytes as the reply encoder's, written in place. */
  assert_int_equal(out.body.size - out.body_off, expected.size);
  assert_memory_equal(out.body.data + out.body_off, expected.data,
                      expected.size);
  msgpack_sbuffer_destroy(&expected);
  rpcd__message_out_destroy(&out);
  body_done(&b);

  /* A handler that writes nothing answers nil. */
  request(&b, false, 8, "nothing", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  {
    reply r;

    decode_reply(&out, &r);
    assert_int_equal(r.v.error_code, 0);
    assert_int_equal(r.v.result->type, MSGPACK_OBJECT_NIL);
    reply_done(&r);
  }
  rpcd__message_out_destroy(&out);
  body_done(&b);
}

/* ------------------------------------------------------------------------ */
/* The order of checks                                                       */

/* 1. Size comes first, whatever else is wrong with the message. */
static void test_size_first(void **state)
{
  rpcd_handler_config cfg = config(100, NULL);
  char big[101];
  rpcd_message_in in;
  rpcd_message_out out = {0};

  (void)state;
  memset(big, 'h', sizeof(big));
  in = message(big, sizeof(big));
  expect_error_reply(&cfg, &in, RPCD_ERR_PAYLOAD_TOO_LARGE, false, 0,
                     "101 bytes");
  /* ...also with an unsupported content type */
  in.content_type = span("application/json");
  expect_error_reply(&cfg, &in, RPCD_ERR_PAYLOAD_TOO_LARGE, false, 0,
                     "limit of 100 bytes");
  /* ...and an unsupported version */
  in = message(big, sizeof(big));
  in.has_version = true;
  in.version_valid = true;
  in.version = 2;
  expect_error_reply(&cfg, &in, RPCD_ERR_PAYLOAD_TOO_LARGE, false, 0, NULL);

  /* Exactly max_body bytes is not too large: this one fails later, as
   * msgpack with trailing bytes. */
  in = message(big, 100);
  expect_error_reply(&cfg, &in, RPCD_ERR_PARSE, false, 0, NULL);

  /* The answer to an oversized request is msgpack even for JSON. */
  in = message(big, sizeof(big));
  in.content_type = span("application/json");
  rpcd__handle_message(&cfg, &in, &out);
  assert_string_equal(out.content_type, "application/vnd.msgpack");
  rpcd__message_out_destroy(&out);
}

/* 2. Content type and x-rpc-v come before decoding. */
static void test_unsupported(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in;
  rpcd_message_out out = {0};
  body b;

  (void)state;
  request(&b, false, 9, "fib", P("\x91\x01"));
  in = message(b.buf.data, b.buf.size);
  in.content_type = span("application/json");
  /* No msgid: the body is not read at all. */
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "\"application/json\"");
  in.content_type = span("application/vnd.msgpack-x");
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);
  in.content_type = span("application/msgpackx");
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);
  in.content_type = span("msgpack");
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);
  /* Text without --text-method: unsupported, answered in msgpack. */
  in.content_type = span("text/plain");
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "--text-method");
  in.content_type = span(NULL);
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "--text-method");
  rpcd__handle_message(&cfg, &in, &out);
  assert_string_equal(out.content_type, "application/vnd.msgpack");
  rpcd__message_out_destroy(&out);

  /* A NUL does not cut the type short in the message: all of it is shown,
   * escaped. */
  in.content_type.ptr = "application/msgpack\0junk";
  in.content_type.len = 24;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "\"application/msgpack\\x00junk\"");

  /* Before parsing: an unsupported type with a body that is not msgpack. */
  in = message(P("hello"));
  in.content_type = span("application/json");
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);

  /* x-rpc-v */
  in = message(b.buf.data, b.buf.size);
  in.has_version = true;
  in.version_valid = true;
  in.version = 2;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, "version 2");
  in.version = 0;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);
  in.version = -1;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);
  in.version_valid = false;
  in.version = 1;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "x-rpc-v must be an integer");
  /* A negative version says how a uint64 can become one. */
  in.version_valid = true;
  in.version = -1;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0,
                     "above 2^63-1 arrives negative");
  /* ...before parsing too */
  in = message(P("hello"));
  in.has_version = true;
  in.version_valid = true;
  in.version = 2;
  expect_error_reply(&cfg, &in, RPCD_ERR_UNSUPPORTED, false, 0, NULL);

  /* x-rpc-v 1 is fine. */
  in = message(b.buf.data, b.buf.size);
  in.has_version = true;
  in.version_valid = true;
  in.version = 1;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  assert_int_equal(out.status, 0);
  rpcd__message_out_destroy(&out);
  body_done(&b);
}

/* 3. msgpack that cannot be decoded within the limits. */
static void test_parse_errors(void **state)
{
  unsigned char deep[70];
  size_t i;

  (void)state;
  expect_error_bytes(P("hello"), RPCD_ERR_PARSE, false, 0, "trailing");
  /* array32 claiming 4 billion elements, in 5 bytes */
  expect_error_bytes(P("\xdd\xff\xff\xff\xff"), RPCD_ERR_PARSE, false, 0,
                     "exceeds");
  /* map32 the same */
  expect_error_bytes(P("\xdf\xff\xff\xff\xff"), RPCD_ERR_PARSE, false, 0,
                     "exceeds");
  /* str32 longer than the body */
  expect_error_bytes(P("\xdb\x7f\xff\xff\xff"), RPCD_ERR_PARSE, false, 0, NULL);
  expect_error_bytes(P("\xc1"), RPCD_ERR_PARSE, false, 0, "0xc1");
  expect_error_bytes("", 0, RPCD_ERR_PARSE, false, 0, "empty");
  /* requests cut short: [0, 1, "fib", [ and [0, 1, "fib", [uint16 with
   * one of its two bytes */
  expect_error_bytes(P("\x94\x00\x01\xa3"
                       "fib\x91"),
                     RPCD_ERR_PARSE, false, 0, "exceeds");
  expect_error_bytes(P("\x94\x00\x01\xa3"
                       "fib\x91\xcd\x01"),
                     RPCD_ERR_PARSE, false, 0, "truncated");
  /* a whole request followed by another byte */
  expect_error_bytes(P("\x94\x00\x01\xa3"
                       "fib\x91\x01\x01"),
                     RPCD_ERR_PARSE, false, 0, "trailing");

  /* 65 nested arrays: one too deep */
  for (i = 0; i < 65; i++)
    deep[i] = 0x91;
  deep[65] = 0x00;
  expect_error_bytes(deep, 66, RPCD_ERR_PARSE, false, 0, "nesting");
  /* 64 is within the limit: it decodes, and is then not a request */
  expect_error_bytes(deep + 1, 65, RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  /* A request whose params nest 65 deep: parse error, and no msgid. */
  {
    unsigned char req[100];
    size_t n = 0;

    req[n++] = 0x94;
    req[n++] = 0x00;
    req[n++] = 0x05;
    req[n++] = 0xa4;
    memcpy(req + n, "echo", 4);
    n += 4;
    for (i = 0; i < 64; i++)
      req[n++] = 0x91;
    req[n++] = 0x00;
    expect_error_bytes(req, n, RPCD_ERR_PARSE, false, 0, "nesting");
    /* one level less (params at depth 2..64) is a valid request */
    {
      rpcd_handler_config cfg = default_config();
      rpcd_message_in in = message(req, n);
      rpcd_message_out out = {0};
      reply r;

      memmove(req + 8, req + 9, n - 9);
      in.body_len = n - 1;
      rpcd__handle_message(&cfg, &in, &out);
      assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
      decode_reply(&out, &r);
      assert_int_equal(r.v.msgid, 5);
      assert_int_equal(r.v.error_code, 0);
      reply_done(&r);
      rpcd__message_out_destroy(&out);
    }
  }
}

/* 4. Not a request, or a header that contradicts the body. */
static void test_invalid_request(void **state)
{
  (void)state;
  /* a map, a scalar, an empty array, [5] */
  expect_error_bytes(P("\x81\xa1k\x01"), RPCD_ERR_INVALID_REQUEST, false, 0,
                     "array");
  expect_error_bytes(P("\x05"), RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  expect_error_bytes(P("\x90"), RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  expect_error_bytes(P("\x91\x05"), RPCD_ERR_INVALID_REQUEST, false, 0, "type");
  /* a reply is not a request: [1, 1, nil, nil] */
  expect_error_bytes(P("\x94\x01\x01\xc0\xc0"), RPCD_ERR_INVALID_REQUEST, false,
                     0, NULL);
  /* [0, 1, "fib"]: too short, but the msgid can be echoed */
  expect_error_bytes(P("\x93\x00\x01\xa3"
                       "fib"),
                     RPCD_ERR_INVALID_REQUEST, true, 1, "4 elements");
  /* [0, 1, "fib", [1], 5]: too long */
  expect_error_bytes(P("\x95\x00\x01\xa3"
                       "fib\x91\x01\x05"),
                     RPCD_ERR_INVALID_REQUEST, true, 1, NULL);
  /* [0, "x", "fib", []]: msgid not an integer */
  expect_error_bytes(P("\x94\x00\xa1x\xa3"
                       "fib\x90"),
                     RPCD_ERR_INVALID_REQUEST, false, 0, "msgid");
  /* [0, 2^32, "fib", []]: msgid out of range */
  expect_error_bytes(P("\x94\x00\xcf\0\0\0\x01\0\0\0\0\xa3"
                       "fib\x90"),
                     RPCD_ERR_INVALID_REQUEST, false, 0, "msgid");
  /* [0, -1, "fib", []] */
  expect_error_bytes(P("\x94\x00\xff\xa3"
                       "fib\x90"),
                     RPCD_ERR_INVALID_REQUEST, false, 0, "msgid");
  /* [0, 3, 5, []]: method not a string */
  expect_error_bytes(P("\x94\x00\x03\x05\x90"), RPCD_ERR_INVALID_REQUEST, true,
                     3, "method");
  /* [0, 3, bin "fib", []] */
  expect_error_bytes(P("\x94\x00\x03\xc4\x03"
                       "fib\x90"),
                     RPCD_ERR_INVALID_REQUEST, true, 3, "method");
  /* [0, 4, "has space", []] and [0, 4, "", []] */
  expect_error_bytes(P("\x94\x00\x04\xa9has space\x90"),
                     RPCD_ERR_INVALID_REQUEST, true, 4, "method name");
  expect_error_bytes(P("\x94\x00\x04\xa0\x90"), RPCD_ERR_INVALID_REQUEST, true,
                     4, "method name");
  /* [0, 5, "fib", 30]: params neither array nor map */
  expect_error_bytes(P("\x94\x00\x05\xa3"
                       "fib\x1e"),
                     RPCD_ERR_INVALID_REQUEST, true, 5, "params");
  /* [0, 5, "fib", nil] */
  expect_error_bytes(P("\x94\x00\x05\xa3"
                       "fib\xc0"),
                     RPCD_ERR_INVALID_REQUEST, true, 5, "params");
}

static void test_header_method(void **state)
{
  rpcd_handler_config cfg = default_config();
  const char header[] = "fibonacci";
  rpcd_message_in in;
  rpcd_message_out out = {0};
  body b;

  (void)state;
  request(&b, false, 11, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.has_header_method = true;
  in.header_method_valid = true;
  in.header_method = span("rpc.ping");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 11,
                     "x-rpc-method");
  /* A prefix or an extension of the body's method is a mismatch too. */
  in.header_method = span("fi");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 11, NULL);
  in.header_method = span("fibb");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 11, NULL);
  in.header_method = span("");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 11, NULL);
  /* Present but not a string. */
  in.header_method = span(NULL);
  in.header_method_valid = false;
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 11,
                     "x-rpc-method");

  /* Matching (and not NUL-terminated): the call runs. */
  in.header_method_valid = true;
  in.header_method.ptr = header;
  in.header_method.len = 3;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  rpcd__message_out_destroy(&out);
  body_done(&b);

  /* The header is checked after the body: a broken body is a parse error
   * even with a mismatching header. */
  in = message(P("hello"));
  in.has_header_method = true;
  in.header_method_valid = true;
  in.header_method = span("other");
  expect_error_reply(&cfg, &in, RPCD_ERR_PARSE, false, 0, NULL);
  /* ...and an unknown method named by both is "method not found". */
  request(&b, false, 12, "nope", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  in.has_header_method = true;
  in.header_method_valid = true;
  in.header_method = span("nope");
  expect_error_reply(&cfg, &in, RPCD_ERR_METHOD_NOT_FOUND, true, 12, NULL);
  body_done(&b);
}

/* 5. and 6. Unknown methods, rejected params, the handler's own errors. */
static void test_method_and_params_errors(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in;
  rpcd_message_out out = {0};
  body b;

  (void)state;
  request(&b, false, 77, "no.such-method", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_METHOD_NOT_FOUND, true, 77,
                     "\"no.such-method\"");
  rpcd__handle_message(&cfg, &in, &out);
  assert_string_equal(out.method, "no.such-method");
  rpcd__message_out_destroy(&out);
  body_done(&b);

  request(&b, false, 78, "fib", P("\x91\xff"));
  in = message(b.buf.data, b.buf.size);
  /* Checked by the host against fib's descriptor, before fib runs. */
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_PARAMS, true, 78,
                     "param n: expected uint in 0..93, got int");
  body_done(&b);
  request(&b, false, 79, "fib", P("\x91\xa1x"));
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_PARAMS, true, 79,
                     "param n: expected uint in 0..93, got str");
  body_done(&b);
  request(&b, false, 80, "fib", P("\x92\x01\x02"));
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_PARAMS, true, 80, NULL);
  body_done(&b);

  /* Application error and internal error from ok.so. */
  request(&b, false, 81, "fail", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, 7, true, 81, "the work failed");
  body_done(&b);
  request(&b, false, 82, "internal", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_INTERNAL, true, 82, NULL);
  body_done(&b);
  request(&b, false, 83, "bad_result", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_INTERNAL, true, 83, NULL);
  body_done(&b);

  /* A result over max_body is "payload too large". */
  cfg = config(1000, NULL);
  request(&b, false, 84, "big", P("\x91\xcd\x07\xd0"));
  in = message(b.buf.data, b.buf.size);
  expect_error_reply(&cfg, &in, RPCD_ERR_PAYLOAD_TOO_LARGE, true, 84,
                     "limit of 1000 bytes");
  body_done(&b);
}

/* ------------------------------------------------------------------------ */
/* Content types                                                             */

static void expect_content_type(const char *ct, size_t ct_len,
                                const char *method, const char *want,
                                int status)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in;
  rpcd_message_out out = {0};
  body b;
  reply r;

  request(&b, false, 1, method, P("\x91\x05"));
  in = message(b.buf.data, b.buf.size);
  in.content_type.ptr = ct;
  in.content_type.len = ct_len;
  rpcd__handle_message(&cfg, &in, &out);
  if (out.status != status)
    fail_msg("content type %.*s: status %d (%s)", (int)ct_len, ct, out.status,
             out.error);
  assert_non_null(out.content_type);
  assert_string_equal(out.content_type, want);
  decode_reply(&out, &r);
  assert_int_equal(r.v.error_code, status);
  reply_done(&r);
  rpcd__message_out_destroy(&out);
  body_done(&b);
}

static void test_content_types(void **state)
{
  (void)state;
  /* The reply has the request's type (the canonical spelling). */
  expect_content_type(P("application/vnd.msgpack"), "fib",
                      "application/vnd.msgpack", 0);
  expect_content_type(P("application/msgpack"), "fib", "application/msgpack",
                      0);
  expect_content_type(P("application/x-msgpack"), "fib",
                      "application/x-msgpack", 0);
  /* Case and parameters do not matter. */
  expect_content_type(P("Application/MsgPack"), "fib", "application/msgpack",
                      0);
  expect_content_type(P("application/msgpack; charset=x"), "fib",
                      "application/msgpack", 0);
  expect_content_type(P("APPLICATION/X-MSGPACK ;q=1"), "fib",
                      "application/x-msgpack", 0);
  expect_content_type(P("application/vnd.msgpack;"), "fib",
                      "application/vnd.msgpack", 0);
  /* The span need not be NUL-terminated. */
  expect_content_type("application/msgpackXYZ", 19, "fib",
                      "application/msgpack", 0);
  /* Error replies too. */
  expect_content_type(P("application/x-msgpack"), "nope",
                      "application/x-msgpack", RPCD_ERR_METHOD_NOT_FOUND);
  expect_content_type(P("application/msgpack"), "fib", "application/msgpack",
                      0);
}

/* ------------------------------------------------------------------------ */
/* Who gets a reply                                                          */

static void expect_no_reply(const rpcd_message_in *in, rpcd_outcome outcome,
                            int status)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_out out = {0};

  rpcd__handle_message(&cfg, in, &out);
  if (out.outcome != outcome || out.status != status)
    fail_msg("outcome %d status %d (%s), expected %d %d", out.outcome,
             out.status, out.error, outcome, status);
  assert_false(out.send_reply);
  rpcd__message_out_destroy(&out);
}

static void test_no_reply_to(void **state)
{
  rpcd_message_in in;
  body b;

  (void)state;
  /* The outcome and status are still computed (for logs and counters). */
  request(&b, false, 1, "fib", P("\x91\x05"));
  in = message(b.buf.data, b.buf.size);
  in.has_reply_to = false;
  expect_no_reply(&in, RPCD_OUTCOME_OK, 0);
  body_done(&b);

  request(&b, false, 1, "nope", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  in.has_reply_to = false;
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_METHOD_NOT_FOUND);
  body_done(&b);

  in = message(P("hello"));
  in.has_reply_to = false;
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_PARSE);
  in.content_type = span("application/json");
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_UNSUPPORTED);
}

static void test_notifications(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in;
  body b;

  (void)state;
  /* Never a reply, even with a reply_to. */
  request(&b, true, 0, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  expect_no_reply(&in, RPCD_OUTCOME_NOTIFIED, 0);
  body_done(&b);

  request(&b, true, 0, "nope", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_METHOD_NOT_FOUND);
  body_done(&b);

  request(&b, true, 0, "fib", P("\x91\xff"));
  in = message(b.buf.data, b.buf.size);
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_INVALID_PARAMS);
  body_done(&b);

  request(&b, true, 0, "fail", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, 7);
  body_done(&b);

  /* Only a well-formed notification is silent: one that cannot be read is
   * answered when it has a reply_to, or its caller would wait in vain.
   * [2, "fib"] */
  in = message(P("\x92\x02\xa3"
                 "fib"));
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  /* [2, "fib", 5] */
  in = message(P("\x93\x02\xa3"
                 "fib\x05"));
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  /* [2, "fib", [1], "extra"] */
  in = message(P("\x94\x02\xa3"
                 "fib\x91\x01\xa5"
                 "extra"));
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, false, 0, NULL);
  /* ...and stays silent without one. */
  in.has_reply_to = false;
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_INVALID_REQUEST);

  /* A notification whose header contradicts it. */
  request(&b, true, 0, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.has_header_method = true;
  in.header_method_valid = true;
  in.header_method = span("echo");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, false, 0,
                     "x-rpc-method");
  body_done(&b);

  /* Rejected before its body is decoded (content type, x-rpc-v): still a
   * notification, still no reply. */
  request(&b, true, 0, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.content_type = span("application/json");
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_UNSUPPORTED);
  in = message(b.buf.data, b.buf.size);
  in.has_version = true;
  in.version_valid = true;
  in.version = 2;
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_UNSUPPORTED);
  body_done(&b);

  /* The same with wider encodings of the array header and of the type:
   * array16 of 3 with uint8 2, array32 of 3 with int16 2. */
  in = message(P("\xdc\x00\x03\xcc\x02\xa3"
                 "fib\x91\x0a"));
  in.content_type = span("application/json");
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_UNSUPPORTED);
  in = message(P("\xdd\x00\x00\x00\x03\xd1\x00\x02\xa3"
                 "fib\x91\x0a"));
  in.content_type = span("application/json");
  expect_no_reply(&in, RPCD_OUTCOME_ERROR, RPCD_ERR_UNSUPPORTED);
  /* ...but a request (type 0) in the same shape is answered. */
  in = message(P("\xdc\x00\x04\xcc\x00\x01\xa3"
                 "fib\x91\x0a"));
  in.content_type = span("application/json");
  {
    rpcd_message_out out = {0};

    rpcd__handle_message(&cfg, &in, &out);
    assert_true(out.send_reply);
    assert_int_equal(out.status, RPCD_ERR_UNSUPPORTED);
    rpcd__message_out_destroy(&out);
  }
}

static void test_deadline(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in;
  rpcd_message_out out = {0};
  body b;

  (void)state;
  request(&b, false, 3, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.has_deadline = true;

  /* Passed: not run, not answered. */
  in.deadline_ms = in.now_ms - 1;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_EXPIRED);
  assert_false(out.send_reply);
  assert_int_equal(out.body.size, 0);
  rpcd__message_out_destroy(&out);

  /* Long passed, and broken besides: still just expired. */
  in.deadline_ms = 0;
  in.body = "hello";
  in.body_len = 5;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_EXPIRED);
  assert_false(out.send_reply);
  rpcd__message_out_destroy(&out);

  /* In the future, or right now: it runs. */
  in.body = b.buf.data;
  in.body_len = b.buf.size;
  in.deadline_ms = in.now_ms + 5000;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  assert_true(out.send_reply);
  rpcd__message_out_destroy(&out);
  in.deadline_ms = in.now_ms;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  rpcd__message_out_destroy(&out);

  /* Without the header the deadline fields mean nothing. */
  in.has_deadline = false;
  in.deadline_ms = 0;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  rpcd__message_out_destroy(&out);

  /* A deadline of a type that means no time (a string, a float) is refused
   * naming the header, not ignored; the msgid is echoed. */
  in.bad_deadline_type = "a string";
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 3,
                     "x-rpc-deadline must be an integer");
  expect_error_reply(&cfg, &in, RPCD_ERR_INVALID_REQUEST, true, 3,
                     "not a string");
  body_done(&b);
}

/* before_dispatch sees what answering without the handler needs, and only
 * when a handler is about to run. */
typedef struct dispatch_seen {
  int calls;
  char method[64];
  bool has_msgid;
  uint32_t msgid;
  const char *content_type;
} dispatch_seen;

static void seen_dispatch(void *ctx, const char *method, size_t method_len,
                          bool has_msgid, uint32_t msgid,
                          const char *reply_content_type)
{
  dispatch_seen *seen = ctx;

  seen->calls++;
  snprintf(seen->method, sizeof(seen->method), "%.*s", (int)method_len, method);
  seen->has_msgid = has_msgid;
  seen->msgid = msgid;
  seen->content_type = reply_content_type;
}

static void test_before_dispatch(void **state)
{
  rpcd_handler_config cfg = default_config();
  dispatch_seen seen;
  rpcd_message_out out = {0};
  rpcd_message_in in;
  body b;

  (void)state;
  memset(&seen, 0, sizeof(seen));
  cfg.before_dispatch = seen_dispatch;
  cfg.ctx = &seen;
  request(&b, false, 77, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.content_type = span("application/x-msgpack");
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  rpcd__message_out_destroy(&out);
  assert_int_equal(seen.calls, 1);
  assert_string_equal(seen.method, "fib");
  assert_true(seen.has_msgid);
  assert_int_equal(seen.msgid, 77);
  assert_string_equal(seen.content_type, "application/x-msgpack");
  body_done(&b);

  /* Never for a request refused before any handler would run: malformed,
   * or naming no method. */
  in = message(P("\xc1"));
  rpcd__handle_message(&cfg, &in, &out);
  rpcd__message_out_destroy(&out);
  request(&b, false, 1, "nope", NULL, 0);
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  rpcd__message_out_destroy(&out);
  body_done(&b);
  assert_int_equal(seen.calls, 1);
  assert_string_equal(seen.method, "fib");
}

/* The stop time remaining_ms() counts down to: the caller's deadline or
 * --handler-timeout, whichever is first. */
static void test_handler_stop_at(void **state)
{
  rpcd_handler_config cfg = default_config();
  rpcd_message_in in = message(NULL, 0);
  int64_t now = rpcd__now_mono_ms();
  int64_t stop;

  (void)state;
  assert_int_equal(rpcd__handler_stop_at(&cfg, &in), 0);
  cfg.handler_timeout_ms = 1000;
  stop = rpcd__handler_stop_at(&cfg, &in);
  assert_true(stop >= now + 1000 && stop < now + 1500);
  in.has_deadline = true;
  in.deadline_ms = rpcd__now_unix_ms() + 300;
  stop = rpcd__handler_stop_at(&cfg, &in);
  assert_true(stop >= now + 200 && stop <= now + 400);
  in.deadline_ms = rpcd__now_unix_ms() - 50; /* passed: stop now */
  stop = rpcd__handler_stop_at(&cfg, &in);
  assert_true(stop >= now && stop < now + 100);
  /* A deadline beyond any clock with no handler timeout: no stop. */
  cfg.handler_timeout_ms = 0;
  in.deadline_ms = INT64_MAX;
  assert_int_equal(rpcd__handler_stop_at(&cfg, &in), 0);
}

/* A poison request is answered -32006 with its msgid and not run. */
static void test_poison(void **state)
{
  rpcd_handler_config cfg = default_config();
  dispatch_seen seen;
  rpcd_message_out out = {0};
  rpcd_message_in in;
  body b;

  (void)state;
  memset(&seen, 0, sizeof(seen));
  cfg.before_dispatch = seen_dispatch;
  cfg.ctx = &seen;
  request(&b, false, 5, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  in.poison = true;
  in.delivery_count = 4;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_POISON);
  assert_int_equal(out.status, RPCD_ERR_POISON);
  assert_true(out.send_reply);
  {
    reply r;

    decode_reply(&out, &r);
    assert_int_equal(r.v.error_code, RPCD_ERR_POISON);
    assert_true(r.v.has_msgid);
    assert_int_equal(r.v.msgid, 5);
    assert_contains_n(r.v.message, r.v.message_len, "delivered 4 times");
    reply_done(&r);
  }
  rpcd__message_out_destroy(&out);
  assert_int_equal(seen.calls, 0);
  body_done(&b);
}

/* ------------------------------------------------------------------------ */
/* Plain-text mode                                                           */

/* Handle a text body with `text_method` and check the text reply. */
static void expect_text(const char *text_method, const char *ct,
                        const void *bodytext, size_t len, int status,
                        const char *want)
{
  rpcd_handler_config cfg = config(RPCD_DEFAULT_MAX_BODY, text_method);
  rpcd_message_in in = message(bodytext, len);
  rpcd_message_out out = {0};

  in.content_type = span(ct);
  rpcd__handle_message(&cfg, &in, &out);
  if (out.status != status)
    fail_msg("text \"%.*s\": status %d (%.*s), expected %d", (int)len,
             (const char *)bodytext, out.status, (int)out.body.size,
             out.body.data, status);
  assert_int_equal(out.outcome, status ? RPCD_OUTCOME_ERROR : RPCD_OUTCOME_OK);
  assert_true(out.send_reply);
  assert_string_equal(out.content_type, "text/plain");
  assert_string_equal(out.method, text_method);
  if (status == 0) {
    if (out.body.size != strlen(want) ||
        memcmp(out.body.data, want, out.body.size) != 0)
      fail_msg("text reply \"%.*s\", expected \"%s\"", (int)out.body.size,
               out.body.data, want);
  } else {
    char prefix[32];

    snprintf(prefix, sizeof(prefix), "error %d: ", status);
    if (out.body.size < strlen(prefix) ||
        memcmp(out.body.data, prefix, strlen(prefix)) != 0)
      fail_msg("text reply \"%.*s\" does not start with \"%s\"",
               (int)out.body.size, out.body.data, prefix);
    assert_contains_n(out.body.data, out.body.size, want);
    /* No trailing newline. */
    assert_true(out.body.data[out.body.size - 1] != '\n');
  }
  rpcd__message_out_destroy(&out);
}

static void test_text_mode(void **state)
{
  (void)state;
  expect_text("fib", NULL, P("30"), 0, "832040");
  expect_text("fib", NULL, P(" 30\n"), 0, "832040");
  expect_text("fib", NULL, P("\t\r\n 30 \r\n\f\v"), 0, "832040");
  expect_text("fib", NULL, P("0"), 0, "0");
  expect_text("fib", NULL, P("93"), 0, "12200160415121876738");
  expect_text("fib", NULL, P("-1"), RPCD_ERR_INVALID_PARAMS, "param n");
  expect_text("fib", NULL, P("94"), RPCD_ERR_INVALID_PARAMS,
              "param n: expected uint in 0..93, got 94");
  /* Not an integer: fib gets a string. */
  expect_text("fib", NULL, P("abc"), RPCD_ERR_INVALID_PARAMS,
              "param n: expected uint in 0..93, got str");
  expect_text("fib", NULL, P("3 0"), RPCD_ERR_INVALID_PARAMS, "param n");
  expect_text("fib", NULL, P("+30"), RPCD_ERR_INVALID_PARAMS, "param n");
  expect_text("fib", NULL, P("-"), RPCD_ERR_INVALID_PARAMS, "param n");
  expect_text("fib", NULL, P(""), RPCD_ERR_INVALID_PARAMS, "param n");
  expect_text("fib", NULL, P("   "), RPCD_ERR_INVALID_PARAMS, "param n");
  /* Larger than int64: a string too. */
  expect_text("fib", NULL, P("99999999999999999999"), RPCD_ERR_INVALID_PARAMS,
              "param n");

  /* text/plain, with parameters or in capitals, and an empty content
   * type all take text mode. */
  expect_text("fib", "text/plain", P("10"), 0, "55");
  expect_text("fib", "text/plain; charset=utf-8", P("10"), 0, "55");
  expect_text("fib", "TEXT/Plain", P("10"), 0, "55");
  expect_text("fib", "", P("10"), 0, "55");

  /* The argument as the method sees it, and results other than integers
   * (strings as they are, anything else as JSON). */
  expect_text("echo", NULL, P("30"), 0, "[30]");
  expect_text("echo", NULL, P("-9223372036854775808"), 0,
              "[-9223372036854775808]");
  expect_text("echo", NULL, P("9223372036854775808"), 0,
              "[\"9223372036854775808\"]");
  expect_text("echo", NULL, P(" two words "), 0, "[\"two words\"]");
  expect_text("nothing", NULL, P("1"), 0, "null");
  expect_text("rpc.ping", NULL, P("x"), RPCD_ERR_INVALID_PARAMS,
              "expected at most 0 params, got 1");

  /* Errors of the method itself. */
  expect_text("fail", NULL, P("1"), 7, "the work failed: disk on fire");
  expect_text("nope", NULL, P("1"), RPCD_ERR_METHOD_NOT_FOUND, "\"nope\"");
}

static void test_text_mode_other_paths(void **state)
{
  rpcd_handler_config cfg = config(100, "fib");
  rpcd_message_in in;
  rpcd_message_out out = {0};
  char big[101];
  body b;
  reply r;

  (void)state;
  /* Too large: answered in text too. */
  memset(big, '1', sizeof(big));
  in = message(big, sizeof(big));
  in.content_type = span("text/plain");
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_PAYLOAD_TOO_LARGE);
  assert_string_equal(out.content_type, "text/plain");
  assert_true(out.send_reply);
  assert_contains_n(out.body.data, out.body.size, "error -32004: ");
  rpcd__message_out_destroy(&out);

  /* x-rpc-v other than 1: unsupported, answered in text, not run. */
  in = message(P("10"));
  in.content_type = span("text/plain");
  in.has_version = true;
  in.version_valid = true;
  in.version = 2;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_UNSUPPORTED);
  assert_string_equal(out.content_type, "text/plain");
  assert_true(out.send_reply);
  assert_true(out.body.size > 14 &&
              memcmp(out.body.data, "error -32005: ", 14) == 0);
  rpcd__message_out_destroy(&out);

  /* A result too large for max_body. */
  cfg = config(100, "big");
  in = message(P("200"));
  in.content_type = span(NULL);
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_PAYLOAD_TOO_LARGE);
  assert_string_equal(out.content_type, "text/plain");
  rpcd__message_out_destroy(&out);

  /* msgpack requests still work with text mode on. */
  cfg = config(RPCD_DEFAULT_MAX_BODY, "fib");
  request(&b, false, 5, "fib", P("\x91\x0a"));
  in = message(b.buf.data, b.buf.size);
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  assert_string_equal(out.content_type, "application/vnd.msgpack");
  decode_reply(&out, &r);
  assert_int_equal(r.v.result->via.u64, 55);
  reply_done(&r);
  rpcd__message_out_destroy(&out);
  body_done(&b);

  /* Other content types are still unsupported, and answered in msgpack,
   * without the hint about --text-method. */
  in = message(P("30"));
  in.content_type = span("application/json");
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_UNSUPPORTED);
  assert_string_equal(out.content_type, "application/vnd.msgpack");
  decode_reply(&out, &r);
  assert_int_equal(r.v.error_code, RPCD_ERR_UNSUPPORTED);
  assert_null(strstr(out.error, "--text-method"));
  reply_done(&r);
  rpcd__message_out_destroy(&out);

  /* No reply_to: computed, not sent. */
  in = message(P("30"));
  in.content_type = span(NULL);
  in.has_reply_to = false;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_OK);
  assert_int_equal(out.status, 0);
  assert_false(out.send_reply);
  rpcd__message_out_destroy(&out);
  in.body = "-1";
  in.body_len = 2;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_INVALID_PARAMS);
  assert_false(out.send_reply);
  rpcd__message_out_destroy(&out);

  /* A passed deadline wins over text mode too. */
  in = message(P("30"));
  in.content_type = span(NULL);
  in.has_deadline = true;
  in.deadline_ms = in.now_ms - 1;
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.outcome, RPCD_OUTCOME_EXPIRED);
  assert_false(out.send_reply);
  rpcd__message_out_destroy(&out);

  /* An empty body the transport hands over as NULL. */
  in = message(NULL, 0);
  in.content_type = span(NULL);
  rpcd__handle_message(&cfg, &in, &out);
  assert_int_equal(out.status, RPCD_ERR_INVALID_PARAMS);
  rpcd__message_out_destroy(&out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_success),
      cmocka_unit_test(test_result_passthrough),
      cmocka_unit_test(test_size_first),
      cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_invalid_request),
      cmocka_unit_test(test_header_method),
      cmocka_unit_test(test_method_and_params_errors),
      cmocka_unit_test(test_content_types),
      cmocka_unit_test(test_no_reply_to),
      cmocka_unit_test(test_notifications),
      cmocka_unit_test(test_deadline),
      cmocka_unit_test(test_before_dispatch),
      cmocka_unit_test(test_poison),
      cmocka_unit_test(test_handler_stop_at),
      cmocka_unit_test(test_text_mode),
      cmocka_unit_test(test_text_mode_other_paths),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
