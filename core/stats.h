/* SPDX-License-Identifier: MIT */
/*
 * rpc.stats, the built-in that reports the scoreboard: per worker process
 * (pid, generation, calls, errors, started, state) and for the server
 * (crashes, poison, timeouts, reloads, restarts). Every worker answers for
 * the whole server, since they all read the same shared memory. Registered
 * by builtins.c. Ownership: the scoreboard (ctx->state) is borrowed.
 */
#ifndef RPCD_STATS_H
#define RPCD_STATS_H

#include <rpcd/plugin.h>

#include "scoreboard.h"

/* rpc.stats() -> map; ctx->state is the rpcd_scoreboard to read. */
int rpcd__stats_handler(rpcd_ctx *ctx, msgpack_packer *result);

#endif /* RPCD_STATS_H */
