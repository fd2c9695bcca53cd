// SPDX-License-Identifier: MIT
//
// The public headers compiled as C++ (-Wall -Wextra -Werror -pedantic, once
// per standard the build tries): a C++ program can include them, and the
// descriptor macros expand to valid C++ aggregate initialisers with every
// param kind, so that a C++ plugin needs no C file of its own.
#include <rpcd/client.h>
#include <rpcd/plugin.h>
#include <rpcd/status.h>
#include <rpcd/version.h>

#include <cstring>
#include <type_traits>

namespace
{

int handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  size_t len = 0;
  const char *s = rpcd_arg_str(ctx, 0, &len);

  (void)s;
  if (!rpcd_arg_given(ctx, 1))
    return rpcd_error(ctx, 1, "%s", "no n");
  rpcd_log(ctx, RPCD_LOG_DEBUG, "n=%lld", (long long)rpcd_arg_int(ctx, 1));
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

const rpcd_param every_kind[] = {
    RPCD_PARAM_STR("s", 16),
    RPCD_PARAM_INT("i", -5, 5),
    RPCD_PARAM_UINT("u", 0, 9),
    RPCD_PARAM_FLOAT("f", 0.0, 1.0),
    RPCD_PARAM_BOOL("b"),
    RPCD_PARAM_BIN("bin", 8),
    RPCD_PARAM_ARRAY("arr", 4),
    RPCD_PARAM_MAP("map", 4),
    RPCD_PARAM_ANY("any"),
    RPCD_OPTIONAL_INT("oi", -1, 1, 0),
    RPCD_OPTIONAL_UINT("ou", 1, 3, 1),
    RPCD_OPTIONAL_FLOAT("of", 0.0, 1.0, 0.5),
    RPCD_OPTIONAL_BOOL("ob", true),
    RPCD_OPTIONAL_STR("os", 8, "x"),
    RPCD_OPTIONAL_OF("oo", RPCD_TYPE_MAP, 2),
    RPCD_PARAMS_END,
};

const rpcd_method_desc methods[] = {
    RPCD_METHOD("m", handler, every_kind, RPCD_TYPE_NIL,
                RPCD_METHOD_IDEMPOTENT | RPCD_METHOD_DEPRECATED, "doc"),
    RPCD_METHOD("n", handler, NULL, RPCD_TYPE_ANY, RPCD_METHOD_ANY_PARAMS,
                NULL),
    RPCD_METHODS_END,
};

const rpcd_plugin_info info =
    RPCD_PLUGIN_INFO("headers", "0", methods, NULL, NULL);

} // namespace

int main()
{
  // The client API is declared with C linkage and C types (the library
  // itself is not linked here: decltype does not use it).
  static_assert(
      std::is_same<decltype(&rpcd_client_call),
                   int (*)(rpcd_client *, const char *, const void *, size_t,
                           unsigned, rpcd_reply **, unsigned)>::value,
      "rpcd_client_call as declared");
  if (info.size != sizeof(rpcd_plugin_info) || info.method_descs != methods ||
      info.methods != NULL || info.abi_minor != RPCD_PLUGIN_ABI_MINOR)
    return 1;
  if (every_kind[13].def_len != 1 || std::strcmp(every_kind[13].def_s, "x"))
    return 1;
  if (every_kind[15].name != NULL || methods[2].name != NULL)
    return 1;
  return 0;
}
