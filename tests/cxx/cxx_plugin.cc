// SPDX-License-Identifier: MIT
//
// A plugin written in C++ against the typed method API: state (a counter
// behind a C++ object) made in open() and deleted in close(), and a method
// that builds its result in a std::string. No C++ exception may leave a
// function the host calls (they are C functions to it), so each handler
// catches what it can throw.
//
//   cxx.greet(name: str <=32, times?: uint 1..3 = 1) -> str
//   cxx.calls() -> uint    calls of cxx.greet in this worker
#include <rpcd/plugin.h>

#include <cstdio>
#include <new>
#include <string>

namespace
{

struct state {
  uint64_t greets = 0;
};

int greet(rpcd_ctx *ctx, msgpack_packer *result)
{
  try {
    size_t len = 0;
    const char *name = rpcd_arg_str(ctx, 0, &len);
    std::string text;

    for (uint64_t i = 0; i < rpcd_arg_uint(ctx, 1); i++)
      text += (i ? " hello, " : "hello, ") + std::string(name, len);
    static_cast<state *>(ctx->state)->greets++;
    return msgpack_pack_str_with_body(result, text.data(), text.size()) == 0
               ? RPCD_OK
               : RPCD_ENOMEM;
  } catch (const std::bad_alloc &) {
    return RPCD_ENOMEM;
  }
}

int calls(rpcd_ctx *ctx, msgpack_packer *result)
{
  return msgpack_pack_uint64(result,
                             static_cast<state *>(ctx->state)->greets) == 0
             ? RPCD_OK
             : RPCD_ENOMEM;
}

int open_state(rpcd_ctx *ctx, char *err, size_t errlen)
{
  ctx->state = new (std::nothrow) state();
  if (!ctx->state) {
    std::snprintf(err, errlen, "out of memory");
    return RPCD_ENOMEM;
  }
  return RPCD_OK;
}

void close_state(rpcd_ctx *ctx)
{
  delete static_cast<state *>(ctx->state);
  ctx->state = nullptr;
}

const rpcd_param greet_params[] = {
    RPCD_PARAM_STR("name", 32),
    RPCD_OPTIONAL_UINT("times", 1, 3, 1),
    RPCD_PARAMS_END,
};

const rpcd_method_desc methods[] = {
    RPCD_METHOD("cxx.greet", greet, greet_params, RPCD_TYPE_STR,
                RPCD_METHOD_IDEMPOTENT, "hello, NAME, times times"),
    RPCD_METHOD("cxx.calls", calls, nullptr, RPCD_TYPE_UINT, 0,
                "calls of cxx.greet in this worker"),
    RPCD_METHODS_END,
};

const rpcd_plugin_info info =
    RPCD_PLUGIN_INFO("cxx", "1.0.0", methods, open_state, close_state);

} // namespace

// RPCD_PLUGIN_DECLARE gives the entry C linkage itself: the host looks it
// up by its C name.
RPCD_PLUGIN_DECLARE(info)
