/* SPDX-License-Identifier: MIT */
/*
 * rpcctl's side of a typed method's arguments: the descriptor rpc.describe
 * answers read into the server's spec, and what is typed on a command line
 * converted into params. The verdict is the server's own check
 * (common/param_check.c), so that rpcctl refuses what the server would,
 * with the same message.
 */
#include "typed_args.h"
#include "json_msgpack.h"
#include "param_check.h"
#include "rpcd_proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reading the descriptor                                                    */

static uint32_t type_from(const msgpack_object *o)
{
  uint32_t t;

  for (t = 0; o && t <= RPCD_TYPE_MAP; t++)
    if (rpcd__mp_str_eq(o, rpcd__type_name(t)))
      return t;
  return RPCD_TYPE_ANY;
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

static bool as_int(const msgpack_object *o, int64_t *v)
{
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *v = o->via.i64;
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
           o->via.u64 <= (uint64_t)INT64_MAX)
    *v = (int64_t)o->via.u64;
  else
    return false;
  return true;
}

static bool as_uint(const msgpack_object *o, uint64_t *v)
{
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return false;
  *v = o->via.u64;
  return true;
}

static bool as_float(const msgpack_object *o, double *v)
{
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    *v = (double)o->via.u64;
  else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *v = (double)o->via.i64;
  else if (o->type == MSGPACK_OBJECT_FLOAT32 ||
           o->type == MSGPACK_OBJECT_FLOAT64)
    *v = o->via.f64;
  else
    return false;
  return true;
}

/* min and max into the fields of p's type; false when they do not fit it. */
static bool read_range(rpcd_param *p, const msgpack_object *min,
                       const msgpack_object *max)
{
  switch (p->type) {
  case RPCD_TYPE_INT:
    return as_int(min, &p->min_i) && as_int(max, &p->max_i);
  case RPCD_TYPE_UINT:
    return as_uint(min, &p->min_u) && as_uint(max, &p->max_u);
  case RPCD_TYPE_FLOAT:
    return as_float(min, &p->min_f) && as_float(max, &p->max_f);
  default:
    return false;
  }
}

/* The default into the field of p's type (str/bin bytes copied into
 * info->def_bytes); RPCD_EINVAL when it does not fit the type. */
static int read_default(rpcd_param *p, rpcd_ctl_param *info,
                        const msgpack_object *def)
{
  bool bool_ok = def->type == MSGPACK_OBJECT_BOOLEAN;
  bool bytes_ok =
      def->type == MSGPACK_OBJECT_STR || def->type == MSGPACK_OBJECT_BIN;
  uint32_t n;

  switch (p->type) {
  case RPCD_TYPE_NIL:
    return def->type == MSGPACK_OBJECT_NIL ? RPCD_OK : RPCD_EINVAL;
  case RPCD_TYPE_BOOL:
    p->def_i = bool_ok && def->via.boolean;
    return bool_ok ? RPCD_OK : RPCD_EINVAL;
  case RPCD_TYPE_INT:
    return as_int(def, &p->def_i) ? RPCD_OK : RPCD_EINVAL;
  case RPCD_TYPE_UINT:
    return as_uint(def, &p->def_u) ? RPCD_OK : RPCD_EINVAL;
  case RPCD_TYPE_FLOAT:
    return as_float(def, &p->def_f) ? RPCD_OK : RPCD_EINVAL;
  case RPCD_TYPE_STR:
  case RPCD_TYPE_BIN:
    if (!bytes_ok)
      return RPCD_EINVAL;
    n = def->type == MSGPACK_OBJECT_STR ? def->via.str.size : def->via.bin.size;
    info->def_bytes = malloc((size_t)n + 1);
    if (!info->def_bytes)
      return RPCD_ENOMEM;
    if (n > 0)
      memcpy(info->def_bytes,
             def->type == MSGPACK_OBJECT_STR ? def->via.str.ptr
                                             : def->via.bin.ptr,
             n);
    p->def_s = info->def_bytes;
    p->def_len = n;
    return RPCD_OK;
  default:
    return RPCD_EINVAL;
  }
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
  uint32_t i;

  for (i = 0; d->info && i < d->spec.nparams; i++) {
    free(d->info[i].name);
    free(d->info[i].type_name);
    free(d->info[i].def_json);
    free(d->info[i].def_bytes);
  }
  free(d->info);
  free(d->spec.params);
  memset(d, 0, sizeof(*d));
}

static int read_param(rpcd_param *p, rpcd_ctl_param *info,
                      const msgpack_object *m, uint32_t i, char *err,
                      size_t errlen)
{
  const msgpack_object *name = map_get(m, "name");
  const msgpack_object *type = map_get(m, "type");
  const msgpack_object *req = map_get(m, "required");
  const msgpack_object *min = map_get(m, "min");
  const msgpack_object *max = map_get(m, "max");
  const msgpack_object *max_len = map_get(m, "max_len");
  const msgpack_object *def = map_get(m, "default");
  int rc;

  if (m->type != MSGPACK_OBJECT_MAP || !name ||
      name->type != MSGPACK_OBJECT_STR || name->via.str.size == 0 ||
      memchr(name->via.str.ptr, '\0', name->via.str.size)) {
    rpcd__set_err(err, errlen,
                  "param %" PRIu32 " of the descriptor has no name", i + 1);
    return RPCD_EPROTO;
  }
  info->name = str_dup(name);
  info->type_name = str_dup(type);
  if (!info->name || !info->type_name)
    return RPCD_ENOMEM;
  p->size = sizeof(*p);
  p->name = info->name;
  p->type = type_from(type);
  if (!(req && req->type == MSGPACK_OBJECT_BOOLEAN && req->via.boolean))
    p->flags |= RPCD_PARAM_OPTIONAL;
  if (min && max && read_range(p, min, max))
    p->flags |= RPCD_PARAM_RANGE;
  if (max_len && max_len->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      (p->type == RPCD_TYPE_STR || p->type == RPCD_TYPE_BIN ||
       p->type == RPCD_TYPE_ARRAY || p->type == RPCD_TYPE_MAP))
    p->max_len = max_len->via.u64;
  if (!def)
    return RPCD_OK;
  info->def_json = json_text(def);
  if (!info->def_json)
    return RPCD_ENOMEM;
  rc = read_default(p, info, def);
  if (rc == RPCD_OK)
    p->flags |= RPCD_PARAM_DEFAULT;
  return rc == RPCD_ENOMEM ? rc : RPCD_OK;
}

int rpcd__ctl_desc_read(rpcd_ctl_desc *d, const msgpack_object *root, char *err,
                        size_t errlen)
{
  const msgpack_object *typed;
  const msgpack_object *params;
  uint32_t i, n;
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
  n = params->via.array.size;
  /* The check keeps which params were given in 64 bits. */
  if (n > RPCD_MAX_PARAMS) {
    rpcd__set_err(err, errlen, "the descriptor has more than %u params",
                  RPCD_MAX_PARAMS);
    return RPCD_EPROTO;
  }
  if (n > 0) {
    d->spec.params = calloc(n, sizeof(*d->spec.params));
    d->info = calloc(n, sizeof(*d->info));
    if (!d->spec.params || !d->info) {
      rpcd__ctl_desc_free(d);
      return RPCD_ENOMEM;
    }
  }
  for (i = 0; i < n; i++) {
    d->spec.nparams = i + 1;
    rc = read_param(&d->spec.params[i], &d->info[i], &params->via.array.ptr[i],
                    i, err, errlen);
    if (rc != RPCD_OK) {
      rpcd__ctl_desc_free(d);
      return rc;
    }
  }
  d->spec.typed = true;
  d->spec.result = type_from(map_get(root, "result"));
  return RPCD_OK;
}

int rpcd__ctl_param_text(const rpcd_ctl_desc *d, uint32_t i, char *buf,
                         size_t len)
{
  const rpcd_param *p = &d->spec.params[i];
  char a[40], b[40];
  size_t n;

  n = (size_t)snprintf(buf, len, "%s, %s", d->info[i].type_name,
                       p->flags & RPCD_PARAM_OPTIONAL ? "optional"
                                                      : "required");
  if ((p->flags & RPCD_PARAM_RANGE) && n < len) {
    if (p->type == RPCD_TYPE_INT) {
      snprintf(a, sizeof(a), "%" PRId64, p->min_i);
      snprintf(b, sizeof(b), "%" PRId64, p->max_i);
    } else if (p->type == RPCD_TYPE_UINT) {
      snprintf(a, sizeof(a), "%" PRIu64, p->min_u);
      snprintf(b, sizeof(b), "%" PRIu64, p->max_u);
    } else {
      rpcd__double_text(a, sizeof(a), p->min_f);
      rpcd__double_text(b, sizeof(b), p->max_f);
    }
    n += (size_t)snprintf(buf + n, len - n, ", range %s..%s", a, b);
  }
  if (p->max_len && n < len)
    n +=
        (size_t)snprintf(buf + n, len - n, ", max length %" PRIu64, p->max_len);
  if (d->info[i].def_json && n < len)
    n +=
        (size_t)snprintf(buf + n, len - n, ", default %s", d->info[i].def_json);
  return n < len ? RPCD_OK : RPCD_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Converting one value                                                      */

/* msgpack-c's writers fail only when their buffer cannot grow. */
#define PACK(call)                                                             \
  do {                                                                         \
    if ((call) != 0)                                                           \
      return RPCD_ENOMEM;                                                      \
  } while (0)

/* Pack o for param p (NULL: none): a str for a bin param becomes bin. */
static int pack_value(msgpack_packer *pk, const rpcd_param *p,
                      const msgpack_object *o)
{
  msgpack_object v = *o;

  if (p && p->type == RPCD_TYPE_BIN && o->type == MSGPACK_OBJECT_STR) {
    v.type = MSGPACK_OBJECT_BIN;
    v.via.bin.ptr = o->via.str.ptr;
    v.via.bin.size = o->via.str.size;
  }
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

/* Text that is not JSON, taken as it is: a str, or bin for a bin param. */
static int pack_text(msgpack_packer *pk, const rpcd_param *p, const char *text,
                     char *err, size_t errlen)
{
  size_t n = strlen(text);
  msgpack_object o;

  if (n > UINT32_MAX) {
    rpcd__set_err(err, errlen, "param %s: argument too long",
                  p ? p->name : "?");
    return RPCD_EINVAL;
  }
  memset(&o, 0, sizeof(o));
  o.type = MSGPACK_OBJECT_STR;
  o.via.str.ptr = text;
  o.via.str.size = (uint32_t)n;
  return pack_value(pk, p, &o);
}

/*
 * ARG `text`, the `argno`-th on the command line, for param p: parsed as a
 * JSON literal (or, for str and bin, taken as it is when it is not JSON)
 * and packed. p NULL: an ARG beyond the declared params, packed as its text
 * for the check to refuse by count.
 */
static int pack_arg(msgpack_packer *pk, const rpcd_param *p, const char *text,
                    int argno, char *err, size_t errlen)
{
  msgpack_sbuffer tmp;
  msgpack_packer tpk;
  rpcd_mp_doc doc;
  char what[128];
  char jerr[512];
  char want[128];
  int rc;

  if (!p)
    return pack_text(pk, p, text, err, errlen);
  msgpack_sbuffer_init(&tmp);
  msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
  snprintf(what, sizeof(what), "argument %d (param %s)", argno, p->name);
  rc = rpcd__json_pack(&tpk, text, 0, what, jerr, sizeof(jerr));
  if (rc == RPCD_EINVAL) {
    msgpack_sbuffer_destroy(&tmp);
    if (p->type == RPCD_TYPE_STR || p->type == RPCD_TYPE_BIN)
      return pack_text(pk, p, text, err, errlen);
    if (bare_word(text) && p->type != RPCD_TYPE_ANY) {
      rpcd__param_expected(p, want, sizeof(want));
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
    rc = pack_value(pk, p, &doc.root);
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

/* The param that a name of n bytes names, or NULL. */
static const rpcd_param *param_named(const rpcd_ctl_desc *d, const char *name,
                                     size_t n)
{
  uint32_t i;

  for (i = 0; i < d->spec.nparams; i++)
    if (strlen(d->spec.params[i].name) == n &&
        memcmp(d->spec.params[i].name, name, n) == 0)
      return &d->spec.params[i];
  return NULL;
}

/* The param ARG names in the form NAME=VALUE, or NULL. */
static const rpcd_param *named_form(const rpcd_ctl_desc *d, const char *arg)
{
  const char *eq;

  if (!isalpha((unsigned char)arg[0]) && arg[0] != '_')
    return NULL;
  for (eq = arg; isalnum((unsigned char)*eq) || *eq == '_'; eq++)
    ;
  return *eq == '=' ? param_named(d, arg, (size_t)(eq - arg)) : NULL;
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
  PACK(msgpack_pack_str(pk, strlen(s)));
  PACK(msgpack_pack_str_body(pk, s, strlen(s)));
  return RPCD_OK;
}

/* --named: the one JSON object, a member for a bin param made bin. */
static int pack_named_object(msgpack_packer *pk, const rpcd_ctl_desc *d,
                             const char *text, char *err, size_t errlen)
{
  msgpack_sbuffer tmp;
  msgpack_packer tpk;
  rpcd_mp_doc doc;
  uint32_t i;
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

    if (msgpack_pack_object(pk, kv->key) != 0)
      rc = RPCD_ENOMEM;
    else
      rc = pack_value(pk, param_named(d, k->ptr, k->size), &kv->val);
  }
  rpcd__mp_doc_destroy(&doc);
  msgpack_sbuffer_destroy(&tmp);
  return rc;
}

/* Positional ARGs, some maybe NAME=VALUE: an array, or a map in ARG order
 * when any ARG names its param. */
static int pack_positional(msgpack_packer *pk, const rpcd_ctl_desc *d, int n,
                           char **args, char *err, size_t errlen)
{
  uint32_t next = 0;
  bool any_named = false;
  int a, rc;

  for (a = 0; a < n; a++)
    any_named = any_named || named_form(d, args[a]);
  PACK(any_named ? msgpack_pack_map(pk, (size_t)n)
                 : msgpack_pack_array(pk, (size_t)n));
  for (a = 0; a < n; a++) {
    const rpcd_param *p = named_form(d, args[a]);
    const char *text = p ? strchr(args[a], '=') + 1 : args[a];

    if (!p && next < d->spec.nparams)
      p = &d->spec.params[next++];
    /* A map has no place for an ARG past the declared params. */
    if (!p && any_named) {
      rpcd__set_err(err, errlen, "argument %d: no param left for it", a + 1);
      return RPCD_EINVAL;
    }
    if (any_named && (rc = pack_cstr(pk, p->name)) != RPCD_OK)
      return rc;
    rc = pack_arg(pk, p, text, a + 1, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  }
  return RPCD_OK;
}

/* The server's verdict on the packed params: its check, its message. */
static int check_params(const rpcd_ctl_desc *d, const msgpack_sbuffer *params,
                        char *err, size_t errlen)
{
  msgpack_object *args;
  rpcd_mp_doc doc;
  uint64_t given;
  int rc;

  rc = rpcd__mp_decode(params->data, params->size, RPCD_JSON_MAX_DEPTH + 2,
                       &doc, err, errlen);
  if (rc != RPCD_OK)
    return rc == RPCD_ENOMEM ? rc : RPCD_EINVAL;
  args = calloc(d->spec.nparams + 1, sizeof(*args));
  if (args)
    rc = rpcd__params_check(&d->spec, &doc.root, args, &given, err, errlen);
  else
    rc = RPCD_ENOMEM;
  free(args);
  rpcd__mp_doc_destroy(&doc);
  return rc;
}

int rpcd__ctl_args_pack(msgpack_packer *pk, const rpcd_ctl_desc *d, bool named,
                        int n, char **args, char *err, size_t errlen)
{
  msgpack_sbuffer out;
  msgpack_packer opk;
  int rc;

  if (named && n != 1) {
    rpcd__set_err(err, errlen,
                  "--named takes exactly one JSON object after METHOD, got %d "
                  "arguments",
                  n);
    return RPCD_EINVAL;
  }
  msgpack_sbuffer_init(&out);
  msgpack_packer_init(&opk, &out, msgpack_sbuffer_write);
  if (named)
    rc = pack_named_object(&opk, d, args[0], err, errlen);
  else
    rc = pack_positional(&opk, d, n, args, err, errlen);
  if (rc == RPCD_OK)
    rc = check_params(d, &out, err, errlen);
  if (rc == RPCD_OK && pk->callback(pk->data, out.data, out.size) != 0)
    rc = RPCD_ENOMEM;
  if (rc == RPCD_ENOMEM)
    rpcd__set_err(err, errlen, "out of memory");
  msgpack_sbuffer_destroy(&out);
  return rc;
}
