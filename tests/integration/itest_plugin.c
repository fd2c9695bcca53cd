/* SPDX-License-Identifier: MIT */
/*
 * itest: a plugin for integration tests. sleep(ms) answers after ms
 * milliseconds (for timeouts), fail(code) answers with an application error,
 * echo(...) answers its params.
 */
#include <rpcd/plugin.h>

#include <time.h>

static const rpcd_host_api *host;

static int itest_init(const rpcd_host_api *api, void **state, char *err,
                      size_t errlen)
{
  (void)err;
  (void)errlen;
  host = api;
  *state = NULL;
  return RPCD_OK;
}

static int itest_sleep(void *state, rpcd_call *call,
                       const msgpack_object *params, msgpack_packer *result)
{
  struct timespec ts;
  uint64_t ms;

  (void)state;
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 1 ||
      params->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      params->via.array.ptr[0].via.u64 > 60000)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param ms: must be an integer from 0 to 60000");
  ms = params->via.array.ptr[0].via.u64;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
  return msgpack_pack_uint64(result, ms) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int itest_fail(void *state, rpcd_call *call,
                      const msgpack_object *params, msgpack_packer *result)
{
  int code = 42;

  (void)state;
  (void)result;
  if (params->type == MSGPACK_OBJECT_ARRAY && params->via.array.size == 1 &&
      params->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      params->via.array.ptr[0].via.u64 <= 1000000)
    code = (int)params->via.array.ptr[0].via.u64;
  return host->set_error(call, code, "requested failure %d", code);
}

static int itest_echo(void *state, rpcd_call *call,
                      const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  return msgpack_pack_object(result, *params) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method itest_methods[] = {
    {"itest.sleep", itest_sleep, 0},
    {"itest.fail", itest_fail, 0},
    {"itest.echo", itest_echo, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info itest_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "itest",
    .version = "0.1.0",
    .methods = itest_methods,
    .init = itest_init,
};

RPCD_PLUGIN_DECLARE(itest_info)
