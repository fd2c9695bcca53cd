/* SPDX-License-Identifier: MIT */
/*
 * no_methods: a method table with nothing before its NULL entry.
 */
#include "test_plugin.h"

static const rpcd_method no_methods_methods[] = {
    {NULL, NULL, 0},
};

static const rpcd_plugin_info no_methods_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "no_methods",
    .version = "0.0.1-test",
    .methods = no_methods_methods,
    .init = tp_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(no_methods_info)
