/* SPDX-License-Identifier: MIT */
/*
 * minor_1_0: a plugin built for ABI 1.0, before remaining_ms existed and
 * with the descriptor of that time, which ends before method_descs. ABI
 * minor bumps only append, so it must keep loading and serving unchanged.
 */
#include "test_plugin.h"

#include <stddef.h>

static int minor_1_0_hello(void *state, rpcd_call *call,
                           const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_str_with_body(result, "1.0", 3) == 0 ? RPCD_OK
                                                           : RPCD_ENOMEM;
}

static const rpcd_method minor_1_0_methods[] = {
    {"minor_1_0.hello", minor_1_0_hello, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info minor_1_0_info = {
    .size = offsetof(rpcd_plugin_info, method_descs),
    .abi_major = 1,
    .abi_minor = 0, /* the point of this plugin */
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "minor_1_0",
    .version = "1.0.0",
    .methods = minor_1_0_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(minor_1_0_info)
