/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the request and reply codecs (common/request.c,
 * common/reply.c): what each valid body decodes to, which wire error code
 * each invalid request gets (docs/PROTOCOL.md), that malformed replies are
 * rejected, and that what the encoders write decodes back to the same
 * values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rpcd_proto.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static msgpack_sbuffer sb;
static msgpack_packer pk;

/* Start a new body in sb; pack it with pk. */
static msgpack_packer *body(void)
{
  msgpack_sbuffer_clear(&sb);
  return &pk;
}

static int setup(void **state)
{
  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  msgpack_sbuffer_destroy(&sb);
  return 0;
}

static void pack_str(msgpack_packer *p, const char *s)
{
  msgpack_pack_str_with_body(p, s, strlen(s));
}

/* Decode a request that must fail with code; returns nothing, but leaves
 * *req for the caller's further checks (caller destroys it). */
static void decode_fails(const void *data, size_t len, int code,
                         rpcd_request *req)
{
  char err[256];
  int rc;

  memset(err, 0, sizeof(err));
  rc = rpcd__request_decode(data, len, RPCD_DEFAULT_MAX_BODY, req, err,
                            sizeof(err));
  if (rc != code)
    fail_msg("expected wire code %d, got %d (%s)", code, rc, err);
  assert_true(err[0] != '\0');
  assert_null(req->params);
}

/* Like decode_fails for the body in sb, then destroy. Returns whether a
 * msgid was salvaged; *msgid receives it. */
static bool sb_fails(int code, uint32_t *msgid)
{
  rpcd_request req;
  bool has;

  decode_fails(sb.data, sb.size, code, &req);
  has = req.has_msgid;
  if (msgid)
    *msgid = req.msgid;
  rpcd__request_destroy(&req);
  return has;
}

/* Pack a 4-element request whose msgid is already packed by the caller:
 * [0, <caller packs msgid>, method, params] -- helper for the common case. */
static void pack_request(const char *method, uint32_t msgid)
{
  msgpack_packer *p = body();

  msgpack_pack_array(p, 4);
  msgpack_pack_uint8(p, 0);
  msgpack_pack_uint32(p, msgid);
  pack_str(p, method);
  msgpack_pack_array(p, 1);
  msgpack_pack_int(p, 10);
}

/* Pack an object's encoding into a fresh sbuffer (caller destroys). */
static void pack_object(msgpack_sbuffer *out, const msgpack_object *o)
{
  msgpack_packer p;

  msgpack_sbuffer_init(out);
  msgpack_packer_init(&p, out, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_object(&p, *o), 0);
}

/* ------------------------------------------------------------------------ */
/* Request decoding: valid bodies                                            */

static void test_request_valid(void **state)
{
  rpcd_request req;
  char err[256] = "";
  const char *b;

  (void)state;
  pack_request("fib", 7);
  b = sb.data;
  assert_int_equal(rpcd__request_decode(sb.data, sb.size, RPCD_DEFAULT_MAX_BODY,
                                        &req, err, sizeof(err)),
                   0);
  assert_int_equal(req.type, RPCD_MSG_REQUEST);
  assert_true(req.has_msgid);
  assert_int_equal(req.msgid, 7);
  assert_int_equal(req.method_len, 3);
  assert_memory_equal(req.method, "fib", 3);
  /* zero-copy: the method points into the body */
  assert_true(req.method > b && req.method + 3 <= b + sb.size);
  assert_non_null(req.params);
  assert_ptr_equal(req.params, &req.doc.root.via.array.ptr[3]);
  assert_int_equal(req.params->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(req.params->via.array.size, 1);
  assert_int_equal(req.params->via.array.ptr[0].type,
                   MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(req.params->via.array.ptr[0].via.u64, 10);
  rpcd__request_destroy(&req);
}

static void test_request_valid_shapes(void **state)
{
  rpcd_request req;

  (void)state;
  /* msgid extremes, in any integer width the sender chose */
  assert_int_equal(rpcd__request_decode(LIT("\x94\x00\xce\xff\xff\xff\xff"
                                            "\xa1x\x90"),
                                        RPCD_DEFAULT_MAX_BODY, &req, NULL, 0),
                   0);
  assert_true(req.has_msgid);
  assert_true(req.msgid == UINT32_MAX);
  rpcd__request_destroy(&req);

  assert_int_equal(rpcd__request_decode(LIT("\x94\xd3\x00\x00\x00\x00\x00"
                                            "\x00\x00\x00\xd2\x00\x00\x00"
                                            "\x00\xa1x\x80"),
                                        RPCD_DEFAULT_MAX_BODY, &req, NULL, 0),
                   0);
  assert_int_equal(req.type, RPCD_MSG_REQUEST);
  assert_true(req.has_msgid);
  assert_int_equal(req.msgid, 0);
  /* map params */
  assert_int_equal(req.params->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(req.params->via.map.size, 0);
  rpcd__request_destroy(&req);

  /* str32 method, map params with an entry */
  assert_int_equal(rpcd__request_decode(LIT("\x94\x00\x05\xdb\x00\x00\x00"
                                            "\x08rpc.ping\x81\xa1n\x01"),
                                        RPCD_DEFAULT_MAX_BODY, &req, NULL, 0),
                   0);
  assert_int_equal(req.method_len, 8);
  assert_memory_equal(req.method, "rpc.ping", 8);
  assert_int_equal(req.params->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(req.params->via.map.size, 1);
  rpcd__request_destroy(&req);
}

static void test_notification_valid(void **state)
{
  rpcd_request req;
  msgpack_packer *p = body();

  (void)state;
  msgpack_pack_array(p, 3);
  msgpack_pack_uint8(p, 2);
  pack_str(p, "log.write");
  msgpack_pack_map(p, 1);
  pack_str(p, "a");
  msgpack_pack_int(p, 1);
  assert_int_equal(rpcd__request_decode(sb.data, sb.size, RPCD_DEFAULT_MAX_BODY,
                                        &req, NULL, 0),
                   0);
  assert_int_equal(req.type, RPCD_MSG_NOTIFY);
  assert_false(req.has_msgid);
  assert_int_equal(req.method_len, 9);
  assert_memory_equal(req.method, "log.write", 9);
  assert_ptr_equal(req.params, &req.doc.root.via.array.ptr[2]);
  assert_int_equal(req.params->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(req.params->via.map.size, 1);
  rpcd__request_destroy(&req);
}

/* ------------------------------------------------------------------------ */
/* Request decoding: invalid bodies and their wire codes                     */

static void test_request_not_msgpack(void **state)
{
  static const struct {
    const char *bytes;
    size_t len;
  } cases[] = {
      {"", 0},
      {"\xc1", 1},
      {"\x94\x00\x01\xa3"
       "fi",
       6},                              /* truncated */
      {"\xdd\xff\xff\xff\xff", 5},      /* array32 bomb */
      {"\x94\x00\x01\xa1x\x90\x00", 7}, /* trailing byte */
      {"not msgpack at all", 18},       /* 'n' is fixint, then trailing */
  };
  rpcd_request req;
  size_t i;
  size_t len;
  char *deep;

  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    decode_fails(cases[i].bytes, cases[i].len, RPCD_ERR_PARSE, &req);
    assert_false(req.has_msgid);
    rpcd__request_destroy(&req);
  }

  /* nesting over the limit inside params: parse error, not invalid
   * request */
  len = 4 + 65 + 1;
  deep = malloc(len);
  assert_non_null(deep);
  memcpy(deep, "\x94\x00\x01\xa1x", 5);
  /* the root array, then params and 63 arrays inside it: 65 levels */
  memset(deep + 5, 0x91, 64);
  deep[5 + 64] = 0x01;
  len = 5 + 64 + 1;
  decode_fails(deep, len, RPCD_ERR_PARSE, &req);
  rpcd__request_destroy(&req);
  free(deep);
}

static void test_request_not_array(void **state)
{
  rpcd_request req;

  (void)state;
  decode_fails(LIT("\x84\x00\x01\x01\x02\x02\xa1x\x03\x90"),
               RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x00"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\xa3"
                   "fib"),
               RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\xc0"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
}

static void test_request_wrong_type_tag(void **state)
{
  rpcd_request req;

  (void)state;
  /* a reply is not a request */
  decode_fails(LIT("\x94\x01\x01\xc0\xc0"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x03\x01\xa1x\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\xff\x01\xa1x\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\xa1"
                   "0\x01\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\xc0\x01\xa1x\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\xcb\x00\x00\x00\x00\x00\x00\x00\x00\x01\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req); /* 0.0 is not 0 */
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
}

static void test_request_wrong_arity(void **state)
{
  rpcd_request req;

  (void)state;
  /* the msgid is salvaged so that the error reply can echo it */
  decode_fails(LIT("\x93\x00\x05\xa1x"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_int_equal(req.type, RPCD_MSG_REQUEST);
  assert_true(req.has_msgid);
  assert_int_equal(req.msgid, 5);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x95\x00\x06\xa1x\x90\x00"), RPCD_ERR_INVALID_REQUEST,
               &req);
  assert_true(req.has_msgid);
  assert_int_equal(req.msgid, 6);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x92\x00\x07"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_true(req.has_msgid);
  assert_int_equal(req.msgid, 7);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x91\x00"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  /* notifications have 3 */
  decode_fails(LIT("\x92\x02\xa1x"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_int_equal(req.type, RPCD_MSG_NOTIFY);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x02\xa1x\x90\x00"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_int_equal(req.type, RPCD_MSG_NOTIFY);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x91\x02"), RPCD_ERR_INVALID_REQUEST, &req);
  rpcd__request_destroy(&req);
}

static void test_request_bad_msgid(void **state)
{
  rpcd_request req;

  (void)state;
  decode_fails(LIT("\x94\x00\xff\xa1x\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x00\xd3\xff\xff\xff\xff\xff\xff\xff\xff\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  /* UINT32_MAX + 1 */
  decode_fails(LIT("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x00\xa1"
                   "1\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x00\xc0\xa1x\x90"), RPCD_ERR_INVALID_REQUEST, &req);
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
  decode_fails(LIT("\x94\x00\xca\x3f\x80\x00\x00\xa1x\x90"),
               RPCD_ERR_INVALID_REQUEST, &req); /* 1.0f */
  assert_false(req.has_msgid);
  rpcd__request_destroy(&req);
}

static void test_request_bad_method(void **state)
{
  static const char *bad_names[] = {
      "",
      "fi b",
      "fib/x",
      ("f\xc3\xad"
       "b"),
      "rpc:ping",
      "fib\n",
      "a+b",
      "a@b",
      "[x]",
      "{x}",
      "a`b",
      "\x7f",
  };
  uint32_t msgid = 0;
  size_t i;
  msgpack_packer *p;

  (void)state;
  for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
    pack_request(bad_names[i], 9);
    assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, &msgid));
    assert_int_equal(msgid, 9);
  }
  /* embedded NUL */
  p = body();
  msgpack_pack_array(p, 4);
  msgpack_pack_uint8(p, 0);
  msgpack_pack_uint8(p, 1);
  msgpack_pack_str_with_body(p, "fib\0x", 5);
  msgpack_pack_array(p, 0);
  assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));

  /* not a string: int, nil, bin with valid characters, array */
  p = body();
  msgpack_pack_array(p, 4);
  msgpack_pack_uint8(p, 0);
  msgpack_pack_uint8(p, 3);
  msgpack_pack_int(p, 42);
  msgpack_pack_array(p, 0);
  assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, &msgid));
  assert_int_equal(msgid, 3);
  p = body();
  msgpack_pack_array(p, 4);
  msgpack_pack_uint8(p, 0);
  msgpack_pack_uint8(p, 3);
  msgpack_pack_nil(p);
  msgpack_pack_array(p, 0);
  assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
  p = body();
  msgpack_pack_array(p, 4);
  msgpack_pack_uint8(p, 0);
  msgpack_pack_uint8(p, 3);
  msgpack_pack_bin_with_body(p, "fib", 3);
  msgpack_pack_array(p, 0);
  assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
  p = body();
  msgpack_pack_array(p, 3);
  msgpack_pack_uint8(p, 2);
  msgpack_pack_array(p, 1);
  pack_str(p, "fib");
  msgpack_pack_array(p, 0);
  assert_false(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
  /* and a bad notification method */
  p = body();
  msgpack_pack_array(p, 3);
  msgpack_pack_uint8(p, 2);
  pack_str(p, "no such");
  msgpack_pack_array(p, 0);
  assert_false(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
}

static void test_request_method_length(void **state)
{
  char name[257];
  rpcd_request req;

  (void)state;
  memset(name, 'm', sizeof(name) - 1);
  name[256] = '\0';
  /* 256 bytes: too long */
  pack_request(name, 1);
  assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
  /* 255 bytes: the longest valid name */
  name[255] = '\0';
  pack_request(name, 1);
  assert_int_equal(rpcd__request_decode(sb.data, sb.size, RPCD_DEFAULT_MAX_BODY,
                                        &req, NULL, 0),
                   0);
  assert_int_equal(req.method_len, 255);
  assert_memory_equal(req.method, name, 255);
  rpcd__request_destroy(&req);
}

static void test_request_bad_params(void **state)
{
  msgpack_packer *p;
  uint32_t msgid = 0;
  int kind;

  (void)state;
  for (kind = 0; kind < 6; kind++) {
    p = body();
    msgpack_pack_array(p, 4);
    msgpack_pack_uint8(p, 0);
    msgpack_pack_uint8(p, 11);
    pack_str(p, "fib");
    switch (kind) {
    case 0:
      msgpack_pack_nil(p);
      break;
    case 1:
      msgpack_pack_int(p, 10);
      break;
    case 2:
      pack_str(p, "[10]");
      break;
    case 3:
      msgpack_pack_bin_with_body(p, "\x91\x0a", 2);
      break;
    case 4:
      msgpack_pack_true(p);
      break;
    default:
      msgpack_pack_ext_with_body(p, "\x91\x0a", 2, 1);
      break;
    }
    assert_true(sb_fails(RPCD_ERR_INVALID_REQUEST, &msgid));
    assert_int_equal(msgid, 11);
  }
  /* notification with bad params */
  p = body();
  msgpack_pack_array(p, 3);
  msgpack_pack_uint8(p, 2);
  pack_str(p, "fib");
  msgpack_pack_nil(p);
  assert_false(sb_fails(RPCD_ERR_INVALID_REQUEST, NULL));
}

static void test_request_too_large(void **state)
{
  rpcd_request req;
  char err[256] = "";

  (void)state;
  pack_request("fib", 1);
  /* one byte over the limit */
  assert_int_equal(rpcd__request_decode(sb.data, sb.size, sb.size - 1, &req,
                                        err, sizeof(err)),
                   RPCD_ERR_PAYLOAD_TOO_LARGE);
  assert_true(err[0] != '\0');
  rpcd__request_destroy(&req);
  /* exactly at the limit */
  assert_int_equal(
      rpcd__request_decode(sb.data, sb.size, sb.size, &req, NULL, 0), 0);
  rpcd__request_destroy(&req);
  /* size is checked before anything is parsed */
  assert_int_equal(
      rpcd__request_decode(LIT("\xc1\xc1\xc1"), 2, &req, err, sizeof(err)),
      RPCD_ERR_PAYLOAD_TOO_LARGE);
  rpcd__request_destroy(&req);
  assert_int_equal(rpcd__request_decode(LIT("\x00"), 0, &req, NULL, 0),
                   RPCD_ERR_PAYLOAD_TOO_LARGE);
  rpcd__request_destroy(&req);
}

/* ------------------------------------------------------------------------ */
/* Request encoding                                                          */

static void test_request_encode_bytes(void **state)
{
  msgpack_sbuffer out;

  (void)state;
  msgpack_sbuffer_init(&out);
  assert_int_equal(rpcd__request_encode(&out, false, 1, "a", 1, NULL, 0),
                   RPCD_OK);
  assert_int_equal(out.size, 6);
  assert_memory_equal(out.data, "\x94\x00\x01\xa1\x61\x90", 6);
  msgpack_sbuffer_clear(&out);
  assert_int_equal(rpcd__request_encode(&out, true, 99, "a", 1, "\x80", 1),
                   RPCD_OK);
  assert_int_equal(out.size, 5);
  assert_memory_equal(out.data, "\x93\x02\xa1\x61\x80", 5);
  msgpack_sbuffer_destroy(&out);
}

static void round_trip(bool notify, uint32_t msgid, const char *method,
                       const void *params, size_t params_len)
{
  msgpack_sbuffer out;
  msgpack_sbuffer repacked;
  rpcd_request req;
  char err[256] = "";
  int rc;

  msgpack_sbuffer_init(&out);
  assert_int_equal(rpcd__request_encode(&out, notify, msgid, method,
                                        strlen(method), params, params_len),
                   RPCD_OK);
  rc = rpcd__request_decode(out.data, out.size, RPCD_DEFAULT_MAX_BODY, &req,
                            err, sizeof(err));
  if (rc != 0)
    fail_msg("round trip of %s: %d (%s)", method, rc, err);
  assert_int_equal(req.type, notify ? RPCD_MSG_NOTIFY : RPCD_MSG_REQUEST);
  assert_int_equal(req.has_msgid, !notify);
  if (!notify)
    assert_true(req.msgid == msgid);
  assert_int_equal(req.method_len, strlen(method));
  assert_memory_equal(req.method, method, strlen(method));
  pack_object(&repacked, req.params);
  if (params && params_len) {
    assert_int_equal(repacked.size, params_len);
    assert_memory_equal(repacked.data, params, params_len);
  } else {
    /* empty params are sent as [] */
    assert_int_equal(req.params->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(req.params->via.array.size, 0);
  }
  msgpack_sbuffer_destroy(&repacked);
  rpcd__request_destroy(&req);
  msgpack_sbuffer_destroy(&out);
}

static void test_request_round_trips(void **state)
{
  msgpack_packer *p = body();
  char longname[256];

  (void)state;
  msgpack_pack_array(p, 4);
  msgpack_pack_int(p, -5);
  pack_str(p, "two");
  msgpack_pack_map(p, 1);
  pack_str(p, "k");
  msgpack_pack_array(p, 2);
  msgpack_pack_double(p, 2.5);
  msgpack_pack_nil(p);
  msgpack_pack_bin_with_body(p, "\x00\x01", 2);

  round_trip(false, 42, "rpc.ping", sb.data, sb.size);
  round_trip(true, 0, "log.write", sb.data, sb.size);
  round_trip(false, 0, "fib", NULL, 0);
  round_trip(false, UINT32_MAX, "fib", NULL, 0);
  round_trip(true, 0, "x", NULL, 0);
  round_trip(false, 128, "A-Z_a-z.0-9", "\x80", 1);
  round_trip(true, 0, "m", "\x81\xa1k\xc3", 4);
  memset(longname, 'n', 255);
  longname[255] = '\0';
  round_trip(false, 70000, longname, "\x91\x01", 2);
}

/* The body wraps params in one more array, so params may nest at most
 * RPCD_MAX_DEPTH - 1 levels; a sender that checks params alone against
 * RPCD_MAX_DEPTH lets through bodies the server answers with a parse
 * error. */
static void test_request_params_depth(void **state)
{
  msgpack_sbuffer out;
  rpcd_request req;
  char params[RPCD_MAX_DEPTH + 1];

  (void)state;
  memset(params, 0x91, RPCD_MAX_DEPTH - 2);
  params[RPCD_MAX_DEPTH - 2] = (char)0x90;
  /* RPCD_MAX_DEPTH - 1 levels of params: accepted */
  msgpack_sbuffer_init(&out);
  assert_int_equal(
      rpcd__request_encode(&out, false, 1, "x", 1, params, RPCD_MAX_DEPTH - 1),
      RPCD_OK);
  assert_int_equal(rpcd__request_decode(out.data, out.size,
                                        RPCD_DEFAULT_MAX_BODY, &req, NULL, 0),
                   0);
  rpcd__request_destroy(&req);
  /* RPCD_MAX_DEPTH levels of params: a parse error */
  memset(params, 0x91, RPCD_MAX_DEPTH - 1);
  params[RPCD_MAX_DEPTH - 1] = (char)0x90;
  assert_int_equal(
      rpcd__mp_check(params, RPCD_MAX_DEPTH, RPCD_MAX_DEPTH, NULL, NULL, 0),
      RPCD_OK);
  msgpack_sbuffer_clear(&out);
  assert_int_equal(
      rpcd__request_encode(&out, false, 1, "x", 1, params, RPCD_MAX_DEPTH),
      RPCD_OK);
  decode_fails(out.data, out.size, RPCD_ERR_PARSE, &req);
  assert_true(req.has_msgid == false);
  rpcd__request_destroy(&req);
  msgpack_sbuffer_destroy(&out);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static void test_reply_result_round_trip(void **state)
{
  msgpack_sbuffer out;
  rpcd_reply_view v;
  char err[256] = "";

  (void)state;
  msgpack_sbuffer_init(&out);
  assert_int_equal(
      rpcd__reply_encode_result(&out, true, 77, "\x92\x01\xa2hi", 5), RPCD_OK);
  assert_int_equal(rpcd__reply_decode(out.data, out.size, &v, err, sizeof(err)),
                   RPCD_OK);
  assert_true(v.has_msgid);
  assert_int_equal(v.msgid, 77);
  assert_int_equal(v.error_code, 0);
  assert_null(v.message);
  assert_null(v.error_data);
  assert_non_null(v.result);
  assert_int_equal(v.result->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(v.result->via.array.size, 2);
  assert_int_equal(v.result->via.array.ptr[0].via.u64, 1);
  assert_true(rpcd__mp_str_eq(&v.result->via.array.ptr[1], "hi"));
  rpcd__reply_view_destroy(&v);

  /* nil msgid and nil result */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(rpcd__reply_encode_result(&out, false, 77, NULL, 0),
                   RPCD_OK);
  assert_int_equal(out.size, 5);
  assert_memory_equal(out.data, "\x94\x01\xc0\xc0\xc0", 5);
  assert_int_equal(rpcd__reply_decode(out.data, out.size, &v, NULL, 0),
                   RPCD_OK);
  assert_false(v.has_msgid);
  assert_int_equal(v.error_code, 0);
  assert_int_equal(v.result->type, MSGPACK_OBJECT_NIL);
  rpcd__reply_view_destroy(&v);

  /* msgid extremes, scalar result */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(
      rpcd__reply_encode_result(&out, true, UINT32_MAX, "\xcd\x12\x34", 3),
      RPCD_OK);
  assert_int_equal(rpcd__reply_decode(out.data, out.size, &v, NULL, 0),
                   RPCD_OK);
  assert_true(v.has_msgid);
  assert_true(v.msgid == UINT32_MAX);
  assert_int_equal(v.result->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(v.result->via.u64, 0x1234);
  rpcd__reply_view_destroy(&v);

  msgpack_sbuffer_clear(&out);
  assert_int_equal(rpcd__reply_encode_result(&out, true, 0, "\xc2", 1),
                   RPCD_OK);
  assert_int_equal(rpcd__reply_decode(out.data, out.size, &v, NULL, 0),
                   RPCD_OK);
  assert_true(v.has_msgid);
  assert_int_equal(v.msgid, 0);
  assert_int_equal(v.result->type, MSGPACK_OBJECT_BOOLEAN);
  rpcd__reply_view_destroy(&v);
  msgpack_sbuffer_destroy(&out);
}

static void error_round_trip(bool has_msgid, uint32_t msgid, int code,
                             const char *message)
{
  msgpack_sbuffer out;
  rpcd_reply_view v;
  char err[256] = "";
  const char *expect = message ? message : "";

  msgpack_sbuffer_init(&out);
  assert_int_equal(
      rpcd__reply_encode_error(&out, has_msgid, msgid, code, message), RPCD_OK);
  if (rpcd__reply_decode(out.data, out.size, &v, err, sizeof(err)) != RPCD_OK)
    fail_msg("error reply %d: %s", code, err);
  assert_int_equal(v.has_msgid, has_msgid);
  if (has_msgid)
    assert_true(v.msgid == msgid);
  assert_int_equal(v.error_code, code);
  assert_int_equal(v.message_len, strlen(expect));
  assert_non_null(v.message);
  assert_memory_equal(v.message, expect, strlen(expect));
  assert_null(v.error_data);
  assert_non_null(v.result);
  assert_int_equal(v.result->type, MSGPACK_OBJECT_NIL);
  rpcd__reply_view_destroy(&v);
  msgpack_sbuffer_destroy(&out);
}

static void test_reply_error_round_trip(void **state)
{
  (void)state;
  error_round_trip(true, 5, RPCD_ERR_METHOD_NOT_FOUND,
                   "method \"nope\" not found");
  error_round_trip(false, 0, RPCD_ERR_PARSE, "truncated msgpack at offset 3");
  error_round_trip(true, UINT32_MAX, RPCD_ERR_INVALID_PARAMS, "");
  error_round_trip(true, 1, 42, "application failure");
  error_round_trip(true, 1, INT32_MIN, "min");
  error_round_trip(true, 1, INT32_MAX, "max");
  error_round_trip(true, 1, -1, NULL);
}

static void test_reply_error_data(void **state)
{
  rpcd_reply_view v;
  /* [1, 3, {"data": {"retry_after_ms": 100}, "message": "busy",
   *         "code": -32002}, nil] */
  static const char in[] = "\x94\x01\x03\x83\xa4"
                           "data\x81\xae"
                           "retry_after_ms\x64\xa7message\xa4"
                           "busy\xa4"
                           "code\xd1\x82\xfe\xc0";

  (void)state;
  assert_int_equal(rpcd__reply_decode(in, sizeof(in) - 1, &v, NULL, 0),
                   RPCD_OK);
  assert_int_equal(v.error_code, RPCD_ERR_OVERLOADED);
  assert_int_equal(v.message_len, 4);
  assert_memory_equal(v.message, "busy", 4);
  assert_non_null(v.error_data);
  assert_int_equal(v.error_data->type, MSGPACK_OBJECT_MAP);
  assert_true(
      rpcd__mp_str_eq(&v.error_data->via.map.ptr[0].key, "retry_after_ms"));
  assert_int_equal(v.error_data->via.map.ptr[0].val.via.u64, 100);
  rpcd__reply_view_destroy(&v);

  /* a code alone is enough; unknown keys are ignored */
  assert_int_equal(rpcd__reply_decode(LIT("\x94\x01\x01\x82\xa4"
                                          "code\x2a\xa1z\x90\xc0"),
                                      &v, NULL, 0),
                   RPCD_OK);
  assert_int_equal(v.error_code, 42);
  assert_null(v.message);
  assert_int_equal(v.message_len, 0);
  rpcd__reply_view_destroy(&v);
}

static void reply_rejected(const char *name, const void *data, size_t len)
{
  rpcd_reply_view v;
  char err[256];
  int rc;

  memset(err, 0, sizeof(err));
  rc = rpcd__reply_decode(data, len, &v, err, sizeof(err));
  if (rc != RPCD_EPROTO)
    fail_msg("%s: expected RPCD_EPROTO, got %d", name, rc);
  if (err[0] == '\0')
    fail_msg("%s: no message", name);
  rpcd__reply_view_destroy(&v);
}

#define REJECT(name, lit) reply_rejected(name, lit, sizeof(lit) - 1)

static void test_reply_malformed(void **state)
{
  (void)state;
  REJECT("empty", "");
  REJECT("0xc1", "\xc1");
  REJECT("truncated", "\x94\x01\x01\xc0");
  REJECT("bomb", "\xdd\xff\xff\xff\xff");
  REJECT("trailing", "\x94\x01\x01\xc0\xc0\xc0");
  /* not an array */
  REJECT("map", "\x84\x00\x01\x01\x01\x02\xc0\x03\xc0");
  REJECT("int", "\x01");
  REJECT("nil", "\xc0");
  /* wrong length */
  REJECT("empty array", "\x90");
  REJECT("3 elements", "\x93\x01\x01\xc0");
  REJECT("5 elements", "\x95\x01\x01\xc0\xc0\xc0");
  /* type != 1 */
  REJECT("type 0", "\x94\x00\x01\xc0\xc0");
  REJECT("type 2", "\x94\x02\x01\xc0\xc0");
  REJECT("type -1", "\x94\xff\x01\xc0\xc0");
  REJECT("type \"1\"", "\x94\xa1"
                       "1\x01\xc0\xc0");
  REJECT("type 1.0", "\x94\xca\x3f\x80\x00\x00\x01\xc0\xc0");
  /* msgid neither nil nor uint32 */
  REJECT("msgid -1", "\x94\x01\xff\xc0\xc0");
  REJECT("msgid 2^32", "\x94\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xc0\xc0");
  REJECT("msgid str", "\x94\x01\xa1"
                      "1\xc0\xc0");
  REJECT("msgid array", "\x94\x01\x91\x01\xc0\xc0");
  /* error not a map */
  REJECT("error int", "\x94\x01\x01\x05\xc0");
  REJECT("error str", "\x94\x01\x01\xa3"
                      "bad\xc0");
  REJECT("error array", "\x94\x01\x01\x92\xd1\x83\x44\xa1x\xc0");
  REJECT("error true", "\x94\x01\x01\xc3\xc0");
  REJECT("error false", "\x94\x01\x01\xc2\xc0");
  /* code missing, zero, not an integer, out of int32 range */
  REJECT("error {}", "\x94\x01\x01\x80\xc0");
  REJECT("code missing", "\x94\x01\x01\x81\xa7message\xa1x\xc0");
  REJECT("code 0", "\x94\x01\x01\x81\xa4"
                   "code\x00\xc0");
  REJECT("code int64 0", "\x94\x01\x01\x81\xa4"
                         "code\xd3\x00\x00\x00\x00\x00\x00\x00\x00\xc0");
  REJECT("code str", "\x94\x01\x01\x81\xa4"
                     "code\xa6-32600\xc0");
  REJECT("code float", "\x94\x01\x01\x81\xa4"
                       "code\xcb\xc0\xdf\xb6\x00\x00\x00\x00\x00\xc0");
  REJECT("code nil", "\x94\x01\x01\x81\xa4"
                     "code\xc0\xc0");
  REJECT("code INT32_MIN - 1", "\x94\x01\x01\x81\xa4"
                               "code\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"
                               "\xc0");
  REJECT("code INT32_MAX + 1", "\x94\x01\x01\x81\xa4"
                               "code\xce\x80\x00\x00\x00\xc0");
  REJECT("code UINT64_MAX", "\x94\x01\x01\x81\xa4"
                            "code\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                            "\xc0");
  REJECT("code key as bin", "\x94\x01\x01\x81\xc4\x04"
                            "code\x2a\xc0");
  /* message not a string */
  REJECT("message int", "\x94\x01\x01\x82\xa4"
                        "code\x2a\xa7message\x01\xc0");
  REJECT("message bin", "\x94\x01\x01\x82\xa4"
                        "code\x2a\xa7message\xc4\x01x\xc0");
  REJECT("message nil", "\x94\x01\x01\x82\xa7message\xc0\xa4"
                        "code\x2a\xc0");
}

static void test_reply_code_bounds_accepted(void **state)
{
  rpcd_reply_view v;

  (void)state;
  /* INT32_MIN as int64 and INT32_MAX as uint64 are in range */
  assert_int_equal(rpcd__reply_decode(LIT("\x94\x01\x01\x81\xa4"
                                          "code\xd3\xff\xff\xff\xff\x80\x00"
                                          "\x00\x00\xc0"),
                                      &v, NULL, 0),
                   RPCD_OK);
  assert_int_equal(v.error_code, INT32_MIN);
  rpcd__reply_view_destroy(&v);
  assert_int_equal(rpcd__reply_decode(LIT("\x94\x01\x01\x81\xa4"
                                          "code\xcf\x00\x00\x00\x00\x7f\xff"
                                          "\xff\xff\xc0"),
                                      &v, NULL, 0),
                   RPCD_OK);
  assert_int_equal(v.error_code, INT32_MAX);
  rpcd__reply_view_destroy(&v);
}

/* ------------------------------------------------------------------------ */
/* Method names                                                              */

static void test_method_name_valid(void **state)
{
  char name[300];
  int c;

  (void)state;
  assert_false(rpcd__method_name_valid("", 0));
  assert_false(rpcd__method_name_valid(NULL, 0));
  assert_true(rpcd__method_name_valid("a", 1));
  assert_true(rpcd__method_name_valid("fib", 3));
  assert_true(rpcd__method_name_valid("rpc.ping", 8));
  assert_true(rpcd__method_name_valid(".", 1));
  assert_true(rpcd__method_name_valid("-", 1));
  assert_true(rpcd__method_name_valid("_", 1));
  assert_true(rpcd__method_name_valid("09azAZ_.-", 9));
  /* only len bytes are looked at */
  assert_true(rpcd__method_name_valid("ab c", 2));
  assert_false(rpcd__method_name_valid("ab c", 4));
  assert_false(rpcd__method_name_valid("a\0b", 3));

  /* each byte alone: exactly [A-Za-z0-9_.-] are allowed */
  for (c = 0; c < 256; c++) {
    char ch = (char)c;
    bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

    if (rpcd__method_name_valid(&ch, 1) != want)
      fail_msg("byte 0x%02x: expected %s", c, want ? "valid" : "invalid");
  }

  memset(name, 'x', sizeof(name));
  assert_true(rpcd__method_name_valid(name, 254));
  assert_true(rpcd__method_name_valid(name, 255));
  assert_false(rpcd__method_name_valid(name, 256));
  assert_false(rpcd__method_name_valid(name, 300));
  name[254] = ' ';
  assert_false(rpcd__method_name_valid(name, 255));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_valid),
      cmocka_unit_test(test_request_valid_shapes),
      cmocka_unit_test(test_notification_valid),
      cmocka_unit_test(test_request_not_msgpack),
      cmocka_unit_test(test_request_not_array),
      cmocka_unit_test(test_request_wrong_type_tag),
      cmocka_unit_test(test_request_wrong_arity),
      cmocka_unit_test(test_request_bad_msgid),
      cmocka_unit_test(test_request_bad_method),
      cmocka_unit_test(test_request_method_length),
      cmocka_unit_test(test_request_bad_params),
      cmocka_unit_test(test_request_too_large),
      cmocka_unit_test(test_request_encode_bytes),
      cmocka_unit_test(test_request_round_trips),
      cmocka_unit_test(test_request_params_depth),
      cmocka_unit_test(test_reply_result_round_trip),
      cmocka_unit_test(test_reply_error_round_trip),
      cmocka_unit_test(test_reply_error_data),
      cmocka_unit_test(test_reply_malformed),
      cmocka_unit_test(test_reply_code_bounds_accepted),
      cmocka_unit_test(test_method_name_valid),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
