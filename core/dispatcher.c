/* SPDX-License-Identifier: MIT */
/*
 * The dispatcher. One rpcd_call lives on the stack for each request: it
 * carries the per-call scratch arena and the error a handler records with
 * set_error(). The handler writes its result into a packer the host owns;
 * the host checks that exactly one well-formed object came out before it
 * becomes a reply.
 */
#include "dispatcher.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/version.h>

#include "log.h"
#include "plugin_loader.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

/* Scratch memory: a list of chunks, all freed when the call ends. */
typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t size;
  size_t used;
  _Alignas(16) unsigned char data[];
} arena_chunk;

#define ARENA_CHUNK_MIN 4096
#define ARENA_MAX (64u << 20) /* one call may not take more scratch */

struct rpcd_call {
  const rpcd_registry *reg;
  const rpcd_method_entry *method;
  const char *cid;
  size_t cid_len;
  int64_t stop_at_ms; /* monotonic; 0: none */
  int error_code;
  char *error_message;
  arena_chunk *arena;
  size_t arena_total;
};

/* ------------------------------------------------------------------------ */
/* Host API                                                                  */

static void host_log(rpcd_call *call, int level, const char *fmt, ...)
{
  const rpcd_plugin *p = rpcd__plugin_current();
  char prefix[384];
  va_list ap;

  if (level > rpcd__log_level)
    return;
  if (call && call->method)
    snprintf(prefix, sizeof(prefix),
             "plugin \"%s\": method %s cid=%.*s: ", p ? p->name : "?",
             call->method->name, (int)call->cid_len,
             call->cid ? call->cid : "");
  else
    snprintf(prefix, sizeof(prefix), "plugin \"%s\": ", p ? p->name : "?");
  va_start(ap, fmt);
  rpcd__log_vwrite(level, prefix, fmt, ap);
  va_end(ap);
}

static int host_set_error(rpcd_call *call, int code, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;

  if (!call)
    return RPCD_OK;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt ? fmt : "", ap);
  va_end(ap);
  /* Code 0 would read as success, and RPCD_E* statuses are not wire codes:
   * both are plugin bugs, reported as internal errors. */
  if (code == 0 || (code < 0 && code > -32000) || code < -32768) {
    rpcd__log(RPCD_LOG_WARN, "method %s: set_error with invalid code %d",
              call->method ? call->method->name : "?", code);
    code = RPCD_ERR_INTERNAL;
  }
  free(call->error_message);
  call->error_message = strdup(buf);
  call->error_code = code;
  return RPCD_OK;
}

static void *host_alloc(rpcd_call *call, size_t n)
{
  arena_chunk *c;
  size_t need;
  size_t size;
  void *p;

  if (!call || n > ARENA_MAX)
    return NULL;
  need = (n + 15) & ~(size_t)15;
  if (need == 0)
    need = 16;
  c = call->arena;
  if (!c || c->size - c->used < need) {
    size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
    if (call->arena_total + size > ARENA_MAX)
      return NULL;
    c = malloc(sizeof(*c) + size);
    if (!c)
      return NULL;
    c->next = call->arena;
    c->size = size;
    c->used = 0;
    call->arena = c;
    call->arena_total += size;
  }
  p = c->data + c->used;
  c->used += need;
  return p;
}

static int64_t host_remaining_ms(rpcd_call *call)
{
  int64_t left;

  if (!call || call->stop_at_ms == 0)
    return -1;
  left = call->stop_at_ms - rpcd__now_mono_ms();
  return left > 0 ? left : 0;
}

const rpcd_host_api rpcd__host_api = {
    .size = sizeof(rpcd_host_api),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .log = host_log,
    .set_error = host_set_error,
    .alloc = host_alloc,
    .remaining_ms = host_remaining_ms,
};

/* ------------------------------------------------------------------------ */
/* Built-in methods                                                          */

static int builtin_ping(void *state, rpcd_call *call,
                        const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 0)
    return host_set_error(call, RPCD_ERR_INVALID_PARAMS,
                          "rpc.ping takes no params");
  return msgpack_pack_str_with_body(result, "pong", 4) == 0 ? RPCD_OK
                                                            : RPCD_ENOMEM;
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
  return msgpack_pack_str_with_body(pk, s, strlen(s));
}

static int builtin_list(void *state, rpcd_call *call,
                        const msgpack_object *params, msgpack_packer *result)
{
  const rpcd_registry *reg = call->reg;
  const rpcd_method_entry **sorted;
  size_t i;
  int rc = 0;

  (void)state;
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 0)
    return host_set_error(call, RPCD_ERR_INVALID_PARAMS,
                          "rpc.list takes no params");
  sorted = host_alloc(call, reg->n_methods * sizeof(*sorted) + 1);
  if (!sorted)
    return RPCD_ENOMEM;
  rpcd__registry_sorted(reg, sorted);
  rc |= msgpack_pack_array(result, (uint32_t)reg->n_methods);
  for (i = 0; i < reg->n_methods; i++) {
    const rpcd_plugin *p = sorted[i]->plugin;

    rc |= msgpack_pack_map(result, 3);
    rc |= pack_cstr(result, "name");
    rc |= pack_cstr(result, sorted[i]->name);
    rc |= pack_cstr(result, "plugin");
    rc |= pack_cstr(result, p ? p->name : "rpcd");
    rc |= pack_cstr(result, "version");
    rc |= pack_cstr(result, p ? p->version : RPCD_VERSION_STRING);
  }
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

int rpcd__dispatcher_add_builtins(rpcd_registry *reg, char *err, size_t errlen)
{
  int rc;

  rc = rpcd__registry_add(reg, "rpc.ping", builtin_ping, NULL, NULL, err,
                          errlen);
  if (rc == RPCD_OK)
    rc = rpcd__registry_add(reg, "rpc.list", builtin_list, NULL, NULL, err,
                            errlen);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

static void set_result_error(rpcd_dispatch_result *out, int code,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_result_error(rpcd_dispatch_result *out, int code,
                             const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  free(out->error_message);
  out->error_code = code;
  out->error_message = strdup(buf); /* NULL on OOM: sent as "" */
}

void rpcd__dispatch_into(const rpcd_registry *reg, const char *method,
                         size_t method_len, const msgpack_object *params,
                         const char *cid, size_t cid_len, int64_t stop_at_ms,
                         size_t max_result, msgpack_sbuffer *into,
                         rpcd_dispatch_result *out)
{
  const rpcd_method_entry *entry;
  size_t start = into->size;
  size_t written;
  msgpack_packer pk;
  rpcd_call call;
  char detail[128];
  int rc;

  memset(out, 0, sizeof(*out));
  msgpack_sbuffer_init(&out->result);
  entry = rpcd__registry_lookup(reg, method, method_len);
  if (!entry) {
    set_result_error(out, RPCD_ERR_METHOD_NOT_FOUND,
                     "method \"%.*s\" not found", (int)method_len, method);
    return;
  }

  memset(&call, 0, sizeof(call));
  call.reg = reg;
  call.method = entry;
  call.cid = cid;
  call.cid_len = cid_len;
  call.stop_at_ms = stop_at_ms;
  msgpack_packer_init(&pk, into, msgpack_sbuffer_write);

  rpcd__plugin_set_current(entry->plugin);
  rc = entry->fn(entry->state, &call, params, &pk);
  rpcd__plugin_set_current(NULL);

  written = into->size - start;
  if (call.error_code != 0) {
    out->error_code = call.error_code;
    out->error_message = call.error_message;
    call.error_message = NULL;
  } else if (rc != RPCD_OK) {
    set_result_error(out, RPCD_ERR_INTERNAL, "method \"%s\" failed: %s",
                     entry->name, rpcd_strerror(rc));
  } else if (written == 0) {
    /* Nothing written: the result is nil. */
    if (msgpack_pack_nil(&pk) != 0)
      set_result_error(out, RPCD_ERR_INTERNAL, "out of memory");
  } else if (written > max_result) {
    set_result_error(out, RPCD_ERR_PAYLOAD_TOO_LARGE,
                     "result of method \"%s\" is %zu bytes, over the limit "
                     "of %zu bytes",
                     entry->name, written, max_result);
  } else if (/* the reply wraps the result in one more level */
             rpcd__mp_check(into->data + start, written, RPCD_MAX_DEPTH - 1,
                            NULL, detail, sizeof(detail)) != RPCD_OK) {
    set_result_error(out, RPCD_ERR_INTERNAL,
                     "method \"%s\" wrote an invalid result: %s", entry->name,
                     detail);
  }
  if (out->error_code != 0)
    into->size = start;

  free(call.error_message);
  while (call.arena) {
    arena_chunk *next = call.arena->next;

    free(call.arena);
    call.arena = next;
  }
}

void rpcd__dispatch(const rpcd_registry *reg, const char *method,
                    size_t method_len, const msgpack_object *params,
                    const char *cid, size_t cid_len, int64_t stop_at_ms,
                    size_t max_result, rpcd_dispatch_result *out)
{
  msgpack_sbuffer result;

  msgpack_sbuffer_init(&result);
  rpcd__dispatch_into(reg, method, method_len, params, cid, cid_len, stop_at_ms,
                      max_result, &result, out);
  out->result = result;
}

void rpcd__dispatch_result_destroy(rpcd_dispatch_result *r)
{
  if (!r)
    return;
  free(r->error_message);
  r->error_message = NULL;
  msgpack_sbuffer_destroy(&r->result);
}
