/* SPDX-License-Identifier: MIT */
/*
 * msgpack -> JSON text for rpcctl's output and the server's plain-text
 * replies: exact for every value JSON can hold, and a report of what it
 * could not. Internal: not installed, not part of the ABI.
 */
#ifndef RPCD_MP_JSON_H
#define RPCD_MP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>
#include <rpcd/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest container nesting rpcd__json_dump() writes. */
#define RPCD_JSON_MAX_DEPTH 4096

/* rpcd__json_dump() flags */
#define RPCD_JSON_PRETTY 0x1u /* newlines and two-space indentation */

/*
 * A growable text buffer. Appends after an allocation failure do nothing and
 * the failure is remembered in `oom`, so writers check once at the end.
 */
typedef struct rpcd_json_buf {
  char *data; /* NUL-terminated once anything was written; else NULL */
  size_t len; /* bytes before the NUL */
  size_t cap;
  bool oom;
} rpcd_json_buf;

void rpcd__json_buf_init(rpcd_json_buf *buf);
/* Free the storage and leave buf empty (as after init). */
void rpcd__json_buf_destroy(rpcd_json_buf *buf);

/*
 * What the JSON text written by rpcd__json_dump_report() could not hold of
 * the msgpack value. All zero when the text says exactly what the value
 * says (up to the documented spellings of bin and ext).
 */
typedef struct rpcd_json_loss {
  size_t nonfinite;    /* NaN and infinities, written as null */
  size_t nonstr_keys;  /* map keys that are not str, written as strings */
  char key_type[8];    /* msgpack type of the first such key: "int"... */
  size_t dup_keys;     /* map members whose written key repeats another's */
  char dup_key[64];    /* the first repeated key as written (JSON, maybe cut) */
  size_t invalid_utf8; /* strings with bytes that are not UTF-8 (\ufffd) */
} rpcd_json_loss;

/* True when the dump lost anything. */
bool rpcd__json_loss_any(const rpcd_json_loss *loss);

/*
 * Append `obj` to `out` as JSON text (valid per RFC 8259):
 *  - integers exact, including uint64 above INT64_MAX;
 *  - floats as the shortest text that reads back to the same value (at most
 *    17 significant digits, 9 for float32), with ".0" added when the text
 *    would otherwise read as an integer; NaN and infinities as null;
 *  - str as a JSON string: '"', '\\' and control characters escaped, each
 *    byte that is not part of valid UTF-8 written as \ufffd;
 *  - bin as a string of its standard base64 (with padding);
 *  - ext as {"ext": TYPE, "data": "BASE64"};
 *  - map keys that are not strings as a string holding their JSON text.
 * Compact (no spaces) unless flags has RPCD_JSON_PRETTY.
 *
 * \return RPCD_OK (out->data is NUL-terminated); RPCD_ENOMEM; RPCD_EINVAL
 *         for an unknown object type or nesting deeper than
 *         RPCD_JSON_MAX_DEPTH. On failure out holds a partial text.
 */
int rpcd__json_dump(rpcd_json_buf *out, const msgpack_object *obj,
                    unsigned flags);

/*
 * rpcd__json_dump(), and say in *loss (zeroed first; may be NULL) what the
 * text could not hold: NaN and infinities, map keys that are not strings,
 * keys that are written the same way twice in one map (JSON readers keep
 * one of them; found in linear time) and strings that are not valid UTF-8.
 */
int rpcd__json_dump_report(rpcd_json_buf *out, const msgpack_object *obj,
                           unsigned flags, rpcd_json_loss *loss);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_MP_JSON_H */
