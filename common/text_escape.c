/* SPDX-License-Identifier: MIT */
#include "text_escape.h"

#include <stdio.h>
#include <string.h>

/* The escape of byte c into esc (at least 5 bytes); returns its length. */
static size_t escape_byte(unsigned char c, char *esc)
{
  if (c < 0x20 || c == 0x7f) {
    snprintf(esc, 5, "\\x%02x", c);
    return 4;
  }
  if (c == '"' || c == '\\') {
    esc[0] = '\\';
    esc[1] = (char)c;
    return 2;
  }
  esc[0] = (char)c;
  return 1;
}

const char *rpcd__escape(char *out, size_t outlen, const void *data, size_t len)
{
  static const char ellipsis[] = "...";
  const unsigned char *p = data;
  size_t need = 0;
  size_t limit;
  size_t used = 0;
  size_t i;
  char esc[5];

  if (!out || outlen == 0)
    return out;
  if (!p)
    len = 0;
  /* Most text (every correlation id the SDK makes) needs no escape: one
   * pass to see that, and a copy. This runs for every request. */
  for (i = 0; i < len && i < outlen; i++)
    if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
      break;
  if (i == len && len < outlen) {
    if (len)
      memcpy(out, p, len);
    out[len] = '\0';
    return out;
  }
  for (i = 0; i < len; i++)
    need += escape_byte(p[i], esc);
  /* All of it when it fits, else as much as leaves room for "...". */
  limit = need < outlen                   ? need
          : outlen > sizeof(ellipsis) - 1 ? outlen - sizeof(ellipsis)
                                          : 0;
  for (i = 0; i < len; i++) {
    size_t k = escape_byte(p[i], esc);

    if (used + k > limit)
      break;
    memcpy(out + used, esc, k);
    used += k;
  }
  if (need >= outlen && used + sizeof(ellipsis) - 1 < outlen) {
    memcpy(out + used, ellipsis, sizeof(ellipsis) - 1);
    used += sizeof(ellipsis) - 1;
  }
  out[used] = '\0';
  return out;
}
