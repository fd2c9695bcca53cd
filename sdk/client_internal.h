/* SPDX-License-Identifier: MIT */
/*
 * The client's state and what its parts share: sdk/conn.c (connecting,
 * closing, failing calls when the connection goes), sdk/queue_probe.c (does
 * the request queue exist and have a consumer), sdk/frame_pump.c (reading
 * frames, matching replies, returns and closes), sdk/out.c (writing
 * publishes) and sdk/call.c (the public call API: submit, process, and the
 * blocking calls on top). Internal to the SDK: not installed, not part of
 * the ABI.
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
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "amqp_compat.h"
#include "deadline_heap.h"
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
/* rpcd_client_process() reads at most this many frames from the socket in
 * one go (and then goes on only with what rabbitmq-c has buffered), so a
 * busy connection cannot keep it from expiring calls. */
#define PROCESS_MAX_READS 4096
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

/* Requests published while rpcd_client_process() runs wait at most this
 * long to be written with the others (sdk/out.c). */
#define OUT_MAX_WAIT_MS 1

/* A request buffer grown past this is freed after its call rather than
 * kept for the next one. */
#define REQ_BUF_KEEP (64u * 1024u)

#define APP_ID "rpcd-client"
#define MAX_QUEUE_LEN 255

#define set_error(c, ...)                                                      \
  rpcd__set_err((c)->last_error, sizeof((c)->last_error), __VA_ARGS__)

/* What the client knows about one request queue. */
struct queue_info {
  char *name;         /* owned */
  bool served;        /* the last probe found it with a consumer */
  int64_t probed_ms;  /* monotonic time the last probe was sent; 0: never */
  bool probe_wanted;  /* a probe waits for the probe channel to be free */
  size_t n_published; /* calls to it published and not completed */
  size_t n_held;      /* calls to it held until its probe answers */
  /* A probe found no server while calls were published: those still in
   * flight at fail_at_ms fail with fail_status (0: none). */
  int64_t fail_at_ms;
  int fail_status;
  char fail_detail[320];
};

/* A message being read on the call channel, frame by frame, across as
 * many rpcd_client_process() calls as its frames take to arrive. */
struct msg_reader {
  bool active;
  bool is_return;      /* a returned request rather than a reply */
  bool have_header;    /* the content header was read */
  rpcd_call_id id;     /* the call it is for; 0: none (dropped) */
  bool keep;           /* the body is read for its call, not dropped */
  unsigned char *body; /* owned: a body of several frames; else NULL */
  uint64_t size;
  uint64_t got;
  int body_status;           /* RPCD_OK, RPCD_ETOOBIG or RPCD_ENOMEM */
  int64_t stall_deadline_ms; /* the next frame must arrive before this */
  char detail[320];          /* is_return: why the request came back */
};

struct rpcd_client {
  amqp_connection_state_t conn; /* NULL when not connected */
  /* The URI of the last successful connect (owned), for the blocking calls
   * to reconnect after a lost connection; NULL after rpcd_client_close(). */
  char *uri;
  /* The user that URI logged in as, sent as each request's user_id: the
   * broker checks it, and the server's --acl goes by it. "": none sent. */
  char user[256];
  /* rpcd_client_set_tls(): the paths (owned) in `tls` point here. */
  rpcd_tls_options tls;
  char *tls_paths[3]; /* ca, cert, key */
  /* The connection is TLS: its socket belongs to rabbitmq-c's TLS layer,
   * so publishes go through rabbitmq-c instead of out.c's buffer. */
  bool tls_socket;
  bool probe_open; /* channel 2 is open (or being opened) */
  unsigned timeout_ms;
  bool timeout_set;            /* rpcd_client_set_timeout() was called */
  unsigned connect_timeout_ms; /* 0: timeout_ms when set, else the default */
  size_t max_reply;            /* largest reply body accepted, in bytes */
  unsigned heartbeat_s;        /* asked for at connect; 0: none */
  int hb_s;                    /* negotiated with the broker; 0: none */
  int64_t last_recv_ms;        /* last time the broker was heard from */
  int64_t last_pump_ms;        /* last rpcd__pump_available() */
  uint32_t next_msgid;
  uint32_t queue_ix; /* the queue calls go to, an index into queues */
  struct queue_info *queues;
  size_t n_queues;
  rpcd_pending_table pending;
  rpcd_deadline_heap deadlines; /* calls not completed, by deadline */
  rpcd_pending *done_head;      /* completed calls with a callback, FIFO */
  rpcd_pending *done_tail;
  bool in_callback; /* a completion callback is running */
  bool blocked;     /* connection.blocked: every publish is held */
  char blocked_reason[128];
  uint32_t probe_qix;        /* queue being probed; UINT32_MAX: none */
  int64_t probe_deadline_ms; /* its answer is due by then */
  struct msg_reader rd;
  msgpack_sbuffer req_buf; /* requests are encoded here (owned) */
  /* Frames encoded and not written yet (owned): see sdk/out.c. */
  unsigned char *out;
  size_t out_len;
  size_t out_cap;
  int64_t out_since_ms; /* when the oldest frame in out was added */
  bool in_process;      /* process() runs: publishes of calls wait in out */
  uint64_t dropped_replies;
  char last_error[512];
};

#define NO_QUEUE UINT32_MAX

static inline struct timeval rpcd__ms_to_tv(int64_t ms)
{
  struct timeval tv;

  if (ms < 0)
    ms = 0;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
  return tv;
}

static inline rpcd_pending *rpcd__pending_of_node(rpcd_deadline_node *n)
{
  return (rpcd_pending *)(void *)((char *)n - offsetof(rpcd_pending, dl));
}

/* conn.c */

/* Index of the queue named `name`, added when new. */
int rpcd__queue_index(rpcd_client *c, const char *name, uint32_t *ix);
void rpcd__forget_probes(rpcd_client *c);
/*
 * Record the outcome of a call that is held or in flight: it leaves the
 * deadline heap and its queue's counts, and a call with a callback is
 * queued for rpcd__deliver(). Takes `reply`; copies `detail`. Does nothing
 * (but free reply) for a call already done.
 */
void rpcd__call_complete(rpcd_client *c, rpcd_pending *p, int status,
                         rpcd_reply *reply, const char *detail);
/* Forget a call: out of the heap, the queue's counts, the table. */
void rpcd__call_forget(rpcd_client *c, rpcd_pending *p);
/* Run the callbacks of the completed calls, oldest first, forgetting each
 * call before its callback runs. */
void rpcd__deliver(rpcd_client *c);
/* Complete every published call in flight (to queue `qix`, or to any queue
 * when qix is NO_QUEUE) with `status`; `held` also the held ones. */
void rpcd__fail_calls(rpcd_client *c, uint32_t qix, bool held, int status,
                      const char *detail);
/*
 * Give up the connection: every call in flight fails with RPCD_ECONNLOST
 * and the client is not connected any more. `polite` closes the connection
 * properly (the socket still works, only the call channel is gone);
 * otherwise it is just destroyed. `detail` must not be c->last_error.
 */
void rpcd__connection_lost(rpcd_client *c, const char *detail, bool polite);
/* Forget the state of a connection that is gone: probes, message reader. */
void rpcd__reset_io(rpcd_client *c);

/* queue_probe.c */

/*
 * Ask whether queue `qix` exists and has a consumer: a passive declare is
 * sent on the probe channel (opened first when the broker closed it) and
 * its answer is matched by rpcd__probe_frame(). Never waits. One probe is
 * in flight at a time; a queue asked for meanwhile goes next. `budget_ms`
 * bounds the wait for the answer (clamped to PROBE_TIMEOUT_MIN_MS ..
 * PROBE_TIMEOUT_MAX_MS); past it the connection is given up.
 *
 * \return RPCD_OK, or RPCD_ECONNLOST after rpcd__connection_lost()
 */
int rpcd__probe_start(rpcd_client *c, uint32_t qix, int64_t budget_ms);
/* Start the probe of a queue that asked while another was in flight (or
 * while the broker blocked). \return RPCD_OK or RPCD_ECONNLOST */
int rpcd__probe_start_wanted(rpcd_client *c);
/* A method frame on the probe channel. \return RPCD_OK or RPCD_ECONNLOST */
int rpcd__probe_frame(rpcd_client *c, const amqp_frame_t *f);
/* Probe deadlines, re-checks of queues with calls in flight and failing
 * calls whose server went away. \return RPCD_OK or RPCD_ECONNLOST */
int rpcd__probe_tick(rpcd_client *c, int64_t now);
/* The earliest time rpcd__probe_tick() has work to do; INT64_MAX: none. */
int64_t rpcd__probe_next_ms(const rpcd_client *c);

/* frame_pump.c */

/*
 * Read and handle every frame that is available without waiting (at most
 * PROCESS_MAX_READS from the socket, then what rabbitmq-c has buffered).
 *
 * \return RPCD_OK, or RPCD_ECONNLOST when the connection failed (every
 *         call in flight failed with it)
 */
int rpcd__pump_available(rpcd_client *c);
/* The message reader's stall deadline; INT64_MAX when none is read. */
int64_t rpcd__pump_next_ms(const rpcd_client *c);
/* Give up a message being read when its next frame is overdue.
 * \return RPCD_OK or RPCD_ECONNLOST */
int rpcd__pump_tick(rpcd_client *c, int64_t now);

/* out.c */

/*
 * Encode a publish on the call channel (method, header and body frames)
 * after the frames already in c->out. Nothing is written.
 *
 * \return AMQP_STATUS_OK or a rabbitmq-c status (nothing was added)
 */
int rpcd__out_publish(rpcd_client *c, const char *queue, bool mandatory,
                      const amqp_basic_properties_t *props, const void *body,
                      size_t body_len);
/*
 * Write every frame in c->out, waiting while the socket is full. A failed
 * write loses the connection; its detail begins with `what`.
 *
 * \return RPCD_OK, or RPCD_ECONNLOST after rpcd__connection_lost()
 */
int rpcd__out_flush(rpcd_client *c, const char *what);
/* Forget what c->out holds (the connection is gone). */
void rpcd__out_reset(rpcd_client *c);

/* call.c */

/* Publish a held call (its queue answered). \return RPCD_OK or a failure
 * (the call is completed with it) */
int rpcd__publish_held(rpcd_client *c, rpcd_pending *p);
/* Publish the held calls whose queue is not being checked (the broker
 * unblocked publishers). */
void rpcd__publish_unblocked(rpcd_client *c);

#endif /* RPCD_SDK_CLIENT_INTERNAL_H */
