/* SPDX-License-Identifier: MIT */
/*
 * Checking a request's params against a typed method's spec before its
 * handler runs, and laying them out in declared order (rpcd_ctx.args).
 * rpcctl runs the same check on what it would send, so both refuse alike.
 *
 * Ownership: nothing is allocated. The args written borrow from params (the
 * request body) or from the spec's defaults (the plugin's static storage);
 * the caller owns the args array itself.
 */
#ifndef RPCD_PARAM_CHECK_H
#define RPCD_PARAM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "method_spec.h"

/*
 * Check params against a typed spec. params: the request's params object
 * (ARRAY = positional, MAP = named with str keys; anything else, nil
 * included, is refused). args: room for spec->nparams objects; on success
 * args[i] is the sent object (borrowed), or the param's default built from
 * def_* (str/bin pointing at def_s), or nil for an optional without default;
 * *given has bit i set when param i was sent. For an untyped spec only the
 * array-or-map rule is checked and nothing is written but *given = 0.
 * \return RPCD_OK, or RPCD_EINVAL with err (no trailing period) like
 *   param n: expected uint in 0..93, got str
 *   param n: expected uint in 0..93, got 100
 *   param key: expected str of at most 255 bytes, got 300 bytes
 *   param items: expected array of at most 16 elements, got 20
 *   param n: missing
 *   expected at most 1 param, got 2
 *   param x: unknown
 *   param n: given twice
 *   named params must have str keys
 *   params must be an array or a map
 */
int rpcd__params_check(const rpcd_method_spec *spec,
                       const msgpack_object *params, msgpack_object *args,
                       uint64_t *given, char *err, size_t errlen);

/* What param p wants, as the messages above say it: "uint in 0..93", "str
 * of at most 255 bytes". For refusing a value that never became msgpack
 * (rpcctl: a word on the command line that is not JSON) in the same words. */
void rpcd__param_expected(const rpcd_param *p, char *buf, size_t len);

#endif /* RPCD_PARAM_CHECK_H */
