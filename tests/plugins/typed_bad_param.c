/* SPDX-License-Identifier: MIT */
/*
 * typed_bad_param: a typed method whose param has an empty range (93..0).
 * The loader reads every descriptor before open, so open never runs.
 */
#include "test_plugin.h"

static const rpcd_param typed_bad_param_params[] = {
    RPCD_PARAM_UINT("n", 93, 0), /* the point of this plugin */
    RPCD_PARAMS_END,
};

static const rpcd_method_desc typed_bad_param_descs[] = {
    TP_COUNTERS_DESC("typed_bad_param"),
    RPCD_METHOD("typed_bad_param.range", tp_counters_typed,
                typed_bad_param_params, RPCD_TYPE_UINT, 0, NULL),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info typed_bad_param_info = RPCD_PLUGIN_INFO(
    "typed_bad_param", "0.0.1-test", typed_bad_param_descs, tp_open, tp_close);

RPCD_PLUGIN_DECLARE(typed_bad_param_info)
