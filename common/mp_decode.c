/* SPDX-License-Identifier: MIT */
/*
 * Bounded msgpack decoding for untrusted bytes. A first pass walks the input
 * without allocating and rejects anything that could make a decoder allocate
 * more than the input justifies (a container count larger than the bytes
 * left), nest too deep, or read past the end. A second pass builds
 * msgpack_object trees in one allocation whose size the first pass computed.
 *
 * msgpack-c's own unpacker is not used on untrusted input: it allocates for
 * a container's declared count before reading it (a 5-byte array32 header
 * asks for gigabytes) and stops at nesting depth 32.
 */
#include "rpcd_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpcd__set_err(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if (!err || errlen == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Big-endian load of n (1, 2, 4 or 8) bytes. Written with shifts so it is
 * right on any host; compilers turn it into a single byte-swapping load. */
static uint64_t load_be(const uint8_t *p, size_t n)
{
  switch (n) {
  case 1:
    return p[0];
  case 2:
    return (uint64_t)p[0] << 8 | p[1];
  case 4:
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 |
           p[3];
  default:
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | p[7];
  }
}

/* Total size of the objects whose size the type byte alone gives (scalars
 * with no length field); 0 for the others. The pre-scan skips these without
 * decoding a header. */
static const uint8_t fixed_size[256] = {
    /* positive fixint */
    [0x00 ... 0x7f] = 1,
    /* nil, false, true */
    [0xc0] = 1,
    [0xc2] = 1,
    [0xc3] = 1,
    /* float 32/64, uint 8..64, int 8..64 */
    [0xca] = 5,
    [0xcb] = 9,
    [0xcc] = 2,
    [0xcd] = 3,
    [0xce] = 5,
    [0xcf] = 9,
    [0xd0] = 2,
    [0xd1] = 3,
    [0xd2] = 5,
    [0xd3] = 9,
    /* fixext 1/2/4/8/16: type byte and data */
    [0xd4] = 3,
    [0xd5] = 4,
    [0xd6] = 6,
    [0xd7] = 10,
    [0xd8] = 18,
    /* negative fixint */
    [0xe0 ... 0xff] = 1,
};

/* What one msgpack header says: how many bytes the header takes, how many
 * payload bytes follow it, and how many child objects it contains. */
typedef struct mp_head {
  size_t head_len;
  uint64_t payload_len; /* str, bin, ext data; 0 for others */
  uint64_t children;    /* array elements, or 2 * map pairs */
  bool is_map;
  bool is_container;
} mp_head;

/* Read the header at p (len bytes available). false if truncated or an
 * invalid type byte (0xc1). */
static bool read_head(const uint8_t *p, size_t len, mp_head *h)
{
  uint8_t b;
  size_t need;

  if (len == 0)
    return false;
  memset(h, 0, sizeof(*h));
  b = p[0];
  h->head_len = 1;
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return true;
  if (b >= 0x80 && b <= 0x8f) {
    h->children = 2u * (b & 0x0f);
    h->is_map = h->is_container = true;
    return true;
  }
  if (b >= 0x90 && b <= 0x9f) {
    h->children = b & 0x0f;
    h->is_container = true;
    return true;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    h->payload_len = b & 0x1f;
    return true;
  }
  switch (b) {
  case 0xc4: /* bin 8/16/32 */
  case 0xc5:
  case 0xc6:
  case 0xd9: /* str 8/16/32 */
  case 0xda:
  case 0xdb:
    need = (b == 0xc4 || b == 0xd9) ? 1 : (b == 0xc5 || b == 0xda) ? 2 : 4;
    if (len < 1 + need)
      return false;
    h->head_len = 1 + need;
    h->payload_len = load_be(p + 1, need);
    return true;
  case 0xc7: /* ext 8/16/32: length, then a type byte */
  case 0xc8:
  case 0xc9:
    need = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
    if (len < 2 + need)
      return false;
    h->head_len = 2 + need;
    h->payload_len = load_be(p + 1, need);
    return true;
  case 0xca: /* float 32/64 */
  case 0xcb:
  case 0xcc: /* uint 8..64 */
  case 0xcd:
  case 0xce:
  case 0xcf:
  case 0xd0: /* int 8..64 */
  case 0xd1:
  case 0xd2:
  case 0xd3:
    switch (b) {
    case 0xcc:
    case 0xd0:
      need = 1;
      break;
    case 0xcd:
    case 0xd1:
      need = 2;
      break;
    case 0xca:
    case 0xce:
    case 0xd2:
      need = 4;
      break;
    default:
      need = 8;
      break;
    }
    h->head_len = 1 + need;
    return len >= h->head_len;
  case 0xd4: /* fixext 1/2/4/8/16: a type byte, then the data */
  case 0xd5:
  case 0xd6:
  case 0xd7:
  case 0xd8:
    h->head_len = 2;
    h->payload_len = (uint64_t)1 << (b - 0xd4);
    return len >= 2;
  case 0xdc: /* array 16/32 */
  case 0xdd:
  case 0xde: /* map 16/32 */
  case 0xdf:
    need = (b == 0xdc || b == 0xde) ? 2 : 4;
    if (len < 1 + need)
      return false;
    h->head_len = 1 + need;
    h->children = load_be(p + 1, need);
    h->is_container = true;
    if (b >= 0xde) {
      h->is_map = true;
      h->children *= 2;
    }
    return true;
  default: /* 0xc1: never used */
    return false;
  }
}

/* Validate, and count array elements and map pairs separately so that
 * decoding allocates exactly what it needs. */
static int scan(const void *data, size_t len, unsigned max_depth,
                size_t *n_elems, size_t *n_pairs, char *err, size_t errlen)
{
  /* remaining[d] counts the objects still expected at depth d. */
  uint64_t remaining[RPCD_MAX_DEPTH + 2];
  const uint8_t *p = data;
  size_t off = 0;
  size_t elems = 0;
  size_t pairs = 0;
  unsigned depth = 0;
  mp_head h;

  if (max_depth > RPCD_MAX_DEPTH)
    max_depth = RPCD_MAX_DEPTH;
  if (len == 0) {
    rpcd__set_err(err, errlen, "empty body");
    return RPCD_EPROTO;
  }
  remaining[0] = 1;
  for (;;) {
    while (depth > 0 && remaining[depth] == 0)
      depth--;
    if (depth == 0 && remaining[0] == 0)
      break;
    if (off < len && fixed_size[p[off]] != 0 &&
        fixed_size[p[off]] <= len - off) {
      off += fixed_size[p[off]];
      remaining[depth]--;
      continue;
    }
    if (!read_head(p + off, len - off, &h)) {
      rpcd__set_err(err, errlen,
                    off < len && p[off] == 0xc1
                        ? "invalid msgpack type byte 0xc1 at offset %zu"
                        : "truncated msgpack at offset %zu",
                    off);
      return RPCD_EPROTO;
    }
    remaining[depth]--;
    off += h.head_len;
    if (h.payload_len > len - off) {
      rpcd__set_err(err, errlen,
                    "msgpack length %llu at offset %zu exceeds the %zu "
                    "bytes left",
                    (unsigned long long)h.payload_len, off - h.head_len,
                    len - off);
      return RPCD_EPROTO;
    }
    off += (size_t)h.payload_len;
    if (!h.is_container)
      continue;
    /* Every child takes at least one byte: a count above the bytes left
     * can only be a lie, and must not reach an allocator. */
    if (h.children > len - off) {
      rpcd__set_err(
          err, errlen,
          "msgpack %s of %llu entries at offset %zu exceeds the "
          "%zu bytes left",
          h.is_map ? "map" : "array",
          (unsigned long long)(h.is_map ? h.children / 2 : h.children),
          off - h.head_len, len - off);
      return RPCD_EPROTO;
    }
    /* An empty container is a level of nesting too, as msgpack-c counts
     * it. */
    if (depth + 1 > max_depth) {
      rpcd__set_err(err, errlen, "msgpack nesting deeper than %u", max_depth);
      return RPCD_EPROTO;
    }
    if (h.children == 0)
      continue;
    if (h.is_map)
      pairs += (size_t)h.children / 2;
    else
      elems += (size_t)h.children;
    remaining[++depth] = h.children;
  }
  if (off != len) {
    rpcd__set_err(err, errlen, "%zu trailing bytes after the msgpack object",
                  len - off);
    return RPCD_EPROTO;
  }
  *n_elems = elems;
  *n_pairs = pairs;
  return RPCD_OK;
}

int rpcd__mp_check(const void *data, size_t len, unsigned max_depth,
                   size_t *n_children, char *err, size_t errlen)
{
  size_t elems = 0;
  size_t pairs = 0;
  int rc;

  rc = scan(data, len, max_depth, &elems, &pairs, err, errlen);
  if (rc == RPCD_OK && n_children)
    *n_children = elems + pairs;
  return rc;
}

/* Second pass: input already validated by rpcd__mp_check. */
typedef struct builder {
  const uint8_t *p;
  size_t off;
  msgpack_object *objs; /* array elements, handed out in order */
  msgpack_object_kv *kvs;
} builder;

static void build(builder *b, msgpack_object *o)
{
  const uint8_t *p = b->p + b->off;
  uint8_t t = p[0];
  mp_head h;
  uint64_t u;
  uint32_t i;

  if (fixed_size[t] != 0 && (t < 0xd4 || t > 0xd8)) {
    /* A scalar: its type byte gives its size, no header to decode. */
    h.head_len = fixed_size[t];
    h.payload_len = 0;
    h.children = 0;
    h.is_map = false;
    h.is_container = false;
  } else {
    read_head(p, SIZE_MAX, &h); /* cannot fail: checked */
  }
  b->off += h.head_len;
  memset(o, 0, sizeof(*o));

  if (t <= 0x7f) {
    o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o->via.u64 = t;
  } else if (t >= 0xe0) {
    o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o->via.i64 = (int8_t)t;
  } else if (h.is_container) {
    uint32_t n = (uint32_t)(h.is_map ? h.children / 2 : h.children);

    if (h.is_map) {
      o->type = MSGPACK_OBJECT_MAP;
      o->via.map.size = n;
      o->via.map.ptr = NULL;
      if (n) { /* b->kvs is NULL when the document has no pairs */
        o->via.map.ptr = b->kvs;
        b->kvs += n;
      }
      for (i = 0; i < n; i++) {
        build(b, &o->via.map.ptr[i].key);
        build(b, &o->via.map.ptr[i].val);
      }
    } else {
      o->type = MSGPACK_OBJECT_ARRAY;
      o->via.array.size = n;
      o->via.array.ptr = NULL;
      if (n) { /* NULL + 0 is undefined behaviour */
        o->via.array.ptr = b->objs;
        b->objs += n;
      }
      for (i = 0; i < n; i++)
        build(b, &o->via.array.ptr[i]);
    }
  } else if ((t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb)) {
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.size = (uint32_t)h.payload_len;
    o->via.str.ptr = (const char *)b->p + b->off;
  } else if (t >= 0xc4 && t <= 0xc6) {
    o->type = MSGPACK_OBJECT_BIN;
    o->via.bin.size = (uint32_t)h.payload_len;
    o->via.bin.ptr = (const char *)b->p + b->off;
  } else if ((t >= 0xc7 && t <= 0xc9) || (t >= 0xd4 && t <= 0xd8)) {
    o->type = MSGPACK_OBJECT_EXT;
    o->via.ext.type = (int8_t)p[h.head_len - 1];
    o->via.ext.size = (uint32_t)h.payload_len;
    o->via.ext.ptr = (const char *)b->p + b->off;
  } else {
    switch (t) {
    case 0xc0:
      o->type = MSGPACK_OBJECT_NIL;
      break;
    case 0xc2:
    case 0xc3:
      o->type = MSGPACK_OBJECT_BOOLEAN;
      o->via.boolean = t == 0xc3;
      break;
    case 0xca: {
      uint32_t bits = (uint32_t)load_be(p + 1, 4);
      float f;

      memcpy(&f, &bits, sizeof(f));
      o->type = MSGPACK_OBJECT_FLOAT32;
      o->via.f64 = f;
      break;
    }
    case 0xcb: {
      uint64_t bits = load_be(p + 1, 8);
      double d;

      memcpy(&d, &bits, sizeof(d));
      o->type = MSGPACK_OBJECT_FLOAT64;
      o->via.f64 = d;
      break;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
      o->via.u64 = load_be(p + 1, h.head_len - 1);
      break;
    default: { /* 0xd0..0xd3: signed, sign-extended from its width */
      size_t n = h.head_len - 1;
      int64_t v;

      u = load_be(p + 1, n);
      if (n < 8 && (u >> (8 * n - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * n);
      v = (int64_t)u;
      if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
      } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
      }
      break;
    }
    }
  }
  b->off += (size_t)h.payload_len;
}

int rpcd__mp_decode(const void *data, size_t len, unsigned max_depth,
                    rpcd_mp_doc *doc, char *err, size_t errlen)
{
  size_t n_elems = 0;
  size_t n_pairs = 0;
  builder b;
  int rc;

  memset(doc, 0, sizeof(*doc));
  rc = scan(data, len, max_depth, &n_elems, &n_pairs, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  /* One allocation: array elements first, then map pairs. Counts are
   * bounded by the input length, so this is at most ~48 bytes per input
   * byte. */
  if (n_elems + n_pairs) {
    size_t objs_size = n_elems * sizeof(msgpack_object);
    size_t kvs_size = n_pairs * sizeof(msgpack_object_kv);

    doc->storage = malloc(objs_size + kvs_size);
    if (!doc->storage) {
      rpcd__set_err(err, errlen, "out of memory decoding %zu objects",
                    n_elems + n_pairs);
      return RPCD_ENOMEM;
    }
    b.objs = doc->storage;
    b.kvs = (msgpack_object_kv *)((char *)doc->storage + objs_size);
  } else {
    b.objs = NULL;
    b.kvs = NULL;
  }
  b.p = data;
  b.off = 0;
  build(&b, &doc->root);
  return RPCD_OK;
}

void rpcd__mp_doc_destroy(rpcd_mp_doc *doc)
{
  if (!doc)
    return;
  free(doc->storage);
  doc->storage = NULL;
}

bool rpcd__mp_str_eq(const msgpack_object *o, const char *s)
{
  size_t n = strlen(s);

  return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
         (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}
