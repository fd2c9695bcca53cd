/* SPDX-License-Identifier: MIT */
/*
 * fib: the reference plugin. One method, fib(n), the n-th Fibonacci number
 * for 0 <= n <= 93 (fib(93) is the largest that fits in uint64), computed
 * exactly. Params are positional [n] or named {"n": n}.
 */
#include <rpcd/plugin.h>

#include <string.h>

#define FIB_MAX_N 93

static const rpcd_host_api *host;

static int fib_init(const rpcd_host_api *api, void **state, char *err,
                    size_t errlen)
{
  (void)err;
  (void)errlen;
  host = api;
  *state = NULL;
  return RPCD_OK;
}

/* Find n in [n] or {"n": n}; NULL (with an error recorded) if the shape is
 * wrong. */
static const msgpack_object *find_n(rpcd_call *call,
                                    const msgpack_object *params)
{
  uint32_t i;

  if (params->type == MSGPACK_OBJECT_ARRAY) {
    if (params->via.array.size != 1) {
      host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                      "fib takes exactly 1 param (n), got %u",
                      (unsigned)params->via.array.size);
      return NULL;
    }
    return &params->via.array.ptr[0];
  }
  for (i = 0; i < params->via.map.size; i++) {
    const msgpack_object *k = &params->via.map.ptr[i].key;

    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 1 &&
        k->via.str.ptr[0] == 'n' && params->via.map.size == 1)
      return &params->via.map.ptr[i].val;
  }
  host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                  "fib takes exactly 1 named param, \"n\"");
  return NULL;
}

static int fib_call(void *state, rpcd_call *call, const msgpack_object *params,
                    msgpack_packer *result)
{
  const msgpack_object *arg;
  uint64_t a = 0;
  uint64_t b = 1;
  uint64_t n;

  (void)state;
  arg = find_n(call, params);
  if (!arg)
    return RPCD_OK;
  if (arg->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param n: must be >= 0, got %lld",
                           (long long)arg->via.i64);
  if (arg->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param n: must be an integer from 0 to %d",
                           FIB_MAX_N);
  n = arg->via.u64;
  if (n > FIB_MAX_N)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param n: must be at most %d (fib(%d) is the "
                           "largest that fits in 64 bits), got %llu",
                           FIB_MAX_N, FIB_MAX_N, (unsigned long long)n);
  while (n--) {
    uint64_t t = a + b;

    a = b;
    b = t;
  }
  return msgpack_pack_uint64(result, a) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method fib_methods[] = {
    {"fib", fib_call, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info fib_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "fib",
    .version = "1.0.0",
    .methods = fib_methods,
    .init = fib_init,
};

RPCD_PLUGIN_DECLARE(fib_info)
