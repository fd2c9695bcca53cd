/* SPDX-License-Identifier: MIT */
/*
 * typed_init_open: an ABI 1.2 descriptor that sets both init and open; one
 * at most may be set, and neither may run.
 */
#include "test_plugin.h"

static const rpcd_method_desc typed_init_open_descs[] = {
    TP_COUNTERS_DESC("typed_init_open"),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info typed_init_open_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "typed_init_open",
    .version = "0.0.1-test",
    .init = tp_init, /* the point of this plugin */
    .fini = tp_fini,
    .method_descs = typed_init_open_descs,
    .open = tp_open,
    .close = tp_close,
};

RPCD_PLUGIN_DECLARE(typed_init_open_info)
