/* SPDX-License-Identifier: MIT */
/* hello(name: str <=64) -> str "hello, NAME": a typed rpcd plugin. */
#include <rpcd/plugin.h>

static int hello(rpcd_ctx *ctx, msgpack_packer *result)
{
  size_t len;
  const char *name = rpcd_arg_str(ctx, 0, &len);

  /* Checked by the host: name is a str of at most 64 bytes. */
  if (msgpack_pack_str(result, 7 + len) != 0 ||
      msgpack_pack_str_body(result, "hello, ", 7) != 0 ||
      msgpack_pack_str_body(result, name, len) != 0)
    return RPCD_ENOMEM;
  return RPCD_OK;
}

static const rpcd_param hello_params[] = {RPCD_PARAM_STR("name", 64),
                                          RPCD_PARAMS_END};
static const rpcd_method_desc methods[] = {
    RPCD_METHOD("hello", hello, hello_params, RPCD_TYPE_STR, 0, "greet name"),
    RPCD_METHODS_END};
static const rpcd_plugin_info info =
    RPCD_PLUGIN_INFO("hello", "1.0.0", methods, NULL, NULL);
RPCD_PLUGIN_DECLARE(info)
