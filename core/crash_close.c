/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE /* sigaltstack, SA_ONSTACK */
#include "crash_close.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Long enough for a loaded broker to route what was published and answer;
 * short beside the supervisor's restart of the worker. */
#define CLOSE_WAIT_MS 1000

/*
 * connection.close on channel 0 (AMQP 0-9-1, 4.2.3 and 1.4.2.7), built by
 * hand because rabbitmq-c allocates: frame type 1, channel 0, payload size
 * 30; class 10, method 50, reply-code 541 (internal-error), reply-text
 * "rpcd worker crashed" (19 bytes), class-id 0, method-id 0; frame-end.
 */
static const unsigned char close_frame[] = {
    1,   0,   0,   0,   0,   0,   30,  0,   10,  0,   50,  0x02, 0x1d,
    19,  'r', 'p', 'c', 'd', ' ', 'w', 'o', 'r', 'k', 'e', 'r',  ' ',
    'c', 'r', 'a', 's', 'h', 'e', 'd', 0,   0,   0,   0,   0xce};

/* connection.close-ok: class 10, method 51, no arguments. */
static const unsigned char close_ok_frame[] = {1, 0, 0,  0, 0,  0,
                                               4, 0, 10, 0, 51, 0xce};

_Static_assert(sizeof(close_frame) == 7 + 30 + 1, "header, payload, end");

static atomic_int watched_fd = -1;

/* 64 KiB: MINSIGSTKSZ is not a constant in current glibc, and the handler
 * needs little. */
static char alt_stack[64 * 1024];

static int64_t mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where rabbitmq-c stopped reading need not be a frame boundary, so
 * close-ok is looked for as bytes, not parsed as frames: a body holding
 * these twelve bytes only ends the wait early. */
static bool has_close_ok(const unsigned char *p, size_t len)
{
  size_t i;

  for (i = 0; i + sizeof(close_ok_frame) <= len; i++)
    if (memcmp(p + i, close_ok_frame, sizeof(close_ok_frame)) == 0)
      return true;
  return false;
}

static void close_politely(void)
{
  static unsigned char window[4096];
  size_t kept = 0;
  int fd = atomic_exchange(&watched_fd, -1);
  size_t sent = 0;
  int64_t deadline;

  if (fd < 0)
    return;
  deadline = mono_ms() + CLOSE_WAIT_MS;
  while (sent < sizeof(close_frame)) {
    ssize_t n = send(fd, close_frame + sent, sizeof(close_frame) - sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    struct pollfd p = {.fd = fd, .events = POLLOUT};

    if (n > 0) {
      sent += (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return;
    if (mono_ms() >= deadline || poll(&p, 1, (int)(deadline - mono_ms())) <= 0)
      return;
  }
  /* Deliveries still on their way come first, then close-ok: once that
   * arrived, the broker has routed everything published before. */
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - mono_ms();
    ssize_t n;

    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      return;
    n = recv(fd, window + kept, sizeof(window) - kept, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return;
    if (n < 0)
      continue;
    kept += (size_t)n;
    if (has_close_ok(window, kept))
      return;
    /* Keep the tail that may hold the start of close-ok. */
    if (kept >= sizeof(close_ok_frame)) {
      size_t tail = sizeof(close_ok_frame) - 1;

      memmove(window, window + kept - tail, tail);
      kept = tail;
    }
  }
}

static void on_fatal_signal(int sig)
{
  int saved = errno;

  close_politely();
  /* SA_RESETHAND restored the default action: the signal, raised again,
   * ends the process once this returns (a fault would recur anyway), so
   * that the supervisor sees the real cause. */
  raise(sig);
  errno = saved;
}

static void on_exit_hook(void)
{
  /* Still watched at exit(): plugin code ended the process with the
   * connection open. */
  close_politely();
}

int rpcd__crash_close_install(void)
{
  static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
  struct sigaction sa;
  stack_t ss;
  size_t i;

  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0)
    return -1;
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
    if (sigaction(fatal[i], &sa, NULL) != 0)
      return -1;
  return atexit(on_exit_hook) == 0 ? 0 : -1;
}

void rpcd__crash_close_watch(int fd)
{
  atomic_store(&watched_fd, fd);
}
