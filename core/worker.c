/* SPDX-License-Identifier: MIT */
/*
 * The worker process. What it shares with the supervisor is the parsed
 * flags (copied by fork) and the scoreboard (shared memory). Everything
 * that runs plugin code happens here.
 *
 * The main thread owns the connection and runs the handlers inline, one at
 * a time, in the order the requests arrived; while a handler runs long, the
 * keeper thread (keeper.c) takes the connection over under `lock`. Before a
 * handler runs, its request is written into this worker's scoreboard slot,
 * so that the supervisor can answer for it if the worker dies. A
 * redelivered request is first checked against the tombstones of requests
 * whose worker died (dead-lettered, not run again) and against the other
 * slots (held back while another worker may still be running it).
 *
 * SIGTERM (or SIGINT) drains: the consumer is cancelled, requests received
 * but not started are handed back (basic.reject, requeue), the request in
 * hand is finished and answered, and the worker exits 0. A second signal,
 * or STOP_GRACE_S after the first, breaks off a reply that a blocked
 * broker never drains.
 */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "ack_batch.h"
#include "builtins.h"
#include "consumer.h"
#include "keeper.h"
#include "crash_close.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "rpcd_proto.h"
#include "scoreboard.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STOP_GRACE_S 10

typedef struct worker worker;

/* The worker this process runs: the one process-wide variable, since a
 * signal handler can reach nothing else. Signals go to the main thread
 * (the keeper blocks them). */
static worker *signal_worker;

static void on_signal(int sig);

/* The supervisor forwards SIGUSR1 (more) and SIGUSR2 (less log). */
static void on_log_signal(int sig)
{
  rpcd__log_adjust(sig == SIGUSR1 ? 1 : -1);
}

static void install_signals(void)
{
  struct sigaction sa;
  sigset_t none;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_log_signal;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  /* A reply to a vanished peer must not kill the worker; SIGHUP is the
   * supervisor's (a terminal hang-up reaches the whole group). */
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &sa, NULL);
  /* The supervisor blocks the signals it waits for; fork copied that. */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Sleep up to ms, waking early when a stop is requested. */
static void sleep_unless_stopped(const atomic_int *stop, unsigned ms)
{
  struct timespec ts = {0, 100 * 1000000L};
  unsigned slept = 0;

  while (!atomic_load(stop) && slept < ms) {
    nanosleep(&ts, NULL);
    slept += 100;
  }
}

int rpcd__load_plugin_set(rpcd_registry *reg, const rpcd_config *cfg, char *err,
                          size_t errlen)
{
  size_t i;
  int rc;

  rc = rpcd__builtins_add(reg, err, errlen);
  for (i = 0; rc == 0 && i < cfg->n_plugins; i++) {
    rc = rpcd__plugin_load(reg, cfg->plugins[i], err, errlen);
    if (rc == RPCD_EPLUGIN && cfg->skip_bad_plugins) {
      rpcd__plugin_log_skipped(err);
      rc = RPCD_OK;
    }
  }
  if (rc == 0 && cfg->plugin_dir)
    rc = rpcd__plugin_load_dir(reg, cfg->plugin_dir, cfg->skip_bad_plugins, err,
                               errlen);
  if (rc != 0)
    return rc;
  if (cfg->text_method &&
      !rpcd__registry_lookup(reg, cfg->text_method, strlen(cfg->text_method))) {
    rpcd__set_err(err, errlen,
                  "--text-method: no loaded plugin registers method \"%s\"",
                  cfg->text_method);
    return RPCD_EPLUGIN;
  }
  return RPCD_OK;
}

/* A delivery from receipt to ack. */
typedef struct job {
  struct job *next;
  amqp_envelope_t env;
  rpcd_message_in in;
  char cid[160];
  uint64_t key;
  int64_t started_ms; /* monotonic, when its handler started */
} job;

struct worker {
  const rpcd_worker_args *args;
  atomic_int stop; /* SIGTERM/SIGINT: drain and exit */
  const rpcd_config *cfg;
  rpcd_handler_config hcfg;
  rpcd_consumer_config ccfg;
  rpcd_slot *slot;
  /* Held by the main thread except while plugin code runs; the keeper
   * takes it then to pump the connection. Guards conn and the job lists. */
  pthread_mutex_t lock;
  rpcd_keeper *keeper;
  int conn_rc; /* a connection failure the keeper met; RPCD_OK */
  bool aside;  /* prefetch lowered to 1 while a long handler runs */
  char conn_err[512];
  rpcd_consumer *conn;
  job *head; /* received, not started, in order */
  job *tail;
  job *parked; /* redeliveries of requests another slot is running */
  job *running;
  rpcd_message_out out; /* the running job's; its buffer is reused */
  job *spare;           /* finished jobs, kept for the next deliveries */
  unsigned n_spare;
  rpcd_ack_batch acks;    /* answered, ack not sent yet */
  rpcd_gate gate;         /* --max-in-flight, on the scoreboard's counters */
  int metrics_ix;         /* the running method's metrics entry, or -1 */
  uint64_t dispatched_us; /* when its handler was called */
  bool draining;
  rpcd_consumer_stats stats;
};

static void on_signal(int sig)
{
  worker *w = signal_worker;

  if (!w)
    return;
  if (sig == SIGALRM || atomic_load(&w->stop)) {
    rpcd__consumer_abort_io(w->conn);
    return;
  }
  atomic_store(&w->stop, 1);
  alarm(STOP_GRACE_S);
}

#define POLL_MAX_MS 1000
/* The keeper looks every tick; it pumps once a handler ran this long. */
#define KEEPER_TICK_MS 50
#define KEEPER_AFTER_MS 100
/* A handler running this long makes its worker step aside (keep_alive). */
#define STEP_ASIDE_MS 200
#define PARKED_RECHECK_MS 10
/* Deliveries the keeper reads per turn, held behind a long handler. */
#define PUMP_HOLD_MAX 256

static void push(job **head, job **tail, job *j)
{
  j->next = NULL;
  if (*tail)
    (*tail)->next = j;
  else
    *head = j;
  *tail = j;
}

/* Jobs are recycled: no allocation per request once a prefetch's worth
 * has been made. Main thread or keeper, lock held. */
#define SPARE_JOBS_MAX 64

static job *new_job(worker *w)
{
  job *j = w->spare;

  if (!j)
    return calloc(1, sizeof(*j));
  w->spare = j->next;
  w->n_spare--;
  memset(j, 0, sizeof(*j));
  return j;
}

static void free_job(worker *w, job *j)
{
  amqp_destroy_envelope(&j->env);
  if (w->n_spare < SPARE_JOBS_MAX) {
    j->next = w->spare;
    w->spare = j;
    w->n_spare++;
    return;
  }
  free(j);
}

static void free_spare_jobs(worker *w)
{
  job *j;

  while ((j = w->spare)) {
    w->spare = j->next;
    free(j);
  }
  w->n_spare = 0;
}

static void count(rpcd_consumer_stats *stats, const rpcd_message_out *out)
{
  stats->received++;
  switch (out->outcome) {
  case RPCD_OUTCOME_OK:
    stats->ok++;
    break;
  case RPCD_OUTCOME_ERROR:
    stats->errors++;
    break;
  case RPCD_OUTCOME_NOTIFIED:
    stats->notifications++;
    break;
  case RPCD_OUTCOME_EXPIRED:
    stats->expired++;
    break;
  case RPCD_OUTCOME_POISON:
    stats->poison++;
    break;
  }
}

static void copy_bytes(char *dst, size_t cap, uint16_t *len, amqp_bytes_t b)
{
  size_t n = b.len < cap ? b.len : cap;

  memcpy(dst, b.bytes, n);
  *len = (uint16_t)n;
}

/* Copy s[0..n) into dst as a C string, cut to fit. */
static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

static uint64_t now_us(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Right before plugin code runs: from here until the ack the request is
 * the slot's, and a death answers it (supervisor.c). */
static void before_dispatch(void *ctx, const char *method, size_t method_len,
                            bool has_msgid, uint32_t msgid,
                            const char *reply_content_type)
{
  worker *w = ctx;
  rpcd_slot_request *r = &w->slot->req;

  r->has_msgid = has_msgid;
  r->msgid = msgid;
  copy_text(r->method, sizeof(r->method), method, method_len);
  if (!reply_content_type)
    reply_content_type = RPCD_CONTENT_TYPE;
  copy_text(r->content_type, sizeof(r->content_type), reply_content_type,
            strlen(reply_content_type));
  w->metrics_ix =
      rpcd__metrics_entry(&w->args->sb->metrics, method, method_len);
  w->dispatched_us = now_us();
  rpcd__metrics_begin(&w->args->sb->metrics, w->metrics_ix);
  atomic_store(&w->slot->metrics_ix, w->metrics_ix);
  atomic_store_explicit(&w->slot->state, RPCD_SLOT_RUNNING,
                        memory_order_release);
}

/* The request done by finish_running() or kill_overrun() goes into the
 * metrics: its method's, or the server's for one no method ran. */
static void record(worker *w, const rpcd_message_out *out, int status,
                   const char *error)
{
  rpcd_metrics *m = &w->args->sb->metrics;

  atomic_fetch_add(&w->args->sb->server.calls, 1);
  if (status != 0)
    atomic_fetch_add(&w->args->sb->server.errors, 1);
  if (w->metrics_ix >= 0) {
    atomic_store(&w->slot->metrics_ix, -1);
    rpcd__metrics_end(m, w->metrics_ix, status, now_us() - w->dispatched_us,
                      error);
    w->metrics_ix = -1;
  } else if (out && out->outcome == RPCD_OUTCOME_EXPIRED) {
    atomic_fetch_add(&m->expired, 1);
  } else {
    atomic_fetch_add(&m->rejected[rpcd__metric_code(status)], 1);
  }
}

/* What the slot needs before the handler runs. */
static void prepare_slot(worker *w, const job *j)
{
  const amqp_basic_properties_t *p = &j->env.message.properties;
  rpcd_slot_request *r = &w->slot->req;

  /* Field by field: clearing the whole slot would write a kilobyte per
   * request. before_dispatch fills in the rest. */
  r->key = j->key;
  r->cid_len = 0;
  if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
    copy_bytes(r->cid, sizeof(r->cid), &r->cid_len, p->correlation_id);
  r->has_reply_to = (p->_flags & AMQP_BASIC_REPLY_TO_FLAG) && p->reply_to.len;
  r->reply_to_len = 0;
  if (r->has_reply_to)
    copy_bytes(r->reply_to, sizeof(r->reply_to), &r->reply_to_len, p->reply_to);
  r->has_msgid = false;
  r->msgid = 0;
  r->method[0] = '\0';
  r->content_type[0] = '\0';
}

static uint64_t job_key(const amqp_envelope_t *env)
{
  const amqp_basic_properties_t *p = &env->message.properties;
  bool has_cid = p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG;

  return rpcd__request_key(has_cid ? p->correlation_id.bytes : NULL,
                           has_cid ? p->correlation_id.len : 0,
                           env->message.body.bytes, env->message.body.len);
}

/* The lowest delivery tag received and not settled yet; UINT64_MAX: none.
 * An ack with `multiple` must stay below it. */
static uint64_t lowest_open(const worker *w)
{
  uint64_t low = UINT64_MAX;
  const job *j;

  if (w->running)
    low = w->running->env.delivery_tag;
  for (j = w->head; j; j = j->next)
    if (j->env.delivery_tag < low)
      low = j->env.delivery_tag;
  for (j = w->parked; j; j = j->next)
    if (j->env.delivery_tag < low)
      low = j->env.delivery_tag;
  return low;
}

static int flush_acks(worker *w, char *err, size_t errlen)
{
  int rc = rpcd__ack_batch_flush(&w->acks, w->conn, lowest_open(w));

  if (rc != RPCD_OK)
    rpcd__set_err(err, errlen, "could not ack: %s", rpcd_strerror(rc));
  return rc;
}

enum redelivery {
  REDELIVERY_RUN,    /* not seen before as far as this server knows: run it */
  REDELIVERY_HOLD,   /* another slot is running it: park it and look again */
  REDELIVERY_SETTLED /* dead-lettered or acked here, not run */
};

/*
 * What to do with a redelivered request. One whose worker died with it in
 * hand is dead-lettered and acked; one answered already whose ack was lost
 * with its connection or its worker is acked; one that another slot is
 * running is held back. SETTLED also when settling failed (*rc says, with
 * err).
 *
 * The order of the reads matters. The supervisor writes a dead worker's
 * tombstones before it frees its slot, and a worker notes an answer in
 * its ring before its slot goes idle; so the slots are read first: once a
 * slot is seen no longer running the request, its tombstone or ring entry
 * is visible. Read the other way round, a death between the two reads
 * would run the request again.
 */
static enum redelivery settle_redelivery(worker *w, job *j, int *rc, char *err,
                                         size_t errlen)
{
  rpcd_tombstone tomb;
  rpcd_dead_letter why;
  bool running;
  bool answered;
  bool buried;

  *rc = RPCD_OK;
  running = rpcd__slot_running_elsewhere(w->args->sb, w->args->slot, j->key);
  /* The rings before the tombstones: rpcd__slot_bury_answered() writes the
   * tombstones before it empties a ring, so one of the two is found. */
  answered = rpcd__answered_anywhere(w->args->sb, j->key);
  buried = !answered && rpcd__tomb_claim(w->args->sb, j->key, &tomb);
  if (buried && !tomb.answered) {
    why.reason = tomb.reason;
    why.signal = tomb.signal;
    why.method = tomb.method;
    why.time_ms = tomb.time_ms;
    *rc = rpcd__consumer_dead_letter(w->conn, &j->env, &why);
    if (*rc == RPCD_OK)
      *rc = rpcd__consumer_ack(w->conn, j->env.delivery_tag);
    rpcd__log(RPCD_LOG_INFO,
              "cid=%s: redelivery of a request whose worker died (%s, %s) "
              "dead-lettered, not run again",
              j->cid, tomb.method, tomb.signal);
  } else if (answered || buried) {
    *rc = rpcd__consumer_ack(w->conn, j->env.delivery_tag);
    rpcd__log(RPCD_LOG_INFO,
              "cid=%s: redelivery of a request answered already (its ack was "
              "lost with its connection): acked, not run again",
              j->cid);
  } else {
    return running ? REDELIVERY_HOLD : REDELIVERY_RUN;
  }
  if (*rc != RPCD_OK)
    rpcd__set_err(err, errlen, "settling a redelivery: %s", rpcd_strerror(*rc));
  return REDELIVERY_SETTLED;
}

static int finish_running(worker *w, char *err, size_t errlen);

/* Run the handler of `j` on this thread; the keeper looks after the
 * connection meanwhile. Then answer and ack. */
static int run_job(worker *w, job *j, char *err, size_t errlen)
{
  prepare_slot(w, j);
  j->started_ms = rpcd__now_mono_ms();
  j->in.stop_at_ms = rpcd__handler_stop_at(&w->hcfg, &j->in);
  w->running = j;
  rpcd__keeper_handler_begin(w->keeper);
  rpcd__handle_message(&w->hcfg, &j->in, &w->out);
  rpcd__keeper_handler_end(w->keeper);
  if (w->conn_rc == RPCD_OK && w->aside) {
    w->aside = false;
    w->conn_rc = rpcd__consumer_set_prefetch(w->conn, w->ccfg.prefetch,
                                             w->conn_err, sizeof(w->conn_err));
  }
  if (w->conn_rc != RPCD_OK) {
    /* Lost while the handler ran: unacked, the request returns to the
     * queue by itself; this reply has no connection to go to. */
    rpcd__log(RPCD_LOG_WARN,
              "cid=%s: finished after the connection was lost; the broker "
              "delivers the request again",
              j->cid);
    atomic_store_explicit(&w->slot->state, RPCD_SLOT_IDLE,
                          memory_order_release);
    free_job(w, j);
    w->running = NULL;
    rpcd__set_err(err, errlen, "%s", w->conn_err);
    return w->conn_rc;
  }
  return finish_running(w, err, errlen);
}

/* Run the jobs received, in order, until there are none or a drain
 * begins. */
static int run_jobs(worker *w, char *err, size_t errlen)
{
  job **pp;
  int rc;

  /* Parked redeliveries first: their other copy may be settled by now. */
  for (pp = &w->parked; *pp;) {
    job *j = *pp;

    switch (settle_redelivery(w, j, &rc, err, errlen)) {
    case REDELIVERY_SETTLED:
      *pp = j->next;
      free_job(w, j);
      if (rc != RPCD_OK)
        return rc;
      continue;
    case REDELIVERY_RUN:
      /* The other copy finished unanswered: at least once, this one runs. */
      *pp = j->next;
      push(&w->head, &w->tail, j);
      continue;
    case REDELIVERY_HOLD:
      pp = &j->next;
      continue;
    }
  }
  while (w->head && !w->draining) {
    job *j = w->head;

    if (rpcd__ack_batch_due(&w->acks, rpcd__now_mono_ms())) {
      rc = flush_acks(w, err, errlen);
      if (rc != RPCD_OK)
        return rc;
    }
    w->head = j->next;
    if (!w->head)
      w->tail = NULL;
    rpcd__message_from_envelope(&j->env, &j->in, j->cid, sizeof(j->cid));
    /* Quorum queues count earlier deliveries: a request delivered
     * --max-deliveries times already took whole servers down with it
     * that often (a worker's crash is settled without a redelivery). */
    j->in.poison = j->in.delivery_count >= (int64_t)w->cfg->max_deliveries;
    j->key = job_key(&j->env);
    if (j->env.redelivered) {
      enum redelivery what = settle_redelivery(w, j, &rc, err, errlen);

      if (what == REDELIVERY_SETTLED) {
        free_job(w, j);
        if (rc != RPCD_OK)
          return rc;
        continue;
      }
      if (what == REDELIVERY_HOLD) {
        j->next = w->parked;
        w->parked = j;
        continue;
      }
    }
    rc = run_job(w, j, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  }
  /* More already arrived: their acks can join this batch. */
  if (!w->draining && rpcd__consumer_buffered(w->conn))
    return RPCD_OK;
  return flush_acks(w, err, errlen);
}

/* Every request at debug, every error at info (logfmt fields: method,
 * cid, ms, code). */
static void log_outcome(const job *j, const rpcd_message_out *out)
{
  char ms[24];
  char code[16];
  rpcd_log_field f[4] = {{"method", out->method[0] ? out->method : NULL},
                         {"cid", j->cid},
                         {"ms", ms},
                         {"code", NULL}};

  /* Formatted only for a line that is written: a call that succeeds is
   * logged at debug, which is usually off. */
  if (!rpcd__log_on(out->outcome == RPCD_OUTCOME_OK ||
                            out->outcome == RPCD_OUTCOME_NOTIFIED
                        ? RPCD_LOG_DEBUG
                        : RPCD_LOG_INFO))
    return;
  snprintf(ms, sizeof(ms), "%lld",
           (long long)(rpcd__now_mono_ms() - j->started_ms));
  snprintf(code, sizeof(code), "%d", out->status);
  if (out->outcome == RPCD_OUTCOME_ERROR) {
    f[3].value = code;
    rpcd__log_kv(RPCD_LOG_INFO, f, 4, "call failed: %s", out->error);
  } else if (out->outcome == RPCD_OUTCOME_POISON) {
    f[3].value = code;
    rpcd__log_kv(RPCD_LOG_WARN, f, 4, "call dead-lettered: %s", out->error);
  } else if (out->outcome == RPCD_OUTCOME_EXPIRED) {
    rpcd__log_kv(RPCD_LOG_INFO, f, 2,
                 "deadline passed before it started: dropped");
  } else {
    rpcd__log_kv(RPCD_LOG_DEBUG, f, 3, "call done%s",
                 j->in.has_reply_to ? "" : " (no reply_to)");
  }
}

/* The running job is done: answer, note it answered, and ack it with its
 * batch; free the slot. */
static int finish_running(worker *w, char *err, size_t errlen)
{
  job *j = w->running;
  int rc = RPCD_OK;

  count(&w->stats, &w->out);
  atomic_fetch_add(&w->slot->calls, 1);
  if (w->out.outcome == RPCD_OUTCOME_ERROR)
    atomic_fetch_add(&w->slot->errors, 1);
  record(w, &w->out,
         w->out.outcome == RPCD_OUTCOME_ERROR ||
                 w->out.outcome == RPCD_OUTCOME_POISON
             ? w->out.status
             : 0,
         w->out.error);
  if (w->out.send_reply) {
    rc = rpcd__consumer_reply(w->conn, &j->env, &w->out);
    if (rc != RPCD_OK) {
      atomic_fetch_add(&w->args->sb->metrics.dropped_replies, 1);
      rpcd__set_err(err, errlen, "could not publish the reply: %s",
                    rpcd_strerror(rc));
    }
  }
  if (rc == RPCD_OK && w->out.outcome == RPCD_OUTCOME_POISON) {
    rpcd_dead_letter why = {"poison", "", w->out.method, rpcd__now_unix_ms()};

    atomic_fetch_add(&w->args->sb->server.poison, 1);
    rc = rpcd__consumer_dead_letter(w->conn, &j->env, &why);
    if (rc != RPCD_OK)
      rpcd__set_err(err, errlen, "could not dead-letter a poison request: %s",
                    rpcd_strerror(rc));
  }
  if (rc == RPCD_OK) {
    /* In the ring before the slot is idle: a redelivery looked at from
     * another worker finds the request running or answered. */
    rpcd__slot_note_answered(w->slot, j->key);
  }
  atomic_store_explicit(&w->slot->state, RPCD_SLOT_IDLE, memory_order_release);
  w->running = NULL;
  if (rc == RPCD_OK &&
      rpcd__ack_batch_add(&w->acks, j->env.delivery_tag, rpcd__now_mono_ms()))
    rc = flush_acks(w, err, errlen);
  log_outcome(j, &w->out);
  free_job(w, j);
  return rc;
}

/*
 * The handler overran --handler-timeout (or its request's deadline): answer
 * its caller "deadline exceeded", dead-letter the request, ack it, and end
 * the worker, since a thread stuck in plugin code cannot be stopped. The
 * supervisor starts a fresh one.
 */
static void kill_overrun(worker *w, int64_t ran_ms)
{
  job *j = w->running;
  rpcd_slot_request r;
  rpcd_message_out out;
  rpcd_dead_letter why;
  char msg[400];
  bool running;

  /* What the main thread published when the handler started (release
   * store of RUNNING); before that, nothing of it may be read. */
  /* The answered requests' acks first: this worker ends below. */
  flush_acks(w, msg, sizeof(msg));
  memset(&r, 0, sizeof(r));
  running = atomic_load_explicit(&w->slot->state, memory_order_acquire) ==
            RPCD_SLOT_RUNNING;
  if (running)
    r = w->slot->req;
  snprintf(msg, sizeof(msg),
           "handler of %.255s still running after %lld ms: stopped (its "
           "worker is replaced)",
           r.method[0] ? r.method : "?", (long long)ran_ms);
  if (running)
    record(w, NULL, RPCD_ERR_DEADLINE_EXCEEDED, msg);
  rpcd__log(RPCD_LOG_ERROR, "cid=%s: %s", j->cid, msg);
  memset(&out, 0, sizeof(out));
  msgpack_sbuffer_init(&out.body);
  out.content_type = r.content_type[0] ? r.content_type : RPCD_CONTENT_TYPE;
  out.status = RPCD_ERR_DEADLINE_EXCEEDED;
  if (j->in.has_reply_to &&
      rpcd__reply_encode_error(&out.body, r.has_msgid, r.msgid,
                               RPCD_ERR_DEADLINE_EXCEEDED, msg) == RPCD_OK)
    rpcd__consumer_reply(w->conn, &j->env, &out);
  why.reason = "timeout";
  why.signal = "";
  why.method = r.method;
  why.time_ms = rpcd__now_unix_ms();
  rpcd__consumer_dead_letter(w->conn, &j->env, &why);
  rpcd__consumer_ack(w->conn, j->env.delivery_tag);
  atomic_fetch_add(&w->args->sb->server.timeouts, 1);
  atomic_store_explicit(&w->slot->state, RPCD_SLOT_IDLE, memory_order_release);
  msgpack_sbuffer_destroy(&out.body);
  rpcd__crash_close_watch(-1);
  rpcd__consumer_close(w->conn);
  _exit(RPCD_WORKER_EXIT_TIMEOUT);
}

/* Milliseconds the running handler may still take; -1: no limit. The
 * deadline stops a handler only under --handler-timeout; without it, the
 * stop time is what remaining_ms() tells the handler, nothing more. */
static int64_t overrun_in(const worker *w, int64_t now)
{
  const job *j = w->running;
  int64_t left;

  if (!j || w->cfg->handler_timeout_ms == 0)
    return -1;
  left = j->in.stop_at_ms - now;
  return left < 0 ? 0 : left;
}

/* Hand the requests received and not started back to the queue. */
static int requeue_waiting(worker *w)
{
  job *j;
  int rc = RPCD_OK;

  while (rc == RPCD_OK && (j = w->head)) {
    w->head = j->next;
    rc = rpcd__consumer_requeue(w->conn, j->env.delivery_tag);
    free_job(w, j);
  }
  if (!w->head)
    w->tail = NULL;
  return rc;
}

/* SIGTERM: stop consuming and hand back what has not started. */
static int begin_drain(worker *w, char *err, size_t errlen)
{
  job *j;
  int rc;

  w->draining = true;
  rpcd__log(RPCD_LOG_INFO, "worker %u draining: %s", w->args->index,
            w->running ? "finishing the request in hand" : "idle");
  rc = flush_acks(w, err, errlen);
  if (rc == RPCD_OK)
    rc = rpcd__consumer_cancel(w->conn, err, errlen);
  if (rc == RPCD_OK)
    rc = requeue_waiting(w);
  while (rc == RPCD_OK && (j = w->parked)) {
    w->parked = j->next;
    rc = rpcd__consumer_requeue(w->conn, j->env.delivery_tag);
    free_job(w, j);
  }
  return rc;
}

static int on_delivery(worker *w, job *j)
{
  if (w->draining) {
    int rc = rpcd__consumer_requeue(w->conn, j->env.delivery_tag);

    free_job(w, j);
    return rc;
  }
  push(&w->head, &w->tail, j);
  return RPCD_OK;
}

/* Read up to `max` deliveries of what arrived and what rabbitmq-c buffered
 * with it; also sends a heartbeat that is due. Main thread or keeper, lock
 * held. */
static int pump(worker *w, int max, char *err, size_t errlen)
{
  int reads;
  int rc;

  for (reads = 0; reads < max; reads++) {
    job *j = new_job(w);
    bool got;

    if (!j)
      return RPCD_ENOMEM;
    rc = rpcd__consumer_read(w->conn, &j->env, &got, &w->stats, err, errlen);
    if (rc != RPCD_OK || !got) {
      /* Nothing was read into it. */
      j->next = w->spare;
      w->spare = j;
      w->n_spare++;
      return rc;
    }
    rc = on_delivery(w, j);
    if (rc != RPCD_OK) {
      rpcd__set_err(err, errlen, "handing a request back: %s",
                    rpcd_strerror(rc));
      return rc;
    }
    if (!rpcd__consumer_buffered(w->conn))
      break;
  }
  return RPCD_OK;
}

/*
 * The keeper's turn (its thread, the lock held), while a handler has been
 * running for ran_ms: enforce --handler-timeout, begin a drain that was
 * asked for, and pump the connection so heartbeats flow and deliveries are
 * held. A failure is left in conn_rc for the main thread.
 */
static void keep_alive(void *ctx, int64_t ran_ms)
{
  worker *w = ctx;
  int rc = RPCD_OK;

  if (!w->conn || !w->running || w->conn_rc != RPCD_OK)
    return;
  if (overrun_in(w, rpcd__now_mono_ms()) == 0)
    kill_overrun(w, ran_ms);
  if (atomic_load(&w->stop) && !w->draining)
    rc = begin_drain(w, w->conn_err, sizeof(w->conn_err));
  /* Requests held behind a long handler would wait for it: step aside
   * (the broker sends this worker nothing more while the handler's own
   * request fills a prefetch of 1) and hand them to the other workers. */
  if (rc == RPCD_OK && !w->aside && w->ccfg.prefetch > 1 &&
      ran_ms >= STEP_ASIDE_MS) {
    rc = rpcd__consumer_set_prefetch(w->conn, 1, w->conn_err,
                                     sizeof(w->conn_err));
    w->aside = rc == RPCD_OK;
  }
  if (rc == RPCD_OK)
    rc = pump(w, PUMP_HOLD_MAX, w->conn_err, sizeof(w->conn_err));
  if (rc == RPCD_OK && w->aside)
    rc = requeue_waiting(w);
  w->conn_rc = rc;
}

/* Wait for the socket or the next timer. */
static void wait_for_work(worker *w)
{
  int64_t timeout = POLL_MAX_MS;
  struct pollfd fd;

  if (rpcd__consumer_buffered(w->conn))
    return;
  /* rabbitmq-c sends heartbeats only from within its calls. */
  if (w->ccfg.heartbeat_s && timeout > w->ccfg.heartbeat_s * 250)
    timeout = w->ccfg.heartbeat_s * 250;
  if (w->parked && timeout > PARKED_RECHECK_MS)
    timeout = PARKED_RECHECK_MS;
  fd.fd = rpcd__consumer_fd(w->conn);
  fd.events = POLLIN;
  fd.revents = 0;
  poll(&fd, 1, (int)timeout);
}

/* Serve on one connection until it fails (an error status) or the drain
 * is complete (RPCD_OK). */
static int serve_connection(worker *w, char *err, size_t errlen)
{
  int rc = RPCD_OK;

  for (;;) {
    if (atomic_load(&w->stop) && !w->draining) {
      rc = begin_drain(w, err, errlen);
      if (rc != RPCD_OK)
        return rc;
    }
    if (!w->draining) {
      rc = run_jobs(w, err, errlen);
      if (rc != RPCD_OK)
        return rc;
    }
    if (w->draining) /* the job in hand, if any, was answered */
      return flush_acks(w, err, errlen);
    wait_for_work(w);
    /* One at a time: the next is read when this one is done, so one
     * delivery's memory is in use, not a prefetch's worth. */
    rc = pump(w, 1, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  }
}

/* The connection is gone: what was received and not acked returns to the
 * queue by itself. After a failure, the requests answered whose acks may
 * be lost are buried, so that their redeliveries are not run again. */
static void drop_connection(worker *w, bool failed)
{
  job *j;

  rpcd__ack_batch_drop(&w->acks);
  if (failed)
    rpcd__slot_bury_answered(w->args->sb, w->args->slot);
  while ((j = w->head)) {
    w->head = j->next;
    free_job(w, j);
  }
  w->tail = NULL;
  while ((j = w->parked)) {
    w->parked = j->next;
    free_job(w, j);
  }
  /* Out of the signal handler's reach before it is freed. */
  {
    rpcd_consumer *c = w->conn;

    w->conn = NULL;
    rpcd__crash_close_watch(-1);
    rpcd__consumer_close(c);
  }
}

/* Consume until drained; reconnect with backoff when the broker goes away.
 * The supervisor reached the broker before forking, so a worker never gives
 * up on it. */
static void serve(worker *w)
{
  unsigned backoff_ms = BACKOFF_MIN_MS;
  char err[512];
  int rc;

  while (!atomic_load(&w->stop) || w->conn) {
    if (!w->conn) {
      rc = rpcd__consumer_open(&w->ccfg, &w->conn, err, sizeof(err));
      if (rc != RPCD_OK) {
        w->conn = NULL;
        rpcd__log(RPCD_LOG_WARN, "%s; retrying in %u ms", err, backoff_ms);
        sleep_unless_stopped(&w->stop, backoff_ms);
        backoff_ms =
            backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
        continue;
      }
      rpcd__crash_close_watch(rpcd__consumer_fd(w->conn));
      backoff_ms = BACKOFF_MIN_MS;
      w->draining = false;
      w->aside = false;
      w->conn_rc = RPCD_OK;
      atomic_store(&w->slot->ready, true);
      rpcd__log(RPCD_LOG_INFO,
                "worker %u serving queue \"%s\" (prefetch %u, %zu methods, "
                "generation %u)",
                w->args->index, w->ccfg.queue.name, w->ccfg.prefetch,
                w->hcfg.registry->n_methods, w->args->generation);
    }
    rc = serve_connection(w, err, sizeof(err));
    if (rc != RPCD_OK && !atomic_load(&w->stop))
      rpcd__log(RPCD_LOG_WARN, "connection lost: %s; reconnecting", err);
    drop_connection(w, rc != RPCD_OK);
    if (rc == RPCD_OK)
      break; /* drained */
  }
  rpcd__log(RPCD_LOG_INFO,
            "worker %u stopped: %llu requests (%llu ok, %llu errors, %llu "
            "expired, %llu notifications, %llu poison), queue re-declared %llu "
            "times after a cancel",
            w->args->index, (unsigned long long)w->stats.received,
            (unsigned long long)w->stats.ok,
            (unsigned long long)w->stats.errors,
            (unsigned long long)w->stats.expired,
            (unsigned long long)w->stats.notifications,
            (unsigned long long)w->stats.poison,
            (unsigned long long)w->stats.cancels);
}

void rpcd__worker_main(const rpcd_worker_args *args)
{
  const rpcd_config *cfg = args->cfg;
  rpcd_registry reg;
  char err[1024];
  worker w;

  /* Die with the supervisor, and check it did not die before the request
   * took effect. SIGKILL: nobody is left to enforce a drain timeout, and
   * the broker hands unacked requests to other servers. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != args->supervisor)
    _exit(RPCD_WORKER_EXIT_ORPHAN);
  memset(&w, 0, sizeof(w));
  atomic_init(&w.stop, 0);
  /* Before signals are unblocked: a SIGTERM that came early waits. */
  signal_worker = &w;
  install_signals();
  if (rpcd__crash_close_install() != 0)
    rpcd__log(RPCD_LOG_WARN,
              "could not install the crash handlers (%s): replies written "
              "just before a crash may be lost",
              strerror(errno));
  w.args = args;
  w.cfg = cfg;
  w.slot = &args->sb->slots[args->slot];
  w.metrics_ix = -1;
  atomic_store(&w.slot->pid, getpid());

  rpcd__registry_init(&reg);
  if (rpcd__load_plugin_set(&reg, cfg, err, sizeof(err)) != RPCD_OK ||
      rpcd__builtins_add_stats(&reg, args->sb, err, sizeof(err)) != RPCD_OK) {
    rpcd__log(RPCD_LOG_ERROR, "worker %u: %s", args->index, err);
    rpcd__registry_destroy(&reg);
    exit(RPCD_WORKER_EXIT_FAILED);
  }
  w.hcfg.registry = &reg;
  w.hcfg.max_body = cfg->max_body;
  w.hcfg.text_method = cfg->text_method;
  w.hcfg.handler_timeout_ms = cfg->handler_timeout_ms;
  w.hcfg.acl = args->acl;
  w.gate.rules = cfg->in_flight;
  w.gate.n_rules = cfg->n_in_flight;
  w.gate.counts = args->sb->inflight;
  w.gate.held = &w.slot->inflight_rule;
  if (w.gate.n_rules > 0)
    w.hcfg.gate = &w.gate;
  w.hcfg.before_dispatch = before_dispatch;
  w.hcfg.ctx = &w;
  w.ccfg.uri = cfg->uri;
  w.ccfg.tls = &cfg->tls;
  w.ccfg.queue.name = cfg->queue;
  w.ccfg.queue.type = cfg->queue_type;
  w.ccfg.queue.max_deliveries = cfg->max_deliveries;
  w.ccfg.prefetch = cfg->prefetch;
  w.ccfg.heartbeat_s = cfg->heartbeat_s;
  pthread_mutex_init(&w.lock, NULL);
  pthread_mutex_lock(&w.lock);
  if (rpcd__keeper_start(&w.lock, keep_alive, &w, KEEPER_TICK_MS,
                         KEEPER_AFTER_MS, &w.keeper) != RPCD_OK) {
    rpcd__log(RPCD_LOG_ERROR, "worker %u: could not start its keeper thread",
              args->index);
    rpcd__registry_destroy(&reg);
    exit(RPCD_WORKER_EXIT_FAILED);
  }
  serve(&w);
  pthread_mutex_unlock(&w.lock);
  rpcd__keeper_stop(w.keeper);
  free_spare_jobs(&w);
  rpcd__message_out_destroy(&w.out);
  pthread_mutex_destroy(&w.lock);
  rpcd__registry_destroy(&reg);
  signal_worker = NULL;
  exit(RPCD_WORKER_EXIT_OK);
}
