/* SPDX-License-Identifier: MIT */
/*
 * kv: an in-memory key-value store, the reference plugin for the typed
 * method API (plugin ABI 1.2). Where fib shows the smallest plugin, kv shows
 * plugin state set up in open() and torn down in close(), str, map and any
 * params, an optional param with a default, map and array results, method
 * flags, and application errors.
 *
 *   kv.set(key: str <=255, value: any) -> nil
 *   kv.get(key: str <=255) -> any
 *   kv.del(key: str <=255) -> bool         true when the key was there
 *   kv.keys(prefix?: str <=255 = "") -> array   sorted, bytewise
 *   kv.mset(entries: map <=KV_MAX_ENTRIES) -> uint   entries written
 *   kv.stats() -> map {"entries", "bytes", "max_entries", "max_value_bytes"}
 *
 * A value is any msgpack object, kept as its msgpack bytes, so str, bin,
 * numbers, arrays and maps come back from kv.get exactly as they were sent.
 *
 * Application error codes (the "code" of an error reply; the server's own
 * are negative):
 *   1  not found   kv.get of a key that is not in the store
 *   2  store full  kv.set or kv.mset would make the store hold more than
 *                  KV_MAX_ENTRIES keys; nothing is written (an mset is all
 *                  or nothing). Overwriting a key that is there always works.
 * A value that packs to more than KV_MAX_VALUE_BYTES, or an mset key that is
 * not a str of at most KV_MAX_KEY_BYTES, is a bad param (-32602).
 *
 * State is per worker process: every worker (rpcd --workers N) runs open()
 * on its own store, a call lands on whichever worker takes it, and a worker
 * that is restarted or replaced by a reload (SIGHUP) starts empty. Run rpcd
 * with --workers 1 for one store. rpcd also runs open() and close() once in
 * a throwaway process while it checks the plugin set at startup.
 *
 * Threads: a worker runs its handlers one at a time on one thread (its
 * keeper thread only looks after the broker connection and never calls
 * plugin code), so the store takes no lock.
 */
#include <rpcd/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The limits; override at build time with -DKV_MAX_ENTRIES=... */
#ifndef KV_MAX_ENTRIES
#define KV_MAX_ENTRIES 1024 /* keys the store holds at most */
#endif
#ifndef KV_MAX_VALUE_BYTES
#define KV_MAX_VALUE_BYTES 65536 /* a value's msgpack bytes at most */
#endif
#define KV_MAX_KEY_BYTES 255

enum { KV_ERR_NOT_FOUND = 1, KV_ERR_FULL = 2 };

typedef struct kv_entry {
  char *key; /* owned; may hold NUL bytes, not NUL-terminated */
  size_t key_len;
  char *val; /* owned: the value's msgpack bytes */
  size_t val_len;
} kv_entry;

/* The store: entries sorted by key (memcmp order, shorter first on a tie),
 * with room for KV_MAX_ENTRIES allocated in open() so that an insert only
 * allocates the key and value it copies. */
typedef struct kv_store {
  kv_entry *entries;
  size_t n;
  size_t bytes; /* sum of key_len + val_len */
} kv_store;

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t n = alen < blen ? alen : blen;
  /* memcmp() wants valid pointers even for 0 bytes; "" may come as NULL. */
  int c = n ? memcmp(a, b, n) : 0;

  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen;
}

/* The index of key, or where it would go (and *found false). */
static size_t kv_find(const kv_store *s, const char *key, size_t len,
                      int *found)
{
  size_t lo = 0;
  size_t hi = s->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = key_cmp(s->entries[mid].key, s->entries[mid].key_len, key, len);

    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

/* Store key -> val (both malloc()ed, taken over): replaces the value of a
 * key that is there, else inserts. The caller checked that there is room. */
static void kv_put(kv_store *s, char *key, size_t key_len, char *val,
                   size_t val_len)
{
  int found;
  size_t i = kv_find(s, key, key_len, &found);
  kv_entry *e = &s->entries[i];

  if (found) {
    s->bytes -= e->val_len;
    free(e->val);
    free(key);
  } else {
    memmove(e + 1, e, (s->n - i) * sizeof(*e));
    s->n++;
    e->key = key;
    e->key_len = key_len;
    s->bytes += key_len;
  }
  e->val = val;
  e->val_len = val_len;
  s->bytes += val_len;
}

static char *copy_bytes(const char *p, size_t len)
{
  char *c = malloc(len ? len : 1);

  if (c && len)
    memcpy(c, p, len);
  return c;
}

/* Pack `o` into malloc()ed msgpack bytes. RPCD_OK; RPCD_ENOMEM; RPCD_EINVAL
 * when they would be more than KV_MAX_VALUE_BYTES (*len says how many). */
static int pack_value(const msgpack_object *o, char **out, size_t *len)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (msgpack_pack_object(&pk, *o) != 0) {
    msgpack_sbuffer_destroy(&sb);
    return RPCD_ENOMEM;
  }
  *len = sb.size;
  if (sb.size > KV_MAX_VALUE_BYTES) {
    msgpack_sbuffer_destroy(&sb);
    return RPCD_EINVAL;
  }
  /* An empty sbuffer has no data; no value packs to zero bytes, but keep
   * the result a pointer that free() takes either way. */
  *out = sb.data ? msgpack_sbuffer_release(&sb) : malloc(1);
  return *out ? RPCD_OK : RPCD_ENOMEM;
}

static int kv_open(rpcd_ctx *ctx, char *err, size_t errlen)
{
  kv_store *s = calloc(1, sizeof(*s));

  if (s)
    s->entries = calloc(KV_MAX_ENTRIES, sizeof(*s->entries));
  if (!s || !s->entries) {
    free(s);
    snprintf(err, errlen, "out of memory for the store");
    return RPCD_ENOMEM;
  }
  ctx->state = s;
  rpcd_log(ctx, RPCD_LOG_DEBUG,
           "store open: at most %d entries of at most %d value bytes",
           KV_MAX_ENTRIES, KV_MAX_VALUE_BYTES);
  return RPCD_OK;
}

static void kv_close(rpcd_ctx *ctx)
{
  kv_store *s = ctx->state;
  size_t i;

  if (!s)
    return;
  rpcd_log(ctx, RPCD_LOG_DEBUG, "store closed with %zu entries, %zu bytes",
           s->n, s->bytes);
  for (i = 0; i < s->n; i++) {
    free(s->entries[i].key);
    free(s->entries[i].val);
  }
  free(s->entries);
  free(s);
  ctx->state = NULL;
}

/* The params of each method, and their indices in ctx->args. */
enum { P_KEY = 0, P_VALUE = 1 };
enum { P_PREFIX = 0 };
enum { P_ENTRIES = 0 };

static const rpcd_param key_params[] = {
    RPCD_PARAM_STR("key", KV_MAX_KEY_BYTES),
    RPCD_PARAMS_END,
};
static const rpcd_param set_params[] = {
    RPCD_PARAM_STR("key", KV_MAX_KEY_BYTES),
    RPCD_PARAM_ANY("value"),
    RPCD_PARAMS_END,
};
static const rpcd_param keys_params[] = {
    RPCD_OPTIONAL_STR("prefix", KV_MAX_KEY_BYTES, ""),
    RPCD_PARAMS_END,
};
static const rpcd_param mset_params[] = {
    RPCD_PARAM_MAP("entries", KV_MAX_ENTRIES),
    RPCD_PARAMS_END,
};

static int kv_set(rpcd_ctx *ctx, msgpack_packer *result)
{
  kv_store *s = ctx->state;
  size_t key_len;
  const char *key = rpcd_arg_str(ctx, P_KEY, &key_len);
  char *k;
  char *v;
  size_t v_len;
  int found;
  int rc;

  kv_find(s, key, key_len, &found);
  if (!found && s->n >= KV_MAX_ENTRIES)
    return rpcd_error(ctx, KV_ERR_FULL, "store full: %d entries",
                      KV_MAX_ENTRIES);
  rc = pack_value(rpcd_arg(ctx, P_VALUE), &v, &v_len);
  if (rc == RPCD_EINVAL)
    return rpcd_error(ctx, RPCD_ERR_INVALID_PARAMS,
                      "param value: %zu bytes as msgpack, at most %d", v_len,
                      KV_MAX_VALUE_BYTES);
  if (rc != RPCD_OK)
    return rc;
  k = copy_bytes(key, key_len);
  if (!k) {
    free(v);
    return RPCD_ENOMEM;
  }
  kv_put(s, k, key_len, v, v_len);
  return msgpack_pack_nil(result) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int kv_get(rpcd_ctx *ctx, msgpack_packer *result)
{
  const kv_store *s = ctx->state;
  size_t key_len;
  const char *key = rpcd_arg_str(ctx, P_KEY, &key_len);
  int found;
  size_t i = kv_find(s, key, key_len, &found);
  const kv_entry *e = &s->entries[i];

  if (!found)
    return rpcd_error(ctx, KV_ERR_NOT_FOUND, "not found: key \"%.*s\"",
                      (int)key_len, key);
  /* The stored bytes are one whole msgpack object: hand them to the
   * packer's writer as they are rather than unpack and pack them again. */
  return result->callback(result->data, e->val, e->val_len) == 0 ? RPCD_OK
                                                                 : RPCD_ENOMEM;
}

static int kv_del(rpcd_ctx *ctx, msgpack_packer *result)
{
  kv_store *s = ctx->state;
  size_t key_len;
  const char *key = rpcd_arg_str(ctx, P_KEY, &key_len);
  int found;
  size_t i = kv_find(s, key, key_len, &found);

  if (found) {
    kv_entry *e = &s->entries[i];

    s->bytes -= e->key_len + e->val_len;
    free(e->key);
    free(e->val);
    memmove(e, e + 1, (s->n - i - 1) * sizeof(*e));
    s->n--;
  }
  return (found ? msgpack_pack_true(result) : msgpack_pack_false(result)) == 0
             ? RPCD_OK
             : RPCD_ENOMEM;
}

static int kv_keys(rpcd_ctx *ctx, msgpack_packer *result)
{
  const kv_store *s = ctx->state;
  size_t len;
  const char *prefix = rpcd_arg_str(ctx, P_PREFIX, &len);
  size_t first;
  size_t end;
  size_t i;
  int found;

  /* The keys with the prefix are a run of the sorted array, starting where
   * the prefix itself would go. */
  first = kv_find(s, prefix, len, &found);
  for (end = first; end < s->n; end++) {
    const kv_entry *e = &s->entries[end];

    if (e->key_len < len || memcmp(e->key, prefix, len) != 0)
      break;
  }
  if (msgpack_pack_array(result, end - first) != 0)
    return RPCD_ENOMEM;
  for (i = first; i < end; i++) {
    const kv_entry *e = &s->entries[i];

    if (msgpack_pack_str_with_body(result, e->key, e->key_len) != 0)
      return RPCD_ENOMEM;
  }
  return RPCD_OK;
}

/* Whether key i of map m appears again at an index below i. */
static int key_seen_before(const msgpack_object_map *m, uint32_t i)
{
  const msgpack_object_str *k = &m->ptr[i].key.via.str;
  uint32_t j;

  for (j = 0; j < i; j++) {
    const msgpack_object_str *o = &m->ptr[j].key.via.str;

    if (key_cmp(o->ptr, o->size, k->ptr, k->size) == 0)
      return 1;
  }
  return 0;
}

/* Free the copies made so far (the arrays are calloc()ed: the rest are
 * NULL) and the arrays. */
static void free_copies(char **keys, char **vals, uint32_t n)
{
  uint32_t i;

  for (i = 0; i < n; i++) {
    free(keys[i]);
    free(vals[i]);
  }
  free(keys);
  free(vals);
}

/* All or nothing: every key and value is checked and copied, and the room
 * counted, before the first one is stored. A key given twice is written
 * twice (the last value stays) and counted twice. */
static int kv_mset(rpcd_ctx *ctx, msgpack_packer *result)
{
  kv_store *s = ctx->state;
  const msgpack_object_map *m = rpcd_arg_map(ctx, P_ENTRIES);
  char **keys;
  char **vals;
  size_t *val_lens;
  size_t added = 0;
  uint32_t i;
  int rc = RPCD_OK;

  for (i = 0; i < m->size; i++) {
    const msgpack_object *k = &m->ptr[i].key;
    int found;

    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size > KV_MAX_KEY_BYTES)
      return rpcd_error(ctx, RPCD_ERR_INVALID_PARAMS,
                        "param entries: key %u is not a str of at most %d "
                        "bytes",
                        (unsigned)i, KV_MAX_KEY_BYTES);
    kv_find(s, k->via.str.ptr, k->via.str.size, &found);
    if (!found && !key_seen_before(m, i))
      added++;
  }
  if (s->n + added > KV_MAX_ENTRIES)
    return rpcd_error(ctx, KV_ERR_FULL,
                      "store full: %zu entries and %zu new keys, at most %d",
                      s->n, added, KV_MAX_ENTRIES);
  /* calloc(0) may return NULL: ask for one at least. */
  keys = calloc(m->size + 1, sizeof(*keys));
  vals = calloc(m->size + 1, sizeof(*vals));
  val_lens = calloc(m->size + 1, sizeof(*val_lens));
  if (!keys || !vals || !val_lens) {
    free(keys);
    free(vals);
    free(val_lens);
    return RPCD_ENOMEM;
  }
  for (i = 0; i < m->size && rc == RPCD_OK; i++) {
    const msgpack_object_str *k = &m->ptr[i].key.via.str;

    rc = pack_value(&m->ptr[i].val, &vals[i], &val_lens[i]);
    if (rc == RPCD_EINVAL) {
      rc = rpcd_error(ctx, RPCD_ERR_INVALID_PARAMS,
                      "param entries: the value of \"%.*s\": %zu bytes as "
                      "msgpack, at most %d",
                      (int)k->size, k->ptr, val_lens[i], KV_MAX_VALUE_BYTES);
      free_copies(keys, vals, m->size);
      free(val_lens);
      return rc;
    }
    if (rc == RPCD_OK) {
      keys[i] = copy_bytes(k->ptr, k->size);
      if (!keys[i])
        rc = RPCD_ENOMEM;
    }
  }
  if (rc != RPCD_OK) {
    free_copies(keys, vals, m->size);
    free(val_lens);
    return rc;
  }
  for (i = 0; i < m->size; i++)
    kv_put(s, keys[i], m->ptr[i].key.via.str.size, vals[i], val_lens[i]);
  free(keys);
  free(vals);
  free(val_lens);
  return msgpack_pack_uint32(result, m->size) == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static int pack_stat(msgpack_packer *pk, const char *name, uint64_t v)
{
  return msgpack_pack_str_with_body(pk, name, strlen(name)) ||
         msgpack_pack_uint64(pk, v);
}

static int kv_stats(rpcd_ctx *ctx, msgpack_packer *result)
{
  const kv_store *s = ctx->state;

  if (msgpack_pack_map(result, 4) || pack_stat(result, "entries", s->n) ||
      pack_stat(result, "bytes", s->bytes) ||
      pack_stat(result, "max_entries", KV_MAX_ENTRIES) ||
      pack_stat(result, "max_value_bytes", KV_MAX_VALUE_BYTES))
    return RPCD_ENOMEM;
  return RPCD_OK;
}

static const rpcd_method_desc kv_methods[] = {
    RPCD_METHOD("kv.set", kv_set, set_params, RPCD_TYPE_NIL,
                RPCD_METHOD_IDEMPOTENT,
                "Stores value (any msgpack object) under key"),
    RPCD_METHOD("kv.get", kv_get, key_params, RPCD_TYPE_ANY,
                RPCD_METHOD_IDEMPOTENT,
                "The value stored under key; error 1 when there is none"),
    /* Not idempotent: a second call answers false, not true. */
    RPCD_METHOD("kv.del", kv_del, key_params, RPCD_TYPE_BOOL, 0,
                "Removes key; true when it was there"),
    RPCD_METHOD("kv.keys", kv_keys, keys_params, RPCD_TYPE_ARRAY,
                RPCD_METHOD_IDEMPOTENT,
                "The keys that start with prefix, sorted bytewise"),
    RPCD_METHOD("kv.mset", kv_mset, mset_params, RPCD_TYPE_UINT,
                RPCD_METHOD_IDEMPOTENT,
                "Stores every key/value of entries, all or nothing; how many"),
    RPCD_METHOD("kv.stats", kv_stats, NULL, RPCD_TYPE_MAP,
                RPCD_METHOD_IDEMPOTENT,
                "Entries, bytes (keys and values), max_entries and "
                "max_value_bytes of this worker's store"),
    RPCD_METHODS_END,
};

static const rpcd_plugin_info kv_info =
    RPCD_PLUGIN_INFO("kv", "1.0.0", kv_methods, kv_open, kv_close);

RPCD_PLUGIN_DECLARE(kv_info)
