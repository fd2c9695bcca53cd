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
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ------------------------------------------------------------------------ */
/* Reading a plugin's init/fini counters                                     */

static const char *const counted[] = {
    "ok",          "bad_abi",         "newer_minor",     "bad_size",
    "bad_msgpack", "reserved",        "init_fails",      "dup_name",
    "dup_method",  "reserved_method", "bad_method_name",
};
#define N_COUNTED (sizeof(counted) / sizeof(counted[0]))
static void *own_handles[N_COUNTED];

typedef struct counters {
  int64_t init;
  int64_t fini;
  int64_t fini_bad_state;
} counters;

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
  for (i = 0; info->methods[i].name; i++) {
    if (strcmp(info->methods[i].name, method) == 0)
      break;
  }
  if (!info->methods[i].name)
    fail_msg("plugin %s has no method %s", name, method);
  msgpack_sbuffer_init(&buf);
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  assert_int_equal(info->methods[i].fn(NULL, NULL, &empty, &pk), RPCD_OK);
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
  if (rpcd__dispatcher_add_builtins(&f->reg, err, sizeof(err)) != RPCD_OK ||
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
  assert_string_equal(p->path, PLUGIN("ok"));
  assert_ptr_equal(rpcd__registry_find_plugin(&f->reg, "ok"), p);
  assert_non_null(p->state); /* what ok's init stored */

  /* Every method of the table, with the plugin and its state. */
  assert_int_equal(f->reg.n_methods, 11);
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
  assert_contains(log, "plugin \"ok\": init with host api 1.0");
  assert_contains(log, "loaded plugin \"ok\" 2.3.4");
  assert_contains(log, PLUGIN("ok"));
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
  assert_string_equal(e->plugin->path, FIB_PLUGIN);
}

/* The fixture: built-ins, ok and fib together. */
static void test_base_fixture(void **state)
{
  fixture *f = *state;

  assert_int_equal(f->reg.n_plugins, 2);
  assert_string_equal(f->reg.plugins[0]->name, "ok");
  assert_string_equal(f->reg.plugins[1]->name, "fib");
  assert_int_equal(f->reg.n_methods, 2 + 11 + 1);
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
        .reason = "plugin ABI 2.0 is incompatible",
        .reason2 = "server's 1.0",
        .methods = {"bad_abi.method", "bad_abi.counters"},
    },
    {
        .plugin = "newer_minor",
        .rc = RPCD_EPLUGIN,
        .reason = "plugin needs ABI 1.99",
        .reason2 = "server offers 1.0",
        .methods = {"newer_minor.method", "newer_minor.counters"},
    },
    {
        .plugin = "bad_size",
        .rc = RPCD_EPLUGIN,
        .reason = "descriptor size is",
        .reason2 = "expected at least",
        .methods = {"bad_size.method", "bad_size.counters"},
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

  snprintf(path, sizeof(path), "%s/%s.so", TEST_PLUGIN_DIR, c->plugin);
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

  memset(d, 0, sizeof(*d));
  snprintf(d->path, sizeof(d->path), "%s/rpcd-loader-XXXXXX",
           base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(d->path));
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

static void tmpdir_copy(tmpdir *d, const char *name, const char *from)
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
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
    assert_int_equal(fwrite(buf, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
  snprintf(d->names[d->n++], sizeof(d->names[0]), "%s", name);
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

  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(f->reg.n_plugins, 2);
  assert_string_equal(f->reg.plugins[0]->name, "fib");
  assert_string_equal(f->reg.plugins[1]->name, "ok");
  tmpdir_path(&d, "10-fib.so", path, sizeof(path));
  assert_string_equal(f->reg.plugins[0]->path, path);
  tmpdir_path(&d, "20-ok.so", path, sizeof(path));
  assert_string_equal(f->reg.plugins[1]->path, path);
  assert_non_null(lookup(&f->reg, "fib"));
  assert_non_null(lookup(&f->reg, "echo"));
  assert_int_equal(f->reg.n_methods, 1 + 11);

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

  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
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
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
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
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
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
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, d.path);
  assert_contains(err, "has no *.so files");
  assert_int_equal(f->reg.n_plugins, 0);

  /* Files that are not *.so do not count. */
  tmpdir_text(&d, "README", "x\n");
  tmpdir_link(&d, ".hidden.so", PLUGIN("ok"));
  err[0] = '\0';
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
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
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, missing, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, "could not open plugin directory");
  assert_contains(err, missing);
  assert_contains(err, "No such file or directory");
  assert_int_equal(f->reg.n_plugins, 0);

  /* A file is not a directory. */
  tmpdir_text(&d, "file", "x\n");
  tmpdir_path(&d, "file", missing, sizeof(missing));
  err[0] = '\0';
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, missing, err, sizeof(err)),
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
  assert_int_equal(rpcd__plugin_load_dir(&f->reg, d.path, err, sizeof(err)),
                   RPCD_EPLUGIN);
  assert_contains(err, path);
  tmpdir_remove(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_load_ok, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_load_fib, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_base_fixture, setup_base, teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_abi, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_newer_minor, setup_base,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_bad_size, setup_base,
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
      cmocka_unit_test_setup_teardown(test_dir_conflict_is_reproducible,
                                      setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_dir_empty, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_dir_missing, setup_empty, teardown),
      cmocka_unit_test_setup_teardown(test_not_elf, setup_empty, teardown),
  };

  /* Only what goes wrong; test_load_ok turns info on to check a line. */
  rpcd__log_level = RPCD_LOG_WARN;
  return cmocka_run_group_tests(tests, open_own_handles, close_own_handles);
}
