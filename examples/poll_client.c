/* SPDX-License-Identifier: MIT */
/*
 * Drive the rpcd client SDK from a poll(2) loop: keep IN_FLIGHT calls of
 * fib(n) in flight on one connection until CALLS have completed, submitting
 * the next call from each completion callback.
 *
 *   poll_client URI QUEUE [CALLS [IN_FLIGHT]]
 *
 * Exits 0 when every call returned the right number.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <rpcd/client.h>

struct app {
  unsigned long calls;     /* to make */
  unsigned long submitted; /* so far */
  unsigned long completed;
  unsigned long failed;
};

static const unsigned long fib_of[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55};

/* What one call needs in its callback. */
struct call {
  struct app *app;
  unsigned long n;
};

static int submit_next(rpcd_client *c, struct app *app);

static void on_done(rpcd_client *c, rpcd_call_id id, int status,
                    rpcd_reply *reply, void *user)
{
  struct call *call = user;
  struct app *app = call->app;
  unsigned long n = call->n;
  const void *data;
  size_t len;

  app->completed++;
  if (status != RPCD_OK) {
    fprintf(stderr, "call %llu: %s: %s\n", (unsigned long long)id,
            rpcd_strerror(status), rpcd_client_last_error(c));
    app->failed++;
  } else {
    msgpack_unpacked u;

    /* The reply belongs to the callback. */
    rpcd_reply_result(reply, &data, &len);
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, data, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        u.data.via.u64 != fib_of[n]) {
      fprintf(stderr, "call %llu: wrong result\n", (unsigned long long)id);
      app->failed++;
    }
    msgpack_unpacked_destroy(&u);
  }
  rpcd_reply_free(reply);
  free(call);
  /* Keep the window full: submitting from a callback is allowed. */
  if (app->submitted < app->calls)
    submit_next(c, app);
}

static int submit_next(rpcd_client *c, struct app *app)
{
  struct call *call = malloc(sizeof(*call));
  msgpack_sbuffer params;
  msgpack_packer pk;
  int rc;

  app->submitted++;
  if (!call) {
    app->failed++;
    app->completed++;
    return RPCD_ENOMEM;
  }
  call->app = app;
  call->n = app->submitted % 11;

  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_unsigned_long(&pk, call->n);
  rc = rpcd_client_submit(c, "fib", params.data, params.size, 10000, on_done,
                          call, NULL);
  msgpack_sbuffer_destroy(&params);
  if (rc != RPCD_OK) {
    /* The callback never runs for a call that was not submitted. */
    fprintf(stderr, "submit: %s\n", rpcd_client_last_error(c));
    free(call);
    app->failed++;
    app->completed++;
  }
  return rc;
}

int main(int argc, char **argv)
{
  struct app app = {0, 0, 0, 0};
  unsigned long in_flight = 16;
  rpcd_client *c;
  unsigned long i;

  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: %s URI QUEUE [CALLS [IN_FLIGHT]]\n", argv[0]);
    return 2;
  }
  app.calls = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
  if (argc > 4)
    in_flight = strtoul(argv[4], NULL, 10);
  if (rpcd_client_new(&c) != RPCD_OK ||
      rpcd_client_set_queue(c, argv[2]) != RPCD_OK)
    return 1;
  if (rpcd_client_connect(c, argv[1]) != RPCD_OK) {
    fprintf(stderr, "connect: %s\n", rpcd_client_last_error(c));
    rpcd_client_free(c);
    return 1;
  }
  for (i = 0; i < in_flight && app.submitted < app.calls; i++)
    submit_next(c, &app);

  while (app.completed < app.calls) {
    struct pollfd p;
    int timeout = rpcd_client_timeout_ms(c);

    p.fd = rpcd_client_fd(c);
    p.events = POLLIN;
    p.revents = 0;
    /* timeout 0: data is buffered already, or callbacks are due. */
    if (timeout != 0 && poll(&p, p.fd >= 0 ? 1 : 0, timeout) < 0 &&
        errno != EINTR)
      break;
    if (rpcd_client_process(c) == RPCD_ECONNLOST) {
      fprintf(stderr, "connection lost: %s\n", rpcd_client_last_error(c));
      break;
    }
  }
  printf("%lu calls, %lu failed\n", app.completed, app.failed);
  rpcd_client_free(c);
  return app.completed == app.calls && app.failed == 0 ? 0 : 1;
}
