/* SPDX-License-Identifier: MIT */
/*
 * bad_size: a descriptor smaller than the server's rpcd_plugin_info, as a
 * plugin built against an older, incompatible plugin.h would have.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int bad_size_method(void *state, rpcd_call *call,
                           const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method bad_size_methods[] = {
    TP_COUNTERS_METHOD("bad_size"),
    {"bad_size.method", bad_size_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info bad_size_info = {
    .size = sizeof(rpcd_plugin_info) -
            2 * sizeof(uintptr_t), /* the point of this plugin */
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "bad_size",
    .version = "0.0.1-test",
    .methods = bad_size_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(bad_size_info)
