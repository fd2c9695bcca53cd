/* SPDX-License-Identifier: MIT */
/*
 * typed: a well-formed ABI 1.2 plugin for the dispatcher tests. Its
 * methods show what a typed handler gets: the checked args in declared
 * order with defaults filled in, which were given, its state from open(),
 * untouched params for RPCD_METHOD_ANY_PARAMS, and ctx_log's prefix. It
 * counts its handler runs, so a test can tell that bad params never
 * reached one.
 */
#include "test_plugin.h"

static uint64_t typed_runs;

static int pack_ok(int rc)
{
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

/* args(a, s?, f?, o?) -> {"args": [a, s, f, o], "given": bits,
 * "state": bool} */
static int typed_args(rpcd_ctx *ctx, msgpack_packer *result)
{
  uint32_t i;
  int rc = 0;

  typed_runs++;
  rc |= msgpack_pack_map(result, 3);
  rc |= msgpack_pack_str_with_body(result, "args", 4);
  rc |= msgpack_pack_array(result, ctx->nargs);
  for (i = 0; i < ctx->nargs; i++)
    rc |= msgpack_pack_object(result, *rpcd_arg(ctx, i));
  rc |= msgpack_pack_str_with_body(result, "given", 5);
  rc |= msgpack_pack_uint64(result, ctx->given);
  rc |= msgpack_pack_str_with_body(result, "state", 5);
  rc |= ctx->state == &tp_state_token ? msgpack_pack_true(result)
                                      : msgpack_pack_false(result);
  return pack_ok(rc);
}

/* runs() -> how often a handler of this plugin ran (runs itself aside). */
static int typed_runs_method(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  return pack_ok(msgpack_pack_uint64(result, typed_runs));
}

/* any(...) -> the params as sent, when the host passed no args. */
static int typed_any(rpcd_ctx *ctx, msgpack_packer *result)
{
  typed_runs++;
  if (ctx->args || ctx->nargs)
    return rpcd_error(ctx, 1, "args for an untyped method");
  return pack_ok(msgpack_pack_object(result, *ctx->params));
}

/* log() -> nil, after a line through ctx_log. */
static int typed_log(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)result;
  typed_runs++;
  rpcd_log(ctx, RPCD_LOG_WARN, "typed line %d", 1);
  return RPCD_OK;
}

static int typed_open(rpcd_ctx *ctx, char *err, size_t errlen)
{
  int rc = tp_open(ctx, err, errlen);

  rpcd_log(ctx, RPCD_LOG_WARN, "opened with host api %u.%u",
           (unsigned)ctx->api->abi_major, (unsigned)ctx->api->abi_minor);
  return rc;
}

static const rpcd_param typed_args_params[] = {
    RPCD_PARAM_INT("a", -100, 100),
    RPCD_OPTIONAL_STR("s", 8, "dflt"),
    RPCD_OPTIONAL_FLOAT("f", 0, 1, 0.5),
    RPCD_OPTIONAL_OF("o", RPCD_TYPE_ANY, 0),
    RPCD_PARAMS_END,
};

static const rpcd_method_desc typed_methods[] = {
    RPCD_METHOD("typed.args", typed_args, typed_args_params, RPCD_TYPE_MAP,
                RPCD_METHOD_IDEMPOTENT, "Echoes its checked args"),
    RPCD_METHOD("typed.runs", typed_runs_method, NULL, RPCD_TYPE_UINT, 0, NULL),
    RPCD_METHOD("typed.any", typed_any, NULL, RPCD_TYPE_ANY,
                RPCD_METHOD_ANY_PARAMS, "Echoes its params as sent"),
    RPCD_METHOD("typed.log", typed_log, NULL, RPCD_TYPE_NIL,
                RPCD_METHOD_DEPRECATED, NULL),
    TP_COUNTERS_DESC("typed"),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info typed_info =
    RPCD_PLUGIN_INFO("typed", "1.2.0", typed_methods, typed_open, tp_close);

RPCD_PLUGIN_DECLARE(typed_info)
