/* SPDX-License-Identifier: MIT */
/*
 * A worker killed by plugin code closes its broker connection politely
 * (core/crash_close.c). A child process plays the worker on one end of a
 * socket pair, the test plays the broker on the other: the frame written
 * must be the connection.close that rabbitmq-c itself decodes, close-ok
 * must end the wait, and the child must still die of its own cause.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "amqp_compat.h"
#include "crash_close.h"

enum { HOW_SEGV, HOW_ABORT, HOW_EXIT, HOW_UNWATCHED };

static int64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The worker: install, watch its end, write what stands for a reply, die. */
static pid_t start_child(int how, int fd, int other)
{
  pid_t pid = fork();

  assert_true(pid >= 0);
  if (pid > 0)
    return pid;
  close(other);
  if (rpcd__crash_close_install() != 0)
    _exit(100);
  rpcd__crash_close_watch(how == HOW_UNWATCHED ? -1 : fd);
  if (write(fd, "reply", 5) != 5)
    _exit(101);
  switch (how) {
  case HOW_SEGV:
  case HOW_UNWATCHED:
    raise(SIGSEGV);
    break;
  case HOW_ABORT:
    abort();
  case HOW_EXIT:
    exit(3);
  }
  _exit(102);
}

/* Read exactly len bytes within 5 s. */
static void read_all(int fd, unsigned char *buf, size_t len)
{
  size_t got = 0;

  while (got < len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t n;

    assert_int_equal(poll(&p, 1, 5000), 1);
    n = read(fd, buf + got, len - got);
    assert_true(n > 0);
    got += (size_t)n;
  }
}

/* The bytes after "reply" must be one connection.close frame. */
static void expect_close_frame(int fd)
{
  unsigned char buf[64];
  amqp_connection_close_t *close_m;
  amqp_pool_t pool;
  amqp_bytes_t payload;
  uint32_t size;
  void *decoded = NULL;

  read_all(fd, buf, 5);
  assert_memory_equal(buf, "reply", 5);
  read_all(fd, buf, 7);
  assert_int_equal(buf[0], AMQP_FRAME_METHOD);
  assert_int_equal(buf[1] << 8 | buf[2], 0); /* channel 0 */
  size = (uint32_t)buf[3] << 24 | (uint32_t)buf[4] << 16 |
         (uint32_t)buf[5] << 8 | buf[6];
  assert_true(size >= 4 && size + 1 <= sizeof(buf));
  read_all(fd, buf, size + 1);
  assert_int_equal(buf[size], AMQP_FRAME_END);
  assert_int_equal((uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                       (uint32_t)buf[2] << 8 | buf[3],
                   AMQP_CONNECTION_CLOSE_METHOD);
  init_amqp_pool(&pool, 4096);
  payload.bytes = buf + 4;
  payload.len = size - 4;
  assert_int_equal(amqp_decode_method(AMQP_CONNECTION_CLOSE_METHOD, &pool,
                                      payload, &decoded),
                   AMQP_STATUS_OK);
  close_m = decoded;
  assert_int_equal(close_m->reply_code, AMQP_INTERNAL_ERROR);
  assert_int_equal(close_m->reply_text.len, strlen("rpcd worker crashed"));
  assert_memory_equal(close_m->reply_text.bytes, "rpcd worker crashed",
                      close_m->reply_text.len);
  assert_int_equal(close_m->class_id, 0);
  assert_int_equal(close_m->method_id, 0);
  empty_amqp_pool(&pool);
}

/* Answer close-ok (after a delivery, split across writes) and time the
 * child's end from there: it must not sit out its whole wait. */
static int answer_and_reap(int fd, pid_t pid, int64_t *ms)
{
  static const unsigned char delivery[] = {3, 0, 1, 0, 0, 0, 2, 'h', 'i', 0xce};
  static const unsigned char close_ok[] = {1, 0, 0,  0, 0,  0,
                                           4, 0, 10, 0, 51, 0xce};
  int64_t start = now_ms();
  int status = 0;

  assert_int_equal(write(fd, delivery, sizeof(delivery)), sizeof(delivery));
  assert_int_equal(write(fd, close_ok, 5), 5);
  nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
  assert_int_equal(write(fd, close_ok + 5, sizeof(close_ok) - 5),
                   sizeof(close_ok) - 5);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  *ms = now_ms() - start;
  return status;
}

static void run(int how, int *status, int64_t *ms)
{
  int sv[2];
  pid_t pid;

  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pid = start_child(how, sv[1], sv[0]);
  close(sv[1]);
  expect_close_frame(sv[0]);
  *status = answer_and_reap(sv[0], pid, ms);
  close(sv[0]);
}

static void test_segv_closes_then_dies_of_segv(void **state)
{
  int64_t ms;
  int status;

  (void)state;
  run(HOW_SEGV, &status, &ms);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
  /* close-ok ended the wait, not the 1000 ms limit. */
  assert_true(ms < 900);
}

static void test_abort_closes_then_dies_of_abort(void **state)
{
  int64_t ms;
  int status;

  (void)state;
  run(HOW_ABORT, &status, &ms);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_exit_from_plugin_code_closes(void **state)
{
  int64_t ms;
  int status;

  (void)state;
  run(HOW_EXIT, &status, &ms);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 3);
}

/* A broker that never answers close-ok does not keep the worker alive. */
static void test_no_close_ok_still_dies(void **state)
{
  unsigned char buf[64];
  int sv[2];
  int status = 0;
  pid_t pid;

  (void)state;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pid = start_child(HOW_SEGV, sv[1], sv[0]);
  close(sv[1]);
  expect_close_frame(sv[0]);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
  assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
  close(sv[0]);
}

/* A connection closed politely already is left alone. */
static void test_unwatched_writes_nothing(void **state)
{
  unsigned char buf[64];
  int sv[2];
  int status = 0;
  pid_t pid;

  (void)state;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pid = start_child(HOW_UNWATCHED, sv[1], sv[0]);
  close(sv[1]);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
  read_all(sv[0], buf, 5);
  assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
  close(sv[0]);
}

int main(void)
{
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_segv_closes_then_dies_of_segv),
      cmocka_unit_test(test_abort_closes_then_dies_of_abort),
      cmocka_unit_test(test_exit_from_plugin_code_closes),
      cmocka_unit_test(test_no_close_ok_still_dies),
      cmocka_unit_test(test_unwatched_writes_nothing),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
