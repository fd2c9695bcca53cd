/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's HTTP listener (--metrics-listen HOST:PORT), on
 * libmicrohttpd's own thread: GET /metrics, the scoreboard's counters in
 * Prometheus's text exposition format, and GET /healthz, 200 SERVING or
 * 503 NOT_SERVING (rpc.health's meaning) for container probes. The thread
 * only reads the scoreboard (atomics). Ownership: the listener borrows the
 * scoreboard; rpcd__metrics_http_stop() frees the listener.
 */
#ifndef RPCD_METRICS_HTTP_H
#define RPCD_METRICS_HTTP_H

#include <stddef.h>

#include "scoreboard.h"

typedef struct rpcd_metrics_http rpcd_metrics_http;

/*
 * Listen on host:port (an IPv4 address or "localhost").
 * \return RPCD_OK, or RPCD_EINVAL / RPCD_ECONNECT (the port is taken...)
 *         with a message in err
 */
int rpcd__metrics_http_start(const char *host, unsigned port,
                             const rpcd_scoreboard *sb,
                             rpcd_metrics_http **out, char *err,
                             size_t errlen);

void rpcd__metrics_http_stop(rpcd_metrics_http *h);

/* In a forked child: close the listening socket without touching the
 * parent's listener (the child has no server thread). */
void rpcd__metrics_http_forget(rpcd_metrics_http *h);

/*
 * The exposition text of the scoreboard, NUL-terminated, in *out (free()
 * it). \return RPCD_OK, RPCD_ENOMEM
 */
int rpcd__metrics_text(const rpcd_scoreboard *sb, char **out, size_t *len);

#endif /* RPCD_METRICS_HTTP_H */
