/* SPDX-License-Identifier: MIT */
/*
 * The dispatcher: runs one decoded request through the method that a plugin
 * (or the server) registered for it, checking a typed method's params
 * first, and collects either the result or the handler's structured error.
 * Ownership: the registry, the caller and the params are borrowed for the
 * call; the caller owns the rpcd_dispatch_result and destroys it.
 */
#ifndef RPCD_DISPATCHER_H
#define RPCD_DISPATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "acl.h"
#include "registry.h"

typedef struct rpcd_dispatch_result {
  int error_code;         /* 0, or the wire error code */
  char *error_message;    /* malloc'd when error_code != 0 */
  msgpack_sbuffer result; /* one msgpack object when error_code == 0 */
} rpcd_dispatch_result;

/*
 * Call `method` with `params` (borrowed) on behalf of `caller` (NULL: anyone
 * may call anything): a method the caller may not call is -32007 forbidden,
 * checked after the lookup (an unknown method stays -32601) and before the
 * params. `cid` (may be NULL) is the request's correlation id, for logs.
 * `stop_at_ms` (monotonic ms; 0: none) is when the call must be done, what
 * the host API's remaining_ms() counts down to. A result larger than
 * max_result bytes becomes a "payload too large" error. Always fills `out`;
 * destroy it afterwards.
 */
void rpcd__dispatch(const rpcd_registry *reg, const rpcd_caller *caller,
                    const char *method, size_t method_len,
                    const msgpack_object *params, const char *cid,
                    size_t cid_len, int64_t stop_at_ms, size_t max_result,
                    rpcd_dispatch_result *out);

/*
 * The same, with the result appended to `into` (borrowed) instead of
 * out->result, which stays empty: the caller can write it where the reply
 * wants it, without a copy. On an error `into` is left as it was.
 */
void rpcd__dispatch_into(const rpcd_registry *reg, const rpcd_caller *caller,
                         const char *method, size_t method_len,
                         const msgpack_object *params, const char *cid,
                         size_t cid_len, int64_t stop_at_ms, size_t max_result,
                         msgpack_sbuffer *into, rpcd_dispatch_result *out);

void rpcd__dispatch_result_destroy(rpcd_dispatch_result *r);

#endif /* RPCD_DISPATCHER_H */
