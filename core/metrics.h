/* SPDX-License-Identifier: MIT */
/*
 * Per-method metrics, shared by every process of a server (they live in
 * the scoreboard's mapping): for each method called since the server
 * started, calls by outcome code, calls in flight, handler time (total and
 * a histogram with fixed buckets) and the last error with its time, as
 * NATS services report them. rpc.stats and the Prometheus listener read
 * them; workers write them; nothing takes a lock.
 *
 * A method gets its entry the first time a worker dispatches it (only
 * registered methods: a request's method name is the caller's to choose,
 * and would otherwise fill the table). Entries are never freed: counters
 * only grow, as Prometheus expects, across worker restarts and reloads.
 * Requests refused before any method runs (malformed, unknown method,
 * expired...) are counted by code in `rejected`.
 */
#ifndef RPCD_METRICS_H
#define RPCD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpcd_proto.h"

#define RPCD_METRICS_METHODS 256 /* entries; later methods are not counted */
#define RPCD_METRICS_BUCKETS 12  /* histogram buckets, the last is +Inf */

/* Outcome codes kept apart; the rest fall into "application" (>= 1, a
 * plugin's own) or "other". */
enum rpcd_metric_code {
  RPCD_MC_OK,
  RPCD_MC_PARSE,            /* -32700 */
  RPCD_MC_INVALID_REQUEST,  /* -32600 */
  RPCD_MC_METHOD_NOT_FOUND, /* -32601 */
  RPCD_MC_INVALID_PARAMS,   /* -32602 */
  RPCD_MC_INTERNAL,         /* -32603 */
  RPCD_MC_CRASHED,          /* -32000 */
  RPCD_MC_DEADLINE,         /* -32001 */
  RPCD_MC_OVERLOADED,       /* -32002 */
  RPCD_MC_UNAVAILABLE,      /* -32003 */
  RPCD_MC_TOO_LARGE,        /* -32004 */
  RPCD_MC_UNSUPPORTED,      /* -32005 */
  RPCD_MC_POISON,           /* -32006 */
  RPCD_MC_FORBIDDEN,        /* -32007 */
  RPCD_MC_APPLICATION,      /* >= 1 */
  RPCD_MC_OTHER,
  RPCD_MC_COUNT
};

typedef struct rpcd_method_metrics {
  _Atomic int state; /* 0 empty, 1 being claimed, 2 ready: `name` is set */
  char name[RPCD_MAX_METHOD_LEN + 1];
  _Atomic uint64_t calls[RPCD_MC_COUNT]; /* by outcome */
  _Atomic uint64_t in_flight;
  _Atomic uint64_t time_us; /* handler time of every call, summed */
  _Atomic uint64_t buckets[RPCD_METRICS_BUCKETS]; /* not cumulative */
  /* The last error: a seqlock, odd while a writer is in it. */
  _Atomic uint32_t err_seq;
  int err_code;
  int64_t err_time_ms; /* unix ms */
  char err_text[160];
} rpcd_method_metrics;

typedef struct rpcd_metrics {
  rpcd_method_metrics methods[RPCD_METRICS_METHODS];
  _Atomic uint64_t rejected[RPCD_MC_COUNT]; /* before any method ran */
  _Atomic uint64_t expired;         /* deadline passed before it started */
  _Atomic uint64_t dropped_replies; /* a reply that could not be published */
} rpcd_metrics;

/* Upper bounds of the buckets in microseconds; the last is +Inf. */
extern const uint64_t rpcd__metrics_bucket_us[RPCD_METRICS_BUCKETS];

/* The code an enum rpcd_metric_code stands for ("0", "-32602",
 * "application", "other"), for labels and keys. */
const char *rpcd__metric_code_name(int mc);

/* The rpcd_metric_code of an outcome code (0 for success). */
int rpcd__metric_code(int status);

/*
 * The entry of `method`, made when there is none; -1 when the table is
 * full. Any process.
 */
int rpcd__metrics_entry(rpcd_metrics *m, const char *method, size_t len);

/* A call of entry `ix` started / ended. */
void rpcd__metrics_begin(rpcd_metrics *m, int ix);
void rpcd__metrics_end(rpcd_metrics *m, int ix, int status, uint64_t time_us,
                       const char *error);

/* A call of entry `ix` ended without its handler returning (its worker
 * died): counted under `status` without a time; status 0 only takes it out
 * of flight (a call handed back to the queue). */
void rpcd__metrics_abort(rpcd_metrics *m, int ix, int status,
                         const char *error);

/* Read the last error of entry `ix` consistently. False when none. */
bool rpcd__metrics_last_error(const rpcd_metrics *m, int ix, int *code,
                              int64_t *time_ms, char *text, size_t textlen);

#endif /* RPCD_METRICS_H */
