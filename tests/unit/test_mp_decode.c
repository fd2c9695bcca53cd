/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the bounded msgpack decoder (common/mp_decode.c). Valid
 * inputs must decode to the same msgpack_object trees as msgpack-c's own
 * unpacker; hostile inputs (truncation, 0xc1, trailing bytes, container
 * counts larger than the input, nesting over the limit) must be rejected
 * with a message, without allocating.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rpcd_proto.h"

/* A literal byte string and its length (without the literal's NUL). */
typedef struct input {
  const char *name;
  const char *bytes;
  size_t len;
} input;

#define IN(name, lit)                                                          \
  {                                                                            \
    name, lit, sizeof(lit) - 1                                                 \
  }

/* Every msgpack type in each of its widths, plus containers. */
static const input valid_inputs[] = {
    IN("positive fixint 0", "\x00"),
    IN("positive fixint 127", "\x7f"),
    IN("negative fixint -32", "\xe0"),
    IN("negative fixint -1", "\xff"),
    IN("nil", "\xc0"),
    IN("false", "\xc2"),
    IN("true", "\xc3"),
    IN("uint8 128", "\xcc\x80"),
    IN("uint8 255", "\xcc\xff"),
    IN("uint8 0", "\xcc\x00"),
    IN("uint16 65535", "\xcd\xff\xff"),
    IN("uint16 256", "\xcd\x01\x00"),
    IN("uint32 max", "\xce\xff\xff\xff\xff"),
    IN("uint32 65536", "\xce\x00\x01\x00\x00"),
    IN("uint64 max", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
    IN("uint64 2^32", "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    IN("uint64 1", "\xcf\x00\x00\x00\x00\x00\x00\x00\x01"),
    IN("int8 -128", "\xd0\x80"),
    IN("int8 -1", "\xd0\xff"),
    IN("int8 0", "\xd0\x00"),
    IN("int8 127", "\xd0\x7f"),
    IN("int16 -32768", "\xd1\x80\x00"),
    IN("int16 -129", "\xd1\xff\x7f"),
    IN("int16 32767", "\xd1\x7f\xff"),
    IN("int16 0", "\xd1\x00\x00"),
    IN("int32 min", "\xd2\x80\x00\x00\x00"),
    IN("int32 -1", "\xd2\xff\xff\xff\xff"),
    IN("int32 max", "\xd2\x7f\xff\xff\xff"),
    IN("int32 5", "\xd2\x00\x00\x00\x05"),
    IN("int64 min", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
    IN("int64 -2^32", "\xd3\xff\xff\xff\xff\x00\x00\x00\x00"),
    IN("int64 -1", "\xd3\xff\xff\xff\xff\xff\xff\xff\xff"),
    IN("int64 max", "\xd3\x7f\xff\xff\xff\xff\xff\xff\xff"),
    IN("int64 0", "\xd3\x00\x00\x00\x00\x00\x00\x00\x00"),
    IN("float32 1.5", "\xca\x3f\xc0\x00\x00"),
    IN("float32 -0.0", "\xca\x80\x00\x00\x00"),
    IN("float32 inf", "\xca\x7f\x80\x00\x00"),
    IN("float32 nan", "\xca\x7f\xc0\x00\x00"),
    IN("float64 pi", "\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18"),
    IN("float64 -inf", "\xcb\xff\xf0\x00\x00\x00\x00\x00\x00"),
    IN("float64 denormal", "\xcb\x00\x00\x00\x00\x00\x00\x00\x01"),
    IN("fixstr empty", "\xa0"),
    IN("fixstr hello", "\xa5hello"),
    IN("fixstr 31", "\xbf"
                    "0123456789012345678901234567890"),
    IN("str8 empty", "\xd9\x00"),
    IN("str8 abc", "\xd9\x03"
                   "abc"),
    IN("str16 abc", "\xda\x00\x03"
                    "abc"),
    IN("str32 abc", "\xdb\x00\x00\x00\x03"
                    "abc"),
    IN("str with NUL", "\xa3"
                       "a\0b"),
    IN("bin8 empty", "\xc4\x00"),
    IN("bin8", "\xc4\x02\x01\x02"),
    IN("bin16", "\xc5\x00\x03\x00\xff\x01"),
    IN("bin32", "\xc6\x00\x00\x00\x02\xc1\xc1"),
    IN("ext8 type 5", "\xc7\x03\x05"
                      "abc"),
    IN("ext8 type -1", "\xc7\x01\xff\x00"),
    IN("ext8 empty", "\xc7\x00\x01"),
    IN("ext16", "\xc8\x00\x02\x07\xaa\xbb"),
    IN("ext32", "\xc9\x00\x00\x00\x02\x80\xaa\xbb"),
    IN("fixext1", "\xd4\x01\xaa"),
    IN("fixext1 type -128", "\xd4\x80\x00"),
    IN("fixext2", "\xd5\x02\xaa\xbb"),
    IN("fixext4 timestamp32", "\xd6\xff\x00\x00\x00\x01"),
    IN("fixext8", "\xd7\x7f\x01\x02\x03\x04\x05\x06\x07\x08"),
    IN("fixext16", "\xd8\x10"
                   "0123456789abcdef"),
    IN("fixarray empty", "\x90"),
    IN("fixarray 1", "\x91\x01"),
    IN("fixarray 15", "\x9f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
                      "\x0d\x0e\x0f"),
    IN("array16 empty", "\xdc\x00\x00"),
    IN("array16 2", "\xdc\x00\x02\x01\xc0"),
    IN("array32 empty", "\xdd\x00\x00\x00\x00"),
    IN("array32 1", "\xdd\x00\x00\x00\x01\xc3"),
    IN("fixmap empty", "\x80"),
    IN("fixmap 1", "\x81\xa1"
                   "a\x01"),
    IN("map16 empty", "\xde\x00\x00"),
    IN("map16 2", "\xde\x00\x02\xa1"
                  "a\x01\xa1"
                  "b\xc0"),
    IN("map32 empty", "\xdf\x00\x00\x00\x00"),
    IN("map32 1", "\xdf\x00\x00\x00\x01\x01\x02"),
    IN("map with container keys", "\x82\x91\x01\xc3\x80\x90"),
    IN("nested", "\x94\x01\x92\x02\x81\xa1"
                 "a\x92\x03\x80\xa1"
                 "x\x90"),
    IN("nested maps", "\x82\xa1"
                      "a\x81\xa1"
                      "b\x81\xa1"
                      "c\x91\xd0\x80\xa1"
                      "d\xde\x00\x01\xc4\x01\x00\xc7\x00\x00"),
    IN("array of every kind", "\xdc\x00\x0b\xc0\xc3\xff\xcf\x00\x00\x00\x00"
                              "\x00\x00\x01\x00\xd3\x80\x00\x00\x00\x00\x00"
                              "\x00\x00\xca\x00\x00\x00\x00\xa1z\xc4\x00\xd4"
                              "\x01\x02\x90\x80"),
};

static const size_t n_valid = sizeof(valid_inputs) / sizeof(valid_inputs[0]);

/* msgpack-c's reading of a complete, valid input. */
static void unpack_ref(const void *data, size_t len, msgpack_unpacked *ref)
{
  size_t off = 0;

  msgpack_unpacked_init(ref);
  assert_int_equal(msgpack_unpack_next(ref, data, len, &off),
                   MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, len);
}

static void assert_bytes_in_input(const char *ptr, uint32_t size,
                                  const void *data, size_t len)
{
  const char *lo = data;

  /* zero-copy: str, bin and ext data point into the input */
  if (size == 0)
    return;
  assert_true(ptr >= lo && ptr + size <= lo + len);
}

/* Recursive comparison with msgpack-c's object for the same input. */
static void assert_same_object(const msgpack_object *ours,
                               const msgpack_object *ref, const void *data,
                               size_t len)
{
  uint32_t i;

  assert_int_equal(ours->type, ref->type);
  switch (ref->type) {
  case MSGPACK_OBJECT_NIL:
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    assert_int_equal(ours->via.boolean, ref->via.boolean);
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    assert_true(ours->via.u64 == ref->via.u64);
    break;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    assert_true(ours->via.i64 == ref->via.i64);
    assert_true(ours->via.i64 < 0);
    break;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    /* bit compare: NaN != NaN, and -0.0 == 0.0 would hide a sign bug */
    assert_memory_equal(&ours->via.f64, &ref->via.f64, sizeof(double));
    break;
  case MSGPACK_OBJECT_STR:
    assert_int_equal(ours->via.str.size, ref->via.str.size);
    assert_memory_equal(ours->via.str.ptr, ref->via.str.ptr, ref->via.str.size);
    assert_bytes_in_input(ours->via.str.ptr, ours->via.str.size, data, len);
    break;
  case MSGPACK_OBJECT_BIN:
    assert_int_equal(ours->via.bin.size, ref->via.bin.size);
    assert_memory_equal(ours->via.bin.ptr, ref->via.bin.ptr, ref->via.bin.size);
    assert_bytes_in_input(ours->via.bin.ptr, ours->via.bin.size, data, len);
    break;
  case MSGPACK_OBJECT_EXT:
    assert_int_equal(ours->via.ext.type, ref->via.ext.type);
    assert_int_equal(ours->via.ext.size, ref->via.ext.size);
    assert_memory_equal(ours->via.ext.ptr, ref->via.ext.ptr, ref->via.ext.size);
    assert_bytes_in_input(ours->via.ext.ptr, ours->via.ext.size, data, len);
    break;
  case MSGPACK_OBJECT_ARRAY:
    assert_int_equal(ours->via.array.size, ref->via.array.size);
    for (i = 0; i < ref->via.array.size; i++)
      assert_same_object(&ours->via.array.ptr[i], &ref->via.array.ptr[i], data,
                         len);
    break;
  case MSGPACK_OBJECT_MAP:
    assert_int_equal(ours->via.map.size, ref->via.map.size);
    for (i = 0; i < ref->via.map.size; i++) {
      assert_same_object(&ours->via.map.ptr[i].key, &ref->via.map.ptr[i].key,
                         data, len);
      assert_same_object(&ours->via.map.ptr[i].val, &ref->via.map.ptr[i].val,
                         data, len);
    }
    break;
  default:
    fail_msg("unexpected msgpack-c object type %d", (int)ref->type);
  }
}

/* Number of array elements plus map pairs in a tree. */
static size_t count_children(const msgpack_object *o)
{
  size_t n = 0;
  uint32_t i;

  if (o->type == MSGPACK_OBJECT_ARRAY) {
    n += o->via.array.size;
    for (i = 0; i < o->via.array.size; i++)
      n += count_children(&o->via.array.ptr[i]);
  } else if (o->type == MSGPACK_OBJECT_MAP) {
    n += o->via.map.size;
    for (i = 0; i < o->via.map.size; i++) {
      n += count_children(&o->via.map.ptr[i].key);
      n += count_children(&o->via.map.ptr[i].val);
    }
  }
  return n;
}

/* Decode data with both decoders and compare. */
static void check_matches_msgpack_c(const char *name, const void *data,
                                    size_t len)
{
  rpcd_mp_doc doc;
  msgpack_unpacked ref;
  char err[256] = "";
  size_t n_children = (size_t)-1;
  int rc;

  rc = rpcd__mp_check(data, len, RPCD_MAX_DEPTH, &n_children, err, sizeof(err));
  if (rc != RPCD_OK)
    fail_msg("%s: rpcd__mp_check: %s", name, err);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK)
    fail_msg("%s: rpcd__mp_decode: %s", name, err);
  unpack_ref(data, len, &ref);
  assert_same_object(&doc.root, &ref.data, data, len);
  assert_int_equal(n_children, count_children(&ref.data));
  /* nothing to allocate when there are no children */
  if (n_children == 0)
    assert_null(doc.storage);
  msgpack_unpacked_destroy(&ref);
  rpcd__mp_doc_destroy(&doc);
  assert_null(doc.storage);
}

static void test_table_matches_msgpack_c(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < n_valid; i++)
    check_matches_msgpack_c(valid_inputs[i].name, valid_inputs[i].bytes,
                            valid_inputs[i].len);
}

/* The table's inputs wrapped in one array and one map: children in
 * containers decode like roots do. */
static void test_table_inside_containers(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t i;

  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, (uint32_t)n_valid);
  for (i = 0; i < n_valid; i++)
    msgpack_sbuffer_write(&sb, valid_inputs[i].bytes, valid_inputs[i].len);
  check_matches_msgpack_c("array of the table", sb.data, sb.size);

  msgpack_sbuffer_clear(&sb);
  msgpack_pack_map(&pk, (uint32_t)n_valid);
  for (i = 0; i < n_valid; i++) {
    msgpack_sbuffer_write(&sb, valid_inputs[i].bytes, valid_inputs[i].len);
    msgpack_sbuffer_write(&sb, valid_inputs[n_valid - 1 - i].bytes,
                          valid_inputs[n_valid - 1 - i].len);
  }
  check_matches_msgpack_c("map of the table", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* Values checked against expectations written here, not only against
 * msgpack-c, so that a shared misreading cannot pass. */
static void test_integer_values(void **state)
{
  static const struct {
    const char *bytes;
    size_t len;
    bool negative;
    int64_t i;
    uint64_t u;
  } cases[] = {
      {"\x7f", 1, false, 0, 127},
      {"\xe0", 1, true, -32, 0},
      {"\xcc\xff", 2, false, 0, 255},
      {"\xcd\xff\xfe", 3, false, 0, 65534},
      {"\xce\xff\xff\xff\xfe", 5, false, 0, 4294967294u},
      {"\xcf\xff\xff\xff\xff\xff\xff\xff\xfe", 9, false, 0, UINT64_MAX - 1},
      {"\xd0\x80", 2, true, -128, 0},
      {"\xd0\x7f", 2, false, 0, 127},
      {"\xd1\xff\x7f", 3, true, -129, 0},
      {"\xd1\x80\x00", 3, true, -32768, 0},
      {"\xd1\x01\x00", 3, false, 0, 256},
      {"\xd2\x80\x00\x00\x00", 5, true, INT32_MIN, 0},
      {"\xd2\xff\xff\x7f\xff", 5, true, -32769, 0},
      {"\xd2\x7f\xff\xff\xff", 5, false, 0, INT32_MAX},
      {"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9, true, INT64_MIN, 0},
      {"\xd3\xff\xff\xff\xff\x7f\xff\xff\xff", 9, true, -(int64_t)2147483649,
       0},
      {"\xd3\x7f\xff\xff\xff\xff\xff\xff\xff", 9, false, 0, INT64_MAX},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    rpcd_mp_doc doc;

    assert_int_equal(rpcd__mp_decode(cases[i].bytes, cases[i].len,
                                     RPCD_MAX_DEPTH, &doc, NULL, 0),
                     RPCD_OK);
    if (cases[i].negative) {
      assert_int_equal(doc.root.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
      assert_true(doc.root.via.i64 == cases[i].i);
    } else {
      assert_int_equal(doc.root.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
      assert_true(doc.root.via.u64 == cases[i].u);
    }
    rpcd__mp_doc_destroy(&doc);
  }
}

static void test_other_values(void **state)
{
  rpcd_mp_doc doc;
  const msgpack_object *a;
  static const char in[] = "\x97\xca\x3f\xc0\x00\x00\xcb\xc0\x04\x00\x00\x00"
                           "\x00\x00\x00\xc2\xc3\xa2hi\xc7\x02\xfe\x01\x02"
                           "\xd4\x05\x09";

  (void)state;
  assert_int_equal(
      rpcd__mp_decode(in, sizeof(in) - 1, RPCD_MAX_DEPTH, &doc, NULL, 0),
      RPCD_OK);
  assert_int_equal(doc.root.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(doc.root.via.array.size, 7);
  a = doc.root.via.array.ptr;
  assert_int_equal(a[0].type, MSGPACK_OBJECT_FLOAT32);
  assert_true(a[0].via.f64 == 1.5);
  assert_int_equal(a[1].type, MSGPACK_OBJECT_FLOAT64);
  assert_true(a[1].via.f64 == -2.5);
  assert_int_equal(a[2].type, MSGPACK_OBJECT_BOOLEAN);
  assert_false(a[2].via.boolean);
  assert_int_equal(a[3].type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(a[3].via.boolean);
  assert_int_equal(a[4].type, MSGPACK_OBJECT_STR);
  assert_int_equal(a[4].via.str.size, 2);
  assert_ptr_equal(a[4].via.str.ptr, in + 18);
  assert_int_equal(a[5].type, MSGPACK_OBJECT_EXT);
  assert_int_equal(a[5].via.ext.type, -2);
  assert_int_equal(a[5].via.ext.size, 2);
  assert_ptr_equal(a[5].via.ext.ptr, in + 23);
  assert_int_equal(a[6].type, MSGPACK_OBJECT_EXT);
  assert_int_equal(a[6].via.ext.type, 5);
  assert_int_equal(a[6].via.ext.size, 1);
  assert_int_equal(a[6].via.ext.ptr[0], 9);
  rpcd__mp_doc_destroy(&doc);
}

/* A failure: the right code, a message, nothing allocated. */
static void assert_rejected(const char *name, const void *data, size_t len,
                            unsigned max_depth, const char *needle)
{
  rpcd_mp_doc doc;
  char err[256];
  size_t n_children = 12345;
  int rc;

  memset(err, 0, sizeof(err));
  rc = rpcd__mp_check(data, len, max_depth, &n_children, err, sizeof(err));
  if (rc != RPCD_EPROTO)
    fail_msg("%s: rpcd__mp_check accepted it (rc %d)", name, rc);
  if (err[0] == '\0')
    fail_msg("%s: rpcd__mp_check gave no message", name);
  if (needle && !strstr(err, needle))
    fail_msg("%s: message \"%s\" lacks \"%s\"", name, err, needle);
  assert_int_equal(n_children, 12345); /* untouched on failure */

  memset(err, 0, sizeof(err));
  memset(&doc, 0xa5, sizeof(doc));
  rc = rpcd__mp_decode(data, len, max_depth, &doc, err, sizeof(err));
  if (rc != RPCD_EPROTO)
    fail_msg("%s: rpcd__mp_decode accepted it (rc %d)", name, rc);
  if (err[0] == '\0')
    fail_msg("%s: rpcd__mp_decode gave no message", name);
  assert_null(doc.storage);
  /* and the NULL-safe forms must not crash */
  assert_int_equal(rpcd__mp_check(data, len, max_depth, NULL, NULL, 0),
                   RPCD_EPROTO);
}

static void test_empty_input(void **state)
{
  (void)state;
  assert_rejected("empty", "", 0, RPCD_MAX_DEPTH, "empty");
  assert_rejected("NULL", NULL, 0, RPCD_MAX_DEPTH, "empty");
}

/* Every proper prefix of a valid encoding is truncated. */
static void test_truncated_prefixes(void **state)
{
  char name[128];
  size_t i;
  size_t n;

  (void)state;
  for (i = 0; i < n_valid; i++) {
    for (n = 0; n < valid_inputs[i].len; n++) {
      char *copy = malloc(n ? n : 1);

      /* an exact-size copy, so that ASan sees any read past the end */
      assert_non_null(copy);
      memcpy(copy, valid_inputs[i].bytes, n);
      snprintf(name, sizeof(name), "%s, first %zu bytes", valid_inputs[i].name,
               n);
      assert_rejected(name, copy, n, RPCD_MAX_DEPTH, NULL);
      free(copy);
    }
  }
}

static void test_truncated_messages(void **state)
{
  (void)state;
  assert_rejected("array missing an element", "\x92\x01", 2, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("uint16 in array", "\x92\xcd\x01", 3, RPCD_MAX_DEPTH,
                  "truncated");
  assert_rejected("uint32 head", "\xce\x00\x00", 3, RPCD_MAX_DEPTH,
                  "truncated");
  assert_rejected("str32 truncated",
                  "\xdb\x00\x00\x00\x05"
                  "abc",
                  8, RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("fixext16 truncated",
                  "\xd8\x01"
                  "0123",
                  6, RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("map missing a value",
                  "\x81\xa1"
                  "a",
                  3, RPCD_MAX_DEPTH, NULL);
}

static void test_c1(void **state)
{
  (void)state;
  assert_rejected("0xc1", "\xc1", 1, RPCD_MAX_DEPTH, "0xc1");
  assert_rejected("0xc1 in array", "\x92\x01\xc1", 3, RPCD_MAX_DEPTH, "0xc1");
  assert_rejected("0xc1 as map key", "\x81\xc1\x01", 3, RPCD_MAX_DEPTH, "0xc1");
  assert_rejected("0xc1 as map value", "\x81\x01\xc1", 3, RPCD_MAX_DEPTH,
                  "0xc1");
}

static void test_trailing_bytes(void **state)
{
  (void)state;
  assert_rejected("two ints", "\x01\x02", 2, RPCD_MAX_DEPTH, "trailing");
  assert_rejected("array then 0", "\x90\x00", 2, RPCD_MAX_DEPTH, "trailing");
  assert_rejected("nil nil", "\xc0\xc0", 2, RPCD_MAX_DEPTH, "trailing");
  assert_rejected("str then junk",
                  "\xa1"
                  "ab",
                  3, RPCD_MAX_DEPTH, "trailing");
  assert_rejected("map then 0xc1", "\x80\xc1", 2, RPCD_MAX_DEPTH, NULL);
}

/* Declared lengths larger than the input: rejected before anything is
 * allocated for them. */
static void test_lengths_beyond_input(void **state)
{
  (void)state;
  assert_rejected("array32 bomb", "\xdd\xff\xff\xff\xff", 5, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("array32 bomb with some bytes",
                  "\xdd\xff\xff\xff\xff\x01\x02\x03", 8, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("map32 bomb", "\xdf\xff\xff\xff\xff", 5, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("map32 of 2 pairs in 3 bytes",
                  "\xdf\x00\x00\x00\x02\x01\x02\x03", 8, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("map16 of 3 pairs in 4 bytes", "\xde\x00\x03\x01\x02\x03\x04",
                  7, RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("array16 of 65535", "\xdc\xff\xff\x01\x02", 5, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("fixarray of 15 in 14",
                  "\x9f\x01\x01\x01\x01\x01\x01\x01"
                  "\x01\x01\x01\x01\x01\x01\x01",
                  15, RPCD_MAX_DEPTH, NULL);
  assert_rejected("str32 of 4G",
                  "\xdb\xff\xff\xff\xff"
                  "abc",
                  8, RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("str16 of 65535",
                  "\xda\xff\xff"
                  "abc",
                  6, RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("bin32 of 4G", "\xc6\xff\xff\xff\xff\x00", 6, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("ext32 of 4G", "\xc9\xff\xff\xff\xff\x01\x00", 7,
                  RPCD_MAX_DEPTH, "exceeds");
  assert_rejected("ext8 of 2 with 1", "\xc7\x02\x01\x00", 4, RPCD_MAX_DEPTH,
                  "exceeds");
  assert_rejected("nested bomb", "\x91\xdd\x7f\xff\xff\xff\x01", 7,
                  RPCD_MAX_DEPTH, "exceeds");
}

/* n nested one-element arrays (or maps {0: ...}) around a leaf. */
static char *nest(unsigned n, bool maps, const char *leaf, size_t leaf_len,
                  size_t *len)
{
  size_t step = maps ? 2 : 1;
  char *buf = malloc(n * step + leaf_len);
  unsigned i;

  assert_non_null(buf);
  for (i = 0; i < n; i++) {
    if (maps) {
      buf[2 * i] = (char)0x81;
      buf[2 * i + 1] = 0x00;
    } else {
      buf[i] = (char)0x91;
    }
  }
  memcpy(buf + n * step, leaf, leaf_len);
  *len = n * step + leaf_len;
  return buf;
}

static void test_depth_limit(void **state)
{
  rpcd_mp_doc doc;
  const msgpack_object *o;
  size_t len;
  char *buf;
  unsigned i;

  (void)state;
  /* exactly 64 levels decode, down to the leaf */
  buf = nest(64, false, "\x07", 1, &len);
  assert_int_equal(rpcd__mp_decode(buf, len, RPCD_MAX_DEPTH, &doc, NULL, 0),
                   RPCD_OK);
  o = &doc.root;
  for (i = 0; i < 64; i++) {
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o->via.array.size, 1);
    o = &o->via.array.ptr[0];
  }
  assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(o->via.u64, 7);
  rpcd__mp_doc_destroy(&doc);
  free(buf);

  buf = nest(64, true, "\x07", 1, &len);
  assert_int_equal(rpcd__mp_check(buf, len, RPCD_MAX_DEPTH, NULL, NULL, 0),
                   RPCD_OK);
  free(buf);

  /* an empty container as the 64th level */
  buf = nest(63, false, "\x90", 1, &len);
  assert_int_equal(rpcd__mp_check(buf, len, RPCD_MAX_DEPTH, NULL, NULL, 0),
                   RPCD_OK);
  free(buf);

  /* 65 levels do not */
  buf = nest(65, false, "\x07", 1, &len);
  assert_rejected("65 arrays", buf, len, RPCD_MAX_DEPTH, "nesting");
  free(buf);
  buf = nest(65, true, "\x07", 1, &len);
  assert_rejected("65 maps", buf, len, RPCD_MAX_DEPTH, "nesting");
  free(buf);
  /* an empty container nests as deep as a full one */
  buf = nest(64, false, "\x90", 1, &len);
  assert_rejected("64 arrays around []", buf, len, RPCD_MAX_DEPTH, "nesting");
  free(buf);
  buf = nest(64, true, "\x80", 1, &len);
  assert_rejected("64 maps around {}", buf, len, RPCD_MAX_DEPTH, "nesting");
  free(buf);
  /* a limit above RPCD_MAX_DEPTH is clamped to it */
  buf = nest(65, false, "\x07", 1, &len);
  assert_rejected("65 arrays, max_depth 1000", buf, len, 1000, "nesting");
  free(buf);
  buf = nest(1000, false, "\x07", 1, &len);
  assert_rejected("1000 arrays", buf, len, RPCD_MAX_DEPTH, "nesting");
  free(buf);
}

static void test_depth_argument(void **state)
{
  size_t len;
  char *buf;

  (void)state;
  buf = nest(3, false, "\x07", 1, &len);
  assert_int_equal(rpcd__mp_check(buf, len, 3, NULL, NULL, 0), RPCD_OK);
  assert_rejected("3 arrays, max_depth 2", buf, len, 2, "nesting");
  free(buf);
  /* depth 0: scalars only */
  assert_int_equal(rpcd__mp_check("\x07", 1, 0, NULL, NULL, 0), RPCD_OK);
  assert_rejected("[1], max_depth 0", "\x91\x01", 2, 0, "nesting");
  assert_rejected("[], max_depth 0", "\x90", 1, 0, "nesting");
}

/* msgpack-c's unpacker stops at depth 32; ours goes to 64 and agrees with
 * it wherever both work. */
static void test_depth_against_msgpack_c(void **state)
{
  msgpack_unpacked ref;
  size_t off = 0;
  size_t len;
  char *buf;
  unsigned n;

  (void)state;
  for (n = 1; n <= 32; n++) {
    buf = nest(n, n % 2 == 0, "\xa1x", 2, &len);
    check_matches_msgpack_c("nested", buf, len);
    free(buf);
  }
  buf = nest(40, false, "\x07", 1, &len);
  msgpack_unpacked_init(&ref);
  assert_int_not_equal(msgpack_unpack_next(&ref, buf, len, &off),
                       MSGPACK_UNPACK_SUCCESS);
  msgpack_unpacked_destroy(&ref);
  assert_int_equal(rpcd__mp_check(buf, len, RPCD_MAX_DEPTH, NULL, NULL, 0),
                   RPCD_OK);
  free(buf);
}

/* A large but honest input decodes in full. */
static void test_large_array(void **state)
{
  const uint32_t n = 100000;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  rpcd_mp_doc doc;
  size_t n_children = 0;
  uint32_t i;

  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, n);
  for (i = 0; i < n; i++) {
    if (i % 3 == 0)
      msgpack_pack_uint32(&pk, i);
    else if (i % 3 == 1)
      msgpack_pack_int64(&pk, -(int64_t)i);
    else
      msgpack_pack_str_with_body(&pk, "s", 1);
  }
  assert_int_equal(
      rpcd__mp_check(sb.data, sb.size, RPCD_MAX_DEPTH, &n_children, NULL, 0),
      RPCD_OK);
  assert_int_equal(n_children, n);
  assert_int_equal(
      rpcd__mp_decode(sb.data, sb.size, RPCD_MAX_DEPTH, &doc, NULL, 0),
      RPCD_OK);
  assert_int_equal(doc.root.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(doc.root.via.array.size, n);
  for (i = 0; i < n; i++) {
    const msgpack_object *o = &doc.root.via.array.ptr[i];

    if (i % 3 == 0) {
      assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
      assert_true(o->via.u64 == i);
    } else if (i % 3 == 1) {
      assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
      assert_true(o->via.i64 == -(int64_t)i);
    } else {
      assert_int_equal(o->type, MSGPACK_OBJECT_STR);
      assert_int_equal(o->via.str.size, 1);
    }
  }
  rpcd__mp_doc_destroy(&doc);
  check_matches_msgpack_c("100k array", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void test_large_map(void **state)
{
  const uint32_t n = 50000;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t n_children = 0;
  uint32_t i;

  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, n);
  for (i = 0; i < n; i++) {
    msgpack_pack_uint32(&pk, i);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
  }
  assert_int_equal(
      rpcd__mp_check(sb.data, sb.size, RPCD_MAX_DEPTH, &n_children, NULL, 0),
      RPCD_OK);
  assert_int_equal(n_children, 2 * (size_t)n); /* n pairs + n elements */
  check_matches_msgpack_c("50k map", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void test_error_buffer(void **state)
{
  char err[8];

  (void)state;
  /* a small buffer is truncated and stays NUL-terminated */
  memset(err, 'x', sizeof(err));
  assert_int_equal(
      rpcd__mp_check("\xc1", 1, RPCD_MAX_DEPTH, NULL, err, sizeof(err)),
      RPCD_EPROTO);
  assert_int_equal(strlen(err), sizeof(err) - 1);
  /* errlen 0 writes nothing */
  memset(err, 'x', sizeof(err));
  assert_int_equal(rpcd__mp_check("\xc1", 1, RPCD_MAX_DEPTH, NULL, err, 0),
                   RPCD_EPROTO);
  assert_int_equal(err[0], 'x');
}

static void test_str_eq(void **state)
{
  rpcd_mp_doc doc;
  const msgpack_object *a;
  static const char in[] = "\x95\xa3"
                           "fib\xa0\xa4"
                           "fibs\xc4\x03"
                           "fib\xa3"
                           "f\0b";

  (void)state;
  assert_int_equal(
      rpcd__mp_decode(in, sizeof(in) - 1, RPCD_MAX_DEPTH, &doc, NULL, 0),
      RPCD_OK);
  a = doc.root.via.array.ptr;
  assert_true(rpcd__mp_str_eq(&a[0], "fib"));
  assert_false(rpcd__mp_str_eq(&a[0], "fi"));
  assert_false(rpcd__mp_str_eq(&a[0], "fibs"));
  assert_false(rpcd__mp_str_eq(&a[0], "fix"));
  assert_true(rpcd__mp_str_eq(&a[1], ""));
  assert_false(rpcd__mp_str_eq(&a[1], "f"));
  assert_false(rpcd__mp_str_eq(&a[2], "fib"));
  assert_false(rpcd__mp_str_eq(&a[3], "fib")); /* bin is not str */
  assert_false(rpcd__mp_str_eq(&a[4], "f"));   /* embedded NUL */
  rpcd__mp_doc_destroy(&doc);
  rpcd__mp_doc_destroy(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_matches_msgpack_c),
      cmocka_unit_test(test_table_inside_containers),
      cmocka_unit_test(test_integer_values),
      cmocka_unit_test(test_other_values),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_truncated_prefixes),
      cmocka_unit_test(test_truncated_messages),
      cmocka_unit_test(test_c1),
      cmocka_unit_test(test_trailing_bytes),
      cmocka_unit_test(test_lengths_beyond_input),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_depth_argument),
      cmocka_unit_test(test_depth_against_msgpack_c),
      cmocka_unit_test(test_large_array),
      cmocka_unit_test(test_large_map),
      cmocka_unit_test(test_error_buffer),
      cmocka_unit_test(test_str_eq),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
