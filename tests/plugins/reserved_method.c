/* SPDX-License-Identifier: MIT */
/*
 * reserved_method: registers "rpc.evil", a name under the server's own
 * "rpc." prefix.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int reserved_method_method(void *state, rpcd_call *call,
                                  const msgpack_object *params,
                                  msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method reserved_method_methods[] = {
    TP_COUNTERS_METHOD("reserved_method"),
    {"rpc.evil", reserved_method_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info reserved_method_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "reserved_method",
    .version = "0.0.1-test",
    .methods = reserved_method_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(reserved_method_info)
