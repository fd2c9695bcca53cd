/* SPDX-License-Identifier: MIT */
/*
 * The host API. Scratch memory is a list of chunks per call, all freed
 * when the call ends, so a handler never frees what it takes. A handler's
 * error is copied into the call; the dispatcher turns it into the reply.
 */
#include "host_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_loader.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

struct rpcd_arena_chunk {
  struct rpcd_arena_chunk *next;
  size_t size;
  size_t used;
  _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK_MIN 4096
#define ARENA_MAX (64u << 20) /* one call may not take more scratch */

void rpcd__call_begin(rpcd_call *call, const rpcd_registry *reg,
                      const rpcd_method_entry *method, const char *cid,
                      size_t cid_len, int64_t stop_at_ms)
{
  memset(call, 0, sizeof(*call));
  call->reg = reg;
  call->method = method;
  call->cid = cid;
  call->cid_len = cid_len;
  call->stop_at_ms = stop_at_ms;
}

void rpcd__call_end(rpcd_call *call)
{
  free(call->error_message);
  call->error_message = NULL;
  while (call->arena) {
    rpcd_arena_chunk *next = call->arena->next;

    free(call->arena);
    call->arena = next;
  }
  call->arena_total = 0;
}

const char *rpcd__host_plugin_name(const rpcd_plugin *plugin)
{
  return plugin ? plugin->name : "rpcd";
}

static void log_as(const char *plugin, const rpcd_call *call, int level,
                   const char *fmt, va_list ap)
{
  char cid[256]; /* correlation ids are shortstrs: at most 255 bytes */
  rpcd_log_field fields[3] = {
      {"plugin", plugin}, {"method", NULL}, {"cid", NULL}};

  if (call && call->method) {
    fields[1].value = call->method->name;
    snprintf(cid, sizeof(cid), "%.*s", (int)call->cid_len,
             call->cid ? call->cid : "");
    fields[2].value = cid;
  }
  rpcd__log_vwrite(level, fields, 3, fmt, ap);
}

/* 1.0 log() has no plugin argument: the loader and the dispatcher mark
 * the plugin whose code runs. */
static void host_log(rpcd_call *call, int level, const char *fmt, ...)
{
  const rpcd_plugin *p = rpcd__plugin_current();
  va_list ap;

  if (!rpcd__log_on(level))
    return;
  va_start(ap, fmt);
  log_as(p ? p->name : "?", call, level, fmt, ap);
  va_end(ap);
}

/* ctx names its plugin itself (ctx->host), so no guessing here. */
static void host_ctx_log(const rpcd_ctx *ctx, int level, const char *fmt, ...)
{
  va_list ap;

  if (!ctx || !rpcd__log_on(level))
    return;
  va_start(ap, fmt);
  log_as(rpcd__host_plugin_name(ctx->host), ctx->call, level, fmt, ap);
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
  rpcd_arena_chunk *c;
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
    .ctx_log = host_ctx_log,
};
