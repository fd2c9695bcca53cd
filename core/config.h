/* SPDX-License-Identifier: MIT */
/*
 * The server's command line: parsed and validated into rpcd_config, with no
 * side effects, so that every flag and every bad value is unit-tested.
 */
#ifndef RPCD_CONFIG_H
#define RPCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rpcd_config {
  const char *uri; /* --uri, else $RPCD_URI */
  const char *queue;
  const char **plugins; /* --plugin, in order (malloc'd array) */
  size_t n_plugins;
  const char *plugin_dir;
  unsigned prefetch;
  const char *text_method;
  int log_level;
  size_t max_body;
  unsigned heartbeat_s;
  bool help;
  bool version;
} rpcd_config;

/*
 * Parse argv (not modified; strings are borrowed from argv and the
 * environment). `env_uri` is $RPCD_URI or NULL.
 *
 * \return RPCD_OK (check help/version first), RPCD_EINVAL with a message in
 *         err, RPCD_ENOMEM. Call rpcd__config_destroy() in every case.
 */
int rpcd__config_parse(rpcd_config *cfg, int argc, char *const argv[],
                       const char *env_uri, char *err, size_t errlen);

void rpcd__config_destroy(rpcd_config *cfg);

/* The --help text. */
extern const char rpcd__usage[];

#endif /* RPCD_CONFIG_H */
