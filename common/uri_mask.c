/* SPDX-License-Identifier: MIT */
/*
 * Masking the password of a broker URI. It works on the text alone, without
 * parsing the URI, because the URIs that most need masking are the ones
 * that failed to parse.
 */
#include "uri_mask.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Append s[0..n) to out, escaping control characters; keeps *used within
 * outlen - 1 and out NUL-terminated. */
static void append(char *out, size_t outlen, size_t *used, const char *s,
                   size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[5];
    size_t k;

    if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof(esc), "\\x%02x", c);
      k = 4;
    } else {
      esc[0] = (char)c;
      k = 1;
    }
    if (*used + k >= outlen)
      break;
    memcpy(out + *used, esc, k);
    *used += k;
  }
  out[*used] = '\0';
}

bool rpcd__uri_secret(const char *uri, size_t *start, size_t *len)
{
  const char *auth;
  const char *end;
  const char *at = NULL;
  const char *colon;
  const char *p;

  if (!uri)
    return false;
  auth = strstr(uri, "://");
  auth = auth ? auth + 3 : uri;
  end = auth + strcspn(auth, "/?#");
  for (p = auth; p < end; p++) {
    if (*p == '@')
      at = p;
  }
  /* A password with a raw '/', '?' or '#' (not valid, but typed) hides
   * the '@' beyond the first of them: mask up to the last '@' anywhere.
   * Masking part of a path is harmless; printing a password is not. */
  if (!at)
    at = strrchr(auth, '@');
  if (!at)
    return false;
  if (auth == uri) {
    /* No scheme: no telling which part is the user name. */
    *start = 0;
    *len = (size_t)(at - uri);
    return true;
  }
  colon = memchr(auth, ':', (size_t)(at - auth));
  if (!colon)
    return false;
  *start = (size_t)(colon + 1 - uri);
  *len = (size_t)(at - colon - 1);
  return true;
}

void rpcd__uri_mask(const char *uri, char *out, size_t outlen)
{
  size_t start;
  size_t len;
  size_t used = 0;

  if (!out || outlen == 0)
    return;
  out[0] = '\0';
  if (!uri)
    return;
  if (!rpcd__uri_secret(uri, &start, &len)) {
    append(out, outlen, &used, uri, strlen(uri));
    return;
  }
  append(out, outlen, &used, uri, start);
  append(out, outlen, &used, "***", 3);
  append(out, outlen, &used, uri + start + len, strlen(uri + start + len));
}
