/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's loop. Signals are blocked and taken one at a time with
 * sigtimedwait(), so every signal is handled in ordinary code, in order,
 * and the timeout drives the timers (respawn backoff, drain deadline).
 *
 * Workers live in a table of records; a record outlives its process only
 * until it is reaped. The workers of the current generation are kept at
 * --workers; those of older generations drain and are not replaced.
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpcd/version.h>

#include "broker.h"
#include "log.h"
#include "registry.h"
#include "rpcd_proto.h"
#include "metrics_http.h"
#include "scoreboard.h"
#include "transport_amqp.h"
#include "worker.h"

/* A worker that dies sooner than this after its start is in a crash loop:
 * it is started again no more than once a second, backing off to 30 s. */
#define CRASH_LOOP_MS 1000
#define CRASH_BACKOFF_MAX_MS 30000
#define PLUGIN_CHECK_TIMEOUT_MS 30000

typedef struct worker_rec {
  pid_t pid;      /* 0: not running */
  int slot;       /* in the scoreboard, while pid != 0 */
  unsigned index; /* slot within its generation */
  unsigned generation;
  int64_t started_ms;    /* monotonic */
  int64_t restart_at;    /* monotonic; when pid == 0 and a restart is due */
  unsigned quick_deaths; /* consecutive deaths within CRASH_LOOP_MS */
  bool draining;         /* sent SIGTERM; not to be replaced */
  bool retired;          /* of an older generation: drains once the new
                            generation is consuming */
} worker_rec;

typedef struct supervisor {
  rpcd_config *cfg; /* a reload commits its new values into it */
  pid_t self;
  unsigned generation;
  worker_rec *workers; /* current generation: [0, cfg->workers) */
  worker_rec *old;     /* older generations, draining */
  size_t n_old;
  size_t cap_old;
  bool stopping;
  /* The drain was cut short: workers were killed by us, not by their
   * handlers, and what they held goes back to the queue unanswered. */
  bool cut_short;
  int64_t stop_deadline; /* monotonic */
  unsigned restarts;
  unsigned reloads;
  amqp_connection_state_t conn; /* for what a dead worker cannot publish */
  rpcd_scoreboard *sb;
  /* --metrics-listen: the socket (bound here), the process serving it,
   * and when to start that again after it died. */
  int metrics_fd;
  pid_t metrics_pid;
  int64_t metrics_restart_at;
  rpcd_queue_spec queue;
  int64_t retired_at;  /* monotonic, when the last reload retired workers */
  bool warned_unready; /* the new generation is slow to consume: said so */
  bool reload_pending; /* a SIGHUP came while a reload was under way */
  /* --acl of the current generation, owned; parsed here once per
   * generation and inherited by its workers through fork. NULL: none. */
  rpcd_acl *acl;
} supervisor;

/* "SIGSEGV" for SIGSEGV, "signal 99" for what has no name; into buf. */
static const char *signal_name(int sig, char *buf, size_t len)
{
  const char *abbrev = sigabbrev_np(sig);

  if (abbrev)
    snprintf(buf, len, "SIG%s", abbrev);
  else
    snprintf(buf, len, "signal %d", sig);
  return buf;
}

/* "exit status 1", "SIGSEGV (core dumped)": how a child ended, for logs. */
static const char *describe_status(int status, char *buf, size_t len)
{
  char sig[32];

  if (WIFEXITED(status))
    snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, len, "killed by %s%s",
             signal_name(WTERMSIG(status), sig, sizeof(sig)),
             WCOREDUMP(status) ? " (core dumped)" : "");
  else
    snprintf(buf, len, "status 0x%x", (unsigned)status);
  return buf;
}

/* Sleep until a child exits or ms pass (SIGCHLD is blocked). */
static void wait_sigchld(int64_t ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  sigset_t chld;

  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigtimedwait(&chld, NULL, &ts);
}

/* Wait up to timeout_ms for `pid` while signals stay blocked. Other
 * children that exit meanwhile are left for the main loop to reap. */
static bool wait_child(pid_t pid, int64_t timeout_ms, int *status)
{
  int64_t deadline = rpcd__now_mono_ms() + timeout_ms;

  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    int64_t left = deadline - rpcd__now_mono_ms();

    if (r == pid)
      return true;
    if (r < 0 && errno != EINTR)
      return false;
    if (left <= 0)
      return false;
    /* Woken by any child's exit, or every 100 ms at the latest. */
    wait_sigchld(left < 100 ? left : 100);
  }
}

/*
 * Load the plugin set in a throwaway child: a plugin that is refused, whose
 * init fails or that crashes the loader stops startup (or a reload) before
 * any worker runs it. The child sends its reason back through a pipe, so
 * the supervisor reports it, at startup as today's message and on reload
 * in the log.
 */
bool rpcd__plugin_set_loads(const rpcd_config *cfg, char *why, size_t whylen)
{
  char desc[64];
  int status;
  int fds[2];
  ssize_t n;
  pid_t pid;

  why[0] = '\0';
  if (pipe(fds) != 0) {
    snprintf(why, whylen, "pipe: %s", strerror(errno));
    return false;
  }
  pid = fork();
  if (pid < 0) {
    snprintf(why, whylen, "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    rpcd_registry reg;
    char err[1024];
    int rc;
    sigset_t none;

    close(fds[0]);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    rpcd__registry_init(&reg);
    rc = rpcd__load_plugin_set(&reg, cfg, err, sizeof(err));
    if (rc == RPCD_OK)
      rpcd__registry_destroy(&reg);
    else if (write(fds[1], err, strlen(err)) < 0)
      rc = RPCD_EPLUGIN; /* the exit status still says it */
    _exit(rc == RPCD_OK ? 0 : 1);
  }
  close(fds[1]);
  if (!wait_child(pid, PLUGIN_CHECK_TIMEOUT_MS, &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fds[0]);
    snprintf(why, whylen,
             "loading the plugins did not finish within %d ms (an init that "
             "hangs?)",
             PLUGIN_CHECK_TIMEOUT_MS);
    return false;
  }
  /* The child has exited: the pipe holds all it wrote, and EOF. */
  n = read(fds[0], why, whylen - 1);
  why[n > 0 ? n : 0] = '\0';
  close(fds[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  if (!why[0] || !WIFEXITED(status))
    snprintf(why, whylen, "loading the plugins crashed: %s",
             describe_status(status, desc, sizeof(desc)));
  return false;
}

static void start_worker(supervisor *s, worker_rec *w)
{
  rpcd_worker_args args;
  pid_t pid;

  w->slot = rpcd__slot_take(s->sb, w->generation);
  if (w->slot < 0) {
    /* Every slot is held by a draining worker of an older generation. */
    rpcd__log(RPCD_LOG_WARN,
              "worker %u waits for a draining worker to finish (no free slot)",
              w->index);
    w->restart_at = rpcd__now_mono_ms() + 100;
    return;
  }
  fflush(NULL); /* nothing buffered may be written twice */
  pid = fork();
  if (pid < 0) {
    rpcd__log(RPCD_LOG_ERROR, "fork: %s; retrying in 1 s", strerror(errno));
    rpcd__slot_release(s->sb, w->slot);
    w->restart_at = rpcd__now_mono_ms() + 1000;
    return;
  }
  if (pid == 0) {
    if (s->conn) /* the worker opens its own; this one is not its to use */
      rpcd__amqp_forget_inherited(s->conn);
    if (s->metrics_fd >= 0)
      close(s->metrics_fd);
    args.cfg = s->cfg;
    args.index = w->index;
    args.generation = w->generation;
    args.supervisor = s->self;
    args.sb = s->sb;
    args.slot = w->slot;
    args.acl = s->acl;
    rpcd__worker_main(&args);
  }
  w->pid = pid;
  w->started_ms = rpcd__now_mono_ms();
  rpcd__log(RPCD_LOG_INFO, "worker %u started (pid %ld, generation %u)",
            w->index, (long)pid, w->generation);
}

/* A worker of the current generation died: start it again, at once unless
 * it is in a crash loop: it died soon after starting without ever serving
 * a request (a plugin that fails in every fresh process, a broker that
 * refuses it). A crash in a handler is the request's fault, not a loop. */
static void schedule_restart(worker_rec *w, int64_t now, bool served)
{
  unsigned delay = 0;

  if (!served && now - w->started_ms < CRASH_LOOP_MS) {
    w->quick_deaths++;
    delay = CRASH_LOOP_MS << (w->quick_deaths > 5 ? 5 : w->quick_deaths - 1);
    if (delay > CRASH_BACKOFF_MAX_MS)
      delay = CRASH_BACKOFF_MAX_MS;
    rpcd__log(RPCD_LOG_ERROR,
              "worker %u died within %d ms of starting (%u times in a row): "
              "crash loop, starting it again in %u ms",
              w->index, CRASH_LOOP_MS, w->quick_deaths, delay);
  } else {
    w->quick_deaths = 0;
  }
  w->restart_at = now + delay;
}

static worker_rec *find_worker(supervisor *s, pid_t pid)
{
  size_t i;

  for (i = 0; i < s->cfg->workers; i++) {
    if (s->workers[i].pid == pid)
      return &s->workers[i];
  }
  for (i = 0; i < s->n_old; i++) {
    if (s->old[i].pid == pid)
      return &s->old[i];
  }
  return NULL;
}

/* Publish, reconnecting once: the supervisor's connection is idle for
 * long stretches and may have been dropped meanwhile. */
static int publish_for_dead(supervisor *s, const rpcd_slot_request *r,
                            int32_t status, amqp_bytes_t body)
{
  amqp_bytes_t reply_to = {r->reply_to_len, (void *)r->reply_to};
  amqp_bytes_t cid = {r->cid_len, (void *)r->cid};
  char err[512];
  int attempt;
  int rc = RPCD_ECONNLOST;

  for (attempt = 0; attempt < 2 && rc != RPCD_OK; attempt++) {
    if (!s->conn && rpcd__broker_open(s->cfg->uri, &s->cfg->tls, &s->queue,
                                      s->cfg->heartbeat_s, &s->conn, err,
                                      sizeof(err)) != RPCD_OK) {
      rpcd__log(RPCD_LOG_ERROR, "%s", err);
      s->conn = NULL;
      return RPCD_ECONNECT;
    }
    rc = rpcd__broker_publish_reply(s->conn, reply_to, cid, r->content_type,
                                    status, body);
    if (rc != RPCD_OK) {
      rpcd__amqp_close(s->conn, 0);
      s->conn = NULL;
    }
  }
  return rc;
}

/*
 * A worker died with a request in hand (its slot says RUNNING): answer the
 * caller "handler crashed" once, here, and leave a tombstone so that the
 * broker's redelivery of the request is dead-lettered instead of run again.
 */
static void answer_for_dead(supervisor *s, worker_rec *w, int status)
{
  rpcd_slot *slot = &s->sb->slots[w->slot];
  const rpcd_slot_request *r = &slot->req;
  char cause[32];
  char msg[320];
  msgpack_sbuffer data;
  msgpack_sbuffer body;
  msgpack_packer pk;
  amqp_bytes_t bytes;
  int rc;

  if (WIFSIGNALED(status))
    signal_name(WTERMSIG(status), cause, sizeof(cause));
  else
    snprintf(cause, sizeof(cause), "exit %d", WEXITSTATUS(status));
  atomic_fetch_add(&s->sb->server.crashes, 1);
  rpcd__tomb_add(s->sb, r, "handler-crashed", cause);
  rpcd__log(RPCD_LOG_ERROR,
            "worker %u died (%s) running %s: answering its caller \"handler "
            "crashed\"; the request is not run again",
            w->index, cause, r->method[0] ? r->method : "?");
  if (!r->has_reply_to)
    return;
  snprintf(msg, sizeof(msg), "handler crashed: %s in %s", cause,
           r->method[0] ? r->method : "?");
  msgpack_sbuffer_init(&data);
  msgpack_sbuffer_init(&body);
  if (strcmp(r->content_type, RPCD_CONTENT_TYPE_TEXT) == 0) {
    char text[400];
    int n = snprintf(text, sizeof(text), "error %d: %s",
                     RPCD_ERR_HANDLER_CRASHED, msg);

    msgpack_sbuffer_write(&body, text, (size_t)n);
  } else {
    msgpack_packer_init(&pk, &data, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, WIFSIGNALED(status) ? 2 : 3);
    msgpack_pack_str_with_body(&pk, "signal", 6);
    if (WIFSIGNALED(status)) {
      msgpack_pack_str_with_body(&pk, cause, strlen(cause));
    } else {
      msgpack_pack_nil(&pk);
      msgpack_pack_str_with_body(&pk, "exit_status", 11);
      msgpack_pack_int(&pk, WEXITSTATUS(status));
    }
    msgpack_pack_str_with_body(&pk, "method", 6);
    msgpack_pack_str_with_body(&pk, r->method, strlen(r->method));
    rpcd__reply_encode_error_data(&body, r->has_msgid, r->msgid,
                                  RPCD_ERR_HANDLER_CRASHED, msg, data.data,
                                  data.size);
  }
  bytes.bytes = body.data;
  bytes.len = body.size;
  rc = publish_for_dead(s, r, RPCD_ERR_HANDLER_CRASHED, bytes);
  if (rc != RPCD_OK)
    rpcd__log(RPCD_LOG_ERROR, "could not answer for worker %u: %s", w->index,
              rpcd_strerror(rc));
  msgpack_sbuffer_destroy(&data);
  msgpack_sbuffer_destroy(&body);
}

/* The supervisor's connection is idle between crashes: keep its
 * heartbeats flowing, and drop it when it died, to open anew on demand. */
static void keep_broker_alive(supervisor *s)
{
  char err[256];

  if (s->conn &&
      rpcd__broker_keep_alive(s->conn, err, sizeof(err)) != RPCD_OK) {
    rpcd__log(RPCD_LOG_WARN, "%s; opening it again when needed", err);
    rpcd__amqp_close(s->conn, 0);
    s->conn = NULL;
  }
}

/* A worker that died in a handler: its call counts as answered "handler
 * crashed", unless a stop cut it short and it goes back to the queue. */
static void count_death(supervisor *s, worker_rec *w, int status)
{
  rpcd_slot *slot = &s->sb->slots[w->slot];
  int ix = atomic_exchange(&slot->metrics_ix, -1);
  char msg[96];
  char cause[32];

  if (ix < 0)
    return;
  if (s->cut_short) {
    rpcd__metrics_abort(&s->sb->metrics, ix, 0, NULL);
    return;
  }
  if (WIFSIGNALED(status))
    signal_name(WTERMSIG(status), cause, sizeof(cause));
  else
    snprintf(cause, sizeof(cause), "exit %d", WEXITSTATUS(status));
  snprintf(msg, sizeof(msg), "handler crashed: %s", cause);
  atomic_fetch_add(&s->sb->server.calls, 1);
  atomic_fetch_add(&s->sb->server.errors, 1);
  rpcd__metrics_abort(&s->sb->metrics, ix, RPCD_ERR_HANDLER_CRASHED, msg);
}

/*
 * Fork the process that serves --metrics-listen on the socket bound at
 * startup. It dies with the supervisor and stops on SIGTERM.
 */
static void start_metrics(supervisor *s)
{
  sigset_t stop;
  pid_t pid;

  if (s->metrics_fd < 0 || s->metrics_pid)
    return;
  pid = fork();
  if (pid < 0) {
    rpcd__log(RPCD_LOG_ERROR, "fork of the metrics process: %s",
              strerror(errno));
    s->metrics_restart_at = rpcd__now_mono_ms() + 1000;
    return;
  }
  if (pid > 0) {
    s->metrics_pid = pid;
    rpcd__log(RPCD_LOG_INFO,
              "metrics process started (pid %ld): http://%s:%u/metrics and "
              "/healthz",
              (long)pid, s->cfg->metrics_host, s->cfg->metrics_port);
    return;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != s->self)
    _exit(1);
  if (s->conn)
    rpcd__amqp_forget_inherited(s->conn);
  /* SIGTERM and SIGINT stay blocked: the server waits for them. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_SETMASK, &stop, NULL);
  _exit(rpcd__metrics_serve(s->metrics_fd, s->sb));
}

static void stop_metrics(supervisor *s)
{
  if (s->metrics_pid) {
    kill(s->metrics_pid, SIGTERM);
    waitpid(s->metrics_pid, NULL, 0);
    s->metrics_pid = 0;
  }
  if (s->metrics_fd >= 0)
    close(s->metrics_fd);
  s->metrics_fd = -1;
}

static void reap(supervisor *s)
{
  int64_t now = rpcd__now_mono_ms();
  char desc[64];
  int status;
  pid_t pid;

  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    worker_rec *w = find_worker(s, pid);
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool served;

    if (pid == s->metrics_pid) {
      s->metrics_pid = 0;
      if (!s->stopping) {
        rpcd__log(RPCD_LOG_WARN,
                  "the metrics process (pid %ld) exited: %s; starting it "
                  "again in 1000 ms",
                  (long)pid, describe_status(status, desc, sizeof(desc)));
        s->metrics_restart_at = now + 1000;
      }
      continue;
    }
    if (!w)
      continue; /* a plugin-check child reaped late */
    rpcd__log(clean ? RPCD_LOG_INFO : RPCD_LOG_WARN,
              "worker %u (pid %ld, generation %u) exited: %s", w->index,
              (long)pid, w->generation,
              describe_status(status, desc, sizeof(desc)));
    served = atomic_load(&s->sb->slots[w->slot].calls) > 0;
    /* Before its caller hears of the crash, who may call again at once. */
    rpcd__inflight_release(s->sb->inflight,
                           &s->sb->slots[w->slot].inflight_rule);
    count_death(s, w, status);
    if (atomic_load_explicit(&s->sb->slots[w->slot].state,
                             memory_order_acquire) == RPCD_SLOT_RUNNING) {
      served = true;
      if (s->cut_short)
        rpcd__log(RPCD_LOG_WARN,
                  "worker %u was stopped running %s: the request goes back "
                  "to the queue, for another server to run",
                  w->index, s->sb->slots[w->slot].req.method);
      else
        answer_for_dead(s, w, status);
    }
    /* Its last answers' acks may have died with it. */
    if (!clean)
      rpcd__slot_bury_answered(s->sb, w->slot);
    rpcd__slot_release(s->sb, w->slot);
    w->pid = 0;
    if (s->stopping || w->draining || w->generation != s->generation)
      continue;
    s->restarts++;
    atomic_fetch_add(&s->sb->server.restarts, 1);
    schedule_restart(w, now, served);
  }
}

static void start_due_workers(supervisor *s)
{
  int64_t now = rpcd__now_mono_ms();
  size_t i;

  if (s->stopping)
    return;
  for (i = 0; i < s->cfg->workers; i++) {
    worker_rec *w = &s->workers[i];

    if (w->pid == 0 && w->restart_at <= now)
      start_worker(s, w);
  }
}

static size_t running(const supervisor *s)
{
  size_t n = 0;
  size_t i;

  for (i = 0; i < s->cfg->workers; i++)
    n += s->workers[i].pid != 0;
  for (i = 0; i < s->n_old; i++)
    n += s->old[i].pid != 0;
  return n;
}

static void signal_all(supervisor *s, int sig)
{
  size_t i;

  for (i = 0; i < s->cfg->workers; i++) {
    if (s->workers[i].pid)
      kill(s->workers[i].pid, sig);
  }
  for (i = 0; i < s->n_old; i++) {
    if (s->old[i].pid)
      kill(s->old[i].pid, sig);
  }
}

/* SIGUSR1 raises the log level, SIGUSR2 lowers it: here, in every worker,
 * and (by fork) in the workers started later. */
static void change_log_level(supervisor *s, int sig)
{
  rpcd__log_adjust(sig == SIGUSR1 ? 1 : -1);
  signal_all(s, sig);
  rpcd__log(RPCD_LOG_ERROR, "log level now %s (%s)",
            rpcd__log_level_name(atomic_load(&rpcd__log_level)),
            sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
}

static void begin_stop(supervisor *s, int sig)
{
  char name[32];

  if (s->stopping) {
    rpcd__log(RPCD_LOG_WARN,
              "%s again: killing %zu workers without waiting for them",
              signal_name(sig, name, sizeof(name)), running(s));
    s->cut_short = true;
    signal_all(s, SIGKILL);
    s->stop_deadline = rpcd__now_mono_ms();
    return;
  }
  s->stopping = true;
  atomic_store(&s->sb->draining, true);
  s->stop_deadline = rpcd__now_mono_ms() + s->cfg->drain_timeout_ms;
  rpcd__log(RPCD_LOG_INFO, "%s: draining %zu workers (at most %u ms)",
            signal_name(sig, name, sizeof(name)), running(s),
            s->cfg->drain_timeout_ms);
  signal_all(s, SIGTERM);
}

/* Move the current generation's records to the list of old ones; they are
 * signalled once the new generation consumes (drain_retired), so the queue
 * never goes without a consumer and callers never see "no consumer". */
static bool retire_generation(supervisor *s)
{
  size_t i;

  if (s->n_old + s->cfg->workers > s->cap_old) {
    size_t cap = (s->n_old + s->cfg->workers) * 2;
    worker_rec *grown = realloc(s->old, cap * sizeof(*grown));

    if (!grown)
      return false;
    s->old = grown;
    s->cap_old = cap;
  }
  for (i = 0; i < s->cfg->workers; i++) {
    worker_rec *w = &s->workers[i];

    if (!w->pid)
      continue;
    w->retired = true;
    s->old[s->n_old++] = *w;
  }
  s->retired_at = rpcd__now_mono_ms();
  return true;
}

static bool generation_ready(const supervisor *s)
{
  size_t i;

  for (i = 0; i < s->cfg->workers; i++) {
    const worker_rec *w = &s->workers[i];

    if (!w->pid || !atomic_load(&s->sb->slots[w->slot].ready))
      return false;
  }
  return true;
}

/* Drain the retired workers once every worker of the new generation is
 * consuming. */
static void drain_retired(supervisor *s)
{
  size_t n = 0;
  size_t i;

  for (i = 0; i < s->n_old; i++)
    n += s->old[i].retired && !s->old[i].draining && s->old[i].pid;
  if (n == 0)
    return;
  if (!generation_ready(s)) {
    if (rpcd__now_mono_ms() - s->retired_at > 10000 && !s->warned_unready) {
      rpcd__log(RPCD_LOG_WARN,
                "generation %u is not consuming after 10 s; generation %u "
                "keeps serving until it is",
                s->generation, s->generation - 1);
      s->warned_unready = true;
    }
    return;
  }
  for (i = 0; i < s->n_old; i++) {
    worker_rec *w = &s->old[i];

    if (w->retired && !w->draining && w->pid) {
      w->draining = true;
      kill(w->pid, SIGTERM);
    }
  }
  rpcd__log(RPCD_LOG_INFO,
            "reload done: generation %u serving, %zu workers of older "
            "generations draining",
            s->generation, n);
}

static bool retired_waiting(const supervisor *s)
{
  size_t i;

  for (i = 0; i < s->n_old; i++) {
    if (s->old[i].retired && !s->old[i].draining && s->old[i].pid)
      return true;
  }
  return false;
}

/* Forget draining records whose process is gone. */
static void compact_old(supervisor *s)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < s->n_old; i++) {
    if (s->old[i].pid)
      s->old[n++] = s->old[i];
  }
  s->n_old = n;
}

/*
 * SIGHUP: check the plugin set again (files are read anew, so a plugin
 * replaced on disk is picked up); if it loads, start a new generation and
 * drain the old one, else keep serving with the old one.
 */
static void reload(supervisor *s)
{
  worker_rec *next;
  rpcd_config cfg; /* the flags and the --config file, read again */
  rpcd_acl *acl = NULL;
  char why[2048];
  size_t i;

  rpcd__log(RPCD_LOG_INFO, "SIGHUP: reloading the plugins (generation %u)",
            s->generation + 1);
  if (rpcd__config_reload(s->cfg, &cfg, why, sizeof(why)) != RPCD_OK) {
    rpcd__log(RPCD_LOG_ERROR, "reload refused: %s; generation %u keeps serving",
              why, s->generation);
    rpcd__config_destroy(&cfg);
    return;
  }
  if (why[0]) /* settings that changed but take a restart */
    rpcd__log(RPCD_LOG_WARN, "reload: %s", why);
  if (cfg.acl && rpcd__acl_load(cfg.acl, &acl, why, sizeof(why)) != RPCD_OK) {
    rpcd__log(RPCD_LOG_ERROR,
              "reload refused: %s; generation %u keeps serving with its "
              "rules",
              why, s->generation);
    rpcd__config_destroy(&cfg);
    return;
  }
  if (!rpcd__plugin_set_loads(&cfg, why, sizeof(why))) {
    rpcd__log(RPCD_LOG_ERROR, "reload refused: %s; generation %u keeps serving",
              why, s->generation);
    rpcd__acl_free(acl);
    rpcd__config_destroy(&cfg);
    return;
  }
  next = calloc(s->cfg->workers, sizeof(*next));
  if (!next || !retire_generation(s)) {
    free(next);
    rpcd__acl_free(acl);
    rpcd__config_destroy(&cfg);
    rpcd__log(RPCD_LOG_ERROR, "reload refused: out of memory");
    return;
  }
  /* From here on the new generation's: its workers are forked with it. A
   * --log-level that did not change leaves a SIGUSR1/SIGUSR2 change be. */
  if (cfg.log_level != s->cfg->log_level)
    rpcd__log_level = cfg.log_level;
  rpcd__config_commit(s->cfg, &cfg);
  free(s->workers);
  s->workers = next;
  /* Workers of older generations hold their own copy (fork). */
  rpcd__acl_free(s->acl);
  s->acl = acl;
  s->generation++;
  s->reloads++;
  atomic_fetch_add(&s->sb->server.reloads, 1);
  s->warned_unready = false;
  for (i = 0; i < s->cfg->workers; i++) {
    next[i].index = (unsigned)i;
    next[i].generation = s->generation;
    start_worker(s, &next[i]);
  }
}

/* SIGHUPs in a burst coalesce: while a reload waits for its generation to
 * consume, another one would retire that generation too, and retired
 * workers could take every slot. The next reload follows when this one is
 * done, and reads the files then. */
static void request_reload(supervisor *s)
{
  if (!retired_waiting(s)) {
    reload(s);
    return;
  }
  if (!s->reload_pending)
    rpcd__log(RPCD_LOG_INFO, "SIGHUP during a reload: another reload follows "
                             "when this one is done");
  s->reload_pending = true;
}

/* Milliseconds until the next timer, for sigtimedwait. */
static int64_t next_timeout_ms(const supervisor *s)
{
  int64_t now = rpcd__now_mono_ms();
  int64_t next = now + 1000;
  size_t i;

  if (s->stopping)
    return s->stop_deadline > now ? s->stop_deadline - now : 0;
  if (retired_waiting(s))
    next = now + 20; /* watch the new generation come up */
  for (i = 0; i < s->cfg->workers; i++) {
    const worker_rec *w = &s->workers[i];

    if (w->pid == 0 && w->restart_at < next)
      next = w->restart_at;
  }
  return next > now ? next - now : 0;
}

/* Reach the broker and declare the queues before any worker starts, so a
 * wrong URI, a refused login or a queue declared with other arguments is
 * a startup error, not a crash loop. */
static int connect_broker(supervisor *s)
{
  char err[512];

  if (rpcd__broker_open(s->cfg->uri, &s->cfg->tls, &s->queue,
                        s->cfg->heartbeat_s, &s->conn, err,
                        sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "rpcd: %s\n", err);
    return -1;
  }
  return 0;
}

int rpcd__supervise(rpcd_config *cfg)
{
  supervisor s;
  sigset_t set;
  char why[1024];
  int status = 0;
  size_t i;

  memset(&s, 0, sizeof(s));
  s.cfg = cfg;
  s.metrics_fd = -1;
  s.self = getpid();
  s.generation = 1;
  s.queue.name = cfg->queue;
  s.queue.type = cfg->queue_type;
  s.queue.max_deliveries = cfg->max_deliveries;

  /* Taken with sigtimedwait() below; blocked before any child exists, so
   * none is missed. */
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (rpcd__log_open(cfg->log_target) != 0) {
    fprintf(stderr, "rpcd: --log journald: this rpcd was built without "
                    "libsystemd\n");
    return 1;
  }
  if (cfg->acl &&
      rpcd__acl_load(cfg->acl, &s.acl, why, sizeof(why)) != RPCD_OK) {
    fprintf(stderr, "rpcd: %s\n", why);
    return 1;
  }
  if (!rpcd__plugin_set_loads(cfg, why, sizeof(why))) {
    fprintf(stderr, "rpcd: %s\n", why);
    rpcd__acl_free(s.acl);
    return 1;
  }
  if (connect_broker(&s) != 0) {
    rpcd__acl_free(s.acl);
    return 1;
  }
  /* Slots for the workers of two generations (a reload overlaps them) and
   * some to spare for quick reloads. */
  s.sb = rpcd__scoreboard_create(cfg->workers * 4 + 4, 1024);
  if (!s.sb) {
    fprintf(stderr, "rpcd: could not map the scoreboard: %s\n",
            strerror(errno));
    rpcd__amqp_close(s.conn, 1);
    rpcd__acl_free(s.acl);
    return 1;
  }

  if (cfg->metrics_host &&
      rpcd__metrics_listen(cfg->metrics_host, cfg->metrics_port, &s.metrics_fd,
                           why, sizeof(why)) != RPCD_OK) {
    fprintf(stderr, "rpcd: %s\n", why);
    rpcd__scoreboard_destroy(s.sb);
    rpcd__amqp_close(s.conn, 1);
    rpcd__acl_free(s.acl);
    return 1;
  }
  start_metrics(&s);

  s.workers = calloc(cfg->workers, sizeof(*s.workers));
  if (!s.workers) {
    fprintf(stderr, "rpcd: out of memory\n");
    stop_metrics(&s);
    rpcd__amqp_close(s.conn, 1);
    rpcd__acl_free(s.acl);
    return 1;
  }
  rpcd__log(RPCD_LOG_INFO, "rpcd %s supervising %u workers on queue \"%s\"",
            RPCD_VERSION_STRING, cfg->workers, cfg->queue);
  for (i = 0; i < cfg->workers; i++) {
    s.workers[i].index = (unsigned)i;
    s.workers[i].generation = s.generation;
    start_worker(&s, &s.workers[i]);
  }

  for (;;) {
    int64_t wait_ms = next_timeout_ms(&s);
    struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    siginfo_t info;
    int sig;

    sig = sigtimedwait(&set, &info, &ts);
    if (sig == SIGCHLD)
      reap(&s);
    else if (sig == SIGTERM || sig == SIGINT)
      begin_stop(&s, sig);
    else if (sig == SIGUSR1 || sig == SIGUSR2)
      change_log_level(&s, sig);
    else if (sig == SIGHUP && !s.stopping)
      request_reload(&s);
    reap(&s); /* SIGCHLDs coalesce: never rely on one per child */
    keep_broker_alive(&s);
    compact_old(&s);
    if (s.stopping) {
      if (running(&s) == 0)
        break;
      if (rpcd__now_mono_ms() >= s.stop_deadline) {
        rpcd__log(RPCD_LOG_ERROR,
                  "drain timeout: killing %zu workers that did not finish",
                  running(&s));
        s.cut_short = true;
        signal_all(&s, SIGKILL);
        while (running(&s) > 0) {
          wait_sigchld(100);
          reap(&s);
          compact_old(&s);
        }
        status = 1;
        break;
      }
      continue;
    }
    start_due_workers(&s);
    if (!s.stopping && s.metrics_fd >= 0 && !s.metrics_pid &&
        rpcd__now_mono_ms() >= s.metrics_restart_at)
      start_metrics(&s);
    drain_retired(&s);
    if (s.reload_pending && !retired_waiting(&s)) {
      s.reload_pending = false;
      reload(&s);
    }
  }
  rpcd__log(RPCD_LOG_INFO, "stopped%s: %u worker restarts, %u reloads",
            status ? " after the drain timeout" : "", s.restarts, s.reloads);
  rpcd__amqp_close(s.conn, 1);
  /* It answered NOT_SERVING through the drain; it reads the scoreboard,
   * so it goes first. */
  stop_metrics(&s);
  rpcd__scoreboard_destroy(s.sb);
  free(s.workers);
  free(s.old);
  rpcd__acl_free(s.acl);
  return status;
}
