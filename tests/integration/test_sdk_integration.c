/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests against a real RabbitMQ node: an rpcd child process
 * serving fib.so and itest.so, called through the client SDK and through raw
 * AMQP publishes of malformed requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rpcd/client.h>

#include "harness.h"
#include "rpcd_proto.h"
#include "transport_amqp.h"

static char queue[128];
static pid_t server;
static rpcd_client *client;

static int setup(void **state)
{
  static const char *const args[] = {
      "--plugin", FIB_PLUGIN,   "--plugin", ITEST_PLUGIN, "--text-method",
      "fib",      "--prefetch", "4",        NULL,
  };

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = h_rpcd_start(queue, args);
  if (server <= 0)
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
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
