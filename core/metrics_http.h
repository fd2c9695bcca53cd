/* SPDX-License-Identifier: MIT */
/*
 * The metrics listener (--metrics-listen HOST:PORT): GET /metrics, the
 * scoreboard's counters in Prometheus's text exposition format, and GET
 * /healthz, 200 SERVING or 503 NOT_SERVING (rpc.health's meaning) for
 * container probes.
 *
 * It runs in a process of its own, which the supervisor forks and
 * restarts like a worker: libmicrohttpd serves from a thread, and the
 * supervisor must stay single-threaded, since it forks workers (a fork of
 * a threaded process copies locks other threads may hold). The supervisor
 * binds the socket itself first, so that a taken port stops startup with
 * a clear message. The listener only reads the scoreboard (atomics).
 */
#ifndef RPCD_METRICS_HTTP_H
#define RPCD_METRICS_HTTP_H

#include <stddef.h>

#include "scoreboard.h"

/*
 * Bind and listen on host:port (an IPv4 address or "localhost").
 * \return RPCD_OK with the socket in *fd, or RPCD_EINVAL / RPCD_ECONNECT
 *         (the port is taken...) with a message in err
 */
int rpcd__metrics_listen(const char *host, unsigned port, int *fd, char *err,
                         size_t errlen);

/*
 * Serve HTTP on the listening socket `fd` until SIGTERM or SIGINT (the
 * caller has them blocked). The metrics process's whole life.
 * \return 0, or 1 when the server could not start (logged)
 */
int rpcd__metrics_serve(int fd, const rpcd_scoreboard *sb);

/*
 * The exposition text of the scoreboard, NUL-terminated, in *out (free()
 * it). \return RPCD_OK, RPCD_ENOMEM
 */
int rpcd__metrics_text(const rpcd_scoreboard *sb, char **out, size_t *len);

#endif /* RPCD_METRICS_HTTP_H */
