/* SPDX-License-Identifier: MIT */
/*
 * The host API plugins call back into (rpcd_host_api: log, set_error,
 * alloc, remaining_ms, ctx_log) and the per-call state behind its
 * rpcd_call handle: the call's scratch memory and the error a handler
 * recorded. Ownership: the dispatcher owns each rpcd_call (on its stack,
 * from rpcd__call_begin() to rpcd__call_end()); the scratch chunks and the
 * error message belong to the call and are freed by rpcd__call_end()
 * unless taken before.
 */
#ifndef RPCD_HOST_API_H
#define RPCD_HOST_API_H

#include <stddef.h>
#include <stdint.h>

#include <rpcd/plugin.h>

#include "acl.h"
#include "registry.h"

/* One chunk of a call's scratch memory (host_api.c). */
typedef struct rpcd_arena_chunk rpcd_arena_chunk;

struct rpcd_call {
  const rpcd_registry *reg;        /* borrowed, for the built-ins */
  const rpcd_caller *caller;       /* borrowed, for the built-ins; may be
                                      NULL (anyone may call anything) */
  const rpcd_method_entry *method; /* borrowed */
  const char *cid;                 /* borrowed, not NUL-terminated */
  size_t cid_len;
  int64_t stop_at_ms;      /* monotonic; 0: none */
  int error_code;          /* 0, or what set_error() recorded */
  char *error_message;     /* owned, malloc'd by set_error() */
  rpcd_arena_chunk *arena; /* owned */
  size_t arena_total;
};

/* The table every plugin gets (init() or ctx->api). */
extern const rpcd_host_api rpcd__host_api;

/* Start a call of `method`; every pointer is borrowed for the call. */
void rpcd__call_begin(rpcd_call *call, const rpcd_registry *reg,
                      const rpcd_method_entry *method, const char *cid,
                      size_t cid_len, int64_t stop_at_ms);

/* Free the call's scratch memory and any error message still in it. */
void rpcd__call_end(rpcd_call *call);

/* The name ctx_log prefixes for `plugin` (ctx->host): "rpcd" for the
 * server's own methods. */
const char *rpcd__host_plugin_name(const rpcd_plugin *plugin);

#endif /* RPCD_HOST_API_H */
