/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SDK's output (sdk/out.c): a publish encoded into its
 * AMQP frames (decoded back with rabbitmq-c's own decoders, the body split
 * at the connection's frame_max), several publishes written in one go, an
 * encoding that fails leaving the buffer as it was, a write that waits for
 * a full socket to drain, and a failed write losing the connection.
 *
 * The client here is a bare struct with an unconnected rabbitmq-c state
 * (its initial frame_max); the socket is one end of a socketpair, handed
 * to out.c by the amqp_get_sockfd() defined below.
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../sdk/client_internal.h"

static int fake_fd = -1;
static int lost_calls;
static char lost_detail[256];

/* out.c's socket: the test's end of the socketpair. */
int amqp_get_sockfd(amqp_connection_state_t state)
{
  (void)state;
  return fake_fd;
}

/* conn.c's, reduced to what out.c needs of it. */
void rpcd__connection_lost(rpcd_client *c, const char *detail, bool polite)
{
  (void)polite;
  lost_calls++;
  snprintf(lost_detail, sizeof(lost_detail), "%s", detail);
  rpcd__out_reset(c);
}

typedef struct fixture {
  rpcd_client c;
  int peer; /* the broker's end of the socketpair */
} fixture;

static int setup(void **state)
{
  fixture *fx = calloc(1, sizeof(*fx));
  int sv[2];

  if (!fx || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  fx->c.conn = amqp_new_connection();
  if (!fx->c.conn)
    return -1;
  fake_fd = sv[0];
  fx->peer = sv[1];
  lost_calls = 0;
  lost_detail[0] = '\0';
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fixture *fx = *state;

  free(fx->c.out);
  amqp_destroy_connection(fx->c.conn);
  if (fake_fd >= 0)
    close(fake_fd);
  if (fx->peer >= 0)
    close(fx->peer);
  fake_fd = -1;
  free(fx);
  return 0;
}

/* A call's properties, as publish() in sdk/call.c sets them. */
static void call_props(amqp_basic_properties_t *props,
                       amqp_table_entry_t headers[2], const char *cid)
{
  memset(props, 0, sizeof(*props));
  memset(headers, 0, 2 * sizeof(headers[0]));
  props->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                  AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_HEADERS_FLAG |
                  AMQP_BASIC_EXPIRATION_FLAG | AMQP_BASIC_REPLY_TO_FLAG;
  props->content_type = amqp_cstring_bytes("application/vnd.msgpack");
  props->correlation_id = amqp_cstring_bytes(cid);
  props->expiration = amqp_cstring_bytes("5000");
  props->reply_to = amqp_cstring_bytes("amq.rabbitmq.reply-to");
  headers[0].key = amqp_cstring_bytes("x-rpc-method");
  headers[0].value.kind = AMQP_FIELD_KIND_UTF8;
  headers[0].value.value.bytes = amqp_cstring_bytes("fib");
  headers[1].key = amqp_cstring_bytes("x-rpc-v");
  headers[1].value.kind = AMQP_FIELD_KIND_I32;
  headers[1].value.value.i32 = 1;
  props->headers.entries = headers;
  props->headers.num_entries = 2;
}

/* One frame read from bytes; returns the bytes after it. */
typedef struct frame {
  int type;
  int channel;
  const unsigned char *payload;
  size_t len;
} frame;

static const unsigned char *next_frame(const unsigned char *p,
                                       const unsigned char *end, frame *f)
{
  assert_true(end - p >= 8);
  f->type = p[0];
  f->channel = p[1] << 8 | p[2];
  f->len = (size_t)p[3] << 24 | (size_t)p[4] << 16 | (size_t)p[5] << 8 | p[6];
  f->payload = p + 7;
  assert_true((size_t)(end - f->payload) >= f->len + 1);
  assert_int_equal(f->payload[f->len], AMQP_FRAME_END);
  return f->payload + f->len + 1;
}

static uint32_t get32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static uint64_t get64(const unsigned char *p)
{
  uint64_t v = 0;
  int i;

  for (i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/*
 * Check that bytes[0..len) is one publish of `body` to `queue` with the
 * properties call_props(cid) makes, its body in frames of at most
 * frame_max; returns the bytes after it.
 */
static const unsigned char *
check_publish(const unsigned char *p, const unsigned char *end,
              const char *queue, bool mandatory, const char *cid,
              const unsigned char *body, size_t body_len, size_t frame_max)
{
  amqp_basic_publish_t *m;
  amqp_basic_properties_t *props;
  amqp_bytes_t enc;
  amqp_pool_t pool;
  void *decoded;
  size_t got = 0;
  frame f;

  init_amqp_pool(&pool, 4096);
  p = next_frame(p, end, &f);
  assert_int_equal(f.type, AMQP_FRAME_METHOD);
  assert_int_equal(f.channel, CALL_CHANNEL);
  assert_int_equal(get32(f.payload), AMQP_BASIC_PUBLISH_METHOD);
  enc.bytes = (void *)(f.payload + 4);
  enc.len = f.len - 4;
  assert_int_equal(
      amqp_decode_method(AMQP_BASIC_PUBLISH_METHOD, &pool, enc, &decoded), 0);
  m = decoded;
  assert_int_equal(m->exchange.len, 0);
  assert_int_equal(m->routing_key.len, strlen(queue));
  assert_memory_equal(m->routing_key.bytes, queue, strlen(queue));
  assert_int_equal(m->mandatory, mandatory);
  assert_int_equal(m->immediate, 0);

  p = next_frame(p, end, &f);
  assert_int_equal(f.type, AMQP_FRAME_HEADER);
  assert_int_equal(f.channel, CALL_CHANNEL);
  assert_int_equal(f.payload[0] << 8 | f.payload[1], AMQP_BASIC_CLASS);
  assert_int_equal(get64(f.payload + 4), body_len);
  enc.bytes = (void *)(f.payload + 12);
  enc.len = f.len - 12;
  assert_int_equal(
      amqp_decode_properties(AMQP_BASIC_CLASS, &pool, enc, &decoded), 0);
  props = decoded;
  assert_true(props->_flags & AMQP_BASIC_CORRELATION_ID_FLAG);
  assert_int_equal(props->correlation_id.len, strlen(cid));
  assert_memory_equal(props->correlation_id.bytes, cid, strlen(cid));
  assert_int_equal(props->expiration.len, 4);
  assert_int_equal(props->headers.num_entries, 2);
  assert_int_equal(props->headers.entries[0].value.value.bytes.len, 3);
  assert_memory_equal(props->headers.entries[0].value.value.bytes.bytes, "fib",
                      3);
  assert_int_equal(props->headers.entries[1].value.value.i32, 1);

  while (got < body_len) {
    p = next_frame(p, end, &f);
    assert_int_equal(f.type, AMQP_FRAME_BODY);
    assert_int_equal(f.channel, CALL_CHANNEL);
    assert_true(f.len > 0);
    assert_true(f.len + 8 <= frame_max);
    assert_true(got + f.len <= body_len);
    assert_memory_equal(f.payload, body + got, f.len);
    got += f.len;
  }
  empty_amqp_pool(&pool);
  return p;
}

static unsigned char *make_body(size_t n)
{
  unsigned char *b = malloc(n);
  size_t i;

  assert_non_null(b);
  for (i = 0; i < n; i++)
    b[i] = (unsigned char)(i * 131u + 7u);
  return b;
}

/* Read exactly n bytes from fd. */
static void read_all(int fd, unsigned char *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);

    assert_true(k > 0);
    got += (size_t)k;
  }
}

/* A small body: one body frame. A large one: split into full frames of
 * the connection's frame_max and a rest. */
static void test_encode(void **state)
{
  fixture *fx = *state;
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[2];
  size_t frame_max = (size_t)amqp_get_frame_max(fx->c.conn);
  size_t big_len = 2 * (frame_max - 8) + 1000;
  unsigned char *big = make_body(big_len);
  const unsigned char *p;
  const unsigned char *end;
  frame f;
  int n_body = 0;

  assert_true(frame_max > 4096);
  call_props(&props, headers, "cid-1");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, big, 5),
                   AMQP_STATUS_OK);
  call_props(&props, headers, "cid-2");
  assert_int_equal(
      rpcd__out_publish(&fx->c, "queue-2", false, &props, big, big_len),
      AMQP_STATUS_OK);

  /* Nothing is written until a flush. */
  assert_true(fx->c.out_len > big_len);
  p = fx->c.out;
  end = fx->c.out + fx->c.out_len;
  p = check_publish(p, end, "q", true, "cid-1", big, 5, frame_max);
  p = check_publish(p, end, "queue-2", false, "cid-2", big, big_len, frame_max);
  assert_ptr_equal(p, end);

  /* Two full body frames and the rest. */
  p = fx->c.out;
  while (p < end) {
    p = next_frame(p, end, &f);
    if (f.type == AMQP_FRAME_BODY && f.len > 5) {
      assert_int_equal(f.len, n_body < 2 ? frame_max - 8 : 1000);
      n_body++;
    }
  }
  assert_int_equal(n_body, 3);
  free(big);
}

/* Properties too large for the buffer's room: the publish fails and what
 * was buffered before it stays as it was. */
static void test_encode_failure_undone(void **state)
{
  fixture *fx = *state;
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[2];
  unsigned char *body = make_body(16);
  char *huge = malloc(70000);
  size_t before;

  assert_non_null(huge);
  call_props(&props, headers, "ok");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, body, 16),
                   AMQP_STATUS_OK);
  before = fx->c.out_len;

  memset(huge, 'x', 69999);
  huge[69999] = '\0';
  call_props(&props, headers, "bad");
  headers[0].value.value.bytes = amqp_cstring_bytes(huge);
  assert_true(rpcd__out_publish(&fx->c, "q", true, &props, body, 16) < 0);
  assert_int_equal(fx->c.out_len, before);
  check_publish(fx->c.out, fx->c.out + fx->c.out_len, "q", true, "ok", body, 16,
                (size_t)amqp_get_frame_max(fx->c.conn));
  free(huge);
  free(body);
}

/* Two publishes, one write: the peer reads both, in order, and the buffer
 * is empty after. */
static void test_flush(void **state)
{
  fixture *fx = *state;
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[2];
  unsigned char *body = make_body(300);
  unsigned char *got;
  size_t len;

  call_props(&props, headers, "a");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, body, 300),
                   AMQP_STATUS_OK);
  call_props(&props, headers, "b");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, body, 100),
                   AMQP_STATUS_OK);
  len = fx->c.out_len;
  got = malloc(len);
  assert_non_null(got);
  assert_int_equal(rpcd__out_flush(&fx->c, "publishing"), RPCD_OK);
  assert_int_equal(fx->c.out_len, 0);
  assert_int_equal(lost_calls, 0);
  read_all(fx->peer, got, len);
  check_publish(check_publish(got, got + len, "q", true, "a", body, 300,
                              (size_t)amqp_get_frame_max(fx->c.conn)),
                got + len, "q", true, "b", body, 100,
                (size_t)amqp_get_frame_max(fx->c.conn));
  /* A flush with nothing buffered writes nothing. */
  assert_int_equal(rpcd__out_flush(&fx->c, "publishing"), RPCD_OK);
  free(got);
  free(body);
}

typedef struct reader_arg {
  int fd;
  unsigned char *buf;
  size_t len;
} reader_arg;

static void *slow_reader(void *arg)
{
  reader_arg *r = arg;
  struct timespec ms = {0, 1000000};
  size_t got = 0;

  while (got < r->len) {
    ssize_t k;

    nanosleep(&ms, NULL);
    k = read(r->fd, r->buf + got, r->len - got < 4096 ? r->len - got : 4096);
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  r->len = got;
  return NULL;
}

/* A non-blocking socket that fills up: the flush waits for the reader and
 * writes everything, once. */
static void test_flush_waits_for_full_socket(void **state)
{
  fixture *fx = *state;
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[2];
  size_t body_len = 1u << 20;
  unsigned char *body = make_body(body_len);
  int sndbuf = 4096;
  reader_arg r;
  pthread_t t;
  size_t len;

  assert_int_equal(fcntl(fake_fd, F_SETFL, O_NONBLOCK), 0);
  setsockopt(fake_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  call_props(&props, headers, "big");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, body, body_len),
                   AMQP_STATUS_OK);
  len = fx->c.out_len;
  r.fd = fx->peer;
  r.len = len;
  r.buf = malloc(len);
  assert_non_null(r.buf);
  assert_int_equal(pthread_create(&t, NULL, slow_reader, &r), 0);
  assert_int_equal(rpcd__out_flush(&fx->c, "publishing"), RPCD_OK);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(r.len, len);
  assert_int_equal(lost_calls, 0);
  check_publish(r.buf, r.buf + len, "q", true, "big", body, body_len,
                (size_t)amqp_get_frame_max(fx->c.conn));
  free(r.buf);
  free(body);
}

/* The peer is gone: the write fails, the connection is given up with a
 * detail that names what was written, and nothing stays buffered. */
static void test_flush_failure_loses_connection(void **state)
{
  fixture *fx = *state;
  amqp_basic_properties_t props;
  amqp_table_entry_t headers[2];
  unsigned char *body = make_body(64);

  close(fx->peer);
  fx->peer = -1;
  call_props(&props, headers, "x");
  assert_int_equal(rpcd__out_publish(&fx->c, "q", true, &props, body, 64),
                   AMQP_STATUS_OK);
  assert_int_equal(rpcd__out_flush(&fx->c, "publishing to queue \"q\""),
                   RPCD_ECONNLOST);
  assert_int_equal(lost_calls, 1);
  assert_non_null(strstr(lost_detail, "publishing to queue \"q\": "));
  assert_int_equal(fx->c.out_len, 0);
  free(body);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_encode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_encode_failure_undone, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flush_waits_for_full_socket, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flush_failure_loses_connection,
                                      setup, teardown),
  };

  /* SIGPIPE is left as it is: a write to a closed peer must fail with
   * EPIPE (MSG_NOSIGNAL), not kill the test. */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
