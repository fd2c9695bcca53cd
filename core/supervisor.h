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

#include "config.h"

/*
 * Run the server until it is stopped. The calling process becomes the
 * supervisor; cfg must stay valid throughout (workers read their copy).
 *
 * \return the process exit status: 0 after a clean drain, 1 when startup
 *         failed (a plugin refused, the broker unreachable) or the drain
 *         timed out
 */
int rpcd__supervise(const rpcd_config *cfg);

#endif /* RPCD_SUPERVISOR_H */
