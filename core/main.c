/* SPDX-License-Identifier: MIT */
/*
 * rpcd: parse the flags, make the cheap checks, and hand over to the
 * supervisor (core/supervisor.c), which runs the workers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rpcd/version.h>

#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "transport_amqp.h"

#define EXIT_USAGE 2

int main(int argc, char **argv)
{
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
    fputs(cfg.help ? rpcd__usage_text() : "rpcd " RPCD_VERSION_STRING "\n",
          stdout);
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
  status = rpcd__supervise(&cfg);
  rpcd__config_destroy(&cfg);
  return status;
}
