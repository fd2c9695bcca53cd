/* SPDX-License-Identifier: MIT */
/*
 * newer_minor: needs ABI minor 99, newer than any server offers. The loader
 * must refuse it (a plugin may be older than the server, never newer).
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int newer_minor_method(void *state, rpcd_call *call,
                              const msgpack_object *params,
                              msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method newer_minor_methods[] = {
    TP_COUNTERS_METHOD("newer_minor"),
    {"newer_minor.method", newer_minor_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info newer_minor_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = 99, /* the point of this plugin */
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "newer_minor",
    .version = "0.0.1-test",
    .methods = newer_minor_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(newer_minor_info)
