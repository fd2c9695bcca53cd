/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* open_memstream */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rpcd/status.h>

#include "log.h"
#include "rpcd_proto.h"
#include "stats.h"

typedef struct rpcd_metrics_http {
  struct MHD_Daemon *daemon;
  const rpcd_scoreboard *sb;
} rpcd_metrics_http;

/* HELP and TYPE lines of one metric family. */
static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
  family(f, name, "counter", help);
  fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static bool ready_entry(const rpcd_metrics *m, int i)
{
  return atomic_load_explicit(&m->methods[i].state, memory_order_acquire) == 2;
}

/* Registered method names are [A-Za-z0-9_.-]: nothing to escape in a
 * label value. */
static void method_series(FILE *f, const rpcd_metrics *m)
{
  int i;
  int mc;
  int b;

  family(f, "rpcd_calls_total", "counter",
         "Calls of each method that ran, by outcome code (0: success, "
         "application: a plugin's own error).");
  for (i = 0; i < RPCD_METRICS_METHODS; i++) {
    if (!ready_entry(m, i))
      continue;
    for (mc = 0; mc < RPCD_MC_COUNT; mc++) {
      uint64_t v = atomic_load(&m->methods[i].calls[mc]);

      if (v || mc == RPCD_MC_OK)
        fprintf(f, "rpcd_calls_total{method=\"%s\",code=\"%s\"} %llu\n",
                m->methods[i].name, rpcd__metric_code_name(mc),
                (unsigned long long)v);
    }
  }
  family(f, "rpcd_calls_in_flight", "gauge",
         "Calls of each method whose handler is running.");
  for (i = 0; i < RPCD_METRICS_METHODS; i++)
    if (ready_entry(m, i))
      fprintf(f, "rpcd_calls_in_flight{method=\"%s\"} %llu\n",
              m->methods[i].name,
              (unsigned long long)atomic_load(&m->methods[i].in_flight));
  family(f, "rpcd_call_duration_seconds", "histogram",
         "Handler time of the calls of each method that returned.");
  for (i = 0; i < RPCD_METRICS_METHODS; i++) {
    const rpcd_method_metrics *e = &m->methods[i];
    uint64_t cumulative = 0;

    if (!ready_entry(m, i))
      continue;
    for (b = 0; b < RPCD_METRICS_BUCKETS; b++) {
      cumulative += atomic_load(&e->buckets[b]);
      if (b + 1 < RPCD_METRICS_BUCKETS)
        fprintf(f,
                "rpcd_call_duration_seconds_bucket{method=\"%s\",le=\"%g\"} "
                "%llu\n",
                e->name, (double)rpcd__metrics_bucket_us[b] / 1e6,
                (unsigned long long)cumulative);
      else
        fprintf(f,
                "rpcd_call_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} "
                "%llu\n",
                e->name, (unsigned long long)cumulative);
    }
    fprintf(f, "rpcd_call_duration_seconds_sum{method=\"%s\"} %.6f\n", e->name,
            (double)atomic_load(&e->time_us) / 1e6);
    fprintf(f, "rpcd_call_duration_seconds_count{method=\"%s\"} %llu\n",
            e->name, (unsigned long long)cumulative);
  }
}

int rpcd__metrics_text(const rpcd_scoreboard *sb, char **out, size_t *len)
{
  const rpcd_server_counters *c = &sb->server;
  const rpcd_metrics *m = &sb->metrics;
  unsigned workers = 0;
  unsigned i;
  FILE *f;
  int mc;

  *out = NULL;
  f = open_memstream(out, len);
  if (!f)
    return RPCD_ENOMEM;
  for (i = 0; i < sb->n_slots; i++)
    workers += atomic_load(&sb->slots[i].state) != RPCD_SLOT_FREE &&
               atomic_load(&sb->slots[i].pid) != 0;
  family(f, "rpcd_serving", "gauge",
         "1 while the server serves (rpc.health SERVING), 0 while it drains "
         "or no worker consumes.");
  fprintf(f, "rpcd_serving %d\n", rpcd__serving(sb) ? 1 : 0);
  family(f, "rpcd_workers", "gauge", "Worker processes alive.");
  fprintf(f, "rpcd_workers %u\n", workers);
  method_series(f, m);
  family(f, "rpcd_requests_rejected_total", "counter",
         "Requests answered before any method ran, by error code.");
  for (mc = 0; mc < RPCD_MC_COUNT; mc++) {
    uint64_t v = atomic_load(&m->rejected[mc]);

    if (v)
      fprintf(f, "rpcd_requests_rejected_total{code=\"%s\"} %llu\n",
              rpcd__metric_code_name(mc), (unsigned long long)v);
  }
  counter(f, "rpcd_requests_expired_total",
          "Requests whose deadline passed before they started; not run.",
          atomic_load(&m->expired));
  counter(f, "rpcd_replies_dropped_total",
          "Replies that could not be published.",
          atomic_load(&m->dropped_replies));
  counter(f, "rpcd_worker_crashes_total", "Workers that died in a handler.",
          atomic_load(&c->crashes));
  counter(f, "rpcd_poison_total",
          "Requests dead-lettered as poison (--max-deliveries).",
          atomic_load(&c->poison));
  counter(f, "rpcd_handler_timeouts_total",
          "Handlers stopped by --handler-timeout or a deadline.",
          atomic_load(&c->timeouts));
  counter(f, "rpcd_reloads_total", "Plugin reloads (SIGHUP) done.",
          atomic_load(&c->reloads));
  counter(f, "rpcd_worker_restarts_total", "Workers started again.",
          atomic_load(&c->restarts));
  if (fclose(f) != 0 || !*out) {
    free(*out);
    *out = NULL;
    return RPCD_ENOMEM;
  }
  return RPCD_OK;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               const char *type, void *body, size_t len,
                               enum MHD_ResponseMemoryMode mode)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
  enum MHD_Result ret;

  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
  static char not_found[] = "not found: try /metrics or /healthz\n";
  static char not_allowed[] = "only GET\n";
  static char serving[] = "SERVING\n";
  static char not_serving[] = "NOT_SERVING\n";
  const rpcd_metrics_http *h = cls;
  char *text;
  size_t len;

  (void)version;
  (void)upload;
  (void)upload_len;
  (void)state;
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
      strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
                   sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
  if (strcmp(url, "/healthz") == 0) {
    bool ok = rpcd__serving(h->sb);

    return respond(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                   "text/plain", ok ? serving : not_serving,
                   ok ? sizeof(serving) - 1 : sizeof(not_serving) - 1,
                   MHD_RESPMEM_PERSISTENT);
  }
  if (strcmp(url, "/metrics") != 0)
    return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
                   sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
  if (rpcd__metrics_text(h->sb, &text, &len) != RPCD_OK)
    return MHD_NO;
  return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len,
                 MHD_RESPMEM_MUST_FREE);
}

int rpcd__metrics_listen(const char *host, unsigned port, int *fd, char *err,
                         size_t errlen)
{
  struct sockaddr_in addr;
  int one = 1;
  int s;

  *fd = -1;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    rpcd__set_err(err, errlen,
                  "--metrics-listen: \"%s\" is not an IPv4 address", host);
    return RPCD_EINVAL;
  }
  s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 ||
      setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      listen(s, 16) != 0) {
    rpcd__set_err(err, errlen, "--metrics-listen %s:%u: %s", host, port,
                  strerror(errno));
    if (s >= 0)
      close(s);
    return RPCD_ECONNECT;
  }
  *fd = s;
  return RPCD_OK;
}

int rpcd__metrics_serve(int fd, const rpcd_scoreboard *sb)
{
  rpcd_metrics_http h = {NULL, sb};
  sigset_t stop;
  int sig;

  /* Few, short connections: a scraper and a probe. */
  h.daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, on_request,
      &h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
      MHD_OPTION_END);
  if (!h.daemon) {
    rpcd__log(RPCD_LOG_ERROR, "the metrics listener could not start");
    return 1;
  }
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  while (sigwait(&stop, &sig) != 0)
    ;
  MHD_stop_daemon(h.daemon);
  return 0;
}
