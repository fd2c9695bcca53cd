/* SPDX-License-Identifier: MIT */
/*
 * The method registry: an open-addressing hash table keyed by method name
 * (FNV-1a, linear probing), so that dispatch costs one hash and usually one
 * compare whatever the number of methods.
 */
#include "registry.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_loader.h"
#include "rpcd_proto.h"

static uint64_t hash_name(const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ull;
  size_t i;

  for (i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

void rpcd__registry_init(rpcd_registry *reg)
{
  memset(reg, 0, sizeof(*reg));
}

void rpcd__registry_destroy(rpcd_registry *reg)
{
  size_t i;

  while (reg->n_plugins > 0) {
    rpcd_plugin *p = reg->plugins[--reg->n_plugins];

    rpcd__registry_remove_plugin(reg, p);
    rpcd__plugin_unload(p);
  }
  free(reg->plugins);
  for (i = 0; i < reg->n_slots; i++) {
    free(reg->slots[i].name);
    rpcd__method_spec_free(&reg->slots[i].spec);
  }
  free(reg->slots);
  memset(reg, 0, sizeof(*reg));
}

static rpcd_method_entry *find_slot(rpcd_method_entry *slots, size_t n_slots,
                                    const char *name, size_t len)
{
  size_t mask = n_slots - 1;
  size_t i = (size_t)hash_name(name, len) & mask;

  for (;;) {
    rpcd_method_entry *e = &slots[i];

    if (!e->name || (e->name_len == len && memcmp(e->name, name, len) == 0))
      return e;
    i = (i + 1) & mask;
  }
}

static int grow(rpcd_registry *reg)
{
  size_t n = reg->n_slots ? reg->n_slots * 2 : 16;
  rpcd_method_entry *slots = calloc(n, sizeof(*slots));
  size_t i;

  if (!slots)
    return RPCD_ENOMEM;
  for (i = 0; i < reg->n_slots; i++) {
    rpcd_method_entry *e = &reg->slots[i];

    if (e->name)
      *find_slot(slots, n, e->name, e->name_len) = *e;
  }
  free(reg->slots);
  reg->slots = slots;
  reg->n_slots = n;
  return RPCD_OK;
}

/* Take a slot for `name` (copied), or say why not. */
static int add_entry(rpcd_registry *reg, const char *name, bool has_handler,
                     char *err, size_t errlen, rpcd_method_entry **out)
{
  size_t len = name ? strlen(name) : 0;
  rpcd_method_entry *e;

  if (!rpcd__method_name_valid(name, len) || !has_handler) {
    rpcd__set_err(err, errlen,
                  "invalid method name \"%.255s\": must be 1 to %d "
                  "characters of [A-Za-z0-9_.-] with a handler",
                  name ? name : "(null)", RPCD_MAX_METHOD_LEN);
    return RPCD_EINVAL;
  }
  /* Keep the load factor under 1/2 so probes stay short. */
  if ((reg->n_methods + 1) * 2 > reg->n_slots && grow(reg) != RPCD_OK)
    return RPCD_ENOMEM;
  e = find_slot(reg->slots, reg->n_slots, name, len);
  if (e->name) {
    rpcd__set_err(err, errlen, "method \"%s\" is already registered by %s%s%s",
                  name, e->plugin ? "plugin \"" : "the server",
                  e->plugin ? e->plugin->name : "", e->plugin ? "\"" : "");
    return RPCD_EEXIST;
  }
  e->name = strdup(name);
  if (!e->name)
    return RPCD_ENOMEM;
  e->name_len = len;
  reg->n_methods++;
  *out = e;
  return RPCD_OK;
}

int rpcd__registry_add(rpcd_registry *reg, const char *name, rpcd_method_fn fn,
                       void *state, const rpcd_plugin *plugin, char *err,
                       size_t errlen)
{
  rpcd_method_entry *e;
  int rc = add_entry(reg, name, fn != NULL, err, errlen, &e);

  if (rc != RPCD_OK)
    return rc;
  rpcd__method_spec_untyped(&e->spec);
  e->fn = fn;
  e->state = state;
  e->plugin = plugin;
  return RPCD_OK;
}

int rpcd__registry_add_typed(rpcd_registry *reg, const char *name,
                             rpcd_handler_fn handler, rpcd_method_spec *spec,
                             void *state, const rpcd_plugin *plugin, char *err,
                             size_t errlen)
{
  rpcd_method_entry *e;
  int rc = add_entry(reg, name, handler != NULL, err, errlen, &e);

  if (rc != RPCD_OK)
    return rc;
  e->spec = *spec;
  memset(spec, 0, sizeof(*spec));
  rpcd__method_spec_untyped(spec);
  e->handler = handler;
  e->state = state;
  e->plugin = plugin;
  return RPCD_OK;
}

/* Empty slot i and re-place the rest of its probe cluster, so that lookups
 * never stop early at the hole (linear probing without tombstones). */
static void delete_slot(rpcd_registry *reg, size_t i)
{
  size_t mask = reg->n_slots - 1;
  size_t j;

  free(reg->slots[i].name);
  rpcd__method_spec_free(&reg->slots[i].spec);
  memset(&reg->slots[i], 0, sizeof(reg->slots[i]));
  reg->n_methods--;
  for (j = (i + 1) & mask; reg->slots[j].name; j = (j + 1) & mask) {
    rpcd_method_entry e = reg->slots[j];

    memset(&reg->slots[j], 0, sizeof(reg->slots[j]));
    *find_slot(reg->slots, reg->n_slots, e.name, e.name_len) = e;
  }
}

void rpcd__registry_remove_plugin(rpcd_registry *reg, const rpcd_plugin *plugin)
{
  bool removed = true;
  size_t i;

  /* Re-placing a cluster can move a not yet visited entry of the plugin
   * behind i, so scan until a pass removes nothing. Allocates nothing. */
  while (removed) {
    removed = false;
    for (i = 0; i < reg->n_slots; i++) {
      if (reg->slots[i].name && reg->slots[i].plugin == plugin) {
        delete_slot(reg, i);
        removed = true;
      }
    }
  }
}

const rpcd_method_entry *rpcd__registry_lookup(const rpcd_registry *reg,
                                               const char *name, size_t len)
{
  const rpcd_method_entry *e;

  if (!reg->n_slots)
    return NULL;
  e = find_slot(reg->slots, reg->n_slots, name, len);
  return e->name ? e : NULL;
}

static int cmp_entry(const void *a, const void *b)
{
  const rpcd_method_entry *x = *(const rpcd_method_entry *const *)a;
  const rpcd_method_entry *y = *(const rpcd_method_entry *const *)b;

  return strcmp(x->name, y->name);
}

void rpcd__registry_sorted(const rpcd_registry *reg,
                           const rpcd_method_entry **out)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < reg->n_slots; i++) {
    if (reg->slots[i].name)
      out[n++] = &reg->slots[i];
  }
  qsort(out, n, sizeof(*out), cmp_entry);
}

const rpcd_plugin *rpcd__registry_find_plugin(const rpcd_registry *reg,
                                              const char *name)
{
  size_t i;

  for (i = 0; i < reg->n_plugins; i++) {
    if (strcmp(reg->plugins[i]->name, name) == 0)
      return reg->plugins[i];
  }
  return NULL;
}
