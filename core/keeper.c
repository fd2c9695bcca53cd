/* SPDX-License-Identifier: MIT */
#include "keeper.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <rpcd/status.h>

#include "transport_amqp.h"

struct rpcd_keeper {
  pthread_mutex_t *lock;
  rpcd_keeper_fn fn;
  void *ctx;
  unsigned tick_ms;
  unsigned after_ms;
  pthread_t thread;
  _Atomic int64_t since; /* monotonic ms the running handler started; 0 */
  _Atomic bool quit;
};

static void *run(void *arg)
{
  rpcd_keeper *k = arg;
  struct timespec tick = {k->tick_ms / 1000,
                          (long)(k->tick_ms % 1000) * 1000000L};

  while (!atomic_load(&k->quit)) {
    int64_t since;

    nanosleep(&tick, NULL);
    since = atomic_load(&k->since);
    if (since == 0 || rpcd__now_mono_ms() - since < k->after_ms)
      continue;
    /* Busy: the main thread has finished the handler and is at work on
     * the connection again. */
    if (pthread_mutex_trylock(k->lock) != 0)
      continue;
    if (atomic_load(&k->since) == since)
      k->fn(k->ctx, rpcd__now_mono_ms() - since);
    pthread_mutex_unlock(k->lock);
  }
  return NULL;
}

int rpcd__keeper_start(pthread_mutex_t *lock, rpcd_keeper_fn fn, void *ctx,
                       unsigned tick_ms, unsigned after_ms, rpcd_keeper **out)
{
  rpcd_keeper *k = calloc(1, sizeof(*k));
  sigset_t all;
  sigset_t old;
  int rc;

  *out = NULL;
  if (!k)
    return RPCD_ENOMEM;
  k->lock = lock;
  k->fn = fn;
  k->ctx = ctx;
  k->tick_ms = tick_ms ? tick_ms : 1;
  k->after_ms = after_ms;
  atomic_init(&k->since, 0);
  atomic_init(&k->quit, false);
  /* The thread starts with every signal blocked, so that signals reach the
   * main thread, whose handlers own the worker's stop flag. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  rc = pthread_create(&k->thread, NULL, run, k);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    free(k);
    return RPCD_ENOMEM;
  }
  *out = k;
  return RPCD_OK;
}

void rpcd__keeper_handler_begin(rpcd_keeper *k)
{
  atomic_store(&k->since, rpcd__now_mono_ms());
  pthread_mutex_unlock(k->lock);
}

void rpcd__keeper_handler_end(rpcd_keeper *k)
{
  pthread_mutex_lock(k->lock);
  atomic_store(&k->since, 0);
}

void rpcd__keeper_stop(rpcd_keeper *k)
{
  if (!k)
    return;
  atomic_store(&k->quit, true);
  pthread_join(k->thread, NULL);
  free(k);
}
