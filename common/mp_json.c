/* SPDX-License-Identifier: MIT */
/*
 * msgpack -> JSON text, for rpcctl's output and the server's plain-text
 * replies. A serializer of our own rather than a JSON library's, so that
 * every msgpack value prints exactly (uint64 above INT64_MAX, floats that
 * read back bit for bit) and the output is valid JSON whatever the bytes
 * (invalid UTF-8, NaN). What JSON cannot hold is counted in an
 * rpcd_json_loss, so that a caller can say so instead of printing a
 * plausible but different value in silence.
 */
#include "mp_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Growable buffer                                                           */

void rpcd__json_buf_init(rpcd_json_buf *buf)
{
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  buf->oom = false;
}

void rpcd__json_buf_destroy(rpcd_json_buf *buf)
{
  free(buf->data);
  rpcd__json_buf_init(buf);
}

/* Make room for n more bytes plus the NUL. */
static bool buf_reserve(rpcd_json_buf *b, size_t n)
{
  size_t need;
  size_t cap;
  char *p;

  if (b->oom)
    return false;
  if (n > SIZE_MAX - b->len - 1) {
    b->oom = true;
    return false;
  }
  need = b->len + n + 1;
  if (need <= b->cap)
    return true;
  cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

static void buf_append(rpcd_json_buf *b, const char *s, size_t n)
{
  if (!buf_reserve(b, n))
    return;
  if (n > 0) /* s may be NULL then: an empty msgpack str or bin */
    memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_puts(rpcd_json_buf *b, const char *s)
{
  buf_append(b, s, strlen(s));
}

static void buf_putc(rpcd_json_buf *b, char c)
{
  buf_append(b, &c, 1);
}

/* ------------------------------------------------------------------------ */
/* msgpack -> JSON text                                                      */

/*
 * Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t len;
  size_t i;

  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4;
  else
    return 0;
  if (n < len)
    return 0;
  if (s[0] == 0xe0)
    lo = 0xa0;
  else if (s[0] == 0xed)
    hi = 0x9f;
  else if (s[0] == 0xf0)
    lo = 0x90;
  else if (s[0] == 0xf4)
    hi = 0x8f;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < len; i++) {
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  }
  return len;
}

/* Write a JSON string; true when a byte that is not UTF-8 was replaced. */
static bool dump_string(rpcd_json_buf *b, const char *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)p;
  size_t run = 0; /* start of the bytes not written yet */
  size_t i = 0;
  bool replaced = false;

  buf_putc(b, '"');
  while (i < n) {
    unsigned char c = s[i];
    size_t len;

    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      i++;
      continue;
    }
    buf_append(b, p + run, i - run);
    if (c >= 0x80) {
      len = utf8_seq_len(s + i, n - i);
      if (len > 0) {
        buf_append(b, p + i, len);
        i += len;
      } else {
        buf_puts(b, "\\ufffd");
        replaced = true;
        i++;
      }
      run = i;
      continue;
    }
    switch (c) {
    case '"':
      buf_puts(b, "\\\"");
      break;
    case '\\':
      buf_puts(b, "\\\\");
      break;
    case '\b':
      buf_puts(b, "\\b");
      break;
    case '\f':
      buf_puts(b, "\\f");
      break;
    case '\n':
      buf_puts(b, "\\n");
      break;
    case '\r':
      buf_puts(b, "\\r");
      break;
    case '\t':
      buf_puts(b, "\\t");
      break;
    default: {
      char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf], '\0'};

      buf_puts(b, esc);
      break;
    }
    }
    i++;
    run = i;
  }
  buf_append(b, p + run, n - run);
  buf_putc(b, '"');
  return replaced;
}

static void dump_base64(rpcd_json_buf *b, const char *p, size_t n)
{
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = (const unsigned char *)p;
  size_t i;

  buf_putc(b, '"');
  for (i = 0; i + 2 < n; i += 3) {
    char q[4];

    q[0] = tab[s[i] >> 2];
    q[1] = tab[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
    q[2] = tab[((s[i + 1] & 0x0f) << 2) | (s[i + 2] >> 6)];
    q[3] = tab[s[i + 2] & 0x3f];
    buf_append(b, q, 4);
  }
  if (n - i == 1) {
    char q[4];

    q[0] = tab[s[i] >> 2];
    q[1] = tab[(s[i] & 0x03) << 4];
    q[2] = '=';
    q[3] = '=';
    buf_append(b, q, 4);
  } else if (n - i == 2) {
    char q[4];

    q[0] = tab[s[i] >> 2];
    q[1] = tab[((s[i] & 0x03) << 4) | (s[i + 1] >> 4)];
    q[2] = tab[(s[i + 1] & 0x0f) << 2];
    q[3] = '=';
    buf_append(b, q, 4);
  }
  buf_putc(b, '"');
}

/*
 * The shortest "%.Ng" text that reads back to the same value (17 digits
 * always do for a double, 9 for a float), with ".0" added when it would
 * otherwise read as an integer, so a float stays a float on the way back.
 * Returns false for NaN and infinities, which JSON cannot hold.
 */
static bool dump_float(rpcd_json_buf *b, double d, bool is_float32)
{
  char tmp[48];
  int prec;

  if (isnan(d) || isinf(d)) {
    buf_puts(b, "null"); /* JSON has no NaN or infinity */
    return false;
  }
  if (is_float32) {
    float f = (float)d;

    for (prec = 6; prec < 9; prec++) {
      snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
      if ((float)strtod(tmp, NULL) == f)
        break;
    }
    snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
  } else {
    for (prec = 15; prec < 17; prec++) {
      snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
      if (strtod(tmp, NULL) == d)
        break;
    }
    snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
  }
  buf_puts(b, tmp);
  if (!strpbrk(tmp, ".eE"))
    buf_puts(b, ".0");
  return true;
}

static void newline_indent(rpcd_json_buf *b, unsigned flags, unsigned level)
{
  unsigned i;

  if (!(flags & RPCD_JSON_PRETTY))
    return;
  buf_putc(b, '\n');
  for (i = 0; i < level; i++)
    buf_puts(b, "  ");
}

static void name_sep(rpcd_json_buf *b, unsigned flags)
{
  buf_puts(b, (flags & RPCD_JSON_PRETTY) ? ": " : ":");
}

/* msgpack type names for messages about map keys. */
static const char *type_name(msgpack_object_type t)
{
  switch (t) {
  case MSGPACK_OBJECT_NIL:
    return "nil";
  case MSGPACK_OBJECT_BOOLEAN:
    return "bool";
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return "int";
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return "float";
  case MSGPACK_OBJECT_STR:
    return "str";
  case MSGPACK_OBJECT_BIN:
    return "bin";
  case MSGPACK_OBJECT_EXT:
    return "ext";
  case MSGPACK_OBJECT_ARRAY:
    return "array";
  case MSGPACK_OBJECT_MAP:
    return "map";
  default:
    return "?";
  }
}

/* Where a key's JSON text lies in the output buffer. */
typedef struct key_span {
  size_t off;
  size_t len;
} key_span;

static uint64_t hash_bytes(const char *p, size_t n)
{
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/*
 * Count the keys of one map (as written, at keys[0..n) in b) that repeat an
 * earlier one, with a hash set of indexes (linear probing, at most half
 * full), so a map of many keys costs linear time, not quadratic.
 */
static int count_dup_keys(const rpcd_json_buf *b, const key_span *keys,
                          uint32_t n, rpcd_json_loss *loss)
{
  uint32_t *slots;
  size_t cap = 4;
  uint32_t i;

  while (cap < (size_t)n * 2)
    cap *= 2;
  slots = malloc(cap * sizeof(*slots));
  if (!slots)
    return RPCD_ENOMEM;
  memset(slots, 0xff, cap * sizeof(*slots)); /* UINT32_MAX: empty */
  for (i = 0; i < n; i++) {
    const char *k = b->data + keys[i].off;
    size_t pos = (size_t)hash_bytes(k, keys[i].len) & (cap - 1);

    while (slots[pos] != UINT32_MAX) {
      const key_span *o = &keys[slots[pos]];

      if (o->len == keys[i].len && memcmp(b->data + o->off, k, o->len) == 0)
        break;
      pos = (pos + 1) & (cap - 1);
    }
    if (slots[pos] == UINT32_MAX) {
      slots[pos] = i;
      continue;
    }
    if (loss->dup_keys++ == 0) {
      size_t len = keys[i].len;

      /* Cut on a character boundary. */
      if (len >= sizeof(loss->dup_key)) {
        len = sizeof(loss->dup_key) - 4;
        while (len > 0 && ((unsigned char)k[len] & 0xc0) == 0x80)
          len--;
        memcpy(loss->dup_key, k, len);
        memcpy(loss->dup_key + len, "...", 4);
      } else {
        memcpy(loss->dup_key, k, len);
        loss->dup_key[len] = '\0';
      }
    }
  }
  free(slots);
  return RPCD_OK;
}

static int dump_value(rpcd_json_buf *b, const msgpack_object *o, unsigned flags,
                      unsigned depth, rpcd_json_loss *loss);

/* Write a map's members; with `loss`, count what JSON cannot hold of
 * them. */
static int dump_map(rpcd_json_buf *b, const msgpack_object *o, unsigned flags,
                    unsigned depth, rpcd_json_loss *loss)
{
  key_span *keys = NULL;
  uint32_t n = o->via.map.size;
  uint32_t i;
  int rc = RPCD_OK;

  if (loss && n > 1) {
    keys = malloc((size_t)n * sizeof(*keys));
    if (!keys)
      return RPCD_ENOMEM;
  }
  buf_putc(b, '{');
  for (i = 0; i < n; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    size_t start;

    if (i > 0)
      buf_putc(b, ',');
    newline_indent(b, flags, depth + 1);
    start = b->len;
    if (kv->key.type == MSGPACK_OBJECT_STR) {
      if (dump_string(b, kv->key.via.str.ptr, kv->key.via.str.size) && loss)
        loss->invalid_utf8++;
    } else {
      /* JSON keys are strings: use the key's own JSON text */
      rpcd_json_buf key;

      if (loss && loss->nonstr_keys++ == 0)
        snprintf(loss->key_type, sizeof(loss->key_type), "%s",
                 type_name(kv->key.type));
      rpcd__json_buf_init(&key);
      rc = dump_value(&key, &kv->key, 0, depth + 1, loss);
      if (rc == RPCD_OK && key.oom)
        rc = RPCD_ENOMEM;
      if (rc == RPCD_OK)
        dump_string(b, key.data, key.len);
      rpcd__json_buf_destroy(&key);
      if (rc != RPCD_OK)
        goto out;
    }
    if (keys) {
      keys[i].off = start;
      keys[i].len = b->len - start;
    }
    name_sep(b, flags);
    rc = dump_value(b, &kv->val, flags, depth + 1, loss);
    if (rc != RPCD_OK)
      goto out;
  }
  if (n > 0)
    newline_indent(b, flags, depth);
  buf_putc(b, '}');
  if (b->oom)
    rc = RPCD_ENOMEM;
  else if (keys)
    rc = count_dup_keys(b, keys, n, loss);

out:
  free(keys);
  return rc;
}

static int dump_value(rpcd_json_buf *b, const msgpack_object *o, unsigned flags,
                      unsigned depth, rpcd_json_loss *loss)
{
  char num[32];
  uint32_t i;
  int rc;

  if (depth > RPCD_JSON_MAX_DEPTH)
    return RPCD_EINVAL;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    buf_puts(b, "null");
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    buf_puts(b, o->via.boolean ? "true" : "false");
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(num, sizeof(num), "%" PRIu64, o->via.u64);
    buf_puts(b, num);
    break;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(num, sizeof(num), "%" PRId64, o->via.i64);
    buf_puts(b, num);
    break;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    if (!dump_float(b, o->via.f64, o->type == MSGPACK_OBJECT_FLOAT32) && loss)
      loss->nonfinite++;
    break;
  case MSGPACK_OBJECT_STR:
    if (dump_string(b, o->via.str.ptr, o->via.str.size) && loss)
      loss->invalid_utf8++;
    break;
  case MSGPACK_OBJECT_BIN:
    dump_base64(b, o->via.bin.ptr, o->via.bin.size);
    break;
  case MSGPACK_OBJECT_EXT:
    buf_putc(b, '{');
    newline_indent(b, flags, depth + 1);
    buf_puts(b, "\"ext\"");
    name_sep(b, flags);
    snprintf(num, sizeof(num), "%d", (int)o->via.ext.type);
    buf_puts(b, num);
    buf_putc(b, ',');
    newline_indent(b, flags, depth + 1);
    buf_puts(b, "\"data\"");
    name_sep(b, flags);
    dump_base64(b, o->via.ext.ptr, o->via.ext.size);
    newline_indent(b, flags, depth);
    buf_putc(b, '}');
    break;
  case MSGPACK_OBJECT_ARRAY:
    buf_putc(b, '[');
    for (i = 0; i < o->via.array.size; i++) {
      if (i > 0)
        buf_putc(b, ',');
      newline_indent(b, flags, depth + 1);
      rc = dump_value(b, &o->via.array.ptr[i], flags, depth + 1, loss);
      if (rc != RPCD_OK)
        return rc;
    }
    if (o->via.array.size > 0)
      newline_indent(b, flags, depth);
    buf_putc(b, ']');
    break;
  case MSGPACK_OBJECT_MAP:
    rc = dump_map(b, o, flags, depth, loss);
    if (rc != RPCD_OK)
      return rc;
    break;
  default:
    return RPCD_EINVAL;
  }
  return b->oom ? RPCD_ENOMEM : RPCD_OK;
}

bool rpcd__json_loss_any(const rpcd_json_loss *loss)
{
  return loss->nonfinite || loss->nonstr_keys || loss->dup_keys ||
         loss->invalid_utf8;
}

int rpcd__json_dump_report(rpcd_json_buf *out, const msgpack_object *obj,
                           unsigned flags, rpcd_json_loss *loss)
{
  int rc;

  if (loss)
    memset(loss, 0, sizeof(*loss));
  rc = dump_value(out, obj, flags, 0, loss);
  if (rc == RPCD_OK && out->oom)
    rc = RPCD_ENOMEM;
  return rc;
}

int rpcd__json_dump(rpcd_json_buf *out, const msgpack_object *obj,
                    unsigned flags)
{
  return rpcd__json_dump_report(out, obj, flags, NULL);
}
