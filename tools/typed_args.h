/* SPDX-License-Identifier: MIT */
/*
 * rpcctl's view of a typed method: the descriptor rpc.describe answers, read
 * into a struct, and the command-line arguments checked and converted
 * against it before anything is sent (the same rules the server applies,
 * docs/PROTOCOL.md). Pure functions with no I/O, so that unit tests can
 * drive them. Internal to the tools.
 */
#ifndef RPCD_TYPED_ARGS_H
#define RPCD_TYPED_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <rpcd/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A param's type, as rpc.describe names it. */
typedef enum rpcd_ctl_type {
  RPCD_CTL_ANY = 0, /* "any", and a name this rpcctl does not know */
  RPCD_CTL_NIL,
  RPCD_CTL_BOOL,
  RPCD_CTL_INT,
  RPCD_CTL_UINT,
  RPCD_CTL_FLOAT,
  RPCD_CTL_STR,
  RPCD_CTL_BIN,
  RPCD_CTL_ARRAY,
  RPCD_CTL_MAP
} rpcd_ctl_type;

typedef struct rpcd_ctl_param {
  char *name;      /* owned */
  char *type_name; /* owned: as the server spelled it */
  rpcd_ctl_type type;
  bool required;
  bool has_range;     /* both "min" and "max" were numbers */
  msgpack_object min; /* integers or floats (scalars: no storage) */
  msgpack_object max;
  uint64_t max_len; /* 0: none */
  char *def_json;   /* owned: the default as JSON text, NULL when none */
} rpcd_ctl_param;

typedef struct rpcd_ctl_desc {
  bool typed;
  size_t nparams;
  rpcd_ctl_param *params; /* owned */
} rpcd_ctl_desc;

/*
 * Read the result of rpc.describe (a map, see docs/PROTOCOL.md) into d.
 * Fields that are missing or of another type read as absent: no "typed"
 * means untyped; a param without a usable "name" makes the whole
 * descriptor unusable.
 *
 * \return RPCD_OK; RPCD_EPROTO when root is not a describe map (err says
 *         why; d is then untyped with no params); RPCD_ENOMEM
 */
int rpcd__ctl_desc_read(rpcd_ctl_desc *d, const msgpack_object *root, char *err,
                        size_t errlen);
void rpcd__ctl_desc_free(rpcd_ctl_desc *d);

/* A param's range, length and default as one line, e.g.
 * "uint, required, range 0..93" or
 * "str, optional, max length 255, default \"\"". */
int rpcd__ctl_param_text(const rpcd_ctl_param *p, char *buf, size_t len);

/*
 * Check and convert the command-line arguments of a typed method and pack
 * them as its params. Each ARG is a JSON literal as rpcd__json_pack()
 * reads it, with these additions:
 *  - for a str param, an ARG that is not valid JSON is the string itself
 *    (`kv.get alpha`); for a bin param, a JSON string (or, again, text that
 *    is not JSON) is sent as bin holding its UTF-8 bytes;
 *  - `NAME=VALUE`, where NAME is a declared param, gives that param by
 *    name; then the params are sent as a map (the other ARGs name the
 *    params in declared order by their position).
 * Then every value is checked like the server does: type, range, length,
 * at most nparams ARGs, no param given twice, every required one given.
 * With `named`, args[0] is a JSON object of named params (n must be 1),
 * checked and converted the same way (a JSON string for a bin param is
 * sent as bin).
 *
 * \return RPCD_OK; RPCD_EINVAL with err naming the param and the rule, e.g.
 *         `param n: expected uint in 0..93, got -1` (nothing is appended to
 *         pk then); RPCD_ENOMEM
 */
int rpcd__ctl_args_pack(msgpack_packer *pk, const rpcd_ctl_desc *d, bool named,
                        int n, char **args, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_TYPED_ARGS_H */
