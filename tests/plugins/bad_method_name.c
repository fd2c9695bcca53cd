/* SPDX-License-Identifier: MIT */
/*
 * bad_method_name: registers a method whose name has a space, which no
 * request could ever call.
 */
#include "test_plugin.h"

/* Never called: the loader refuses the plugin first. */
static int bad_method_name_method(void *state, rpcd_call *call,
                                  const msgpack_object *params,
                                  msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method bad_method_name_methods[] = {
    TP_COUNTERS_METHOD("bad_method_name"),
    {"has space", bad_method_name_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info bad_method_name_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "bad_method_name",
    .version = "0.0.1-test",
    .methods = bad_method_name_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(bad_method_name_info)
