/* SPDX-License-Identifier: MIT */
/*
 * bad_abi: built against a future, incompatible plugin ABI (major 2). The
 * loader must refuse it before init runs.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int bad_abi_method(void *state, rpcd_call *call,
                          const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method bad_abi_methods[] = {
    TP_COUNTERS_METHOD("bad_abi"),
    {"bad_abi.method", bad_abi_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info bad_abi_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR + 1, /* the point of this plugin */
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "bad_abi",
    .version = "0.0.1-test",
    .methods = bad_abi_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(bad_abi_info)
