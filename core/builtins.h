/* SPDX-License-Identifier: MIT */
/*
 * The server's own methods, rpc.ping, rpc.list, rpc.describe and
 * rpc.stats: typed methods of the plugin "rpcd" (version the server's),
 * registered from one rpcd_method_desc table through the same path as a
 * plugin's. Ownership: the registry owns what is registered; the
 * scoreboard is borrowed for the registry's life.
 */
#ifndef RPCD_BUILTINS_H
#define RPCD_BUILTINS_H

#include <stddef.h>

#include "registry.h"
#include "scoreboard.h"

/* Register rpc.ping, rpc.list and rpc.describe. */
int rpcd__builtins_add(rpcd_registry *reg, char *err, size_t errlen);

/* Register rpc.stats, reading `sb` (a worker's; the plugin check has
 * none). */
int rpcd__builtins_add_stats(rpcd_registry *reg, const rpcd_scoreboard *sb,
                             char *err, size_t errlen);

#endif /* RPCD_BUILTINS_H */
