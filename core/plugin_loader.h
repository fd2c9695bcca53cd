/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: dlopen a plugin, check its descriptor before any of its
 * code runs, init it, and register its methods, all or nothing.
 */
#ifndef RPCD_PLUGIN_LOADER_H
#define RPCD_PLUGIN_LOADER_H

#include <stddef.h>

#include "registry.h"

/* The host API every plugin gets (dispatcher.c). */
extern const rpcd_host_api rpcd__host_api;

/*
 * Load the plugin at `path` into `reg`: dlopen, check the descriptor (size,
 * ABI major and minor, msgpack major, reserved fields, name, unique name,
 * method table), call init, register every method. On failure nothing stays
 * loaded or registered and err says which file and why.
 *
 * \return RPCD_OK, RPCD_EPLUGIN, RPCD_EEXIST (duplicate plugin or method),
 *         RPCD_ENOMEM
 */
int rpcd__plugin_load(rpcd_registry *reg, const char *path, char *err,
                      size_t errlen);

/*
 * Load every "*.so" in `dir`, in name order. Stops at the first failure.
 * \return as rpcd__plugin_load(); RPCD_EPLUGIN when the directory cannot be
 *         read
 */
int rpcd__plugin_load_dir(rpcd_registry *reg, const char *dir, char *err,
                          size_t errlen);

/* fini, dlclose and free. The plugin's methods must be gone already. */
void rpcd__plugin_unload(rpcd_plugin *plugin);

/* The plugin whose code is running (during init, fini and calls), for log
 * prefixes; NULL when none. */
const rpcd_plugin *rpcd__plugin_current(void);
void rpcd__plugin_set_current(const rpcd_plugin *plugin);

#endif /* RPCD_PLUGIN_LOADER_H */
