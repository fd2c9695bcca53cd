/* SPDX-License-Identifier: MIT */
/*
 * typed_dup_method: a typed method "echo", which ok.so has. Loaded after
 * ok.so it must fail after open, leave none of its methods registered, and
 * undo open with close.
 */
#include "test_plugin.h"

static const rpcd_method_desc typed_dup_method_descs[] = {
    TP_COUNTERS_DESC("typed_dup_method"),
    RPCD_METHOD("echo", tp_counters_typed, NULL, RPCD_TYPE_ARRAY, 0, NULL),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info typed_dup_method_info =
    RPCD_PLUGIN_INFO("typed_dup_method", "0.0.1-test", typed_dup_method_descs,
                     tp_open, tp_close);

RPCD_PLUGIN_DECLARE(typed_dup_method_info)
