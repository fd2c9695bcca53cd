/* SPDX-License-Identifier: MIT */
/*
 * rpc.stats, the built-in that reports the scoreboard: the server's
 * counters (calls, errors, crashes, poison, timeouts, reloads, restarts,
 * expired, dropped replies), per method (metrics.h), the requests refused
 * before any method ran, and per worker process (pid, generation, calls,
 * errors, started, state); and rpc.health. Every worker answers for
 * the whole server, since they all read the same shared memory. Registered
 * by builtins.c. Ownership: the scoreboard (ctx->state) is borrowed.
 */
#ifndef RPCD_STATS_H
#define RPCD_STATS_H

#include <rpcd/plugin.h>

#include "scoreboard.h"

/* rpc.stats() -> map; ctx->state is the rpcd_scoreboard to read. */
int rpcd__stats_handler(rpcd_ctx *ctx, msgpack_packer *result);

/* gRPC health's meaning: not draining, and some worker consumes. */
bool rpcd__serving(const rpcd_scoreboard *sb);

/* rpc.health() -> "SERVING" or "NOT_SERVING"; ctx->state as above. */
int rpcd__health_handler(rpcd_ctx *ctx, msgpack_packer *result);

#endif /* RPCD_STATS_H */
