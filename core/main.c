/* SPDX-License-Identifier: MIT */
/*
 * rpcd: load the plugins, then consume the request queue until SIGINT or
 * SIGTERM. A lost broker connection is retried with backoff; a broker that
 * cannot be reached at startup is an error, so a misconfigured server fails
 * at once instead of looking alive.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rpcd/version.h>

#include "config.h"
#include "consumer.h"
#include "dispatcher.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "transport_amqp.h"

#define EXIT_USAGE 2
#define BACKOFF_MAX_MS 30000
/* After SIGTERM, how long a reply blocked by the broker may take before the
 * write is broken off (a second SIGTERM breaks it at once). */
#define STOP_GRACE_S 10

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
  if (sig == SIGALRM || stop_requested) {
    rpcd__consumer_abort_io();
    return;
  }
  stop_requested = 1;
  alarm(STOP_GRACE_S);
}

static void install_signals(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  /* A reply to a vanished peer must not kill the server. */
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
}

/* Sleep up to ms, waking early when a stop is requested. */
static void sleep_unless_stopped(unsigned ms)
{
  struct timespec ts = {0, 100 * 1000000L};
  unsigned slept = 0;

  while (!stop_requested && slept < ms) {
    nanosleep(&ts, NULL);
    slept += 100;
  }
}

static int load_plugins(rpcd_registry *reg, const rpcd_config *cfg)
{
  char err[1024];
  size_t i;
  int rc;

  rc = rpcd__dispatcher_add_builtins(reg, err, sizeof(err));
  for (i = 0; rc == 0 && i < cfg->n_plugins; i++)
    rc = rpcd__plugin_load(reg, cfg->plugins[i], err, sizeof(err));
  if (rc == 0 && cfg->plugin_dir)
    rc = rpcd__plugin_load_dir(reg, cfg->plugin_dir, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "rpcd: %s\n", err);
    return rc;
  }
  if (cfg->text_method &&
      !rpcd__registry_lookup(reg, cfg->text_method, strlen(cfg->text_method))) {
    fprintf(stderr,
            "rpcd: --text-method: no loaded plugin registers method \"%s\"\n",
            cfg->text_method);
    return -1;
  }
  return 0;
}

/* Consume until stopped; reconnect with backoff when the broker goes away. */
static int serve(const rpcd_consumer_config *ccfg)
{
  rpcd_consumer_stats stats = {0};
  unsigned backoff_ms = 500;
  bool connected_once = false;
  char err[512];
  int rc;

  while (!stop_requested) {
    rpcd_consumer *c;

    rc = rpcd__consumer_open(ccfg, &c, err, sizeof(err));
    if (rc != 0) {
      if (!connected_once) {
        fprintf(stderr, "rpcd: %s\n", err);
        return 1;
      }
      rpcd_log(RPCD_LOG_WARN, "%s; retrying in %u ms", err, backoff_ms);
      sleep_unless_stopped(backoff_ms);
      backoff_ms =
          backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
      continue;
    }
    connected_once = true;
    backoff_ms = 500;
    rpcd_log(RPCD_LOG_INFO, "serving queue \"%s\" (prefetch %u, %zu methods)",
             ccfg->queue, ccfg->prefetch, ccfg->handler.registry->n_methods);
    rc = rpcd__consumer_serve(c, &stop_requested, &stats, err, sizeof(err));
    rpcd__consumer_close(c);
    if (rc != 0 && !stop_requested)
      rpcd_log(RPCD_LOG_WARN, "connection lost: %s; reconnecting", err);
  }
  rpcd_log(RPCD_LOG_INFO,
           "stopped: %llu requests (%llu ok, %llu errors, %llu expired, "
           "%llu notifications), queue re-declared %llu times after a cancel",
           (unsigned long long)stats.received, (unsigned long long)stats.ok,
           (unsigned long long)stats.errors, (unsigned long long)stats.expired,
           (unsigned long long)stats.notifications,
           (unsigned long long)stats.cancels);
  return 0;
}

int main(int argc, char **argv)
{
  rpcd_consumer_config ccfg;
  rpcd_registry reg;
  rpcd_config cfg;
  char err[512];
  int status;

  if (rpcd__config_parse(&cfg, argc, argv, getenv("RPCD_URI"), err,
                         sizeof(err)) != 0) {
    fprintf(stderr, "rpcd: %s\n", err);
    rpcd__config_destroy(&cfg);
    return EXIT_USAGE;
  }
  if (cfg.help || cfg.version) {
    fputs(cfg.help ? rpcd__usage : "rpcd " RPCD_VERSION_STRING "\n", stdout);
    rpcd__config_destroy(&cfg);
    return 0;
  }
  /* The cheap checks come before any plugin code runs. */
  if (rpcd__amqp_uri_check(cfg.uri, err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "rpcd: --uri: %s\n", err);
    rpcd__config_destroy(&cfg);
    return EXIT_USAGE;
  }
  rpcd__log_level = cfg.log_level;
  install_signals();

  rpcd__registry_init(&reg);
  if (load_plugins(&reg, &cfg) != 0) {
    status = 1;
    goto out;
  }

  memset(&ccfg, 0, sizeof(ccfg));
  ccfg.uri = cfg.uri;
  ccfg.queue = cfg.queue;
  ccfg.prefetch = cfg.prefetch;
  ccfg.heartbeat_s = cfg.heartbeat_s;
  ccfg.handler.registry = &reg;
  ccfg.handler.max_body = cfg.max_body;
  ccfg.handler.text_method = cfg.text_method;
  rpcd_log(RPCD_LOG_INFO, "rpcd %s starting", RPCD_VERSION_STRING);
  status = serve(&ccfg);
out:
  rpcd__registry_destroy(&reg);
  rpcd__config_destroy(&cfg);
  return status;
}
