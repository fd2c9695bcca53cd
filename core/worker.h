/* SPDX-License-Identifier: MIT */
/*
 * A worker process: loads the plugins itself, owns one AMQP connection,
 * consumes the request queue and runs the handlers. Forked by the
 * supervisor, which replaces it when it dies. A worker never outlives the
 * supervisor (PR_SET_PDEATHSIG).
 */
#ifndef RPCD_WORKER_H
#define RPCD_WORKER_H

#include <stddef.h>
#include <sys/types.h>

#include "acl.h"
#include "config.h"
#include "registry.h"
#include "scoreboard.h"

typedef struct rpcd_worker_args {
  const rpcd_config *cfg; /* borrowed from the supervisor's memory */
  unsigned index;         /* 0..workers-1, stable across restarts */
  unsigned generation;    /* plugin-set generation, 1 at startup */
  pid_t supervisor;       /* the parent; the worker exits if it is gone */
  rpcd_scoreboard *sb;    /* shared with the supervisor and other workers */
  int slot;               /* this worker's slot in sb */
  const rpcd_acl *acl;    /* --acl as the supervisor parsed it for this
                             generation, inherited by fork; NULL: none */
} rpcd_worker_args;

/* Exit statuses of a worker, read by the supervisor. */
enum {
  RPCD_WORKER_EXIT_OK = 0,     /* drained on SIGTERM */
  RPCD_WORKER_EXIT_FAILED = 1, /* could not load the plugins, out of memory */
  RPCD_WORKER_EXIT_ORPHAN = 3, /* the supervisor was gone at startup */
  RPCD_WORKER_EXIT_TIMEOUT = 4 /* a handler overran --handler-timeout; its
                                  caller was answered by the worker */
};

/*
 * Load the plugin set the flags name into `reg`: the built-ins, every
 * --plugin in order, then --plugin-dir; and check --text-method. Used by
 * each worker and by the supervisor's throwaway check child.
 * \return RPCD_OK, or a status with err naming the file and the reason
 */
int rpcd__load_plugin_set(rpcd_registry *reg, const rpcd_config *cfg, char *err,
                          size_t errlen);

/*
 * Run a worker in the calling (freshly forked) process until it is told to
 * stop. Never returns: it exits with one of the statuses above.
 */
void rpcd__worker_main(const rpcd_worker_args *args) __attribute__((noreturn));

#endif /* RPCD_WORKER_H */
