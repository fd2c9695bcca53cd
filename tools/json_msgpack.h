/* SPDX-License-Identifier: MIT */
/*
 * JSON -> msgpack for rpcctl: JSON literals typed on the command line become
 * msgpack params (the other direction is common/mp_json.h). Pure functions
 * with no I/O, so that unit tests can drive them. Internal to the tools: not
 * installed, not part of the ABI.
 */
#ifndef RPCD_JSON_MSGPACK_H
#define RPCD_JSON_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>
#include <rpcd/status.h>

#include "mp_json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rpcd__json_pack() flags */
#define RPCD_JSON_OBJECT_ONLY 0x1u /* the literal must be a JSON object */

/*
 * Parse `text`, one JSON literal (any type, not only arrays and objects), and
 * append it to `pk` as one msgpack object: integers as msgpack integers
 * (a decimal integer in (INT64_MAX, UINT64_MAX] packs as uint64, even inside
 * arrays and objects), other numbers as float64, strings as str (a \u0000
 * escape is kept), arrays and objects recursively (object members in the
 * order written), true, false and null. Duplicate object keys are rejected.
 *
 * \param pk     packer to append to (borrowed)
 * \param text   NUL-terminated JSON text (borrowed)
 * \param flags  0 or RPCD_JSON_OBJECT_ONLY
 * \param what   names the text in messages, e.g. "argument 2"
 * \param err    out: on RPCD_EINVAL a one-line message naming `what`, with
 *               jansson's error text and position (may be NULL)
 * \return RPCD_OK; RPCD_EINVAL for text that is not one valid literal (or not
 *         an object with RPCD_JSON_OBJECT_ONLY); RPCD_ENOMEM. Nothing is
 *         appended to pk on RPCD_EINVAL.
 */
int rpcd__json_pack(msgpack_packer *pk, const char *text, unsigned flags,
                    const char *what, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_JSON_MSGPACK_H */
