/* SPDX-License-Identifier: MIT */
/*
 * Requests a hostile or foreign client can send, published raw against a
 * real broker and a real rpcd: deadlines in every AMQP field type, header
 * values beyond int64, NUL bytes in properties, notifications that
 * cannot be read, and params that break a typed method's descriptor. Each
 * must get the documented answer, and rpcd must go on serving.
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

#include "harness.h"
#include "rpcd_proto.h"

static char queue[128];
static pid_t server;
static msgpack_sbuffer fib_body; /* [0, 9, "fib", [5]] */

static int setup(void **state)
{
  static const char *const args[] = {"--plugin", FIB_PLUGIN, "--log-level",
                                     "debug", NULL};

  (void)state;
  h_unique_queue(queue, sizeof(queue));
  server = h_rpcd_start(queue, args);
  msgpack_sbuffer_init(&fib_body);
  if (rpcd__request_encode(&fib_body, false, 9, "fib", 3, "\x91\x05", 2) !=
      RPCD_OK)
    return -1;
  return server > 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  msgpack_sbuffer_destroy(&fib_body);
  return h_rpcd_stop(server) == 0 ? 0 : -1;
}

static int64_t unix_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static h_raw_request fib_request(void)
{
  h_raw_request req;

  memset(&req, 0, sizeof(req));
  req.body = fib_body.data;
  req.body_len = fib_body.size;
  req.content_type = RPCD_CONTENT_TYPE;
  req.with_reply_to = true;
  return req;
}

/* Send req and decode the reply; fails the test when none comes. The
 * message is copied NUL-terminated into msg. */
static void call(const h_raw_request *req, rpcd_reply_view *view, char *msg,
                 size_t msglen)
{
  h_raw_reply reply;

  h_raw_call(queue, req, 5000, &reply);
  assert_true(reply.got);
  assert_int_equal(
      rpcd__reply_decode(reply.body, reply.body_len, view, NULL, 0), RPCD_OK);
  snprintf(msg, msglen, "%.*s", (int)view->message_len,
           view->message ? view->message : "");
  if (view->error_code == 0)
    assert_int_equal(reply.status, 0);
  else
    assert_int_equal(reply.status, view->error_code);
}

static void expect_fib5(const h_raw_request *req)
{
  rpcd_reply_view view;
  char msg[512];

  call(req, &view, msg, sizeof(msg));
  if (view.error_code != 0)
    fail_msg("error %d: %s", view.error_code, msg);
  assert_int_equal(view.msgid, 9);
  assert_int_equal(view.result->via.u64, 5);
  rpcd__reply_view_destroy(&view);
}

static void expect_error(const h_raw_request *req, int code, const char *want)
{
  rpcd_reply_view view;
  char msg[512];

  call(req, &view, msg, sizeof(msg));
  if (view.error_code != code || !strstr(msg, want))
    fail_msg("got error %d \"%s\", expected %d with \"%s\"", view.error_code,
             msg, code, want);
  rpcd__reply_view_destroy(&view);
}

/* An AMQP timestamp is seconds since the epoch (as pika sends a datetime);
 * an integer field is milliseconds. Both in the future: the call runs. */
static void test_deadline_field_types(void **state)
{
  h_raw_request req = fib_request();

  (void)state;
  req.with_deadline = true;
  req.deadline_ms = unix_ms() + 60000;
  expect_fib5(&req);
  req.deadline_kind = 'T';
  expect_fib5(&req);

  /* A string or a float means no time: refused, naming the header. */
  req.deadline_kind = 'S';
  req.deadline_text = "2030-01-01T00:00:00Z";
  expect_error(&req, RPCD_ERR_INVALID_REQUEST, "x-rpc-deadline");
  expect_error(&req, RPCD_ERR_INVALID_REQUEST, "not a string");
  req.deadline_kind = 'd';
  expect_error(&req, RPCD_ERR_INVALID_REQUEST, "not a float");
}

/* A timestamp in the past is expired like an integer one: not answered. */
static void test_expired_timestamp_not_run(void **state)
{
  h_raw_request req = fib_request();
  h_raw_reply reply;

  (void)state;
  req.with_deadline = true;
  req.deadline_kind = 'T';
  req.deadline_ms = unix_ms() - 5000;
  h_raw_call(queue, &req, 700, &reply);
  assert_false(reply.got);
}

/* RabbitMQ carries an unsigned 64-bit field as a signed one: UINT64_MAX
 * arrives as -1, and the message says how that can happen. */
static void test_version_beyond_int64(void **state)
{
  h_raw_request req = fib_request();

  (void)state;
  req.with_version = true;
  req.version_as_u64 = true;
  req.version_u64 = UINT64_MAX;
  expect_error(&req, RPCD_ERR_UNSUPPORTED, "version -1 in x-rpc-v");
  expect_error(&req, RPCD_ERR_UNSUPPORTED, "above 2^63-1 arrives negative");
  req.version_u64 = 1;
  expect_fib5(&req);
}

/* A NUL inside a property cuts nothing short in the error text. */
static void test_nul_in_content_type(void **state)
{
  static const char ct[] = "application/msgpack\0junk";
  h_raw_request req = fib_request();

  (void)state;
  req.content_type = ct;
  req.content_type_len = sizeof(ct) - 1;
  expect_error(&req, RPCD_ERR_UNSUPPORTED, "application/msgpack\\x00junk");
}

/* [2, "fib", [1], "extra"] with a reply_to: not a readable notification,
 * so it is answered instead of leaving its caller to time out. */
static void test_malformed_notification_answered(void **state)
{
  static const char body[] = "\x94\x02\xa3"
                             "fib\x91\x01\xa5"
                             "extra";
  h_raw_request req = fib_request();
  rpcd_reply_view view;
  char msg[512];

  (void)state;
  req.body = body;
  req.body_len = sizeof(body) - 1;
  call(&req, &view, msg, sizeof(msg));
  assert_int_equal(view.error_code, RPCD_ERR_INVALID_REQUEST);
  assert_false(view.has_msgid);
  rpcd__reply_view_destroy(&view);

  /* A well-formed notification stays silent. */
  req.body = "\x93\x02\xa3"
             "fib\x91\x01";
  req.body_len = 8;
  {
    h_raw_reply reply;

    h_raw_call(queue, &req, 700, &reply);
    assert_false(reply.got);
  }
}

/* The correlation id is logged whole, its NUL escaped. */
static void test_nul_in_correlation_id_logged(void **state)
{
  static const char cid[] = "abc\0def";
  h_raw_request req = fib_request();
  char path[512];
  char line[4096];
  bool found = false;
  FILE *f;

  (void)state;
  req.correlation_id = cid;
  req.correlation_id_len = sizeof(cid) - 1;
  {
    h_raw_reply reply;

    h_raw_call(queue, &req, 5000, &reply);
    assert_true(reply.got);
    assert_int_equal(reply.status, 0);
  }
  h_rpcd_log_path(queue, path, sizeof(path));
  f = fopen(path, "r");
  assert_non_null(f);
  while (fgets(line, sizeof(line), f))
    /* Made printable by the worker, then quoted by the log. */
    found = found || strstr(line, "cid=\"abc\\\\x00def\"") != NULL;
  fclose(f);
  assert_true(found);
}

/* Call `method` with raw msgpack params; expect -32602 with `want`. */
static void expect_params_refused(const char *method, const char *params,
                                  size_t len, const char *want)
{
  h_raw_request req = fib_request();
  msgpack_sbuffer body;

  msgpack_sbuffer_init(&body);
  assert_int_equal(rpcd__request_encode(&body, false, 10, method,
                                        strlen(method), params, len),
                   RPCD_OK);
  req.body = body.data;
  req.body_len = body.size;
  expect_error(&req, RPCD_ERR_INVALID_PARAMS, want);
  msgpack_sbuffer_destroy(&body);
}

/* Typed methods' params are checked by the server before any handler runs,
 * whatever a client sends. */
static void test_typed_params_refused(void **state)
{
  h_raw_request req = fib_request();
  char p[4 + 300];

  (void)state;
  /* {1: 5}, {"n": 5, "n": 6}, {"n\0x": 5} */
  expect_params_refused("fib", "\x81\x01\x05", 3,
                        "named params must have str keys");
  expect_params_refused("fib", "\x82\xa1n\x05\xa1n\x06", 7,
                        "param n: given twice");
  expect_params_refused("fib", "\x81\xa3n\0x\x05", 6, "unknown");
  /* fib(2^64 - 1) and fib([[[]]]) */
  expect_params_refused("fib", "\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 10,
                        "param n: expected uint in 0..93, got "
                        "18446744073709551615");
  expect_params_refused("fib", "\x91\x91\x91\x90", 4,
                        "param n: expected uint in 0..93, got array");
  /* rpc.describe of a 300-byte name (a str16), and of a method that is not
   * there */
  p[0] = '\x91';
  p[1] = '\xda';
  p[2] = (char)(300 >> 8);
  p[3] = (char)(300 & 0xff);
  memset(p + 4, 'a', 300);
  expect_params_refused("rpc.describe", p, sizeof(p),
                        "param method: expected str of at most 255 bytes, "
                        "got 300 bytes");
  expect_params_refused("rpc.describe", "\x91\xa4nope", 6,
                        "param method: no method \"nope\"");
  /* And it goes on serving. */
  expect_fib5(&req);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deadline_field_types),
      cmocka_unit_test(test_expired_timestamp_not_run),
      cmocka_unit_test(test_version_beyond_int64),
      cmocka_unit_test(test_nul_in_content_type),
      cmocka_unit_test(test_malformed_notification_answered),
      cmocka_unit_test(test_nul_in_correlation_id_logged),
      cmocka_unit_test(test_typed_params_refused),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
