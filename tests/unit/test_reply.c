/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SDK's reply objects (sdk/reply.c): replies built from
 * bodies encoded by the codec and from hand-made msgpack, the accessors,
 * that a reply owns copies of everything, so it outlives the body it was
 * decoded from, and the check that a reply answers its request.
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "reply_internal.h"

/*
 * Decode body[0..len) from a heap copy, build the reply, then wipe and free
 * the copy, so that anything the reply still pointed into would show up as
 * garbage (or as a use after free under AddressSanitizer).
 */
static int reply_from_body(const void *body, size_t len, rpcd_reply **out)
{
  rpcd_reply_view view;
  char err[256];
  void *copy;
  int rc;

  *out = NULL;
  copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, body, len);
  rc = rpcd__reply_decode(copy, len, &view, err, sizeof(err));
  if (rc == RPCD_OK)
    rc = rpcd__reply_from_view(&view, out);
  rpcd__reply_view_destroy(&view);
  memset(copy, 0xa5, len);
  free(copy);
  return rc;
}

static void unpack_one(const void *data, size_t len, msgpack_unpacked *u)
{
  size_t off = 0;

  msgpack_unpacked_init(u);
  assert_int_equal(msgpack_unpack_next(u, data, len, &off),
                   MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, len);
}

static void test_result_from_encoder(void **state)
{
  msgpack_sbuffer result;
  msgpack_sbuffer body;
  msgpack_packer pk;
  rpcd_reply *r;
  const void *data;
  size_t len;

  (void)state;
  msgpack_sbuffer_init(&result);
  msgpack_packer_init(&pk, &result, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_str_with_body(&pk, "two", 3);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "k", 1);
  msgpack_pack_true(&pk);

  msgpack_sbuffer_init(&body);
  assert_int_equal(
      rpcd__reply_encode_result(&body, true, 77, result.data, result.size),
      RPCD_OK);
  assert_int_equal(reply_from_body(body.data, body.size, &r), RPCD_OK);
  assert_non_null(r);

  assert_int_equal(rpcd_reply_error_code(r), 0);
  assert_string_equal(rpcd_reply_error_message(r), "");
  assert_false(rpcd_reply_error_data(r, &data, &len));
  assert_null(data);
  assert_int_equal(len, 0);
  assert_true(r->has_msgid);
  assert_int_equal(r->msgid, 77);

  /* msgpack-c packs canonically, so the copy is the same bytes. */
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(len, result.size);
  assert_memory_equal(data, result.data, len);

  rpcd_reply_free(r);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&result);
}

static void test_nil_result(void **state)
{
  msgpack_sbuffer body;
  rpcd_reply *r;
  const void *data;
  size_t len;

  (void)state;
  msgpack_sbuffer_init(&body);
  assert_int_equal(rpcd__reply_encode_result(&body, true, 1, NULL, 0), RPCD_OK);
  assert_int_equal(reply_from_body(body.data, body.size, &r), RPCD_OK);
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(len, 1);
  assert_int_equal(((const unsigned char *)data)[0], 0xc0);
  rpcd_reply_free(r);
  msgpack_sbuffer_destroy(&body);
}

static void test_error_from_encoder(void **state)
{
  msgpack_sbuffer body;
  rpcd_reply *r;
  const void *data;
  size_t len;

  (void)state;
  msgpack_sbuffer_init(&body);
  assert_int_equal(rpcd__reply_encode_error(&body, true, 9,
                                            RPCD_ERR_INVALID_PARAMS,
                                            "param n: must be at most 93"),
                   RPCD_OK);
  assert_int_equal(reply_from_body(body.data, body.size, &r), RPCD_OK);
  assert_int_equal(rpcd_reply_error_code(r), RPCD_ERR_INVALID_PARAMS);
  assert_string_equal(rpcd_reply_error_message(r),
                      "param n: must be at most 93");
  assert_false(rpcd_reply_error_data(r, &data, &len));
  /* An error reply's result is nil. */
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(len, 1);
  assert_int_equal(((const unsigned char *)data)[0], 0xc0);
  assert_int_equal(r->msgid, 9);
  rpcd_reply_free(r);
  msgpack_sbuffer_destroy(&body);
}

/* [1, nil, {"code": 7, "message": "boom", "data": {"retry_after_ms": 250}},
 *  nil], packed by hand. */
static void test_error_with_data_by_hand(void **state)
{
  msgpack_sbuffer body;
  msgpack_sbuffer expect;
  msgpack_packer pk;
  rpcd_reply *r;
  const void *data;
  size_t len;

  (void)state;
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_nil(&pk);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "message", 7);
  msgpack_pack_str_with_body(&pk, "boom", 4);
  msgpack_pack_str_with_body(&pk, "data", 4);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "retry_after_ms", 14);
  msgpack_pack_uint16(&pk, 250);
  msgpack_pack_str_with_body(&pk, "code", 4);
  msgpack_pack_int(&pk, 7);
  msgpack_pack_nil(&pk);

  msgpack_sbuffer_init(&expect);
  msgpack_packer_init(&pk, &expect, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "retry_after_ms", 14);
  msgpack_pack_uint16(&pk, 250);

  assert_int_equal(reply_from_body(body.data, body.size, &r), RPCD_OK);
  assert_int_equal(rpcd_reply_error_code(r), 7);
  assert_string_equal(rpcd_reply_error_message(r), "boom");
  assert_false(r->has_msgid);
  assert_true(rpcd_reply_error_data(r, &data, &len));
  assert_int_equal(len, expect.size);
  assert_memory_equal(data, expect.data, len);
  /* NULL out-pointers are allowed when only the presence matters. */
  assert_true(rpcd_reply_error_data(r, NULL, NULL));

  rpcd_reply_free(r);
  msgpack_sbuffer_destroy(&expect);
  msgpack_sbuffer_destroy(&body);
}

/* A message that is not NUL-terminated in the body is copied exactly, and
 * a result packed with a wider encoding than needed keeps its value. */
static void test_exact_copies_by_hand(void **state)
{
  /* [1, 3, {"code": -32000, "message": "ab"}, nil] followed in memory by
   * other bytes: "ab" is followed by 0xc0, not by a NUL. */
  static const unsigned char err_body[] = {
      0x94, 0x01, 0x03, 0x82, 0xa4, 'c', 'o', 'd', 'e',  0xd1, 0x83, 0x00,
      0xa7, 'm',  'e',  's',  's',  'a', 'g', 'e', 0xa2, 'a',  'b',  0xc0};
  /* [1, 4, nil, 5] with 5 as uint32 (0xce 00 00 00 05). */
  static const unsigned char wide_body[] = {0x94, 0x01, 0x04, 0xc0, 0xce,
                                            0x00, 0x00, 0x00, 0x05};
  msgpack_unpacked u;
  rpcd_reply *r;
  const void *data;
  size_t len;

  (void)state;
  assert_int_equal(reply_from_body(err_body, sizeof(err_body), &r), RPCD_OK);
  assert_int_equal(rpcd_reply_error_code(r), RPCD_ERR_HANDLER_CRASHED);
  assert_string_equal(rpcd_reply_error_message(r), "ab");
  assert_int_equal(strlen(rpcd_reply_error_message(r)), 2);
  rpcd_reply_free(r);

  assert_int_equal(reply_from_body(wide_body, sizeof(wide_body), &r), RPCD_OK);
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  unpack_one(data, len, &u);
  assert_int_equal(u.data.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(u.data.via.u64, 5);
  msgpack_unpacked_destroy(&u);
  assert_int_equal(r->msgid, 4);
  rpcd_reply_free(r);
}

/* A result much larger than the reply struct: a 100 kB bin in an array. */
static void test_large_result(void **state)
{
  enum { N = 100000 };
  msgpack_sbuffer result;
  msgpack_sbuffer body;
  msgpack_packer pk;
  msgpack_unpacked u;
  unsigned char *blob;
  rpcd_reply *r;
  const void *data;
  size_t len;
  size_t i;

  (void)state;
  blob = malloc(N);
  assert_non_null(blob);
  for (i = 0; i < N; i++)
    blob[i] = (unsigned char)(i * 31);
  msgpack_sbuffer_init(&result);
  msgpack_packer_init(&pk, &result, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_bin_with_body(&pk, blob, N);
  msgpack_sbuffer_init(&body);
  assert_int_equal(
      rpcd__reply_encode_result(&body, true, 2, result.data, result.size),
      RPCD_OK);
  assert_int_equal(reply_from_body(body.data, body.size, &r), RPCD_OK);
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(len, result.size);
  unpack_one(data, len, &u);
  assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(u.data.via.array.ptr[0].type, MSGPACK_OBJECT_BIN);
  assert_int_equal(u.data.via.array.ptr[0].via.bin.size, N);
  assert_memory_equal(u.data.via.array.ptr[0].via.bin.ptr, blob, N);
  msgpack_unpacked_destroy(&u);
  rpcd_reply_free(r);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&result);
  free(blob);
}

/* Bodies that are not replies never become one. */
static void test_malformed_bodies(void **state)
{
  static const unsigned char not_array[] = {0xa3, 'a', 'b', 'c'};
  static const unsigned char wrong_type[] = {0x94, 0x00, 0x01, 0xc0, 0xc0};
  static const unsigned char truncated[] = {0x94, 0x01, 0x01, 0xc0};
  static const unsigned char zero_code[] = {0x94, 0x01, 0x01, 0x81, 0xa4, 'c',
                                            'o',  'd',  'e',  0x00, 0xc0};
  rpcd_reply *r = (rpcd_reply *)1;

  (void)state;
  assert_int_equal(reply_from_body(not_array, sizeof(not_array), &r),
                   RPCD_EPROTO);
  assert_null(r);
  assert_int_equal(reply_from_body(wrong_type, sizeof(wrong_type), &r),
                   RPCD_EPROTO);
  assert_int_equal(reply_from_body(truncated, sizeof(truncated), &r),
                   RPCD_EPROTO);
  assert_int_equal(reply_from_body(zero_code, sizeof(zero_code), &r),
                   RPCD_EPROTO);
  assert_int_equal(reply_from_body("", 0, &r), RPCD_EPROTO);
  assert_null(r);
}

/* Decode body and check it against the request msgid `msgid`. */
static int check_body(const void *body, size_t len, uint32_t msgid, char *why,
                      size_t whylen)
{
  rpcd_reply_view view;
  int rc;

  rc = rpcd__reply_decode(body, len, &view, why, whylen);
  if (rc == RPCD_OK)
    rc = rpcd__reply_check(&view, msgid, why, whylen);
  rpcd__reply_view_destroy(&view);
  return rc;
}

/* A reply answers its request: same msgid, and a nil msgid only on an
 * error reply (to a request too broken to read one). */
static void test_check_msgid(void **state)
{
  /* [1, nil, nil, 5]: a success nobody can match to a request */
  static const unsigned char nil_ok[] = {0x94, 0x01, 0xc0, 0xc0, 0x05};
  /* [1, nil, {"code": -32700, "message": "x"}, nil] */
  static const unsigned char nil_err[] = {
      0x94, 0x01, 0xc0, 0x82, 0xa4, 'c', 'o', 'd', 'e',  0xd1, 0x80, 0x44,
      0xa7, 'm',  'e',  's',  's',  'a', 'g', 'e', 0xa1, 'x',  0xc0};
  /* [1, 7, nil, 5] */
  static const unsigned char seven_ok[] = {0x94, 0x01, 0x07, 0xc0, 0x05};
  char why[256];

  (void)state;
  why[0] = '\0';
  assert_int_equal(check_body(nil_ok, sizeof(nil_ok), 7, why, sizeof(why)),
                   RPCD_EPROTO);
  assert_non_null(strstr(why, "nil msgid"));
  assert_int_equal(check_body(nil_err, sizeof(nil_err), 7, why, sizeof(why)),
                   RPCD_OK);
  assert_int_equal(check_body(seven_ok, sizeof(seven_ok), 7, why, sizeof(why)),
                   RPCD_OK);
  assert_int_equal(check_body(seven_ok, sizeof(seven_ok), 8, why, sizeof(why)),
                   RPCD_EPROTO);
  assert_non_null(strstr(why, "msgid 7 does not match the request's 8"));
  /* NULL err buffer is fine */
  assert_int_equal(check_body(nil_ok, sizeof(nil_ok), 7, NULL, 0), RPCD_EPROTO);
}

static void test_null_reply(void **state)
{
  const void *data = (const void *)1;
  size_t len = 1;

  (void)state;
  rpcd_reply_free(NULL);
  assert_int_equal(rpcd_reply_error_code(NULL), 0);
  assert_string_equal(rpcd_reply_error_message(NULL), "");
  assert_false(rpcd_reply_error_data(NULL, &data, &len));
  assert_null(data);
  assert_int_equal(len, 0);
  assert_int_equal(rpcd_reply_result(NULL, &data, &len), RPCD_EINVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_result_from_encoder),
      cmocka_unit_test(test_nil_result),
      cmocka_unit_test(test_error_from_encoder),
      cmocka_unit_test(test_error_with_data_by_hand),
      cmocka_unit_test(test_exact_copies_by_hand),
      cmocka_unit_test(test_large_result),
      cmocka_unit_test(test_malformed_bodies),
      cmocka_unit_test(test_check_msgid),
      cmocka_unit_test(test_null_reply),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
