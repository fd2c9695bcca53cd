/* SPDX-License-Identifier: MIT */
/*
 * Untrusted bytes (content types, correlation ids, header values) quoted
 * into log lines and error messages. printf's "%.*s" stops at a NUL and
 * passes control characters through; this escapes both, so the text shown
 * is all the text there was and cannot forge a line.
 */
#ifndef RPCD_TEXT_ESCAPE_H
#define RPCD_TEXT_ESCAPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write data[0..len) into out[0..outlen) with bytes below 0x20, 0x7f, '"'
 * and '\\' escaped (\xNN, \", \\). Text that does not fit is cut at a whole
 * escape and ends in "..." . Always NUL-terminates (outlen > 0).
 *
 * \return out, for use as a printf argument
 */
const char *rpcd__escape(char *out, size_t outlen, const void *data,
                         size_t len);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_TEXT_ESCAPE_H */
