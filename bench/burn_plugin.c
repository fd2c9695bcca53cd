/* SPDX-License-Identifier: MIT */
/*
 * burn: a plugin for benchmarks. burn(us) spins on the CPU for `us`
 * microseconds (at most 1 s) and answers `us`: work that only more worker
 * processes can do faster.
 */
#include <rpcd/plugin.h>

#include <time.h>

static const rpcd_host_api *host;

static int burn_init(const rpcd_host_api *api, void **state, char *err,
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

static const rpcd_method burn_methods[] = {
    {"burn", burn, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info burn_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "burn",
    .version = "1.0.0",
    .methods = burn_methods,
    .init = burn_init,
};

RPCD_PLUGIN_DECLARE(burn_info)
