/* SPDX-License-Identifier: MIT */
/*
 * Checking a request's params against a typed method's spec and laying
 * them out in declared order. See param_check.h.
 */
#include "param_check.h"
#include "rpcd_proto.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rpcd/status.h>

/* The msgpack type of o as error texts name it. */
static const char *rpcd__got_type(const msgpack_object *o)
{
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return "nil";
  case MSGPACK_OBJECT_BOOLEAN:
    return "bool";
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return "uint";
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return "int";
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return "float";
  case MSGPACK_OBJECT_STR:
    return "str";
  case MSGPACK_OBJECT_BIN:
    return "bin";
  case MSGPACK_OBJECT_ARRAY:
    return "array";
  case MSGPACK_OBJECT_MAP:
    return "map";
  default:
    return "ext";
  }
}

void rpcd__param_expected(const rpcd_param *p, char *buf, size_t len)
{
  const char *type = rpcd__type_name(p->type);
  char a[40], b[40];

  if (p->flags & RPCD_PARAM_RANGE) {
    switch (p->type) {
    case RPCD_TYPE_INT:
      snprintf(buf, len, "int in %" PRId64 "..%" PRId64, p->min_i, p->max_i);
      return;
    case RPCD_TYPE_UINT:
      snprintf(buf, len, "uint in %" PRIu64 "..%" PRIu64, p->min_u, p->max_u);
      return;
    case RPCD_TYPE_FLOAT:
      rpcd__double_text(a, sizeof(a), p->min_f);
      rpcd__double_text(b, sizeof(b), p->max_f);
      snprintf(buf, len, "float in %s..%s", a, b);
      return;
    default:
      break;
    }
  }
  if (p->max_len) {
    bool bytes = p->type == RPCD_TYPE_STR || p->type == RPCD_TYPE_BIN;

    snprintf(buf, len, "%s of at most %" PRIu64 " %s", type, p->max_len,
             bytes ? "bytes" : "elements");
    return;
  }
  snprintf(buf, len, "%s", type);
}

/* The sent value of a number that is out of range, e.g. "100". */
static void rpcd__value_text(const msgpack_object *o, char *buf, size_t len)
{
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    snprintf(buf, len, "%" PRIu64, o->via.u64);
  else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    snprintf(buf, len, "%" PRId64, o->via.i64);
  else
    rpcd__double_text(buf, len, o->via.f64);
}

typedef enum { RPCD__FIT, RPCD__WRONG_TYPE, RPCD__OUT_OF_RANGE } rpcd__fit;

static rpcd__fit rpcd__number_fit(const rpcd_param *p, const msgpack_object *o)
{
  bool range = p->flags & RPCD_PARAM_RANGE;
  bool pos = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
  bool neg = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
  double f;

  switch (p->type) {
  case RPCD_TYPE_INT: {
    int64_t v;

    if (!pos && !neg)
      return RPCD__WRONG_TYPE;
    if (pos && o->via.u64 > (uint64_t)INT64_MAX)
      return RPCD__OUT_OF_RANGE;
    v = pos ? (int64_t)o->via.u64 : o->via.i64;
    return range && (v < p->min_i || v > p->max_i) ? RPCD__OUT_OF_RANGE
                                                   : RPCD__FIT;
  }
  case RPCD_TYPE_UINT:
    if (!pos)
      return RPCD__WRONG_TYPE;
    return range && (o->via.u64 < p->min_u || o->via.u64 > p->max_u)
               ? RPCD__OUT_OF_RANGE
               : RPCD__FIT;
  default: /* RPCD_TYPE_FLOAT */
    if (pos)
      f = (double)o->via.u64;
    else if (neg)
      f = (double)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_FLOAT32 ||
             o->type == MSGPACK_OBJECT_FLOAT64)
      f = o->via.f64;
    else
      return RPCD__WRONG_TYPE;
    /* Written so that NaN fails. */
    return range && !(f >= p->min_f && f <= p->max_f) ? RPCD__OUT_OF_RANGE
                                                      : RPCD__FIT;
  }
}

/* Check one sent value against its param. */
static int rpcd__arg_check(const rpcd_param *p, const msgpack_object *o,
                           char *err, size_t errlen)
{
  char want[96], got[48];
  rpcd__fit fit = RPCD__FIT;
  uint64_t n = 0;
  msgpack_object_type want_type = MSGPACK_OBJECT_NIL;

  switch (p->type) {
  case RPCD_TYPE_ANY:
    return RPCD_OK;
  case RPCD_TYPE_NIL:
  case RPCD_TYPE_BOOL:
    want_type =
        p->type == RPCD_TYPE_NIL ? MSGPACK_OBJECT_NIL : MSGPACK_OBJECT_BOOLEAN;
    fit = o->type == want_type ? RPCD__FIT : RPCD__WRONG_TYPE;
    break;
  case RPCD_TYPE_INT:
  case RPCD_TYPE_UINT:
  case RPCD_TYPE_FLOAT:
    fit = rpcd__number_fit(p, o);
    break;
  default: /* STR, BIN, ARRAY, MAP: a type and a length */
    want_type = p->type == RPCD_TYPE_STR     ? MSGPACK_OBJECT_STR
                : p->type == RPCD_TYPE_BIN   ? MSGPACK_OBJECT_BIN
                : p->type == RPCD_TYPE_ARRAY ? MSGPACK_OBJECT_ARRAY
                                             : MSGPACK_OBJECT_MAP;
    if (o->type != want_type) {
      fit = RPCD__WRONG_TYPE;
      break;
    }
    n = want_type == MSGPACK_OBJECT_STR     ? o->via.str.size
        : want_type == MSGPACK_OBJECT_BIN   ? o->via.bin.size
        : want_type == MSGPACK_OBJECT_ARRAY ? o->via.array.size
                                            : o->via.map.size;
    if (p->max_len && n > p->max_len)
      fit = RPCD__OUT_OF_RANGE;
    break;
  }
  if (fit == RPCD__FIT)
    return RPCD_OK;
  rpcd__param_expected(p, want, sizeof(want));
  if (fit == RPCD__WRONG_TYPE)
    snprintf(got, sizeof(got), "%s", rpcd__got_type(o));
  else if (p->type == RPCD_TYPE_STR || p->type == RPCD_TYPE_BIN)
    snprintf(got, sizeof(got), "%" PRIu64 " bytes", n);
  else if (p->type == RPCD_TYPE_ARRAY || p->type == RPCD_TYPE_MAP)
    snprintf(got, sizeof(got), "%" PRIu64, n); /* as the spec's example */
  else
    rpcd__value_text(o, got, sizeof(got));
  rpcd__set_err(err, errlen, "param %s: expected %s, got %s", p->name, want,
                got);
  return RPCD_EINVAL;
}

/* The object a left-out param holds: its default, or nil. */
static void rpcd__default_arg(const rpcd_param *p, msgpack_object *o)
{
  memset(o, 0, sizeof(*o));
  o->type = MSGPACK_OBJECT_NIL;
  if (!(p->flags & RPCD_PARAM_DEFAULT))
    return;
  switch (p->type) {
  case RPCD_TYPE_BOOL:
    o->type = MSGPACK_OBJECT_BOOLEAN;
    o->via.boolean = p->def_i != 0;
    break;
  case RPCD_TYPE_INT:
    /* msgpack's convention: a non-negative integer is POSITIVE_INTEGER. */
    if (p->def_i < 0) {
      o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
      o->via.i64 = p->def_i;
    } else {
      o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
      o->via.u64 = (uint64_t)p->def_i;
    }
    break;
  case RPCD_TYPE_UINT:
    o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o->via.u64 = p->def_u;
    break;
  case RPCD_TYPE_FLOAT:
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = p->def_f;
    break;
  case RPCD_TYPE_STR:
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = p->def_s;
    o->via.str.size = (uint32_t)p->def_len;
    break;
  case RPCD_TYPE_BIN:
    o->type = MSGPACK_OBJECT_BIN;
    o->via.bin.ptr = p->def_s;
    o->via.bin.size = (uint32_t)p->def_len;
    break;
  default:
    break;
  }
}

/* A sent key for an error text: at most 64 bytes, non-printable as '?'. */
static void rpcd__key_text(const msgpack_object_str *k, char *buf, size_t len)
{
  size_t i;

  for (i = 0; i < k->size && i + 1 < len && i < 64; i++) {
    unsigned char c = (unsigned char)k->ptr[i];

    buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  buf[i] = '\0';
}

static int rpcd__positional(const rpcd_method_spec *spec,
                            const msgpack_object_array *a, msgpack_object *args,
                            uint64_t *given, char *err, size_t errlen)
{
  uint32_t i;

  if (a->size > spec->nparams) {
    rpcd__set_err(err, errlen,
                  "expected at most %" PRIu32 " param%s, got %" PRIu32,
                  spec->nparams, spec->nparams == 1 ? "" : "s", a->size);
    return RPCD_EINVAL;
  }
  for (i = 0; i < a->size; i++) {
    if (rpcd__arg_check(&spec->params[i], &a->ptr[i], err, errlen) != RPCD_OK)
      return RPCD_EINVAL;
    args[i] = a->ptr[i];
    *given |= UINT64_C(1) << i;
  }
  return RPCD_OK;
}

static int rpcd__named(const rpcd_method_spec *spec,
                       const msgpack_object_map *m, msgpack_object *args,
                       uint64_t *given, char *err, size_t errlen)
{
  char name[72];
  uint32_t i, j;

  for (i = 0; i < m->size; i++) {
    const msgpack_object_kv *kv = &m->ptr[i];
    const msgpack_object_str *k = &kv->key.via.str;

    if (kv->key.type != MSGPACK_OBJECT_STR) {
      rpcd__set_err(err, errlen, "named params must have str keys");
      return RPCD_EINVAL;
    }
    for (j = 0; j < spec->nparams; j++) {
      const char *pn = spec->params[j].name;

      if (strlen(pn) == k->size && memcmp(pn, k->ptr, k->size) == 0)
        break;
    }
    if (j == spec->nparams) {
      rpcd__key_text(k, name, sizeof(name));
      rpcd__set_err(err, errlen, "param %s: unknown", name);
      return RPCD_EINVAL;
    }
    if (*given & (UINT64_C(1) << j)) {
      rpcd__set_err(err, errlen, "param %s: given twice", spec->params[j].name);
      return RPCD_EINVAL;
    }
    if (rpcd__arg_check(&spec->params[j], &kv->val, err, errlen) != RPCD_OK)
      return RPCD_EINVAL;
    args[j] = kv->val;
    *given |= UINT64_C(1) << j;
  }
  return RPCD_OK;
}

int rpcd__params_check(const rpcd_method_spec *spec,
                       const msgpack_object *params, msgpack_object *args,
                       uint64_t *given, char *err, size_t errlen)
{
  uint32_t i;
  int rc;

  *given = 0;
  if (!params || (params->type != MSGPACK_OBJECT_ARRAY &&
                  params->type != MSGPACK_OBJECT_MAP)) {
    rpcd__set_err(err, errlen, "params must be an array or a map");
    return RPCD_EINVAL;
  }
  if (!spec->typed)
    return RPCD_OK;
  if (params->type == MSGPACK_OBJECT_ARRAY)
    rc = rpcd__positional(spec, &params->via.array, args, given, err, errlen);
  else
    rc = rpcd__named(spec, &params->via.map, args, given, err, errlen);
  if (rc != RPCD_OK) {
    *given = 0;
    return rc;
  }
  for (i = 0; i < spec->nparams; i++) {
    const rpcd_param *p = &spec->params[i];

    if (*given & (UINT64_C(1) << i))
      continue;
    if (!(p->flags & RPCD_PARAM_OPTIONAL)) {
      rpcd__set_err(err, errlen, "param %s: missing", p->name);
      *given = 0;
      return RPCD_EINVAL;
    }
    rpcd__default_arg(p, &args[i]);
  }
  return RPCD_OK;
}
