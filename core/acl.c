/* SPDX-License-Identifier: MIT */
/*
 * The --acl file: parsed into (user, pattern) pairs, checked in order until
 * one allows. Files are small (a rule per caller group), so a linear scan
 * per call costs less than the request's decoding.
 */
#include "acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/plugin.h>

#include "method_pattern.h"
#include "rpcd_proto.h"
#include "text_escape.h"

/* Larger is a mistake (a binary file?), not a rule set. */
#define MAX_ACL_FILE (1u << 20)

typedef struct rule {
  char *user;    /* "*" for anyone */
  char *pattern; /* a method name, or a prefix ending in '*' */
} rule;

struct rpcd_acl {
  rule *rules;
  size_t n;
  size_t cap;
};

void rpcd__acl_free(rpcd_acl *acl)
{
  size_t i;

  if (!acl)
    return;
  for (i = 0; i < acl->n; i++) {
    free(acl->rules[i].user);
    free(acl->rules[i].pattern);
  }
  free(acl->rules);
  free(acl);
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static int add_rule(rpcd_acl *acl, const char *user, size_t user_len,
                    const char *pat, size_t pat_len)
{
  rule *r;

  if (acl->n == acl->cap) {
    size_t cap = acl->cap ? acl->cap * 2 : 8;
    rule *grown = realloc(acl->rules, cap * sizeof(*grown));

    if (!grown)
      return RPCD_ENOMEM;
    acl->rules = grown;
    acl->cap = cap;
  }
  r = &acl->rules[acl->n];
  r->user = strndup(user, user_len);
  r->pattern = strndup(pat, pat_len);
  if (!r->user || !r->pattern) {
    free(r->user);
    free(r->pattern);
    return RPCD_ENOMEM;
  }
  acl->n++;
  return RPCD_OK;
}

/* The next blank-separated word of [*pos, end), or false at the end. */
static bool next_word(const char **pos, const char *end, const char **word,
                      size_t *len)
{
  const char *p = *pos;

  while (p < end && is_blank(*p))
    p++;
  if (p == end)
    return false;
  *word = p;
  while (p < end && !is_blank(*p))
    p++;
  *len = (size_t)(p - *word);
  *pos = p;
  return true;
}

/* One line, without its newline and comment. */
static int parse_line(rpcd_acl *acl, const char *p, const char *end, char *why,
                      size_t whylen)
{
  const char *word;
  const char *user;
  size_t len;
  size_t user_len;
  int rc;

  if (!next_word(&p, end, &word, &len))
    return RPCD_OK; /* blank or comment only */
  if (len != 5 || memcmp(word, "allow", 5) != 0) {
    snprintf(why, whylen, "unknown keyword \"%.*s\" (expected \"allow\")",
             len > 40 ? 40 : (int)len, word);
    return RPCD_EINVAL;
  }
  if (!next_word(&p, end, &user, &user_len)) {
    snprintf(why, whylen, "\"allow\" needs a user and at least one pattern");
    return RPCD_EINVAL;
  }
  if (!next_word(&p, end, &word, &len)) {
    snprintf(why, whylen, "\"allow %.*s\" needs at least one pattern",
             user_len > 40 ? 40 : (int)user_len, user);
    return RPCD_EINVAL;
  }
  do {
    if (rpcd__method_pattern_error(word, len, why, whylen))
      return RPCD_EINVAL;
    rc = add_rule(acl, user, user_len, word, len);
    if (rc != RPCD_OK)
      return rc;
  } while (next_word(&p, end, &word, &len));
  return RPCD_OK;
}

int rpcd__acl_parse(const char *text, size_t len, const char *name,
                    rpcd_acl **out, char *err, size_t errlen)
{
  const char *end = text + len;
  const char *line = text;
  rpcd_acl *acl;
  char why[256];
  unsigned lineno = 0;
  int rc = RPCD_OK;

  *out = NULL;
  acl = calloc(1, sizeof(*acl));
  if (!acl)
    return RPCD_ENOMEM;
  while (line < end && rc == RPCD_OK) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *stop = nl ? nl : end;
    const char *hash = memchr(line, '#', (size_t)(stop - line));
    const char *nul = memchr(line, '\0', (size_t)(stop - line));

    lineno++;
    if (nul && (!hash || nul < hash)) {
      snprintf(why, sizeof(why), "a NUL byte (not a text file?)");
      rc = RPCD_EINVAL;
    } else {
      rc = parse_line(acl, line, hash ? hash : stop, why, sizeof(why));
    }
    line = stop + (nl ? 1 : 0);
  }
  if (rc == RPCD_EINVAL)
    rpcd__set_err(err, errlen, "%s:%u: %s", name, lineno, why);
  else if (rc != RPCD_OK)
    rpcd__set_err(err, errlen, "%s: out of memory", name);
  if (rc != RPCD_OK) {
    rpcd__acl_free(acl);
    return rc;
  }
  *out = acl;
  return RPCD_OK;
}

int rpcd__acl_load(const char *path, rpcd_acl **out, char *err, size_t errlen)
{
  char *text;
  size_t n;
  FILE *f;
  int rc;

  *out = NULL;
  f = fopen(path, "r");
  if (!f) {
    rpcd__set_err(err, errlen, "%s: cannot read the ACL: %s", path,
                  strerror(errno));
    return RPCD_EINVAL;
  }
  text = malloc(MAX_ACL_FILE + 1);
  if (!text) {
    fclose(f);
    return RPCD_ENOMEM;
  }
  n = fread(text, 1, MAX_ACL_FILE + 1, f);
  if (ferror(f)) {
    rpcd__set_err(err, errlen, "%s: cannot read the ACL: %s", path,
                  strerror(errno));
    rc = RPCD_EINVAL;
  } else if (n > MAX_ACL_FILE) {
    rpcd__set_err(err, errlen, "%s: the ACL is larger than %u bytes", path,
                  MAX_ACL_FILE);
    rc = RPCD_EINVAL;
  } else {
    rc = rpcd__acl_parse(text, n, path, out, err, errlen);
  }
  free(text);
  fclose(f);
  return rc;
}

bool rpcd__acl_allows(const rpcd_acl *acl, const char *user, size_t user_len,
                      const char *method, size_t method_len)
{
  size_t i;

  if (!user) {
    user = RPCD_ACL_ANONYMOUS;
    user_len = strlen(user);
  }
  for (i = 0; i < acl->n; i++) {
    const rule *r = &acl->rules[i];

    if (strcmp(r->user, "*") != 0 &&
        (strlen(r->user) != user_len || memcmp(r->user, user, user_len) != 0))
      continue;
    if (rpcd__method_pattern_matches(r->pattern, method, method_len))
      return true;
  }
  return false;
}

bool rpcd__caller_may(const rpcd_caller *caller, const char *method,
                      size_t method_len)
{
  if (!caller || !caller->acl)
    return true;
  return rpcd__acl_allows(caller->acl, caller->user, caller->user_len, method,
                          method_len);
}

const char *rpcd__caller_name(const rpcd_caller *caller, char *buf,
                              size_t buflen)
{
  /* The broker checked the name, but it may hold any byte. */
  if (!caller || !caller->user)
    return RPCD_ACL_ANONYMOUS;
  return rpcd__escape(buf, buflen, caller->user, caller->user_len);
}
