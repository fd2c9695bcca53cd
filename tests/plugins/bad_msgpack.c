/* SPDX-License-Identifier: MIT */
/*
 * bad_msgpack: claims to be built against msgpack-c 3, whose msgpack_object
 * layout differs from the server's.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int bad_msgpack_method(void *state, rpcd_call *call,
                              const msgpack_object *params,
                              msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method bad_msgpack_methods[] = {
    TP_COUNTERS_METHOD("bad_msgpack"),
    {"bad_msgpack.method", bad_msgpack_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info bad_msgpack_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = 3, /* the point of this plugin */
    .name = "bad_msgpack",
    .version = "0.0.1-test",
    .methods = bad_msgpack_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(bad_msgpack_info)
