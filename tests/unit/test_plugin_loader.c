/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the plugin loader (core/plugin_loader.c) with the test
 * plugins of tests/plugins and the reference plugin fib.so. Every refused
 * plugin must be refused with the right status and a message that names the
 * file and the reason, and must leave the registry exactly as it was. Whether
 * the loader ran a plugin's init and fini is read from counters inside the
 * plugin: the test dlopen()s each test plugin itself before any load, which
 * keeps the plugin mapped (and its counters alive) after the loader closes it.
 */
#define _XOPEN_SOURCE 700 /* realpath() */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "dispatcher.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "rpcd_proto.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif
#ifndef FIB_PLUGIN
#error "FIB_PLUGIN must name fib.so"
#endif

#define PLUGIN(name) TEST_PLUGIN_DIR "/" name ".so"

/* The loader names and records a plugin by its absolute path with every
 * symbolic link resolved: realpath() of what it was given. */
static const char *canon(const char *path, char out[PATH_MAX])
{
  if (!realpath(path, out))
    fail_msg("realpath %s: %s", path, strerror(errno));
  return out;
}

/* ------------------------------------------------------------------------ */
/* Reading a plugin's init/fini counters                                     */

static const char *const counted[] = {
    "ok",
    "bad_abi",
    "newer_minor",
    "bad_size",
    "bad_msgpack",
    "reserved",
    "init_fails",
    "dup_name",
    "dup_method",
    "reserved_method",
    "bad_method_name",
    "typed",
    "typed_both_tables",
    "typed_init_open",
    "typed_bad_param",
    "typed_dup_method",
};
#define N_COUNTED (sizeof(counted) / sizeof(counted[0]))
static void *own_handles[N_COUNTED];

typedef struct counters {
  int64_t init;
  int64_t fini;
  int64_t fini_bad_state;
} counters;

/* Run "<name>.counters" of a typed table into pk; false when it has none. */
static bool typed_counters(const rpcd_plugin_info *info, const char *method,
                           msgpack_packer *pk)
{
  const rpcd_method_desc *d;
  rpcd_ctx ctx = {.size = sizeof(ctx)};

  if (info->abi_minor < 2 || !info->method_descs)
    return false;
  for (d = info->method_descs; d->name; d++) {
    if (strcmp(d->name, method) == 0) {
      assert_int_equal(d->fn(&ctx, pk), RPCD_OK);
      return true;
    }
  }
  return false;
}

/* Call "<name>.counters" straight from the plugin's own method table. */
static counters read_counters(const char *name)
{
  rpcd_plugin_entry_fn entry;
  const rpcd_plugin_info *info;
  msgpack_object empty = {.type = MSGPACK_OBJECT_ARRAY};
  msgpack_sbuffer buf;
  msgpack_packer pk;
  rpcd_mp_doc doc;
  counters c;
  char method[128];
  size_t i;

  for (i = 0; i < N_COUNTED; i++) {
    if (strcmp(counted[i], name) == 0)
      break;
  }
  if (i == N_COUNTED || !own_handles[i])
    fail_msg("no handle for plugin %s", name);
  *(void **)(&entry) = dlsym(own_handles[i], RPCD_PLUGIN_ENTRY_SYMBOL);
  assert_non_null(entry);
  info = entry();
  assert_non_null(info);
  snprintf(method, sizeof(method), "%s.counters", name);
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  if (!typed_counters(info, method, &pk)) {
    for (i = 0; info->methods && info->methods[i].name; i++) {
      if (strcmp(info->methods[i].name, method) == 0)
        break;
    }
    if (!info->methods || !info->methods[i].name)
      fail_msg("plugin %s has no method %s", name, method);
    assert_int_equal(info->methods[i].fn(NULL, NULL, &empty, &pk), RPCD_OK);
  }
  assert_int_equal(rpcd__mp_decode(buf.data, buf.size, 4, &doc, NULL, 0),
                   RPCD_OK);
  assert_int_equal(doc.root.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(doc.root.via.array.size, 3);
  c.init = doc.root.via.array.ptr[0].via.i64;
  c.fini = doc.root.via.array.ptr[1].via.i64;
  c.fini_bad_state = doc.root.via.array.ptr[2].via.i64;
  rpcd__mp_doc_destroy(&doc);
  msgpack_sbuffer_destroy(&buf);
  return c;
}

static int open_own_handles(void **state)
{
  char path[PATH_MAX];
  size_t i;

  (void)state;
  for (i = 0; i < N_COUNTED; i++) {
    snprintf(path, sizeof(path), "%s/%s.so", TEST_PLUGIN_DIR, counted[i]);
    own_handles[i] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!own_handles[i]) {
      fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
      return -1;
    }
  }
  return 0;
}

static int close_own_handles(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < N_COUNTED; i++) {
    if (own_handles[i])
      dlclose(own_handles[i]);
    own_handles[i] = NULL;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Capturing what the loader and plugins log (stderr)                        */

static int saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
  capture_file = tmpfile();
  assert_non_null(capture_file);
  fflush(stderr);
  saved_stderr = dup(STDERR_FILENO);
  assert_true(saved_stderr >= 0);
  assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

/* Stop capturing; returns the text (free it). */
static char *capture_stop(void)
{
  char *text;
  long n;

  fflush(stderr);
  assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
  close(saved_stderr);
  saved_stderr = -1;
  assert_int_equal(fseek(capture_file, 0, SEEK_END), 0);
  n = ftell(capture_file);
  assert_true(n >= 0);
  rewind(capture_file);
  text = calloc(1, (size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, capture_file), (size_t)n);
  fclose(capture_file);
  capture_file = NULL;
  return text;
}

/* ------------------------------------------------------------------------ */
/* Fixture: built-ins, ok.so and fib.so loaded                               */

typedef struct fixture {
  rpcd_registry reg;
} fixture;

static int setup_base(void **state)
{
  fixture *f = calloc(1, sizeof(*f));
  char err[512] = "";

  if (!f)
    return -1;
  rpcd__registry_init(&f->reg);
  if (rpcd__builtins_add(&f->reg, err, sizeof(err)) != RPCD_OK ||
      rpcd__plugin_load(&f->reg, PLUGIN("ok"), err, sizeof(err)) != RPCD_OK ||
      rpcd__plugin_load(&f->reg, FIB_PLUGIN, err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "setup: %s\n", err);
    rpcd__registry_destroy(&f->reg);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int setup_empty(void **state)
{
  fixture *f = calloc(1, sizeof(*f));

  if (!f)
    return -1;
  rpcd__registry_init(&f->reg);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;

  rpcd__registry_destroy(&f->reg);
  free(f);
  return 0;
}

/* What a failed load must not change: every method with its handler, state
 * and plugin, and the plugin list. */
typedef struct snapshot {
  size_t n_methods;
  size_t n_plugins;
  rpcd_plugin *plugins[16];
  rpcd_method_entry methods[64];
} snapshot;

static void take_snapshot(const rpcd_registry *reg, snapshot *s)
{
  const rpcd_method_entry *sorted[64];
  size_t i;

  assert_true(reg->n_methods <= 64);
  assert_true(reg->n_plugins <= 16);
  memset(s, 0, sizeof(*s));
  s->n_methods = reg->n_methods;
  s->n_plugins = reg->n_plugins;
  memcpy(s->plugins, reg->plugins, reg->n_plugins * sizeof(*reg->plugins));
  rpcd__registry_sorted(reg, sorted);
  for (i = 0; i < reg->n_methods; i++)
    s->methods[i] = *sorted[i];
}

static void assert_unchanged(const rpcd_registry *reg, const snapshot *s)
{
  size_t i;

  assert_int_equal(reg->n_methods, s->n_methods);
  assert_int_equal(reg->n_plugins, s->n_plugins);
  for (i = 0; i < s->n_plugins; i++)
    assert_ptr_equal(reg->plugins[i], s->plugins[i]);
  for (i = 0; i < s->n_methods; i++) {
    const rpcd_method_entry *e =
        rpcd__registry_lookup(reg, s->methods[i].name, s->methods[i].name_len);

    if (!e)
      fail_msg("method %s is gone", s->methods[i].name);
    assert_ptr_equal(e->fn, s->methods[i].fn);
    assert_ptr_equal(e->state, s->methods[i].state);
    assert_ptr_equal(e->plugin, s->methods[i].plugin);
  }
}

static const rpcd_method_entry *lookup(const rpcd_registry *reg,
                                       const char *name)
{
  return rpcd__registry_lookup(reg, name, strlen(name));
}

static void assert_signature(const rpcd_method_entry *e, const char *want)
{
  char sig[256];

  rpcd__method_signature(e->name, &e->spec, sig, sizeof(sig));
  assert_string_equal(sig, want);
}

static void assert_contains(const char *text, const char *want)
{
  if (!strstr(text, want))
    fail_msg("\"%s\" does not contain \"%s\"", text, want);
}

/* ------------------------------------------------------------------------ */
/* Loading good plugins                                                      */

static void test_load_ok(void **state)
{
  fixture *f = *state;
  const rpcd_method_entry *e;
  const rpcd_plugin *p;
  counters before = read_counters("ok");
  counters now;
  char real[PATH_MAX];
  char err[512] = "";
  char *log;
  int saved_level = rpcd__log_level;
  int rc;

  rpcd__log_level = RPCD_LOG_INFO;
  capture_start();
  rc = rpcd__plugin_load(&f->reg, PLUGIN("ok"), err, sizeof(err));
  log = capture_stop();
  rpcd__log_level = saved_level;
  assert_int_equal(rc, RPCD_OK);
  assert_string_equal(err, ""); /* untouched on success */

  assert_int_equal(f->reg.n_plugins, 1);
  p = f->reg.plugins[0];
  assert_string_equal(p->name, "ok");
  assert_string_equal(p->version, "2.3.4");
  assert_string_equal(p->path, canon(PLUGIN("ok"), real));
  assert_ptr_equal(rpcd__registry_find_plugin(&f->reg, "ok"), p);
  assert_non_null(p->state); /* what ok's init stored */

  /* Every method of the table, with the plugin and its state. */
  assert_int_equal(f->reg.n_methods, 12);
  e = lookup(&f->reg, "echo");
  assert_non_null(e);
  assert_ptr_equal(e->plugin, p);
  assert_ptr_equal(e->state, p->state);
  assert_ptr_equal(e->fn, p->info->methods[0].fn);
  assert_non_null(lookup(&f->reg, "scratch"));
  assert_non_null(lookup(&f->reg, "ok.counters"));

  /* init ran once, fini not yet; the loader is done with the plugin. */
  now = read_counters("ok");
  assert_int_equal(now.init, before.init + 1);
  assert_int_equal(now.fini, before.fini);
  assert_null(rpcd__plugin_current());

  /* The init's log line carries the plugin's name (it was "current"), and
   * the loader says what it loaded. */
  assert_contains(log, "msg=\"init with host api 1.2\" plugin=ok\n");
  assert_contains(log, "loaded plugin \\\"ok\\\" 2.3.4");
  assert_contains(log, real);
  free(log);

  /* Destroying the registry runs fini once, with init's state. */
  rpcd__registry_destroy(&f->reg);
  now = read_counters("ok");
  assert_int_equal(now.init, before.init + 1);
  assert_int_equal(now.fini, before.fini + 1);
  assert_int_equal(now.fini_bad_state, 0);
  assert_int_equal(f->reg.n_methods, 0);
  assert_int_equal(f->reg.n_plugins, 0);
}

static void test_load_fib(void **state)
{
  fixture *f = *state;
  const rpcd_method_entry *e;
  char real[PATH_MAX];
  char err[512] = "";

  assert_int_equal(rpcd__plugin_load(&f->reg, FIB_PLUGIN, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(f->reg.n_plugins, 1);
  assert_int_equal(f->reg.n_methods, 1);
  e = lookup(&f->reg, "fib");
  assert_non_null(e);
  assert_non_null(e->plugin);
  assert_string_equal(e->plugin->name, "fib");
  assert_string_equal(e->plugin->version, "1.0.0");
  assert_string_equal(e->plugin->path, canon(FIB_PLUGIN, real));
  /* A typed method: its spec, read from fib's descriptor. */
  assert_null(e->fn);
  assert_non_null(e->handler);
  assert_true(e->spec.typed);
  assert_int_equal(e->spec.nparams, 1);
  assert_string_equal(e->spec.params[0].name, "n");
  assert_int_equal(e->spec.result, RPCD_TYPE_UINT);
  assert_int_equal(e->spec.flags, RPCD_METHOD_IDEMPOTENT);
  assert_non_null(e->spec.doc);
  assert_signature(e, "fib(n: uint 0..93) -> uint");
}

/* A 1.2 plugin with open/close: open runs once before any method, with no
 * call, and what it stores in ctx->state is every method's state; close
 * runs once at unload with that state. */
static void test_load_typed(void **state)
{
  fixture *f = *state;
  counters before = read_counters("typed");
  counters now;
  const rpcd_method_entry *e;
  char err[512] = "";
  char *log;

  capture_start();
  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("typed"), err, sizeof(err)), RPCD_OK);
  log = capture_stop();
  /* ctx_log in open(): the plugin's name, no method. */
  assert_contains(log, "msg=\"opened with host api 1.2\" plugin=typed\n");
  free(log);
  now = read_counters("typed");
  assert_int_equal(now.init, before.init + 1);
  assert_int_equal(now.fini, before.fini);
  assert_int_equal(f->reg.n_methods, 5);
  e = lookup(&f->reg, "typed.args");
  assert_non_null(e);
  assert_ptr_equal(e->state, f->reg.plugins[0]->state);
  assert_non_null(e->state);
  assert_true(e->spec.typed);
  assert_int_equal(e->spec.nparams, 4);
  /* RPCD_METHOD_ANY_PARAMS: typed handler, unchecked params. */
  e = lookup(&f->reg, "typed.any");
  assert_non_null(e);
  assert_non_null(e->handler);
  assert_false(e->spec.typed);

  rpcd__registry_destroy(&f->reg);
  now = read_counters("typed");
  assert_int_equal(now.fini, before.fini + 1);
  assert_int_equal(now.fini_bad_state, 0);
}

/* A plugin built for ABI 1.0 (a descriptor that ends before method_descs)
 * loads under 1.2: minor bumps only append. Its methods are untyped. */
static void test_load_minor_1_0(void **state)
{
  fixture *f = *state;
  const rpcd_method_entry *e;
  char err[512] = "";

  assert_int_equal(rpcd__plugin_load(&f->reg, TEST_PLUGIN_DIR "/minor_1_0.so",
                                     err, sizeof(err)),
                   RPCD_OK);
  e = lookup(&f->reg, "minor_1_0.hello");
  assert_non_null(e);
  assert_int_equal(f->reg.plugins[0]->info->abi_minor, 0);
  assert_true(f->reg.plugins[0]->info->size <
              offsetof(rpcd_plugin_info, method_descs) + 1);
  assert_non_null(e->fn);
  assert_null(e->handler);
  assert_false(e->spec.typed);
  assert_int_equal(e->spec.nparams, 0);
  assert_int_equal(e->spec.result, RPCD_TYPE_ANY);
  assert_signature(e, "minor_1_0.hello(...) -> any");
}

/* The fixture: built-ins, ok and fib together. */
static void test_base_fixture(void **state)
{
  fixture *f = *state;

  assert_int_equal(f->reg.n_plugins, 2);
  assert_string_equal(f->reg.plugins[0]->name, "ok");
  assert_string_equal(f->reg.plugins[1]->name, "fib");
  assert_int_equal(f->reg.n_methods, 3 + 12 + 1);
  assert_non_null(lookup(&f->reg, "rpc.ping"));
  assert_null(lookup(&f->reg, "rpc.ping")->plugin);
  assert_non_null(lookup(&f->reg, "rpc.list"));
  assert_ptr_equal(lookup(&f->reg, "fib")->plugin, f->reg.plugins[1]);
  assert_ptr_equal(lookup(&f->reg, "echo")->plugin, f->reg.plugins[0]);
}

/* ------------------------------------------------------------------------ */
/* Plugins that must be refused                                              */

typedef struct bad_case {
  const char *plugin; /* file name without .so, in TEST_PLUGIN_DIR */
  int rc;
  const char *reason;  /* substring of the message */
  const char *reason2; /* another one, or NULL */
  int init_runs;       /* how often init runs per load attempt */
  int fini_runs;
  const char *const methods[4]; /* of this plugin: none may be registered */
} bad_case;

static const bad_case bad_cases[] = {
    {
        .plugin = "bad_abi",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin ABI 2.2 is incompatible",
        .reason2 = "server's 1.2",
        .methods = {"bad_abi.method", "bad_abi.counters"},
    },
    {
        .plugin = "newer_minor",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin needs ABI 1.99",
        .reason2 = "server offers 1.2",
        .methods = {"newer_minor.method", "newer_minor.counters"},
    },
    {
        .plugin = "bad_size",
        .rc = RPCD_EPLUGIN,
        .reason = "descriptor size is",
        .reason2 = "expected at least",
        .methods = {"bad_size.method", "bad_size.counters"},
    },
    /* ABI 1.2 descriptors, each breaking one rule of its own. */
    {
        .plugin = "typed_both_tables",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin \"typed_both_tables\" sets both methods and "
                  "method_descs",
        .methods = {"typed_both_tables.untyped", "typed_both_tables.counters"},
    },
    {
        .plugin = "typed_init_open",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin \"typed_init_open\" sets both init and open",
        .methods = {"typed_init_open.counters"},
    },
    {
        .plugin = "typed_bad_param",
        .rc = RPCD_EPLUGIN,
        .reason = "method \"typed_bad_param.range\": param \"n\"",
        .reason2 = "range 93..0 is empty",
        .methods = {"typed_bad_param.range", "typed_bad_param.counters"},
    },
    {
        .plugin = "typed_dup_method",
        .rc = RPCD_EEXIST,
        .reason = "method \"echo\" is already registered by plugin \"ok\"",
        .init_runs = 1,
        .fini_runs = 1,
        .methods = {"typed_dup_method.counters"},
    },
    {
        .plugin = "bad_msgpack",
        .rc = RPCD_EPLUGIN,
        .reason = "built against msgpack-c 3",
        .methods = {"bad_msgpack.method", "bad_msgpack.counters"},
    },
    {
        .plugin = "reserved",
        .rc = RPCD_EPLUGIN,
        .reason = "reserved field 2 is not zero",
        .methods = {"reserved.method", "reserved.counters"},
    },
    {
        .plugin = "no_entry",
        .rc = RPCD_EPLUGIN,
        .reason = "no rpcd_plugin_entry() function",
        .reason2 = "not an rpcd plugin",
    },
    {
        .plugin = "null_info",
        .rc = RPCD_EPLUGIN,
        .reason = "rpcd_plugin_entry() returned NULL",
    },
    {
        .plugin = "init_fails",
        .rc = RPCD_EPLUGIN,
        .reason = "init of plugin \"init_fails\" failed",
        .reason2 = "cannot read /nonexistent/init_fails.conf: no such file",
        .init_runs = 1,
        .methods = {"init_fails.method", "init_fails.counters"},
    },
    {
        .plugin = "dup_name",
        .rc = RPCD_EEXIST,
        .reason = "a plugin named \"ok\" is already loaded",
        .methods = {"dup_name.method", "dup_name.counters"},
    },
    {
        .plugin = "dup_method",
        .rc = RPCD_EEXIST,
        .reason = "method \"echo\" is already registered by plugin \"ok\"",
        .init_runs = 1,
        .fini_runs = 1,
        .methods = {"dup_method.before", "dup_method.after",
                    "dup_method.counters"},
    },
    {
        .plugin = "reserved_method",
        .rc = RPCD_EPLUGIN,
        .reason = "\"rpc.evil\"",
        .reason2 = "reserved for the server",
        .methods = {"rpc.evil", "reserved_method.counters"},
    },
    {
        .plugin = "no_methods",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin \"no_methods\" registers no methods",
    },
    {
        .plugin = "bad_method_name",
        .rc = RPCD_EPLUGIN,
        .reason = "\"has space\"",
        .reason2 = "[A-Za-z0-9_.-]",
        .methods = {"bad_method_name.counters"},
    },
    /* rpcd_plugin_entry exported as something that is not a function:
     * calling it would crash the server. */
    {
        .plugin = "data_entry",
        .rc = RPCD_EPLUGIN,
        .reason = "rpcd_plugin_entry is not a function",
        .reason2 = "(an object symbol)",
    },
    {
        .plugin = "tls_entry",
        .rc = RPCD_EPLUGIN,
        .reason = "rpcd_plugin_entry is not a function",
        .reason2 = "in no loaded object",
    },
    {
        .plugin = "nonexec_entry",
        .rc = RPCD_EPLUGIN,
        .reason = "rpcd_plugin_entry is not a function",
        .reason2 = "non-executable",
    },
    {
        .plugin = "ifunc_entry",
        .rc = RPCD_EPLUGIN,
        .reason = "rpcd_plugin_entry is not a function",
        .reason2 = "no exported symbol starts at",
    },
};

static bool has_counters(const char *plugin)
{
  size_t i;

  for (i = 0; i < N_COUNTED; i++) {
    if (strcmp(counted[i], plugin) == 0)
      return true;
  }
  return false;
}

static void check_refused(rpcd_registry *reg, const bad_case *c)
{
  char path[PATH_MAX];
  char want[PATH_MAX + 64];
  char err[1024];
  snapshot snap;
  counters before = {0, 0, 0};
  counters after;
  int attempt;
  size_t i;

  snprintf(want, sizeof(want), "%s/%s.so", TEST_PLUGIN_DIR, c->plugin);
  canon(want, path);
  snprintf(want, sizeof(want), "could not load plugin \"%s\": ", path);
  if (has_counters(c->plugin))
    before = read_counters(c->plugin);
  take_snapshot(reg, &snap);

  /* Twice: a refused plugin leaves nothing behind that changes a retry. */
  for (attempt = 1; attempt <= 2; attempt++) {
    int rc;

    memset(err, 0, sizeof(err));
    rc = rpcd__plugin_load(reg, path, err, sizeof(err));
    if (rc != c->rc)
      fail_msg("%s: rc %d (%s), expected %d; err: %s", c->plugin, rc,
               rpcd_status_name(rc), c->rc, err);
    /* The message names the file, then says why. */
    if (strncmp(err, want, strlen(want)) != 0)
      fail_msg("%s: message \"%s\" does not start with \"%s\"", c->plugin, err,
               want);
    assert_contains(err, c->reason);
    if (c->reason2)
      assert_contains(err, c->reason2);

    assert_unchanged(reg, &snap);
    for (i = 0; i < 4 && c->methods[i]; i++) {
      if (lookup(reg, c->methods[i]))
        fail_msg("%s: method %s is registered", c->plugin, c->methods[i]);
    }
    assert_null(rpcd__plugin_current());

    if (has_counters(c->plugin)) {
      after = read_counters(c->plugin);
      assert_int_equal(after.init, before.init + attempt * c->init_runs);
      assert_int_equal(after.fini, before.fini + attempt * c->fini_runs);
      assert_int_equal(after.fini_bad_state, 0);
    }
  }
}

static void test_refused(void **state, const char *plugin)
{
  fixture *f = *state;
  size_t i;

  for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    if (strcmp(bad_cases[i].plugin, plugin) == 0) {
      check_refused(&f->reg, &bad_cases[i]);
      return;
    }
  }
  fail_msg("no case for %s", plugin);
}

#define REFUSED_TEST(name)                                                     \
  static void test_refused_##name(void **state)                                \
  {                                                                            \
    test_refused(state, #name);                                                \
  }

REFUSED_TEST(bad_abi)
REFUSED_TEST(newer_minor)
REFUSED_TEST(bad_size)
REFUSED_TEST(typed_both_tables)
REFUSED_TEST(typed_init_open)
REFUSED_TEST(typed_bad_param)
REFUSED_TEST(typed_dup_method)
REFUSED_TEST(bad_msgpack)
REFUSED_TEST(reserved)
REFUSED_TEST(no_entry)
REFUSED_TEST(null_info)
REFUSED_TEST(init_fails)
REFUSED_TEST(dup_name)
REFUSED_TEST(dup_method)
REFUSED_TEST(reserved_method)
REFUSED_TEST(no_methods)
REFUSED_TEST(bad_method_name)
REFUSED_TEST(data_entry)
REFUSED_TEST(tls_entry)
REFUSED_TEST(nonexec_entry)
REFUSED_TEST(ifunc_entry)

/* What the loader cannot stop, and the docs say: a plugin's constructors run
 * at dlopen() and an IFUNC resolver at the symbol lookup, before any check.
 * The plugin is refused all the same. */
static void test_code_that_runs_before_the_checks(void **state)
{
  fixture *f = *state;
  char err[1024] = "";
  void *mapped;

  /* Under the sanitizers the loader opens with RTLD_NODELETE, so an earlier
   * test may have left the plugin mapped; its constructor ran then and does
   * not run again. */
  mapped = dlopen(PLUGIN("data_entry"), RTLD_NOW | RTLD_NOLOAD);
  if (mapped)
    dlclose(mapped);
  else
    assert_int_equal(unsetenv("RPCD_TP_DATA_ENTRY_LOADED"), 0);
  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("data_entry"), err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "not a function");
  assert_non_null(getenv("RPCD_TP_DATA_ENTRY_LOADED"));

  assert_int_equal(unsetenv("RPCD_TP_IFUNC_RESOLVED"), 0);
  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("ifunc_entry"), err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "not a function");
  assert_non_null(getenv("RPCD_TP_IFUNC_RESOLVED"));
  assert_int_equal(f->reg.n_plugins, 0);
}

/* dup_method failed after its first method was registered: that one is
 * gone again, and "echo" still belongs to ok, which still works. */
static void test_dup_method_keeps_ok(void **state)
{
  fixture *f = *state;
  const rpcd_method_entry *echo_before = lookup(&f->reg, "echo");
  const rpcd_plugin *ok = rpcd__registry_find_plugin(&f->reg, "ok");
  rpcd_method_fn fn = echo_before->fn;
  char err[512];

  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("dup_method"), err, sizeof(err)),
      RPCD_EEXIST);
  assert_null(lookup(&f->reg, "dup_method.before"));
  assert_null(rpcd__registry_find_plugin(&f->reg, "dup_method"));
  assert_ptr_equal(lookup(&f->reg, "echo")->plugin, ok);
  assert_ptr_equal(lookup(&f->reg, "echo")->fn, fn);
  /* A plugin loaded afterwards is unaffected by the failed one. */
  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("dup_name"), err, sizeof(err)),
      RPCD_EEXIST);
  assert_int_equal(f->reg.n_plugins, 2);
}

/* Refused plugins do not depend on what else is loaded: with an empty
 * registry the descriptor checks still fail, and dup_method loads. */
static void test_refusals_without_ok(void **state)
{
  fixture *f = *state;
  counters before = read_counters("dup_method");
  counters after;
  char err[512];

  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("bad_abi"), err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_int_equal(f->reg.n_plugins, 0);
  assert_int_equal(f->reg.n_methods, 0);
  assert_int_equal(
      rpcd__plugin_load(&f->reg, PLUGIN("dup_method"), err, sizeof(err)),
      RPCD_OK);
  assert_non_null(lookup(&f->reg, "echo"));
  assert_non_null(lookup(&f->reg, "dup_method.after"));
  after = read_counters("dup_method");
  assert_int_equal(after.init, before.init + 1);
  assert_int_equal(after.fini, before.fini);
  /* Now ok.so is the one refused, for the same reason. */
  err[0] = '\0';
  assert_int_equal(rpcd__plugin_load(&f->reg, PLUGIN("ok"), err, sizeof(err)),
                   RPCD_EEXIST);
  assert_contains(err, PLUGIN("ok"));
  assert_contains(err, "method \"echo\" is already registered by plugin "
                       "\"dup_method\"");
  assert_int_equal(f->reg.n_plugins, 1);
}

/* The same file twice: refused as a duplicate name, the first copy stays. */
static void test_same_plugin_twice(void **state)
{
  fixture *f = *state;
  snapshot snap;
  counters before = read_counters("ok");
  counters after;
  char err[512];

  take_snapshot(&f->reg, &snap);
  assert_int_equal(rpcd__plugin_load(&f->reg, PLUGIN("ok"), err, sizeof(err)),
                   RPCD_EEXIST);
  assert_contains(err, PLUGIN("ok"));
  assert_contains(err, "already loaded");
  assert_unchanged(&f->reg, &snap);
  after = read_counters("ok");
  assert_int_equal(after.init, before.init);
  assert_int_equal(after.fini, before.fini);
}

static void test_missing_file(void **state)
{
  fixture *f = *state;
  snapshot snap;
  char err[1024] = "";

  take_snapshot(&f->reg, &snap);
  assert_int_equal(
      rpcd__plugin_load(&f->reg, TEST_PLUGIN_DIR "/nope.so", err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err,
                  "could not load plugin \"" TEST_PLUGIN_DIR "/nope.so\": ");
  assert_contains(err, "No such file or directory");
  assert_unchanged(&f->reg, &snap);
}

/* ------------------------------------------------------------------------ */
/* Plugin directories                                                        */

typedef struct tmpdir {
  char path[PATH_MAX];
  char names[16][64];
  size_t n;
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
  const char *base = getenv("TMPDIR");
  char made[PATH_MAX];

  memset(d, 0, sizeof(*d));
  snprintf(made, sizeof(made), "%s/rpcd-loader-XXXXXX",
           base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(made));
  canon(made, d->path); /* as the loader will name it */
}

static void tmpdir_path(const tmpdir *d, const char *name, char *out,
                        size_t len)
{
  int n = snprintf(out, len, "%s/%s", d->path, name);

  assert_true(n > 0 && (size_t)n < len);
}

static void tmpdir_link(tmpdir *d, const char *name, const char *target)
{
  char path[PATH_MAX];

  tmpdir_path(d, name, path, sizeof(path));
  if (symlink(target, path) != 0)
    fail_msg("symlink %s: %s", path, strerror(errno));
  snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
}

/* Copy the first `limit` bytes of `from` (all of it for SIZE_MAX). */
static void tmpdir_copy_n(tmpdir *d, const char *name, const char *from,
                          size_t limit)
{
  char path[PATH_MAX];
  char buf[8192];
  FILE *in;
  FILE *out;
  size_t n;

  tmpdir_path(d, name, path, sizeof(path));
  in = fopen(from, "rb");
  assert_non_null(in);
  out = fopen(path, "wb");
  assert_non_null(out);
  while (limit > 0 &&
         (n = fread(buf, 1, limit < sizeof(buf) ? limit : sizeof(buf), in)) >
             0) {
    assert_int_equal(fwrite(buf, 1, n, out), n);
    limit -= n;
  }
  fclose(in);
  assert_int_equal(fclose(out), 0);
  snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
}

static void tmpdir_copy(tmpdir *d, const char *name, const char *from)
{
  tmpdir_copy_n(d, name, from, SIZE_MAX);
}

static void tmpdir_text(tmpdir *d, const char *name, const char *text)
{
  char path[PATH_MAX];
  FILE *out;

  tmpdir_path(d, name, path, sizeof(path));
  out = fopen(path, "w");
  assert_non_null(out);
  fputs(text, out);
  assert_int_equal(fclose(out), 0);
  snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
}

static void tmpdir_remove(tmpdir *d)
{
  char path[PATH_MAX];
  size_t i;

  for (i = 0; i < d->n; i++) {
    tmpdir_path(d, d->names[i], path, sizeof(path));
    unlink(path);
  }
  rmdir(d->path);
}

/* Loads every *.so in name order, skipping dot files and other names;
 * symlinks and copies both work. */
static void test_dir_name_order(void **state)
{
  fixture *f = *state;
  char path[PATH_MAX];
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  /* Created out of name order, so readdir order is unlikely to match. */
  tmpdir_copy(&d, "20-ok.so", PLUGIN("ok"));
  tmpdir_link(&d, "10-fib.so", FIB_PLUGIN);
  tmpdir_link(&d, ".hidden.so", PLUGIN("bad_abi"));
  tmpdir_link(&d, "old.so.bak", PLUGIN("bad_abi"));
  tmpdir_link(&d, "so", PLUGIN("bad_abi"));
  tmpdir_link(&d, ".so", PLUGIN("bad_abi"));
  tmpdir_text(&d, "README", "not a plugin\n");

  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)), RPCD_OK);
  assert_int_equal(f->reg.n_plugins, 2);
  assert_string_equal(f->reg.plugins[0]->name, "fib");
  assert_string_equal(f->reg.plugins[1]->name, "ok");
  /* A link is recorded as the file it leads to, a copy as itself. */
  assert_string_equal(f->reg.plugins[0]->path, canon(FIB_PLUGIN, path));
  tmpdir_path(&d, "20-ok.so", path, sizeof(path));
  assert_string_equal(f->reg.plugins[1]->path, path);
  assert_non_null(lookup(&f->reg, "fib"));
  assert_non_null(lookup(&f->reg, "echo"));
  assert_int_equal(f->reg.n_methods, 1 + 12);

  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);
}

/* The first failure stops the walk, and its message names the file. */
static void test_dir_stops_at_failure(void **state)
{
  fixture *f = *state;
  char path[PATH_MAX];
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_link(&d, "c.so", PLUGIN("ok"));
  tmpdir_link(&d, "b.so", PLUGIN("bad_abi"));
  tmpdir_link(&d, "a.so", FIB_PLUGIN);

  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  tmpdir_path(&d, "b.so", path, sizeof(path));
  assert_contains(err, path);
  assert_contains(err, "incompatible");
  /* a.so came before the failure; c.so was never tried. */
  assert_int_equal(f->reg.n_plugins, 1);
  assert_string_equal(f->reg.plugins[0]->name, "fib");
  assert_null(rpcd__registry_find_plugin(&f->reg, "ok"));
  assert_null(lookup(&f->reg, "echo"));

  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);
}

/* --skip-bad-plugins: the refused file is skipped and the walk goes on. */
static void test_dir_skips_bad(void **state)
{
  fixture *f = *state;
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_link(&d, "c.so", PLUGIN("ok"));
  tmpdir_link(&d, "b.so", PLUGIN("bad_abi"));
  tmpdir_link(&d, "a.so", FIB_PLUGIN);

  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, true, err, sizeof(err)), RPCD_OK);
  assert_int_equal(f->reg.n_plugins, 2);
  assert_string_equal(f->reg.plugins[0]->name, "fib");
  assert_non_null(rpcd__registry_find_plugin(&f->reg, "ok"));
  assert_non_null(lookup(&f->reg, "echo"));

  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);
}

/* Which of two conflicting plugins wins depends only on file names. */
static void test_dir_conflict_is_reproducible(void **state)
{
  fixture *f = *state;
  char path[PATH_MAX];
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_link(&d, "b.so", PLUGIN("dup_name"));
  tmpdir_link(&d, "a.so", PLUGIN("ok"));
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EEXIST);
  tmpdir_path(&d, "b.so", path, sizeof(path));
  assert_contains(err, path);
  assert_contains(err, "a plugin named \"ok\" is already loaded");
  assert_int_equal(f->reg.n_plugins, 1);
  assert_non_null(lookup(&f->reg, "echo"));
  assert_null(lookup(&f->reg, "dup_name.method"));
  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);

  /* The other way round, dup_name (which calls itself "ok") wins. */
  tmpdir_make(&d);
  tmpdir_link(&d, "a.so", PLUGIN("dup_name"));
  tmpdir_link(&d, "b.so", PLUGIN("ok"));
  err[0] = '\0';
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EEXIST);
  tmpdir_path(&d, "b.so", path, sizeof(path));
  assert_contains(err, path);
  assert_int_equal(f->reg.n_plugins, 1);
  assert_non_null(lookup(&f->reg, "dup_name.method"));
  assert_null(lookup(&f->reg, "echo"));
  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);
}

static void test_dir_empty(void **state)
{
  fixture *f = *state;
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, d.path);
  assert_contains(err, "has no *.so files");
  assert_int_equal(f->reg.n_plugins, 0);

  /* Files that are not *.so do not count. */
  tmpdir_text(&d, "README", "x\n");
  tmpdir_link(&d, ".hidden.so", PLUGIN("ok"));
  err[0] = '\0';
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "has no *.so files");
  assert_int_equal(f->reg.n_plugins, 0);
  tmpdir_remove(&d);
}

static void test_dir_missing(void **state)
{
  fixture *f = *state;
  char missing[PATH_MAX];
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_path(&d, "no-such-dir", missing, sizeof(missing));
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, missing, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "could not open plugin directory");
  assert_contains(err, missing);
  assert_contains(err, "No such file or directory");
  assert_int_equal(f->reg.n_plugins, 0);

  /* A file is not a directory. */
  tmpdir_text(&d, "file", "x\n");
  tmpdir_path(&d, "file", missing, sizeof(missing));
  err[0] = '\0';
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, missing, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, missing);
  assert_contains(err, "Not a directory");
  tmpdir_remove(&d);
}

/* A *.so that is not a shared object at all. */
static void test_not_elf(void **state)
{
  fixture *f = *state;
  char path[PATH_MAX];
  char err[1024] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_text(&d, "junk.so",
              "this is a text file with a .so name, long enough to have an "
              "ELF header's worth of bytes in it\n");
  tmpdir_path(&d, "junk.so", path, sizeof(path));
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, "could not load plugin \"");
  assert_contains(err, path);
  assert_contains(err, "ELF");
  assert_int_equal(f->reg.n_plugins, 0);
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, path);
  tmpdir_remove(&d);
}

/* ------------------------------------------------------------------------ */
/* Plugin paths: relative paths, and files that are no plugin at all         */

/* A --plugin value is a path, never a library name for dlopen() to search
 * for: a bare file name is the file in the current directory, loaded and
 * recorded by its absolute path. */
static void test_bare_name(void **state)
{
  fixture *f = *state;
  char cwd[PATH_MAX];
  char dir[PATH_MAX];
  char real[PATH_MAX];
  char want[2 * PATH_MAX];
  char err_ok[1024] = "";
  char err_nope[1024] = "";
  char err_dir[1024] = "";
  int rc_ok;
  int rc_nope;
  int rc_dir;

  canon(TEST_PLUGIN_DIR, dir);
  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir(TEST_PLUGIN_DIR), 0);
  rc_ok = rpcd__plugin_load(&f->reg, "ok.so", err_ok, sizeof(err_ok));
  rc_nope = rpcd__plugin_load(&f->reg, "nope.so", err_nope, sizeof(err_nope));
  /* "." as the plugin directory: bad_abi.so comes first and is refused. */
  rc_dir = rpcd__plugin_load_dir(&f->reg, ".", false, err_dir, sizeof(err_dir));
  assert_int_equal(chdir(cwd), 0); /* before any assert can leave */

  if (rc_ok != RPCD_OK)
    fail_msg("ok.so from its directory: %s", err_ok);
  assert_int_equal(f->reg.n_plugins, 1);
  assert_string_equal(f->reg.plugins[0]->path, canon(PLUGIN("ok"), real));
  assert_non_null(lookup(&f->reg, "echo"));

  assert_int_equal(rc_nope, RPCD_EPLUGIN);
  snprintf(want, sizeof(want),
           "could not load plugin \"nope.so\": No such file or directory "
           "(resolved against %s)",
           dir);
  assert_string_equal(err_nope, want);

  assert_int_equal(rc_dir, RPCD_EPLUGIN);
  snprintf(want, sizeof(want),
           "could not load plugin \"%s/bad_abi.so\": ", dir);
  if (strncmp(err_dir, want, strlen(want)) != 0)
    fail_msg("\"%s\" does not start with \"%s\"", err_dir, want);
  assert_int_equal(f->reg.n_plugins, 1);
}

/* A plugin reached through a symbolic link is named by the file it leads
 * to, and by the name it was given. */
static void test_symlink_names_both(void **state)
{
  fixture *f = *state;
  char link[PATH_MAX];
  char real[PATH_MAX];
  char want[3 * PATH_MAX];
  char err[2 * PATH_MAX] = "";
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_link(&d, "abi.so", PLUGIN("bad_abi"));
  tmpdir_path(&d, "abi.so", link, sizeof(link));
  assert_int_equal(rpcd__plugin_load(&f->reg, link, err, sizeof(err)),
                   RPCD_EPLUGIN);
  snprintf(want, sizeof(want), "could not load plugin \"%s\" (from \"%s\"): ",
           canon(PLUGIN("bad_abi"), real), link);
  if (strncmp(err, want, strlen(want)) != 0)
    fail_msg("\"%s\" does not start with \"%s\"", err, want);
  assert_contains(err, "incompatible");

  /* A link to nothing. */
  tmpdir_link(&d, "dangling.so", "/nonexistent/rpcd/plugin.so");
  tmpdir_path(&d, "dangling.so", link, sizeof(link));
  assert_int_equal(rpcd__plugin_load(&f->reg, link, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, link);
  assert_contains(err, "No such file or directory");
  assert_contains(err, "dangling symbolic link");
  assert_int_equal(f->reg.n_plugins, 0);
  tmpdir_remove(&d);
}

/* Directories, FIFOs and devices are refused before dlopen() (which would
 * fail on a directory, and block forever opening a FIFO). */
static void test_not_a_regular_file(void **state)
{
  fixture *f = *state;
  char dir[PATH_MAX];
  char fifo[PATH_MAX];
  char err[2 * PATH_MAX] = "";
  tmpdir d;

  canon(TEST_PLUGIN_DIR, dir);
  assert_int_equal(
      rpcd__plugin_load(&f->reg, TEST_PLUGIN_DIR, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "could not load plugin \"");
  assert_contains(err, dir);
  assert_contains(err, "is a directory, not a plugin file");

  tmpdir_make(&d);
  tmpdir_path(&d, "fifo.so", fifo, sizeof(fifo));
  if (mkfifo(fifo, 0600) != 0)
    fail_msg("mkfifo %s: %s", fifo, strerror(errno));
  snprintf(d.names[d.n++], sizeof(d.names[0]), "fifo.so");
  assert_int_equal(rpcd__plugin_load(&f->reg, fifo, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, fifo);
  assert_contains(err, "not a regular file (a FIFO)");
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, fifo);
  assert_contains(err, "not a regular file");

  assert_int_equal(rpcd__plugin_load(&f->reg, "/dev/null", err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, "\"/dev/null\"");
  assert_contains(err, "not a regular file (a character device)");
  assert_int_equal(f->reg.n_plugins, 0);
  tmpdir_remove(&d);
}

/* An empty file, and a shared object cut short (an interrupted copy): the
 * latter would make dlopen() map pages past the end of the file and die of
 * SIGBUS on touching them. */
static void test_empty_and_truncated(void **state)
{
  fixture *f = *state;
  ElfW(Ehdr) eh;
  char path[PATH_MAX];
  char err[2 * PATH_MAX] = "";
  size_t phdrs_end;
  FILE *in;
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_text(&d, "empty.so", "");
  tmpdir_path(&d, "empty.so", path, sizeof(path));
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  assert_contains(err, "the file is empty");

  /* The ELF header, cut in the middle. */
  tmpdir_copy_n(&d, "header.so", PLUGIN("ok"), 40);
  tmpdir_path(&d, "header.so", path, sizeof(path));
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  assert_contains(err, "truncated");

  /* Header and program headers whole, the segments they describe gone. */
  in = fopen(PLUGIN("ok"), "rb");
  assert_non_null(in);
  assert_int_equal(fread(&eh, sizeof(eh), 1, in), 1);
  fclose(in);
  phdrs_end = (size_t)eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize;
  tmpdir_copy_n(&d, "cut.so", PLUGIN("ok"), phdrs_end);
  tmpdir_path(&d, "cut.so", path, sizeof(path));
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  assert_contains(err, "truncated");
  assert_contains(err, "segment");
  assert_int_equal(f->reg.n_plugins, 0);

  /* The whole file loads. */
  tmpdir_copy(&d, "whole.so", PLUGIN("ok"));
  tmpdir_path(&d, "whole.so", path, sizeof(path));
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)), RPCD_OK);
  rpcd__registry_destroy(&f->reg);
  tmpdir_remove(&d);
}

/* A plugin file, or a directory above it, that someone other than root or
 * the user rpcd runs as could write is refused: they could run code in the
 * server. */
static void test_unsafe_permissions(void **state)
{
  fixture *f = *state;
  char path[PATH_MAX];
  char err[2 * PATH_MAX] = "";
  gid_t other_gid = 0;
  bool have_other_gid = false;
  tmpdir d;

  tmpdir_make(&d);
  tmpdir_copy(&d, "ok.so", PLUGIN("ok"));
  tmpdir_path(&d, "ok.so", path, sizeof(path));
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)), RPCD_OK);
  rpcd__registry_destroy(&f->reg);

  /* Writable by others. */
  assert_int_equal(chmod(path, 0646), 0);
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  assert_contains(err, "is writable by others (mode 0646)");
  assert_int_equal(chmod(path, 0644), 0);

  /* Writable by a group that is not rpcd's own: needs root, or a
   * supplementary group to give the file to. */
  if (geteuid() == 0) {
    other_gid = getegid() + 1;
    have_other_gid = true;
  } else {
    gid_t groups[64];
    int n = getgroups(64, groups);
    int i;

    for (i = 0; i < n && !have_other_gid; i++) {
      if (groups[i] != getegid()) {
        other_gid = groups[i];
        have_other_gid = true;
      }
    }
  }
  if (have_other_gid) {
    assert_int_equal(chown(path, (uid_t)-1, other_gid), 0);
    assert_int_equal(chmod(path, 0664), 0);
    assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                     RPCD_EPLUGIN);
    assert_contains(err, path);
    assert_contains(err, "is writable by group");
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                     RPCD_OK);
    rpcd__registry_destroy(&f->reg);
  }
  /* Writable by rpcd's own group: allowed (umask 002 with a group per
   * user). */
  assert_int_equal(chown(path, (uid_t)-1, getegid()), 0);
  assert_int_equal(chmod(path, 0664), 0);
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)), RPCD_OK);
  rpcd__registry_destroy(&f->reg);
  assert_int_equal(chmod(path, 0644), 0);

  /* A directory above it writable by others: refused, naming the
   * directory; with the sticky bit (like /tmp), others cannot replace what
   * is in it, and it is allowed. */
  assert_int_equal(chmod(d.path, 0777), 0);
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  assert_contains(err, d.path);
  assert_contains(err, "is writable by others (mode 0777)");
  assert_int_equal(
      rpcd__plugin_load_dir(&f->reg, d.path, false, err, sizeof(err)),
      RPCD_EPLUGIN);
  assert_contains(err, "refused plugin directory");
  assert_contains(err, "is writable by others (mode 0777)");
  assert_int_equal(chmod(d.path, 01777), 0);
  assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)), RPCD_OK);
  rpcd__registry_destroy(&f->reg);
  assert_int_equal(chmod(d.path, 0700), 0);

  /* Owned by another user (only root can give a file away). */
  if (geteuid() == 0) {
    assert_int_equal(chown(path, 65534, (gid_t)-1), 0);
    assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                     RPCD_EPLUGIN);
    assert_contains(err, path);
    assert_contains(err, "is owned by uid 65534");
    assert_int_equal(chown(path, 0, (gid_t)-1), 0);
    assert_int_equal(chown(d.path, 65534, (gid_t)-1), 0);
    assert_int_equal(rpcd__plugin_load(&f->reg, path, err, sizeof(err)),
                     RPCD_EPLUGIN);
    assert_contains(err, d.path);
    assert_contains(err, "is owned by uid 65534");
    assert_int_equal(chown(d.path, 0, (gid_t)-1), 0);
  }
  assert_int_equal(f->reg.n_plugins, 0);
  tmpdir_remove(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_load_ok, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_load_minor_1_0, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_load_fib, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_load_typed, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_base_fixture, setup_base, teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_abi, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_newer_minor, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_size, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_typed_both_tables,
                                      setup_base, teardown),
      cmocka_unit_test_setup_teardown(test_refused_typed_init_open, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_typed_bad_param, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_typed_dup_method, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_msgpack, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_reserved, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_no_entry, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_null_info, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_init_fails, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_dup_name, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_dup_method, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_reserved_method, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_no_methods, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_method_name, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_data_entry, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_tls_entry, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_nonexec_entry, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_ifunc_entry, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_code_that_runs_before_the_checks,
                                      setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_dup_method_keeps_ok, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refusals_without_ok, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_same_plugin_twice, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup_base, teardown),
      cmocka_unit_test_setup_teardown(test_dir_name_order, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dir_stops_at_failure, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dir_skips_bad, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dir_conflict_is_reproducible,
                                      setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_dir_empty, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_dir_missing, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_not_elf, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_bare_name, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_names_both, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_empty_and_truncated, setup_empty,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_unsafe_permissions, setup_empty,
                                      teardown),
  };

  /* Only what goes wrong; test_load_ok turns info on to check a line. */
  rpcd__log_level = RPCD_LOG_WARN;
  /* The files the tests write must not be group- or other-writable, or the
   * loader refuses them, whatever the umask of the user running the test. */
  umask(022);
  return cmocka_run_group_tests(tests, open_own_handles, close_own_handles);
}
