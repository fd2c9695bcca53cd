/* SPDX-License-Identifier: MIT */
/*
 * The dispatcher. One rpcd_call (host_api.h) lives on the stack for each
 * request. A typed method's params are checked against its spec before
 * its handler runs, and laid out in an args array on the stack. The
 * handler writes its result into a packer the host owns; the host checks
 * that exactly one well-formed object came out before it becomes a reply.
 */
#include "dispatcher.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_api.h"
#include "inflight.h"
#include "param_check.h"
#include "plugin_loader.h"
#include "rpcd_proto.h"

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

void rpcd__dispatch_into(const rpcd_registry *reg, const rpcd_caller *caller,
                         const char *method, size_t method_len,
                         const msgpack_object *params, const char *cid,
                         size_t cid_len, int64_t stop_at_ms, size_t max_result,
                         msgpack_sbuffer *into, rpcd_dispatch_result *out)
{
  const rpcd_method_entry *entry;
  size_t start = into->size;
  size_t written;
  msgpack_object args[RPCD_MAX_PARAMS];
  uint64_t given = 0;
  msgpack_packer pk;
  const rpcd_gate *gate;
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
  if (!rpcd__caller_may(caller, method, method_len)) {
    char user[128];

    set_result_error(
        out, RPCD_ERR_FORBIDDEN, "user \"%s\" may not call \"%.*s\"",
        rpcd__caller_name(caller, user, sizeof(user)), (int)method_len, method);
    return;
  }

  if (entry->handler && entry->spec.typed) {
    char why[256];

    /* Bad params never reach the handler. */
    if (rpcd__params_check(&entry->spec, params, args, &given, why,
                           sizeof(why)) != RPCD_OK) {
      set_result_error(out, RPCD_ERR_INVALID_PARAMS, "%s", why);
      return;
    }
  }

  gate = caller ? caller->gate : NULL;
  if (gate) {
    char why[400];
    int code = rpcd__gate_enter(gate, method, method_len, why, sizeof(why));

    if (code != 0) {
      set_result_error(out, code, "%s", why);
      return;
    }
  }

  rpcd__call_begin(&call, reg, entry, cid, cid_len, stop_at_ms);
  call.caller = caller;
  msgpack_packer_init(&pk, into, msgpack_sbuffer_write);

  rpcd__plugin_set_current(entry->plugin);
  if (entry->handler) {
    rpcd_ctx ctx = {
        .size = sizeof(ctx),
        .api = &rpcd__host_api,
        .state = entry->state,
        .call = &call,
        .params = params,
        .args = entry->spec.typed ? args : NULL,
        .nargs = entry->spec.typed ? entry->spec.nparams : 0,
        .given = given,
        .host = entry->plugin,
    };

    rc = entry->handler(&ctx, &pk);
  } else {
    rc = entry->fn(entry->state, &call, params, &pk);
  }
  rpcd__plugin_set_current(NULL);
  rpcd__gate_leave(gate);

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

  rpcd__call_end(&call);
}

void rpcd__dispatch(const rpcd_registry *reg, const rpcd_caller *caller,
                    const char *method, size_t method_len,
                    const msgpack_object *params, const char *cid,
                    size_t cid_len, int64_t stop_at_ms, size_t max_result,
                    rpcd_dispatch_result *out)
{
  msgpack_sbuffer result;

  msgpack_sbuffer_init(&result);
  rpcd__dispatch_into(reg, caller, method, method_len, params, cid, cid_len,
                      stop_at_ms, max_result, &result, out);
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
