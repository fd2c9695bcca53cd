/* SPDX-License-Identifier: MIT */
/*
 * The built-in methods. They are described like a plugin's typed methods,
 * so the host checks their params, and rpc.list and rpc.describe show them
 * as they show any other method.
 */
#include "builtins.h"

#include <stdbool.h>
#include <string.h>

#include <rpcd/version.h>

#include "host_api.h"
#include "rpcd_proto.h"
#include "stats.h"

static int pack_cstr(msgpack_packer *pk, const char *s)
{
  return msgpack_pack_str_with_body(pk, s, strlen(s));
}

static int pack_done(int rc)
{
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int builtin_ping(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  return pack_done(pack_cstr(result, "pong"));
}

/* "name", "plugin", "version": what rpc.list and rpc.describe start with. */
static int pack_origin(msgpack_packer *pk, const rpcd_method_entry *e)
{
  const rpcd_plugin *p = e->plugin;
  int rc = 0;

  rc |= pack_cstr(pk, "name");
  rc |= pack_cstr(pk, e->name);
  rc |= pack_cstr(pk, "plugin");
  rc |= pack_cstr(pk, p ? p->name : "rpcd");
  rc |= pack_cstr(pk, "version");
  rc |= pack_cstr(pk, p ? p->version : RPCD_VERSION_STRING);
  return rc;
}

static int pack_signature(rpcd_ctx *ctx, msgpack_packer *pk,
                          const rpcd_method_entry *e)
{
  char small[256];
  char *buf = small;
  size_t need = rpcd__method_signature(e->name, &e->spec, small, sizeof(small));

  /* Rarely long (many params): then once more in scratch memory. */
  if (need >= sizeof(small)) {
    buf = rpcd_alloc(ctx, need + 1);
    if (!buf)
      return -1;
    rpcd__method_signature(e->name, &e->spec, buf, need + 1);
  }
  return msgpack_pack_str_with_body(pk, buf, need);
}

static int builtin_list(rpcd_ctx *ctx, msgpack_packer *result)
{
  const rpcd_registry *reg = ctx->call->reg;
  const rpcd_caller *caller = ctx->call->caller;
  const rpcd_method_entry **sorted;
  size_t n = 0;
  size_t i;
  int rc = 0;

  sorted = rpcd_alloc(ctx, reg->n_methods * sizeof(*sorted) + 1);
  if (!sorted)
    return RPCD_ENOMEM;
  rpcd__registry_sorted(reg, sorted);
  /* Only what the caller may call: the rest is none of its business. */
  for (i = 0; i < reg->n_methods; i++) {
    if (rpcd__caller_may(caller, sorted[i]->name, strlen(sorted[i]->name)))
      sorted[n++] = sorted[i];
  }
  rc |= msgpack_pack_array(result, (uint32_t)n);
  for (i = 0; i < n && rc == 0; i++) {
    const rpcd_method_entry *e = sorted[i];

    rc |= msgpack_pack_map(result, 5);
    rc |= pack_origin(result, e);
    rc |= pack_cstr(result, "signature");
    rc |= pack_signature(ctx, result, e);
    rc |= pack_cstr(result, "doc");
    rc |= pack_cstr(result, e->spec.doc ? e->spec.doc : "");
  }
  return pack_done(rc);
}

static int builtin_describe(rpcd_ctx *ctx, msgpack_packer *result)
{
  const rpcd_method_entry *e;
  size_t len;
  const char *name = rpcd_arg_str(ctx, 0, &len);
  char user[128];
  int rc = 0;

  e = rpcd__registry_lookup(ctx->call->reg, name, len);
  if (!e)
    return rpcd_error(ctx, RPCD_ERR_INVALID_PARAMS,
                      "param method: no method \"%.*s\"", (int)len, name);
  if (!rpcd__caller_may(ctx->call->caller, name, len))
    return rpcd_error(ctx, RPCD_ERR_FORBIDDEN,
                      "user \"%s\" may not call \"%.*s\"",
                      rpcd__caller_name(ctx->call->caller, user, sizeof(user)),
                      (int)len, name);
  rc |= msgpack_pack_map(result, 3 + RPCD_METHOD_SPEC_PACKED_FIELDS);
  rc |= pack_origin(result, e);
  rc |= rpcd__method_spec_pack(result, e->name, &e->spec);
  return pack_done(rc);
}

static const rpcd_param describe_params[] = {
    RPCD_PARAM_STR("method", RPCD_MAX_METHOD_LEN),
    RPCD_PARAMS_END,
};

static const rpcd_method_desc builtins[] = {
    RPCD_METHOD("rpc.ping", builtin_ping, NULL, RPCD_TYPE_STR,
                RPCD_METHOD_IDEMPOTENT, "Answers \"pong\": the server is up"),
    RPCD_METHOD("rpc.list", builtin_list, NULL, RPCD_TYPE_ARRAY,
                RPCD_METHOD_IDEMPOTENT,
                "Every method the caller may call, sorted by name, with its "
                "plugin, version, signature and doc"),
    RPCD_METHOD("rpc.describe", builtin_describe, describe_params,
                RPCD_TYPE_MAP, RPCD_METHOD_IDEMPOTENT,
                "A method's descriptor: signature, doc, flags, params and "
                "result"),
    RPCD_METHOD("rpc.stats", rpcd__stats_handler, NULL, RPCD_TYPE_MAP,
                RPCD_METHOD_IDEMPOTENT,
                "Calls, errors and state of each worker, and the server's "
                "counters"),
    RPCD_METHOD("rpc.health", rpcd__health_handler, NULL, RPCD_TYPE_STR,
                RPCD_METHOD_IDEMPOTENT,
                "\"SERVING\", or \"NOT_SERVING\" while the server drains "
                "or has no worker consuming"),
    RPCD_METHODS_END,
};

/* Register the built-in `name` the way the loader registers a plugin's
 * typed method. */
static int add(rpcd_registry *reg, const char *name, void *state, char *err,
               size_t errlen)
{
  rpcd_method_spec spec;
  size_t i;
  int rc;

  for (i = 0; builtins[i].name; i++) {
    if (strcmp(builtins[i].name, name) == 0)
      break;
  }
  rc = rpcd__method_spec_read(&spec, &builtins[i], err, errlen);
  if (rc != RPCD_OK)
    return rc;
  rc = rpcd__registry_add_typed(reg, name, builtins[i].fn, &spec, state, NULL,
                                err, errlen);
  rpcd__method_spec_free(&spec);
  return rc;
}

int rpcd__builtins_add(rpcd_registry *reg, char *err, size_t errlen)
{
  int rc = add(reg, "rpc.ping", NULL, err, errlen);

  if (rc == RPCD_OK)
    rc = add(reg, "rpc.list", NULL, err, errlen);
  if (rc == RPCD_OK)
    rc = add(reg, "rpc.describe", NULL, err, errlen);
  return rc;
}

int rpcd__builtins_add_stats(rpcd_registry *reg, const rpcd_scoreboard *sb,
                             char *err, size_t errlen)
{
  int rc = add(reg, "rpc.stats", (void *)sb, err, errlen);

  if (rc == RPCD_OK)
    rc = add(reg, "rpc.health", (void *)sb, err, errlen);
  return rc;
}
