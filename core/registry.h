/* SPDX-License-Identifier: MIT */
/*
 * The method registry: every method the server can dispatch, by name, with
 * the plugin that registered it, its descriptor (rpcd_method_spec) and its
 * handler: a 1.0 rpcd_method_fn or a typed rpcd_handler_fn. The registry
 * owns its entries (name, spec) and the loaded plugins, and unloads them
 * (fini or close, dlclose) when destroyed.
 */
#ifndef RPCD_REGISTRY_H
#define RPCD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <rpcd/plugin.h>

#include "method_desc.h"

/* A loaded plugin (see plugin_loader.c). */
typedef struct rpcd_plugin {
  char *path;
  char *name;    /* copied from the descriptor */
  char *version; /* copied from the descriptor */
  void *handle;  /* dlopen handle */
  const rpcd_plugin_info *info;
  void *state; /* what init() or open() stored */
} rpcd_plugin;

typedef struct rpcd_method_entry {
  char *name; /* owned copy, NUL-terminated */
  size_t name_len;
  rpcd_method_spec spec;     /* owned; untyped for fn */
  rpcd_method_fn fn;         /* a 1.0/1.1 method, or NULL */
  rpcd_handler_fn handler;   /* a typed (1.2) method, or NULL */
  void *state;               /* fn's first argument, the handler's ctx->state */
  const rpcd_plugin *plugin; /* NULL for the server's built-ins */
} rpcd_method_entry;

typedef struct rpcd_registry {
  rpcd_method_entry *slots; /* open addressing, power-of-two size */
  size_t n_slots;
  size_t n_methods;
  rpcd_plugin **plugins; /* in load order */
  size_t n_plugins;
} rpcd_registry;

void rpcd__registry_init(rpcd_registry *reg);

/* Unload every plugin (fini, then dlclose) in reverse load order and free
 * the table. */
void rpcd__registry_destroy(rpcd_registry *reg);

/*
 * Add an untyped (1.0/1.1) method. The name is copied.
 * \return RPCD_OK, RPCD_EINVAL (bad name), RPCD_EEXIST (name taken; err
 *         names the plugin that has it), RPCD_ENOMEM
 */
int rpcd__registry_add(rpcd_registry *reg, const char *name, rpcd_method_fn fn,
                       void *state, const rpcd_plugin *plugin, char *err,
                       size_t errlen);

/*
 * Add a typed method with its spec (from rpcd__method_spec_read). On
 * success the registry owns what *spec owned and *spec is left empty; on
 * failure the caller still owns it.
 * \return as rpcd__registry_add()
 */
int rpcd__registry_add_typed(rpcd_registry *reg, const char *name,
                             rpcd_handler_fn handler, rpcd_method_spec *spec,
                             void *state, const rpcd_plugin *plugin, char *err,
                             size_t errlen);

/* Remove every method registered by `plugin`. */
void rpcd__registry_remove_plugin(rpcd_registry *reg,
                                  const rpcd_plugin *plugin);

/* Find a method by a name that need not be NUL-terminated. */
const rpcd_method_entry *rpcd__registry_lookup(const rpcd_registry *reg,
                                               const char *name, size_t len);

/* Fill `out` (n_methods entries) with the methods sorted by name. */
void rpcd__registry_sorted(const rpcd_registry *reg,
                           const rpcd_method_entry **out);

/* The plugin named `name`, or NULL. */
const rpcd_plugin *rpcd__registry_find_plugin(const rpcd_registry *reg,
                                              const char *name);

#endif /* RPCD_REGISTRY_H */
