/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the method registry (core/registry.c): add, lookup by a name
 * that need not be NUL-terminated, duplicates, invalid names, growth of the
 * hash table far past its first size, removal of one plugin's methods, and
 * the sorted listing rpc.list is built from, and typed entries owning their
 * spec. No plugin is loaded: entries point at fake rpcd_plugin records that
 * the registry never unloads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static int handler_a(void *state, rpcd_call *call, const msgpack_object *params,
                     msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  (void)result;
  return RPCD_OK;
}

static int handler_b(void *state, rpcd_call *call, const msgpack_object *params,
                     msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  (void)result;
  return RPCD_EINVAL;
}

static rpcd_plugin plugin_one = {.name = "one", .version = "1"};
static rpcd_plugin plugin_two = {.name = "two", .version = "2"};

static const rpcd_method_entry *lookup(const rpcd_registry *reg,
                                       const char *name)
{
  return rpcd__registry_lookup(reg, name, strlen(name));
}

static void test_empty_registry(void **state)
{
  rpcd_registry reg;
  const rpcd_method_entry *out[1];

  (void)state;
  rpcd__registry_init(&reg);
  assert_int_equal(reg.n_methods, 0);
  assert_int_equal(reg.n_plugins, 0);
  assert_null(lookup(&reg, "fib"));
  assert_null(rpcd__registry_find_plugin(&reg, "one"));
  rpcd__registry_sorted(&reg, out); /* writes nothing; must not crash */
  rpcd__registry_remove_plugin(&reg, &plugin_one);
  assert_int_equal(reg.n_methods, 0);
  rpcd__registry_destroy(&reg);
  rpcd__registry_destroy(&reg); /* twice is harmless: it re-zeroes */
}

static void test_add_and_lookup(void **state)
{
  rpcd_registry reg;
  const rpcd_method_entry *e;
  int st = 5;
  char err[256] = "";

  (void)state;
  rpcd__registry_init(&reg);
  assert_int_equal(rpcd__registry_add(&reg, "fib", handler_a, &st, &plugin_one,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(rpcd__registry_add(&reg, "rpc.ping", handler_b, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(reg.n_methods, 2);

  e = lookup(&reg, "fib");
  assert_non_null(e);
  assert_string_equal(e->name, "fib");
  assert_int_equal(e->name_len, 3);
  assert_ptr_equal(e->fn, handler_a);
  assert_ptr_equal(e->state, &st);
  assert_ptr_equal(e->plugin, &plugin_one);

  e = lookup(&reg, "rpc.ping");
  assert_non_null(e);
  assert_ptr_equal(e->fn, handler_b);
  assert_null(e->plugin);

  /* Lookups compare lengths and bytes, not prefixes, and need no NUL. */
  assert_null(lookup(&reg, "fi"));
  assert_null(lookup(&reg, "fibb"));
  assert_null(lookup(&reg, "FIB"));
  assert_null(lookup(&reg, "rpc.pin"));
  assert_null(rpcd__registry_lookup(&reg, "fib", 0));
  e = rpcd__registry_lookup(&reg, "fibonacci", 3);
  assert_non_null(e);
  assert_string_equal(e->name, "fib");

  /* The name was copied. */
  {
    char name[] = "copied";

    assert_int_equal(rpcd__registry_add(&reg, name, handler_a, NULL,
                                        &plugin_two, err, sizeof(err)),
                     RPCD_OK);
    memset(name, 'x', sizeof(name) - 1);
    assert_non_null(lookup(&reg, "copied"));
    assert_null(lookup(&reg, name));
  }
  rpcd__registry_destroy(&reg);
  assert_int_equal(reg.n_methods, 0);
  assert_null(reg.slots);
}

static void test_duplicate(void **state)
{
  rpcd_registry reg;
  const rpcd_method_entry *e;
  char err[256] = "";

  (void)state;
  rpcd__registry_init(&reg);
  assert_int_equal(rpcd__registry_add(&reg, "echo", handler_a, NULL,
                                      &plugin_one, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(rpcd__registry_add(&reg, "echo", handler_b, NULL,
                                      &plugin_two, err, sizeof(err)),
                   RPCD_EEXIST);
  /* The message names the method and who already has it. */
  assert_non_null(strstr(err, "\"echo\""));
  assert_non_null(strstr(err, "plugin \"one\""));
  assert_int_equal(reg.n_methods, 1);
  e = lookup(&reg, "echo");
  assert_non_null(e);
  assert_ptr_equal(e->fn, handler_a);
  assert_ptr_equal(e->plugin, &plugin_one);

  /* A built-in's name: the message says the server has it. */
  assert_int_equal(rpcd__registry_add(&reg, "rpc.list", handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_OK);
  err[0] = '\0';
  assert_int_equal(rpcd__registry_add(&reg, "rpc.list", handler_b, NULL,
                                      &plugin_two, err, sizeof(err)),
                   RPCD_EEXIST);
  assert_non_null(strstr(err, "\"rpc.list\""));
  assert_non_null(strstr(err, "the server"));
  assert_int_equal(reg.n_methods, 2);

  /* The same plugin adding a name twice is a duplicate too. */
  assert_int_equal(rpcd__registry_add(&reg, "echo", handler_a, NULL,
                                      &plugin_one, err, sizeof(err)),
                   RPCD_EEXIST);
  /* A NULL err buffer is allowed. */
  assert_int_equal(
      rpcd__registry_add(&reg, "echo", handler_a, NULL, &plugin_one, NULL, 0),
      RPCD_EEXIST);
  assert_int_equal(reg.n_methods, 2);
  rpcd__registry_destroy(&reg);
}

static void test_invalid_names(void **state)
{
  static const char *const bad[] = {
      "",  "has space", "slash/name", "tab\t", "semi;colon", "new\nline",
      "é", "star*",     "quote\"",    "a+b",   "{}",
  };
  rpcd_registry reg;
  char long_name[300];
  char err[512];
  size_t i;

  (void)state;
  rpcd__registry_init(&reg);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(rpcd__registry_add(&reg, bad[i], handler_a, NULL, NULL,
                                        err, sizeof(err)),
                     RPCD_EINVAL);
    assert_non_null(strstr(err, "invalid method name"));
  }
  err[0] = '\0';
  assert_int_equal(rpcd__registry_add(&reg, "has space", handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "\"has space\""));
  assert_int_equal(
      rpcd__registry_add(&reg, NULL, handler_a, NULL, NULL, err, sizeof(err)),
      RPCD_EINVAL);
  /* A name needs a handler. */
  assert_int_equal(rpcd__registry_add(&reg, "no_handler", NULL, NULL, NULL, err,
                                      sizeof(err)),
                   RPCD_EINVAL);
  assert_null(lookup(&reg, "no_handler"));

  /* 255 bytes is the longest name; 256 is refused. */
  memset(long_name, 'm', 256);
  long_name[256] = '\0';
  assert_int_equal(rpcd__registry_add(&reg, long_name, handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_EINVAL);
  long_name[255] = '\0';
  assert_int_equal(rpcd__registry_add(&reg, long_name, handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_non_null(lookup(&reg, long_name));
  /* Every allowed character. */
  assert_int_equal(rpcd__registry_add(&reg, "Az09_.-", handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(reg.n_methods, 2);
  rpcd__registry_destroy(&reg);
}

#define MANY 1000

static void make_name(char *buf, size_t len, size_t i)
{
  snprintf(buf, len, "method.%04zu", i);
}

static void test_growth(void **state)
{
  rpcd_registry reg;
  char name[32];
  char err[256];
  size_t i;

  (void)state;
  rpcd__registry_init(&reg);
  for (i = 0; i < MANY; i++) {
    make_name(name, sizeof(name), i);
    assert_int_equal(rpcd__registry_add(&reg, name, handler_a, (void *)(i + 1),
                                        i % 2 ? &plugin_one : &plugin_two, err,
                                        sizeof(err)),
                     RPCD_OK);
    assert_int_equal(reg.n_methods, i + 1);
  }
  /* The table stays at most half full. */
  assert_true(reg.n_slots >= 2 * MANY);
  assert_int_equal(reg.n_slots & (reg.n_slots - 1), 0);
  for (i = 0; i < MANY; i++) {
    const rpcd_method_entry *e;

    make_name(name, sizeof(name), i);
    e = lookup(&reg, name);
    assert_non_null(e);
    assert_string_equal(e->name, name);
    assert_ptr_equal(e->state, (void *)(i + 1));
    assert_ptr_equal(e->plugin, i % 2 ? &plugin_one : &plugin_two);
  }
  for (i = MANY; i < 2 * MANY; i++) {
    make_name(name, sizeof(name), i);
    assert_null(lookup(&reg, name));
  }
  /* Every name is still a duplicate after all the rehashing. */
  for (i = 0; i < MANY; i += 97) {
    make_name(name, sizeof(name), i);
    assert_int_equal(
        rpcd__registry_add(&reg, name, handler_b, NULL, NULL, err, sizeof(err)),
        RPCD_EEXIST);
  }
  assert_int_equal(reg.n_methods, MANY);
  rpcd__registry_destroy(&reg);
}

static void test_remove_plugin(void **state)
{
  rpcd_registry reg;
  char name[32];
  char err[256];
  size_t i;

  (void)state;
  rpcd__registry_init(&reg);
  assert_int_equal(rpcd__registry_add(&reg, "rpc.ping", handler_a, NULL, NULL,
                                      err, sizeof(err)),
                   RPCD_OK);
  for (i = 0; i < MANY; i++) {
    make_name(name, sizeof(name), i);
    assert_int_equal(rpcd__registry_add(&reg, name, handler_a, NULL,
                                        i % 2 ? &plugin_one : &plugin_two, err,
                                        sizeof(err)),
                     RPCD_OK);
  }
  rpcd__registry_remove_plugin(&reg, &plugin_one);
  assert_int_equal(reg.n_methods, MANY / 2 + 1);
  for (i = 0; i < MANY; i++) {
    const rpcd_method_entry *e;

    make_name(name, sizeof(name), i);
    e = lookup(&reg, name);
    if (i % 2) {
      assert_null(e);
    } else {
      assert_non_null(e);
      assert_ptr_equal(e->plugin, &plugin_two);
    }
  }
  assert_non_null(lookup(&reg, "rpc.ping"));

  /* A removed name can be registered again, by anyone. */
  make_name(name, sizeof(name), 1);
  assert_int_equal(rpcd__registry_add(&reg, name, handler_b, NULL, &plugin_two,
                                      err, sizeof(err)),
                   RPCD_OK);
  assert_ptr_equal(lookup(&reg, name)->fn, handler_b);

  /* Removing a plugin with no methods changes nothing. */
  rpcd__registry_remove_plugin(&reg, &plugin_one);
  assert_int_equal(reg.n_methods, MANY / 2 + 2);

  rpcd__registry_remove_plugin(&reg, &plugin_two);
  assert_int_equal(reg.n_methods, 1);
  assert_non_null(lookup(&reg, "rpc.ping"));
  make_name(name, sizeof(name), 0);
  assert_null(lookup(&reg, name));
  rpcd__registry_destroy(&reg);
}

static void test_sorted(void **state)
{
  /* Added out of order, with names that share prefixes. */
  static const char *const names[] = {
      "zeta", "rpc.ping", "alpha",  "Beta",   "rpc.list", "alpha.x",
      "a",    "alpha-y",  "_under", "9lives", "alpha_z",  "b",
  };
  const size_t n = sizeof(names) / sizeof(names[0]);
  const rpcd_method_entry **out;
  rpcd_registry reg;
  char err[256];
  size_t i;
  size_t j;

  (void)state;
  rpcd__registry_init(&reg);
  for (i = 0; i < n; i++)
    assert_int_equal(rpcd__registry_add(&reg, names[i], handler_a, NULL,
                                        &plugin_one, err, sizeof(err)),
                     RPCD_OK);
  out = calloc(n + 1, sizeof(*out));
  assert_non_null(out);
  rpcd__registry_sorted(&reg, out);
  assert_null(out[n]); /* exactly n_methods entries written */
  for (i = 0; i < n; i++) {
    assert_non_null(out[i]);
    if (i > 0 && strcmp(out[i - 1]->name, out[i]->name) >= 0)
      fail_msg("not sorted: \"%s\" before \"%s\"", out[i - 1]->name,
               out[i]->name);
  }
  /* Each name exactly once. */
  for (i = 0; i < n; i++) {
    size_t seen = 0;

    for (j = 0; j < n; j++)
      seen += strcmp(out[j]->name, names[i]) == 0;
    assert_int_equal(seen, 1);
  }
  assert_string_equal(out[0]->name, "9lives");
  assert_string_equal(out[1]->name, "Beta");
  assert_string_equal(out[n - 1]->name, "zeta");

  /* After a removal the listing has only what is left. */
  assert_int_equal(rpcd__registry_add(&reg, "other", handler_a, NULL,
                                      &plugin_two, err, sizeof(err)),
                   RPCD_OK);
  rpcd__registry_remove_plugin(&reg, &plugin_one);
  assert_int_equal(reg.n_methods, 1);
  memset(out, 0, (n + 1) * sizeof(*out));
  rpcd__registry_sorted(&reg, out);
  assert_string_equal(out[0]->name, "other");
  assert_null(out[1]);
  free(out);
  rpcd__registry_destroy(&reg);
}

static void test_find_plugin(void **state)
{
  rpcd_registry reg;
  rpcd_plugin *list[2];

  (void)state;
  rpcd__registry_init(&reg);
  list[0] = &plugin_one;
  list[1] = &plugin_two;
  reg.plugins = list;
  reg.n_plugins = 2;
  assert_ptr_equal(rpcd__registry_find_plugin(&reg, "one"), &plugin_one);
  assert_ptr_equal(rpcd__registry_find_plugin(&reg, "two"), &plugin_two);
  assert_null(rpcd__registry_find_plugin(&reg, "three"));
  assert_null(rpcd__registry_find_plugin(&reg, "on"));
  /* Not destroyed through the registry: these plugins are not loaded. */
  reg.plugins = NULL;
  reg.n_plugins = 0;
  rpcd__registry_destroy(&reg);
}

static int typed_handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  (void)result;
  return RPCD_OK;
}

static const rpcd_param typed_params[] = {
    RPCD_PARAM_UINT("n", 0, 9),
    RPCD_OPTIONAL_STR("s", 4, "ab"),
    RPCD_PARAMS_END,
};
static const rpcd_method_desc typed_desc = RPCD_METHOD(
    "typed", typed_handler, typed_params, RPCD_TYPE_UINT, 0, "A doc");

/* A typed entry takes over its spec on success only; untyped entries get
 * the untyped spec. Removal and destroy free the specs (ASan/valgrind). */
static void test_typed_entries(void **state)
{
  const rpcd_method_entry *e;
  rpcd_method_spec spec;
  rpcd_registry reg;
  char err[256];

  (void)state;
  rpcd__registry_init(&reg);
  assert_int_equal(rpcd__method_spec_read(&spec, &typed_desc, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(rpcd__registry_add_typed(&reg, "typed", typed_handler, &spec,
                                            NULL, &plugin_one, err,
                                            sizeof(err)),
                   RPCD_OK);
  assert_null(spec.params); /* moved into the registry */
  e = lookup(&reg, "typed");
  assert_non_null(e);
  assert_ptr_equal(e->handler, typed_handler);
  assert_null(e->fn);
  assert_true(e->spec.typed);
  assert_int_equal(e->spec.nparams, 2);
  assert_string_equal(e->spec.doc, "A doc");

  /* Refused: the caller keeps its spec. */
  assert_int_equal(rpcd__method_spec_read(&spec, &typed_desc, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(rpcd__registry_add_typed(&reg, "typed", typed_handler, &spec,
                                            NULL, &plugin_two, err,
                                            sizeof(err)),
                   RPCD_EEXIST);
  assert_non_null(spec.params);
  assert_int_equal(rpcd__registry_add_typed(&reg, "typed2", typed_handler,
                                            &spec, NULL, &plugin_two, err,
                                            sizeof(err)),
                   RPCD_OK);

  assert_int_equal(rpcd__registry_add(&reg, "untyped", handler_a, NULL,
                                      &plugin_one, err, sizeof(err)),
                   RPCD_OK);
  e = lookup(&reg, "untyped");
  assert_false(e->spec.typed);
  assert_null(e->handler);
  assert_int_equal(e->spec.result, RPCD_TYPE_ANY);

  rpcd__registry_remove_plugin(&reg, &plugin_one);
  assert_int_equal(reg.n_methods, 1);
  assert_non_null(lookup(&reg, "typed2"));
  rpcd__registry_destroy(&reg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_registry),
      cmocka_unit_test(test_add_and_lookup),
      cmocka_unit_test(test_duplicate),
      cmocka_unit_test(test_invalid_names),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_remove_plugin),
      cmocka_unit_test(test_sorted),
      cmocka_unit_test(test_find_plugin),
      cmocka_unit_test(test_typed_entries),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
