/* SPDX-License-Identifier: MIT */
/*
 * Per-method access control (--acl FILE): which broker user may call which
 * methods. One rule a line, "allow USER PATTERN...", USER a broker user
 * name, "anonymous" (a request without user_id) or "*" (anyone); PATTERN a
 * method name, a prefix ending in "*" ("kv.*") or "*". "#" starts a
 * comment. What no rule allows is denied. Ownership: an rpcd_acl owns its
 * rules; rpcd__acl_free() frees it. An rpcd_caller borrows everything.
 */
#ifndef RPCD_ACL_H
#define RPCD_ACL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rpcd_acl rpcd_acl;

struct rpcd_gate;

/* Who makes a call and what admits it: the access check, the in-flight
 * limits, and what rpc.list/rpc.describe show. */
typedef struct rpcd_caller {
  const rpcd_acl *acl; /* NULL: no --acl, everything allowed */
  const char *user;    /* the broker user, not NUL-terminated; NULL: none */
  size_t user_len;
  const struct rpcd_gate *gate; /* --max-in-flight (inflight.h); NULL: none */
} rpcd_caller;

/* The user name a request without user_id has in rules and messages. */
#define RPCD_ACL_ANONYMOUS "anonymous"

/*
 * Parse rules from `text` (`len` bytes); `name` (the file) only prefixes
 * errors. \return RPCD_OK with *out set, RPCD_EINVAL with err as
 * "NAME:LINE: reason", RPCD_ENOMEM.
 */
int rpcd__acl_parse(const char *text, size_t len, const char *name,
                    rpcd_acl **out, char *err, size_t errlen);

/* Read and parse the file at `path`; an unreadable file is RPCD_EINVAL
 * with err "PATH: reason". */
int rpcd__acl_load(const char *path, rpcd_acl **out, char *err, size_t errlen);

void rpcd__acl_free(rpcd_acl *acl);

/* Whether `user` (NULL: anonymous) may call `method`. */
bool rpcd__acl_allows(const rpcd_acl *acl, const char *user, size_t user_len,
                      const char *method, size_t method_len);

/* The same for a caller; a NULL caller or one without an ACL may call
 * anything. */
bool rpcd__caller_may(const rpcd_caller *caller, const char *method,
                      size_t method_len);

/* The caller's user for messages, escaped into buf: "anonymous" without
 * one. \return buf or a static string */
const char *rpcd__caller_name(const rpcd_caller *caller, char *buf,
                              size_t buflen);

#endif /* RPCD_ACL_H */
