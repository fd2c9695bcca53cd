/* SPDX-License-Identifier: MIT */
/*
 * Per-method limits on calls in flight across all of a server's workers
 * (--max-in-flight PATTERN=N): a backend that takes four connections gets
 * at most four calls at once however many workers there are. A call over
 * the limit is answered at once, -32002 overloaded, and never run: the
 * caller decides when to try again, and the worker is free for other
 * methods (holding the request would stall them, requeueing it would
 * spin).
 *
 * The counters live in the scoreboard (shared memory), one per rule; a
 * worker's slot says which rule its running call holds, so that the
 * supervisor gives back what a worker that died in the call held.
 * Ownership: a gate borrows its rules and counters.
 */
#ifndef RPCD_INFLIGHT_H
#define RPCD_INFLIGHT_H

#include <stdatomic.h>
#include <stddef.h>

#include "rpcd_proto.h"

#define RPCD_MAX_INFLIGHT_RULES 32

typedef struct rpcd_inflight_rule {
  char pattern[RPCD_MAX_METHOD_LEN + 1]; /* see method_pattern.h */
  unsigned max;                          /* 1..65535 */
} rpcd_inflight_rule;

/*
 * Parse "PATTERN=N".
 * \return RPCD_OK, or RPCD_EINVAL with a message in err
 */
int rpcd__inflight_rule_parse(const char *spec, rpcd_inflight_rule *out,
                              char *err, size_t errlen);

typedef struct rpcd_gate {
  const rpcd_inflight_rule *rules; /* the first that matches applies */
  size_t n_rules;
  _Atomic unsigned *counts; /* n_rules counters, shared by all workers */
  _Atomic int *held;        /* this worker's slot: the rule held, or -1 */
} rpcd_gate;

/*
 * Count a call of `method` in, if its rule has room. A method no rule
 * matches always has room. \return 0 (call rpcd__gate_leave() once the
 * handler returned), or RPCD_ERR_OVERLOADED with the reason in why.
 */
int rpcd__gate_enter(const rpcd_gate *g, const char *method, size_t method_len,
                     char *why, size_t whylen);

/* The call counted in by the last rpcd__gate_enter() is done. */
void rpcd__gate_leave(const rpcd_gate *g);

/* Give back what a dead worker's slot held (supervisor). */
void rpcd__inflight_release(_Atomic unsigned *counts, _Atomic int *held);

#endif /* RPCD_INFLIGHT_H */
