/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: check a plugin file, dlopen it, check its entry point
 * and descriptor (ABI 1.0 to 1.2: untyped methods or typed method_descs,
 * init or open) before rpcd calls any of its functions, init or open it,
 * and register its methods, all or nothing. A plugin's ELF constructors run
 * at dlopen, before those checks: a plugin is trusted code. Ownership: the
 * registry owns a loaded rpcd_plugin; rpcd__plugin_unload() frees it.
 */
#ifndef RPCD_PLUGIN_LOADER_H
#define RPCD_PLUGIN_LOADER_H

#include <stddef.h>

#include "registry.h"

/*
 * Load the plugin at `path` into `reg`. `path` is a path, never a library
 * name to search for: it is resolved with realpath() (relative to the
 * current directory, symbolic links followed), and the absolute path is
 * what is opened, recorded in the rpcd_plugin and named in messages. Before
 * dlopen the file must be a regular file, owned by root or the effective
 * user, not writable by others or by a group other than the effective
 * group, in directories that pass the same test (sticky ones may be
 * writable), and no shorter than its ELF segments. After dlopen
 * rpcd_plugin_entry must be a function (STT_FUNC, in an executable segment);
 * then the descriptor it returns is checked (size, ABI major and minor,
 * msgpack major, reserved fields, name, unique name, method table, each
 * typed method's descriptor), init or open is called and every method
 * registered. On failure nothing stays loaded or
 * registered and err says which file and why.
 *
 * \return RPCD_OK, RPCD_EPLUGIN, RPCD_EEXIST (duplicate plugin or method),
 *         RPCD_ENOMEM
 */
int rpcd__plugin_load(rpcd_registry *reg, const char *path, char *err,
                      size_t errlen);

/*
 * Load every "*.so" in `dir`, in name order, by its absolute path. The
 * directory must pass the ownership and mode test above. Stops at the first
 * failure, or with `skip_bad`, logs a refused plugin (RPCD_EPLUGIN) and goes
 * on without it.
 * \return as rpcd__plugin_load(); RPCD_EPLUGIN when the directory cannot be
 *         read
 */
int rpcd__plugin_load_dir(rpcd_registry *reg, const char *dir, bool skip_bad,
                          char *err, size_t errlen);

/* Log that a refused plugin is skipped (--skip-bad-plugins); `why` is the
 * loader's message, which names the file and the reason. */
void rpcd__plugin_log_skipped(const char *why);

/* fini or close, dlclose and free. The plugin's methods must be gone
 * already. */
void rpcd__plugin_unload(rpcd_plugin *plugin);

/* The plugin whose code is running (during init/open, fini/close and
 * calls), for the prefix of the 1.0 log(); NULL when none. */
const rpcd_plugin *rpcd__plugin_current(void);
void rpcd__plugin_set_current(const rpcd_plugin *plugin);

#endif /* RPCD_PLUGIN_LOADER_H */
