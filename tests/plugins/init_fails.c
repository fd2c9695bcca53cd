/* SPDX-License-Identifier: MIT */
/*
 * init_fails: a valid descriptor whose init fails with a message. The loader
 * must report the message, register none of its methods, and not call fini
 * (init did not succeed, so there is nothing to undo).
 */
#include "test_plugin.h"

#include <stdio.h>

static int init_fails_init(const rpcd_host_api *api, void **state, char *err,
                           size_t errlen)
{
  tp_init(api, state, err, errlen);
  snprintf(err, errlen, "cannot read %s: %s", "/nonexistent/init_fails.conf",
           "no such file");
  return RPCD_EINVAL;
}

/* Never called: the plugin never finishes loading. */
static int init_fails_method(void *state, rpcd_call *call,
                             const msgpack_object *params,
                             msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const rpcd_method init_fails_methods[] = {
    TP_COUNTERS_METHOD("init_fails"),
    {"init_fails.method", init_fails_method, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info init_fails_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "init_fails",
    .version = "0.0.1-test",
    .methods = init_fails_methods,
    .init = init_fails_init, /* the point of this plugin */
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(init_fails_info)
