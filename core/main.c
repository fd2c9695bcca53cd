/* SPDX-License-Identifier: MIT */
/*
 * rpcd: parse the flags, make the cheap checks, and hand over to the
 * supervisor (core/supervisor.c), which runs the workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/version.h>

#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "transport_amqp.h"
#include "uri_file.h"

#define EXIT_USAGE 2

/* The argv string cfg->uri points into when it came from --uri, else NULL:
 * "--uri URI" or "--uri=URI" (config.c borrows argv's strings). */
static char *uri_in_argv(int argc, char **argv, const char *uri)
{
  int i;

  for (i = 1; uri && i < argc; i++) {
    if (argv[i] == uri)
      return argv[i];
    if (strncmp(argv[i], "--uri=", 6) == 0 && argv[i] + 6 == uri)
      return argv[i] + 6;
  }
  return NULL;
}

int main(int argc, char **argv)
{
  rpcd_config cfg;
  char err[512];
  char *uri = NULL; /* owned: --uri copied out of argv, or --uri-file's */
  char *in_argv;
  int status;

  if (rpcd__config_parse(&cfg, argc, argv, getenv("RPCD_URI"), err,
                         sizeof(err)) != 0) {
    fprintf(stderr, "rpcd: %s\n", err);
    rpcd__config_destroy(&cfg);
    return EXIT_USAGE;
  }
  /* Take the URI out of argv before anything else runs: a copy for the
   * process, and the argv bytes ps and /proc/PID/cmdline show blanked. The
   * workers are forked, never exec'd, so they inherit both. */
  in_argv = uri_in_argv(argc, argv, cfg.uri);
  if (in_argv) {
    uri = strdup(in_argv);
    if (!uri) {
      fputs("rpcd: out of memory\n", stderr);
      rpcd__config_destroy(&cfg);
      return 1;
    }
    rpcd__uri_blank_password(in_argv);
    cfg.uri = uri;
  }
  if (cfg.help || cfg.version) {
    fputs(cfg.help ? rpcd__usage_text() : "rpcd " RPCD_VERSION_STRING "\n",
          stdout);
    rpcd__config_destroy(&cfg);
    free(uri);
    return 0;
  }
  if (cfg.uri_file) {
    status = rpcd__uri_file_read(cfg.uri_file, &uri, err, sizeof(err));
    if (status != RPCD_OK) {
      fprintf(stderr, "rpcd: %s\n",
              status == RPCD_ENOMEM ? "out of memory" : err);
      rpcd__config_destroy(&cfg);
      return status == RPCD_ENOMEM ? 1 : EXIT_USAGE;
    }
    cfg.uri = uri;
  }
  /* The cheap checks come before any plugin code runs. */
  if (rpcd__amqp_uri_check(cfg.uri, NULL, err, sizeof(err)) != RPCD_OK) {
    if (cfg.uri_file)
      fprintf(stderr, "rpcd: --uri-file %s: %s\n", cfg.uri_file, err);
    else
      fprintf(stderr, "rpcd: --uri: %s\n", err);
    rpcd__config_destroy(&cfg);
    free(uri);
    return EXIT_USAGE;
  }
  /* The TLS files too: a bad certificate is named here, not guessed at
   * from a failed handshake. */
  if (rpcd__amqp_uri_check(cfg.uri, &cfg.tls, err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "rpcd: %s\n", err);
    rpcd__config_destroy(&cfg);
    free(uri);
    return EXIT_USAGE;
  }
  rpcd__log_level = cfg.log_level;
  status = rpcd__supervise(&cfg);
  rpcd__config_destroy(&cfg);
  free(uri);
  return status;
}
