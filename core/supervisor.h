/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: the process the user started. It runs no plugin code. It
 * checks the plugin set in a throwaway child, reaches the broker and
 * declares the queues, forks the workers, reaps them and replaces any that
 * dies, and handles the signals: SIGTERM/SIGINT drain, SIGHUP reloads the
 * plugins into a new generation of workers (nginx's master and workers).
 */
#ifndef RPCD_SUPERVISOR_H
#define RPCD_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * Run the server until it is stopped. The calling process becomes the
 * supervisor; cfg must stay valid throughout (workers read their copy). A
 * SIGHUP reads the flags and the --config file again and commits what a
 * reload may change into cfg (rpcd__config_reload()).
 *
 * \return the process exit status: 0 after a clean drain, 1 when startup
 *         failed (a plugin refused, the broker unreachable) or the drain
 *         timed out
 */
int rpcd__supervise(rpcd_config *cfg);

/*
 * Load the plugin set cfg names in a throwaway child and report whether it
 * loads: a plugin that is refused, whose init fails or that crashes the
 * loader is named in why, and no plugin code runs in the calling process.
 * Used before startup, before a reload, and by rpcd --check-config.
 */
bool rpcd__plugin_set_loads(const rpcd_config *cfg, char *why, size_t whylen);

#endif /* RPCD_SUPERVISOR_H */
