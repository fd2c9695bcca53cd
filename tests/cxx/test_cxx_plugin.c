/* SPDX-License-Identifier: MIT */
/*
 * The C++ plugin (cxx_plugin.cc) as rpcd sees it: its entry point is found
 * by its C name, its descriptor says what RPCD_PLUGIN_INFO and the param
 * macros wrote, its handler runs through a ctx like the one the host
 * fills, and the server's own loader accepts it (open, register, close).
 */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_loader.h"
#include "registry.h"

#ifndef CXX_PLUGIN
#error "CXX_PLUGIN must name cxx_plugin.so"
#endif

static const rpcd_plugin_info *entry(void **handle)
{
  rpcd_plugin_entry_fn fn;

  *handle = dlopen(CXX_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (!*handle)
    fail_msg("dlopen: %s", dlerror());
  *(void **)(&fn) = dlsym(*handle, RPCD_PLUGIN_ENTRY_SYMBOL);
  if (!fn)
    fail_msg("no %s (a C++ mangled name?)", RPCD_PLUGIN_ENTRY_SYMBOL);
  return fn();
}

static void test_descriptor(void **unused)
{
  void *handle;
  const rpcd_plugin_info *info = entry(&handle);
  const rpcd_method_desc *m;
  const rpcd_param *p;

  (void)unused;
  assert_int_equal(info->size, sizeof(rpcd_plugin_info));
  assert_int_equal(info->abi_major, RPCD_PLUGIN_ABI_MAJOR);
  assert_int_equal(info->abi_minor, RPCD_PLUGIN_ABI_MINOR);
  assert_int_equal(info->msgpack_major, MSGPACK_VERSION_MAJOR);
  assert_string_equal(info->name, "cxx");
  assert_string_equal(info->version, "1.0.0");
  assert_null(info->methods);
  assert_null(info->init);
  assert_null(info->fini);
  assert_non_null(info->open);
  assert_non_null(info->close);

  m = info->method_descs;
  assert_non_null(m);
  assert_int_equal(m[0].size, sizeof(rpcd_method_desc));
  assert_string_equal(m[0].name, "cxx.greet");
  assert_int_equal(m[0].result, RPCD_TYPE_STR);
  assert_int_equal(m[0].flags, RPCD_METHOD_IDEMPOTENT);
  p = m[0].params;
  assert_int_equal(p[0].size, sizeof(rpcd_param));
  assert_string_equal(p[0].name, "name");
  assert_int_equal(p[0].type, RPCD_TYPE_STR);
  assert_int_equal(p[0].flags, 0);
  assert_int_equal(p[0].max_len, 32);
  assert_string_equal(p[1].name, "times");
  assert_int_equal(p[1].type, RPCD_TYPE_UINT);
  assert_int_equal(p[1].flags,
                   RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT | RPCD_PARAM_RANGE);
  assert_int_equal(p[1].min_u, 1);
  assert_int_equal(p[1].max_u, 3);
  assert_int_equal(p[1].def_u, 1);
  assert_null(p[2].name);
  assert_string_equal(m[1].name, "cxx.calls");
  assert_null(m[1].params);
  assert_null(m[2].name);
  dlclose(handle);
}

static void test_handler(void **unused)
{
  void *handle;
  const rpcd_plugin_info *info = entry(&handle);
  rpcd_host_api api = {.size = sizeof(api)}; /* greet calls none */
  rpcd_ctx ctx = {.size = sizeof(ctx), .api = &api};
  msgpack_object args[2];
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked res;
  char err[128];

  (void)unused;
  assert_int_equal(info->open(&ctx, err, sizeof(err)), RPCD_OK);
  assert_non_null(ctx.state);

  args[0].type = MSGPACK_OBJECT_STR;
  args[0].via.str.ptr = "ada";
  args[0].via.str.size = 3;
  args[1].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
  args[1].via.u64 = 2;
  ctx.call = (rpcd_call *)&ctx; /* any non-NULL: the handler only passes it */
  ctx.args = args;
  ctx.nargs = 2;
  ctx.given = 3;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  assert_int_equal(info->method_descs[0].fn(&ctx, &pk), RPCD_OK);
  msgpack_unpacked_init(&res);
  assert_int_equal(msgpack_unpack_next(&res, sb.data, sb.size, NULL),
                   MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(res.data.type, MSGPACK_OBJECT_STR);
  assert_int_equal(res.data.via.str.size, strlen("hello, ada hello, ada"));
  assert_memory_equal(res.data.via.str.ptr, "hello, ada hello, ada",
                      res.data.via.str.size);
  msgpack_unpacked_destroy(&res);
  msgpack_sbuffer_destroy(&sb);

  ctx.call = NULL;
  ctx.args = NULL;
  ctx.nargs = 0;
  info->close(&ctx);
  assert_null(ctx.state);
  dlclose(handle);
}

static void test_loader_accepts_it(void **unused)
{
  rpcd_registry reg;
  const rpcd_method_entry *e;
  char err[1024] = "";
  int rc;

  (void)unused;
  rpcd__registry_init(&reg);
  rc = rpcd__plugin_load(&reg, CXX_PLUGIN, err, sizeof(err));
  if (rc != RPCD_OK)
    fail_msg("rpcd__plugin_load: %d: %s", rc, err);
  e = rpcd__registry_lookup(&reg, "cxx.greet", strlen("cxx.greet"));
  assert_non_null(e);
  assert_non_null(e->handler);
  assert_null(e->fn);
  assert_non_null(e->state); /* what open() made */
  assert_non_null(rpcd__registry_lookup(&reg, "cxx.calls", 9));
  rpcd__registry_destroy(&reg); /* close() */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_descriptor),
      cmocka_unit_test(test_handler),
      cmocka_unit_test(test_loader_accepts_it),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
