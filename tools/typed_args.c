/* SPDX-License-Identifier: MIT */
/*
 * rpcctl's checks of a typed method's arguments, from the descriptor that
 * rpc.describe answers. The rules are the server's (core/param_check.c), so
 * that what rpcctl refuses the server would refuse too, with the same
 * message; rpcctl only adds conversions of what is typed on a command line.
 */
#include "typed_args.h"
#include "json_msgpack.h"
#include "rpcd_proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reading the descriptor                                                    */

static const char *const type_names[] = {
    [RPCD_CTL_ANY] = "any",     [RPCD_CTL_NIL] = "nil",
    [RPCD_CTL_BOOL] = "bool",   [RPCD_CTL_INT] = "int",
    [RPCD_CTL_UINT] = "uint",   [RPCD_CTL_FLOAT] = "float",
    [RPCD_CTL_STR] = "str",     [RPCD_CTL_BIN] = "bin",
    [RPCD_CTL_ARRAY] = "array", [RPCD_CTL_MAP] = "map"};

static rpcd_ctl_type type_from(const msgpack_object *o)
{
  size_t i;

  for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
    if (rpcd__mp_str_eq(o, type_names[i]))
      return (rpcd_ctl_type)i;
  return RPCD_CTL_ANY;
}

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
  uint32_t i;

  if (map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (i = 0; i < map->via.map.size; i++)
    if (rpcd__mp_str_eq(&map->via.map.ptr[i].key, key))
      return &map->via.map.ptr[i].val;
  return NULL;
}

static bool is_number(const msgpack_object *o)
{
  return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
               o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
               o->type == MSGPACK_OBJECT_FLOAT32 ||
               o->type == MSGPACK_OBJECT_FLOAT64);
}

static char *str_dup(const msgpack_object *o)
{
  char *s;

  if (!o || o->type != MSGPACK_OBJECT_STR)
    return strdup("");
  s = malloc((size_t)o->via.str.size + 1);
  if (s) {
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
  }
  return s;
}

/* The JSON text of o, malloc'ed; NULL when out of memory. */
static char *json_text(const msgpack_object *o)
{
  rpcd_json_buf out;
  char *s;

  rpcd__json_buf_init(&out);
  if (rpcd__json_dump(&out, o, 0) != RPCD_OK || !out.data) {
    rpcd__json_buf_destroy(&out);
    return NULL;
  }
  s = strdup(out.data);
  rpcd__json_buf_destroy(&out);
  return s;
}

void rpcd__ctl_desc_free(rpcd_ctl_desc *d)
{
  size_t i;

  for (i = 0; i < d->nparams; i++) {
    free(d->params[i].name);
    free(d->params[i].type_name);
    free(d->params[i].def_json);
  }
  free(d->params);
  d->params = NULL;
  d->nparams = 0;
  d->typed = false;
}

static int read_param(rpcd_ctl_param *p, const msgpack_object *m, size_t i,
                      char *err, size_t errlen)
{
  const msgpack_object *name = map_get(m, "name");
  const msgpack_object *type = map_get(m, "type");
  const msgpack_object *req = map_get(m, "required");
  const msgpack_object *min = map_get(m, "min");
  const msgpack_object *max = map_get(m, "max");
  const msgpack_object *max_len = map_get(m, "max_len");
  const msgpack_object *def = map_get(m, "default");

  if (m->type != MSGPACK_OBJECT_MAP || !name ||
      name->type != MSGPACK_OBJECT_STR || name->via.str.size == 0 ||
      memchr(name->via.str.ptr, '\0', name->via.str.size)) {
    rpcd__set_err(err, errlen, "param %zu of the descriptor has no name",
                  i + 1);
    return RPCD_EPROTO;
  }
  p->name = str_dup(name);
  p->type_name = str_dup(type);
  if (!p->name || !p->type_name)
    return RPCD_ENOMEM;
  p->type = type ? type_from(type) : RPCD_CTL_ANY;
  p->required = req && req->type == MSGPACK_OBJECT_BOOLEAN && req->via.boolean;
  if (is_number(min) && is_number(max)) {
    p->has_range = true;
    p->min = *min;
    p->max = *max;
  }
  if (max_len && max_len->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    p->max_len = max_len->via.u64;
  if (def) {
    p->def_json = json_text(def);
    if (!p->def_json)
      return RPCD_ENOMEM;
  }
  return RPCD_OK;
}

int rpcd__ctl_desc_read(rpcd_ctl_desc *d, const msgpack_object *root, char *err,
                        size_t errlen)
{
  const msgpack_object *typed;
  const msgpack_object *params;
  uint32_t i;
  int rc;

  memset(d, 0, sizeof(*d));
  if (root->type != MSGPACK_OBJECT_MAP) {
    rpcd__set_err(err, errlen, "the descriptor is not a map");
    return RPCD_EPROTO;
  }
  typed = map_get(root, "typed");
  params = map_get(root, "params");
  if (!typed || typed->type != MSGPACK_OBJECT_BOOLEAN || !typed->via.boolean)
    return RPCD_OK;
  if (!params || params->type != MSGPACK_OBJECT_ARRAY) {
    rpcd__set_err(err, errlen, "a typed descriptor without params");
    return RPCD_EPROTO;
  }
  if (params->via.array.size > 0) {
    d->params = calloc(params->via.array.size, sizeof(*d->params));
    if (!d->params)
      return RPCD_ENOMEM;
  }
  for (i = 0; i < params->via.array.size; i++) {
    d->nparams = i + 1;
    rc = read_param(&d->params[i], &params->via.array.ptr[i], i, err, errlen);
    if (rc != RPCD_OK) {
      rpcd__ctl_desc_free(d);
      return rc;
    }
  }
  d->typed = true;
  return RPCD_OK;
}

/* ------------------------------------------------------------------------ */
/* Texts                                                                     */

/* A number as the server writes it: integers exact, floats shortest. */
static void number_text(const msgpack_object *o, char *buf, size_t len)
{
  int prec;

  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    snprintf(buf, len, "%" PRIu64, o->via.u64);
    return;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    snprintf(buf, len, "%" PRId64, o->via.i64);
    return;
  }
  for (prec = 1; prec < 17; prec++) {
    snprintf(buf, len, "%.*g", prec, o->via.f64);
    if (strtod(buf, NULL) == o->via.f64)
      return;
  }
  snprintf(buf, len, "%.17g", o->via.f64);
}

static bool has_len(rpcd_ctl_type t)
{
  return t == RPCD_CTL_STR || t == RPCD_CTL_BIN || t == RPCD_CTL_ARRAY ||
         t == RPCD_CTL_MAP;
}

static bool is_numeric(rpcd_ctl_type t)
{
  return t == RPCD_CTL_INT || t == RPCD_CTL_UINT || t == RPCD_CTL_FLOAT;
}

/* What p wants, e.g. "uint in 0..93" or "str of at most 255 bytes". */
static void expected_text(const rpcd_ctl_param *p, char *buf, size_t len)
{
  char a[48], b[48];

  if (p->has_range && is_numeric(p->type)) {
    number_text(&p->min, a, sizeof(a));
    number_text(&p->max, b, sizeof(b));
    snprintf(buf, len, "%s in %s..%s", type_names[p->type], a, b);
  } else if (p->max_len && has_len(p->type)) {
    snprintf(buf, len, "%s of at most %" PRIu64 " %s", type_names[p->type],
             p->max_len,
             p->type == RPCD_CTL_STR || p->type == RPCD_CTL_BIN ? "bytes"
                                                                : "elements");
  } else {
    snprintf(buf, len, "%s", type_names[p->type]);
  }
}

int rpcd__ctl_param_text(const rpcd_ctl_param *p, char *buf, size_t len)
{
  char a[48], b[48];
  size_t n;

  n = (size_t)snprintf(buf, len, "%s, %s", p->type_name,
                       p->required ? "required" : "optional");
  if (p->has_range && n < len) {
    number_text(&p->min, a, sizeof(a));
    number_text(&p->max, b, sizeof(b));
    n += (size_t)snprintf(buf + n, len - n, ", range %s..%s", a, b);
  }
  if (p->max_len && n < len)
    n +=
        (size_t)snprintf(buf + n, len - n, ", max length %" PRIu64, p->max_len);
  if (p->def_json && n < len)
    n += (size_t)snprintf(buf + n, len - n, ", default %s", p->def_json);
  return n < len ? RPCD_OK : RPCD_ENOMEM;
}

/* The msgpack type of o as the server's messages name it. */
static const char *got_type(const msgpack_object *o)
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

/* ------------------------------------------------------------------------ */
/* Checking one value                                                        */

static double as_double(const msgpack_object *o)
{
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (double)o->via.u64;
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return (double)o->via.i64;
  return o->via.f64;
}

/* a < b, a == b, a > b as -1, 0, 1 for numbers; integers compare exactly.
 * A NaN compares as 2 (neither). */
static int num_cmp(const msgpack_object *a, const msgpack_object *b)
{
  bool ai = a->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
            a->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
  bool bi = b->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
            b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
  double x, y;

  if (ai && bi) {
    bool an = a->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    bool bn = b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;

    if (an != bn)
      return an ? -1 : 1;
    if (an)
      return a->via.i64 < b->via.i64 ? -1 : a->via.i64 > b->via.i64;
    return a->via.u64 < b->via.u64 ? -1 : a->via.u64 > b->via.u64;
  }
  x = as_double(a);
  y = as_double(b);
  if (x < y)
    return -1;
  if (x > y)
    return 1;
  return x == y ? 0 : 2;
}

static bool in_range(const rpcd_ctl_param *p, const msgpack_object *o)
{
  int lo, hi;

  if (!p->has_range)
    return true;
  lo = num_cmp(o, &p->min);
  hi = num_cmp(o, &p->max);
  return (lo == 0 || lo == 1) && (hi == 0 || hi == -1);
}

/* Check one value against its param, as core/param_check.c does. */
static int check_value(const rpcd_ctl_param *p, const msgpack_object *o,
                       char *err, size_t errlen)
{
  bool pos = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
  bool neg = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
  bool flt =
      o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
  bool type_ok;
  bool fits = true;
  uint64_t n = 0;
  char want[128], got[48];

  switch (p->type) {
  case RPCD_CTL_ANY:
    return RPCD_OK;
  case RPCD_CTL_NIL:
    type_ok = o->type == MSGPACK_OBJECT_NIL;
    break;
  case RPCD_CTL_BOOL:
    type_ok = o->type == MSGPACK_OBJECT_BOOLEAN;
    break;
  case RPCD_CTL_INT:
    type_ok = pos || neg;
    fits =
        type_ok && !(pos && o->via.u64 > (uint64_t)INT64_MAX) && in_range(p, o);
    break;
  case RPCD_CTL_UINT:
    type_ok = pos;
    fits = type_ok && in_range(p, o);
    break;
  case RPCD_CTL_FLOAT:
    type_ok = pos || neg || flt;
    fits = type_ok && in_range(p, o);
    break;
  case RPCD_CTL_STR:
    type_ok = o->type == MSGPACK_OBJECT_STR;
    n = type_ok ? o->via.str.size : 0;
    break;
  case RPCD_CTL_BIN:
    type_ok = o->type == MSGPACK_OBJECT_BIN;
    n = type_ok ? o->via.bin.size : 0;
    break;
  case RPCD_CTL_ARRAY:
    type_ok = o->type == MSGPACK_OBJECT_ARRAY;
    n = type_ok ? o->via.array.size : 0;
    break;
  default: /* RPCD_CTL_MAP */
    type_ok = o->type == MSGPACK_OBJECT_MAP;
    n = type_ok ? o->via.map.size : 0;
    break;
  }
  if (type_ok && has_len(p->type) && p->max_len && n > p->max_len)
    fits = false;
  if (type_ok && fits)
    return RPCD_OK;
  expected_text(p, want, sizeof(want));
  if (!type_ok && !(p->type == RPCD_CTL_UINT && neg))
    snprintf(got, sizeof(got), "%s", got_type(o));
  else if (p->type == RPCD_CTL_STR || p->type == RPCD_CTL_BIN)
    snprintf(got, sizeof(got), "%" PRIu64 " bytes", n);
  else if (has_len(p->type))
    snprintf(got, sizeof(got), "%" PRIu64, n);
  else
    number_text(o, got, sizeof(got));
  rpcd__set_err(err, errlen, "param %s: expected %s, got %s", p->name, want,
                got);
  return RPCD_EINVAL;
}

/* msgpack-c's writers fail only when their buffer cannot grow. */
#define PACK(call)                                                             \
  do {                                                                         \
    if ((call) != 0)                                                           \
      return RPCD_ENOMEM;                                                      \
  } while (0)

/* Convert (a str for a bin param becomes bin), check and pack one value. */
static int pack_value(msgpack_packer *pk, const rpcd_ctl_param *p,
                      const msgpack_object *o, char *err, size_t errlen)
{
  msgpack_object v = *o;
  int rc;

  if (p->type == RPCD_CTL_BIN && o->type == MSGPACK_OBJECT_STR) {
    v.type = MSGPACK_OBJECT_BIN;
    v.via.bin.ptr = o->via.str.ptr;
    v.via.bin.size = o->via.str.size;
  }
  rc = check_value(p, &v, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  PACK(msgpack_pack_object(pk, v));
  return RPCD_OK;
}

/* Text that reads as a word the user meant as a string (`x`, `abc-1`),
 * short enough to quote back in a message. */
static bool bare_word(const char *text)
{
  size_t i;

  if (!isalpha((unsigned char)text[0]) && text[0] != '_')
    return false;
  for (i = 0; text[i]; i++) {
    unsigned char c = (unsigned char)text[i];

    if (i >= 64 || !(isalnum(c) || strchr("_-.:/@+", c)))
      return false;
  }
  return true;
}

/*
 * ARG `text`, the `argno`-th on the command line, for param p: parsed as a
 * JSON literal (or, for str and bin, taken as it is when it is not JSON),
 * checked and packed.
 */
static int pack_arg(msgpack_packer *pk, const rpcd_ctl_param *p,
                    const char *text, int argno, char *err, size_t errlen)
{
  msgpack_sbuffer tmp;
  msgpack_packer tpk;
  rpcd_mp_doc doc;
  char what[128];
  char jerr[512];
  char want[128];
  int rc;

  msgpack_sbuffer_init(&tmp);
  msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
  snprintf(what, sizeof(what), "argument %d (param %s)", argno, p->name);
  rc = rpcd__json_pack(&tpk, text, 0, what, jerr, sizeof(jerr));
  if (rc == RPCD_EINVAL) {
    size_t n = strlen(text);

    msgpack_sbuffer_destroy(&tmp);
    if (p->type == RPCD_CTL_STR || p->type == RPCD_CTL_BIN) {
      msgpack_object o;

      memset(&o, 0, sizeof(o));
      o.type =
          p->type == RPCD_CTL_STR ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN;
      o.via.str.ptr = text;
      o.via.str.size = (uint32_t)n;
      if (n > UINT32_MAX) {
        rpcd__set_err(err, errlen, "param %s: argument too long", p->name);
        return RPCD_EINVAL;
      }
      return pack_value(pk, p, &o, err, errlen);
    }
    if (bare_word(text) && p->type != RPCD_CTL_ANY) {
      expected_text(p, want, sizeof(want));
      rpcd__set_err(err, errlen, "param %s: expected %s, got %s", p->name, want,
                    text);
    } else {
      rpcd__set_err(err, errlen, "%s", jerr);
    }
    return RPCD_EINVAL;
  }
  if (rc != RPCD_OK) {
    msgpack_sbuffer_destroy(&tmp);
    rpcd__set_err(err, errlen, "%s", jerr);
    return rc;
  }
  rc = rpcd__mp_decode(tmp.data, tmp.size, RPCD_JSON_MAX_DEPTH + 1, &doc, jerr,
                       sizeof(jerr));
  if (rc == RPCD_OK) {
    rc = pack_value(pk, p, &doc.root, err, errlen);
    rpcd__mp_doc_destroy(&doc);
  } else {
    rpcd__set_err(err, errlen, "argument %d: %s", argno, jerr);
    rc = rc == RPCD_ENOMEM ? rc : RPCD_EINVAL;
  }
  msgpack_sbuffer_destroy(&tmp);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* All the arguments                                                         */

/* The param ARG names in the form NAME=VALUE, or -1. */
static long named_form(const rpcd_ctl_desc *d, const char *arg)
{
  const char *eq;
  size_t i;

  if (!isalpha((unsigned char)arg[0]) && arg[0] != '_')
    return -1;
  for (eq = arg; isalnum((unsigned char)*eq) || *eq == '_'; eq++)
    ;
  if (*eq != '=')
    return -1;
  for (i = 0; i < d->nparams; i++)
    if (strlen(d->params[i].name) == (size_t)(eq - arg) &&
        memcmp(d->params[i].name, arg, (size_t)(eq - arg)) == 0)
      return (long)i;
  return -1;
}

static int missing(const rpcd_ctl_desc *d, const bool *given, char *err,
                   size_t errlen)
{
  size_t i;

  for (i = 0; i < d->nparams; i++) {
    if (!given[i] && d->params[i].required) {
      rpcd__set_err(err, errlen, "param %s: missing", d->params[i].name);
      return RPCD_EINVAL;
    }
  }
  return RPCD_OK;
}

/* --named: the one JSON object, checked member by member. */
static int pack_named_object(msgpack_packer *pk, const rpcd_ctl_desc *d,
                             const char *text, bool *given, char *err,
                             size_t errlen)
{
  msgpack_sbuffer tmp;
  msgpack_packer tpk;
  rpcd_mp_doc doc;
  uint32_t i;
  size_t j;
  int rc;

  msgpack_sbuffer_init(&tmp);
  msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
  rc = rpcd__json_pack(&tpk, text, RPCD_JSON_OBJECT_ONLY, "the named params",
                       err, errlen);
  if (rc == RPCD_OK) {
    rc = rpcd__mp_decode(tmp.data, tmp.size, RPCD_JSON_MAX_DEPTH + 1, &doc, err,
                         errlen);
    if (rc == RPCD_EPROTO)
      rc = RPCD_EINVAL;
  }
  if (rc != RPCD_OK) {
    msgpack_sbuffer_destroy(&tmp);
    return rc;
  }
  if (msgpack_pack_map(pk, doc.root.via.map.size) != 0)
    rc = RPCD_ENOMEM;
  for (i = 0; rc == RPCD_OK && i < doc.root.via.map.size; i++) {
    const msgpack_object_kv *kv = &doc.root.via.map.ptr[i];
    const msgpack_object_str *k = &kv->key.via.str;

    for (j = 0; j < d->nparams; j++)
      if (strlen(d->params[j].name) == k->size &&
          memcmp(d->params[j].name, k->ptr, k->size) == 0)
        break;
    if (j == d->nparams) {
      rpcd__set_err(err, errlen, "param %.*s: unknown",
                    (int)(k->size > 64 ? 64 : k->size), k->ptr);
      rc = RPCD_EINVAL;
      break;
    }
    given[j] = true;
    if (msgpack_pack_object(pk, kv->key) != 0) {
      rc = RPCD_ENOMEM;
      break;
    }
    rc = pack_value(pk, &d->params[j], &kv->val, err, errlen);
  }
  rpcd__mp_doc_destroy(&doc);
  msgpack_sbuffer_destroy(&tmp);
  return rc;
}

/* Positional ARGs, some maybe NAME=VALUE. */
static int pack_positional(msgpack_packer *pk, const rpcd_ctl_desc *d, int n,
                           char **args, bool *given, char *err, size_t errlen)
{
  const char **text;
  int *argno;
  size_t next = 0;
  size_t i;
  bool any_named = false;
  int rc = RPCD_OK;
  int a;

  text = calloc(d->nparams + 1, sizeof(*text));
  argno = calloc(d->nparams + 1, sizeof(*argno));
  if (!text || !argno) {
    free(text);
    free(argno);
    return RPCD_ENOMEM;
  }
  for (a = 0; a < n; a++) {
    long j = named_form(d, args[a]);
    size_t slot;

    if (j >= 0) {
      slot = (size_t)j;
      any_named = true;
    } else if (next < d->nparams) {
      slot = next++;
    } else {
      rpcd__set_err(err, errlen, "expected at most %zu param%s, got %d",
                    d->nparams, d->nparams == 1 ? "" : "s", n);
      rc = RPCD_EINVAL;
      goto out;
    }
    if (given[slot]) {
      rpcd__set_err(err, errlen, "param %s: given twice", d->params[slot].name);
      rc = RPCD_EINVAL;
      goto out;
    }
    given[slot] = true;
    text[slot] = j >= 0 ? strchr(args[a], '=') + 1 : args[a];
    argno[slot] = a + 1;
  }
  if (any_named) {
    size_t count = 0;

    for (i = 0; i < d->nparams; i++)
      count += given[i];
    if (msgpack_pack_map(pk, count) != 0)
      rc = RPCD_ENOMEM;
  } else if (msgpack_pack_array(pk, next) != 0) {
    rc = RPCD_ENOMEM;
  }
  for (i = 0; rc == RPCD_OK && i < d->nparams; i++) {
    const rpcd_ctl_param *p = &d->params[i];

    if (!given[i])
      continue;
    if (any_named && (msgpack_pack_str(pk, strlen(p->name)) != 0 ||
                      msgpack_pack_str_body(pk, p->name, strlen(p->name)) != 0))
      rc = RPCD_ENOMEM;
    else
      rc = pack_arg(pk, p, text[i], argno[i], err, errlen);
  }

out:
  free(text);
  free(argno);
  return rc;
}

int rpcd__ctl_args_pack(msgpack_packer *pk, const rpcd_ctl_desc *d, bool named,
                        int n, char **args, char *err, size_t errlen)
{
  msgpack_sbuffer out;
  msgpack_packer opk;
  bool *given;
  int rc;

  if (named && n != 1) {
    rpcd__set_err(err, errlen,
                  "--named takes exactly one JSON object after METHOD, got %d "
                  "arguments",
                  n);
    return RPCD_EINVAL;
  }
  given = calloc(d->nparams + 1, sizeof(*given));
  if (!given)
    return RPCD_ENOMEM;
  msgpack_sbuffer_init(&out);
  msgpack_packer_init(&opk, &out, msgpack_sbuffer_write);
  if (named)
    rc = pack_named_object(&opk, d, args[0], given, err, errlen);
  else
    rc = pack_positional(&opk, d, n, args, given, err, errlen);
  if (rc == RPCD_OK)
    rc = missing(d, given, err, errlen);
  if (rc == RPCD_OK && pk->callback(pk->data, out.data, out.size) != 0)
    rc = RPCD_ENOMEM;
  if (rc == RPCD_ENOMEM)
    rpcd__set_err(err, errlen, "out of memory");
  msgpack_sbuffer_destroy(&out);
  free(given);
  return rc;
}
