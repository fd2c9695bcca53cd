/* SPDX-License-Identifier: MIT */
/*
 * Drive an rpcd client from a libuv loop (header only, in the manner of
 * hiredis's adapters/libuv.h). The adapter watches rpcd_client_fd() with a
 * uv_poll_t and the next deadline with a uv_timer_t, and calls
 * rpcd_client_process() when either fires; completion callbacks then run
 * on the loop's thread.
 *
 *   rpcd_uv a;
 *   rpcd_uv_attach(&a, uv_default_loop(), client);
 *   rpcd_client_submit(client, ...);
 *   rpcd_uv_update(&a);                 // after submitting from outside
 *   uv_run(uv_default_loop(), UV_RUN_DEFAULT);
 *
 * After submitting from outside a completion callback, call
 * rpcd_uv_update() so the timer covers the new call's deadline (from a
 * callback it is done for you). The loop runs while calls are in flight
 * and stops once nothing is outstanding; rpcd_uv_detach() stops watching and
 * closes the handles (run the loop once more to finish closing them before the
 * rpcd_uv goes away). When the connection is lost, every call fails with
 * RPCD_ECONNLOST through its callback; after rpcd_client_connect() again,
 * detach and attach anew (the socket changed).
 */
#ifndef RPCD_ADAPTERS_LIBUV_H
#define RPCD_ADAPTERS_LIBUV_H

#include <string.h>

#include <uv.h>

#include <rpcd/client.h>

typedef struct rpcd_uv {
  rpcd_client *client;
  uv_poll_t poll;
  uv_timer_t timer;
  int fd;          /* the fd being watched; -1: none */
  int poll_active; /* poll started */
} rpcd_uv;

static inline void rpcd_uv_update(rpcd_uv *a);

static inline void rpcd_uv__on_poll(uv_poll_t *h, int status, int events)
{
  rpcd_uv *a = (rpcd_uv *)h->data;

  (void)status;
  (void)events;
  rpcd_client_process(a->client);
  rpcd_uv_update(a);
}

static inline void rpcd_uv__on_timer(uv_timer_t *h)
{
  rpcd_uv *a = (rpcd_uv *)h->data;

  rpcd_client_process(a->client);
  rpcd_uv_update(a);
}

/* Re-arm the fd watch and the timer from the client's state: the fd is
 * watched while calls are pending, the timer set to the next deadline. */
static inline void rpcd_uv_update(rpcd_uv *a)
{
  int fd = rpcd_client_fd(a->client);
  int t = rpcd_client_timeout_ms(a->client);
  /* Watched while anything is outstanding: calls, or a queue check. */
  int want =
      fd >= 0 && fd == a->fd && (rpcd_client_pending(a->client) > 0 || t >= 0);

  if (want && !a->poll_active)
    a->poll_active =
        uv_poll_start(&a->poll, UV_READABLE, rpcd_uv__on_poll) == 0;
  else if (!want && a->poll_active) {
    uv_poll_stop(&a->poll);
    a->poll_active = 0;
  }
  if (t >= 0)
    uv_timer_start(&a->timer, rpcd_uv__on_timer, (uint64_t)t, 0);
  else
    uv_timer_stop(&a->timer);
}

/*
 * Watch a connected client on `loop`. \return 0, or a libuv error (the
 * client is not connected: UV_EBADF)
 */
static inline int rpcd_uv_attach(rpcd_uv *a, uv_loop_t *loop,
                                 rpcd_client *client)
{
  int rc;

  memset(a, 0, sizeof(*a));
  a->client = client;
  a->fd = rpcd_client_fd(client);
  if (a->fd < 0)
    return UV_EBADF;
  rc = uv_poll_init(loop, &a->poll, a->fd);
  if (rc != 0)
    return rc;
  rc = uv_timer_init(loop, &a->timer);
  if (rc != 0) {
    uv_close((uv_handle_t *)&a->poll, NULL);
    return rc;
  }
  a->poll.data = a;
  a->timer.data = a;
  rpcd_uv_update(a);
  return 0;
}

/* Stop watching; the handles close on the loop's next run. */
static inline void rpcd_uv_detach(rpcd_uv *a)
{
  uv_poll_stop(&a->poll);
  uv_timer_stop(&a->timer);
  uv_close((uv_handle_t *)&a->poll, NULL);
  uv_close((uv_handle_t *)&a->timer, NULL);
  a->poll_active = 0;
}

#endif /* RPCD_ADAPTERS_LIBUV_H */
