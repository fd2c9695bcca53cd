/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the dispatcher (core/dispatcher.c) with fib.so and the test
 * plugins ok.so (untyped) and typed.so (ABI 1.2) loaded: fib's results and
 * its invalid params, typed methods' checked args (positional, named,
 * defaults) and refused params, the built-ins rpc.ping, rpc.list and
 * rpc.describe, unknown methods, and how the host turns what a handler did
 * (set_error, a negative status, no result, a malformed or oversized
 * result) into the dispatch result. Also the host API itself: scratch
 * memory (ASan checks its use), set_error's code rules, log and ctx_log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/version.h>

#include "dispatcher.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

#include "core_fixture.h"

#define NO_LIMIT ((size_t)RPCD_DEFAULT_MAX_BODY)

static int setup(void **state)
{
  char err[512] = "";

  (void)state;
  if (core_fixture_setup(RPCD_LOG_WARN) != 0)
    return -1;
  /* Its open() logs a line, which is not what these tests look at. */
  rpcd__log_level = RPCD_LOG_ERROR;
  if (rpcd__plugin_load(&reg, TEST_PLUGIN_DIR "/typed.so", err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "setup: %s\n", err);
    return -1;
  }
  rpcd__log_level = RPCD_LOG_WARN;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Calling                                                                   */

/* One dispatch, with the params and the result decoded. */
typedef struct call {
  rpcd_dispatch_result r;
  rpcd_mp_doc result; /* valid when r.error_code == 0 */
} call;

/* The stop time the next dispatch gets (monotonic ms; 0: none). */
static int64_t next_stop_at;

/* Who makes the next dispatch; NULL: anyone may call anything. */
static const rpcd_caller *next_caller;

/* Raw msgpack params from a string literal (which may hold \x00). */
#define P(lit) (lit), sizeof(lit) - 1

static void call_len(call *c, const char *method, size_t method_len,
                     const void *params, size_t params_len, size_t max_result)
{
  rpcd_mp_doc pdoc;
  char *copy;
  char err[256];

  memset(c, 0, sizeof(*c));
  /* A heap copy, wiped and freed before the result is read: the result
   * must not point into the params (and ASan sees any read past them). */
  copy = malloc(params_len);
  assert_non_null(copy);
  memcpy(copy, params, params_len);
  if (rpcd__mp_decode(copy, params_len, RPCD_MAX_DEPTH, &pdoc, err,
                      sizeof(err)) != RPCD_OK)
    fail_msg("bad test params: %s", err);
  rpcd__dispatch(&reg, next_caller, method, method_len, &pdoc.root, "cid-123",
                 7, next_stop_at, max_result, &c->r);
  rpcd__mp_doc_destroy(&pdoc);
  memset(copy, 0xee, params_len);
  free(copy);
  assert_null(rpcd__plugin_current());
  if (c->r.error_code == 0) {
    assert_non_null(c->r.result.data);
    if (rpcd__mp_decode(c->r.result.data, c->r.result.size, RPCD_MAX_DEPTH,
                        &c->result, err, sizeof(err)) != RPCD_OK)
      fail_msg("%.*s: result is not one msgpack object: %s", (int)method_len,
               method, err);
  } else {
    assert_int_equal(c->r.result.size, 0);
    assert_non_null(c->r.error_message);
  }
}

static void call_max(call *c, const char *method, const void *params,
                     size_t params_len, size_t max_result)
{
  call_len(c, method, strlen(method), params, params_len, max_result);
}

static void call_m(call *c, const char *method, const void *params,
                   size_t params_len)
{
  call_max(c, method, params, params_len, NO_LIMIT);
}

static void call_done(call *c)
{
  if (c->r.error_code == 0)
    rpcd__mp_doc_destroy(&c->result);
  rpcd__dispatch_result_destroy(&c->r);
}

static void assert_contains(const char *text, const char *want)
{
  if (!text || !strstr(text, want))
    fail_msg("\"%s\" does not contain \"%s\"", text ? text : "(null)", want);
}

/* Expect an error with `code` whose message contains want (and want2). */
static void expect_error(const char *method, const void *params, size_t len,
                         int code, const char *want, const char *want2)
{
  call c;

  call_m(&c, method, params, len);
  if (c.r.error_code != code)
    fail_msg("%s: error %d (%s), expected %d", method, c.r.error_code,
             c.r.error_message ? c.r.error_message : "", code);
  if (want)
    assert_contains(c.r.error_message, want);
  if (want2)
    assert_contains(c.r.error_message, want2);
  call_done(&c);
}

/* Expect -32602 invalid params with exactly `want` as the message. */
static void expect_exact_error(const char *method, const void *params,
                               size_t len, const char *want)
{
  call c;

  call_m(&c, method, params, len);
  if (c.r.error_code != RPCD_ERR_INVALID_PARAMS)
    fail_msg("%s: error %d (%s), expected -32602", method, c.r.error_code,
             c.r.error_message ? c.r.error_message : "");
  assert_string_equal(c.r.error_message, want);
  call_done(&c);
}

static uint64_t expect_u64(const char *method, const void *params, size_t len)
{
  call c;
  uint64_t v;

  call_m(&c, method, params, len);
  if (c.r.error_code != 0)
    fail_msg("%s: error %d: %s", method, c.r.error_code, c.r.error_message);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  v = c.result.root.via.u64;
  call_done(&c);
  return v;
}

/* ------------------------------------------------------------------------ */
/* fib                                                                       */

static void test_fib_values(void **state)
{
  (void)state;
  assert_int_equal(expect_u64("fib", P("\x91\x00")), 0);
  assert_int_equal(expect_u64("fib", P("\x91\x01")), 1);
  assert_int_equal(expect_u64("fib", P("\x91\x02")), 1);
  assert_int_equal(expect_u64("fib", P("\x91\x0a")), 55);
  assert_int_equal(expect_u64("fib", P("\x91\x1e")), 832040);
  /* 93 as uint8 and as uint64: any integer encoding is accepted. */
  assert_true(expect_u64("fib", P("\x91\x5d")) == 12200160415121876738ull);
  assert_true(expect_u64("fib", P("\x91\xcf\0\0\0\0\0\0\0\x5d")) ==
              12200160415121876738ull);
  /* A signed encoding of a non-negative number is still an integer. */
  assert_int_equal(expect_u64("fib", P("\x91\xd3\0\0\0\0\0\0\0\x1e")), 832040);
}

static void test_fib_named(void **state)
{
  (void)state;
  /* {"n": 10} */
  assert_int_equal(expect_u64("fib", P("\x81\xa1n\x0a")), 55);
  /* {"n": 30} */
  assert_int_equal(expect_u64("fib", P("\x81\xa1n\x1e")), 832040);
  /* {"m": 10}, {}, {"n": 1, "m": 2}, {"nn": 1}: checked by the host */
  expect_error("fib", P("\x81\xa1m\x0a"), RPCD_ERR_INVALID_PARAMS, "param ",
               NULL);
  expect_error("fib", P("\x80"), RPCD_ERR_INVALID_PARAMS, "param n: missing",
               NULL);
  expect_error("fib", P("\x82\xa1n\x01\xa1m\x02"), RPCD_ERR_INVALID_PARAMS,
               "param m: unknown", NULL);
  expect_error("fib", P("\x81\xa2nn\x01"), RPCD_ERR_INVALID_PARAMS, "param ",
               NULL);
  /* {"n": 1, "n": 2} */
  expect_error("fib", P("\x82\xa1n\x01\xa1n\x02"), RPCD_ERR_INVALID_PARAMS,
               "param n: given twice", NULL);
  /* {"n": -1} */
  expect_error("fib", P("\x81\xa1n\xff"), RPCD_ERR_INVALID_PARAMS,
               "param n: expected uint in 0..93, got int", NULL);
}

/* fib declares n: uint 0..93; the host's checker refuses the rest, with
 * messages that name the param and the rule. */
static void test_fib_invalid_params(void **state)
{
  (void)state;
  /* fib(94): too large */
  expect_exact_error("fib", P("\x91\x5e"),
                     "param n: expected uint in 0..93, got 94");
  /* fib(2^64 - 1) */
  expect_exact_error("fib", P("\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
                     "param n: expected uint in 0..93, got "
                     "18446744073709551615");
  /* fib(-1), fib(INT64_MIN) */
  expect_exact_error("fib", P("\x91\xff"),
                     "param n: expected uint in 0..93, got int");
  expect_exact_error("fib", P("\x91\xd3\x80\0\0\0\0\0\0\0"),
                     "param n: expected uint in 0..93, got int");
  /* fib("x"), and fib("30"): a numeric string is still a string */
  expect_exact_error("fib", P("\x91\xa1x"),
                     "param n: expected uint in 0..93, got str");
  expect_exact_error("fib",
                     P("\x91\xa2"
                       "30"),
                     "param n: expected uint in 0..93, got str");
  /* fib(1.5), and fib(2.0): a float with an integral value is not an
   * integer either */
  expect_exact_error("fib", P("\x91\xcb\x3f\xf8\0\0\0\0\0\0"),
                     "param n: expected uint in 0..93, got float");
  expect_exact_error("fib", P("\x91\xcb\x40\0\0\0\0\0\0\0"),
                     "param n: expected uint in 0..93, got float");
  /* fib(nil), fib(true), fib([1]) */
  expect_exact_error("fib", P("\x91\xc0"),
                     "param n: expected uint in 0..93, got nil");
  expect_exact_error("fib", P("\x91\xc3"),
                     "param n: expected uint in 0..93, got bool");
  expect_exact_error("fib", P("\x91\x91\x01"),
                     "param n: expected uint in 0..93, got array");
  /* fib(): arity */
  expect_exact_error("fib", P("\x90"), "param n: missing");
  /* fib(1, 2) */
  expect_exact_error("fib", P("\x92\x01\x02"),
                     "expected at most 1 param, got 2");
}

/* ------------------------------------------------------------------------ */
/* Built-ins and lookup                                                      */

static void test_ping(void **state)
{
  call c;

  (void)state;
  call_m(&c, "rpc.ping", P("\x90"));
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_STR);
  assert_true(rpcd__mp_str_eq(&c.result.root, "pong"));
  call_done(&c);
  expect_exact_error("rpc.ping", P("\x91\x01"),
                     "expected at most 0 params, got 1");
}

/* The value of key `k` in map `m`, or NULL. */
static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
  uint32_t i;

  if (m->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (i = 0; i < m->via.map.size; i++) {
    if (rpcd__mp_str_eq(&m->via.map.ptr[i].key, k))
      return &m->via.map.ptr[i].val;
  }
  return NULL;
}

static void expect_listed(const msgpack_object *list, const char *name,
                          const char *plugin, const char *version)
{
  uint32_t i;

  for (i = 0; i < list->via.array.size; i++) {
    const msgpack_object *m = &list->via.array.ptr[i];

    if (rpcd__mp_str_eq(map_get(m, "name"), name)) {
      if (!rpcd__mp_str_eq(map_get(m, "plugin"), plugin))
        fail_msg("%s: wrong plugin, expected %s", name, plugin);
      if (!rpcd__mp_str_eq(map_get(m, "version"), version))
        fail_msg("%s: wrong version, expected %s", name, version);
      return;
    }
  }
  fail_msg("rpc.list lacks %s", name);
}

/* The str `field` of the map of method `name` in `list` is `want`. */
static void expect_field(const msgpack_object *list, const char *name,
                         const char *field, const char *want)
{
  uint32_t i;

  for (i = 0; i < list->via.array.size; i++) {
    const msgpack_object *m = &list->via.array.ptr[i];
    const msgpack_object *v;

    if (!rpcd__mp_str_eq(map_get(m, "name"), name))
      continue;
    v = map_get(m, field);
    if (!v || v->type != MSGPACK_OBJECT_STR)
      fail_msg("%s: no str %s", name, field);
    if (!rpcd__mp_str_eq(v, want))
      fail_msg("%s: %s is \"%.*s\", expected \"%s\"", name, field,
               (int)v->via.str.size, v->via.str.ptr, want);
    return;
  }
  fail_msg("no method %s", name);
}

static void test_list(void **state)
{
  const msgpack_object *list;
  call c;
  uint32_t i;

  (void)state;
  call_m(&c, "rpc.list", P("\x90"));
  assert_int_equal(c.r.error_code, 0);
  list = &c.result.root;
  assert_int_equal(list->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(list->via.array.size, reg.n_methods);
  assert_int_equal(list->via.array.size, 3 + 12 + 1 + 5);
  for (i = 0; i < list->via.array.size; i++) {
    const msgpack_object *m = &list->via.array.ptr[i];
    const msgpack_object *name = map_get(m, "name");

    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_non_null(name);
    assert_int_equal(name->type, MSGPACK_OBJECT_STR);
    assert_non_null(map_get(m, "plugin"));
    assert_int_equal(map_get(m, "plugin")->type, MSGPACK_OBJECT_STR);
    assert_non_null(map_get(m, "version"));
    assert_int_equal(map_get(m, "version")->type, MSGPACK_OBJECT_STR);
    assert_non_null(map_get(m, "signature"));
    assert_int_equal(map_get(m, "signature")->type, MSGPACK_OBJECT_STR);
    assert_non_null(map_get(m, "doc"));
    assert_int_equal(map_get(m, "doc")->type, MSGPACK_OBJECT_STR);
    assert_int_equal(m->via.map.size, 5);
    if (i > 0) {
      const msgpack_object *prev = map_get(&list->via.array.ptr[i - 1], "name");
      size_t n = prev->via.str.size < name->via.str.size ? prev->via.str.size
                                                         : name->via.str.size;
      int cmp = memcmp(prev->via.str.ptr, name->via.str.ptr, n);

      if (cmp > 0 || (cmp == 0 && prev->via.str.size >= name->via.str.size))
        fail_msg("rpc.list not sorted at %u: %.*s before %.*s", (unsigned)i,
                 (int)prev->via.str.size, prev->via.str.ptr,
                 (int)name->via.str.size, name->via.str.ptr);
    }
  }
  expect_listed(list, "rpc.list", "rpcd", RPCD_VERSION_STRING);
  expect_listed(list, "rpc.ping", "rpcd", RPCD_VERSION_STRING);
  expect_listed(list, "fib", "fib", "1.0.0");
  expect_listed(list, "echo", "ok", "2.3.4");
  expect_listed(list, "scratch", "ok", "2.3.4");
  expect_listed(list, "typed.args", "typed", "1.2.0");
  expect_listed(list, "rpc.describe", "rpcd", RPCD_VERSION_STRING);
  /* Signatures: typed, untyped, built-in; doc "" when there is none. */
  expect_field(list, "fib", "signature", "fib(n: uint 0..93) -> uint");
  expect_field(list, "echo", "signature", "echo(...) -> any");
  expect_field(list, "echo", "doc", "");
  expect_field(list, "rpc.describe", "signature",
               "rpc.describe(method: str <=255) -> map");
  expect_field(list, "rpc.ping", "signature", "rpc.ping() -> str");
  expect_field(list, "typed.args", "doc", "Echoes its checked args");
  call_done(&c);
  expect_exact_error("rpc.list", P("\x91\x01"),
                     "expected at most 0 params, got 1");
}

static void test_unknown_method(void **state)
{
  call c;

  (void)state;
  expect_error("nope", P("\x90"), RPCD_ERR_METHOD_NOT_FOUND, "\"nope\"",
               "not found");
  expect_error("rpc.nope", P("\x90"), RPCD_ERR_METHOD_NOT_FOUND, "\"rpc.nope\"",
               NULL);
  expect_error("FIB", P("\x91\x01"), RPCD_ERR_METHOD_NOT_FOUND, "\"FIB\"",
               NULL);
  /* The name need not be NUL-terminated: only method_len bytes count, in
   * the lookup and in the message. */
  call_len(&c, "nope-and-more", 4, P("\x90"), NO_LIMIT);
  assert_int_equal(c.r.error_code, RPCD_ERR_METHOD_NOT_FOUND);
  assert_contains(c.r.error_message, "\"nope\"");
  call_done(&c);
  call_len(&c, "fibonacci", 3, P("\x91\x0a"), NO_LIMIT);
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.result.root.via.u64, 55);
  call_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Typed methods (typed.so)                                                  */

/* How often typed.so's handlers ran. */
static uint64_t typed_runs(void)
{
  return expect_u64("typed.runs", P("\x90"));
}

/* typed.args(params): its args array (4 entries) and given bits. */
typedef struct typed_call {
  call c;
  const msgpack_object *args;
  uint64_t given;
} typed_call;

static void call_typed_args(typed_call *t, const void *params, size_t len)
{
  const msgpack_object *v;

  call_m(&t->c, "typed.args", params, len);
  if (t->c.r.error_code != 0)
    fail_msg("typed.args: error %d: %s", t->c.r.error_code,
             t->c.r.error_message);
  t->args = map_get(&t->c.result.root, "args");
  assert_non_null(t->args);
  assert_int_equal(t->args->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(t->args->via.array.size, 4);
  v = map_get(&t->c.result.root, "given");
  assert_non_null(v);
  t->given = v->via.u64;
  /* The state open() stored reaches every handler. */
  v = map_get(&t->c.result.root, "state");
  assert_non_null(v);
  assert_true(v->via.boolean);
}

static const msgpack_object *arg(const typed_call *t, unsigned i)
{
  return &t->args->via.array.ptr[i];
}

static void assert_float(const msgpack_object *o, double want)
{
  assert_true(o->type == MSGPACK_OBJECT_FLOAT64 ||
              o->type == MSGPACK_OBJECT_FLOAT32);
  assert_true(o->via.f64 == want);
}

static void test_typed_positional(void **state)
{
  typed_call t;

  (void)state;
  /* [7]: the rest take their defaults ("dflt", 0.5) or nil. */
  call_typed_args(&t, P("\x91\x07"));
  assert_int_equal(arg(&t, 0)->via.u64, 7);
  assert_true(rpcd__mp_str_eq(arg(&t, 1), "dflt"));
  assert_float(arg(&t, 2), 0.5);
  assert_int_equal(arg(&t, 3)->type, MSGPACK_OBJECT_NIL);
  assert_int_equal(t.given, 0x1);
  call_done(&t.c);

  /* [-7, "hi", 0.25, [1]]: all given. */
  call_typed_args(&t, P("\x94\xf9\xa2hi\xcb\x3f\xd0\0\0\0\0\0\0\x91\x01"));
  assert_int_equal(arg(&t, 0)->via.i64, -7);
  assert_true(rpcd__mp_str_eq(arg(&t, 1), "hi"));
  assert_float(arg(&t, 2), 0.25);
  assert_int_equal(arg(&t, 3)->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(t.given, 0xf);
  call_done(&t.c);
}

static void test_typed_named(void **state)
{
  typed_call t;

  (void)state;
  /* {"f": 1, "a": -3}: laid out in declared order; an integer is a float. */
  call_typed_args(&t, P("\x82\xa1"
                        "f\x01\xa1"
                        "a\xfd"));
  assert_int_equal(arg(&t, 0)->via.i64, -3);
  assert_true(rpcd__mp_str_eq(arg(&t, 1), "dflt"));
  assert_int_equal(arg(&t, 2)->via.u64, 1);
  assert_int_equal(arg(&t, 3)->type, MSGPACK_OBJECT_NIL);
  assert_int_equal(t.given, 0x5);
  call_done(&t.c);

  /* {"o": true, "a": 5} */
  call_typed_args(&t, P("\x82\xa1o\xc3\xa1"
                        "a\x05"));
  assert_int_equal(arg(&t, 0)->via.u64, 5);
  assert_int_equal(arg(&t, 3)->type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(arg(&t, 3)->via.boolean);
  assert_int_equal(t.given, 0x9);
  call_done(&t.c);
}

/* Params that break the descriptor are answered -32602 with the checker's
 * message, and the handler never runs. */
static void test_typed_refused(void **state)
{
  uint64_t before = typed_runs();
  typed_call t;

  (void)state;
  expect_exact_error("typed.args", P("\x91\xa1x"),
                     "param a: expected int in -100..100, got str");
  expect_exact_error("typed.args", P("\x91\x65"),
                     "param a: expected int in -100..100, got 101");
  expect_exact_error("typed.args",
                     P("\x92\x01\xa9"
                       "123456789"),
                     "param s: expected str of at most 8 bytes, got 9 bytes");
  expect_exact_error("typed.args", P("\x90"), "param a: missing");
  expect_exact_error("typed.args", P("\x95\x01\xa1x\x00\xc0\xc0"),
                     "expected at most 4 params, got 5");
  expect_exact_error("typed.args",
                     P("\x82\xa1"
                       "a\x01\xa2zz\x02"),
                     "param zz: unknown");
  expect_exact_error("typed.args", P("\x81\x01\x01"),
                     "named params must have str keys");
  assert_int_equal(typed_runs(), before);
  /* And a good call does run it. */
  call_typed_args(&t, P("\x91\x01"));
  call_done(&t.c);
  assert_int_equal(typed_runs(), before + 1);
}

/* RPCD_METHOD_ANY_PARAMS: the params as sent, no args. */
static void test_typed_any_params(void **state)
{
  static const char params[] = "\x92\x01\xa1x";
  call c;

  (void)state;
  call_m(&c, "typed.any", P(params));
  assert_int_equal(c.r.error_code, 0);
  assert_memory_equal(c.r.result.data, params, sizeof(params) - 1);
  call_done(&c);
  call_m(&c, "typed.any", P("\x81\xa1k\x01"));
  assert_int_equal(c.r.error_code, 0);
  assert_memory_equal(c.r.result.data, "\x81\xa1k\x01", 4);
  call_done(&c);
}

/* ------------------------------------------------------------------------ */
/* rpc.describe                                                              */

static void assert_str_field(const msgpack_object *m, const char *key,
                             const char *want)
{
  const msgpack_object *v = map_get(m, key);

  if (!v || !rpcd__mp_str_eq(v, want))
    fail_msg("%s: expected \"%s\", got %.*s", key, want,
             v && v->type == MSGPACK_OBJECT_STR ? (int)v->via.str.size : 6,
             v && v->type == MSGPACK_OBJECT_STR ? v->via.str.ptr : "no str");
}

static void test_describe_fib(void **state)
{
  const msgpack_object *d;
  const msgpack_object *v;
  const msgpack_object *p;
  call c;

  (void)state;
  call_m(&c, "rpc.describe",
         P("\x91\xa3"
           "fib"));
  if (c.r.error_code != 0)
    fail_msg("rpc.describe: %s", c.r.error_message);
  d = &c.result.root;
  assert_int_equal(d->type, MSGPACK_OBJECT_MAP);
  assert_int_equal(d->via.map.size, 9);
  assert_str_field(d, "name", "fib");
  assert_str_field(d, "plugin", "fib");
  assert_str_field(d, "version", "1.0.0");
  assert_str_field(d, "signature", "fib(n: uint 0..93) -> uint");
  assert_str_field(d, "doc", "The n-th Fibonacci number, exactly");
  assert_str_field(d, "result", "uint");
  v = map_get(d, "typed");
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(v->via.boolean);
  v = map_get(d, "flags");
  assert_non_null(v);
  assert_int_equal(v->via.array.size, 1);
  assert_true(rpcd__mp_str_eq(&v->via.array.ptr[0], "idempotent"));
  v = map_get(d, "params");
  assert_non_null(v);
  assert_int_equal(v->via.array.size, 1);
  p = &v->via.array.ptr[0];
  assert_str_field(p, "name", "n");
  assert_str_field(p, "type", "uint");
  assert_true(map_get(p, "required")->via.boolean);
  assert_int_equal(map_get(p, "min")->via.u64, 0);
  assert_int_equal(map_get(p, "max")->via.u64, 93);
  assert_null(map_get(p, "default"));
  assert_null(map_get(p, "max_len"));
  call_done(&c);

  /* Named: {"method": "fib"} */
  call_m(&c, "rpc.describe",
         P("\x81\xa6method\xa3"
           "fib"));
  assert_int_equal(c.r.error_code, 0);
  assert_str_field(&c.result.root, "name", "fib");
  call_done(&c);
}

static void test_describe_untyped_and_builtin(void **state)
{
  const msgpack_object *d;
  call c;

  (void)state;
  call_m(&c, "rpc.describe",
         P("\x91\xa4"
           "echo"));
  assert_int_equal(c.r.error_code, 0);
  d = &c.result.root;
  assert_str_field(d, "plugin", "ok");
  assert_str_field(d, "version", "2.3.4");
  assert_str_field(d, "signature", "echo(...) -> any");
  assert_str_field(d, "doc", "");
  assert_str_field(d, "result", "any");
  assert_false(map_get(d, "typed")->via.boolean);
  assert_int_equal(map_get(d, "params")->via.array.size, 0);
  call_done(&c);

  call_m(&c, "rpc.describe", P("\x91\xacrpc.describe"));
  assert_int_equal(c.r.error_code, 0);
  d = &c.result.root;
  assert_str_field(d, "plugin", "rpcd");
  assert_str_field(d, "version", RPCD_VERSION_STRING);
  assert_str_field(d, "signature", "rpc.describe(method: str <=255) -> map");
  assert_int_equal(
      map_get(map_get(d, "params")->via.array.ptr, "max_len")->via.u64, 255);
  call_done(&c);

  /* A deprecated typed method with an optional param's default. */
  call_m(&c, "rpc.describe", P("\x91\xaatyped.args"));
  assert_int_equal(c.r.error_code, 0);
  d = map_get(&c.result.root, "params");
  assert_int_equal(d->via.array.size, 4);
  assert_str_field(&d->via.array.ptr[1], "default", "dflt");
  assert_false(map_get(&d->via.array.ptr[1], "required")->via.boolean);
  assert_null(map_get(&d->via.array.ptr[3], "default"));
  call_done(&c);
}

static void test_describe_unknown(void **state)
{
  (void)state;
  expect_exact_error("rpc.describe", P("\x91\xa4nope"),
                     "param method: no method \"nope\"");
  expect_exact_error("rpc.describe", P("\x90"), "param method: missing");
  expect_error("rpc.describe", P("\x91\x01"), RPCD_ERR_INVALID_PARAMS,
               "param method: expected str", NULL);
}

/* --acl: a forbidden call is -32007 and never runs; an unknown method is
 * still -32601; rpc.list and rpc.describe show only what the caller may
 * call. */
static void test_access(void **state)
{
  static const char rules[] = "allow bob fib rpc.*\n";
  rpcd_caller bob = {NULL, "bob", 3, NULL};
  rpcd_caller anon = {NULL, NULL, 0, NULL};
  rpcd_acl *acl;
  char err[128];
  const msgpack_object *list;
  uint32_t i;
  call c;

  (void)state;
  assert_int_equal(
      rpcd__acl_parse(rules, sizeof(rules) - 1, "acl", &acl, err, sizeof(err)),
      RPCD_OK);
  bob.acl = acl;
  anon.acl = acl;
  next_caller = &bob;
  assert_int_equal(expect_u64("fib", P("\x91\x0a")), 55);
  /* Denied before its params are looked at. */
  call_m(&c, "echo", P("\x90"));
  assert_int_equal(c.r.error_code, RPCD_ERR_FORBIDDEN);
  assert_string_equal(c.r.error_message, "user \"bob\" may not call \"echo\"");
  call_done(&c);
  call_m(&c, "nope", P("\x90"));
  assert_int_equal(c.r.error_code, RPCD_ERR_METHOD_NOT_FOUND);
  call_done(&c);

  call_m(&c, "rpc.list", P("\x90"));
  assert_int_equal(c.r.error_code, 0);
  list = &c.result.root;
  assert_int_equal(list->via.array.size, 4); /* fib, rpc.ping/list/describe */
  for (i = 0; i < list->via.array.size; i++) {
    const msgpack_object *name = map_get(&list->via.array.ptr[i], "name");

    if (!rpcd__mp_str_eq(name, "fib") &&
        (name->via.str.size < 4 || memcmp(name->via.str.ptr, "rpc.", 4) != 0))
      fail_msg("rpc.list shows bob %.*s", (int)name->via.str.size,
               name->via.str.ptr);
  }
  call_done(&c);
  call_m(&c, "rpc.describe",
         P("\x91\xa3"
           "fib"));
  assert_int_equal(c.r.error_code, 0);
  call_done(&c);
  call_m(&c, "rpc.describe",
         P("\x91\xa4"
           "echo"));
  assert_int_equal(c.r.error_code, RPCD_ERR_FORBIDDEN);
  assert_string_equal(c.r.error_message, "user \"bob\" may not call \"echo\"");
  call_done(&c);

  next_caller = &anon;
  call_m(&c, "rpc.ping", P("\x90"));
  assert_int_equal(c.r.error_code, RPCD_ERR_FORBIDDEN);
  assert_string_equal(c.r.error_message,
                      "user \"anonymous\" may not call \"rpc.ping\"");
  call_done(&c);
  next_caller = NULL;
  rpcd__acl_free(acl);
}

/* ------------------------------------------------------------------------ */
/* What handlers do                                                          */

static void test_echo(void **state)
{
  /* [1, "two", [3.5, nil, true], {"k": -7}, bin "\0\1"] */
  static const char params[] =
      "\x95\x01\xa3two\x93\xcb\x40\x0c\0\0\0\0\0\0\xc0\xc3\x81\xa1k\xf9"
      "\xc4\x02\x00\x01";
  call c;

  (void)state;
  call_m(&c, "echo", P(params));
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.r.result.size, sizeof(params) - 1);
  assert_memory_equal(c.r.result.data, params, sizeof(params) - 1);
  call_done(&c);

  /* Named params come through as a map. */
  call_m(&c, "echo", P("\x81\xa1n\x0a"));
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_MAP);
  assert_memory_equal(c.r.result.data, "\x81\xa1n\x0a", 4);
  call_done(&c);
}

static void test_fail(void **state)
{
  call c;

  (void)state;
  call_m(&c, "fail", P("\x90"));
  assert_int_equal(c.r.error_code, 7);
  assert_string_equal(c.r.error_message, "the work failed: disk on fire");
  /* What it wrote before set_error is discarded. */
  assert_int_equal(c.r.result.size, 0);
  call_done(&c);
}

static void expect_code(const char *params, size_t len, int want)
{
  call c;

  call_m(&c, "fail_code", params, len);
  if (c.r.error_code != want)
    fail_msg("fail_code %s: got %d, expected %d", c.r.error_message,
             c.r.error_code, want);
  /* The plugin's own message stays, whatever the code became. */
  assert_contains(c.r.error_message, "failed with code");
  call_done(&c);
}

/* set_error takes wire codes: >= 1, or -32768..-32000. Anything else (0,
 * an RPCD_E* status) is a plugin bug, sent as an internal error. */
static void test_set_error_codes(void **state)
{
  (void)state;
  expect_code(P("\x91\x01"), 1);
  expect_code(P("\x91\x2a"), 42);
  expect_code(P("\x91\xce\x7f\xff\xff\xff"), 2147483647);
  expect_code(P("\x91\xd1\x80\xa6"), RPCD_ERR_INVALID_PARAMS); /* -32602 */
  expect_code(P("\x91\xd1\x80\x00"), -32768);
  expect_code(P("\x91\xd1\x83\x00"), -32000);
  expect_code(P("\x91\x00"), RPCD_ERR_INTERNAL);
  expect_code(P("\x91\xfe"), RPCD_ERR_INTERNAL);         /* RPCD_EINVAL */
  expect_code(P("\x91\xd1\x83\x01"), RPCD_ERR_INTERNAL); /* -31999 */
  expect_code(P("\x91\xd2\xff\xff\x7f\xff"), RPCD_ERR_INTERNAL); /* -32769 */
}

static void test_internal(void **state)
{
  (void)state;
  /* A negative status without set_error: internal error, naming the
   * method and the status. */
  expect_error("internal", P("\x90"), RPCD_ERR_INTERNAL, "\"internal\"",
               "out of memory");
}

static void test_nothing_is_nil(void **state)
{
  call c;

  (void)state;
  call_m(&c, "nothing", P("\x90"));
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.r.result.size, 1);
  assert_int_equal((unsigned char)c.r.result.data[0], 0xc0);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_NIL);
  call_done(&c);
}

static void test_bad_result(void **state)
{
  (void)state;
  /* An array of 2 with one element. */
  expect_error("bad_result", P("\x90"), RPCD_ERR_INTERNAL, "\"bad_result\"",
               "invalid result");
  /* Two objects. */
  expect_error("bad_result", P("\x91\xa3two"), RPCD_ERR_INTERNAL,
               "invalid result", "trailing");
}

static void test_big_result(void **state)
{
  call c;

  (void)state;
  /* big(1000) with a 100-byte limit. */
  call_max(&c, "big", P("\x91\xcd\x03\xe8"), 100);
  assert_int_equal(c.r.error_code, RPCD_ERR_PAYLOAD_TOO_LARGE);
  assert_contains(c.r.error_message, "\"big\"");
  assert_contains(c.r.error_message, "1003 bytes");
  assert_contains(c.r.error_message, "limit of 100 bytes");
  call_done(&c);

  /* The limit is inclusive: big(98) is a bin8 of 2 + 98 = 100 bytes. */
  call_max(&c, "big", P("\x91\x62"), 100);
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.r.result.size, 100);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_BIN);
  assert_int_equal(c.result.root.via.bin.size, 98);
  call_done(&c);
  call_max(&c, "big", P("\x91\x63"), 100);
  assert_int_equal(c.r.error_code, RPCD_ERR_PAYLOAD_TOO_LARGE);
  call_done(&c);

  /* 2 MiB: over the 1 MiB default, within a 4 MiB limit. */
  call_m(&c, "big", P("\x91\xce\x00\x20\x00\x00"));
  assert_int_equal(c.r.error_code, RPCD_ERR_PAYLOAD_TOO_LARGE);
  call_done(&c);
  call_max(&c, "big", P("\x91\xce\x00\x20\x00\x00"), 4u << 20);
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.result.root.via.bin.size, 2u << 20);
  call_done(&c);
}

static void test_scratch(void **state)
{
  const msgpack_object *v;
  call c;

  (void)state;
  call_m(&c, "scratch", P("\x90"));
  if (c.r.error_code != 0)
    fail_msg("scratch: %s", c.r.error_message);
  v = map_get(&c.result.root, "allocs");
  assert_non_null(v);
  assert_int_equal(v->via.u64, 1002);
  v = map_get(&c.result.root, "misaligned");
  assert_non_null(v);
  assert_int_equal(v->via.u64, 0);
  v = map_get(&c.result.root, "corrupt");
  assert_non_null(v);
  assert_int_equal(v->via.u64, 0);
  v = map_get(&c.result.root, "zero");
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(v->via.boolean);
  v = map_get(&c.result.root, "huge_refused");
  assert_non_null(v);
  assert_true(v->via.boolean);
  call_done(&c);

  /* Scratch memory is per call: many calls do not accumulate (LeakSanitizer
   * and the arena cap would notice). */
  {
    int i;

    for (i = 0; i < 20; i++) {
      call_m(&c, "scratch", P("\x90"));
      assert_int_equal(c.r.error_code, 0);
      call_done(&c);
    }
  }
}

static void test_state_passed(void **state)
{
  call c;

  (void)state;
  call_m(&c, "state", P("\x90"));
  assert_int_equal(c.r.error_code, 0);
  assert_int_equal(c.result.root.type, MSGPACK_OBJECT_BOOLEAN);
  assert_true(c.result.root.via.boolean);
  call_done(&c);
}

/* remaining_ms() counts down to the stop time the dispatcher was given. */
static int64_t remaining(int64_t stop_at)
{
  call c;
  int64_t v;

  next_stop_at = stop_at;
  call_m(&c, "remaining", P("\x90"));
  next_stop_at = 0;
  if (c.r.error_code != 0)
    fail_msg("remaining: error %d: %s", c.r.error_code, c.r.error_message);
  v = c.result.root.type == MSGPACK_OBJECT_NEGATIVE_INTEGER
          ? c.result.root.via.i64
          : (int64_t)c.result.root.via.u64;
  call_done(&c);
  return v;
}

static void test_remaining_ms(void **state)
{
  int64_t left;

  (void)state;
  assert_int_equal(remaining(0), -1);
  left = remaining(rpcd__now_mono_ms() + 1000);
  assert_true(left > 500 && left <= 1000);
  assert_int_equal(remaining(rpcd__now_mono_ms() - 5), 0);
}

/* ------------------------------------------------------------------------ */
/* Logging through the host                                                  */

static char *run_log_method(const char *method, int level)
{
  int saved_level = rpcd__log_level;
  FILE *tmp = tmpfile();
  char *text;
  int saved;
  long n;
  call c;

  assert_non_null(tmp);
  fflush(stderr);
  saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
  rpcd__log_level = level;
  call_m(&c, method, P("\x90"));
  rpcd__log_level = saved_level;
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  assert_int_equal(c.r.error_code, 0);
  call_done(&c);

  fseek(tmp, 0, SEEK_END);
  n = ftell(tmp);
  rewind(tmp);
  text = calloc(1, (size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, tmp), (size_t)n);
  fclose(tmp);
  return text;
}

static void test_log(void **state)
{
  char *text;

  (void)state;
  text = run_log_method("log", RPCD_LOG_INFO);
  /* With the plugin, the method and the correlation id as fields. */
  assert_contains(text, "level=error pid=");
  assert_contains(text, "msg=\"error line 1\" plugin=ok method=log "
                        "cid=cid-123\n");
  assert_contains(text, "level=warn pid=");
  assert_contains(text, "msg=\"warn line 2\" plugin=ok method=log "
                        "cid=cid-123\n");
  assert_contains(text, "msg=\"info line 3\" plugin=ok method=log "
                        "cid=cid-123\n");
  assert_contains(text, "msg=\"line without a call\" plugin=ok\n");
  /* Below the level: not written. */
  assert_null(strstr(text, "debug line"));
  free(text);

  text = run_log_method("log", RPCD_LOG_DEBUG);
  assert_contains(text, "level=debug pid=");
  assert_contains(text, "msg=\"debug line 4\" plugin=ok method=log "
                        "cid=cid-123\n");
  free(text);

  text = run_log_method("log", RPCD_LOG_ERROR);
  assert_contains(text, "error line 1");
  assert_null(strstr(text, "warn line 2"));
  assert_null(strstr(text, "line without a call"));
  free(text);
}

/* ctx_log prefixes the plugin's name from the ctx, and the call's method
 * and correlation id. */
static void test_ctx_log(void **state)
{
  char *text;

  (void)state;
  text = run_log_method("typed.log", RPCD_LOG_INFO);
  assert_contains(text, "level=warn pid=");
  assert_contains(text, "msg=\"typed line 1\" plugin=typed "
                        "method=typed.log cid=cid-123\n");
  free(text);
  text = run_log_method("typed.log", RPCD_LOG_ERROR);
  assert_null(strstr(text, "typed line"));
  free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fib_values),
      cmocka_unit_test(test_fib_named),
      cmocka_unit_test(test_fib_invalid_params),
      cmocka_unit_test(test_ping),
      cmocka_unit_test(test_list),
      cmocka_unit_test(test_unknown_method),
      cmocka_unit_test(test_typed_positional),
      cmocka_unit_test(test_typed_named),
      cmocka_unit_test(test_typed_refused),
      cmocka_unit_test(test_typed_any_params),
      cmocka_unit_test(test_describe_fib),
      cmocka_unit_test(test_describe_untyped_and_builtin),
      cmocka_unit_test(test_describe_unknown),
      cmocka_unit_test(test_access),
      cmocka_unit_test(test_echo),
      cmocka_unit_test(test_fail),
      cmocka_unit_test(test_set_error_codes),
      cmocka_unit_test(test_internal),
      cmocka_unit_test(test_nothing_is_nil),
      cmocka_unit_test(test_bad_result),
      cmocka_unit_test(test_big_result),
      cmocka_unit_test(test_scratch),
      cmocka_unit_test(test_state_passed),
      cmocka_unit_test(test_remaining_ms),
      cmocka_unit_test(test_log),
      cmocka_unit_test(test_ctx_log),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
