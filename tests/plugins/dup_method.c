/* SPDX-License-Identifier: MIT */
/*
 * dup_method: registers "echo", which ok.so has, between two methods of its
 * own. Loaded after ok.so it must fail, leave none of its methods registered,
 * and undo its init with fini.
 */
#include "test_plugin.h"

/* Registered only briefly, never called. */
static int dup_method_method(void *state, rpcd_call *call,
                             const msgpack_object *params,
                             msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method dup_method_methods[] = {
    TP_COUNTERS_METHOD("dup_method"),
    {"dup_method.before", dup_method_method, 0},
    {"echo", dup_method_method, 0},
    {"dup_method.after", dup_method_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info dup_method_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "dup_method",
    .version = "0.0.1-test",
    .methods = dup_method_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(dup_method_info)
