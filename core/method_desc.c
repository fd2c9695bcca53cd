/* SPDX-License-Identifier: MIT */
/*
 * Typed method descriptors (plugin ABI 1.2): reading and checking a
 * plugin's rpcd_method_desc and params into the host's layout, the
 * signature line and the rpc.describe fields. See method_desc.h.
 */
#include "method_desc.h"
#include "rpcd_proto.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <rpcd/status.h>

#define RPCD__DOC_MAX 200u
#define RPCD__PARAM_NAME_MAX 64u

#define RPCD__METHOD_FLAGS                                                     \
  (RPCD_METHOD_IDEMPOTENT | RPCD_METHOD_DEPRECATED | RPCD_METHOD_ANY_PARAMS)
#define RPCD__PARAM_FLAGS                                                      \
  (RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT | RPCD_PARAM_RANGE)

static bool rpcd__type_valid(uint32_t type)
{
  return type <= RPCD_TYPE_MAP;
}

int rpcd__desc_copy(void *out, size_t host_size, const void *entry,
                    size_t min_size)
{
  size_t size = rpcd__desc_size(entry);

  if (size < min_size || size > RPCD_DESC_MAX_SIZE)
    return RPCD_EINVAL;
  memset(out, 0, host_size);
  memcpy(out, entry, size < host_size ? size : host_size);
  return RPCD_OK;
}

int rpcd__method_descs_count(const rpcd_method_desc *descs, size_t *count,
                             char *err, size_t errlen)
{
  size_t stride = rpcd__desc_size(descs);
  size_t i;

  if (stride < RPCD_METHOD_DESC_MIN_SIZE || stride > RPCD_DESC_MAX_SIZE) {
    rpcd__set_err(err, errlen, "method descriptor size %zu is not in %zu..%u",
                  stride, (size_t)RPCD_METHOD_DESC_MIN_SIZE,
                  RPCD_DESC_MAX_SIZE);
    return RPCD_EINVAL;
  }
  for (i = 0;; i++) {
    const void *e = rpcd__desc_at(descs, stride, i);
    rpcd_method_desc d;

    /* A wrong size means the stride (or the array) is not what the
     * plugin meant: stop before reading further entries through it. */
    if (rpcd__desc_size(e) != stride) {
      rpcd__set_err(err, errlen,
                    "method descriptor %zu: size %zu differs from the first's "
                    "%zu",
                    i, rpcd__desc_size(e), stride);
      return RPCD_EINVAL;
    }
    rpcd__desc_copy(&d, sizeof(d), e, RPCD_METHOD_DESC_MIN_SIZE);
    if (!d.name)
      break;
  }
  *count = i;
  return RPCD_OK;
}

/* A name for error texts: cut to fit buf, non-printable bytes as '?', so
 * that a corrupt descriptor cannot put garbage in the log. */
static const char *rpcd__printable(const char *s, char *buf, size_t len)
{
  size_t i;

  for (i = 0; s[i] && i + 1 < len; i++)
    buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  buf[i] = '\0';
  return buf;
}

static bool rpcd__param_name_valid(const char *s)
{
  size_t i;

  if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
        s[0] == '_'))
    return false;
  for (i = 1; s[i]; i++) {
    char c = s[i];

    if (i >= RPCD__PARAM_NAME_MAX)
      return false;
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

/* The checks of one param that need only the param itself. */
static int rpcd__param_check(const rpcd_param *p, char *err, size_t errlen,
                             const char *pfx)
{
  bool range = p->flags & RPCD_PARAM_RANGE;
  bool def = p->flags & RPCD_PARAM_DEFAULT;
  char a[40], b[40], c[40];

  if (!rpcd__type_valid(p->type)) {
    rpcd__set_err(err, errlen, "%stype %" PRIu32 " is not a valid type", pfx,
                  p->type);
    return RPCD_EINVAL;
  }
  if (p->flags & ~RPCD__PARAM_FLAGS) {
    rpcd__set_err(err, errlen, "%sunknown flags 0x%" PRIx32, pfx,
                  p->flags & ~RPCD__PARAM_FLAGS);
    return RPCD_EINVAL;
  }
  if (def && !(p->flags & RPCD_PARAM_OPTIONAL)) {
    rpcd__set_err(err, errlen, "%sa default needs OPTIONAL", pfx);
    return RPCD_EINVAL;
  }
  if (range) {
    switch (p->type) {
    case RPCD_TYPE_INT:
      if (p->min_i > p->max_i) {
        rpcd__set_err(err, errlen, "%srange %" PRId64 "..%" PRId64 " is empty",
                      pfx, p->min_i, p->max_i);
        return RPCD_EINVAL;
      }
      break;
    case RPCD_TYPE_UINT:
      if (p->min_u > p->max_u) {
        rpcd__set_err(err, errlen, "%srange %" PRIu64 "..%" PRIu64 " is empty",
                      pfx, p->min_u, p->max_u);
        return RPCD_EINVAL;
      }
      break;
    case RPCD_TYPE_FLOAT:
      if (!isfinite(p->min_f) || !isfinite(p->max_f)) {
        rpcd__set_err(err, errlen, "%srange bounds must be finite", pfx);
        return RPCD_EINVAL;
      }
      if (p->min_f > p->max_f) {
        rpcd__double_text(a, sizeof(a), p->min_f);
        rpcd__double_text(b, sizeof(b), p->max_f);
        rpcd__set_err(err, errlen, "%srange %s..%s is empty", pfx, a, b);
        return RPCD_EINVAL;
      }
      break;
    default:
      rpcd__set_err(err, errlen, "%sa range needs int, uint or float, not %s",
                    pfx, rpcd__type_name(p->type));
      return RPCD_EINVAL;
    }
  }
  if (p->max_len && p->type != RPCD_TYPE_STR && p->type != RPCD_TYPE_BIN &&
      p->type != RPCD_TYPE_ARRAY && p->type != RPCD_TYPE_MAP) {
    rpcd__set_err(err, errlen, "%smax_len needs str, bin, array or map, not %s",
                  pfx, rpcd__type_name(p->type));
    return RPCD_EINVAL;
  }
  if (!def)
    return RPCD_OK;
  switch (p->type) {
  case RPCD_TYPE_NIL:
    return RPCD_OK;
  case RPCD_TYPE_BOOL:
    if (p->def_i != 0 && p->def_i != 1) {
      rpcd__set_err(err, errlen, "%sbool default %" PRId64 " is not 0 or 1",
                    pfx, p->def_i);
      return RPCD_EINVAL;
    }
    return RPCD_OK;
  case RPCD_TYPE_INT:
    if (range && (p->def_i < p->min_i || p->def_i > p->max_i)) {
      rpcd__set_err(err, errlen,
                    "%sdefault %" PRId64 " is outside %" PRId64 "..%" PRId64,
                    pfx, p->def_i, p->min_i, p->max_i);
      return RPCD_EINVAL;
    }
    return RPCD_OK;
  case RPCD_TYPE_UINT:
    if (range && (p->def_u < p->min_u || p->def_u > p->max_u)) {
      rpcd__set_err(err, errlen,
                    "%sdefault %" PRIu64 " is outside %" PRIu64 "..%" PRIu64,
                    pfx, p->def_u, p->min_u, p->max_u);
      return RPCD_EINVAL;
    }
    return RPCD_OK;
  case RPCD_TYPE_FLOAT:
    /* The signature and rpc.describe show it as JSON, which has no NaN. */
    if (!isfinite(p->def_f)) {
      rpcd__set_err(err, errlen, "%sdefault must be finite", pfx);
      return RPCD_EINVAL;
    }
    if (range && (p->def_f < p->min_f || p->def_f > p->max_f)) {
      rpcd__double_text(a, sizeof(a), p->def_f);
      rpcd__double_text(b, sizeof(b), p->min_f);
      rpcd__double_text(c, sizeof(c), p->max_f);
      rpcd__set_err(err, errlen, "%sdefault %s is outside %s..%s", pfx, a, b,
                    c);
      return RPCD_EINVAL;
    }
    return RPCD_OK;
  case RPCD_TYPE_STR:
  case RPCD_TYPE_BIN:
    if (p->def_len > 0 && !p->def_s) {
      rpcd__set_err(err, errlen, "%sdefault of %zu bytes has no bytes (def_s)",
                    pfx, p->def_len);
      return RPCD_EINVAL;
    }
    /* msgpack str/bin sizes are 32-bit. */
    if (p->def_len > UINT32_MAX) {
      rpcd__set_err(err, errlen, "%sdefault of %zu bytes is too long", pfx,
                    p->def_len);
      return RPCD_EINVAL;
    }
    if (p->max_len && p->def_len > p->max_len) {
      rpcd__set_err(err, errlen,
                    "%sdefault of %zu bytes is longer than max_len %" PRIu64,
                    pfx, p->def_len, p->max_len);
      return RPCD_EINVAL;
    }
    return RPCD_OK;
  default:
    rpcd__set_err(err, errlen, "%s%s params cannot have a default", pfx,
                  rpcd__type_name(p->type));
    return RPCD_EINVAL;
  }
}

/* Read and check d->params (not NULL) into spec->params. */
static int rpcd__params_read(rpcd_method_spec *spec, const rpcd_param *list,
                             const char *mname, char *err, size_t errlen)
{
  size_t stride = rpcd__desc_size(list);
  rpcd_param tmp[RPCD_MAX_PARAMS];
  char pfx[360], nbuf[72];
  uint32_t n, i, j;
  bool optional_seen = false;

  if (stride < RPCD_PARAM_MIN_SIZE || stride > RPCD_DESC_MAX_SIZE) {
    rpcd__set_err(err, errlen,
                  "method \"%s\": param 0: size %zu is not in %zu..%u", mname,
                  stride, (size_t)RPCD_PARAM_MIN_SIZE, RPCD_DESC_MAX_SIZE);
    return RPCD_EINVAL;
  }
  for (n = 0;; n++) {
    const void *e = rpcd__desc_at(list, stride, n);
    rpcd_param p;

    /* Checked before anything else of the entry is read: a wrong size
     * means the list is not laid out as the first entry says. */
    if (rpcd__desc_size(e) != stride) {
      rpcd__set_err(err, errlen,
                    "method \"%s\": param %" PRIu32
                    ": size %zu differs from the first's %zu",
                    mname, n, rpcd__desc_size(e), stride);
      return RPCD_EINVAL;
    }
    rpcd__desc_copy(&p, sizeof(p), e, RPCD_PARAM_MIN_SIZE);
    if (!p.name)
      break;
    if (n == RPCD_MAX_PARAMS) {
      rpcd__set_err(err, errlen, "method \"%s\": more than %u params", mname,
                    RPCD_MAX_PARAMS);
      return RPCD_EINVAL;
    }
    if (!rpcd__param_name_valid(p.name)) {
      rpcd__set_err(err, errlen,
                    "method \"%s\": param %" PRIu32
                    ": name \"%s\" is not [A-Za-z_][A-Za-z0-9_]{0,63}",
                    mname, n, rpcd__printable(p.name, nbuf, sizeof(nbuf)));
      return RPCD_EINVAL;
    }
    snprintf(pfx, sizeof(pfx), "method \"%s\": param \"%s\": ", mname, p.name);
    for (j = 0; j < n; j++) {
      if (strcmp(tmp[j].name, p.name) == 0) {
        rpcd__set_err(err, errlen, "%sdeclared twice", pfx);
        return RPCD_EINVAL;
      }
    }
    if (rpcd__param_check(&p, err, errlen, pfx) != RPCD_OK)
      return RPCD_EINVAL;
    if (p.flags & RPCD_PARAM_OPTIONAL) {
      optional_seen = true;
    } else if (optional_seen) {
      rpcd__set_err(err, errlen, "%srequired after an optional param", pfx);
      return RPCD_EINVAL;
    }
    p.size = sizeof(p); /* now in the host's layout */
    tmp[n] = p;
  }
  if (n == 0)
    return RPCD_OK;
  spec->params = malloc(n * sizeof(*spec->params));
  if (!spec->params) {
    rpcd__set_err(err, errlen, "method \"%s\": out of memory", mname);
    return RPCD_ENOMEM;
  }
  for (i = 0; i < n; i++)
    spec->params[i] = tmp[i];
  spec->nparams = n;
  return RPCD_OK;
}

int rpcd__method_spec_read(rpcd_method_spec *spec, const rpcd_method_desc *d,
                           char *err, size_t errlen)
{
  rpcd_method_desc md;
  char nbuf[256];
  const char *name;
  size_t i;
  int rc;

  rpcd__method_spec_untyped(spec);
  if (rpcd__desc_copy(&md, sizeof(md), d, RPCD_METHOD_DESC_MIN_SIZE) !=
      RPCD_OK) {
    rpcd__set_err(err, errlen, "method descriptor size %zu is not in %zu..%u",
                  rpcd__desc_size(d), (size_t)RPCD_METHOD_DESC_MIN_SIZE,
                  RPCD_DESC_MAX_SIZE);
    return RPCD_EINVAL;
  }
  if (!md.name) {
    rpcd__set_err(err, errlen, "method descriptor without a name");
    return RPCD_EINVAL;
  }
  name = rpcd__printable(md.name, nbuf, sizeof(nbuf));
  if (md.flags & ~RPCD__METHOD_FLAGS) {
    rpcd__set_err(err, errlen, "method \"%s\": unknown flags 0x%" PRIx32, name,
                  md.flags & ~RPCD__METHOD_FLAGS);
    return RPCD_EINVAL;
  }
  if (!rpcd__type_valid(md.result)) {
    rpcd__set_err(err, errlen,
                  "method \"%s\": result type %" PRIu32 " is not a valid type",
                  name, md.result);
    return RPCD_EINVAL;
  }
  if (md.doc) {
    for (i = 0; md.doc[i]; i++) {
      unsigned char c = (unsigned char)md.doc[i];

      if (i >= RPCD__DOC_MAX) {
        rpcd__set_err(err, errlen, "method \"%s\": doc is longer than %u bytes",
                      name, RPCD__DOC_MAX);
        return RPCD_EINVAL;
      }
      if (c < 0x20 || c == 0x7f) {
        rpcd__set_err(err, errlen,
                      "method \"%s\": doc has a newline or control character",
                      name);
        return RPCD_EINVAL;
      }
    }
  }
  if (md.flags & RPCD_METHOD_ANY_PARAMS) {
    /* Declared params would be ignored: refuse rather than mislead. */
    if (md.params && md.params->name) {
      rpcd__set_err(err, errlen,
                    "method \"%s\": declares params but takes any params",
                    name);
      return RPCD_EINVAL;
    }
  } else if (md.params) {
    rc = rpcd__params_read(spec, md.params, name, err, errlen);
    if (rc != RPCD_OK) {
      rpcd__method_spec_free(spec);
      return rc;
    }
  }
  spec->typed = !(md.flags & RPCD_METHOD_ANY_PARAMS);
  spec->result = md.result;
  spec->flags = md.flags;
  spec->doc = md.doc;
  return RPCD_OK;
}

void rpcd__method_spec_untyped(rpcd_method_spec *spec)
{
  memset(spec, 0, sizeof(*spec));
  spec->typed = false;
  spec->result = RPCD_TYPE_ANY;
}

void rpcd__method_spec_free(rpcd_method_spec *spec)
{
  free(spec->params);
  rpcd__method_spec_untyped(spec);
}

/* ---- Signature ---------------------------------------------------------- */

/* Appends into buf[0..len-1), counting what the whole text needs. */
typedef struct rpcd__sigbuf {
  char *buf;
  size_t len;
  size_t need;
} rpcd__sigbuf;

static void rpcd__sig_putn(rpcd__sigbuf *sb, const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++, sb->need++) {
    if (sb->need + 1 < sb->len)
      sb->buf[sb->need] = s[i];
  }
}

static void rpcd__sig_puts(rpcd__sigbuf *sb, const char *s)
{
  rpcd__sig_putn(sb, s, strlen(s));
}

static void rpcd__sig_printf(rpcd__sigbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void rpcd__sig_printf(rpcd__sigbuf *sb, const char *fmt, ...)
{
  char tmp[96];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0)
    rpcd__sig_putn(sb, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : 0);
}

static void rpcd__sig_double(rpcd__sigbuf *sb, double d)
{
  char tmp[40];

  rpcd__double_text(tmp, sizeof(tmp), d);
  rpcd__sig_puts(sb, tmp);
}

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes
 * (UTF-8) as they are. */
static void rpcd__sig_json_str(rpcd__sigbuf *sb, const char *s, size_t n)
{
  size_t i;

  rpcd__sig_puts(sb, "\"");
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      rpcd__sig_putn(sb, esc, 2);
    } else if (c == '\n') {
      rpcd__sig_puts(sb, "\\n");
    } else if (c == '\t') {
      rpcd__sig_puts(sb, "\\t");
    } else if (c == '\r') {
      rpcd__sig_puts(sb, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
      rpcd__sig_printf(sb, "\\u%04x", c);
    } else {
      rpcd__sig_putn(sb, s + i, 1);
    }
  }
  rpcd__sig_puts(sb, "\"");
}

static void rpcd__sig_param(rpcd__sigbuf *sb, const rpcd_param *p)
{
  rpcd__sig_puts(sb, p->name);
  rpcd__sig_puts(sb, (p->flags & RPCD_PARAM_OPTIONAL) ? "?: " : ": ");
  rpcd__sig_puts(sb, rpcd__type_name(p->type));
  if (p->flags & RPCD_PARAM_RANGE) {
    if (p->type == RPCD_TYPE_INT) {
      rpcd__sig_printf(sb, " %" PRId64 "..%" PRId64, p->min_i, p->max_i);
    } else if (p->type == RPCD_TYPE_UINT) {
      rpcd__sig_printf(sb, " %" PRIu64 "..%" PRIu64, p->min_u, p->max_u);
    } else if (p->type == RPCD_TYPE_FLOAT) {
      rpcd__sig_puts(sb, " ");
      rpcd__sig_double(sb, p->min_f);
      rpcd__sig_puts(sb, "..");
      rpcd__sig_double(sb, p->max_f);
    }
  }
  if (p->max_len)
    rpcd__sig_printf(sb, " <=%" PRIu64, p->max_len);
  if (!(p->flags & RPCD_PARAM_DEFAULT))
    return;
  rpcd__sig_puts(sb, " = ");
  switch (p->type) {
  case RPCD_TYPE_BOOL:
    rpcd__sig_puts(sb, p->def_i ? "true" : "false");
    break;
  case RPCD_TYPE_INT:
    rpcd__sig_printf(sb, "%" PRId64, p->def_i);
    break;
  case RPCD_TYPE_UINT:
    rpcd__sig_printf(sb, "%" PRIu64, p->def_u);
    break;
  case RPCD_TYPE_FLOAT:
    rpcd__sig_double(sb, p->def_f);
    break;
  case RPCD_TYPE_STR:
    rpcd__sig_json_str(sb, p->def_s ? p->def_s : "", p->def_len);
    break;
  case RPCD_TYPE_BIN:
    rpcd__sig_printf(sb, "\"<%zu bytes>\"", p->def_len);
    break;
  default:
    rpcd__sig_puts(sb, "null");
    break;
  }
}

size_t rpcd__method_signature(const char *name, const rpcd_method_spec *spec,
                              char *buf, size_t len)
{
  rpcd__sigbuf sb = {buf, len, 0};
  uint32_t i;

  rpcd__sig_puts(&sb, name);
  if (!spec->typed) {
    rpcd__sig_puts(&sb, "(...)");
  } else {
    rpcd__sig_puts(&sb, "(");
    for (i = 0; i < spec->nparams; i++) {
      if (i > 0)
        rpcd__sig_puts(&sb, ", ");
      rpcd__sig_param(&sb, &spec->params[i]);
    }
    rpcd__sig_puts(&sb, ")");
  }
  rpcd__sig_puts(&sb, " -> ");
  rpcd__sig_puts(&sb, rpcd__type_name(spec->result));
  if (len == 0)
    return sb.need;
  if (sb.need < len) {
    buf[sb.need] = '\0';
  } else {
    /* Cut to room for "..." and the NUL, never inside a UTF-8 sequence. */
    size_t cut = len > 4 ? len - 4 : 0;

    while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
      cut--;
    for (i = 0; cut + 1 < len && i < 3; i++)
      buf[cut++] = '.';
    buf[cut] = '\0';
  }
  return sb.need;
}

/* ---- rpc.describe fields ------------------------------------------------ */

static int rpcd__pack_cstr(msgpack_packer *pk, const char *s)
{
  size_t n = strlen(s);
  int rc = msgpack_pack_str(pk, n);

  return rc ? rc : msgpack_pack_str_body(pk, s, n);
}

#define RPCD__TRY(expr)                                                        \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != 0)                                                              \
      return rc_;                                                              \
  } while (0)

static int rpcd__pack_param(msgpack_packer *pk, const rpcd_param *p)
{
  bool range = p->flags & RPCD_PARAM_RANGE;
  bool def = p->flags & RPCD_PARAM_DEFAULT;
  size_t n = 3 + (range ? 2 : 0) + (p->max_len ? 1 : 0) + (def ? 1 : 0);

  RPCD__TRY(msgpack_pack_map(pk, n));
  RPCD__TRY(rpcd__pack_cstr(pk, "name"));
  RPCD__TRY(rpcd__pack_cstr(pk, p->name));
  RPCD__TRY(rpcd__pack_cstr(pk, "type"));
  RPCD__TRY(rpcd__pack_cstr(pk, rpcd__type_name(p->type)));
  RPCD__TRY(rpcd__pack_cstr(pk, "required"));
  RPCD__TRY(p->flags & RPCD_PARAM_OPTIONAL ? msgpack_pack_false(pk)
                                           : msgpack_pack_true(pk));
  if (range) {
    RPCD__TRY(rpcd__pack_cstr(pk, "min"));
    if (p->type == RPCD_TYPE_INT)
      RPCD__TRY(msgpack_pack_int64(pk, p->min_i));
    else if (p->type == RPCD_TYPE_UINT)
      RPCD__TRY(msgpack_pack_uint64(pk, p->min_u));
    else
      RPCD__TRY(msgpack_pack_double(pk, p->min_f));
    RPCD__TRY(rpcd__pack_cstr(pk, "max"));
    if (p->type == RPCD_TYPE_INT)
      RPCD__TRY(msgpack_pack_int64(pk, p->max_i));
    else if (p->type == RPCD_TYPE_UINT)
      RPCD__TRY(msgpack_pack_uint64(pk, p->max_u));
    else
      RPCD__TRY(msgpack_pack_double(pk, p->max_f));
  }
  if (p->max_len) {
    RPCD__TRY(rpcd__pack_cstr(pk, "max_len"));
    RPCD__TRY(msgpack_pack_uint64(pk, p->max_len));
  }
  if (!def)
    return 0;
  RPCD__TRY(rpcd__pack_cstr(pk, "default"));
  switch (p->type) {
  case RPCD_TYPE_BOOL:
    return p->def_i ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  case RPCD_TYPE_INT:
    return msgpack_pack_int64(pk, p->def_i);
  case RPCD_TYPE_UINT:
    return msgpack_pack_uint64(pk, p->def_u);
  case RPCD_TYPE_FLOAT:
    return msgpack_pack_double(pk, p->def_f);
  case RPCD_TYPE_STR:
    RPCD__TRY(msgpack_pack_str(pk, p->def_len));
    return msgpack_pack_str_body(pk, p->def_s ? p->def_s : "", p->def_len);
  case RPCD_TYPE_BIN:
    RPCD__TRY(msgpack_pack_bin(pk, p->def_len));
    return msgpack_pack_bin_body(pk, p->def_s ? p->def_s : "", p->def_len);
  default:
    return msgpack_pack_nil(pk);
  }
}

static const struct {
  uint32_t flag;
  const char *name;
} rpcd__method_flag_names[] = {
    {RPCD_METHOD_IDEMPOTENT, "idempotent"},
    {RPCD_METHOD_DEPRECATED, "deprecated"},
    {RPCD_METHOD_ANY_PARAMS, "any_params"},
};

#define RPCD__NFLAGS                                                           \
  (sizeof(rpcd__method_flag_names) / sizeof(rpcd__method_flag_names[0]))

static int rpcd__pack_signature(msgpack_packer *pk, const char *name,
                                const rpcd_method_spec *spec)
{
  char small[512];
  char *big = NULL;
  size_t need = rpcd__method_signature(name, spec, small, sizeof(small));
  const char *sig = small;
  int rc;

  /* A long signature gets a buffer of its own; without memory it is sent
   * truncated rather than not at all. */
  if (need >= sizeof(small)) {
    big = malloc(need + 1);
    if (big) {
      rpcd__method_signature(name, spec, big, need + 1);
      sig = big;
    }
  }
  rc = rpcd__pack_cstr(pk, sig);
  free(big);
  return rc;
}

int rpcd__method_spec_pack(msgpack_packer *pk, const char *name,
                           const rpcd_method_spec *spec)
{
  size_t nflags = 0, i;
  uint32_t j;

  RPCD__TRY(rpcd__pack_cstr(pk, "signature"));
  RPCD__TRY(rpcd__pack_signature(pk, name, spec));
  RPCD__TRY(rpcd__pack_cstr(pk, "doc"));
  RPCD__TRY(rpcd__pack_cstr(pk, spec->doc ? spec->doc : ""));
  RPCD__TRY(rpcd__pack_cstr(pk, "flags"));
  for (i = 0; i < RPCD__NFLAGS; i++)
    nflags += (spec->flags & rpcd__method_flag_names[i].flag) != 0;
  RPCD__TRY(msgpack_pack_array(pk, nflags));
  for (i = 0; i < RPCD__NFLAGS; i++) {
    if (spec->flags & rpcd__method_flag_names[i].flag)
      RPCD__TRY(rpcd__pack_cstr(pk, rpcd__method_flag_names[i].name));
  }
  RPCD__TRY(rpcd__pack_cstr(pk, "typed"));
  RPCD__TRY(spec->typed ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
  RPCD__TRY(rpcd__pack_cstr(pk, "params"));
  RPCD__TRY(msgpack_pack_array(pk, spec->typed ? spec->nparams : 0));
  for (j = 0; spec->typed && j < spec->nparams; j++)
    RPCD__TRY(rpcd__pack_param(pk, &spec->params[j]));
  RPCD__TRY(rpcd__pack_cstr(pk, "result"));
  return rpcd__pack_cstr(pk, rpcd__type_name(spec->result));
}
