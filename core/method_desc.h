/* SPDX-License-Identifier: MIT */
/*
 * Typed method descriptors (plugin ABI 1.2) as the host keeps them: reading
 * and checking a plugin's rpcd_method_desc and its rpcd_param list into the
 * host's own layout, the one-line signature, and the describe fields.
 *
 * Ownership: rpcd__method_spec_read() allocates spec->params, which
 * rpcd__method_spec_free() frees. Every string in a spec (param names,
 * def_s, doc) is borrowed from the plugin's static storage and is valid
 * while the plugin is loaded; the spec never frees them.
 */
#ifndef RPCD_METHOD_DESC_H
#define RPCD_METHOD_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>
#include <rpcd/plugin.h>

#include "method_spec.h"

/* The smallest entry sizes the host accepts: those of ABI 1.2, which are
 * today's sizeof. A later header that grows the structs keeps these. */
#define RPCD_METHOD_DESC_MIN_SIZE sizeof(rpcd_method_desc)
#define RPCD_PARAM_MIN_SIZE sizeof(rpcd_param)
/* A larger `size` is a corrupt entry rather than a newer plugin. */
#define RPCD_DESC_MAX_SIZE 4096u

/*
 * Descriptor arrays (method_descs, a method's params): entry i sits at
 * (const char *)base + i * stride, stride being the first entry's `size`.
 * Every entry starts with its size_t `size`.
 */
static inline size_t rpcd__desc_size(const void *entry)
{
  size_t size;

  memcpy(&size, entry, sizeof(size));
  return size;
}

static inline const void *rpcd__desc_at(const void *base, size_t stride,
                                        size_t i)
{
  return (const char *)base + i * stride;
}

/*
 * Copy a plugin's entry (its own `size` bytes) into `out`, a host struct of
 * host_size bytes: zeroed first, then min(size, host_size) bytes copied, so
 * bytes the host does not know are ignored and members an older plugin
 * lacks are zero.
 * \return RPCD_OK, or RPCD_EINVAL when size is below min_size or above
 *         RPCD_DESC_MAX_SIZE (nothing copied)
 */
int rpcd__desc_copy(void *out, size_t host_size, const void *entry,
                    size_t min_size);

/*
 * Count the entries of a plugin's method_descs array before its
 * terminator (name NULL), checking that every entry, the terminator
 * included, has the first entry's size and that size is acceptable.
 * Entry i is then rpcd__desc_at(descs, rpcd__desc_size(descs), i).
 * \return RPCD_OK, or RPCD_EINVAL with err set
 */
int rpcd__method_descs_count(const rpcd_method_desc *descs, size_t *count,
                             char *err, size_t errlen);

/*
 * Read the plugin's method descriptor `d` (any size >= the 1.2 size) into
 * spec, checking everything: method flags known, result a valid rpcd_type,
 * doc without newline/control chars and at most 200 bytes, params at most
 * RPCD_MAX_PARAMS, each entry the size of the first, names
 * [A-Za-z_][A-Za-z0-9_]{0,63} and unique, type valid, flags known, DEFAULT
 * only with OPTIONAL, required before optional, RANGE only on INT/UINT/FLOAT
 * with min <= max (finite floats), max_len only on STR/BIN/ARRAY/MAP, a
 * default of the param's type inside its range/length, defaults only for
 * scalar types and STR/BIN. RPCD_METHOD_ANY_PARAMS makes the spec untyped
 * and allows no declared params. The method's name is not checked here
 * (the registry does that), nor its fn.
 * \return RPCD_OK (spec filled; free it with rpcd__method_spec_free),
 *         RPCD_EINVAL with err like `method "fib": param "n": range 93..0
 *         is empty`, RPCD_ENOMEM; spec is left empty on failure
 */
int rpcd__method_spec_read(rpcd_method_spec *spec, const rpcd_method_desc *d,
                           char *err, size_t errlen);

/* The spec of an untyped method (1.0/1.1 plugins): typed=false, result ANY,
 * no params. Needs no rpcd__method_spec_free, though it is harmless. */
void rpcd__method_spec_untyped(rpcd_method_spec *spec);

/* Free spec->params and leave spec untyped and empty. */
void rpcd__method_spec_free(rpcd_method_spec *spec);

/*
 * The one-line signature, e.g. `fib(n: uint 0..93) -> uint`:
 *   NAME(P, P, ...) -> RESULT; untyped: NAME(...) -> RESULT
 *   P = name: TYPE[ MIN..MAX][ <=MAXLEN]              (required)
 *       name?: TYPE[ MIN..MAX][ <=MAXLEN][ = DEFAULT]  (optional)
 * DEFAULT in JSON: 5, -1, 0.5, true, null, "text", bin as "<N bytes>".
 * Writes at most len bytes to buf, NUL included; when it does not fit the
 * text ends with "..." (never inside a UTF-8 sequence).
 * \return the length the whole signature needs, NUL excluded
 */
size_t rpcd__method_signature(const char *name, const rpcd_method_spec *spec,
                              char *buf, size_t len);

/*
 * Pack the descriptor fields of the rpc.describe map: "signature", "doc",
 * "flags", "typed", "params", "result" -- exactly
 * RPCD_METHOD_SPEC_PACKED_FIELDS key/value pairs; the caller opens the map
 * with room for its own ("name", "plugin", "version") too.
 * \return 0, or the failure of a msgpack_pack_* call
 */
#define RPCD_METHOD_SPEC_PACKED_FIELDS 6
int rpcd__method_spec_pack(msgpack_packer *pk, const char *name,
                           const rpcd_method_spec *spec);

#endif /* RPCD_METHOD_DESC_H */
