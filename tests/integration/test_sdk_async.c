/* SPDX-License-Identifier: MIT */
/*
 * The SDK's event-loop API against a real RabbitMQ node and a fake server
 * of its own (a child process on rabbitmq-c) that collects requests and
 * answers a whole batch at once in shuffled order: 1,000 calls in flight
 * with replies out of order; calls timing out while others succeed, and
 * their late replies dropped; the broker dropping every connection while
 * calls are in flight fails each of them promptly with RPCD_ECONNLOST.
 * Run serially: the last test closes every connection on the broker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rpcd/client.h>

#include "harness.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

enum { MAX_BATCH = 1000 };

static char queue[128];
static pid_t fake_pid;

/* ------------------------------------------------------------------------ */
/* The fake server                                                           */

struct held_request {
  char reply_to[256];
  char cid[64];
  uint32_t msgid;
  int64_t k;
  bool answer;
};

static void fake_answer(amqp_connection_state_t conn,
                        const struct held_request *r)
{
  amqp_basic_properties_t props;
  msgpack_sbuffer result;
  msgpack_sbuffer body;
  msgpack_packer pk;
  amqp_bytes_t content;

  msgpack_sbuffer_init(&result);
  msgpack_packer_init(&pk, &result, msgpack_sbuffer_write);
  msgpack_pack_int64(&pk, r->k);
  msgpack_sbuffer_init(&body);
  rpcd__reply_encode_result(&body, true, r->msgid, result.data, result.size);
  memset(&props, 0, sizeof(props));
  props._flags = AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.correlation_id = amqp_cstring_bytes(r->cid);
  props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
  content.bytes = body.data;
  content.len = body.size;
  amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(r->reply_to),
                     0, 0, &props, content);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&result);
}

/* Answer the batch in a shuffled order. */
static void fake_flush(amqp_connection_state_t conn, struct held_request *b,
                       size_t n, unsigned *seed)
{
  size_t i;

  for (i = n; i > 1; i--) {
    size_t j = (size_t)rand_r(seed) % i;
    struct held_request t = b[i - 1];

    b[i - 1] = b[j];
    b[j] = t;
  }
  for (i = 0; i < n; i++) {
    if (b[i].answer)
      fake_answer(conn, &b[i]);
  }
}

/*
 * Consume the queue; collect requests until MAX_BATCH are held or none came
 * for 200 ms, then answer them all, shuffled. Method "echo" answers its
 * params' first integer; "late" the same, but its callers time out first;
 * "drop" is never answered.
 */
static void fake_serve(void)
{
  static struct held_request batch[MAX_BATCH];
  amqp_connection_state_t conn;
  unsigned seed = 12345;
  size_t n = 0;
  char err[256];

  if (rpcd__amqp_connect(h_broker_uri(), NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "fake server: %s\n", err);
    _exit(1);
  }
  amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 0, 0, 1,
                     amqp_empty_table);
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 1,
                     0, amqp_empty_table);
  if (rpcd__amqp_last_status(conn, 1, "consume", err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "fake server: %s\n", err);
    _exit(1);
  }
  for (;;) {
    struct timeval tv = {0, 200 * 1000};
    amqp_envelope_t env;
    amqp_rpc_reply_t r;
    rpcd_request req;

    amqp_maybe_release_buffers(conn);
    r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT) {
      fake_flush(conn, batch, n, &seed);
      n = 0;
      continue;
    }
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
      _exit(2);
    if (rpcd__request_decode(env.message.body.bytes, env.message.body.len,
                             RPCD_DEFAULT_MAX_BODY, &req, err,
                             sizeof(err)) == 0 &&
        req.type == RPCD_MSG_REQUEST) {
      struct held_request *h = &batch[n++];
      const amqp_basic_properties_t *p = &env.message.properties;

      memset(h, 0, sizeof(*h));
      snprintf(h->reply_to, sizeof(h->reply_to), "%.*s", (int)p->reply_to.len,
               (const char *)p->reply_to.bytes);
      snprintf(h->cid, sizeof(h->cid), "%.*s", (int)p->correlation_id.len,
               (const char *)p->correlation_id.bytes);
      h->msgid = req.msgid;
      if (req.params->type == MSGPACK_OBJECT_ARRAY &&
          req.params->via.array.size > 0)
        h->k = req.params->via.array.ptr[0].via.i64;
      h->answer = !(req.method_len == 4 && memcmp(req.method, "drop", 4) == 0);
    }
    rpcd__request_destroy(&req);
    amqp_destroy_envelope(&env);
    if (n == MAX_BATCH) {
      fake_flush(conn, batch, n, &seed);
      n = 0;
    }
  }
}

static int fake_start(void)
{
  fake_pid = h_fake_start(queue, fake_serve);
  return fake_pid > 0 ? 0 : -1;
}

static void fake_stop(void)
{
  h_fake_stop(&fake_pid);
}

/* ------------------------------------------------------------------------ */
/* The client side                                                           */

struct outcome {
  bool done;
  int status;
  int64_t result;
  size_t order; /* completion order */
  int64_t done_ms;
};

struct run {
  struct outcome *out;
  size_t completed;
};

static void on_done(rpcd_client *c, rpcd_call_id id, int status,
                    rpcd_reply *reply, void *user)
{
  struct outcome *o = user;

  (void)c;
  (void)id;
  assert_false(o->done);
  o->done = true;
  o->status = status;
  o->done_ms = h_now_ms();
  if (status == RPCD_OK) {
    const void *data;
    size_t len;
    rpcd_mp_doc doc;

    assert_int_equal(rpcd_reply_result(reply, &data, &len), RPCD_OK);
    assert_int_equal(rpcd__mp_decode(data, len, 8, &doc, NULL, 0), RPCD_OK);
    o->result = doc.root.via.i64;
    rpcd__mp_doc_destroy(&doc);
  } else {
    assert_null(reply);
  }
  rpcd_reply_free(reply);
}

static struct run *current;

static void on_done_counted(rpcd_client *c, rpcd_call_id id, int status,
                            rpcd_reply *reply, void *user)
{
  on_done(c, id, status, reply, user);
  ((struct outcome *)user)->order = current->completed++;
}

/* Drive the client from poll(2) until `n` calls completed or ms passed. */
static void run_loop(rpcd_client *c, struct run *run, size_t n, int64_t ms)
{
  int64_t until = h_now_ms() + ms;

  while (run->completed < n && h_now_ms() < until) {
    struct pollfd p;
    int t = rpcd_client_timeout_ms(c);

    if (t < 0 || t > 50)
      t = 50;
    p.fd = rpcd_client_fd(c);
    p.events = POLLIN;
    p.revents = 0;
    if (t > 0)
      poll(&p, p.fd >= 0 ? 1 : 0, t);
    rpcd_client_process(c);
  }
}

static void submit_int(rpcd_client *c, const char *method, int64_t k,
                       unsigned timeout_ms, struct outcome *o)
{
  msgpack_sbuffer params;
  msgpack_packer pk;
  rpcd_call_id id = 0;
  int rc;

  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int64(&pk, k);
  rc = rpcd_client_submit(c, method, params.data, params.size, timeout_ms,
                          on_done_counted, o, &id);
  msgpack_sbuffer_destroy(&params);
  if (rc != RPCD_OK)
    fail_msg("submit: %s", rpcd_client_last_error(c));
  assert_true(id != 0);
}

static rpcd_client *new_client(void)
{
  rpcd_client *c;

  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, queue), RPCD_OK);
  if (rpcd_client_connect(c, h_broker_uri()) != RPCD_OK)
    fail_msg("connect: %s", rpcd_client_last_error(c));
  return c;
}

static int setup(void **state)
{
  (void)state;
  h_unique_queue(queue, sizeof(queue));
  return fake_start();
}

static int teardown(void **state)
{
  (void)state;
  fake_stop();
  return 0;
}

/* 1,000 calls in flight on one client, answered in a shuffled order. */
static void test_thousand_out_of_order(void **state)
{
  enum { N = 1000 };
  struct outcome *out = calloc(N, sizeof(*out));
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  size_t inversions = 0;
  size_t i;

  (void)state;
  current = &run;
  /* Nothing waits on the broker: every submit returns at once. */
  for (i = 0; i < N; i++)
    submit_int(c, "echo", (int64_t)i, 20000, &out[i]);
  assert_int_equal(rpcd_client_pending(c), N);
  assert_true(rpcd_client_fd(c) >= 0);
  run_loop(c, &run, N, 20000);
  assert_int_equal(run.completed, N);
  for (i = 0; i < N; i++) {
    assert_true(out[i].done);
    assert_int_equal(out[i].status, RPCD_OK);
    assert_int_equal(out[i].result, (int64_t)i);
    if (i > 0 && out[i].order < out[i - 1].order)
      inversions++;
  }
  /* The replies came out of order, and each found its own call. */
  assert_true(inversions > N / 10);
  assert_int_equal(rpcd_client_pending(c), 0);
  assert_int_equal(rpcd_client_dropped_replies(c), 0);
  assert_int_equal(rpcd_client_timeout_ms(c), -1);
  rpcd_client_free(c);
  free(out);
}

/* Short calls time out while long ones succeed; the late replies to the
 * short ones are dropped, not given to anyone. */
static void test_timeouts_and_stale_replies(void **state)
{
  enum { N = 100 };
  struct outcome out[N];
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  int64_t start;
  size_t i;

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  start = h_now_ms();
  for (i = 0; i < N; i++) {
    if (i % 2)
      submit_int(c, "late", (int64_t)i, 60, &out[i]);
    else
      submit_int(c, "echo", (int64_t)i, 20000, &out[i]);
  }
  /* The next deadline is a short call's. */
  assert_true(rpcd_client_timeout_ms(c) <= 60);
  run_loop(c, &run, N, 20000);
  assert_int_equal(run.completed, N);
  for (i = 0; i < N; i++) {
    if (i % 2) {
      assert_int_equal(out[i].status, RPCD_ETIMEDOUT);
      /* Expired at their deadline, not at the end of the run. */
      assert_true(out[i].done_ms - start < 5000);
    } else {
      assert_int_equal(out[i].status, RPCD_OK);
      assert_int_equal(out[i].result, (int64_t)i);
    }
  }
  /* The late replies arrive with the batch: wait for all of them. */
  for (i = 0; i < 100 && rpcd_client_dropped_replies(c) < N / 2; i++) {
    struct pollfd p = {rpcd_client_fd(c), POLLIN, 0};

    poll(&p, 1, 50);
    assert_int_equal(rpcd_client_process(c), RPCD_OK);
  }
  assert_int_equal(rpcd_client_dropped_replies(c), N / 2);
  assert_int_equal(rpcd_client_pending(c), 0);
  rpcd_client_free(c);
}

/* A blocking call and submitted calls share the client. */
static void test_blocking_call_among_submitted(void **state)
{
  struct outcome out[10];
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  rpcd_reply *reply = NULL;
  size_t i;

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  for (i = 0; i < 10; i++)
    submit_int(c, "echo", (int64_t)i, 20000, &out[i]);
  /* The callbacks of the submitted calls run inside the blocking call. */
  assert_int_equal(rpcd_client_call(c, "echo", "\x91\x07", 2, 20000, &reply, 0),
                   RPCD_OK);
  rpcd_reply_free(reply);
  run_loop(c, &run, 10, 5000);
  assert_int_equal(run.completed, 10);
  for (i = 0; i < 10; i++)
    assert_int_equal(out[i].status, RPCD_OK);
  rpcd_client_free(c);
}

/* The broker drops every connection while calls are in flight: each fails
 * at once with RPCD_ECONNLOST, and the client connects again. */
static void test_connection_dropped_mid_flight(void **state)
{
  enum { N = 200 };
  struct outcome out[N];
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  char cmd[2048];
  int64_t dropped_at;
  size_t i;

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  for (i = 0; i < N; i++)
    submit_int(c, "drop", (int64_t)i, 30000, &out[i]);
  /* Let them be published and reach the fake server. */
  run_loop(c, &run, N, 500);
  assert_int_equal(run.completed, 0);
  snprintf(cmd, sizeof(cmd),
           "'%s' ctl '%s' close_all_connections 'rpcd sdk async test' "
           ">/dev/null 2>&1",
           BROKER_SH, BROKER_DIR);
  assert_int_equal(system(cmd), 0);
  dropped_at = h_now_ms();
  run_loop(c, &run, N, 10000);
  assert_int_equal(run.completed, N);
  for (i = 0; i < N; i++) {
    assert_int_equal(out[i].status, RPCD_ECONNLOST);
    /* Promptly: not at the calls' 30 s timeout. */
    assert_true(out[i].done_ms - dropped_at < 5000);
  }
  assert_false(rpcd_client_is_connected(c));
  assert_int_equal(rpcd_client_fd(c), -1);
  assert_int_equal(rpcd_client_process(c), RPCD_ECONNLOST);
  assert_int_equal(rpcd_client_pending(c), 0);

  /* The fake server lost its connection too: start another. */
  fake_stop();
  h_unique_queue(queue, sizeof(queue));
  assert_int_equal(fake_start(), 0);
  /* The next blocking call connects the lost client again by itself. */
  assert_int_equal(rpcd_client_set_queue(c, queue), RPCD_OK);
  {
    rpcd_reply *r = NULL;

    assert_int_equal(rpcd_client_call(c, "echo", "\x91\x05", 2, 20000, &r, 0),
                     RPCD_OK);
    assert_true(rpcd_client_is_connected(c));
    rpcd_reply_free(r);
  }
  /* ...but not after a close. */
  rpcd_client_close(c);
  {
    rpcd_reply *r = NULL;

    assert_int_equal(rpcd_client_call(c, "echo", "\x91\x05", 2, 20000, &r, 0),
                     RPCD_ESTATE);
    assert_null(r);
  }
  rpcd_client_free(c);
  c = new_client();
  memset(out, 0, sizeof(out));
  run.completed = 0;
  submit_int(c, "echo", 5, 20000, &out[0]);
  run_loop(c, &run, 1, 20000);
  assert_int_equal(out[0].status, RPCD_OK);
  assert_int_equal(out[0].result, 5);
  rpcd_client_free(c);
}

static char blocked_detail[512];

static void on_blocked_done(rpcd_client *c, rpcd_call_id id, int status,
                            rpcd_reply *reply, void *user)
{
  if (status == RPCD_ETIMEDOUT)
    snprintf(blocked_detail, sizeof(blocked_detail), "%s",
             rpcd_client_last_error(c));
  on_done_counted(c, id, status, reply, user);
}

static int broker_ctl(const char *args)
{
  char cmd[2048];

  snprintf(cmd, sizeof(cmd), "'%s' ctl '%s' %s >/dev/null 2>&1", BROKER_SH,
           BROKER_DIR, args);
  return system(cmd);
}

/* Whatever happened in the test, clear the alarm for the tests after it. */
static int restore_watermark(void **state)
{
  (void)state;
  return broker_ctl("set_vm_memory_high_watermark 0.4") == 0 ? 0 : -1;
}

/* While a memory alarm makes the broker block publishers, a call waits
 * (held, not published) within its own timeout and never past it; once
 * the broker unblocks, held calls are published and answered. */
static void test_blocked_publishers(void **state)
{
  struct outcome out[2];
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  msgpack_sbuffer params;
  msgpack_packer pk;
  int64_t start;

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  /* The queue is known to be served before the alarm. */
  submit_int(c, "echo", 1, 20000, &out[0]);
  run_loop(c, &run, 1, 10000);
  assert_int_equal(out[0].status, RPCD_OK);

  assert_int_equal(broker_ctl("set_vm_memory_high_watermark 0.00001"), 0);
  /* The broker blocks a connection (and says so) once it publishes during
   * the alarm: publish calls nobody answers until it does. */
  for (start = h_now_ms();
       !rpcd_client_is_blocked(c) && h_now_ms() - start < 20000;) {
    run.completed = 0;
    memset(out, 0, sizeof(out));
    submit_int(c, "drop", 0, 200, &out[0]);
    run_loop(c, &run, 1, 1000);
  }
  assert_true(rpcd_client_is_blocked(c));
  run.completed = 0;
  memset(out, 0, sizeof(out));
  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int64(&pk, 2);
  start = h_now_ms();
  blocked_detail[0] = '\0';
  assert_int_equal(rpcd_client_submit(c, "echo", params.data, params.size, 300,
                                      on_blocked_done, &out[0], NULL),
                   RPCD_OK);
  assert_int_equal(rpcd_client_submit(c, "echo", params.data, params.size,
                                      30000, on_done_counted, &out[1], NULL),
                   RPCD_OK);
  msgpack_sbuffer_destroy(&params);
  run_loop(c, &run, 1, 5000);
  assert_int_equal(broker_ctl("set_vm_memory_high_watermark 0.4"), 0);
  assert_int_equal(out[0].status, RPCD_ETIMEDOUT);
  assert_true(out[0].done_ms - start < 2000);
  if (!strstr(blocked_detail, "blocks publishers"))
    fail_msg("not held as blocked: %s", blocked_detail);
  /* Unblocked: the other call is published and answered. */
  for (start = h_now_ms();
       rpcd_client_is_blocked(c) && h_now_ms() - start < 20000;)
    run_loop(c, &run, 2, 100);
  assert_false(rpcd_client_is_blocked(c));
  run_loop(c, &run, 2, 20000);
  assert_int_equal(out[1].status, RPCD_OK);
  assert_int_equal(out[1].result, 2);
  rpcd_client_free(c);
}

/* ------------------------------------------------------------------------ */
/* A TCP proxy to the broker that goes silent on SIGUSR1: a half-open
 * connection (the sockets stay open, nothing gets through any more). */

static volatile sig_atomic_t proxy_frozen;

static void on_usr1(int sig)
{
  (void)sig;
  proxy_frozen = 1;
}

static void proxy_serve(int lfd, int broker_port)
{
  struct sockaddr_in a;
  struct pollfd p[2];
  char buf[65536];
  int cfd;
  int bfd;

  signal(SIGUSR1, on_usr1);
  cfd = accept(lfd, NULL, NULL);
  bfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)broker_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (cfd < 0 || bfd < 0 || connect(bfd, (struct sockaddr *)&a, sizeof(a)))
    _exit(1);
  for (;;) {
    int i;

    if (proxy_frozen) {
      pause();
      continue;
    }
    p[0].fd = cfd;
    p[1].fd = bfd;
    p[0].events = p[1].events = POLLIN;
    if (poll(p, 2, 100) <= 0)
      continue;
    for (i = 0; i < 2 && !proxy_frozen; i++) {
      if (p[i].revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(p[i].fd, buf, sizeof(buf));

        if (n <= 0)
          _exit(0);
        if (write(p[1 - i].fd, buf, (size_t)n) != n)
          _exit(0);
      }
    }
  }
}

/* Start the proxy; its URI into uri. */
static pid_t proxy_start(char *uri, size_t len)
{
  const char *broker = h_broker_uri();
  const char *colon = strrchr(broker, ':');
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  pid_t pid;

  assert_non_null(colon);
  assert_true(lfd >= 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(lfd, 1), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
  snprintf(uri, len, "%.*s:%d", (int)(colon - broker), broker,
           (int)ntohs(a.sin_port));
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    proxy_serve(lfd, atoi(colon + 1));
  close(lfd);
  return pid;
}

/* With heartbeats, a connection that goes silent (half-open) is found
 * within two intervals and every call in flight fails with
 * RPCD_ECONNLOST, long before its own timeout. */
static void test_heartbeat_finds_half_open(void **state)
{
  enum { N = 20 };
  struct outcome out[N];
  struct run run = {out, 0};
  char uri[512];
  rpcd_client *c;
  pid_t proxy;
  int64_t frozen_at;
  size_t i;

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  proxy = proxy_start(uri, sizeof(uri));
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, queue), RPCD_OK);
  assert_int_equal(rpcd_client_set_heartbeat(c, 1), RPCD_OK);
  if (rpcd_client_connect(c, uri) != RPCD_OK)
    fail_msg("connect: %s", rpcd_client_last_error(c));
  /* Heartbeats keep an idle connection: nothing is lost in 2.5 s. */
  run_loop(c, &run, 1, 2500);
  assert_true(rpcd_client_is_connected(c));
  for (i = 0; i < N; i++)
    submit_int(c, "drop", (int64_t)i, 30000, &out[i]);
  run_loop(c, &run, N, 300);
  assert_int_equal(run.completed, 0);
  kill(proxy, SIGUSR1);
  frozen_at = h_now_ms();
  run_loop(c, &run, N, 10000);
  assert_int_equal(run.completed, N);
  for (i = 0; i < N; i++) {
    assert_int_equal(out[i].status, RPCD_ECONNLOST);
    /* Two 1 s intervals, and a little slack. */
    assert_true(out[i].done_ms - frozen_at < 3500);
  }
  assert_non_null(strstr(rpcd_client_last_error(c), "heartbeat"));
  rpcd_client_free(c);
  kill(proxy, SIGKILL);
  waitpid(proxy, NULL, 0);
}

/* A call to a queue nobody declared fails through its callback with
 * RPCD_ENOROUTE, without waiting for its timeout. */
static void test_no_route_through_callback(void **state)
{
  struct outcome out[1];
  struct run run = {out, 0};
  rpcd_client *c = new_client();
  char missing[128];

  (void)state;
  memset(out, 0, sizeof(out));
  current = &run;
  h_unique_queue(missing, sizeof(missing));
  assert_int_equal(rpcd_client_set_queue(c, missing), RPCD_OK);
  submit_int(c, "echo", 1, 20000, &out[0]);
  run_loop(c, &run, 1, 5000);
  assert_int_equal(run.completed, 1);
  assert_int_equal(out[0].status, RPCD_ENOROUTE);
  /* The probe channel was closed by the 404 and opens again. */
  assert_int_equal(rpcd_client_set_queue(c, queue), RPCD_OK);
  memset(out, 0, sizeof(out));
  run.completed = 0;
  submit_int(c, "echo", 2, 20000, &out[0]);
  run_loop(c, &run, 1, 5000);
  assert_int_equal(out[0].status, RPCD_OK);
  rpcd_client_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_thousand_out_of_order),
      cmocka_unit_test(test_timeouts_and_stale_replies),
      cmocka_unit_test(test_blocking_call_among_submitted),
      cmocka_unit_test(test_no_route_through_callback),
      cmocka_unit_test(test_heartbeat_finds_half_open),
      cmocka_unit_test_teardown(test_blocked_publishers, restore_watermark),
      cmocka_unit_test(test_connection_dropped_mid_flight),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
