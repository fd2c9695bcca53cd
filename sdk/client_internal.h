/* SPDX-License-Identifier: MIT */
/*
 * The client's state and what its parts share: sdk/conn.c (connecting,
 * closing, failing calls when the connection goes), sdk/queue_probe.c (does
 * the request queue exist and have a consumer), sdk/frame_pump.c (reading
 * frames, matching replies, returns and closes) and sdk/call.c (the public
 * call API). Internal to the SDK: not installed, not part of the ABI.
 *
 * One AMQP connection per client, requests published to the request queue
 * with RabbitMQ's direct reply-to, and a frame pump that matches replies to
 * the calls in flight by correlation id. Channel 1 carries requests and
 * replies; channel 2 only carries passive queue declarations, which tell a
 * call at once that no server is there (a 404 closes that channel, not the
 * one the replies arrive on). A call that cannot be answered fails with a
 * status of its own: timeout, no route, no consumer, connection lost or a
 * malformed reply.
 */
#ifndef RPCD_SDK_CLIENT_INTERNAL_H
#define RPCD_SDK_CLIENT_INTERNAL_H

#include <rpcd/client.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#include "amqp_compat.h"
#include "pending.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

#define CALL_CHANNEL 1
#define PROBE_CHANNEL 2
#define N_CHANNELS 2

/* A positive probe lets calls publish without asking again for this long. */
#define PROBE_MAX_AGE_MS 1000
/* While a call waits, its queue is checked again this often. */
#define PROBE_WAIT_INTERVAL_MS 250
/* Replies already buffered are still taken when a deadline has passed. */
#define DRAIN_MAX 64
/* How long a call whose server vanished still waits for a reply that may
 * already be on its way. */
#define DRAIN_GRACE_MS 200
/* Bounds of how long a queue check waits for the broker. */
#define PROBE_TIMEOUT_MIN_MS 50
#define PROBE_TIMEOUT_MAX_MS 5000
/* Connect timeout when neither rpcd_client_set_connect_timeout() nor
 * rpcd_client_set_timeout() was called. */
#define CONNECT_TIMEOUT_DEFAULT_MS 5000u
/* Once a reply has started, each of its frames must follow within this
 * long, whatever the call's timeout: giving up in the middle of a message
 * would leave the frame stream unusable anyway. */
#define CONTENT_STALL_MS 5000

#define APP_ID "rpcd-client"
#define MAX_QUEUE_LEN 255

#define set_error(c, ...)                                                      \
  rpcd__set_err((c)->last_error, sizeof((c)->last_error), __VA_ARGS__)

/* What the client knows about one request queue. */
struct queue_info {
  char *name;        /* owned */
  bool served;       /* the last probe found it with a consumer */
  int64_t probed_ms; /* monotonic time of the last probe; 0: never */
};

struct rpcd_client {
  amqp_connection_state_t conn; /* NULL when not connected */
  bool probe_open;              /* channel 2 is open */
  unsigned timeout_ms;
  bool timeout_set;            /* rpcd_client_set_timeout() was called */
  unsigned connect_timeout_ms; /* 0: timeout_ms when set, else the default */
  size_t max_reply;            /* largest reply body accepted, in bytes */
  uint32_t next_msgid;
  uint32_t queue_ix; /* the queue calls go to, an index into queues */
  struct queue_info *queues;
  size_t n_queues;
  rpcd_pending_table pending;
  uint64_t dropped_replies;
  char last_error[512];
};

static inline struct timeval rpcd__ms_to_tv(int64_t ms)
{
  struct timeval tv;

  if (ms < 0)
    ms = 0;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
  return tv;
}

/* conn.c */

/* Index of the queue named `name`, added when new. */
int rpcd__queue_index(rpcd_client *c, const char *name, uint32_t *ix);
void rpcd__forget_probes(rpcd_client *c);
/* Complete every call in flight (to queue `qix`, or to any queue when qix
 * is UINT32_MAX) with `status`. */
void rpcd__fail_calls(rpcd_client *c, uint32_t qix, int status,
                      const char *detail);
/* Complete every call in flight whose deadline has passed with
 * RPCD_ETIMEDOUT. */
void rpcd__fail_expired_calls(rpcd_client *c, const char *detail);
/*
 * Give up the connection: every call in flight fails with RPCD_ECONNLOST
 * and the client is not connected any more. `polite` closes the connection
 * properly (the socket still works, only the call channel is gone);
 * otherwise it is just destroyed. `detail` must not be c->last_error.
 */
void rpcd__connection_lost(rpcd_client *c, const char *detail, bool polite);

/* queue_probe.c */

/*
 * Declare queue `qix` passively on the probe channel, waiting at most
 * budget_ms (the time left to the calls that need the answer; at most
 * PROBE_TIMEOUT_MAX_MS) for the broker.
 *
 * \return RPCD_OK (it exists and has a consumer), RPCD_ENOROUTE,
 *         RPCD_ENOCONSUMER, RPCD_EBROKER (could not tell) with a message in
 *         err, or RPCD_ECONNLOST after rpcd__connection_lost()
 */
int rpcd__probe_queue(rpcd_client *c, uint32_t qix, int64_t budget_ms,
                      char *err, size_t errlen);

/* frame_pump.c */

/*
 * Wait up to timeout_ms for one message or frame and handle it.
 *
 * \return RPCD_OK when something was handled, RPCD_ETIMEDOUT when nothing
 *         came, RPCD_ECONNLOST when the connection failed (every call in
 *         flight failed with it)
 */
int rpcd__pump(rpcd_client *c, int64_t timeout_ms);

#endif /* RPCD_SDK_CLIENT_INTERNAL_H */
