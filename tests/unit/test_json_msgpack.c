/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rpcctl's JSON <-> msgpack conversion (tools/json_msgpack.c):
 * every JSON type packs to the msgpack type rpcd handlers expect, integers up
 * to UINT64_MAX survive both ways, and the JSON written for any msgpack value
 * (floats, control characters, invalid UTF-8, bin, ext, non-string keys) is
 * exact and valid, and what JSON cannot hold (NaN, keys that are not
 * strings or appear twice, bytes that are not UTF-8) is reported; and the
 * conversions of a typed method's arguments and their check against its
 * rpc.describe answer (tools/typed_args.c, common/param_check.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "json_msgpack.h"
#include "rpcd_proto.h"
#include "typed_args.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

typedef struct packed {
  msgpack_sbuffer sbuf;
  msgpack_unpacked up;
  int rc;
  char err[512];
} packed;

/* Pack `text`; on success unpack it again (exactly one object). */
static void pack_text(packed *p, const char *text, unsigned flags)
{
  msgpack_packer pk;
  size_t off = 0;

  msgpack_sbuffer_init(&p->sbuf);
  msgpack_unpacked_init(&p->up);
  msgpack_packer_init(&pk, &p->sbuf, msgpack_sbuffer_write);
  p->err[0] = '\0';
  p->rc =
      rpcd__json_pack(&pk, text, flags, "argument 1", p->err, sizeof(p->err));
  if (p->rc != RPCD_OK)
    return;
  assert_int_equal(
      msgpack_unpack_next(&p->up, p->sbuf.data, p->sbuf.size, &off),
      MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, p->sbuf.size);
}

static void packed_destroy(packed *p)
{
  msgpack_unpacked_destroy(&p->up);
  msgpack_sbuffer_destroy(&p->sbuf);
}

/* Pack `text`, which must be valid, and return its object (in p). */
static const msgpack_object *pack_ok(packed *p, const char *text)
{
  pack_text(p, text, 0);
  if (p->rc != RPCD_OK)
    fail_msg("packing %s failed: %s", text, p->err);
  return &p->up.data;
}

static void assert_str_obj(const msgpack_object *o, const char *s, size_t n)
{
  assert_int_equal(o->type, MSGPACK_OBJECT_STR);
  assert_int_equal(o->via.str.size, n);
  assert_memory_equal(o->via.str.ptr, s, n);
}

/* Dump the one object in sbuf; returns malloc'd text. */
static char *dump_sbuf(const msgpack_sbuffer *sbuf, unsigned flags)
{
  msgpack_unpacked up;
  rpcd_json_buf out;
  size_t off = 0;
  char *text;

  msgpack_unpacked_init(&up);
  assert_int_equal(msgpack_unpack_next(&up, sbuf->data, sbuf->size, &off),
                   MSGPACK_UNPACK_SUCCESS);
  rpcd__json_buf_init(&out);
  assert_int_equal(rpcd__json_dump(&out, &up.data, flags), RPCD_OK);
  assert_non_null(out.data);
  assert_int_equal(strlen(out.data), out.len);
  text = strdup(out.data);
  assert_non_null(text);
  rpcd__json_buf_destroy(&out);
  msgpack_unpacked_destroy(&up);
  return text;
}

/* A packer on a fresh buffer, for building msgpack input to dump. */
typedef struct builder {
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
} builder;

static void builder_init(builder *b)
{
  msgpack_sbuffer_init(&b->sbuf);
  msgpack_packer_init(&b->pk, &b->sbuf, msgpack_sbuffer_write);
}

/* Dump what b holds, compare with `expected`, and reset b. */
static void assert_dumps(builder *b, unsigned flags, const char *expected)
{
  char *text = dump_sbuf(&b->sbuf, flags);

  assert_string_equal(text, expected);
  free(text);
  msgpack_sbuffer_clear(&b->sbuf);
}

static void pack_str(builder *b, const char *s, size_t n)
{
  assert_int_equal(msgpack_pack_str(&b->pk, n), 0);
  assert_int_equal(msgpack_pack_str_body(&b->pk, s, n), 0);
}

/* ------------------------------------------------------------------------ */
/* JSON -> msgpack                                                           */

static void test_pack_scalars(void **state)
{
  packed p;
  const msgpack_object *o;

  (void)state;
  o = pack_ok(&p, "30");
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(o->via.u64, 30);
  /* the smallest msgpack form: one positive fixint byte */
  assert_int_equal(p.sbuf.size, 1);
  packed_destroy(&p);

  o = pack_ok(&p, "-5");
  assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
  assert_true(o->via.i64 == -5);
  packed_destroy(&p);

  o = pack_ok(&p, "0");
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(o->via.u64, 0);
  packed_destroy(&p);

  o = pack_ok(&p, "1.5");
  assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
  assert_true(o->via.f64 == 1.5);
  packed_destroy(&p);

  o = pack_ok(&p, "-2.5e-3");
  assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
  assert_true(o->via.f64 == -2.5e-3);
  packed_destroy(&p);

  /* 1.0 is a real in JSON text and stays a float */
  o = pack_ok(&p, "1.0");
  assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
  assert_true(o->via.f64 == 1.0);
  packed_destroy(&p);

  o = pack_ok(&p, "\"x\"");
  assert_str_obj(o, "x", 1);
  packed_destroy(&p);

  o = pack_ok(&p, "\"\"");
  assert_str_obj(o, "", 0);
  packed_destroy(&p);

  o = pack_ok(&p, " \"caf\\u00e9 \\n\" ");
  assert_str_obj(o, "caf\xc3\xa9 \n", 7);
  packed_destroy(&p);

  o = pack_ok(&p, "\"a\\u0000b\"");
  assert_str_obj(o, "a\0b", 3);
  packed_destroy(&p);

  o = pack_ok(&p, "true");
  assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(o->via.boolean);
  packed_destroy(&p);

  o = pack_ok(&p, "false");
  assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
  assert_false(o->via.boolean);
  packed_destroy(&p);

  o = pack_ok(&p, "null");
  assert_int_equal(o->type, MSGPACK_OBJECT_NIL);
  packed_destroy(&p);
}

static void test_pack_containers(void **state)
{
  packed p;
  const msgpack_object *o;
  const msgpack_object *inner;
  const msgpack_object_kv *kv;

  (void)state;
  o = pack_ok(&p, "[]");
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 0);
  packed_destroy(&p);

  o = pack_ok(&p, "{}");
  assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(o->via.map.size, 0);
  packed_destroy(&p);

  o = pack_ok(&p, "[1, [2, {\"a\": [true, null]}], \"s\"]");
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 3);
  assert_int_equal(o->via.array.ptr[0].via.u64, 1);
  inner = &o->via.array.ptr[1];
  assert_int_equal(inner->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(inner->via.array.size, 2);
  assert_int_equal(inner->via.array.ptr[0].via.u64, 2);
  inner = &inner->via.array.ptr[1];
  assert_int_equal(inner->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(inner->via.map.size, 1);
  kv = &inner->via.map.ptr[0];
  assert_str_obj(&kv->key, "a", 1);
  assert_int_equal(kv->val.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(kv->val.via.array.size, 2);
  assert_int_equal(kv->val.via.array.ptr[0].type, MSGPACK_OBJECT_BOOLEAN);
  assert_int_equal(kv->val.via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
  assert_str_obj(&o->via.array.ptr[2], "s", 1);
  packed_destroy(&p);

  /* members keep the order of the text */
  o = pack_ok(&p, "{\"z\": 1, \"a\": 2, \"m\": 3}");
  assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(o->via.map.size, 3);
  assert_str_obj(&o->via.map.ptr[0].key, "z", 1);
  assert_int_equal(o->via.map.ptr[0].val.via.u64, 1);
  assert_str_obj(&o->via.map.ptr[1].key, "a", 1);
  assert_int_equal(o->via.map.ptr[1].val.via.u64, 2);
  assert_str_obj(&o->via.map.ptr[2].key, "m", 1);
  assert_int_equal(o->via.map.ptr[2].val.via.u64, 3);
  packed_destroy(&p);
}

static void test_pack_int_limits(void **state)
{
  packed p;
  const msgpack_object *o;

  (void)state;
  o = pack_ok(&p, "18446744073709551615");
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_true(o->via.u64 == UINT64_MAX);
  packed_destroy(&p);

  o = pack_ok(&p, "9223372036854775808");
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_true(o->via.u64 == (uint64_t)INT64_MAX + 1);
  packed_destroy(&p);

  o = pack_ok(&p, "9223372036854775807");
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_true(o->via.u64 == (uint64_t)INT64_MAX);
  packed_destroy(&p);

  o = pack_ok(&p, "-9223372036854775808");
  assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
  assert_true(o->via.i64 == INT64_MIN);
  packed_destroy(&p);

  /* big integers anywhere in the text, numbers around them unchanged */
  o = pack_ok(&p, "[1, 18446744073709551615, {\"k\": 12200160415121876738,"
                  " \"f\": 2.5}, \"18446744073709551615\", -7,"
                  " [\"q\\\"\", 9223372036854775808]]");
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 6);
  assert_true(o->via.array.ptr[0].via.u64 == 1);
  assert_int_equal(o->via.array.ptr[1].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_true(o->via.array.ptr[1].via.u64 == UINT64_MAX);
  assert_int_equal(o->via.array.ptr[2].type, MSGPACK_OBJECT_MAP);
  assert_true(o->via.array.ptr[2].via.map.ptr[0].val.via.u64 ==
              UINT64_C(12200160415121876738));
  assert_int_equal(o->via.array.ptr[2].via.map.ptr[1].val.type,
                   MSGPACK_OBJECT_FLOAT64);
  assert_true(o->via.array.ptr[2].via.map.ptr[1].val.via.f64 == 2.5);
  /* a big number inside a string is left alone */
  assert_str_obj(&o->via.array.ptr[3], "18446744073709551615", 20);
  assert_true(o->via.array.ptr[4].via.i64 == -7);
  assert_str_obj(&o->via.array.ptr[5].via.array.ptr[0], "q\"", 2);
  assert_true(o->via.array.ptr[5].via.array.ptr[1].via.u64 ==
              (uint64_t)INT64_MAX + 1);
  packed_destroy(&p);
}

static void test_pack_rejects_out_of_range(void **state)
{
  packed p;

  (void)state;
  pack_text(&p, "18446744073709551616", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "too big integer"));
  packed_destroy(&p);

  pack_text(&p, "-9223372036854775809", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "too big negative integer"));
  packed_destroy(&p);

  pack_text(&p, "[1, 99999999999999999999999]", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  packed_destroy(&p);

  /* a leading zero is not JSON even when the value would fit uint64 */
  pack_text(&p, "09223372036854775808", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  packed_destroy(&p);
}

static void test_pack_bad_literals(void **state)
{
  packed p;

  (void)state;
  pack_text(&p, "hello", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_int_equal(p.sbuf.size, 0); /* nothing packed */
  assert_string_equal(p.err,
                      "invalid JSON in argument 1: invalid token near 'hello' "
                      "(line 1, column 5); strings need double quotes, e.g. "
                      "'\"hello\"'");
  packed_destroy(&p);

  pack_text(&p, "[1,", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_int_equal(p.sbuf.size, 0);
  assert_non_null(strstr(p.err, "argument 1"));
  assert_non_null(strstr(p.err, "expected near end of file"));
  assert_null(strstr(p.err, "double quotes"));
  packed_destroy(&p);

  pack_text(&p, "", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "invalid JSON in argument 1"));
  packed_destroy(&p);

  pack_text(&p, "1 2", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "column 3"));
  packed_destroy(&p);

  pack_text(&p, "{\"a\": 1, \"a\": 2}", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "duplicate object key"));
  packed_destroy(&p);

  pack_text(&p, "'single'", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  packed_destroy(&p);

  pack_text(&p, "\"\\ud800\"", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "invalid Unicode"));
  packed_destroy(&p);

  pack_text(&p, "NaN", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  packed_destroy(&p);

  /* positions stay those of the original text when a big integer is
   * replaced before parsing */
  pack_text(&p, "[18446744073709551615 x]", 0);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "column 23"));
  packed_destroy(&p);
}

static void test_pack_object_only(void **state)
{
  packed p;

  (void)state;
  pack_text(&p, "{\"n\": 30}", RPCD_JSON_OBJECT_ONLY);
  assert_int_equal(p.rc, RPCD_OK);
  assert_int_equal(p.up.data.type, MSGPACK_OBJECT_MAP);
  packed_destroy(&p);

  pack_text(&p, "[30]", RPCD_JSON_OBJECT_ONLY);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_int_equal(p.sbuf.size, 0);
  assert_string_equal(p.err, "argument 1 must be a JSON object, not an array");
  packed_destroy(&p);

  pack_text(&p, "\"s\"", RPCD_JSON_OBJECT_ONLY);
  assert_int_equal(p.rc, RPCD_EINVAL);
  assert_non_null(strstr(p.err, "not a string"));
  packed_destroy(&p);
}

/* ------------------------------------------------------------------------ */
/* msgpack -> JSON                                                           */

static void test_dump_scalars(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  msgpack_pack_nil(&b.pk);
  assert_dumps(&b, 0, "null");
  msgpack_pack_true(&b.pk);
  assert_dumps(&b, 0, "true");
  msgpack_pack_false(&b.pk);
  assert_dumps(&b, 0, "false");
  msgpack_pack_uint64(&b.pk, 0);
  assert_dumps(&b, 0, "0");
  msgpack_pack_uint64(&b.pk, 832040);
  assert_dumps(&b, 0, "832040");
  msgpack_pack_uint64(&b.pk, UINT64_C(12200160415121876738)); /* fib(93) */
  assert_dumps(&b, 0, "12200160415121876738");
  msgpack_pack_uint64(&b.pk, UINT64_MAX);
  assert_dumps(&b, 0, "18446744073709551615");
  msgpack_pack_int64(&b.pk, -1);
  assert_dumps(&b, 0, "-1");
  msgpack_pack_int64(&b.pk, INT64_MIN);
  assert_dumps(&b, 0, "-9223372036854775808");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_floats(void **state)
{
  builder b;
  char *text;

  (void)state;
  builder_init(&b);
  msgpack_pack_double(&b.pk, 1.5);
  assert_dumps(&b, 0, "1.5");
  msgpack_pack_double(&b.pk, 0.1);
  assert_dumps(&b, 0, "0.1");
  /* a float that looks like an integer keeps a fraction */
  msgpack_pack_double(&b.pk, 1.0);
  assert_dumps(&b, 0, "1.0");
  msgpack_pack_double(&b.pk, -0.0);
  assert_dumps(&b, 0, "-0.0");
  msgpack_pack_double(&b.pk, 1e300);
  assert_dumps(&b, 0, "1e+300");
  msgpack_pack_double(&b.pk, -2.5e-10);
  assert_dumps(&b, 0, "-2.5e-10");
  msgpack_pack_double(&b.pk, 0.1 + 0.2);
  assert_dumps(&b, 0, "0.30000000000000004");
  msgpack_pack_double(&b.pk, 1.0 / 3.0);
  assert_dumps(&b, 0, "0.3333333333333333");
  /* JSON has no NaN or infinity */
  msgpack_pack_double(&b.pk, NAN);
  assert_dumps(&b, 0, "null");
  msgpack_pack_double(&b.pk, INFINITY);
  assert_dumps(&b, 0, "null");
  msgpack_pack_double(&b.pk, -INFINITY);
  assert_dumps(&b, 0, "null");
  /* float32 prints its own shortest form, not the double's */
  msgpack_pack_float(&b.pk, 0.1f);
  assert_dumps(&b, 0, "0.1");
  msgpack_pack_float(&b.pk, 3.0f);
  assert_dumps(&b, 0, "3.0");

  /* extremes read back exactly */
  msgpack_pack_double(&b.pk, DBL_MAX);
  text = dump_sbuf(&b.sbuf, 0);
  assert_true(strtod(text, NULL) == DBL_MAX);
  free(text);
  msgpack_sbuffer_clear(&b.sbuf);
  msgpack_pack_double(&b.pk, DBL_TRUE_MIN);
  text = dump_sbuf(&b.sbuf, 0);
  assert_true(strtod(text, NULL) == DBL_TRUE_MIN);
  free(text);
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_string_escapes(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  pack_str(&b, "", 0);
  assert_dumps(&b, 0, "\"\"");
  pack_str(&b, "pong", 4);
  assert_dumps(&b, 0, "\"pong\"");
  pack_str(&b, "a\"b\\c/d", 7);
  assert_dumps(&b, 0, "\"a\\\"b\\\\c/d\"");
  pack_str(&b, "\b\f\n\r\t", 5);
  assert_dumps(&b, 0, "\"\\b\\f\\n\\r\\t\"");
  pack_str(&b, "\x01\x1f\x00z\x7f", 5);
  assert_dumps(&b, 0, "\"\\u0001\\u001f\\u0000z\x7f\"");
  /* valid UTF-8 (2, 3 and 4 byte forms) is written as it is */
  pack_str(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
  assert_dumps(&b, 0, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  pack_str(&b, "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7); /* U+FFFF, U+10FFFF */
  assert_dumps(&b, 0, "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_invalid_utf8(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  pack_str(&b, "a\377b", 3); /* 0xff */
  assert_dumps(&b, 0, "\"a\\ufffdb\"");
  /* a lone continuation byte */
  pack_str(&b, "\x80", 1);
  assert_dumps(&b, 0, "\"\\ufffd\"");
  /* overlong "/" */
  pack_str(&b, "\xc0\xaf", 2);
  assert_dumps(&b, 0, "\"\\ufffd\\ufffd\"");
  /* overlong 3-byte form */
  pack_str(&b, "\xe0\x80\xaf", 3);
  assert_dumps(&b, 0, "\"\\ufffd\\ufffd\\ufffd\"");
  /* UTF-16 surrogate U+D800 */
  pack_str(&b, "\xed\xa0\x80", 3);
  assert_dumps(&b, 0, "\"\\ufffd\\ufffd\\ufffd\"");
  /* above U+10FFFF */
  pack_str(&b, "\xf4\x90\x80\x80", 4);
  assert_dumps(&b, 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
  /* truncated at the end, then a valid sequence after a bad lead */
  pack_str(&b, "x\xe2\x82", 3);
  assert_dumps(&b, 0, "\"x\\ufffd\\ufffd\"");
  pack_str(&b, "\xe2\xc3\xa9", 3);
  assert_dumps(&b, 0, "\"\\ufffd\xc3\xa9\"");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_bin_ext(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  msgpack_pack_bin(&b.pk, 0);
  assert_dumps(&b, 0, "\"\"");
  msgpack_pack_bin_with_body(&b.pk, "f", 1);
  assert_dumps(&b, 0, "\"Zg==\"");
  msgpack_pack_bin_with_body(&b.pk, "fo", 2);
  assert_dumps(&b, 0, "\"Zm8=\"");
  msgpack_pack_bin_with_body(&b.pk, "foo", 3);
  assert_dumps(&b, 0, "\"Zm9v\"");
  msgpack_pack_bin_with_body(&b.pk, "foobar", 6);
  assert_dumps(&b, 0, "\"Zm9vYmFy\"");
  msgpack_pack_bin_with_body(&b.pk, "\xfb\xff\xfe\x00", 4);
  assert_dumps(&b, 0, "\"+//+AA==\"");

  msgpack_pack_ext_with_body(&b.pk, "ab", 2, 5);
  assert_dumps(&b, 0, "{\"ext\":5,\"data\":\"YWI=\"}");
  msgpack_pack_ext_with_body(&b.pk, "\x00\x00\x00\x01", 4, -1);
  assert_dumps(&b, 0, "{\"ext\":-1,\"data\":\"AAAAAQ==\"}");
  msgpack_pack_ext_with_body(&b.pk, "ab", 2, 5);
  assert_dumps(&b, RPCD_JSON_PRETTY,
               "{\n  \"ext\": 5,\n  \"data\": \"YWI=\"\n}");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_containers(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  msgpack_pack_array(&b.pk, 0);
  assert_dumps(&b, 0, "[]");
  msgpack_pack_map(&b.pk, 0);
  assert_dumps(&b, 0, "{}");

  /* [1, [2, []], {}, "x"] */
  msgpack_pack_array(&b.pk, 4);
  msgpack_pack_int(&b.pk, 1);
  msgpack_pack_array(&b.pk, 2);
  msgpack_pack_int(&b.pk, 2);
  msgpack_pack_array(&b.pk, 0);
  msgpack_pack_map(&b.pk, 0);
  pack_str(&b, "x", 1);
  assert_dumps(&b, 0, "[1,[2,[]],{},\"x\"]");

  /* map keys that are not strings become their JSON text */
  msgpack_pack_map(&b.pk, 5);
  msgpack_pack_int(&b.pk, 1);
  pack_str(&b, "a", 1);
  msgpack_pack_array(&b.pk, 2);
  pack_str(&b, "x", 1);
  msgpack_pack_int(&b.pk, -2);
  msgpack_pack_true(&b.pk);
  pack_str(&b, "k\n", 2);
  msgpack_pack_nil(&b.pk);
  msgpack_pack_nil(&b.pk);
  msgpack_pack_double(&b.pk, 2.0);
  msgpack_pack_bin_with_body(&b.pk, "foo", 3);
  msgpack_pack_int(&b.pk, 0);
  assert_dumps(&b, 0,
               "{\"1\":\"a\",\"[\\\"x\\\",-2]\":true,\"k\\n\":null,"
               "\"null\":2.0,\"\\\"Zm9v\\\"\":0}");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_dump_pretty(void **state)
{
  builder b;

  (void)state;
  builder_init(&b);
  /* {"a": [1, 2], "b": {}, "c": []} */
  msgpack_pack_map(&b.pk, 3);
  pack_str(&b, "a", 1);
  msgpack_pack_array(&b.pk, 2);
  msgpack_pack_int(&b.pk, 1);
  msgpack_pack_int(&b.pk, 2);
  pack_str(&b, "b", 1);
  msgpack_pack_map(&b.pk, 0);
  pack_str(&b, "c", 1);
  msgpack_pack_array(&b.pk, 0);
  assert_dumps(&b, RPCD_JSON_PRETTY,
               "{\n"
               "  \"a\": [\n"
               "    1,\n"
               "    2\n"
               "  ],\n"
               "  \"b\": {},\n"
               "  \"c\": []\n"
               "}");
  msgpack_pack_int(&b.pk, 7);
  assert_dumps(&b, RPCD_JSON_PRETTY, "7");
  msgpack_sbuffer_destroy(&b.sbuf);
}

/* JSON text -> msgpack -> the same compact JSON text. */
static void test_round_trip(void **state)
{
  static const char *const texts[] = {
      "832040",
      "-9223372036854775808",
      "18446744073709551615",
      "[12200160415121876738,-1,0.5,\"s\",true,false,null]",
      "{\"name\":\"fib\",\"plugin\":\"fib\",\"version\":\"1.0.0\"}",
      "[[[[[[[[1]]]]]]]]",
      "{\"a\":{\"b\":{\"c\":[{},[],\"\\u0001\\\"\\\\\"]}}}",
      "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
      "1e+300",
      "-0.0",
      "2.0",
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    packed p;
    char *text;

    pack_ok(&p, texts[i]);
    text = dump_sbuf(&p.sbuf, 0);
    assert_string_equal(text, texts[i]);
    free(text);
    packed_destroy(&p);
  }
}

/* A chain of one-element arrays, `levels` deep, ending in nil. */
static msgpack_object *make_chain(size_t levels)
{
  msgpack_object *objs = calloc(levels + 1, sizeof(*objs));
  size_t i;

  assert_non_null(objs);
  for (i = 0; i < levels; i++) {
    objs[i].type = MSGPACK_OBJECT_ARRAY;
    objs[i].via.array.size = 1;
    objs[i].via.array.ptr = &objs[i + 1];
  }
  objs[levels].type = MSGPACK_OBJECT_NIL;
  return objs;
}

static void test_dump_limits(void **state)
{
  msgpack_object *objs;
  msgpack_object bad;
  rpcd_json_buf out;

  (void)state;
  /* RPCD_JSON_MAX_DEPTH arrays around nil: the deepest accepted */
  objs = make_chain(RPCD_JSON_MAX_DEPTH);
  rpcd__json_buf_init(&out);
  assert_int_equal(rpcd__json_dump(&out, objs, 0), RPCD_OK);
  assert_int_equal(out.len, 2 * RPCD_JSON_MAX_DEPTH + 4);
  rpcd__json_buf_destroy(&out);
  free(objs);

  objs = make_chain(RPCD_JSON_MAX_DEPTH + 1);
  assert_int_equal(rpcd__json_dump(&out, objs, 0), RPCD_EINVAL);
  rpcd__json_buf_destroy(&out);
  free(objs);

  memset(&bad, 0, sizeof(bad));
  bad.type = (msgpack_object_type)0x7f;
  assert_int_equal(rpcd__json_dump(&out, &bad, 0), RPCD_EINVAL);
  rpcd__json_buf_destroy(&out);
  assert_null(out.data);
  assert_int_equal(out.len, 0);
}

/* ------------------------------------------------------------------------ */
/* What JSON cannot hold                                                     */

/* Dump what b holds with a loss report, compare the text with `expected`
 * (unless NULL), and reset b. */
static void dump_loss(builder *b, unsigned flags, const char *expected,
                      rpcd_json_loss *loss)
{
  msgpack_unpacked up;
  rpcd_json_buf out;
  size_t off = 0;

  msgpack_unpacked_init(&up);
  assert_int_equal(msgpack_unpack_next(&up, b->sbuf.data, b->sbuf.size, &off),
                   MSGPACK_UNPACK_SUCCESS);
  rpcd__json_buf_init(&out);
  memset(loss, 0x5a, sizeof(*loss)); /* zeroed by the dump */
  assert_int_equal(rpcd__json_dump_report(&out, &up.data, flags, loss),
                   RPCD_OK);
  if (expected)
    assert_string_equal(out.data, expected);
  rpcd__json_buf_destroy(&out);
  msgpack_unpacked_destroy(&up);
  msgpack_sbuffer_clear(&b->sbuf);
}

static void test_loss_none(void **state)
{
  rpcd_json_loss loss;
  builder b;

  (void)state;
  builder_init(&b);
  /* [uint64 max, -1, 0.5, "é", bin, ext, {"a": 1, "b": {"a": 2}}] */
  msgpack_pack_array(&b.pk, 7);
  msgpack_pack_uint64(&b.pk, UINT64_MAX);
  msgpack_pack_int(&b.pk, -1);
  msgpack_pack_double(&b.pk, 0.5);
  pack_str(&b, "\xc3\xa9", 2);
  msgpack_pack_bin_with_body(&b.pk, "ab", 2);
  msgpack_pack_ext_with_body(&b.pk, "ab", 2, 5);
  msgpack_pack_map(&b.pk, 2);
  pack_str(&b, "a", 1);
  msgpack_pack_int(&b.pk, 1);
  pack_str(&b, "b", 1);
  msgpack_pack_map(&b.pk, 1);
  pack_str(&b, "a", 1); /* the same key in another map is fine */
  msgpack_pack_int(&b.pk, 2);
  dump_loss(&b, 0,
            "[18446744073709551615,-1,0.5,\"\xc3\xa9\",\"YWI=\","
            "{\"ext\":5,\"data\":\"YWI=\"},{\"a\":1,\"b\":{\"a\":2}}]",
            &loss);
  assert_false(rpcd__json_loss_any(&loss));
  assert_int_equal(loss.nonfinite, 0);
  assert_int_equal(loss.nonstr_keys, 0);
  assert_int_equal(loss.dup_keys, 0);
  assert_int_equal(loss.invalid_utf8, 0);
  /* rpcd__json_dump() takes no report, and a NULL report is fine. */
  msgpack_pack_nil(&b.pk);
  assert_dumps(&b, 0, "null");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_loss_nonfinite(void **state)
{
  rpcd_json_loss loss;
  builder b;

  (void)state;
  builder_init(&b);
  msgpack_pack_double(&b.pk, NAN);
  dump_loss(&b, 0, "null", &loss);
  assert_true(rpcd__json_loss_any(&loss));
  assert_int_equal(loss.nonfinite, 1);

  /* [inf, -inf, float32 NaN, 1.5, {"k": inf}] */
  msgpack_pack_array(&b.pk, 5);
  msgpack_pack_double(&b.pk, INFINITY);
  msgpack_pack_double(&b.pk, -INFINITY);
  msgpack_pack_float(&b.pk, NAN);
  msgpack_pack_double(&b.pk, 1.5);
  msgpack_pack_map(&b.pk, 1);
  pack_str(&b, "k", 1);
  msgpack_pack_double(&b.pk, INFINITY);
  dump_loss(&b, 0, "[null,null,null,1.5,{\"k\":null}]", &loss);
  assert_int_equal(loss.nonfinite, 4);
  assert_int_equal(loss.nonstr_keys, 0);
  assert_int_equal(loss.dup_keys, 0);
  msgpack_sbuffer_destroy(&b.sbuf);
}

/* {1: "a", "1": "b"}: JSON would show the key "1" twice. */
static void test_loss_keys(void **state)
{
  rpcd_json_loss loss;
  builder b;

  (void)state;
  builder_init(&b);
  msgpack_pack_map(&b.pk, 2);
  msgpack_pack_int(&b.pk, 1);
  pack_str(&b, "a", 1);
  pack_str(&b, "1", 1);
  pack_str(&b, "b", 1);
  dump_loss(&b, 0, "{\"1\":\"a\",\"1\":\"b\"}", &loss);
  assert_true(rpcd__json_loss_any(&loss));
  assert_int_equal(loss.nonstr_keys, 1);
  assert_string_equal(loss.key_type, "int");
  assert_int_equal(loss.dup_keys, 1);
  assert_string_equal(loss.dup_key, "\"1\"");

  /* Only a key that is not a string: a loss of type, no duplicate. */
  msgpack_pack_map(&b.pk, 2);
  msgpack_pack_true(&b.pk);
  msgpack_pack_int(&b.pk, 1);
  msgpack_pack_nil(&b.pk);
  msgpack_pack_int(&b.pk, 2);
  dump_loss(&b, 0, "{\"true\":1,\"null\":2}", &loss);
  assert_int_equal(loss.nonstr_keys, 2);
  assert_string_equal(loss.key_type, "bool");
  assert_int_equal(loss.dup_keys, 0);

  /* msgpack allows the same str key twice; JSON readers keep one. In
   * pretty mode too, and inside arrays. */
  msgpack_pack_array(&b.pk, 1);
  msgpack_pack_map(&b.pk, 3);
  pack_str(&b, "a", 1);
  msgpack_pack_int(&b.pk, 1);
  pack_str(&b, "b", 1);
  msgpack_pack_int(&b.pk, 2);
  pack_str(&b, "a", 1);
  msgpack_pack_int(&b.pk, 3);
  dump_loss(&b, RPCD_JSON_PRETTY,
            "[\n  {\n    \"a\": 1,\n    \"b\": 2,\n    \"a\": 3\n  }\n]",
            &loss);
  assert_int_equal(loss.nonstr_keys, 0);
  assert_int_equal(loss.dup_keys, 1);
  assert_string_equal(loss.dup_key, "\"a\"");

  /* A long duplicate key is cut, with "..." */
  {
    char key[200];

    memset(key, 'k', sizeof(key));
    msgpack_pack_map(&b.pk, 2);
    pack_str(&b, key, sizeof(key));
    msgpack_pack_int(&b.pk, 1);
    pack_str(&b, key, sizeof(key));
    msgpack_pack_int(&b.pk, 2);
    dump_loss(&b, 0, NULL, &loss);
    assert_int_equal(loss.dup_keys, 1);
    assert_true(strlen(loss.dup_key) < sizeof(loss.dup_key));
    assert_memory_equal(loss.dup_key, "\"kkk", 4);
    assert_string_equal(loss.dup_key + strlen(loss.dup_key) - 3, "...");
  }
  msgpack_sbuffer_destroy(&b.sbuf);
}

/* Many keys: every duplicate is counted, in linear time. */
static void test_loss_many_keys(void **state)
{
  enum { N = 50000 };
  rpcd_json_loss loss;
  builder b;
  int i;

  (void)state;
  builder_init(&b);
  /* keys 0..N-1 as ints, then "0".."99" as strings: 100 duplicates */
  msgpack_pack_map(&b.pk, N + 100);
  for (i = 0; i < N; i++) {
    msgpack_pack_int(&b.pk, i);
    msgpack_pack_nil(&b.pk);
  }
  for (i = 0; i < 100; i++) {
    char key[8];
    int n = snprintf(key, sizeof(key), "%d", i);

    pack_str(&b, key, (size_t)n);
    msgpack_pack_nil(&b.pk);
  }
  dump_loss(&b, 0, NULL, &loss);
  assert_int_equal(loss.nonstr_keys, N);
  assert_int_equal(loss.dup_keys, 100);
  assert_string_equal(loss.dup_key, "\"0\"");
  msgpack_sbuffer_destroy(&b.sbuf);
}

static void test_loss_invalid_utf8(void **state)
{
  rpcd_json_loss loss;
  builder b;

  (void)state;
  builder_init(&b);
  /* {"\xff": "ok\xfe"}: one bad key, one bad value */
  msgpack_pack_map(&b.pk, 1);
  pack_str(&b, "\xff", 1);
  pack_str(&b, "ok\xfe", 3);
  dump_loss(&b, 0, "{\"\\ufffd\":\"ok\\ufffd\"}", &loss);
  assert_true(rpcd__json_loss_any(&loss));
  assert_int_equal(loss.invalid_utf8, 2);
  assert_int_equal(loss.nonfinite, 0);
  msgpack_sbuffer_destroy(&b.sbuf);
}

/* ------------------------------------------------------------------------ */
/* Typed arguments (tools/typed_args.c)                                      */

/* A descriptor from the JSON text of an rpc.describe answer. */
static void desc_from_json(rpcd_ctl_desc *d, const char *json, int want_rc)
{
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
  rpcd_mp_doc doc;
  char err[256];

  msgpack_sbuffer_init(&sbuf);
  msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
  assert_int_equal(rpcd__json_pack(&pk, json, 0, "desc", err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(
      rpcd__mp_decode(sbuf.data, sbuf.size, 64, &doc, err, sizeof(err)),
      RPCD_OK);
  err[0] = '\0';
  assert_int_equal(rpcd__ctl_desc_read(d, &doc.root, err, sizeof(err)),
                   want_rc);
  rpcd__mp_doc_destroy(&doc);
  msgpack_sbuffer_destroy(&sbuf);
}

static const char fib_desc[] =
    "{\"name\":\"fib\",\"typed\":true,\"params\":[{\"name\":\"n\","
    "\"type\":\"uint\",\"required\":true,\"min\":0,\"max\":93}],"
    "\"result\":\"uint\"}";

static const char mixed_desc[] =
    "{\"typed\":true,\"params\":["
    "{\"name\":\"key\",\"type\":\"str\",\"required\":true,\"max_len\":3},"
    "{\"name\":\"blob\",\"type\":\"bin\",\"required\":false},"
    "{\"name\":\"on\",\"type\":\"bool\",\"required\":false,\"default\":true},"
    "{\"name\":\"x\",\"type\":\"float\",\"required\":false,\"min\":-1.5,"
    "\"max\":2.5},"
    "{\"name\":\"i\",\"type\":\"int\",\"required\":false,\"min\":-5,"
    "\"max\":5},"
    "{\"name\":\"big\",\"type\":\"int\",\"required\":false},"
    "{\"name\":\"u\",\"type\":\"uint\",\"required\":false},"
    "{\"name\":\"a\",\"type\":\"array\",\"required\":false,\"max_len\":2},"
    "{\"name\":\"w\",\"type\":\"frob\",\"required\":false},"
    "{\"name\":\"s\",\"type\":\"str\",\"required\":false,\"max_len\":4,"
    "\"default\":\"zz\"}]}";

/*
 * Check and pack the ARGs (named: the one JSON object) against d; on
 * success, want_json is the JSON text of the params (bin as base64), else
 * want_err the message.
 */
static void check_args(const rpcd_ctl_desc *d, bool named, int n,
                       const char *const *args, const char *want_json,
                       const char *want_err)
{
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
  char err[512] = "";
  int rc;

  msgpack_sbuffer_init(&sbuf);
  msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
  rc = rpcd__ctl_args_pack(&pk, d, named, n, (char **)args, err, sizeof(err));
  if (want_err) {
    if (rc != RPCD_EINVAL || strstr(err, want_err) == NULL)
      fail_msg("args: rc %d, err \"%s\" (want \"%s\")", rc, err, want_err);
    assert_int_equal(sbuf.size, 0);
  } else {
    rpcd_mp_doc doc;
    rpcd_json_buf out;

    if (rc != RPCD_OK)
      fail_msg("args: rc %d, err \"%s\" (want %s)", rc, err, want_json);
    assert_int_equal(
        rpcd__mp_decode(sbuf.data, sbuf.size, 64, &doc, err, sizeof(err)),
        RPCD_OK);
    rpcd__json_buf_init(&out);
    assert_int_equal(rpcd__json_dump(&out, &doc.root, 0), RPCD_OK);
    assert_string_equal(out.data, want_json);
    rpcd__json_buf_destroy(&out);
    rpcd__mp_doc_destroy(&doc);
  }
  msgpack_sbuffer_destroy(&sbuf);
}

#define ARGS(...)                                                              \
  (sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),                    \
      (const char *const[])                                                    \
  {                                                                            \
    __VA_ARGS__                                                                \
  }

static void test_typed_desc_read(void **state)
{
  rpcd_ctl_desc d;
  const rpcd_param *p;
  char text[256];
  char many[64 * 24 + 64];
  size_t off;
  int i;

  (void)state;
  desc_from_json(&d, fib_desc, RPCD_OK);
  assert_true(d.spec.typed);
  assert_int_equal(d.spec.nparams, 1);
  assert_int_equal(d.spec.result, RPCD_TYPE_UINT);
  p = &d.spec.params[0];
  assert_string_equal(p->name, "n");
  assert_int_equal(p->type, RPCD_TYPE_UINT);
  assert_int_equal(p->flags, RPCD_PARAM_RANGE); /* required: not OPTIONAL */
  assert_int_equal(p->min_u, 0);
  assert_int_equal(p->max_u, 93);
  assert_int_equal(rpcd__ctl_param_text(&d, 0, text, sizeof(text)), RPCD_OK);
  assert_string_equal(text, "uint, required, range 0..93");
  rpcd__ctl_desc_free(&d);

  desc_from_json(&d, mixed_desc, RPCD_OK);
  assert_int_equal(d.spec.nparams, 10);
  rpcd__ctl_param_text(&d, 0, text, sizeof(text));
  assert_string_equal(text, "str, required, max length 3");
  assert_int_equal(d.spec.params[0].max_len, 3);
  rpcd__ctl_param_text(&d, 2, text, sizeof(text));
  assert_string_equal(text, "bool, optional, default true");
  p = &d.spec.params[2];
  assert_int_equal(p->flags, RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT);
  assert_int_equal(p->def_i, 1);
  rpcd__ctl_param_text(&d, 3, text, sizeof(text));
  assert_string_equal(text, "float, optional, range -1.5..2.5");
  assert_true(d.spec.params[3].min_f == -1.5 && d.spec.params[3].max_f == 2.5);
  assert_int_equal(d.spec.params[4].min_i, -5);
  assert_int_equal(d.spec.params[4].max_i, 5);
  rpcd__ctl_param_text(&d, 8, text, sizeof(text));
  assert_string_equal(text, "frob, optional");
  /* unknown: any, not checked */
  assert_int_equal(d.spec.params[8].type, RPCD_TYPE_ANY);
  rpcd__ctl_param_text(&d, 9, text, sizeof(text));
  assert_string_equal(text, "str, optional, max length 4, default \"zz\"");
  p = &d.spec.params[9];
  assert_true(p->flags & RPCD_PARAM_DEFAULT);
  assert_int_equal(p->def_len, 2);
  assert_memory_equal(p->def_s, "zz", 2);
  rpcd__ctl_desc_free(&d);

  /* a range or default that does not fit the type is left out */
  desc_from_json(&d,
                 "{\"typed\":true,\"params\":[{\"name\":\"u\",\"type\":"
                 "\"uint\",\"min\":-1,\"max\":5,\"default\":\"x\"}]}",
                 RPCD_OK);
  assert_int_equal(d.spec.params[0].flags, RPCD_PARAM_OPTIONAL);
  rpcd__ctl_param_text(&d, 0, text, sizeof(text));
  assert_string_equal(text, "uint, optional, default \"x\"");
  rpcd__ctl_desc_free(&d);

  /* untyped, or fields an older server lacks: not typed, nothing checked */
  desc_from_json(&d, "{\"name\":\"e\",\"typed\":false,\"params\":[]}", RPCD_OK);
  assert_false(d.spec.typed);
  rpcd__ctl_desc_free(&d);
  desc_from_json(&d, "{\"name\":\"e\"}", RPCD_OK);
  assert_false(d.spec.typed);
  rpcd__ctl_desc_free(&d);
  /* not a descriptor */
  desc_from_json(&d, "\"ok\"", RPCD_EPROTO);
  desc_from_json(&d, "{\"typed\":true}", RPCD_EPROTO);
  desc_from_json(&d, "{\"typed\":true,\"params\":[{\"type\":\"int\"}]}",
                 RPCD_EPROTO);
  /* more params than a method can declare */
  off = (size_t)snprintf(many, sizeof(many), "{\"typed\":true,\"params\":[");
  for (i = 0; i <= (int)RPCD_MAX_PARAMS; i++)
    off += (size_t)snprintf(many + off, sizeof(many) - off,
                            "%s{\"name\":\"p%d\"}", i ? "," : "", i);
  snprintf(many + off, sizeof(many) - off, "]}");
  desc_from_json(&d, many, RPCD_EPROTO);
}

static void test_typed_args_fib(void **state)
{
  rpcd_ctl_desc d;

  (void)state;
  desc_from_json(&d, fib_desc, RPCD_OK);
  check_args(&d, false, ARGS("30"), "[30]", NULL);
  check_args(&d, false, ARGS("93"), "[93]", NULL);
  check_args(&d, false, ARGS("94"), NULL,
             "param n: expected uint in 0..93, got 94");
  check_args(&d, false, ARGS("-1"), NULL,
             "param n: expected uint in 0..93, got int");
  check_args(&d, false, ARGS("x"), NULL,
             "param n: expected uint in 0..93, got x");
  check_args(&d, false, ARGS("\"5\""), NULL,
             "param n: expected uint in 0..93, got str");
  check_args(&d, false, ARGS("1.0"), NULL,
             "param n: expected uint in 0..93, got float");
  check_args(&d, false, ARGS("[1,"), NULL,
             "invalid JSON in argument 1 (param n)");
  check_args(&d, false, 0, NULL, NULL, "param n: missing");
  check_args(&d, false, ARGS("1", "2"), NULL,
             "expected at most 1 param, got 2");
  check_args(&d, false, ARGS("n=10"), "{\"n\":10}", NULL);
  check_args(&d, false, ARGS("n=10", "3"), NULL, "param n: given twice");
  check_args(&d, false, ARGS("n=10", "3", "4"), NULL,
             "argument 3: no param left for it");
  check_args(&d, false, ARGS("n=100"), NULL, "got 100");
  check_args(&d, true, ARGS("{\"n\":5}"), "{\"n\":5}", NULL);
  check_args(&d, true, ARGS("{\"m\":5}"), NULL, "param m: unknown");
  check_args(&d, true, ARGS("{}"), NULL, "param n: missing");
  check_args(&d, true, ARGS("[5]"), NULL, "must be a JSON object");
  check_args(&d, true, ARGS("{\"n\":5}", "1"), NULL, "exactly one");
  rpcd__ctl_desc_free(&d);
}

static void test_typed_args_conversions(void **state)
{
  rpcd_ctl_desc d;

  (void)state;
  desc_from_json(&d, mixed_desc, RPCD_OK);
  /* str: a JSON string, or the text itself when it is not JSON */
  check_args(&d, false, ARGS("\"k\""), "[\"k\"]", NULL);
  check_args(&d, false, ARGS("ab"), "[\"ab\"]", NULL);
  check_args(&d, false, ARGS("a b"), "[\"a b\"]", NULL);
  check_args(&d, false, ARGS(""), "[\"\"]", NULL);
  check_args(&d, false, ARGS("abcd"), NULL,
             "param key: expected str of at most 3 bytes, got 4 bytes");
  check_args(&d, false, ARGS("12"), NULL,
             "param key: expected str of at most 3 bytes, got uint");
  check_args(&d, false, ARGS("null"), NULL, "got nil");
  /* bin: a JSON string (or text) is sent as bin: base64 when printed */
  check_args(&d, false, ARGS("k", "\"abc\""), "[\"k\",\"YWJj\"]", NULL);
  check_args(&d, false, ARGS("k", "abc"), "[\"k\",\"YWJj\"]", NULL);
  check_args(&d, true, ARGS("{\"key\":\"k\",\"blob\":\"abc\"}"),
             "{\"key\":\"k\",\"blob\":\"YWJj\"}", NULL);
  check_args(&d, false, ARGS("k", "1"), NULL,
             "param blob: expected bin, got uint");
  /* bool, float, int, uint */
  check_args(&d, false, ARGS("k", "\"\"", "false"), "[\"k\",\"\",false]", NULL);
  check_args(&d, false, ARGS("k", "\"\"", "1"), NULL,
             "param on: expected bool, got uint");
  check_args(&d, false, ARGS("k", "\"\"", "true", "2"), "[\"k\",\"\",true,2]",
             NULL);
  check_args(&d, false, ARGS("k", "\"\"", "true", "-1.5"),
             "[\"k\",\"\",true,-1.5]", NULL);
  check_args(&d, false, ARGS("k", "\"\"", "true", "2.75"), NULL,
             "param x: expected float in -1.5..2.5, got 2.75");
  check_args(&d, false, ARGS("k", "\"\"", "true", "0", "-5"),
             "[\"k\",\"\",true,0,-5]", NULL);
  check_args(&d, false, ARGS("k", "\"\"", "true", "0", "-6"), NULL,
             "param i: expected int in -5..5, got -6");
  check_args(&d, false, ARGS("key=k", "big=9223372036854775807"),
             "{\"key\":\"k\",\"big\":9223372036854775807}", NULL);
  check_args(&d, false, ARGS("key=k", "big=9223372036854775808"), NULL,
             "param big: expected int, got 9223372036854775808");
  check_args(&d, false, ARGS("key=k", "u=18446744073709551615"),
             "{\"key\":\"k\",\"u\":18446744073709551615}", NULL);
  /* array length; an unknown type is not checked */
  check_args(&d, false, ARGS("key=k", "a=[1,2,3]"), NULL,
             "param a: expected array of at most 2 elements, got 3");
  check_args(&d, false, ARGS("key=k", "w={\"any\":[1]}"),
             "{\"key\":\"k\",\"w\":{\"any\":[1]}}", NULL);
  /* NAME=VALUE only for a declared NAME: else a str like any other */
  check_args(&d, false, ARGS("qq=1"), NULL, "got 4 bytes");
  check_args(&d, false, ARGS("b=1"), "[\"b=1\"]", NULL);
  /* the required param missing when only optional ones are named */
  check_args(&d, false, ARGS("i=1"), NULL, "param key: missing");
  rpcd__ctl_desc_free(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pack_scalars),
      cmocka_unit_test(test_pack_containers),
      cmocka_unit_test(test_pack_int_limits),
      cmocka_unit_test(test_pack_rejects_out_of_range),
      cmocka_unit_test(test_pack_bad_literals),
      cmocka_unit_test(test_pack_object_only),
      cmocka_unit_test(test_dump_scalars),
      cmocka_unit_test(test_dump_floats),
      cmocka_unit_test(test_dump_string_escapes),
      cmocka_unit_test(test_dump_invalid_utf8),
      cmocka_unit_test(test_dump_bin_ext),
      cmocka_unit_test(test_dump_containers),
      cmocka_unit_test(test_dump_pretty),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_dump_limits),
      cmocka_unit_test(test_loss_none),
      cmocka_unit_test(test_loss_nonfinite),
      cmocka_unit_test(test_loss_keys),
      cmocka_unit_test(test_loss_many_keys),
      cmocka_unit_test(test_loss_invalid_utf8),
      cmocka_unit_test(test_typed_desc_read),
      cmocka_unit_test(test_typed_args_fib),
      cmocka_unit_test(test_typed_args_conversions),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
