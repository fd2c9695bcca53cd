/* SPDX-License-Identifier: MIT */
#include "method_pattern.h"

#include <stdio.h>
#include <string.h>

#include "rpcd_proto.h"

static bool is_name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

const char *rpcd__method_pattern_error(const char *p, size_t len, char *why,
                                       size_t whylen)
{
  size_t i;

  if (len > RPCD_MAX_METHOD_LEN) {
    snprintf(why, whylen, "pattern \"%.*s...\" is longer than %d characters",
             20, p, RPCD_MAX_METHOD_LEN);
    return why;
  }
  for (i = 0; i < len; i++) {
    if (p[i] == '*' && i + 1 == len)
      break;
    if (p[i] == '*') {
      snprintf(why, whylen,
               "pattern \"%.*s\": '*' may only end a pattern (\"kv.*\")",
               (int)len, p);
      return why;
    }
    if (!is_name_char(p[i])) {
      if ((unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f)
        snprintf(why, whylen,
                 "pattern \"%.*s\": invalid character '%c' (method names are "
                 "[A-Za-z0-9_.-])",
                 (int)len, p, p[i]);
      else
        snprintf(why, whylen,
                 "pattern: invalid byte 0x%02x (method names are "
                 "[A-Za-z0-9_.-])",
                 (unsigned char)p[i]);
      return why;
    }
  }
  return NULL;
}

bool rpcd__method_pattern_matches(const char *pat, const char *m, size_t len)
{
  size_t plen = strlen(pat);

  if (plen > 0 && pat[plen - 1] == '*')
    return len >= plen - 1 && memcmp(pat, m, plen - 1) == 0;
  return len == plen && memcmp(pat, m, len) == 0;
}
