/* SPDX-License-Identifier: MIT */
/*
 * JSON -> msgpack for rpcctl's arguments. JSON text is parsed by jansson and
 * packed with msgpack-c; jansson holds integers as int64, so decimal literals
 * in (INT64_MAX, UINT64_MAX] are found by a small scan of the text first,
 * parsed as 0 and packed as uint64 in their place. The other direction,
 * msgpack -> JSON, is common/mp_json.c.
 */
#include "json_msgpack.h"
#include "rpcd_proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ------------------------------------------------------------------------ */
/* JSON text -> msgpack                                                      */

/* An integer literal above INT64_MAX, by its ordinal among the numbers. */
typedef struct big_int {
  size_t ordinal;
  uint64_t value;
} big_int;

typedef struct pack_ctx {
  msgpack_packer *pk;
  const big_int *bigs;
  size_t n_bigs;
  size_t next_big; /* first entry of bigs not packed yet */
  size_t number;   /* ordinal of the next number in document order */
} pack_ctx;

/* Characters a number token (or the garbage glued to it) is made of. */
static bool is_token_char(char c)
{
  return isalnum((unsigned char)c) || c == '.' || c == '+' || c == '-';
}

/*
 * True when tok[0..len) is a decimal literal that jansson cannot hold but
 * uint64 can: only digits, no leading zero, in (INT64_MAX, UINT64_MAX].
 */
static bool parse_big_int(const char *tok, size_t len, uint64_t *out)
{
  uint64_t v;
  size_t i;

  if (len < 19 || len > 20 || tok[0] == '0')
    return false;
  v = 0;
  for (i = 0; i < len; i++) {
    unsigned d;

    if (tok[i] < '0' || tok[i] > '9')
      return false;
    d = (unsigned)(tok[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false; /* above UINT64_MAX: jansson says "too big integer" */
    v = v * 10 + d;
  }
  if (v <= (uint64_t)INT64_MAX)
    return false;
  *out = v;
  return true;
}

/*
 * Find the number tokens of `text` that are big integers. When there is one,
 * *copy is a copy of text where each is replaced by "0" padded with spaces to
 * the same length (so jansson's error positions still match the text) and
 * *bigs lists them in order. In valid JSON a number token is followed by
 * white space, ',', ']', '}' or the end, so the ordinals counted here are
 * those of the numbers jansson sees; invalid text fails to parse anyway.
 */
static int find_big_ints(const char *text, char **copy, big_int **bigs,
                         size_t *n_bigs)
{
  size_t cap;
  size_t number;
  size_t i;
  bool in_string;

  *copy = NULL;
  *bigs = NULL;
  *n_bigs = 0;
  cap = 0;
  number = 0;
  in_string = false;
  i = 0;
  while (text[i] != '\0') {
    char c = text[i];
    size_t start;
    uint64_t v;

    if (in_string) {
      if (c == '\\' && text[i + 1] != '\0')
        i += 2;
      else {
        if (c == '"')
          in_string = false;
        i++;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      i++;
      continue;
    }
    if (c != '-' && !isdigit((unsigned char)c)) {
      i++;
      continue;
    }
    start = i;
    while (is_token_char(text[i]))
      i++;
    if (parse_big_int(text + start, i - start, &v)) {
      if (*n_bigs == cap) {
        size_t ncap = cap ? cap * 2 : 4;
        big_int *nb = realloc(*bigs, ncap * sizeof(**bigs));

        if (!nb)
          goto out_nomem;
        *bigs = nb;
        cap = ncap;
      }
      if (!*copy) {
        *copy = strdup(text);
        if (!*copy)
          goto out_nomem;
      }
      (*bigs)[*n_bigs].ordinal = number;
      (*bigs)[*n_bigs].value = v;
      (*n_bigs)++;
      (*copy)[start] = '0';
      memset(*copy + start + 1, ' ', i - start - 1);
    }
    number++;
  }
  return RPCD_OK;

out_nomem:
  free(*copy);
  free(*bigs);
  *copy = NULL;
  *bigs = NULL;
  *n_bigs = 0;
  return RPCD_ENOMEM;
}

/* msgpack-c's writers fail only when their buffer cannot grow. */
#define PACK(call)                                                             \
  do {                                                                         \
    if ((call) != 0)                                                           \
      return RPCD_ENOMEM;                                                      \
  } while (0)

static int pack_json(pack_ctx *ctx, const json_t *v)
{
  msgpack_packer *pk = ctx->pk;
  int rc;

  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    void *it;

    PACK(msgpack_pack_map(pk, json_object_size(v)));
    /* jansson iterates in insertion order: the order of the text */
    for (it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
      const char *key = json_object_iter_key(it);
      size_t key_len = json_object_iter_key_len(it);

      PACK(msgpack_pack_str(pk, key_len));
      PACK(msgpack_pack_str_body(pk, key, key_len));
      rc = pack_json(ctx, json_object_iter_value(it));
      if (rc != RPCD_OK)
        return rc;
    }
    break;
  }
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    size_t i;

    PACK(msgpack_pack_array(pk, n));
    for (i = 0; i < n; i++) {
      rc = pack_json(ctx, json_array_get(v, i));
      if (rc != RPCD_OK)
        return rc;
    }
    break;
  }
  case JSON_STRING: {
    size_t n = json_string_length(v);

    PACK(msgpack_pack_str(pk, n));
    PACK(msgpack_pack_str_body(pk, json_string_value(v), n));
    break;
  }
  case JSON_INTEGER:
    if (ctx->next_big < ctx->n_bigs &&
        ctx->bigs[ctx->next_big].ordinal == ctx->number) {
      PACK(msgpack_pack_uint64(pk, ctx->bigs[ctx->next_big].value));
      ctx->next_big++;
    } else {
      PACK(msgpack_pack_int64(pk, (int64_t)json_integer_value(v)));
    }
    ctx->number++;
    break;
  case JSON_REAL:
    PACK(msgpack_pack_double(pk, json_real_value(v)));
    ctx->number++;
    break;
  case JSON_TRUE:
    PACK(msgpack_pack_true(pk));
    break;
  case JSON_FALSE:
    PACK(msgpack_pack_false(pk));
    break;
  case JSON_NULL:
    PACK(msgpack_pack_nil(pk));
    break;
  }
  return RPCD_OK;
}

#undef PACK

static const char *json_type_text(const json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    return "null";
  }
  return "a value";
}

/*
 * A hint for the most common mistake, an unquoted string (`call echo hi`):
 * the text starts with a letter. Quotes the text back when that is short and
 * safe to paste into a shell between single quotes.
 */
static void bare_word_hint(const char *text, char *hint, size_t hintlen)
{
  const char *p = text;
  size_t n;
  size_t i;

  hint[0] = '\0';
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (!isalpha((unsigned char)*p))
    return;
  n = strlen(text);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];

    if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '\\')
      break;
  }
  if (i == n && n <= 40)
    snprintf(hint, hintlen, "; strings need double quotes, e.g. '\"%s\"'",
             text);
  else
    snprintf(hint, hintlen, "; strings need double quotes");
}

int rpcd__json_pack(msgpack_packer *pk, const char *text, unsigned flags,
                    const char *what, char *err, size_t errlen)
{
  json_error_t jerr;
  json_t *root;
  char *copy;
  big_int *bigs;
  size_t n_bigs;
  pack_ctx ctx;
  int rc;

  if (!what)
    what = "JSON text";
  rc = find_big_ints(text, &copy, &bigs, &n_bigs);
  if (rc != RPCD_OK) {
    rpcd__set_err(err, errlen, "out of memory");
    return rc;
  }
  /* JSON_ALLOW_NUL: "\u0000" is a valid escape and msgpack str holds it */
  root = json_loads(copy ? copy : text,
                    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                    &jerr);
  if (!root) {
    char hint[96];

    if (json_error_code(&jerr) == json_error_out_of_memory) {
      rpcd__set_err(err, errlen, "out of memory");
      rc = RPCD_ENOMEM;
      goto out_free;
    }
    bare_word_hint(text, hint, sizeof(hint));
    rpcd__set_err(err, errlen, "invalid JSON in %s: %s (line %d, column %d)%s",
                  what, jerr.text, jerr.line, jerr.column, hint);
    rc = RPCD_EINVAL;
    goto out_free;
  }
  if ((flags & RPCD_JSON_OBJECT_ONLY) && !json_is_object(root)) {
    rpcd__set_err(err, errlen, "%s must be a JSON object, not %s", what,
                  json_type_text(root));
    rc = RPCD_EINVAL;
    goto out_decref;
  }
  ctx.pk = pk;
  ctx.bigs = bigs;
  ctx.n_bigs = n_bigs;
  ctx.next_big = 0;
  ctx.number = 0;
  rc = pack_json(&ctx, root);
  if (rc != RPCD_OK)
    rpcd__set_err(err, errlen, "out of memory");

out_decref:
  json_decref(root);
out_free:
  free(copy);
  free(bigs);
  return rc;
}
