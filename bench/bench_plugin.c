/* SPDX-License-Identifier: MIT */
/*
 * bench: a plugin for benchmarks (tools/bench.sh).
 *   burn(us)  spins on the CPU for `us` microseconds (at most 1 s) and
 *             answers `us`: work that only more worker processes do faster
 *   echo(...) answers its params: a reply as large as the request
 */
#include <rpcd/plugin.h>

#include <time.h>

static const rpcd_host_api *host;

static int bench_init(const rpcd_host_api *api, void **state, char *err,
                      size_t errlen)
{
  (void)err;
  (void)errlen;
  host = api;
  *state = NULL;
  return RPCD_OK;
}

static int burn(void *state, rpcd_call *call, const msgpack_object *params,
                msgpack_packer *result)
{
  struct timespec t0;
  struct timespec t;
  uint64_t us;
  uint64_t spent;

  (void)state;
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 1 ||
      params->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      params->via.array.ptr[0].via.u64 > 1000000)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param us: expected an integer from 0 to 1000000");
  us = params->via.array.ptr[0].via.u64;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  do {
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    spent = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000u +
            (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000);
  } while (spent < us);
  return msgpack_pack_uint64(result, us) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int echo(void *state, rpcd_call *call, const msgpack_object *params,
                msgpack_packer *result)
{
  (void)state;
  (void)call;
  return msgpack_pack_object(result, *params) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method bench_methods[] = {
    {"burn", burn, 0},
    {"echo", echo, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info bench_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "bench",
    .version = "1.0.0",
    .methods = bench_methods,
    .init = bench_init,
};

RPCD_PLUGIN_DECLARE(bench_info)
