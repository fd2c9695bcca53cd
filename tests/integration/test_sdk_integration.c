/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests against a real RabbitMQ node: an rpcd child process
 * serving fib.so and itest.so, called through the client SDK and through raw
 * AMQP publishes of malformed requests; a fake server answering what rpcd
 * never would (a success without a msgid, huge replies, NaN, int map keys),
 * called through the SDK and rpcctl; and connecting to a listener that never
 * answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rpcd/client.h>

#include "harness.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

static char queue[128];
static pid_t server;
static rpcd_client *client;

static int fake_start(void);
static void fake_stop(void);

static int setup(void **state)
{
  static const char *const args[] = {
      "--plugin", FIB_PLUGIN,   "--plugin", ITEST_PLUGIN, "--text-method",
      "fib",      "--prefetch", "4",        NULL,
  };

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = h_rpcd_start(queue, args);
  if (server <= 0 || fake_start() != 0)
    return -1;
  if (rpcd_client_new(&client) != RPCD_OK ||
      rpcd_client_set_queue(client, queue) != RPCD_OK)
    return -1;
  if (rpcd_client_connect(client, h_broker_uri()) != RPCD_OK) {
    fprintf(stderr, "connect: %s\n", rpcd_client_last_error(client));
    return -1;
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  rpcd_client_free(client);
  fake_stop();
  /* A clean SIGTERM stop is part of the contract: exit status 0. */
  return h_rpcd_stop(server) == 0 ? 0 : -1;
}

/* Pack [n] (n >= 0) or [-n] into buf. */
static void pack_int_params(msgpack_sbuffer *buf, int64_t n)
{
  msgpack_packer pk;

  msgpack_sbuffer_init(buf);
  msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int64(&pk, n);
}

/* Call method(n) on c and return the status; *result gets a uint64
 * result, *error_code the reply's error code. */
static int call_int_on(rpcd_client *c, const char *method, int64_t n,
                       unsigned timeout_ms, uint64_t *result, int *error_code)
{
  msgpack_sbuffer params;
  rpcd_reply *reply = NULL;
  const void *data;
  size_t len;
  int rc;

  pack_int_params(&params, n);
  rc = rpcd_client_call(c, method, params.data, params.size, timeout_ms, &reply,
                        0);
  msgpack_sbuffer_destroy(&params);
  if (error_code)
    *error_code = reply ? rpcd_reply_error_code(reply) : 0;
  if (rc == RPCD_OK && result) {
    rpcd_mp_doc doc;

    assert_int_equal(rpcd_reply_result(reply, &data, &len), RPCD_OK);
    assert_int_equal(rpcd__mp_decode(data, len, 64, &doc, NULL, 0), RPCD_OK);
    assert_int_equal(doc.root.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    *result = doc.root.via.u64;
    rpcd__mp_doc_destroy(&doc);
  }
  rpcd_reply_free(reply);
  return rc;
}

static int call_int(const char *method, int64_t n, unsigned timeout_ms,
                    uint64_t *result, int *error_code)
{
  return call_int_on(client, method, n, timeout_ms, result, error_code);
}

static void test_fib_through_sdk(void **state)
{
  uint64_t v = 0;

  (void)state;
  assert_int_equal(call_int("fib", 30, 5000, &v, NULL), RPCD_OK);
  assert_int_equal(v, 832040);
  assert_int_equal(call_int("fib", 0, 5000, &v, NULL), RPCD_OK);
  assert_int_equal(v, 0);
  assert_int_equal(call_int("fib", 93, 5000, &v, NULL), RPCD_OK);
  assert_true(v == 12200160415121876738ull);
}

static void test_unknown_method(void **state)
{
  int code = 0;

  (void)state;
  assert_int_equal(call_int("no.such.method", 1, 5000, NULL, &code),
                   RPCD_EREMOTE);
  assert_int_equal(code, RPCD_ERR_METHOD_NOT_FOUND);
}

static void test_bad_params(void **state)
{
  rpcd_reply *reply = NULL;
  int code = 0;

  (void)state;
  assert_int_equal(call_int("fib", -1, 5000, NULL, &code), RPCD_EREMOTE);
  assert_int_equal(code, RPCD_ERR_INVALID_PARAMS);
  assert_int_equal(call_int("fib", 94, 5000, NULL, &code), RPCD_EREMOTE);
  assert_int_equal(code, RPCD_ERR_INVALID_PARAMS);

  /* The message names the param and the rule. */
  {
    msgpack_sbuffer params;

    pack_int_params(&params, 100);
    assert_int_equal(rpcd_client_call(client, "fib", params.data, params.size,
                                      5000, &reply, 0),
                     RPCD_EREMOTE);
    msgpack_sbuffer_destroy(&params);
    assert_non_null(strstr(rpcd_reply_error_message(reply), "param n"));
    assert_non_null(strstr(rpcd_reply_error_message(reply), "93"));
    rpcd_reply_free(reply);
  }
}

static void test_handler_error_is_structured(void **state)
{
  rpcd_reply *reply = NULL;
  msgpack_sbuffer params;

  (void)state;
  pack_int_params(&params, 7);
  assert_int_equal(rpcd_client_call(client, "itest.fail", params.data,
                                    params.size, 5000, &reply, 0),
                   RPCD_EREMOTE);
  msgpack_sbuffer_destroy(&params);
  assert_int_equal(rpcd_reply_error_code(reply), 7);
  assert_string_equal(rpcd_reply_error_message(reply), "requested failure 7");
  rpcd_reply_free(reply);
}

static void test_builtins(void **state)
{
  rpcd_reply *reply = NULL;
  const void *data;
  size_t len;
  rpcd_mp_doc doc;
  uint32_t i;
  bool saw_fib = false;

  (void)state;
  assert_int_equal(
      rpcd_client_call(client, "rpc.ping", NULL, 0, 5000, &reply, 0), RPCD_OK);
  rpcd_reply_result(reply, &data, &len);
  assert_int_equal(rpcd__mp_decode(data, len, 64, &doc, NULL, 0), RPCD_OK);
  assert_true(rpcd__mp_str_eq(&doc.root, "pong"));
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(reply);

  assert_int_equal(
      rpcd_client_call(client, "rpc.list", NULL, 0, 5000, &reply, 0), RPCD_OK);
  rpcd_reply_result(reply, &data, &len);
  assert_int_equal(rpcd__mp_decode(data, len, 64, &doc, NULL, 0), RPCD_OK);
  assert_int_equal(doc.root.type, MSGPACK_OBJECT_ARRAY);
  for (i = 0; i < doc.root.via.array.size; i++) {
    const msgpack_object *m = &doc.root.via.array.ptr[i];

    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    if (rpcd__mp_str_eq(&m->via.map.ptr[1].val, "fib"))
      saw_fib = true;
  }
  assert_true(saw_fib);
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(reply);
}

/* A raw request answered with error `code`, msgid as given. */
static void assert_raw_error(const h_raw_request *req, int code)
{
  rpcd_reply_view view;
  h_raw_reply reply;

  h_raw_call(queue, req, 5000, &reply);
  assert_true(reply.got);
  assert_string_equal(reply.correlation_id, "raw-call-1");
  assert_true(reply.has_status);
  assert_int_equal(reply.status, code);
  assert_int_equal(
      rpcd__reply_decode(reply.body, reply.body_len, &view, NULL, 0), RPCD_OK);
  assert_int_equal(view.error_code, code);
  assert_true(view.message_len > 0);
  rpcd__reply_view_destroy(&view);
}

static void assert_still_serving(void)
{
  uint64_t v = 0;

  assert_int_equal(call_int("fib", 10, 5000, &v, NULL), RPCD_OK);
  assert_int_equal(v, 55);
}

static void test_malformed_bodies_get_error_replies(void **state)
{
  static const unsigned char bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  static const unsigned char not_request[] = {0x81, 0xa1, 'a', 0x01};
  static const unsigned char wrong_arity[] = {0x93, 0x00, 0x01, 0xa3,
                                              'f',  'i',  'b'};
  h_raw_request req;

  (void)state;
  memset(&req, 0, sizeof(req));
  req.content_type = RPCD_CONTENT_TYPE;
  req.with_reply_to = true;

  req.body = "this is not msgpack \xc1";
  req.body_len = strlen(req.body);
  assert_raw_error(&req, RPCD_ERR_PARSE);
  assert_still_serving();

  req.body = bomb;
  req.body_len = sizeof(bomb);
  assert_raw_error(&req, RPCD_ERR_PARSE);
  assert_still_serving();

  req.body = not_request;
  req.body_len = sizeof(not_request);
  assert_raw_error(&req, RPCD_ERR_INVALID_REQUEST);
  req.body = wrong_arity;
  req.body_len = sizeof(wrong_arity);
  assert_raw_error(&req, RPCD_ERR_INVALID_REQUEST);
  assert_still_serving();
}

static void test_envelope_checks(void **state)
{
  msgpack_sbuffer body;
  h_raw_request req;

  (void)state;
  msgpack_sbuffer_init(&body);
  assert_int_equal(
      rpcd__request_encode(&body, false, 9, "fib", 3, "\x91\x05", 2), RPCD_OK);
  memset(&req, 0, sizeof(req));
  req.body = body.data;
  req.body_len = body.size;
  req.with_reply_to = true;

  req.content_type = "application/json";
  assert_raw_error(&req, RPCD_ERR_UNSUPPORTED);

  req.content_type = "application/x-msgpack";
  req.with_version = true;
  req.version = 2;
  assert_raw_error(&req, RPCD_ERR_UNSUPPORTED);

  req.with_version = false;
  req.header_method = "not-fib";
  assert_raw_error(&req, RPCD_ERR_INVALID_REQUEST);

  /* All accepted: the reply keeps the request's content type. */
  req.header_method = "fib";
  {
    h_raw_reply reply;
    rpcd_reply_view view;

    h_raw_call(queue, &req, 5000, &reply);
    assert_true(reply.got);
    assert_string_equal(reply.content_type, "application/x-msgpack");
    assert_int_equal(reply.status, 0);
    assert_int_equal(
        rpcd__reply_decode(reply.body, reply.body_len, &view, NULL, 0),
        RPCD_OK);
    assert_int_equal(view.msgid, 9);
    assert_int_equal(view.result->via.u64, 5);
    rpcd__reply_view_destroy(&view);
  }
  msgpack_sbuffer_destroy(&body);
}

static void test_oversized_body(void **state)
{
  h_raw_request req;
  char *big;

  (void)state;
  big = calloc(1, (1u << 20) + 1);
  assert_non_null(big);
  memset(&req, 0, sizeof(req));
  req.content_type = RPCD_CONTENT_TYPE;
  req.with_reply_to = true;
  req.body = big;
  req.body_len = (1u << 20) + 1;
  assert_raw_error(&req, RPCD_ERR_PAYLOAD_TOO_LARGE);
  free(big);
  assert_still_serving();
}

static void test_text_mode(void **state)
{
  h_raw_request req;
  h_raw_reply reply;

  (void)state;
  memset(&req, 0, sizeof(req));
  req.with_reply_to = true;
  req.body = "30";
  req.body_len = 2;
  h_raw_call(queue, &req, 5000, &reply);
  assert_true(reply.got);
  assert_int_equal(reply.body_len, 6);
  assert_memory_equal(reply.body, "832040", 6);
  assert_string_equal(reply.content_type, "text/plain");
  assert_string_equal(reply.correlation_id, "raw-call-1");

  req.content_type = "text/plain";
  req.body = "-5\n";
  req.body_len = 3;
  h_raw_call(queue, &req, 5000, &reply);
  assert_true(reply.got);
  assert_int_equal(reply.status, RPCD_ERR_INVALID_PARAMS);
  reply.body[reply.body_len < sizeof(reply.body) ? reply.body_len
                                                 : sizeof(reply.body) - 1] =
      '\0';
  assert_true(strncmp(reply.body, "error -32602: ", 14) == 0);
}

static void test_notification_gets_no_reply(void **state)
{
  msgpack_sbuffer body;
  h_raw_request req;
  h_raw_reply reply;

  (void)state;
  msgpack_sbuffer_init(&body);
  assert_int_equal(
      rpcd__request_encode(&body, true, 0, "fib", 3, "\x91\x05", 2), RPCD_OK);
  memset(&req, 0, sizeof(req));
  req.content_type = RPCD_CONTENT_TYPE;
  req.with_reply_to = true; /* even with a reply_to: no reply */
  req.body = body.data;
  req.body_len = body.size;
  h_raw_call(queue, &req, 700, &reply);
  assert_false(reply.got);
  msgpack_sbuffer_destroy(&body);

  assert_int_equal(rpcd_client_notify(client, "fib", "\x91\x05", 2, 0),
                   RPCD_OK);
  assert_still_serving();
}

static void test_expired_deadline_is_not_run(void **state)
{
  msgpack_sbuffer body;
  h_raw_request req;
  h_raw_reply reply;

  (void)state;
  msgpack_sbuffer_init(&body);
  assert_int_equal(
      rpcd__request_encode(&body, false, 1, "fib", 3, "\x91\x05", 2), RPCD_OK);
  memset(&req, 0, sizeof(req));
  req.content_type = RPCD_CONTENT_TYPE;
  req.with_reply_to = true;
  req.body = body.data;
  req.body_len = body.size;
  req.with_deadline = true;
  req.deadline_ms = rpcd__now_unix_ms() - 1000;
  h_raw_call(queue, &req, 700, &reply);
  assert_false(reply.got);

  req.deadline_ms = rpcd__now_unix_ms() + 60000;
  h_raw_call(queue, &req, 5000, &reply);
  assert_true(reply.got);
  assert_int_equal(reply.status, 0);
  msgpack_sbuffer_destroy(&body);
}

static void test_timeout_and_stale_reply(void **state)
{
  int64_t t0;
  int64_t took;
  uint64_t dropped;
  uint64_t v = 0;

  (void)state;
  t0 = h_now_ms();
  assert_int_equal(call_int("itest.sleep", 800, 300, NULL, NULL),
                   RPCD_ETIMEDOUT);
  took = h_now_ms() - t0;
  assert_true(took >= 290);
  assert_true(took < 3000);
  /* The late reply to the timed-out call must not be taken for this one:
   * it arrives while this call waits, and is dropped. */
  dropped = rpcd_client_dropped_replies(client);
  assert_int_equal(call_int("itest.sleep", 1000, 5000, &v, NULL), RPCD_OK);
  assert_int_equal(v, 1000);
  assert_int_equal(rpcd_client_dropped_replies(client), dropped + 1);
  assert_int_equal(rpcd_client_pending(client), 0);
}

static void test_many_calls_in_flight(void **state)
{
  enum { N = 200 };
  rpcd_call_id ids[N];
  int i;

  (void)state;
  for (i = 0; i < N; i++) {
    msgpack_sbuffer params;

    pack_int_params(&params, i % 94);
    assert_int_equal(rpcd_client_send(client, "fib", params.data, params.size,
                                      10000, &ids[i], 0),
                     RPCD_OK);
    msgpack_sbuffer_destroy(&params);
  }
  assert_int_equal(rpcd_client_pending(client), N);
  /* Collect in reverse order: each reply must land on its own call. */
  for (i = N - 1; i >= 0; i--) {
    uint64_t a = 0;
    uint64_t b = 1;
    rpcd_reply *reply = NULL;
    const void *data;
    size_t len;
    rpcd_mp_doc doc;
    int k;

    for (k = 0; k < i % 94; k++) {
      uint64_t t = a + b;

      a = b;
      b = t;
    }
    assert_int_equal(rpcd_client_wait(client, ids[i], &reply), RPCD_OK);
    rpcd_reply_result(reply, &data, &len);
    assert_int_equal(rpcd__mp_decode(data, len, 64, &doc, NULL, 0), RPCD_OK);
    assert_true(doc.root.via.u64 == a);
    rpcd__mp_doc_destroy(&doc);
    rpcd_reply_free(reply);
  }
  assert_int_equal(rpcd_client_wait(client, ids[0], NULL), RPCD_EINVAL);
}

static void test_no_route_fails_fast(void **state)
{
  rpcd_client *c;
  char missing[128];
  int64_t t0;

  (void)state;
  h_unique_queue(missing, sizeof(missing));
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, missing), RPCD_OK);
  assert_int_equal(rpcd_client_connect(c, h_broker_uri()), RPCD_OK);
  t0 = h_now_ms();
  assert_int_equal(call_int_on(c, "fib", 30, 10000, NULL, NULL), RPCD_ENOROUTE);
  assert_true(h_now_ms() - t0 < 2000); /* the timeout is 10 s */
  assert_non_null(strstr(rpcd_client_last_error(c), missing));
  rpcd_client_free(c);
}

static void test_no_consumer_fails_fast(void **state)
{
  rpcd_client *c;
  char idle[128];
  int64_t t0;

  (void)state;
  h_unique_queue(idle, sizeof(idle));
  h_queue_declare(idle);
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, idle), RPCD_OK);
  assert_int_equal(rpcd_client_connect(c, h_broker_uri()), RPCD_OK);
  t0 = h_now_ms();
  assert_int_equal(call_int_on(c, "fib", 30, 10000, NULL, NULL),
                   RPCD_ENOCONSUMER);
  assert_true(h_now_ms() - t0 < 2000); /* the timeout is 10 s */
  assert_non_null(strstr(rpcd_client_last_error(c), "consumer"));
  rpcd_client_free(c);
  h_queue_delete(idle);
}

/* The server goes away while a call waits: the caller learns it long before
 * its timeout, and a fresh server on the same queue serves again. */
static void test_server_stops_mid_call(void **state)
{
  static const char *const args[] = {"--plugin", ITEST_PLUGIN, NULL};
  char q[128];
  rpcd_client *c;
  rpcd_call_id id;
  rpcd_reply *reply = NULL;
  msgpack_sbuffer params;
  pid_t pid;
  int64_t t0;

  (void)state;
  h_unique_queue(q, sizeof(q));
  pid = h_rpcd_start(q, args);
  assert_true(pid > 0);
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, q), RPCD_OK);
  assert_int_equal(rpcd_client_connect(c, h_broker_uri()), RPCD_OK);
  pack_int_params(&params, 1500);
  assert_int_equal(rpcd_client_send(c, "itest.sleep", params.data, params.size,
                                    20000, &id, 0),
                   RPCD_OK);
  msgpack_sbuffer_destroy(&params);
  /* SIGTERM while the request is in hand: rpcd finishes it, answers, and
   * exits 0. */
  {
    struct timespec ts = {0, 300 * 1000000L};

    nanosleep(&ts, NULL);
  }
  t0 = h_now_ms();
  assert_int_equal(h_rpcd_stop(pid), 0);
  assert_int_equal(rpcd_client_wait(c, id, &reply), RPCD_OK);
  rpcd_reply_free(reply);
  assert_true(h_now_ms() - t0 < 10000);
  rpcd_client_free(c);
  h_queue_delete(q);
}

/* ------------------------------------------------------------------------ */
/* A fake server, for replies rpcd never sends                               */

/*
 * A child process consuming fake_queue and answering each request by its
 * method, with rabbitmq-c directly:
 *   fake.ok             [1, msgid, nil, "ok"]
 *   fake.nil_msgid      [1, nil, nil, 5]: a success nobody can match
 *   fake.nil_msgid_err  [1, nil, {"code": -32700, "message": "?"}, nil]
 *   fake.big [N]        [1, msgid, nil, bin of N bytes]
 *   fake.nan            [1, msgid, nil, [NaN, Infinity, -Infinity, 1.5]]
 *   fake.int_keys       [1, msgid, nil, {1: "a", "1": "b"}]
 */
static char fake_queue[128];
static pid_t fake_pid;

static void fake_reply(const rpcd_request *req, msgpack_sbuffer *out)
{
  msgpack_packer pk;
  const char *m = req->method;
  size_t n = req->method_len;

#define IS(name) (n == sizeof(name) - 1 && memcmp(m, name, n) == 0)
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  if (IS("fake.nil_msgid") || IS("fake.nil_msgid_err"))
    msgpack_pack_nil(&pk);
  else
    msgpack_pack_uint32(&pk, req->msgid);
  if (IS("fake.nil_msgid_err")) {
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "code", 4);
    msgpack_pack_int(&pk, RPCD_ERR_PARSE);
    msgpack_pack_str_with_body(&pk, "message", 7);
    msgpack_pack_str_with_body(&pk, "?", 1);
    msgpack_pack_nil(&pk);
    return;
  }
  msgpack_pack_nil(&pk);
  if (IS("fake.nil_msgid")) {
    msgpack_pack_int(&pk, 5);
  } else if (IS("fake.big")) {
    size_t size = (size_t)req->params->via.array.ptr[0].via.u64;
    char *blob = calloc(1, size ? size : 1);

    if (!blob)
      _exit(3);
    msgpack_pack_bin_with_body(&pk, blob, size);
    free(blob);
  } else if (IS("fake.nan")) {
    msgpack_pack_array(&pk, 4);
    msgpack_pack_double(&pk, NAN);
    msgpack_pack_double(&pk, INFINITY);
    msgpack_pack_double(&pk, -INFINITY);
    msgpack_pack_double(&pk, 1.5);
  } else if (IS("fake.int_keys")) {
    msgpack_pack_map(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "1", 1);
    msgpack_pack_str_with_body(&pk, "b", 1);
  } else {
    msgpack_pack_str_with_body(&pk, "ok", 2);
  }
#undef IS
}

/* The child's loop; never returns. */
static void fake_serve(void)
{
  amqp_connection_state_t conn;
  char err[256];

  if (rpcd__amqp_connect(h_broker_uri(), NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "fake server: %s\n", err);
    _exit(1);
  }
  /* auto-delete: the queue goes with the fake server's consumer */
  amqp_queue_declare(conn, 1, amqp_cstring_bytes(fake_queue), 0, 0, 0, 1,
                     amqp_empty_table);
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(fake_queue), amqp_empty_bytes,
                     0, 1, 0, amqp_empty_table);
  if (rpcd__amqp_last_status(conn, 1, "consume", err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "fake server: %s\n", err);
    _exit(1);
  }
  for (;;) {
    amqp_envelope_t env;
    amqp_basic_properties_t props;
    msgpack_sbuffer body;
    rpcd_request req;
    amqp_bytes_t content;

    amqp_maybe_release_buffers(conn);
    if (amqp_consume_message(conn, &env, NULL, 0).reply_type !=
        AMQP_RESPONSE_NORMAL)
      _exit(2);
    if (rpcd__request_decode(env.message.body.bytes, env.message.body.len,
                             RPCD_DEFAULT_MAX_BODY, &req, err,
                             sizeof(err)) == 0 &&
        req.type == RPCD_MSG_REQUEST) {
      msgpack_sbuffer_init(&body);
      fake_reply(&req, &body);
      memset(&props, 0, sizeof(props));
      props._flags =
          AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.correlation_id = env.message.properties.correlation_id;
      props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
      content.bytes = body.data;
      content.len = body.size;
      amqp_basic_publish(conn, 1, amqp_empty_bytes,
                         env.message.properties.reply_to, 0, 0, &props,
                         content);
      msgpack_sbuffer_destroy(&body);
    }
    rpcd__request_destroy(&req);
    amqp_destroy_envelope(&env);
  }
}

static int fake_start(void)
{
  h_unique_queue(fake_queue, sizeof(fake_queue));
  fake_pid = h_fake_start(fake_queue, fake_serve);
  return fake_pid > 0 ? 0 : -1;
}

static void fake_stop(void)
{
  h_fake_stop(&fake_pid);
}

/* A client of the fake server; free it with rpcd_client_free(). */
static rpcd_client *fake_client(void)
{
  rpcd_client *c;

  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_queue(c, fake_queue), RPCD_OK);
  assert_int_equal(rpcd_client_connect(c, h_broker_uri()), RPCD_OK);
  return c;
}

/* Call a fake method with params [n] (n >= 0) or none (n < 0). */
static int fake_call(rpcd_client *c, const char *method, int64_t n,
                     rpcd_reply **reply)
{
  msgpack_sbuffer params;
  int rc;

  if (n < 0)
    return rpcd_client_call(c, method, NULL, 0, 5000, reply, 0);
  pack_int_params(&params, n);
  rc = rpcd_client_call(c, method, params.data, params.size, 5000, reply, 0);
  msgpack_sbuffer_destroy(&params);
  return rc;
}

/* A success with a nil msgid answers nobody knows what: malformed. An
 * error with one is what a server sends to a request it could not read. */
static void test_success_with_nil_msgid(void **state)
{
  rpcd_client *c = fake_client();
  rpcd_reply *reply = (rpcd_reply *)1;

  (void)state;
  assert_int_equal(fake_call(c, "fake.nil_msgid", -1, &reply), RPCD_EPROTO);
  assert_null(reply);
  assert_non_null(strstr(rpcd_client_last_error(c), "nil msgid"));
  assert_int_equal(fake_call(c, "fake.nil_msgid_err", -1, &reply),
                   RPCD_EREMOTE);
  assert_int_equal(rpcd_reply_error_code(reply), RPCD_ERR_PARSE);
  rpcd_reply_free(reply);
  /* the connection is still good */
  assert_int_equal(fake_call(c, "fake.ok", -1, &reply), RPCD_OK);
  rpcd_reply_free(reply);
  rpcd_client_free(c);
}

static size_t max_rss_kb(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (size_t)ru.ru_maxrss;
}

/* A reply over the limit fails its call with RPCD_ETOOBIG, costs no memory
 * of its size, and leaves the connection usable. */
static void test_reply_over_limit(void **state)
{
  rpcd_client *c = fake_client();
  rpcd_reply *reply = NULL;
  const void *data;
  size_t len;
  size_t rss0;
  char want[128];

  (void)state;
  /* The default takes the largest result a default server sends. */
  assert_int_equal(fake_call(c, "fake.big", RPCD_DEFAULT_MAX_BODY, &reply),
                   RPCD_OK);
  rpcd_reply_result(reply, &data, &len);
  assert_int_equal(len, RPCD_DEFAULT_MAX_BODY + 5); /* bin32 header */
  rpcd_reply_free(reply);

  /* 2 MiB: [1, msgid, nil, bin32] is 2097152 + 5 + 4 bytes (msgid < 128) */
  assert_int_equal(fake_call(c, "fake.big", 2 << 20, &reply), RPCD_ETOOBIG);
  assert_null(reply);
  snprintf(want, sizeof(want),
           "reply of %u bytes exceeds the limit of %zu bytes", (2u << 20) + 9u,
           RPCD_DEFAULT_MAX_REPLY);
  assert_non_null(strstr(rpcd_client_last_error(c), want));
  assert_int_equal(fake_call(c, "fake.ok", -1, &reply), RPCD_OK);
  rpcd_reply_free(reply);
  assert_int_equal(rpcd_client_pending(c), 0);

  /* A small limit, and a 24 MiB reply that is never held in memory. */
  assert_int_equal(rpcd_client_set_max_reply(c, 0), RPCD_EINVAL);
  assert_int_equal(rpcd_client_set_max_reply(c, 16), RPCD_OK);
  assert_int_equal(fake_call(c, "fake.ok", -1, &reply), RPCD_OK);
  rpcd_reply_free(reply);
  /* [1, msgid, nil, bin8]: 4 + 2 + 11 bytes */
  assert_int_equal(fake_call(c, "fake.big", 11, &reply), RPCD_ETOOBIG);
  assert_non_null(strstr(rpcd_client_last_error(c),
                         "reply of 17 bytes exceeds the limit of 16 bytes"));
  rss0 = max_rss_kb();
  assert_int_equal(fake_call(c, "fake.big", 24 << 20, &reply), RPCD_ETOOBIG);
  assert_true(max_rss_kb() < rss0 + 8 * 1024);
  assert_int_equal(fake_call(c, "fake.ok", -1, &reply), RPCD_OK);
  rpcd_reply_free(reply);
  assert_true(rpcd_client_is_connected(c));
  rpcd_client_free(c);
}

/* ------------------------------------------------------------------------ */
/* rpcctl against the fake server                                            */

typedef struct ctl_run {
  int status;
  char out[4096];
  char err[4096];
} ctl_run;

static void slurp(int fd, char *buf, size_t cap)
{
  ssize_t n;
  size_t len = 0;

  lseek(fd, 0, SEEK_SET);
  while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
    len += (size_t)n;
  buf[len] = '\0';
  close(fd);
}

/* Run RPCCTL --uri BROKER --queue FAKE_QUEUE args... */
static void run_rpcctl(ctl_run *r, const char *const *args)
{
  const char *argv[24];
  char out_path[] = "/tmp/rpcd-test-rpcctl-out-XXXXXX";
  char err_path[] = "/tmp/rpcd-test-rpcctl-err-XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  size_t n = 0;
  pid_t pid;
  int status;

  assert_true(out_fd >= 0 && err_fd >= 0);
  unlink(out_path);
  unlink(err_path);
  argv[n++] = RPCCTL;
  argv[n++] = "--uri";
  argv[n++] = h_broker_uri();
  argv[n++] = "--queue";
  argv[n++] = fake_queue;
  while (*args && n < 23)
    argv[n++] = *args++;
  argv[n] = NULL;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(RPCCTL, (char *const *)argv);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  r->status = WEXITSTATUS(status);
  slurp(out_fd, r->out, sizeof(r->out));
  slurp(err_fd, r->err, sizeof(r->err));
}

static void test_rpcctl_nil_msgid(void **state)
{
  static const char *const args[] = {"call", "fake.nil_msgid", NULL};
  ctl_run r;

  (void)state;
  run_rpcctl(&r, args);
  assert_int_equal(r.status, 6);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "nil msgid"));
}

/* What JSON cannot hold: a warning by default, exit 7 with --strict. */
static void test_rpcctl_lossy_results(void **state)
{
  static const char *const nan[] = {"call", "fake.nan", NULL};
  static const char *const nan_strict[] = {"--strict", "call", "fake.nan",
                                           NULL};
  static const char *const keys[] = {"call", "fake.int_keys", NULL};
  static const char *const keys_strict[] = {"--strict", "call", "fake.int_keys",
                                            NULL};
  static const char *const ok_strict[] = {"--strict", "call", "fake.ok", NULL};
  ctl_run r;

  (void)state;
  run_rpcctl(&r, nan);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "[null,null,null,1.5]\n");
  assert_non_null(strstr(
      r.err, "warning: result has 3 NaN/Infinity values (printed as null)"));

  run_rpcctl(&r, nan_strict);
  assert_int_equal(r.status, 7);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "--strict"));
  assert_non_null(strstr(r.err, "NaN/Infinity"));

  run_rpcctl(&r, keys);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "{\"1\":\"a\",\"1\":\"b\"}\n");
  assert_non_null(strstr(r.err, "warning: result has a map key of type int"));
  assert_non_null(strstr(r.err, "warning: result has duplicate map key \"1\""));

  run_rpcctl(&r, keys_strict);
  assert_int_equal(r.status, 7);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "duplicate map key \"1\""));

  /* --strict changes nothing for a result JSON holds */
  run_rpcctl(&r, ok_strict);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "\"ok\"\n");
  assert_string_equal(r.err, "");
}

static void test_rpcctl_max_reply(void **state)
{
  static const char *const big[] = {"call", "fake.big", "2097152", NULL};
  /* [1, msgid, nil, bin8]: 4 + 2 + 11 bytes */
  static const char *const small[] = {"--max-reply", "16", "call",
                                      "fake.big",    "11", NULL};
  static const char *const fits[] = {"--max-reply", "17", "call",
                                     "fake.big",    "11", NULL};
  ctl_run r;

  (void)state;
  run_rpcctl(&r, big);
  assert_int_equal(r.status, 6);
  assert_non_null(strstr(r.err, "exceeds the limit of"));
  run_rpcctl(&r, small);
  assert_int_equal(r.status, 6);
  assert_non_null(
      strstr(r.err, "reply of 17 bytes exceeds the limit of 16 bytes"));
  run_rpcctl(&r, fits);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "\"AAAAAAAAAAAAAAA=\"\n");
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                                */

/* A TCP listener that never accepts: the kernel completes the handshake,
 * and nothing ever answers. Returns its fd; *port gets its port. */
static int silent_listener(int *port)
{
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  assert_true(fd >= 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(fd, 16), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* The connect timeout bounds the whole connect, login included. */
static void test_connect_timeout(void **state)
{
  rpcd_client *c;
  char uri[128];
  int64_t t0;
  int64_t took;
  int port;
  int fd = silent_listener(&port);

  (void)state;
  snprintf(uri, sizeof(uri), "amqp://guest:S3cret@127.0.0.1:%d", port);
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_connect_timeout(c, 1000), RPCD_OK);
  t0 = h_now_ms();
  assert_int_equal(rpcd_client_connect(c, uri), RPCD_ECONNECT);
  took = h_now_ms() - t0;
  assert_true(took >= 900);
  assert_true(took <= 1100);
  assert_non_null(strstr(rpcd_client_last_error(c), "connect timeout"));
  assert_null(strstr(rpcd_client_last_error(c), "S3cret"));
  assert_false(rpcd_client_is_connected(c));

  /* Without a connect timeout of its own, the call timeout bounds it. */
  assert_int_equal(rpcd_client_set_connect_timeout(c, 0), RPCD_OK);
  assert_int_equal(rpcd_client_set_timeout(c, 1000), RPCD_OK);
  t0 = h_now_ms();
  assert_int_equal(rpcd_client_connect(c, uri), RPCD_ECONNECT);
  took = h_now_ms() - t0;
  assert_true(took >= 900);
  assert_true(took <= 1100);
  rpcd_client_free(c);
  close(fd);

  /* ...and a broker that answers is not held up by it. */
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_connect_timeout(c, 1000), RPCD_OK);
  assert_int_equal(rpcd_client_connect(c, h_broker_uri()), RPCD_OK);
  rpcd_client_free(c);
}

/* No failure to connect shows the password, whatever failed. */
static void test_connect_errors_hide_password(void **state)
{
  static const struct {
    const char *uri;
    int rc;
    const char *says; /* in the message */
  } bad[] = {
      {"amqp://guest:S3cret@127.0.0.1:99999", RPCD_EINVAL, "127.0.0.1:99999"},
      {"amqp://u:S3cret@h/%zz", RPCD_EINVAL, "@h/%zz"},
      {"amqp://a:S3cret:c@d@e", RPCD_EINVAL, "amqp://a:***@e"},
      {"guest:S3cret@127.0.0.1", RPCD_EINVAL, "***@127.0.0.1"},
      {"amqp://guest:S3cret@127.0.0.1:1", RPCD_ECONNECT, "127.0.0.1:1"},
      {"amqp://guest:S3cret@host.invalid:5672", RPCD_ECONNECT, "host.invalid"},
  };
  rpcd_client *c;
  char refused[256];
  const char *at;
  size_t i;

  (void)state;
  assert_int_equal(rpcd_client_new(&c), RPCD_OK);
  assert_int_equal(rpcd_client_set_connect_timeout(c, 3000), RPCD_OK);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(rpcd_client_connect(c, bad[i].uri), bad[i].rc);
    if (!strstr(rpcd_client_last_error(c), bad[i].says) ||
        strstr(rpcd_client_last_error(c), "S3cret"))
      fail_msg("%s: %s", bad[i].uri, rpcd_client_last_error(c));
  }
  /* The broker refuses the login. */
  at = strrchr(h_broker_uri(), '@');
  assert_non_null(at);
  snprintf(refused, sizeof(refused), "amqp://guest:S3cret%s", at);
  assert_int_equal(rpcd_client_connect(c, refused), RPCD_ECONNECT);
  assert_non_null(strstr(rpcd_client_last_error(c), "log in"));
  assert_null(strstr(rpcd_client_last_error(c), "S3cret"));
  rpcd_client_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fib_through_sdk),
      cmocka_unit_test(test_unknown_method),
      cmocka_unit_test(test_bad_params),
      cmocka_unit_test(test_handler_error_is_structured),
      cmocka_unit_test(test_builtins),
      cmocka_unit_test(test_malformed_bodies_get_error_replies),
      cmocka_unit_test(test_envelope_checks),
      cmocka_unit_test(test_oversized_body),
      cmocka_unit_test(test_text_mode),
      cmocka_unit_test(test_notification_gets_no_reply),
      cmocka_unit_test(test_expired_deadline_is_not_run),
      cmocka_unit_test(test_timeout_and_stale_reply),
      cmocka_unit_test(test_many_calls_in_flight),
      cmocka_unit_test(test_no_route_fails_fast),
      cmocka_unit_test(test_no_consumer_fails_fast),
      cmocka_unit_test(test_server_stops_mid_call),
      cmocka_unit_test(test_success_with_nil_msgid),
      cmocka_unit_test(test_reply_over_limit),
      cmocka_unit_test(test_rpcctl_nil_msgid),
      cmocka_unit_test(test_rpcctl_lossy_results),
      cmocka_unit_test(test_rpcctl_max_reply),
      cmocka_unit_test(test_connect_timeout),
      cmocka_unit_test(test_connect_errors_hide_password),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
