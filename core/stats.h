/* SPDX-License-Identifier: MIT */
/*
 * rpc.stats, the built-in that reports the scoreboard: per worker process
 * (pid, generation, calls, errors, started, state) and for the server
 * (crashes, poison, timeouts, reloads, restarts). Every worker answers for
 * the whole server, since they all read the same shared memory.
 */
#ifndef RPCD_STATS_H
#define RPCD_STATS_H

#include <stddef.h>

#include "registry.h"
#include "scoreboard.h"

/* Register rpc.stats reading `sb` (borrowed for the registry's life). */
int rpcd__stats_register(rpcd_registry *reg, const rpcd_scoreboard *sb,
                         char *err, size_t errlen);

#endif /* RPCD_STATS_H */
