/* SPDX-License-Identifier: MIT */
/*
 * fib: the reference plugin. One typed method, fib(n: uint 0..93) -> uint,
 * the n-th Fibonacci number computed exactly (fib(93) is the largest that
 * fits in uint64). The server checks n against the descriptor, positional
 * [n] or named {"n": n}, before the handler runs.
 */
#include <rpcd/plugin.h>

static int fib(rpcd_ctx *ctx, msgpack_packer *result)
{
  uint64_t n = rpcd_arg_uint(ctx, 0);
  uint64_t a = 0;
  uint64_t b = 1;

  while (n--) {
    uint64_t t = a + b;

    a = b;
    b = t;
  }
  return msgpack_pack_uint64(result, a) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_param fib_params[] = {
    RPCD_PARAM_UINT("n", 0, 93),
    RPCD_PARAMS_END,
};

static const rpcd_method_desc fib_methods[] = {
    RPCD_METHOD("fib", fib, fib_params, RPCD_TYPE_UINT, RPCD_METHOD_IDEMPOTENT,
                "The n-th Fibonacci number, exactly"),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info fib_info =
    RPCD_PLUGIN_INFO("fib", "1.0.0", fib_methods, NULL, NULL);

RPCD_PLUGIN_DECLARE(fib_info)
