/* SPDX-License-Identifier: MIT */
/*
 * The scoreboard: shared memory that the supervisor maps before it forks,
 * with one slot per worker process (Apache's scoreboard). A worker writes
 * the request in hand into its slot before the handler runs, so that when
 * the worker dies the supervisor still knows whom to answer; it keeps its
 * counters there for rpc.stats. Tombstones remember requests whose worker
 * died, so that the broker's redelivery of one is recognised and not run
 * again.
 *
 * Concurrency: a slot is written only by its worker (and by the supervisor
 * once the worker is reaped); readers in other processes see a request
 * only after its state is published with release ordering. No locks: every
 * field another process reads is either atomic or guarded by such a state.
 */
#ifndef RPCD_SCOREBOARD_H
#define RPCD_SCOREBOARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inflight.h"
#include "metrics.h"

#define RPCD_SLOT_TEXT 256 /* method, correlation id, reply_to: bytes kept */
/* Keys of the last requests a slot's worker answered: at least as many as
 * it may hold answered and not yet acked (its ack batch). */
#define RPCD_SLOT_ANSWERED 64

enum rpcd_slot_state {
  RPCD_SLOT_FREE = 0, /* no process */
  RPCD_SLOT_IDLE,     /* a worker, between requests */
  RPCD_SLOT_RUNNING   /* a worker, with `req` in its handler */
};

/* What the supervisor needs to answer a request whose worker died. */
typedef struct rpcd_slot_request {
  uint64_t key; /* rpcd__request_key() of the delivery */
  uint32_t msgid;
  bool has_msgid;
  bool has_reply_to;
  uint16_t cid_len; /* raw bytes; 0 when the request had none */
  uint16_t reply_to_len;
  char cid[RPCD_SLOT_TEXT];
  char reply_to[RPCD_SLOT_TEXT];
  char method[RPCD_SLOT_TEXT]; /* NUL-terminated; "" when unknown */
  char content_type[64];       /* the reply's, NUL-terminated */
} rpcd_slot_request;

typedef struct rpcd_slot {
  _Atomic int state; /* enum rpcd_slot_state */
  _Atomic pid_t pid;
  _Atomic unsigned generation;
  _Atomic int64_t started_ms; /* unix ms when the worker started */
  _Atomic bool ready;         /* consuming: the worker's queue is served */
  _Atomic uint64_t calls;     /* requests answered or run */
  _Atomic uint64_t errors;    /* of those, answered with an error */
  rpcd_slot_request req;      /* valid while state == RUNNING */
  /* A ring of the keys of the last RPCD_SLOT_ANSWERED requests answered:
   * written by the worker after the reply, before the ack. */
  _Atomic uint32_t n_answered; /* keys written so far */
  _Atomic uint64_t answered[RPCD_SLOT_ANSWERED];
  /* The --max-in-flight rule the running call holds, or -1 (inflight.h):
   * given back by the supervisor if the worker dies in the call. */
  _Atomic int inflight_rule;
  /* The metrics entry of the method its handler is in, or -1: the
   * supervisor counts the call if the worker dies in it. */
  _Atomic int metrics_ix;
} rpcd_slot;

enum rpcd_tomb_state {
  RPCD_TOMB_EMPTY = 0,
  RPCD_TOMB_WRITING, /* the supervisor is filling it in */
  RPCD_TOMB_DEAD,    /* a request whose worker died; not yet seen again */
  RPCD_TOMB_CLAIMED  /* its redelivery was dead-lettered by a worker */
};

typedef struct rpcd_tombstone {
  _Atomic int state; /* enum rpcd_tomb_state */
  uint64_t key;
  /* The request was answered, only its ack may be lost: a redelivery is
   * acked, neither run nor dead-lettered. */
  bool answered;
  int64_t time_ms; /* unix ms of the death */
  char reason[32]; /* "handler-crashed" */
  char signal[32]; /* "SIGSEGV", or "exit 3" */
  char method[RPCD_SLOT_TEXT];
} rpcd_tombstone;

/* Server-wide counters, summed over all workers. */
typedef struct rpcd_server_counters {
  _Atomic uint64_t calls;  /* requests answered or run, by every worker */
  _Atomic uint64_t errors; /* of those, answered with an error */
  _Atomic uint64_t crashes;
  _Atomic uint64_t poison;
  _Atomic uint64_t timeouts;
  _Atomic uint64_t reloads;
  _Atomic uint64_t restarts;
} rpcd_server_counters;

typedef struct rpcd_scoreboard {
  unsigned n_slots;
  unsigned n_tombs;
  _Atomic unsigned next_tomb; /* ring position */
  rpcd_server_counters server;
  /* Draining (SIGTERM): rpc.health and /healthz say NOT_SERVING. */
  _Atomic bool draining;
  rpcd_metrics metrics;
  /* Calls in flight per --max-in-flight rule, across all workers. */
  _Atomic unsigned inflight[RPCD_MAX_INFLIGHT_RULES];
  rpcd_slot *slots;      /* n_slots, inside the mapping */
  rpcd_tombstone *tombs; /* n_tombs, inside the mapping */
  size_t map_size;
} rpcd_scoreboard;

/*
 * Map a scoreboard shared with every process forked afterwards.
 * \return the scoreboard, or NULL (errno set)
 */
rpcd_scoreboard *rpcd__scoreboard_create(unsigned n_slots, unsigned n_tombs);
void rpcd__scoreboard_destroy(rpcd_scoreboard *sb);

/* A FREE slot, marked IDLE for `pid`; -1 when all are taken. Supervisor. */
int rpcd__slot_take(rpcd_scoreboard *sb, unsigned generation);
void rpcd__slot_release(rpcd_scoreboard *sb, int slot);

/* A 64-bit key naming one delivered request: its correlation id, and its
 * body's length and first and last 64 bytes. The broker's redelivery of a
 * request has the same key. */
uint64_t rpcd__request_key(const void *cid, size_t cid_len, const void *body,
                           size_t body_len);

/* Remember a request whose worker died (supervisor). */
void rpcd__tomb_add(rpcd_scoreboard *sb, const rpcd_slot_request *req,
                    const char *reason, const char *signal);

/*
 * Claim the tombstone of `key`: true once per tombstone, with a copy of it
 * in *out; the caller then dead-letters the redelivery instead of running
 * it.
 */
bool rpcd__tomb_claim(rpcd_scoreboard *sb, uint64_t key, rpcd_tombstone *out);

/* The worker of `slot` answered the request `key` (its ack may follow in a
 * batch). */
void rpcd__slot_note_answered(rpcd_slot *slot, uint64_t key);

/* True when some slot's worker (this one too) answered the request `key`
 * recently, as far as its ring remembers. */
bool rpcd__answered_anywhere(const rpcd_scoreboard *sb, uint64_t key);

/*
 * The worker of `slot` died or lost its connection: the requests it
 * answered and may not have acked come back from the broker. Turn its ring
 * into "answered" tombstones, so that those redeliveries are acked and not
 * run again, and empty the ring.
 */
void rpcd__slot_bury_answered(rpcd_scoreboard *sb, int slot);

/* True when another slot than `self` is running the request `key` (its
 * worker may be dead and not yet reaped). */
bool rpcd__slot_running_elsewhere(const rpcd_scoreboard *sb, int self,
                                  uint64_t key);

#endif /* RPCD_SCOREBOARD_H */
