/* SPDX-License-Identifier: MIT */
/*
 * Broker URIs in messages. A URI may carry a password, and every URI that
 * rpcd, the SDK or rpcctl prints goes through rpcd__uri_mask() first, even
 * one that did not parse.
 */
#ifndef RPCD_URI_MASK_H
#define RPCD_URI_MASK_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Copy `uri` into out[0..outlen) with its password replaced by "***".
 * The user information is everything up to the last '@' of the authority
 * (RFC 3986), so "amqp://a:b:c@d@e" becomes "amqp://a:***@e": the host shown
 * is the one a parser would connect to. When no '@' comes before the
 * first '/', '?' or '#', a later one still ends the user information (a
 * password typed with a raw '/'). Without a "scheme://" prefix, all that
 * comes before the last '@' is masked. Control characters are escaped
 * so a URI cannot forge a log line. Always NUL-terminates (outlen > 0).
 */
void rpcd__uri_mask(const char *uri, char *out, size_t outlen);

/* Where the secret of `uri` is, by the rules above: uri[*start, *start +
 * *len) is what rpcd__uri_mask() replaces (and rpcd__uri_blank_password()
 * overwrites). False when there is nothing to hide. */
bool rpcd__uri_secret(const char *uri, size_t *start, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_URI_MASK_H */
