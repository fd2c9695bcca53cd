/* SPDX-License-Identifier: MIT */
/*
 * msgpack → JSON. Written by hand rather than through a JSON library
 * because JSON libraries hold integers as int64 and would print uint64
 * results (fib(93) = 12200160415121876738) wrongly.
 */
#include "mp_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rpcd/status.h>

static int put(msgpack_sbuffer *out, const char *s, size_t n)
{
  return msgpack_sbuffer_write(out, s, n) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int puts_(msgpack_sbuffer *out, const char *s)
{
  return put(out, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
  unsigned char c = p[0];
  size_t n;
  size_t i;
  uint32_t cp;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (left < n)
    return 0;
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  /* Overlong forms, surrogates and code points past U+10FFFF. */
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n;
}

static int put_string(msgpack_sbuffer *out, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  int rc = put(out, "\"", 1);

  while (rc == RPCD_OK && i < len) {
    unsigned char c = p[i];
    char esc[8];
    size_t n;

    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      rc = put(out, esc, 2);
      i++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n':
        rc = puts_(out, "\\n");
        break;
      case '\r':
        rc = puts_(out, "\\r");
        break;
      case '\t':
        rc = puts_(out, "\\t");
        break;
      case '\b':
        rc = puts_(out, "\\b");
        break;
      case '\f':
        rc = puts_(out, "\\f");
        break;
      default:
        snprintf(esc, sizeof(esc), "\\u%04x", c);
        rc = puts_(out, esc);
      }
      i++;
    } else {
      n = utf8_len(p + i, len - i);
      if (n == 0) {
        rc = puts_(out, "\\ufffd");
        i++;
      } else {
        rc = put(out, s + i, n);
        i += n;
      }
    }
  }
  return rc == RPCD_OK ? put(out, "\"", 1) : rc;
}

static int put_base64(msgpack_sbuffer *out, const char *data, size_t len)
{
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = (const unsigned char *)data;
  size_t i;
  int rc = put(out, "\"", 1);

  for (i = 0; rc == RPCD_OK && i < len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    char quad[4];

    if (i + 1 < len)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < len)
      v |= p[i + 2];
    quad[0] = tbl[(v >> 18) & 63];
    quad[1] = tbl[(v >> 12) & 63];
    quad[2] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    quad[3] = i + 2 < len ? tbl[v & 63] : '=';
    rc = put(out, quad, 4);
  }
  return rc == RPCD_OK ? put(out, "\"", 1) : rc;
}

int rpcd__mp_to_json(const msgpack_object *o, msgpack_sbuffer *out)
{
  char num[64];
  uint32_t i;
  int rc = RPCD_OK;

  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return puts_(out, "null");
  case MSGPACK_OBJECT_BOOLEAN:
    return puts_(out, o->via.boolean ? "true" : "false");
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(num, sizeof(num), "%llu", (unsigned long long)o->via.u64);
    return puts_(out, num);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(num, sizeof(num), "%lld", (long long)o->via.i64);
    return puts_(out, num);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    if (!isfinite(o->via.f64))
      return puts_(out, "null");
    snprintf(num, sizeof(num), "%.17g", o->via.f64);
    rc = puts_(out, num);
    /* Keep floats recognisable as floats: 1.0 prints as 1.0, not 1. */
    if (rc == RPCD_OK && !strpbrk(num, ".eEn"))
      rc = puts_(out, ".0");
    return rc;
  case MSGPACK_OBJECT_STR:
    return put_string(out, o->via.str.ptr, o->via.str.size);
  case MSGPACK_OBJECT_BIN:
    return put_base64(out, o->via.bin.ptr, o->via.bin.size);
  case MSGPACK_OBJECT_EXT:
    snprintf(num, sizeof(num), "{\"ext\":%d,\"data\":", (int)o->via.ext.type);
    rc = puts_(out, num);
    if (rc == RPCD_OK)
      rc = put_base64(out, o->via.ext.ptr, o->via.ext.size);
    return rc == RPCD_OK ? puts_(out, "}") : rc;
  case MSGPACK_OBJECT_ARRAY:
    rc = puts_(out, "[");
    for (i = 0; rc == RPCD_OK && i < o->via.array.size; i++) {
      if (i > 0)
        rc = puts_(out, ",");
      if (rc == RPCD_OK)
        rc = rpcd__mp_to_json(&o->via.array.ptr[i], out);
    }
    return rc == RPCD_OK ? puts_(out, "]") : rc;
  case MSGPACK_OBJECT_MAP:
    rc = puts_(out, "{");
    for (i = 0; rc == RPCD_OK && i < o->via.map.size; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;

      if (i > 0)
        rc = puts_(out, ",");
      if (rc != RPCD_OK)
        break;
      if (k->type == MSGPACK_OBJECT_STR) {
        rc = put_string(out, k->via.str.ptr, k->via.str.size);
      } else {
        msgpack_sbuffer key;

        msgpack_sbuffer_init(&key);
        rc = rpcd__mp_to_json(k, &key);
        if (rc == RPCD_OK)
          rc = put_string(out, key.data ? key.data : "", key.size);
        msgpack_sbuffer_destroy(&key);
      }
      if (rc == RPCD_OK)
        rc = puts_(out, ":");
      if (rc == RPCD_OK)
        rc = rpcd__mp_to_json(&o->via.map.ptr[i].val, out);
    }
    return rc == RPCD_OK ? puts_(out, "}") : rc;
  default:
    return puts_(out, "null");
  }
}
