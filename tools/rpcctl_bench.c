/* SPDX-License-Identifier: MIT */
/*
 * rpcctl bench: keep IN_FLIGHT calls going on each of K connections, driven
 * by the SDK's event loop (rpcd_client_submit, _fd, _timeout_ms, _process)
 * from one poll(2) loop, so each call's latency is its own, from submission
 * to its completion callback, whatever the others do.
 */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/status.h>

#include "rpcctl.h"

#define DEFAULT_CALLS 10000u
#define MAX_CALLS 100000000u /* latencies kept: 800 MB at most */
#define MAX_IN_FLIGHT 100000u
#define MAX_CONNECTIONS 64u
#define MAX_DURATION_S 86400u
#define N_STATUS 32 /* errors by kind: indexed by -status */
#define PROGRESS_MS 200

typedef struct bench bench;

typedef struct bench_conn {
  bench *b;
  rpcd_client *client;
  unsigned long in_flight;
  bool dead; /* a failure that leaves no connection to call on */
} bench_conn;

/* One call's start, handed to its callback. */
typedef struct bench_call {
  bench_conn *conn;
  double start_ms;
} bench_call;

struct bench {
  const char *method;
  const msgpack_sbuffer *params;
  unsigned timeout_ms;
  unsigned long calls;     /* to count; 0 with --duration */
  double duration_ms;      /* with --duration */
  unsigned long warmup;    /* completed first, not counted */
  unsigned long in_flight; /* per connection */
  unsigned long sent;
  unsigned long completed; /* warmup included */
  unsigned long counted;
  unsigned long errors;
  unsigned long by_status[N_STATUS];
  double *latency; /* ms, of counted calls that got a reply */
  size_t n_latency;
  size_t cap_latency;
  bool stop;
  double t0; /* when counting began */
  double t_end;
  int first_rc;
  char first_err[512];
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
  (void)sig;
  interrupted = 1;
}

/* Sending goes on until the count is reached, the time is up, or a
 * failure leaves nothing to send on. */
static bool more_to_send(const bench *b)
{
  if (b->stop || interrupted)
    return false;
  if (b->calls)
    return b->sent < b->warmup + b->calls;
  return b->completed <= b->warmup || now_ms() - b->t0 < b->duration_ms;
}

/* Failures after which nothing more can succeed on that connection. A
 * malformed or oversized reply fails its own call only. */
static bool fatal(int rc)
{
  return rc != RPCD_OK && rc != RPCD_EREMOTE && rc != RPCD_ETIMEDOUT &&
         rc != RPCD_EPROTO && rc != RPCD_ETOOBIG;
}

static void record_error(bench *b, rpcd_client *client, int rc,
                         const rpcd_reply *reply)
{
  b->errors++;
  b->by_status[-rc < N_STATUS ? -rc : 0]++;
  if (b->first_rc != RPCD_OK)
    return;
  b->first_rc = rc;
  if (rc == RPCD_EREMOTE && reply) {
    int code = rpcd_reply_error_code(reply);

    snprintf(b->first_err, sizeof(b->first_err), "error %d (%s): %s", code,
             rpcd_errcode_name(code), rpcd_reply_error_message(reply));
  } else {
    snprintf(b->first_err, sizeof(b->first_err), "%s: %s", rpcd_strerror(rc),
             rpcd_client_last_error(client));
  }
}

static void submit_more(bench *b, bench_conn *conn);

static void on_done(rpcd_client *client, rpcd_call_id id, int status,
                    rpcd_reply *reply, void *user)
{
  bench_call *call = user;
  bench_conn *conn = call->conn;
  bench *b = conn->b;
  double ms = now_ms() - call->start_ms;

  (void)id;
  conn->in_flight--;
  b->completed++;
  if (b->warmup && b->completed == b->warmup)
    b->t0 = now_ms(); /* counting starts after the last uncounted call */
  else if (b->completed > b->warmup) {
    b->counted++;
    if (status == RPCD_OK || status == RPCD_EREMOTE) {
      if (b->n_latency == b->cap_latency) {
        size_t cap = b->cap_latency ? b->cap_latency * 2 : 4096;
        double *grown = realloc(b->latency, cap * sizeof(*grown));

        if (grown) {
          b->latency = grown;
          b->cap_latency = cap;
        }
      }
      if (b->n_latency < b->cap_latency)
        b->latency[b->n_latency++] = ms;
    }
    if (status != RPCD_OK)
      record_error(b, client, status, reply);
  }
  if (fatal(status))
    conn->dead = true;
  rpcd_reply_free(reply);
  free(call);
  /* Keep the window full from the callback, as an event-loop client does:
   * the SDK writes the requests submitted by one rpcd_client_process()'s
   * callbacks together when it returns. */
  submit_more(b, conn);
}

static void submit_more(bench *b, bench_conn *conn)
{
  while (!conn->dead && conn->in_flight < b->in_flight && more_to_send(b)) {
    bench_call *call = malloc(sizeof(*call));
    int rc;

    if (!call) {
      b->stop = true;
      return;
    }
    call->conn = conn;
    call->start_ms = now_ms();
    rc =
        rpcd_client_submit(conn->client, b->method, b->params->data,
                           b->params->size, b->timeout_ms, on_done, call, NULL);
    b->sent++;
    if (rc != RPCD_OK) {
      /* The callback never runs for a call that was not submitted. */
      free(call);
      b->completed++;
      if (b->completed > b->warmup) {
        b->counted++;
        record_error(b, conn->client, rc, NULL);
      }
      conn->dead = true;
      return;
    }
    conn->in_flight++;
  }
}

static void progress(const bench *b, double now)
{
  double elapsed = now - b->t0;
  double done = b->calls ? (double)b->counted / (double)b->calls
                         : elapsed / b->duration_ms;
  int filled = (int)(fmin(done, 1.0) * 30);

  fprintf(stderr, "\r[%-30.*s] %3.0f%%  %lu calls  %.0f calls/s ", filled,
          "##############################", fmin(done, 1.0) * 100, b->counted,
          elapsed > 0 ? (double)b->counted * 1e3 / elapsed : 0.0);
  fflush(stderr);
}

static void run(bench *b, bench_conn *conns, unsigned k)
{
  struct pollfd fds[MAX_CONNECTIONS];
  bool tty = isatty(STDOUT_FILENO);
  double last_progress = 0;
  unsigned i;

  b->t0 = now_ms();
  for (;;) {
    unsigned long in_flight = 0;
    int timeout = PROGRESS_MS;

    for (i = 0; i < k; i++) {
      submit_more(b, &conns[i]);
      in_flight += conns[i].in_flight;
    }
    if (in_flight == 0 && !more_to_send(b))
      break;
    if (in_flight == 0 && (b->stop || interrupted))
      break;
    for (i = 0; i < k; i++) {
      int t = rpcd_client_timeout_ms(conns[i].client);

      fds[i].fd = rpcd_client_fd(conns[i].client);
      fds[i].events = POLLIN;
      fds[i].revents = 0;
      if (t >= 0 && t < timeout)
        timeout = t;
    }
    if (timeout > 0)
      poll(fds, k, timeout);
    for (i = 0; i < k; i++) {
      if (rpcd_client_process(conns[i].client) == RPCD_ECONNLOST)
        conns[i].dead = true;
    }
    if (tty && now_ms() - last_progress >= PROGRESS_MS) {
      last_progress = now_ms();
      progress(b, last_progress);
    }
    if (in_flight > 0 && b->stop)
      continue;
    /* Every connection dead: nothing more will be sent. */
    for (i = 0; i < k && conns[i].dead; i++)
      ;
    if (i == k)
      b->stop = true;
  }
  b->t_end = now_ms();
  if (tty)
    fputs("\r\033[K", stderr);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted v[0..n), n > 0; p in per mille. */
static double percentile(const double *v, size_t n, unsigned p)
{
  uint64_t rank = ((uint64_t)p * n + 999) / 1000;

  return v[(rank ? rank : 1) - 1];
}

/* A text histogram: calls per power-of-two latency bucket. */
static void print_histogram(const double *v, size_t n)
{
  unsigned long count[24] = {0};
  unsigned long most = 0;
  int first = -1;
  int last = 0;
  size_t i;
  int k;

  for (i = 0; i < n; i++) {
    /* bucket k holds latencies up to 2^k / 64 ms (1/64 ms to 131 s) */
    k = 0;
    while (k < 23 && v[i] > ldexp(1.0, k) / 64)
      k++;
    count[k]++;
  }
  for (k = 0; k < 24; k++) {
    if (!count[k])
      continue;
    if (first < 0)
      first = k;
    last = k;
    if (count[k] > most)
      most = count[k];
  }
  printf("histogram:\n");
  for (k = first; first >= 0 && k <= last; k++)
    printf("  <= %9.3f ms %-40.*s %lu\n", ldexp(1.0, k) / 64,
           (int)(count[k] * 40 / most),
           "########################################", count[k]);
}

static void print_results(bench *b, bool json)
{
  double seconds = (b->t_end - b->t0) / 1e3;
  double rate = seconds > 0 ? (double)b->counted / seconds : 0;
  static const unsigned pm[] = {500, 900, 990, 999};
  static const char *const names[] = {"p50", "p90", "p99", "p999"};
  double pct[4] = {0};
  double max = 0;
  int i;
  bool first = true;

  if (b->n_latency) {
    qsort(b->latency, b->n_latency, sizeof(*b->latency), cmp_double);
    for (i = 0; i < 4; i++)
      pct[i] = percentile(b->latency, b->n_latency, pm[i]);
    max = b->latency[b->n_latency - 1];
  }
  if (json) {
    printf("{\"calls\":%lu,\"errors\":%lu,\"errors_by_kind\":{", b->counted,
           b->errors);
    for (i = 0; i < N_STATUS; i++) {
      if (!b->by_status[i])
        continue;
      printf("%s\"%s\":%lu", first ? "" : ",", rpcd_status_name(-i),
             b->by_status[i]);
      first = false;
    }
    printf("},\"seconds\":%.3f,\"calls_per_s\":%.1f", seconds, rate);
    for (i = 0; i < 4; i++)
      printf(",\"%s_us\":%.0f", names[i], pct[i] * 1e3);
    printf(",\"max_us\":%.0f}\n", max * 1e3);
    return;
  }
  printf("calls: %lu\n", b->counted);
  printf("errors: %lu\n", b->errors);
  for (i = 0; i < N_STATUS; i++)
    if (b->by_status[i])
      printf("  %s: %lu\n", rpcd_status_name(-i), b->by_status[i]);
  printf("seconds: %.3f\n", seconds);
  printf("calls_per_s: %.1f\n", rate);
  if (!b->n_latency) {
    printf("p50_ms: -\np90_ms: -\np99_ms: -\np999_ms: -\nmax_ms: -\n");
    return;
  }
  for (i = 0; i < 4; i++)
    printf("%s_ms: %.3f\n", names[i], pct[i]);
  printf("max_ms: %.3f\n", max);
  print_histogram(b->latency, b->n_latency);
}

int cmd_bench(const options *opt, int argc, char **argv)
{
  bench_conn conns[MAX_CONNECTIONS];
  msgpack_sbuffer params;
  struct sigaction sa;
  struct sigaction old_sa;
  unsigned long k = 1;
  unsigned long seconds = 0;
  const char *v;
  bool named = false;
  bool json = false;
  bool n_given = false;
  bench b;
  int i;
  int r;
  int rc;

  memset(&b, 0, sizeof(b));
  memset(conns, 0, sizeof(conns));
  b.calls = DEFAULT_CALLS;
  b.in_flight = 1;
  b.timeout_ms = opt->timeout_ms;
  for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--named") == 0 || strcmp(argv[i], "--json") == 0) {
      *(argv[i][2] == 'n' ? &named : &json) = true;
      continue;
    }
    if ((r = option_value(argc, argv, &i, "-n", &v)) > 0) {
      if (!parse_count(v, MAX_CALLS, &b.calls))
        return usage_error("bench: -n takes a number of calls from 1 to %u, "
                           "not \"%s\"",
                           MAX_CALLS, v);
      n_given = true;
    } else if (r == 0 && (r = option_value(argc, argv, &i, "-c", &v)) > 0) {
      if (!parse_count(v, MAX_IN_FLIGHT, &b.in_flight))
        return usage_error("bench: -c takes a number of calls in flight "
                           "from 1 to %u, not \"%s\"",
                           MAX_IN_FLIGHT, v);
    } else if (r == 0 &&
               (r = option_value(argc, argv, &i, "--duration", &v)) > 0) {
      if (!parse_count(v, MAX_DURATION_S, &seconds))
        return usage_error("bench: --duration takes seconds from 1 to %u, "
                           "not \"%s\"",
                           MAX_DURATION_S, v);
    } else if (r == 0 &&
               (r = option_value(argc, argv, &i, "--connections", &v)) > 0) {
      if (!parse_count(v, MAX_CONNECTIONS, &k))
        return usage_error("bench: --connections takes a number from 1 to "
                           "%u, not \"%s\"",
                           MAX_CONNECTIONS, v);
    } else if (r == 0 &&
               (r = option_value(argc, argv, &i, "--warmup", &v)) > 0) {
      if (strcmp(v, "0") != 0 && !parse_count(v, MAX_CALLS, &b.warmup))
        return usage_error("bench: --warmup takes a number of calls from 0 "
                           "to %u, not \"%s\"",
                           MAX_CALLS, v);
    } else if (r < 0) {
      return usage_error("bench: option \"%s\" needs a value", argv[i]);
    } else {
      return usage_error("unknown option \"%s\" for \"bench\"", argv[i]);
    }
  }
  if (n_given && seconds)
    return usage_error("bench: -n and --duration do not go together");
  if (seconds) {
    b.calls = 0;
    b.duration_ms = (double)seconds * 1e3;
  }
  if (i >= argc)
    return usage_error("bench: missing METHOD");
  b.method = argv[i++];
  if (!method_valid(b.method))
    return invalid_method(b.method);

  msgpack_sbuffer_init(&params);
  rc = pack_params(&params, named, argc - i, argv + i);
  if (rc != 0)
    goto out;
  b.params = &params;
  for (r = 0; r < (int)k; r++) {
    conns[r].b = &b;
    rc = client_open(opt, &conns[r].client);
    if (rc != 0)
      goto out;
  }

  /* SIGINT stops sending; the calls in flight are still collected and the
   * numbers printed. A second SIGINT kills as usual. An ignored SIGINT (a
   * background job of a script) stays ignored. */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, NULL, &old_sa);
  if (old_sa.sa_handler != SIG_IGN)
    sigaction(SIGINT, &sa, NULL);
  run(&b, conns, (unsigned)k);
  sigaction(SIGINT, &old_sa, NULL);

  /* No numbers when the very first call failed (no server, say). */
  if (b.n_latency > 0 || b.counted > 1 || interrupted)
    print_results(&b, json);
  rc = 0;
  if (b.errors > 0) {
    fflush(stdout);
    if (b.errors == 1 && b.counted == 1)
      errorf("bench \"%s\": %s", b.method, b.first_err);
    else
      errorf("bench \"%s\": %lu of %lu calls failed; first error: %s", b.method,
             b.errors, b.counted, b.first_err);
    rc = exit_status(b.first_rc);
  }
  if (interrupted) {
    fflush(stdout);
    errorf("bench \"%s\": interrupted after %lu calls", b.method, b.counted);
    rc = EXIT_INTERRUPTED;
  }
out:
  for (r = 0; r < (int)k; r++)
    rpcd_client_free(conns[r].client);
  free(b.latency);
  msgpack_sbuffer_destroy(&params);
  return rc;
}
