/* SPDX-License-Identifier: MIT */
/*
 * Shared by the test plugins: an init and a fini (or, for ABI 1.2, an open
 * and a close) that count their calls, and a "<plugin>.counters" method
 * that reports the counts, so a test can tell whether the loader ran a
 * plugin's init or fini. The test reads them by
 * dlopen()ing the plugin itself (which also keeps it mapped after the loader
 * closes it) and calling the method from the descriptor's table directly.
 * Every plugin that includes this file gets its own copy of the counters.
 */
#ifndef RPCD_TEST_PLUGIN_H
#define RPCD_TEST_PLUGIN_H

#include <rpcd/plugin.h>

#define TP_UNUSED __attribute__((unused))

static const rpcd_host_api *host TP_UNUSED;
static int tp_init_calls;
static int tp_fini_calls;
static int tp_fini_bad_state; /* fini got a state init did not store */
static int tp_state_token;    /* its address is the plugin state */

static TP_UNUSED int tp_init(const rpcd_host_api *api, void **state, char *err,
                             size_t errlen)
{
  (void)err;
  (void)errlen;
  host = api;
  tp_init_calls++;
  *state = &tp_state_token;
  return RPCD_OK;
}

static TP_UNUSED void tp_fini(void *state)
{
  tp_fini_calls++;
  if (state != &tp_state_token)
    tp_fini_bad_state++;
}

/* [init calls, fini calls, fini calls with a foreign state] */
static TP_UNUSED int tp_counters(void *state, rpcd_call *call,
                                 const msgpack_object *params,
                                 msgpack_packer *result)
{
  int rc = 0;

  (void)state;
  (void)call;
  (void)params;
  rc |= msgpack_pack_array(result, 3);
  rc |= msgpack_pack_int(result, tp_init_calls);
  rc |= msgpack_pack_int(result, tp_fini_calls);
  rc |= msgpack_pack_int(result, tp_fini_bad_state);
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

#define TP_COUNTERS_METHOD(plugin)                                             \
  {                                                                            \
    plugin ".counters", tp_counters, 0                                         \
  }

/* The same for ABI 1.2 plugins: open and close count as init and fini. */
static TP_UNUSED int tp_open(rpcd_ctx *ctx, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  host = ctx->api;
  tp_init_calls++;
  ctx->state = &tp_state_token;
  return RPCD_OK;
}

static TP_UNUSED void tp_close(rpcd_ctx *ctx)
{
  tp_fini_calls++;
  if (ctx->state != &tp_state_token)
    tp_fini_bad_state++;
}

static TP_UNUSED int tp_counters_typed(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  return tp_counters(NULL, NULL, NULL, result);
}

#define TP_COUNTERS_DESC(plugin)                                               \
  RPCD_METHOD(plugin ".counters", tp_counters_typed, NULL, RPCD_TYPE_ARRAY,    \
              RPCD_METHOD_ANY_PARAMS, NULL)

#endif /* RPCD_TEST_PLUGIN_H */
