/* SPDX-License-Identifier: MIT */
/*
 * Method patterns, as --acl rules and --max-in-flight limits write them: a
 * method name, a prefix ending in "*" ("kv.*"), or "*" alone.
 */
#ifndef RPCD_METHOD_PATTERN_H
#define RPCD_METHOD_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* NULL when `p` (`len` bytes) is a pattern, else why not, written into
 * why (and returned). */
const char *rpcd__method_pattern_error(const char *p, size_t len, char *why,
                                       size_t whylen);

/* Whether the NUL-terminated pattern `pat` matches `method`. */
bool rpcd__method_pattern_matches(const char *pat, const char *method,
                                  size_t method_len);

#endif /* RPCD_METHOD_PATTERN_H */
