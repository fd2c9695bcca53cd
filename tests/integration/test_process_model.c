/* SPDX-License-Identifier: MIT */
/*
 * The process model against a real broker: a supervisor and its workers
 * serving crash.so (tests/integration/crash_plugin.c) and fib.so.
 *   - a handler that segfaults, aborts or exits gets its caller exactly one
 *     "handler crashed" reply, runs once, lands in <queue>.dead, and the
 *     calls around it all succeed; the worker is replaced
 *   - a worker killed with SIGKILL while running a request: the same
 *   - a handler that sleeps 3.5 heartbeats replies once and runs once,
 *     while the other worker answers meanwhile
 *   - --handler-timeout ends a handler that never returns with "deadline
 *     exceeded"
 *   - SIGTERM under load: exit 0, nothing left of the group, no call lost
 *     and no duplicate reply
 *   - SIGHUP under load reloads the plugins, refuses a set that does not
 *     load, and picks up a plugin replaced on disk
 *   - on a quorum queue, a request that kills whole servers is poison after
 *     --max-deliveries
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpcd/client.h>

#include "harness.h"
#include "rpcd_proto.h"

#define CALL_TIMEOUT_MS 15000

static char crash_log[512];

static void sleep_ms(unsigned ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

  nanosleep(&ts, NULL);
}

static rpcd_client *client_for(const char *queue)
{
  rpcd_client *c = NULL;

  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, queue), RPCD_OK);
  if (rpcd_client_connect(c, h_broker_uri()) != RPCD_OK)
    fail_msg("connect: %s", rpcd_client_last_error(c));
  return c;
}

/* Params [token] or [token, ms]. */
static void pack_token(msgpack_sbuffer *buf, const char *token, int ms)
{
  msgpack_packer pk;

  msgpack_sbuffer_init(buf);
  msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, ms >= 0 ? 2 : 1);
  msgpack_pack_str_with_body(&pk, token, strlen(token));
  if (ms >= 0)
    msgpack_pack_int(&pk, ms);
}

static rpcd_call_id send_token(rpcd_client *c, const char *method,
                               const char *token, int ms)
{
  msgpack_sbuffer params;
  rpcd_call_id id = 0;

  pack_token(&params, token, ms);
  if (rpcd_client_send(c, method, params.data, params.size, CALL_TIMEOUT_MS,
                       &id, 0) != RPCD_OK)
    fail_msg("send %s: %s", method, rpcd_client_last_error(c));
  msgpack_sbuffer_destroy(&params);
  return id;
}

static rpcd_call_id send_fib(rpcd_client *c, unsigned n)
{
  unsigned char params[2] = {0x91, (unsigned char)n};
  rpcd_call_id id = 0;

  if (rpcd_client_send(c, "fib", params, 2, CALL_TIMEOUT_MS, &id, 0) != RPCD_OK)
    fail_msg("send fib: %s", rpcd_client_last_error(c));
  return id;
}

/* Wait for a fib(20) call: it must succeed with 6765. */
static void expect_fib20(rpcd_client *c, rpcd_call_id id)
{
  rpcd_reply *r = NULL;
  const void *data;
  size_t len;
  rpcd_mp_doc doc;
  int rc;

  rc = rpcd_client_wait(c, id, &r);
  if (rc != RPCD_OK)
    fail_msg("fib call: %s (%s)", rpcd_strerror(rc),
             r ? rpcd_reply_error_message(r) : rpcd_client_last_error(c));
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(rpcd__mp_decode(data, len, 8, &doc, NULL, 0), RPCD_OK);
  assert_int_equal(doc.root.via.u64, 6765);
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(r);
}

/* The value of key `k` in the msgpack map `m`, or NULL. */
static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
  uint32_t i;

  if (m->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (i = 0; i < m->via.map.size; i++)
    if (rpcd__mp_str_eq(&m->via.map.ptr[i].key, k))
      return &m->via.map.ptr[i].val;
  return NULL;
}

/* Wait for a call that must fail with `code`; check data.signal. */
static void expect_error(rpcd_client *c, rpcd_call_id id, int code,
                         const char *signal, const char *method)
{
  rpcd_reply *r = NULL;
  const void *data;
  size_t len;
  int rc;

  rc = rpcd_client_wait(c, id, &r);
  if (rc != RPCD_EREMOTE)
    fail_msg("expected a remote error %d, got %s (%s)", code, rpcd_strerror(rc),
             rpcd_client_last_error(c));
  if (rpcd_reply_error_code(r) != code)
    fail_msg("error %d (%s), expected %d", rpcd_reply_error_code(r),
             rpcd_reply_error_message(r), code);
  if (signal) {
    rpcd_mp_doc doc;
    const msgpack_object *v;

    assert_true(rpcd_reply_error_data(r, &data, &len));
    assert_int_equal(rpcd__mp_decode(data, len, 8, &doc, NULL, 0), RPCD_OK);
    v = map_get(&doc.root, "signal");
    assert_non_null(v);
    if (strcmp(signal, "nil") == 0)
      assert_int_equal(v->type, MSGPACK_OBJECT_NIL);
    else
      assert_true(rpcd__mp_str_eq(v, signal));
    v = map_get(&doc.root, "method");
    assert_non_null(v);
    assert_true(rpcd__mp_str_eq(v, method));
    rpcd__mp_doc_destroy(&doc);
  }
  rpcd_reply_free(r);
}

/* How many times "<method> <token>" ran, per the crash plugin's log; the
 * pid of the last run in *pid (may be NULL). */
static int runs(const char *method, const char *token, long *pid)
{
  char want[300];
  char line[512];
  int n = 0;
  FILE *f;

  snprintf(want, sizeof(want), "%s %s ", method, token);
  f = fopen(crash_log, "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, want, strlen(want)) == 0) {
      n++;
      if (pid)
        *pid = strtol(line + strlen(want), NULL, 10);
    }
  }
  fclose(f);
  return n;
}

static bool log_contains(const char *queue, const char *text);

static void unique_token(char *buf, size_t len, const char *what)
{
  static unsigned seq;

  snprintf(buf, len, "%s-%ld-%u", what, (long)getpid(), ++seq);
}

/* The dead-letter queue receives the request (its redelivery, settled by
 * a worker) within a few seconds. */
static void expect_dead_letter(const char *queue, const char *reason,
                               const char *signal, const char *method)
{
  int64_t deadline = h_now_ms() + 5000;
  h_dead_letter dl;

  while (!h_dead_letter_get(queue, &dl)) {
    if (h_now_ms() > deadline)
      fail_msg("nothing in %s.dead", queue);
    sleep_ms(50);
  }
  assert_string_equal(dl.reason, reason);
  if (signal)
    assert_string_equal(dl.signal, signal);
  assert_string_equal(dl.method, method);
  assert_true(dl.has_time);
  assert_true(dl.body_len > 0);
}

static pid_t start_server(const char *queue, const char *const *more)
{
  const char *args[24] = {"--plugin",   FIB_PLUGIN,  "--plugin",
                          CRASH_PLUGIN, "--workers", "2"};
  size_t n = 6;
  pid_t pid;

  while (more && *more && n < 22)
    args[n++] = *more++;
  args[n] = NULL;
  pid = h_rpcd_start(queue, args);
  assert_true(pid > 0);
  assert_true(h_wait_consumers(queue, 2, 5000));
  return pid;
}

static void crash_round(rpcd_client *c, const char *queue, const char *method,
                        const char *signal)
{
  rpcd_call_id before[50];
  rpcd_call_id after[50];
  rpcd_call_id crash;
  char token[64];
  int64_t sent;
  size_t i;

  unique_token(token, sizeof(token), method);
  for (i = 0; i < 50; i++)
    before[i] = send_fib(c, 20);
  sent = h_now_ms();
  crash = send_token(c, method, token, -1);
  for (i = 0; i < 50; i++)
    after[i] = send_fib(c, 20);
  expect_error(c, crash, RPCD_ERR_HANDLER_CRASHED, signal, method);
  /* Within one second of the crash (the crash is immediate). */
  assert_true(h_now_ms() - sent < 1500);
  for (i = 0; i < 50; i++) {
    expect_fib20(c, before[i]);
    expect_fib20(c, after[i]);
  }
  expect_dead_letter(queue, "handler-crashed",
                     strcmp(signal, "nil") == 0 ? "exit 3" : signal, method);
  /* Back to two workers within 2 s; and the crashed request never ran
   * again (the redelivery was dead-lettered above, so any rerun would
   * have happened by now). */
  assert_true(h_wait_consumers(queue, 2, 2000));
  assert_int_equal(runs(method, token, NULL), 1);
}

/* A server counter from rpc.stats; *n_workers gets the worker entries. */
static uint64_t server_stat(rpcd_client *c, const char *key, size_t *n_workers)
{
  rpcd_reply *r = NULL;
  const msgpack_object *server;
  const msgpack_object *v;
  const msgpack_object *workers;
  const void *data;
  size_t len;
  uint64_t value;
  rpcd_mp_doc doc;
  uint32_t i;

  assert_int_equal(rpcd_client_call(c, "rpc.stats", "\x90", 1, 5000, &r, 0),
                   RPCD_OK);
  assert_int_equal(rpcd_reply_result(r, &data, &len), RPCD_OK);
  assert_int_equal(rpcd__mp_decode(data, len, 8, &doc, NULL, 0), RPCD_OK);
  server = map_get(&doc.root, "server");
  assert_non_null(server);
  v = map_get(server, key);
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  value = v->via.u64;
  workers = map_get(&doc.root, "workers");
  assert_non_null(workers);
  assert_int_equal(workers->type, MSGPACK_OBJECT_ARRAY);
  for (i = 0; i < workers->via.array.size; i++) {
    const msgpack_object *pid = map_get(&workers->via.array.ptr[i], "pid");

    assert_non_null(pid);
    assert_true(pid->via.u64 > 0);
    assert_non_null(map_get(&workers->via.array.ptr[i], "generation"));
    assert_non_null(map_get(&workers->via.array.ptr[i], "calls"));
  }
  if (n_workers)
    *n_workers = workers->via.array.size;
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(r);
  return value;
}

static void test_crashes_answered_once(void **state)
{
  char queue[128];
  rpcd_client *c;
  pid_t server;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  {
    static const char *const more[] = {"--prefetch", "8", NULL};

    server = start_server(queue, more);
  }
  c = client_for(queue);
  crash_round(c, queue, "crash.segv", "SIGSEGV");
  crash_round(c, queue, "crash.abort", "SIGABRT");
  crash_round(c, queue, "crash.exit", "nil");
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  {
    size_t n_workers = 0;

    assert_int_equal(server_stat(c, "crashes", &n_workers), 3);
    assert_int_equal(n_workers, 2);
    assert_int_equal(server_stat(c, "restarts", NULL), 3);
    assert_true(server_stat(c, "calls", NULL) >= 1);
  }
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

static void test_worker_killed_from_outside(void **state)
{
  char queue[128];
  char token[64];
  rpcd_call_id id;
  rpcd_client *c;
  pid_t server;
  long worker = 0;
  int64_t deadline;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, NULL);
  c = client_for(queue);
  unique_token(token, sizeof(token), "kill9");
  id = send_token(c, "crash.sleep", token, 5000);
  deadline = h_now_ms() + 5000;
  while (runs("crash.sleep", token, &worker) == 0 && h_now_ms() < deadline)
    sleep_ms(20);
  assert_true(worker > 0 && worker != server);
  assert_int_equal(kill((pid_t)worker, SIGKILL), 0);
  expect_error(c, id, RPCD_ERR_HANDLER_CRASHED, "SIGKILL", "crash.sleep");
  expect_dead_letter(queue, "handler-crashed", "SIGKILL", "crash.sleep");
  assert_true(h_wait_consumers(queue, 2, 2000));
  assert_int_equal(runs("crash.sleep", token, NULL), 1);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* A handler sleeping 3.5 heartbeats (7 s at --heartbeat 2) keeps its
 * worker's connection: one reply, one run, and the other worker answers
 * meanwhile without delay, even with a prefetch of 8 (the sleeping
 * worker steps aside and hands back what it held). */
static void test_long_handler_keeps_connection(void **state)
{
  static const char *const more[] = {"--heartbeat", "2", "--prefetch", "8",
                                     NULL};
  char queue[128];
  char token[64];
  char log_path[512];
  char cmd[700];
  rpcd_call_id slow;
  rpcd_client *c;
  pid_t server;
  int i;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, more);
  c = client_for(queue);
  unique_token(token, sizeof(token), "slow");
  slow = send_token(c, "crash.sleep", token, 7000);
  sleep_ms(200);
  for (i = 0; i < 20; i++) {
    int64_t t0 = h_now_ms();
    rpcd_call_id id = send_fib(c, 20);

    expect_fib20(c, id);
    assert_true(h_now_ms() - t0 < 1000);
    sleep_ms(300);
  }
  {
    rpcd_reply *r = NULL;

    assert_int_equal(rpcd_client_wait(c, slow, &r), RPCD_OK);
    rpcd_reply_free(r);
  }
  assert_int_equal(runs("crash.sleep", token, NULL), 1);
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  h_rpcd_log_path(queue, log_path, sizeof(log_path));
  snprintf(cmd, sizeof(cmd), "grep -q 'connection lost' '%s'", log_path);
  assert_int_not_equal(system(cmd), 0);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

static void test_handler_timeout(void **state)
{
  static const char *const more[] = {"--handler-timeout", "1000", NULL};
  char queue[128];
  char token[64];
  rpcd_call_id id;
  rpcd_client *c;
  pid_t server;
  int64_t t0;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, more);
  c = client_for(queue);
  unique_token(token, sizeof(token), "hang");
  t0 = h_now_ms();
  id = send_token(c, "crash.hang", token, -1);
  expect_error(c, id, RPCD_ERR_DEADLINE_EXCEEDED, NULL, NULL);
  assert_true(h_now_ms() - t0 >= 1000);
  assert_true(h_now_ms() - t0 < 3000);
  expect_dead_letter(queue, "timeout", NULL, "crash.hang");
  assert_true(h_wait_consumers(queue, 2, 2000));
  expect_fib20(c, send_fib(c, 20));
  assert_int_equal(runs("crash.hang", token, NULL), 1);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* Two servers on one queue under load; stop one of them midway, with
 * SIGTERM (a drain) or SIGKILL to its whole process group. */
static void two_servers_under_load(bool kill9)
{
  enum { CALLS = 3000, IN_FLIGHT = 64 };
  static rpcd_call_id ids[CALLS];
  char queue[128];
  rpcd_client *c;
  pid_t a;
  pid_t b;
  size_t sent = 0;
  size_t done = 0;
  int status = -1;
  int i;

  h_unique_queue(queue, sizeof(queue));
  a = start_server(queue, NULL);
  {
    const char *args[] = {"--plugin",  FIB_PLUGIN, "--plugin", CRASH_PLUGIN,
                          "--workers", "2",        NULL};

    b = h_rpcd_start(queue, args);
    assert_true(b > 0);
  }
  assert_true(h_wait_consumers(queue, 4, 5000));
  c = client_for(queue);
  while (done < CALLS) {
    while (sent < CALLS && sent - done < IN_FLIGHT)
      ids[sent++] = send_fib(c, 20);
    /* Every call gets a correct reply, whichever way A went. */
    expect_fib20(c, ids[done++]);
    if (done == CALLS / 3)
      kill(kill9 ? -a : a, kill9 ? SIGKILL : SIGTERM);
  }
  for (i = 0; i < 150 && waitpid(a, &status, WNOHANG) != a; i++)
    sleep_ms(100);
  if (kill9) {
    assert_true(WIFSIGNALED(status));
  } else {
    /* A drain: exit 0, and no reply twice (nothing ran twice). */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(rpcd_client_dropped_replies(c), 0);
  }
  /* Nothing of its group is left either way. */
  for (i = 0; i < 50 && kill(-a, 0) == 0; i++)
    sleep_ms(100);
  assert_int_equal(kill(-a, 0), -1);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(b), 0);
}

/* A drain that outlasts --drain-timeout: the worker is killed, rpcd exits
 * 1, and the request it held goes back to the queue unanswered, so another
 * server runs it and its caller gets the real answer. */
static void test_drain_timeout_hands_back(void **state)
{
  static const char *const more[] = {"--drain-timeout", "300", NULL};
  char queue[128];
  char token[64];
  rpcd_reply *r = NULL;
  rpcd_call_id id;
  rpcd_client *c;
  pid_t a;
  pid_t b;
  int status = -1;
  int64_t t0;
  int i;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  a = start_server(queue, more);
  c = client_for(queue);
  unique_token(token, sizeof(token), "drain");
  id = send_token(c, "crash.sleep", token, 2000);
  for (i = 0; i < 250 && runs("crash.sleep", token, NULL) == 0; i++)
    sleep_ms(20);
  assert_int_equal(runs("crash.sleep", token, NULL), 1);
  t0 = h_now_ms();
  kill(a, SIGTERM);
  for (i = 0; i < 100 && waitpid(a, &status, WNOHANG) != a; i++)
    sleep_ms(20);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 1);
  assert_true(h_now_ms() - t0 < 1500);
  assert_true(log_contains(queue, "goes back to the queue"));
  b = start_server(queue, NULL);
  assert_int_equal(rpcd_client_wait(c, id, &r), RPCD_OK);
  rpcd_reply_free(r);
  assert_int_equal(runs("crash.sleep", token, NULL), 2);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(b), 0);
}

static void test_sigterm_under_load_loses_nothing(void **state)
{
  (void)state;
  two_servers_under_load(false);
}

/* At least once: the requests the killed server held are redelivered to
 * the other one; a reply that comes twice is dropped by the SDK. */
static void test_kill9_server_under_load_answers_all(void **state)
{
  (void)state;
  two_servers_under_load(true);
}

static bool log_contains(const char *queue, const char *text)
{
  char path[512];
  char line[2048];
  bool found = false;
  FILE *f;

  h_rpcd_log_path(queue, path, sizeof(path));
  f = fopen(path, "r");
  if (!f)
    return false;
  while (!found && fgets(line, sizeof(line), f))
    found = strstr(line, text) != NULL;
  fclose(f);
  return found;
}

/*
 * Poison: a request that takes whole servers down with it (kill -9 of the
 * process group while it runs) is redelivered by the quorum queue with a
 * growing x-delivery-count; once delivered --max-deliveries (2) times it is
 * not run again: its caller gets -32006 and it lands in <queue>.dead.
 */
static void test_poison_on_quorum_queue(void **state)
{
  static const char *const args[] = {
      "--plugin", FIB_PLUGIN,         "--plugin", CRASH_PLUGIN, "--queue-type",
      "quorum",   "--max-deliveries", "2",        "--workers",  "1",
      NULL};
  char queue[128];
  char token[64];
  rpcd_call_id id;
  rpcd_client *c;
  pid_t server;
  int kills;

  (void)state;
  /* A queue that an earlier rpcd declared as a classic queue is a clear
   * startup error that names the queue and the argument that differs. */
  h_unique_queue(queue, sizeof(queue));
  {
    static const char *const classic[] = {"--plugin", FIB_PLUGIN, NULL};

    server = h_rpcd_start(queue, classic);
    assert_true(server > 0);
    assert_int_equal(h_rpcd_stop(server), 0);
  }
  assert_true(h_rpcd_start(queue, args) < 0);
  assert_true(log_contains(queue, queue));
  assert_true(log_contains(queue, "(quorum)"));
  assert_true(log_contains(queue, "inequivalent arg"));
  h_queue_delete(queue);

  h_unique_queue(queue, sizeof(queue));
  server = h_rpcd_start(queue, args);
  assert_true(server > 0);
  c = client_for(queue);
  unique_token(token, sizeof(token), "poison");
  id = send_token(c, "crash.sleep", token, 60000);
  for (kills = 1; kills <= 2; kills++) {
    int64_t deadline = h_now_ms() + 10000;

    while (runs("crash.sleep", token, NULL) < kills) {
      if (h_now_ms() > deadline)
        fail_msg("run %d did not start", kills);
      sleep_ms(20);
    }
    assert_int_equal(kill(-server, SIGKILL), 0);
    waitpid(server, NULL, 0);
    sleep_ms(100); /* the whole group is gone, connections closed */
    server = h_rpcd_start(queue, args);
    assert_true(server > 0);
  }
  expect_error(c, id, RPCD_ERR_POISON, NULL, NULL);
  assert_int_equal(runs("crash.sleep", token, NULL), 2);
  expect_dead_letter(queue, "poison", NULL, "crash.sleep");
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* The number of lines of the server's log holding `text`. */
static int log_count(const char *queue, const char *text)
{
  char path[512];
  char line[2048];
  int n = 0;
  FILE *f;

  h_rpcd_log_path(queue, path, sizeof(path));
  f = fopen(path, "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof(line), f))
    n += strstr(line, text) != NULL;
  fclose(f);
  return n;
}

/*
 * A worker dies while the acks of requests it answered still wait for
 * their batch: the broker delivers those again, and they are acked, not
 * run or answered again. The worker is kept busy (below the keeper's
 * 100 ms) while the rest arrive, so that it then answers them back to back
 * and their acks are batched; a round whose batch happened to be flushed
 * before the crash is repeated.
 */
static void test_crash_with_acks_batched(void **state)
{
  static const char *const args[] = {"--plugin",   FIB_PLUGIN,  "--plugin",
                                     CRASH_PLUGIN, "--workers", "1",
                                     "--prefetch", "64",        NULL};
  enum { N_OK = 20 };
  char tokens[N_OK][64];
  char token[64];
  rpcd_call_id ids[N_OK];
  rpcd_call_id hold;
  rpcd_call_id crash;
  rpcd_client *c;
  pid_t server;
  int acked_again = 0;
  int round;
  int i;

  (void)state;
  {
    char queue[128];

    h_unique_queue(queue, sizeof(queue));
    server = h_rpcd_start(queue, args);
    assert_true(server > 0);
    assert_true(h_wait_consumers(queue, 1, 5000));
    c = client_for(queue);
    for (round = 0; round < 4 && acked_again == 0; round++) {
      rpcd_reply *r = NULL;
      int64_t deadline;

      unique_token(token, sizeof(token), "hold");
      hold = send_token(c, "crash.sleep", token, 60);
      for (i = 0; i < N_OK; i++) {
        unique_token(tokens[i], sizeof(tokens[i]), "ok");
        ids[i] = send_token(c, "crash.ok", tokens[i], -1);
      }
      unique_token(token, sizeof(token), "segv");
      crash = send_token(c, "crash.segv", token, -1);
      assert_int_equal(rpcd_client_wait(c, hold, &r), RPCD_OK);
      rpcd_reply_free(r);
      for (i = 0; i < N_OK; i++) {
        r = NULL;
        assert_int_equal(rpcd_client_wait(c, ids[i], &r), RPCD_OK);
        rpcd_reply_free(r);
      }
      expect_error(c, crash, RPCD_ERR_HANDLER_CRASHED, "SIGSEGV", "crash.segv");
      /* The new worker settles the redeliveries as soon as it consumes. */
      assert_true(h_wait_consumers(queue, 1, 5000));
      deadline = h_now_ms() + 2000;
      while ((acked_again = log_count(queue, "answered already")) == 0 &&
             h_now_ms() < deadline)
        sleep_ms(50);
      sleep_ms(200);
      for (i = 0; i < N_OK; i++)
        assert_int_equal(runs("crash.ok", tokens[i], NULL), 1);
    }
  }
  assert_true(acked_again > 0);
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* A worker that dies at every start is restarted with a backoff, never in
 * a spin, while the other worker serves; it comes back once it can. */
static void test_crash_loop_backs_off(void **state)
{
  char queue[128];
  char marker[512];
  char cmd[600];
  rpcd_client *c;
  pid_t server;
  FILE *f;
  int loops;

  (void)state;
  snprintf(marker, sizeof(marker), "%s/init-fails-%ld", LOG_DIR,
           (long)getpid());
  unlink(marker);
  setenv("RPCD_CRASH_INIT_FAIL", marker, 1);
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, NULL);
  c = client_for(queue);
  f = fopen(marker, "w");
  assert_non_null(f);
  fclose(f);
  /* One worker killed while idle: its replacements fail their init. */
  snprintf(cmd, sizeof(cmd), "kill -KILL $(pgrep -P %ld | head -n 1)",
           (long)server);
  assert_int_equal(system(cmd), 0);
  sleep_ms(4500);
  loops = log_count(queue, "crash loop");
  if (loops < 2 || loops > 4)
    fail_msg("%d crash-loop restarts in 4.5 s, expected 2 to 4", loops);
  /* The other worker served all along. */
  expect_fib20(c, send_fib(c, 20));
  unlink(marker);
  assert_true(h_wait_consumers(queue, 2, 10000));
  unsetenv("RPCD_CRASH_INIT_FAIL");
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* Ten SIGHUPs 3 ms apart, faster than a generation comes up, under load:
 * they coalesce into a few reloads, every call is answered, and the server
 * ends with its workers serving. */
static void test_sighup_burst(void **state)
{
  enum { CALLS = 3000, IN_FLIGHT = 32 };
  static rpcd_call_id ids[CALLS];
  char queue[128];
  rpcd_client *c;
  pid_t server;
  size_t sent = 0;
  size_t done = 0;
  int i;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, NULL);
  c = client_for(queue);
  while (done < CALLS) {
    while (sent < CALLS && sent - done < IN_FLIGHT)
      ids[sent++] = send_fib(c, 20);
    expect_fib20(c, ids[done++]);
    if (done == 500)
      for (i = 0; i < 10; i++) {
        kill(server, SIGHUP);
        sleep_ms(3);
      }
  }
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  for (i = 0; i < 100 && log_count(queue, "reload done") < 2; i++)
    sleep_ms(100);
  assert_true(h_wait_consumers(queue, 2, 10000));
  assert_true(log_contains(queue, "another reload follows"));
  /* Ten requests, a few reloads: the ones that came while a reload was
   * under way became one that followed it. */
  i = log_count(queue, "reload done");
  if (i < 2 || i > 6)
    fail_msg("%d reloads for 10 SIGHUPs", i);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

/* Copy a file byte for byte (the plugin directory's files). */
static void copy_file(const char *from, const char *to)
{
  char cmd[1200];

  snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
  assert_int_equal(system(cmd), 0);
}

/* The version rpc.list reports for plugin `name`, into buf. */
static void listed_version(rpcd_client *c, const char *name, char *buf,
                           size_t len)
{
  rpcd_reply *r = NULL;
  const void *data;
  size_t n;
  rpcd_mp_doc doc;
  uint32_t i;

  buf[0] = '\0';
  assert_int_equal(rpcd_client_call(c, "rpc.list", "\x90", 1, 5000, &r, 0),
                   RPCD_OK);
  assert_int_equal(rpcd_reply_result(r, &data, &n), RPCD_OK);
  assert_int_equal(rpcd__mp_decode(data, n, 8, &doc, NULL, 0), RPCD_OK);
  assert_int_equal(doc.root.type, MSGPACK_OBJECT_ARRAY);
  for (i = 0; i < doc.root.via.array.size; i++) {
    const msgpack_object *m = &doc.root.via.array.ptr[i];
    const msgpack_object *p = map_get(m, "plugin");
    const msgpack_object *v = map_get(m, "version");

    if (p && v && rpcd__mp_str_eq(p, name) && v->type == MSGPACK_OBJECT_STR)
      snprintf(buf, len, "%.*s", (int)v->via.str.size, v->via.str.ptr);
  }
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(r);
}

/*
 * SIGHUP five times while calls keep flowing: twice with the same set, once
 * with a plugin that fails to load (refused: the old generation serves on),
 * once after the crash plugin was replaced on disk by a new version (a new
 * inode, as mv does), once more. Every call succeeds, no reply comes twice,
 * and the new version serves afterwards.
 */
static void test_sighup_reload_under_load(void **state)
{
  enum { CALLS = 6000, IN_FLIGHT = 32 };
  static rpcd_call_id ids[CALLS];
  char queue[128];
  char dir[512];
  char path[700];
  char tmp[700];
  char version[64];
  char log_path[512];
  char cmd[1200];
  rpcd_client *c;
  pid_t server;
  size_t sent = 0;
  size_t done = 0;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  snprintf(dir, sizeof(dir), "%s/plugins-%ld", LOG_DIR, (long)getpid());
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/crash.so", dir);
  copy_file(CRASH_PLUGIN, path);
  {
    const char *args[] = {
        "--plugin", FIB_PLUGIN, "--plugin-dir", dir, "--workers", "2", NULL};

    server = h_rpcd_start(queue, args);
    assert_true(server > 0);
  }
  assert_true(h_wait_consumers(queue, 2, 5000));
  c = client_for(queue);
  listed_version(c, "crash", version, sizeof(version));
  assert_string_equal(version, "1.0.0");

  while (done < CALLS) {
    while (sent < CALLS && sent - done < IN_FLIGHT)
      ids[sent++] = send_fib(c, 20);
    expect_fib20(c, ids[done++]);
    switch (done) {
    case 1000:
    case 2000:
      kill(server, SIGHUP);
      break;
    case 3000:
      snprintf(tmp, sizeof(tmp), "%s/zz-bad.so", dir);
      copy_file(BAD_PLUGIN, tmp);
      kill(server, SIGHUP);
      break;
    case 3500:
      unlink(tmp);
      break;
    case 4000:
      /* A new version, renamed into place: a new inode. */
      snprintf(tmp, sizeof(tmp), "%s/.crash.so.new", dir);
      copy_file(CRASH_V2_PLUGIN, tmp);
      assert_int_equal(rename(tmp, path), 0);
      kill(server, SIGHUP);
      break;
    case 5000:
      kill(server, SIGHUP);
      break;
    default:
      break;
    }
  }
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  /* The last reload has settled once only its generation consumes. */
  assert_true(h_wait_consumers(queue, 2, 5000));
  listed_version(c, "crash", version, sizeof(version));
  assert_string_equal(version, "2.0.0");
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);

  h_rpcd_log_path(queue, log_path, sizeof(log_path));
  snprintf(cmd, sizeof(cmd), "test $(grep -c 'reload refused' '%s') = 1",
           log_path);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof(cmd), "test $(grep -c 'reload done' '%s') = 4",
           log_path);
  assert_int_equal(system(cmd), 0);
}

/*
 * --max-in-flight crash.*=1 across two workers: while one crash.sleep
 * runs, a crash.ok is answered -32002 overloaded and does not run, fib is
 * not limited; the place is free again once the sleep returns, and also
 * after a worker died holding it.
 */
static void test_max_in_flight(void **state)
{
  static const char *const more[] = {"--max-in-flight", "crash.*=1",
                                     "--prefetch", "1", NULL};
  char queue[128];
  char token[64];
  char busy[64];
  rpcd_call_id slow;
  rpcd_call_id id;
  rpcd_reply *r = NULL;
  rpcd_client *c;
  pid_t server;

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = start_server(queue, more);
  c = client_for(queue);

  unique_token(token, sizeof(token), "slow");
  slow = send_token(c, "crash.sleep", token, 600);
  sleep_ms(200); /* running in one worker; the other is free */
  unique_token(busy, sizeof(busy), "busy");
  id = send_token(c, "crash.ok", busy, -1);
  assert_int_equal(rpcd_client_wait(c, id, &r), RPCD_EREMOTE);
  assert_int_equal(rpcd_reply_error_code(r), RPCD_ERR_OVERLOADED);
  assert_non_null(strstr(rpcd_reply_error_message(r), "crash.*=1"));
  rpcd_reply_free(r);
  r = NULL;
  expect_fib20(c, send_fib(c, 20));
  assert_int_equal(rpcd_client_wait(c, slow, &r), RPCD_OK);
  rpcd_reply_free(r);
  r = NULL;
  assert_int_equal(runs("crash.ok", busy, NULL), 0);

  /* Free again after the sleep... */
  unique_token(token, sizeof(token), "after");
  assert_int_equal(
      rpcd_client_wait(c, send_token(c, "crash.ok", token, -1), &r), RPCD_OK);
  rpcd_reply_free(r);
  r = NULL;
  assert_int_equal(runs("crash.ok", token, NULL), 1);
  /* ...and after a worker died in a call that held the place. */
  unique_token(token, sizeof(token), "segv");
  expect_error(c, send_token(c, "crash.segv", token, -1),
               RPCD_ERR_HANDLER_CRASHED, "SIGSEGV", "crash.segv");
  unique_token(token, sizeof(token), "after-crash");
  assert_int_equal(
      rpcd_client_wait(c, send_token(c, "crash.ok", token, -1), &r), RPCD_OK);
  rpcd_reply_free(r);
  assert_int_equal(runs("crash.ok", token, NULL), 1);
  rpcd_client_free(c);
  assert_int_equal(h_rpcd_stop(server), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crashes_answered_once),
      cmocka_unit_test(test_crash_with_acks_batched),
      cmocka_unit_test(test_worker_killed_from_outside),
      cmocka_unit_test(test_handler_timeout),
      cmocka_unit_test(test_sigterm_under_load_loses_nothing),
      cmocka_unit_test(test_drain_timeout_hands_back),
      cmocka_unit_test(test_kill9_server_under_load_answers_all),
      cmocka_unit_test(test_sighup_reload_under_load),
      cmocka_unit_test(test_poison_on_quorum_queue),
      cmocka_unit_test(test_crash_loop_backs_off),
      cmocka_unit_test(test_sighup_burst),
      cmocka_unit_test(test_long_handler_keeps_connection),
      cmocka_unit_test(test_max_in_flight),
  };

  /* Under a sanitizer a segfault would become its report and an exit
   * status: let the workers die of the signal, as in production. */
  setenv("ASAN_OPTIONS", "handle_segv=0:handle_abort=0", 0);
  setenv("TSAN_OPTIONS", "handle_segv=0:handle_abort=0", 0);
  snprintf(crash_log, sizeof(crash_log), "%s/crash-runs-%ld.log", LOG_DIR,
           (long)getpid());
  unlink(crash_log);
  setenv("RPCD_CRASH_LOG", crash_log, 1);
  /* RPCD_TEST_FILTER=test_crash* runs only the cases it names. */
  if (getenv("RPCD_TEST_FILTER"))
    cmocka_set_test_filter(getenv("RPCD_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
