/* SPDX-License-Identifier: MIT */
/*
 * typed_both_tables: an ABI 1.2 descriptor with both an untyped method
 * table and typed method_descs; exactly one may be set.
 */
#include "test_plugin.h"

static const rpcd_method typed_both_tables_methods[] = {
    {"typed_both_tables.untyped", tp_counters, 0},
    {NULL, NULL, 0},
};

static const rpcd_method_desc typed_both_tables_descs[] = {
    TP_COUNTERS_DESC("typed_both_tables"),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info typed_both_tables_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "typed_both_tables",
    .version = "0.0.1-test",
    .methods = typed_both_tables_methods, /* the point of this plugin */
    .method_descs = typed_both_tables_descs,
    .open = tp_open,
    .close = tp_close,
};

RPCD_PLUGIN_DECLARE(typed_both_tables_info)
