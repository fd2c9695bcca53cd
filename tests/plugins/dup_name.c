/* SPDX-License-Identifier: MIT */
/*
 * dup_name: a second plugin named "ok". Loaded after ok.so it must be refused
 * before init runs.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int dup_name_method(void *state, rpcd_call *call,
                           const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method dup_name_methods[] = {
    TP_COUNTERS_METHOD("dup_name"),
    {"dup_name.method", dup_name_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info dup_name_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "ok", /* the point of this plugin */
    .version = "0.0.1-test",
    .methods = dup_name_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(dup_name_info)
