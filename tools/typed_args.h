/* SPDX-License-Identifier: MIT */
/*
 * rpcctl's view of a typed method: the descriptor rpc.describe answers, read
 * into the spec the server checks params with (method_spec.h), and the
 * command-line arguments converted and packed as params, then checked by
 * the server's own check (param_check.h) before anything is sent. Pure
 * functions with no I/O, so that unit tests can drive them. Internal to the
 * tools.
 */
#ifndef RPCD_TYPED_ARGS_H
#define RPCD_TYPED_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <rpcd/status.h>

#include "method_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What rpcctl prints of a param beyond its spec entry. */
typedef struct rpcd_ctl_param {
  char *name;      /* owned; the spec entry's name points here */
  char *type_name; /* owned: as the server spelled it */
  char *def_json;  /* owned: the default as JSON text, NULL when none */
  char *def_bytes; /* owned: a str/bin default's bytes (the spec entry's
                      def_s), NULL when none */
} rpcd_ctl_param;

typedef struct rpcd_ctl_desc {
  rpcd_method_spec spec; /* spec.params owned; doc NULL, flags 0 */
  rpcd_ctl_param *info;  /* owned: spec.nparams entries */
} rpcd_ctl_desc;

/*
 * Read the result of rpc.describe (a map, see docs/PROTOCOL.md) into d.
 * Fields that are missing or of another type read as absent: no "typed"
 * means untyped; a type this rpcctl does not know is any (not checked); a
 * range, length or default that does not fit the param's type is left out
 * (the server still checks). A param without a usable "name", or more than
 * RPCD_MAX_PARAMS params, make the whole descriptor unusable.
 *
 * \return RPCD_OK; RPCD_EPROTO when root is not a describe map (err says
 *         why; d is then untyped with no params); RPCD_ENOMEM
 */
int rpcd__ctl_desc_read(rpcd_ctl_desc *d, const msgpack_object *root, char *err,
                        size_t errlen);
void rpcd__ctl_desc_free(rpcd_ctl_desc *d);

/* Param i's range, length and default as one line, e.g.
 * "uint, required, range 0..93" or
 * "str, optional, max length 255, default \"\"". */
int rpcd__ctl_param_text(const rpcd_ctl_desc *d, uint32_t i, char *buf,
                         size_t len);

/*
 * Convert the command-line arguments of a typed method, pack them as its
 * params and check those with rpcd__params_check(), as the server will.
 * Each ARG is a JSON literal as rpcd__json_pack() reads it, with these
 * additions:
 *  - for a str param, an ARG that is not valid JSON is the string itself
 *    (`kv.get alpha`); for a bin param, a JSON string (or, again, text that
 *    is not JSON) is sent as bin holding its UTF-8 bytes;
 *  - `NAME=VALUE`, where NAME is a declared param, gives that param by
 *    name; then the params are sent as a map (the other ARGs name the
 *    params in declared order by their position).
 * With `named`, args[0] is a JSON object of named params (n must be 1),
 * converted the same way (a JSON string for a bin param is sent as bin).
 *
 * \return RPCD_OK; RPCD_EINVAL with err naming the param and the rule in
 *         the server's words, e.g. `param n: expected uint in 0..93, got
 *         int` (nothing is appended to pk then); RPCD_ENOMEM
 */
int rpcd__ctl_args_pack(msgpack_packer *pk, const rpcd_ctl_desc *d, bool named,
                        int n, char **args, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_TYPED_ARGS_H */
