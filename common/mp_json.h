/* SPDX-License-Identifier: MIT */
/*
 * msgpack → JSON text, exact for every integer (uint64 above INT64_MAX
 * included), for rpcctl's output and the server's plain-text replies.
 */
#ifndef RPCD_MP_JSON_H
#define RPCD_MP_JSON_H

#include <msgpack.h>

/*
 * Append the compact JSON text of `o` to `out` (no NUL). Strings are escaped
 * per RFC 8259 with invalid UTF-8 replaced by U+FFFD; NaN and infinities
 * become null; bin becomes a base64 string; ext becomes
 * {"ext": type, "data": "<base64>"}; a map key that is not a string becomes
 * its JSON text as a string.
 *
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__mp_to_json(const msgpack_object *o, msgpack_sbuffer *out);

#endif /* RPCD_MP_JSON_H */
