/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of typed method descriptors (core/method_desc.c): reading a
 * plugin's rpcd_method_desc and params into the host's layout, every reason
 * a descriptor is refused (with its error text), entries larger than the
 * host's structs (a newer plugin), method_descs arrays, signature lines and
 * their truncation, and the rpc.describe fields decoded back.
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

static int handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  return msgpack_pack_nil(result);
}

static const rpcd_param fib_params[] = {
    RPCD_PARAM_UINT("n", 0, 93),
    RPCD_PARAMS_END,
};

static const rpcd_method_desc fib_desc =
    RPCD_METHOD("fib", handler, fib_params, RPCD_TYPE_UINT,
                RPCD_METHOD_IDEMPOTENT, "the n-th Fibonacci number");

static void test_type_names(void **state)
{
  (void)state;
  assert_string_equal(rpcd__type_name(RPCD_TYPE_ANY), "any");
  assert_string_equal(rpcd__type_name(RPCD_TYPE_UINT), "uint");
  assert_string_equal(rpcd__type_name(RPCD_TYPE_MAP), "map");
  assert_string_equal(rpcd__type_name(RPCD_TYPE_MAP + 1), "?");
  assert_string_equal(rpcd__type_name(UINT32_MAX), "?");
}

static void test_read_good(void **state)
{
  static const rpcd_param params[] = {
      RPCD_PARAM_UINT("n", 0, 93),
      RPCD_PARAM_STR("key", 255),
      RPCD_OPTIONAL_STR("prefix", 16, "p:"),
      RPCD_OPTIONAL_BOOL("all", true),
      RPCD_OPTIONAL_OF("extra", RPCD_TYPE_MAP, 8),
      RPCD_PARAMS_END,
  };
  static const rpcd_method_desc d =
      RPCD_METHOD("kv.get", handler, params, RPCD_TYPE_ANY,
                  RPCD_METHOD_IDEMPOTENT | RPCD_METHOD_DEPRECATED, "get one");
  rpcd_method_spec spec;
  char err[256] = "";

  (void)state;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  assert_string_equal(err, "");
  assert_true(spec.typed);
  assert_int_equal(spec.nparams, 5);
  assert_int_equal(spec.result, RPCD_TYPE_ANY);
  assert_int_equal(spec.flags, RPCD_METHOD_IDEMPOTENT | RPCD_METHOD_DEPRECATED);
  assert_ptr_equal(spec.doc, d.doc);
  assert_non_null(spec.params);
  assert_ptr_not_equal(spec.params, params); /* a copy, in host layout */
  assert_ptr_equal(spec.params[0].name, params[0].name);
  assert_int_equal(spec.params[0].type, RPCD_TYPE_UINT);
  assert_int_equal(spec.params[0].max_u, 93);
  assert_int_equal(spec.params[1].max_len, 255);
  assert_ptr_equal(spec.params[2].def_s, params[2].def_s);
  assert_int_equal(spec.params[2].def_len, 2);
  assert_int_equal(spec.params[3].def_i, 1);
  assert_int_equal(spec.params[4].flags, RPCD_PARAM_OPTIONAL);
  assert_int_equal(spec.params[4].size, sizeof(rpcd_param));
  rpcd__method_spec_free(&spec);
  assert_null(spec.params);
  assert_int_equal(spec.nparams, 0);
  assert_false(spec.typed);
}

static void test_read_no_params(void **state)
{
  static const rpcd_param none[] = {RPCD_PARAMS_END};
  const rpcd_method_desc a =
      RPCD_METHOD("a", handler, NULL, RPCD_TYPE_STR, 0, NULL);
  const rpcd_method_desc b =
      RPCD_METHOD("b", handler, none, RPCD_TYPE_STR, 0, NULL);
  const rpcd_method_desc any = RPCD_METHOD("c", handler, NULL, RPCD_TYPE_MAP,
                                           RPCD_METHOD_ANY_PARAMS, NULL);
  rpcd_method_spec spec;
  char err[256] = "";

  (void)state;
  assert_int_equal(rpcd__method_spec_read(&spec, &a, err, sizeof(err)),
                   RPCD_OK);
  assert_true(spec.typed);
  assert_int_equal(spec.nparams, 0);
  assert_null(spec.params);
  assert_null(spec.doc);
  rpcd__method_spec_free(&spec);
  assert_int_equal(rpcd__method_spec_read(&spec, &b, err, sizeof(err)),
                   RPCD_OK);
  assert_true(spec.typed);
  assert_int_equal(spec.nparams, 0);
  rpcd__method_spec_free(&spec);
  /* ANY_PARAMS: untyped, but keeps its result type and flags. */
  assert_int_equal(rpcd__method_spec_read(&spec, &any, err, sizeof(err)),
                   RPCD_OK);
  assert_false(spec.typed);
  assert_int_equal(spec.result, RPCD_TYPE_MAP);
  assert_int_equal(spec.flags, RPCD_METHOD_ANY_PARAMS);
  rpcd__method_spec_free(&spec);
}

static void test_untyped(void **state)
{
  rpcd_method_spec spec;

  (void)state;
  memset(&spec, 0xa5, sizeof(spec));
  rpcd__method_spec_untyped(&spec);
  assert_false(spec.typed);
  assert_null(spec.params);
  assert_int_equal(spec.nparams, 0);
  assert_int_equal(spec.result, RPCD_TYPE_ANY);
  assert_int_equal(spec.flags, 0);
  assert_null(spec.doc);
  rpcd__method_spec_free(&spec); /* harmless */
}

/* One refused descriptor: up to 3 params and the end, method flags, result
 * type, doc, and the error text expected. */
typedef struct bad_case {
  rpcd_param params[4];
  uint32_t flags;
  uint32_t result;
  const char *doc;
  const char *err;
} bad_case;

#define P_END RPCD_PARAMS_END
#define MK(...)                                                                \
  {                                                                            \
    __VA_ARGS__                                                                \
  }

static const bad_case bad_cases[] = {
    {MK(P_END), 0x8, 0, NULL, "method \"m\": unknown flags 0x8"},
    {MK(P_END), 0, 10, NULL,
     "method \"m\": result type 10 is not a valid type"},
    {MK(P_END), 0, 0, "two\nlines",
     "method \"m\": doc has a newline or control character"},
    {MK(P_END), 0, 0, "tab\there",
     "method \"m\": doc has a newline or control character"},
    {MK(RPCD_PARAM_UINT("n", 0, 1), P_END), RPCD_METHOD_ANY_PARAMS, 0, NULL,
     "method \"m\": declares params but takes any params"},
    {MK(RPCD_PARAM_UINT("", 0, 1), P_END), 0, 0, NULL,
     "method \"m\": param 0: name \"\" is not [A-Za-z_][A-Za-z0-9_]{0,63}"},
    {MK(RPCD_PARAM_BOOL("ok"), RPCD_PARAM_UINT("1n", 0, 1), P_END), 0, 0, NULL,
     "method \"m\": param 1: name \"1n\" is not [A-Za-z_][A-Za-z0-9_]{0,63}"},
    {MK(RPCD_PARAM_UINT("a-b", 0, 1), P_END), 0, 0, NULL,
     "method \"m\": param 0: name \"a-b\" is not [A-Za-z_][A-Za-z0-9_]{0,63}"},
    {MK(RPCD_PARAM_UINT("a\nb", 0, 1), P_END), 0, 0, NULL,
     "method \"m\": param 0: name \"a?b\" is not [A-Za-z_][A-Za-z0-9_]{0,63}"},
    {MK(RPCD_PARAM_BOOL("n"), RPCD_PARAM_STR("n", 0), P_END), 0, 0, NULL,
     "method \"m\": param \"n\": declared twice"},
    {MK(RPCD_PARAM_OF("n", 10, 0), P_END), 0, 0, NULL,
     "method \"m\": param \"n\": type 10 is not a valid type"},
    {MK(RPCD__PARAM("n", RPCD_TYPE_INT, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    NULL, 0),
        P_END),
     0, 0, NULL, "method \"m\": param \"n\": unknown flags 0x18"},
    {MK(RPCD__PARAM("n", RPCD_TYPE_INT, RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0, 0,
                    1, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL, "method \"m\": param \"n\": a default needs OPTIONAL"},
    {MK(RPCD_OPTIONAL_BOOL("a", false), RPCD_PARAM_BOOL("b"), P_END), 0, 0,
     NULL, "method \"m\": param \"b\": required after an optional param"},
    {MK(RPCD__PARAM("s", RPCD_TYPE_STR, RPCD_PARAM_RANGE, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL,
     "method \"m\": param \"s\": a range needs int, uint or float, "
     "not str"},
    {MK(RPCD_PARAM_UINT("n", 93, 0), P_END), 0, 0, NULL,
     "method \"m\": param \"n\": range 93..0 is empty"},
    {MK(RPCD_PARAM_INT("i", -1, -5), P_END), 0, 0, NULL,
     "method \"m\": param \"i\": range -1..-5 is empty"},
    {MK(RPCD_PARAM_FLOAT("f", 0.5, 0.25), P_END), 0, 0, NULL,
     "method \"m\": param \"f\": range 0.5..0.25 is empty"},
    {MK(RPCD_PARAM_FLOAT("f", 0, INFINITY), P_END), 0, 0, NULL,
     "method \"m\": param \"f\": range bounds must be finite"},
    {MK(RPCD_PARAM_FLOAT("f", NAN, 1), P_END), 0, 0, NULL,
     "method \"m\": param \"f\": range bounds must be finite"},
    {MK(RPCD_PARAM_OF("i", RPCD_TYPE_INT, 4), P_END), 0, 0, NULL,
     "method \"m\": param \"i\": max_len needs str, bin, array or map, not "
     "int"},
    {MK(RPCD__PARAM("b", RPCD_TYPE_BOOL,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 2, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL, "method \"m\": param \"b\": bool default 2 is not 0 or 1"},
    {MK(RPCD_OPTIONAL_INT("i", -5, 5, 6), P_END), 0, 0, NULL,
     "method \"m\": param \"i\": default 6 is outside -5..5"},
    {MK(RPCD_OPTIONAL_UINT("u", 1, 5, 0), P_END), 0, 0, NULL,
     "method \"m\": param \"u\": default 0 is outside 1..5"},
    {MK(RPCD_OPTIONAL_FLOAT("f", 0, 1, 1.5), P_END), 0, 0, NULL,
     "method \"m\": param \"f\": default 1.5 is outside 0..1"},
    {MK(RPCD__PARAM("f", RPCD_TYPE_FLOAT,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, NAN, NULL, 0),
        P_END),
     0, 0, NULL, "method \"m\": param \"f\": default must be finite"},
    {MK(RPCD_OPTIONAL_STR("s", 2, "abc"), P_END), 0, 0, NULL,
     "method \"m\": param \"s\": default of 3 bytes is longer than max_len 2"},
    {MK(RPCD__PARAM("s", RPCD_TYPE_BIN,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, NULL, 3),
        P_END),
     0, 0, NULL,
     "method \"m\": param \"s\": default of 3 bytes has no bytes "
     "(def_s)"},
    {MK(RPCD__PARAM("a", RPCD_TYPE_ARRAY,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL,
     "method \"m\": param \"a\": array params cannot have a "
     "default"},
    {MK(RPCD__PARAM("a", RPCD_TYPE_MAP,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL,
     "method \"m\": param \"a\": map params cannot have a "
     "default"},
    {MK(RPCD__PARAM("a", RPCD_TYPE_ANY,
                    RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, NULL, 0),
        P_END),
     0, 0, NULL,
     "method \"m\": param \"a\": any params cannot have a "
     "default"},
};

static void test_read_refusals(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    const bad_case *c = &bad_cases[i];
    rpcd_method_desc d =
        RPCD_METHOD("m", handler, c->params, c->result, c->flags, c->doc);
    rpcd_method_spec spec;
    char err[256] = "";

    print_message("case %zu: %s\n", i, c->err);
    assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                     RPCD_EINVAL);
    assert_string_equal(err, c->err);
    /* Nothing to free after a refusal. */
    assert_null(spec.params);
    assert_int_equal(spec.nparams, 0);
  }
}

static void test_read_desc_size(void **state)
{
  rpcd_method_desc d = fib_desc;
  rpcd_method_spec spec;
  char err[256], want[256];

  (void)state;
  d.size = sizeof(rpcd_method_desc) - 8;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want), "method descriptor size %zu is not in %zu..4096",
           sizeof(rpcd_method_desc) - 8, sizeof(rpcd_method_desc));
  assert_string_equal(err, want);
  d.size = 4097;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method descriptor size 4097 is not in %zu..4096",
           sizeof(rpcd_method_desc));
  assert_string_equal(err, want);
  d.size = 0;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  d = (rpcd_method_desc)RPCD_METHODS_END;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "method descriptor without a name");
}

static void test_read_doc_length(void **state)
{
  char doc[202];
  rpcd_method_desc d = fib_desc;
  rpcd_method_spec spec;
  char err[256] = "";

  (void)state;
  memset(doc, 'd', 200);
  doc[200] = '\0';
  d.doc = doc;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  rpcd__method_spec_free(&spec);
  doc[200] = 'd';
  doc[201] = '\0';
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "method \"fib\": doc is longer than 200 bytes");
  /* UTF-8 is not a control character. */
  d.doc = "caf\xc3\xa9";
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  rpcd__method_spec_free(&spec);
}

static void test_read_param_names(void **state)
{
  char name64[65], name65[66];
  rpcd_param params[2] = {RPCD_PARAM_BOOL(NULL), RPCD_PARAMS_END};
  rpcd_method_desc d =
      RPCD_METHOD("m", handler, params, RPCD_TYPE_NIL, 0, NULL);
  rpcd_method_spec spec;
  char err[256] = "";

  (void)state;
  memset(name64, 'a', 64);
  name64[0] = '_';
  name64[64] = '\0';
  params[0].name = name64;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  rpcd__method_spec_free(&spec);
  memset(name65, 'Z', 65);
  name65[65] = '\0';
  params[0].name = name65;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "is not [A-Za-z_][A-Za-z0-9_]{0,63}"));
  params[0].name = "snake_Case_9";
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  rpcd__method_spec_free(&spec);
}

static void test_read_param_sizes(void **state)
{
  rpcd_param params[3] = {RPCD_PARAM_BOOL("a"), RPCD_PARAM_BOOL("b"),
                          RPCD_PARAMS_END};
  rpcd_method_desc d =
      RPCD_METHOD("m", handler, params, RPCD_TYPE_NIL, 0, NULL);
  rpcd_method_spec spec;
  char err[256] = "", want[256];

  (void)state;
  params[0].size = sizeof(rpcd_param) - 8;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method \"m\": param 0: size %zu is not in %zu..4096",
           sizeof(rpcd_param) - 8, sizeof(rpcd_param));
  assert_string_equal(err, want);
  params[0].size = 5000;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method \"m\": param 0: size 5000 is not in "
           "%zu..4096",
           sizeof(rpcd_param));
  assert_string_equal(err, want);
  params[0].size = sizeof(rpcd_param);
  params[1].size = sizeof(rpcd_param) + 8;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method \"m\": param 1: size %zu differs from the first's %zu",
           sizeof(rpcd_param) + 8, sizeof(rpcd_param));
  assert_string_equal(err, want);
  /* The end entry is an entry too. */
  params[1].size = sizeof(rpcd_param);
  params[2].size = 0;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method \"m\": param 2: size 0 differs from the first's %zu",
           sizeof(rpcd_param));
  assert_string_equal(err, want);
}

static void test_read_max_params(void **state)
{
  rpcd_param params[RPCD_MAX_PARAMS + 2];
  char names[RPCD_MAX_PARAMS + 1][8];
  rpcd_method_desc d =
      RPCD_METHOD("many", handler, params, RPCD_TYPE_NIL, 0, NULL);
  const rpcd_param end = RPCD_PARAMS_END;
  rpcd_method_spec spec;
  char err[256] = "";
  unsigned i;

  (void)state;
  for (i = 0; i < RPCD_MAX_PARAMS + 1; i++) {
    const rpcd_param p = RPCD_PARAM_BOOL(names[i]);

    snprintf(names[i], sizeof(names[i]), "p%u", i);
    params[i] = p;
  }
  params[RPCD_MAX_PARAMS] = end;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(spec.nparams, RPCD_MAX_PARAMS);
  assert_string_equal(spec.params[63].name, "p63");
  rpcd__method_spec_free(&spec);
  {
    const rpcd_param p = RPCD_PARAM_BOOL(names[RPCD_MAX_PARAMS]);

    params[RPCD_MAX_PARAMS] = p;
  }
  params[RPCD_MAX_PARAMS + 1] = end;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_string_equal(err, "method \"many\": more than 64 params");
}

/* What a plugin built against a later header might pass: both structs
 * grown by trailing members the host does not know. */
typedef struct newer_param {
  rpcd_param base;
  uint64_t future_a;
  const char *future_b;
} newer_param;

typedef struct newer_desc {
  rpcd_method_desc base;
  uint32_t future_flags;
  const void *future_ptr;
} newer_desc;

static void test_read_newer_plugin(void **state)
{
  const rpcd_param a = RPCD_PARAM_INT("a", -3, 3);
  const rpcd_param b = RPCD_OPTIONAL_STR("b", 8, "xy");
  const rpcd_param end = RPCD_PARAMS_END;
  newer_param params[3];
  newer_desc d;
  rpcd_method_spec spec;
  char err[256] = "";
  unsigned i;

  (void)state;
  memset(params, 0xff, sizeof(params));
  params[0].base = a;
  params[1].base = b;
  params[2].base = end;
  for (i = 0; i < 3; i++) {
    params[i].base.size = sizeof(newer_param);
    params[i].future_a = 0xdeadbeef;
    params[i].future_b = "future";
  }
  memset(&d, 0xff, sizeof(d));
  d.base = (rpcd_method_desc)RPCD_METHOD("new", handler, &params[0].base,
                                         RPCD_TYPE_INT, 0, "from the future");
  d.base.size = sizeof(newer_desc);
  d.future_flags = 0xffffffffu;
  d.future_ptr = &d;
  assert_int_equal(rpcd__method_spec_read(&spec, &d.base, err, sizeof(err)),
                   RPCD_OK);
  assert_true(spec.typed);
  assert_int_equal(spec.nparams, 2);
  assert_int_equal(spec.result, RPCD_TYPE_INT);
  assert_string_equal(spec.doc, "from the future");
  assert_string_equal(spec.params[0].name, "a");
  assert_int_equal(spec.params[0].min_i, -3);
  assert_int_equal(spec.params[0].max_i, 3);
  assert_string_equal(spec.params[1].name, "b");
  assert_int_equal(spec.params[1].def_len, 2);
  assert_memory_equal(spec.params[1].def_s, "xy", 2);
  assert_int_equal(spec.params[1].size, sizeof(rpcd_param));
  rpcd__method_spec_free(&spec);
}

static void test_desc_copy(void **state)
{
  struct {
    rpcd_param p;
    char tail[16];
  } big;
  rpcd_param out;

  (void)state;
  memset(&big, 0x5a, sizeof(big));
  big.p.size = sizeof(big);
  big.p.max_len = 7;
  memset(&out, 0xff, sizeof(out));
  assert_int_equal(
      rpcd__desc_copy(&out, sizeof(out), &big, RPCD_PARAM_MIN_SIZE), RPCD_OK);
  assert_int_equal(out.size, sizeof(big));
  assert_int_equal(out.max_len, 7);
  big.p.size = RPCD_PARAM_MIN_SIZE - 1;
  assert_int_equal(
      rpcd__desc_copy(&out, sizeof(out), &big, RPCD_PARAM_MIN_SIZE),
      RPCD_EINVAL);
  big.p.size = RPCD_DESC_MAX_SIZE + 1;
  assert_int_equal(
      rpcd__desc_copy(&out, sizeof(out), &big, RPCD_PARAM_MIN_SIZE),
      RPCD_EINVAL);
  /* A smaller entry (a future host reading an older plugin) leaves the
   * members it lacks zero. */
  big.p.size = 16;
  memset(&out, 0xff, sizeof(out));
  assert_int_equal(rpcd__desc_copy(&out, sizeof(out), &big, 16), RPCD_OK);
  assert_int_equal(out.size, 16);
  assert_int_equal(out.max_len, 0);
  assert_int_equal(out.def_len, 0);
}

static void test_descs_count(void **state)
{
  rpcd_method_desc descs[4] = {
      RPCD_METHOD("a", handler, NULL, 0, 0, NULL),
      RPCD_METHOD("b", handler, NULL, 0, 0, NULL),
      RPCD_METHOD("c", handler, NULL, 0, 0, NULL),
      RPCD_METHODS_END,
  };
  newer_desc newer[3];
  size_t n = 99;
  char err[256] = "", want[256];

  (void)state;
  assert_int_equal(rpcd__method_descs_count(descs, &n, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(n, 3);
  descs[2].size = 8;
  assert_int_equal(rpcd__method_descs_count(descs, &n, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want),
           "method descriptor 2: size 8 differs from the first's %zu",
           sizeof(rpcd_method_desc));
  assert_string_equal(err, want);
  descs[0].size = 8;
  assert_int_equal(rpcd__method_descs_count(descs, &n, err, sizeof(err)),
                   RPCD_EINVAL);
  snprintf(want, sizeof(want), "method descriptor size 8 is not in %zu..4096",
           sizeof(rpcd_method_desc));
  assert_string_equal(err, want);
  /* The stride is the first entry's size. */
  memset(newer, 0xee, sizeof(newer));
  newer[0].base = (rpcd_method_desc)RPCD_METHOD("x", handler, NULL, 0, 0, "");
  newer[1].base = (rpcd_method_desc)RPCD_METHOD("y", handler, NULL, 0, 0, "");
  newer[2].base = (rpcd_method_desc)RPCD_METHODS_END;
  for (n = 0; n < 3; n++)
    newer[n].base.size = sizeof(newer_desc);
  assert_int_equal(
      rpcd__method_descs_count(&newer[0].base, &n, err, sizeof(err)), RPCD_OK);
  assert_int_equal(n, 2);
  assert_ptr_equal(rpcd__desc_at(newer, sizeof(newer_desc), 1), &newer[1]);
  assert_int_equal(rpcd__desc_size(&newer[1]), sizeof(newer_desc));
}

/* The signature of `d`, read as the host reads it. */
static void signature_of(const rpcd_method_desc *d, char *buf, size_t len)
{
  rpcd_method_spec spec;
  char err[256] = "";
  size_t need;

  if (rpcd__method_spec_read(&spec, d, err, sizeof(err)) != RPCD_OK)
    fail_msg("read %s: %s", d->name, err);
  need = rpcd__method_signature(d->name, &spec, buf, len);
  assert_int_equal(need, strlen(buf));
  rpcd__method_spec_free(&spec);
}

static void test_signature_fib(void **state)
{
  char buf[256];

  (void)state;
  signature_of(&fib_desc, buf, sizeof(buf));
  assert_string_equal(buf, "fib(n: uint 0..93) -> uint");
}

static void test_signature_defaults(void **state)
{
  static const rpcd_param params[] = {
      RPCD_PARAM_INT("a", -5, 5),
      RPCD_PARAM_FLOAT("r", -0.25, 1e300),
      RPCD_PARAM_STR("k", 255),
      RPCD_OPTIONAL_STR("s", 16, "say \"hi\"\\\n\x01"),
      RPCD_OPTIONAL_BOOL("b", true),
      RPCD_OPTIONAL_BOOL("off", false),
      RPCD_OPTIONAL_FLOAT("x", 0, 1, 0.1),
      RPCD_OPTIONAL_INT("i", -10, 10, -1),
      RPCD_OPTIONAL_UINT("u", 0, 1000, 5),
      RPCD__PARAM("raw", RPCD_TYPE_BIN,
                  RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT, 0, 0, 0, 0, 0, 0, 0,
                  0, 0, 0, "\x00\x01\x02", 3),
      RPCD__PARAM("z", RPCD_TYPE_NIL, RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
      RPCD_OPTIONAL_OF("o", RPCD_TYPE_ARRAY, 4),
      RPCD_OPTIONAL_OF("v", RPCD_TYPE_ANY, 0),
      RPCD_PARAMS_END,
  };
  static const rpcd_method_desc d =
      RPCD_METHOD("f", handler, params, RPCD_TYPE_MAP, 0, NULL);
  char buf[1024];

  (void)state;
  signature_of(&d, buf, sizeof(buf));
  assert_string_equal(
      buf, "f(a: int -5..5, r: float -0.25..1e+300, k: str <=255, "
           "s?: str <=16 = \"say \\\"hi\\\"\\\\\\n\\u0001\", b?: bool = true, "
           "off?: bool = false, x?: float 0..1 = 0.1, i?: int -10..10 = -1, "
           "u?: uint 0..1000 = 5, raw?: bin = \"<3 bytes>\", z?: nil = null, "
           "o?: array <=4, v?: any) -> map");
}

static void test_signature_no_params_and_untyped(void **state)
{
  const rpcd_method_desc ping =
      RPCD_METHOD("rpc.ping", handler, NULL, RPCD_TYPE_STR, 0, NULL);
  const rpcd_method_desc any = RPCD_METHOD(
      "echo", handler, NULL, RPCD_TYPE_ARRAY, RPCD_METHOD_ANY_PARAMS, NULL);
  rpcd_method_spec spec;
  char buf[64];

  (void)state;
  signature_of(&ping, buf, sizeof(buf));
  assert_string_equal(buf, "rpc.ping() -> str");
  signature_of(&any, buf, sizeof(buf));
  assert_string_equal(buf, "echo(...) -> array");
  rpcd__method_spec_untyped(&spec);
  assert_int_equal(rpcd__method_signature("x", &spec, buf, sizeof(buf)), 13);
  assert_string_equal(buf, "x(...) -> any");
}

static void test_signature_truncation(void **state)
{
  static const rpcd_param params[] = {
      RPCD_OPTIONAL_STR("s", 0, "\xc3\xa9\xc3\xa9\xc3\xa9"), /* "ééé" */
      RPCD_PARAMS_END,
  };
  static const rpcd_method_desc d =
      RPCD_METHOD("u", handler, params, RPCD_TYPE_NIL, 0, NULL);
  const char *full = "fib(n: uint 0..93) -> uint";
  rpcd_method_spec spec;
  char buf[64], err[128];
  size_t need = strlen(full), i;

  (void)state;
  assert_int_equal(rpcd__method_spec_read(&spec, &fib_desc, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(rpcd__method_signature("fib", &spec, NULL, 0), need);
  memset(buf, 'X', sizeof(buf));
  assert_int_equal(rpcd__method_signature("fib", &spec, buf, 10), need);
  assert_string_equal(buf, "fib(n:...");
  assert_int_equal(buf[10], 'X'); /* nothing written past len */
  /* Exactly fits, and one byte short. */
  assert_int_equal(rpcd__method_signature("fib", &spec, buf, need + 1), need);
  assert_string_equal(buf, full);
  assert_int_equal(rpcd__method_signature("fib", &spec, buf, need), need);
  assert_string_equal(buf, "fib(n: uint 0..93) -> ...");
  for (i = 1; i < 5; i++) {
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(rpcd__method_signature("fib", &spec, buf, i), need);
    assert_int_equal(strlen(buf), i - 1);
    assert_int_equal(buf[i], 'X');
  }
  assert_string_equal(buf, "...");
  rpcd__method_spec_free(&spec);

  /* u(s?: str = "ééé") -> nil, cut so that the first byte cut off is the
   * second byte of an é: the whole é goes. */
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  need = rpcd__method_signature("u", &spec, NULL, 0);
  assert_int_equal(need, strlen("u(s?: str = \"\xc3\xa9\xc3\xa9\xc3\xa9\") "
                                "-> nil"));
  /* "u(s?: str = \"" is 13 bytes, the first é bytes 13 and 14. With len
   * 18 the dots would start at byte 14, inside that é: they start at 13. */
  assert_int_equal(rpcd__method_signature("u", &spec, buf, 18), need);
  assert_string_equal(buf, "u(s?: str = \"...");
  assert_int_equal(rpcd__method_signature("u", &spec, buf, 19), need);
  assert_string_equal(buf, "u(s?: str = \"\xc3\xa9...");
  rpcd__method_spec_free(&spec);
}

/* ---- rpc.describe fields ---- */

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
  uint32_t i;

  assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;

    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
        memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

static void assert_str_obj(const msgpack_object *o, const char *s)
{
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_STR);
  assert_int_equal(o->via.str.size, strlen(s));
  assert_memory_equal(o->via.str.ptr, s, o->via.str.size);
}

/* Pack spec's fields into a map of their own and unpack it into obj. */
static void pack_and_unpack(const char *name, const rpcd_method_spec *spec,
                            msgpack_sbuffer *sb, msgpack_zone *zone,
                            msgpack_object *obj)
{
  msgpack_packer pk;
  size_t off = 0;

  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  assert_int_equal(msgpack_pack_map(&pk, RPCD_METHOD_SPEC_PACKED_FIELDS), 0);
  assert_int_equal(rpcd__method_spec_pack(&pk, name, spec), 0);
  msgpack_zone_init(zone, 1024);
  assert_int_equal(msgpack_unpack(sb->data, sb->size, &off, zone, obj),
                   MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, sb->size); /* exactly the fields announced */
  assert_int_equal(obj->via.map.size, RPCD_METHOD_SPEC_PACKED_FIELDS);
}

static void test_pack_typed(void **state)
{
  static const rpcd_param params[] = {
      RPCD_PARAM_UINT("n", 0, 93),
      RPCD_PARAM_STR("key", 255),
      RPCD_OPTIONAL_FLOAT("x", -1, 1, 0.5),
      RPCD_OPTIONAL_STR("p", 0, "ab"),
      RPCD_OPTIONAL_OF("o", RPCD_TYPE_MAP, 0),
      RPCD_PARAMS_END,
  };
  static const rpcd_method_desc d = RPCD_METHOD(
      "t", handler, params, RPCD_TYPE_UINT,
      RPCD_METHOD_IDEMPOTENT | RPCD_METHOD_DEPRECATED, "a test method");
  rpcd_method_spec spec;
  msgpack_sbuffer sb;
  msgpack_zone zone;
  msgpack_object obj;
  const msgpack_object *o, *p;
  char err[256] = "", sig[256];

  (void)state;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  pack_and_unpack("t", &spec, &sb, &zone, &obj);
  rpcd__method_signature("t", &spec, sig, sizeof(sig));
  assert_str_obj(map_get(&obj, "signature"), sig);
  assert_str_obj(map_get(&obj, "doc"), "a test method");
  assert_str_obj(map_get(&obj, "result"), "uint");
  o = map_get(&obj, "typed");
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(o->via.boolean);
  o = map_get(&obj, "flags");
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 2);
  assert_str_obj(&o->via.array.ptr[0], "idempotent");
  assert_str_obj(&o->via.array.ptr[1], "deprecated");

  o = map_get(&obj, "params");
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 5);
  /* n: required, uint range, no max_len, no default */
  p = &o->via.array.ptr[0];
  assert_int_equal(p->via.map.size, 5);
  assert_str_obj(map_get(p, "name"), "n");
  assert_str_obj(map_get(p, "type"), "uint");
  assert_true(map_get(p, "required")->via.boolean);
  assert_int_equal(map_get(p, "min")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(map_get(p, "min")->via.u64, 0);
  assert_int_equal(map_get(p, "max")->via.u64, 93);
  assert_null(map_get(p, "max_len"));
  assert_null(map_get(p, "default"));
  /* key: max_len only */
  p = &o->via.array.ptr[1];
  assert_int_equal(p->via.map.size, 4);
  assert_int_equal(map_get(p, "max_len")->via.u64, 255);
  assert_null(map_get(p, "min"));
  /* x: optional float with range and default */
  p = &o->via.array.ptr[2];
  assert_int_equal(p->via.map.size, 6);
  assert_false(map_get(p, "required")->via.boolean);
  assert_int_equal(map_get(p, "min")->type, MSGPACK_OBJECT_FLOAT64);
  assert_true(map_get(p, "min")->via.f64 == -1.0);
  assert_true(map_get(p, "max")->via.f64 == 1.0);
  assert_true(map_get(p, "default")->via.f64 == 0.5);
  /* p: str default */
  p = &o->via.array.ptr[3];
  assert_str_obj(map_get(p, "default"), "ab");
  /* o: optional without a default */
  p = &o->via.array.ptr[4];
  assert_int_equal(p->via.map.size, 3);
  assert_str_obj(map_get(p, "type"), "map");
  assert_null(map_get(p, "default"));

  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
  rpcd__method_spec_free(&spec);
}

static void test_pack_untyped(void **state)
{
  rpcd_method_spec spec;
  msgpack_sbuffer sb;
  msgpack_zone zone;
  msgpack_object obj;
  const msgpack_object *o;

  (void)state;
  rpcd__method_spec_untyped(&spec);
  pack_and_unpack("old.method", &spec, &sb, &zone, &obj);
  assert_str_obj(map_get(&obj, "signature"), "old.method(...) -> any");
  assert_str_obj(map_get(&obj, "doc"), "");
  assert_str_obj(map_get(&obj, "result"), "any");
  assert_false(map_get(&obj, "typed")->via.boolean);
  o = map_get(&obj, "params");
  assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o->via.array.size, 0);
  o = map_get(&obj, "flags");
  assert_int_equal(o->via.array.size, 0);
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
}

static void test_pack_long_signature(void **state)
{
  rpcd_param params[RPCD_MAX_PARAMS + 1];
  char names[RPCD_MAX_PARAMS][24];
  const rpcd_param end = RPCD_PARAMS_END;
  rpcd_method_desc d =
      RPCD_METHOD("long", handler, params, RPCD_TYPE_NIL, 0, NULL);
  rpcd_method_spec spec;
  msgpack_sbuffer sb;
  msgpack_zone zone;
  msgpack_object obj;
  const msgpack_object *o;
  char err[256] = "";
  size_t need;
  unsigned i;

  (void)state;
  for (i = 0; i < RPCD_MAX_PARAMS; i++) {
    const rpcd_param p = RPCD_PARAM_INT(names[i], INT64_MIN, INT64_MAX);

    snprintf(names[i], sizeof(names[i]), "param_number_%u", i);
    params[i] = p;
  }
  params[RPCD_MAX_PARAMS] = end;
  assert_int_equal(rpcd__method_spec_read(&spec, &d, err, sizeof(err)),
                   RPCD_OK);
  need = rpcd__method_signature("long", &spec, NULL, 0);
  assert_true(need > 2048);
  pack_and_unpack("long", &spec, &sb, &zone, &obj);
  o = map_get(&obj, "signature");
  /* Whole, not truncated. */
  assert_int_equal(o->via.str.size, need);
  assert_memory_equal(o->via.str.ptr + need - 6, "-> nil", 6);
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
  rpcd__method_spec_free(&spec);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_read_good),
      cmocka_unit_test(test_read_no_params),
      cmocka_unit_test(test_untyped),
      cmocka_unit_test(test_read_refusals),
      cmocka_unit_test(test_read_desc_size),
      cmocka_unit_test(test_read_doc_length),
      cmocka_unit_test(test_read_param_names),
      cmocka_unit_test(test_read_param_sizes),
      cmocka_unit_test(test_read_max_params),
      cmocka_unit_test(test_read_newer_plugin),
      cmocka_unit_test(test_desc_copy),
      cmocka_unit_test(test_descs_count),
      cmocka_unit_test(test_signature_fib),
      cmocka_unit_test(test_signature_defaults),
      cmocka_unit_test(test_signature_no_params_and_untyped),
      cmocka_unit_test(test_signature_truncation),
      cmocka_unit_test(test_pack_typed),
      cmocka_unit_test(test_pack_untyped),
      cmocka_unit_test(test_pack_long_signature),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
