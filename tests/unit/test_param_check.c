/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the params check of typed methods (common/param_check.c):
 * positional and named params with defaults and `given` bits, every error
 * text, integer boundaries, floats, lengths, map keys. Params are built by
 * packing msgpack and unpacking it, as a request body would be; specs are
 * read from descriptors as the loader reads a plugin's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method_desc.h"
#include "param_check.h"

/* ---- Building params ---- */

/*
 * Pack the values `fmt` lists and unpack them as one object:
 *   A n  array header of n (unsigned)   M n  map header of n (unsigned)
 *   u    uint64_t                       i    int64_t
 *   d    double                         f    float (passed as double)
 *   s    str (const char *)             S    str of n bytes (unsigned, ptr)
 *   B    bin of n bytes (unsigned, ptr) b    bool (int)
 *   n    nil                            x    ext type 1, 1 byte
 * The object lives in `zone` (and the buffer it points into in `sb`).
 */
typedef struct built {
  msgpack_sbuffer sb;
  msgpack_zone zone;
  msgpack_object obj;
} built;

static const msgpack_object *vbuild(built *b, const char *fmt, va_list ap)
{
  msgpack_packer pk;
  size_t off = 0;
  const char *c;

  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
  for (c = fmt; *c; c++) {
    switch (*c) {
    case 'A':
      msgpack_pack_array(&pk, va_arg(ap, unsigned));
      break;
    case 'M':
      msgpack_pack_map(&pk, va_arg(ap, unsigned));
      break;
    case 'u':
      msgpack_pack_uint64(&pk, va_arg(ap, uint64_t));
      break;
    case 'i':
      msgpack_pack_int64(&pk, va_arg(ap, int64_t));
      break;
    case 'd':
      msgpack_pack_double(&pk, va_arg(ap, double));
      break;
    case 'f':
      msgpack_pack_float(&pk, (float)va_arg(ap, double));
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);

      msgpack_pack_str_with_body(&pk, s, strlen(s));
      break;
    }
    case 'S': {
      unsigned n = va_arg(ap, unsigned);

      msgpack_pack_str_with_body(&pk, va_arg(ap, const char *), n);
      break;
    }
    case 'B': {
      unsigned n = va_arg(ap, unsigned);

      msgpack_pack_bin_with_body(&pk, va_arg(ap, const char *), n);
      break;
    }
    case 'b':
      if (va_arg(ap, int))
        msgpack_pack_true(&pk);
      else
        msgpack_pack_false(&pk);
      break;
    case 'n':
      msgpack_pack_nil(&pk);
      break;
    case 'x':
      msgpack_pack_ext_with_body(&pk, "e", 1, 1);
      break;
    default:
      fail_msg("bad format char %c", *c);
    }
  }
  msgpack_zone_init(&b->zone, 2048);
  assert_int_equal(
      msgpack_unpack(b->sb.data, b->sb.size, &off, &b->zone, &b->obj),
      MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, b->sb.size);
  return &b->obj;
}

static const msgpack_object *build(built *b, const char *fmt, ...)
{
  const msgpack_object *o;
  va_list ap;

  va_start(ap, fmt);
  o = vbuild(b, fmt, ap);
  va_end(ap);
  return o;
}

static void built_free(built *b)
{
  msgpack_zone_destroy(&b->zone);
  msgpack_sbuffer_destroy(&b->sb);
}

/* ---- Specs ---- */

static int handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  return msgpack_pack_nil(result);
}

static void spec_of(rpcd_method_spec *spec, const rpcd_param *params)
{
  const rpcd_method_desc d =
      RPCD_METHOD("m", handler, params, RPCD_TYPE_NIL, 0, NULL);
  char err[256] = "";

  if (rpcd__method_spec_read(spec, &d, err, sizeof(err)) != RPCD_OK)
    fail_msg("spec: %s", err);
}

/* f(n: uint 0..93, s?: str <=8 = "hi", b?: bool = true, o?: any,
 *   i?: int = -3, u?: uint = 7, x?: float = 0.5, raw?: bin = "\0\1") */
static const rpcd_param mixed_params[] = {
    RPCD_PARAM_UINT("n", 0, 93),
    RPCD_OPTIONAL_STR("s", 8, "hi"),
    RPCD_OPTIONAL_BOOL("b", true),
    RPCD_OPTIONAL_OF("o", RPCD_TYPE_ANY, 0),
    RPCD_OPTIONAL_INT("i", -10, 10, -3),
    RPCD_OPTIONAL_UINT("u", 0, 100, 7),
    RPCD_OPTIONAL_FLOAT("x", 0, 1, 0.5),
    RPCD__PARAM("raw", RPCD_TYPE_BIN, RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "\0\1", 2),
    RPCD_PARAMS_END,
};

/* Checks that args[1..7] hold the defaults of mixed_params. */
static void assert_mixed_defaults(const msgpack_object *args)
{
  assert_int_equal(args[1].type, MSGPACK_OBJECT_STR);
  assert_int_equal(args[1].via.str.size, 2);
  assert_ptr_equal(args[1].via.str.ptr, mixed_params[1].def_s);
  assert_int_equal(args[2].type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(args[2].via.boolean);
  assert_int_equal(args[3].type, MSGPACK_OBJECT_NIL);
  assert_int_equal(args[4].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
  assert_int_equal(args[4].via.i64, -3);
  assert_int_equal(args[5].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(args[5].via.u64, 7);
  assert_int_equal(args[6].type, MSGPACK_OBJECT_FLOAT64);
  assert_true(args[6].via.f64 == 0.5);
  assert_int_equal(args[7].type, MSGPACK_OBJECT_BIN);
  assert_int_equal(args[7].via.bin.size, 2);
  assert_memory_equal(args[7].via.bin.ptr, "\0\1", 2);
}

static void test_positional(void **state)
{
  rpcd_method_spec spec;
  msgpack_object args[8];
  uint64_t given = 99;
  built b;
  char err[256] = "";

  (void)state;
  spec_of(&spec, mixed_params);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Au", 1, UINT64_C(5)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_string_equal(err, "");
  assert_int_equal(given, 1);
  assert_int_equal(args[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(args[0].via.u64, 5);
  assert_mixed_defaults(args);
  built_free(&b);

  /* Three sent, the rest defaults; o sent as a map (any). */
  assert_int_equal(
      rpcd__params_check(&spec, build(&b, "AusbM", 4, UINT64_C(93), "yo", 0, 0),
                         args, &given, err, sizeof(err)),
      RPCD_OK);
  assert_int_equal(given, 0xf);
  assert_int_equal(args[0].via.u64, 93);
  assert_int_equal(args[1].via.str.size, 2);
  assert_memory_equal(args[1].via.str.ptr, "yo", 2);
  assert_ptr_not_equal(args[1].via.str.ptr, mixed_params[1].def_s);
  assert_false(args[2].via.boolean);
  assert_int_equal(args[3].type, MSGPACK_OBJECT_MAP);
  assert_int_equal(args[4].via.i64, -3);
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_named(void **state)
{
  rpcd_method_spec spec;
  msgpack_object args[8];
  uint64_t given = 0;
  built b;
  char err[256] = "";

  (void)state;
  spec_of(&spec, mixed_params);
  /* Out of declared order; o sent as nil, which counts as given. */
  assert_int_equal(rpcd__params_check(&spec,
                                      build(&b, "Msnsusu", 3, "o", "n",
                                            UINT64_C(4), "u", UINT64_C(100)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(given, (1u << 0) | (1u << 3) | (1u << 5));
  assert_int_equal(args[0].via.u64, 4);
  assert_int_equal(args[3].type, MSGPACK_OBJECT_NIL);
  assert_int_equal(args[5].via.u64, 100);
  assert_int_equal(args[1].via.str.size, 2); /* default "hi" */
  assert_ptr_equal(args[1].via.str.ptr, mixed_params[1].def_s);
  assert_true(args[2].via.boolean);
  assert_int_equal(args[4].via.i64, -3);
  built_free(&b);

  /* Only the required one. */
  assert_int_equal(rpcd__params_check(&spec,
                                      build(&b, "Msu", 1, "n", UINT64_C(0)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(given, 1);
  assert_mixed_defaults(args);
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_no_params(void **state)
{
  rpcd_method_spec spec;
  uint64_t given = 5;
  built b;
  char err[256] = "";

  (void)state;
  spec_of(&spec, NULL);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "A", 0), NULL, &given,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(given, 0);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "M", 0), NULL, &given,
                                      err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "An", 1), NULL, &given,
                                      err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "expected at most 0 params, got 1");
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Msn", 1, "x"), NULL,
                                      &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "param x: unknown");
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_untyped_spec(void **state)
{
  rpcd_method_spec spec;
  uint64_t given = 5;
  built b;
  char err[256] = "";

  (void)state;
  rpcd__method_spec_untyped(&spec);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Ann", 2), NULL, &given,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(given, 0);
  built_free(&b);
  assert_int_equal(
      rpcd__params_check(&spec, build(&b, "n"), NULL, &given, err, sizeof(err)),
      RPCD_EINVAL);
  assert_string_equal(err, "params must be an array or a map");
  built_free(&b);
}

static const rpcd_param p_fib[] = {RPCD_PARAM_UINT("n", 0, 93),
                                   RPCD_PARAMS_END};
static const rpcd_param p_small[] = {RPCD_PARAM_INT("n", -5, 5),
                                     RPCD_PARAMS_END};
static const rpcd_param p_key[] = {RPCD_PARAM_STR("key", 255), RPCD_PARAMS_END};
static const rpcd_param p_items[] = {RPCD_PARAM_ARRAY("items", 16),
                                     RPCD_PARAMS_END};
static const rpcd_param p_blob[] = {RPCD_PARAM_BIN("blob", 4), RPCD_PARAMS_END};
static const rpcd_param p_opts[] = {RPCD_PARAM_MAP("opts", 2), RPCD_PARAMS_END};
static const rpcd_param p_two[] = {RPCD_PARAM_UINT("a", 0, 9),
                                   RPCD_OPTIONAL_OF("b", RPCD_TYPE_STR, 0),
                                   RPCD_PARAMS_END};
static const rpcd_param p_flag[] = {RPCD_PARAM_BOOL("flag"), RPCD_PARAMS_END};
static const rpcd_param p_nil[] = {RPCD_PARAM_OF("z", RPCD_TYPE_NIL, 0),
                                   RPCD_PARAMS_END};
static const rpcd_param p_name[] = {RPCD_PARAM_STR("name", 0), RPCD_PARAMS_END};
static const rpcd_param p_int[] = {RPCD_PARAM_OF("n", RPCD_TYPE_INT, 0),
                                   RPCD_PARAMS_END};
static const rpcd_param p_uint[] = {RPCD_PARAM_OF("n", RPCD_TYPE_UINT, 0),
                                    RPCD_PARAMS_END};
static const rpcd_param p_float[] = {RPCD_PARAM_FLOAT("x", 0, 10),
                                     RPCD_PARAMS_END};

static char s300[301];
static const char bytes5[5] = {1, 2, 3, 4, 5};

/* The params `fmt` builds are refused by a spec of `params` with `want`,
 * leaving *given 0. */
static void refused(const rpcd_param *params, const char *want, const char *fmt,
                    ...)
{
  rpcd_method_spec spec;
  msgpack_object args[RPCD_MAX_PARAMS];
  const msgpack_object *o;
  uint64_t given = 7;
  built b;
  char err[256] = "";
  va_list ap;

  spec_of(&spec, params);
  va_start(ap, fmt);
  o = vbuild(&b, fmt, ap);
  va_end(ap);
  assert_int_equal(rpcd__params_check(&spec, o, args, &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, want);
  assert_int_equal(given, 0);
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_refusals(void **state)
{
  (void)state;
  memset(s300, 'k', 300);
  refused(p_fib, "param n: expected uint in 0..93, got str", "As", 1, "5");
  refused(p_fib, "param n: expected uint in 0..93, got 100", "Au", 1,
          UINT64_C(100));
  refused(p_small, "param n: expected int in -5..5, got -6", "Ai", 1,
          INT64_C(-6));
  refused(p_small, "param n: expected int in -5..5, got 6", "Au", 1,
          UINT64_C(6));
  refused(p_key, "param key: expected str of at most 255 bytes, got 300 bytes",
          "AS", 1, 300u, s300);
  refused(p_items, "param items: expected array of at most 16 elements, got 20",
          "AAnnnnnnnnnnnnnnnnnnnn", 1, 20u);
  refused(p_blob, "param blob: expected bin of at most 4 bytes, got 5 bytes",
          "AB", 1, 5u, bytes5);
  refused(p_opts, "param opts: expected map of at most 2 elements, got 3",
          "AMsnsnsn", 1, 3u, "a", "b", "c");
  refused(p_fib, "param n: missing", "A", 0);
  refused(p_two, "param a: missing", "Mss", 1, "b", "x");
  /* nil is a value, not "left out": an optional str refuses it. */
  refused(p_two, "param b: expected str, got nil", "Msusn", 2, "a", UINT64_C(1),
          "b");
  refused(p_fib, "expected at most 1 param, got 2", "Auu", 2, UINT64_C(1),
          UINT64_C(2));
  refused(p_two, "expected at most 2 params, got 3", "Auss", 3, UINT64_C(1),
          "x", "y");
  refused(p_fib, "param x: unknown", "Msusu", 2, "n", UINT64_C(1), "x",
          UINT64_C(2));
  refused(p_fib, "param n: given twice", "Msusu", 2, "n", UINT64_C(1), "n",
          UINT64_C(2));
  refused(p_fib, "named params must have str keys", "Muu", 1, UINT64_C(0),
          UINT64_C(1));
  /* A good key first, then an integer one. */
  refused(p_fib, "named params must have str keys", "Msuuu", 2, "n",
          UINT64_C(1), UINT64_C(0), UINT64_C(1));
  refused(p_fib, "named params must have str keys", "MBu", 1, 1u, "n",
          UINT64_C(1));
  refused(p_fib, "params must be an array or a map", "n");
  refused(p_fib, "params must be an array or a map", "u", UINT64_C(1));
  refused(p_fib, "params must be an array or a map", "s", "n");
  refused(NULL, "params must be an array or a map", "b", 1);
  /* "got" names the msgpack type. */
  refused(p_flag, "param flag: expected bool, got str", "As", 1, "true");
  refused(p_nil, "param z: expected nil, got bool", "Ab", 1, 0);
  refused(p_name, "param name: expected str, got nil", "An", 1);
  refused(p_name, "param name: expected str, got bool", "Ab", 1, 1);
  refused(p_name, "param name: expected str, got int", "Ai", 1, INT64_C(-1));
  refused(p_name, "param name: expected str, got uint", "Au", 1, UINT64_C(1));
  refused(p_name, "param name: expected str, got float", "Af", 1, 1.5);
  refused(p_name, "param name: expected str, got float", "Ad", 1, 1.5);
  refused(p_name, "param name: expected str, got bin", "AB", 1, 2u, "ab");
  refused(p_name, "param name: expected str, got array", "AA", 1, 0u);
  refused(p_name, "param name: expected str, got map", "AM", 1, 0u);
  refused(p_name, "param name: expected str, got ext", "Ax", 1);
  refused(p_key, "param key: expected str of at most 255 bytes, got uint", "Au",
          1, UINT64_C(3));
  /* Integers and floats. */
  refused(p_int, "param n: expected int, got 9223372036854775808", "Au", 1,
          (uint64_t)INT64_MAX + 1);
  refused(p_int, "param n: expected int, got float", "Ad", 1, 1.0);
  refused(p_uint, "param n: expected uint, got int", "Ai", 1, INT64_C(-1));
  refused(p_float, "param x: expected float in 0..10, got 11", "Au", 1,
          UINT64_C(11));
  refused(p_float, "param x: expected float in 0..10, got -1", "Ai", 1,
          INT64_C(-1));
  refused(p_float, "param x: expected float in 0..10, got 10.5", "Ad", 1, 10.5);
  refused(p_float, "param x: expected float in 0..10, got nan", "Ad", 1,
          (double)NAN);
  refused(p_float, "param x: expected float in 0..10, got inf", "Ad", 1,
          (double)INFINITY);
  refused(p_float, "param x: expected float in 0..10, got bool", "Ab", 1, 1);
  /* The first failing param is the one named, in the order sent. */
  refused(mixed_params, "param u: expected uint in 0..100, got 101", "Msusu", 2,
          "u", UINT64_C(101), "n", UINT64_C(200));
}

static void test_integer_boundaries(void **state)
{
  rpcd_method_spec ispec, uspec;
  msgpack_object args[1];
  uint64_t given;
  built b;
  char err[256] = "";

  (void)state;
  spec_of(&ispec, p_int);
  spec_of(&uspec, p_uint);
  /* INT64_MAX arrives as a positive integer: fine for an int param. */
  assert_int_equal(rpcd__params_check(&ispec,
                                      build(&b, "Au", 1, (uint64_t)INT64_MAX),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(args[0].via.u64, (uint64_t)INT64_MAX);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&ispec, build(&b, "Ai", 1, INT64_MIN),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].via.i64, INT64_MIN);
  built_free(&b);
  assert_int_equal(
      rpcd__params_check(&ispec, build(&b, "Au", 1, (uint64_t)INT64_MAX + 1),
                         args, &given, err, sizeof(err)),
      RPCD_EINVAL);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&uspec, build(&b, "Au", 1, UINT64_MAX),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].via.u64, UINT64_MAX);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&uspec, build(&b, "Au", 1, UINT64_C(0)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&uspec, build(&b, "Ai", 1, INT64_C(-1)),
                                      args, &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "param n: expected uint, got int");
  built_free(&b);
  rpcd__method_spec_free(&ispec);
  rpcd__method_spec_free(&uspec);

  /* Range ends are inclusive. */
  spec_of(&ispec, p_small);
  assert_int_equal(rpcd__params_check(&ispec, build(&b, "Ai", 1, INT64_C(-5)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&ispec, build(&b, "Au", 1, UINT64_C(5)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  rpcd__method_spec_free(&ispec);
}

static void test_floats(void **state)
{
  static const rpcd_param p_any_float[] = {
      RPCD_PARAM_OF("x", RPCD_TYPE_FLOAT, 0), RPCD_PARAMS_END};
  rpcd_method_spec spec;
  msgpack_object args[1];
  uint64_t given;
  built b;
  char err[256] = "";

  (void)state;
  spec_of(&spec, p_float);
  /* Integers are accepted as they were sent; the handler reads a double. */
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Au", 1, UINT64_C(10)),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Af", 1, 0.25), args,
                                      &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].type, MSGPACK_OBJECT_FLOAT32);
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Ad", 1, 0.0), args,
                                      &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  rpcd__method_spec_free(&spec);

  /* Without a range NaN and infinities pass; negative integers too. */
  spec_of(&spec, p_any_float);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Ad", 1, (double)NAN),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_true(isnan(args[0].via.f64));
  built_free(&b);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "Ai", 1, INT64_MIN),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_lengths_at_limit(void **state)
{
  rpcd_method_spec spec;
  msgpack_object args[1];
  uint64_t given;
  built b;
  char err[256] = "";

  (void)state;
  memset(s300, 'k', 300);
  spec_of(&spec, p_key);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "AS", 1, 255u, s300),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].via.str.size, 255);
  built_free(&b);
  rpcd__method_spec_free(&spec);
  spec_of(&spec, p_blob);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "AB", 1, 4u, bytes5),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  rpcd__method_spec_free(&spec);
  spec_of(&spec, p_opts);
  assert_int_equal(rpcd__params_check(&spec,
                                      build(&b, "AMsnsn", 1, 2u, "a", "b"),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(args[0].via.map.size, 2);
  built_free(&b);
  rpcd__method_spec_free(&spec);
  /* No limit: max_len 0. */
  spec_of(&spec, p_name);
  assert_int_equal(rpcd__params_check(&spec, build(&b, "AS", 1, 300u, s300),
                                      args, &given, err, sizeof(err)),
                   RPCD_OK);
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

static void test_unknown_key_text(void **state)
{
  rpcd_method_spec spec;
  msgpack_object args[1];
  uint64_t given;
  built b;
  char err[256] = "", key[100];

  (void)state;
  spec_of(&spec, p_fib);
  /* Control bytes shown as '?', long keys cut at 64 bytes. */
  assert_int_equal(rpcd__params_check(&spec, build(&b, "MSn", 1, 3u, "a\nb"),
                                      args, &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "param a?b: unknown");
  built_free(&b);
  memset(key, 'q', sizeof(key));
  assert_int_equal(rpcd__params_check(&spec, build(&b, "MSn", 1, 100u, key),
                                      args, &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_int_equal(strlen(err), strlen("param : unknown") + 64);
  built_free(&b);
  /* A key that is a prefix of a param's name is not that param. */
  assert_int_equal(rpcd__params_check(&spec, build(&b, "MSn", 1, 0u, ""), args,
                                      &given, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "param : unknown");
  built_free(&b);
  rpcd__method_spec_free(&spec);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_positional),
      cmocka_unit_test(test_named),
      cmocka_unit_test(test_no_params),
      cmocka_unit_test(test_untyped_spec),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_integer_boundaries),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_lengths_at_limit),
      cmocka_unit_test(test_unknown_key_text),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
