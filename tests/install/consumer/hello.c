/* SPDX-License-Identifier: MIT */
/*
 * hello(name) -> "hello, NAME": a plugin built out of tree against an
 * installed rpcd (the README's example).
 */
#include <rpcd/plugin.h>

#include <stdio.h>

static const rpcd_host_api *host;

static int hello_init(const rpcd_host_api *api, void **state, char *err,
                      size_t errlen)
{
  (void)err;
  (void)errlen;
  host = api;
  *state = NULL;
  return RPCD_OK;
}

static int hello(void *state, rpcd_call *call, const msgpack_object *params,
                 msgpack_packer *result)
{
  const msgpack_object *name;
  char *text;
  int n;

  (void)state;
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 1 ||
      params->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param name: expected one string");
  name = &params->via.array.ptr[0];
  text = host->alloc(call, name->via.str.size + 8);
  if (!text)
    return RPCD_ENOMEM;
  n = snprintf(text, name->via.str.size + 8, "hello, %.*s",
               (int)name->via.str.size, name->via.str.ptr);
  return msgpack_pack_str_with_body(result, text, (size_t)n) == 0 ? RPCD_OK
                                                                  : RPCD_ENOMEM;
}

static const rpcd_method methods[] = {
    {"hello", hello, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "hello",
    .version = "1.0.0",
    .methods = methods,
    .init = hello_init,
};

RPCD_PLUGIN_DECLARE(info)
