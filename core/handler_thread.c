/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* eventfd */
#include "handler_thread.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct rpcd_handler_thread {
  const rpcd_handler_config *cfg;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int done_fd; /* eventfd: written once per finished job */
  /* Guarded by lock. */
  const rpcd_message_in *in;
  rpcd_message_out *out;
  bool has_job;
  bool quit;
  /* Main thread only. */
  bool busy;
};

static void *run(void *arg)
{
  rpcd_handler_thread *t = arg;
  uint64_t one = 1;

  pthread_mutex_lock(&t->lock);
  for (;;) {
    while (!t->has_job && !t->quit)
      pthread_cond_wait(&t->wake, &t->lock);
    if (t->quit)
      break;
    pthread_mutex_unlock(&t->lock);
    rpcd__handle_message(t->cfg, t->in, t->out);
    pthread_mutex_lock(&t->lock);
    t->has_job = false;
    /* The write happens after the result is complete; the main thread's
     * read of the eventfd and its taking of the lock order the two. */
    if (write(t->done_fd, &one, sizeof(one)) != sizeof(one))
      abort(); /* an eventfd write of 1 cannot fail short of a bug */
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

int rpcd__handler_thread_start(const rpcd_handler_config *cfg,
                               rpcd_handler_thread **out)
{
  rpcd_handler_thread *t;

  *out = NULL;
  t = calloc(1, sizeof(*t));
  if (!t)
    return RPCD_ENOMEM;
  t->cfg = cfg;
  t->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->done_fd < 0)
    goto fail;
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->wake, NULL);
  if (pthread_create(&t->thread, NULL, run, t) != 0) {
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    close(t->done_fd);
    goto fail;
  }
  *out = t;
  return RPCD_OK;

fail:
  free(t);
  return RPCD_ENOMEM;
}

void rpcd__handler_thread_submit(rpcd_handler_thread *t,
                                 const rpcd_message_in *in,
                                 rpcd_message_out *out)
{
  pthread_mutex_lock(&t->lock);
  t->in = in;
  t->out = out;
  t->has_job = true;
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->lock);
  t->busy = true;
}

int rpcd__handler_thread_fd(const rpcd_handler_thread *t)
{
  return t->done_fd;
}

bool rpcd__handler_thread_collect(rpcd_handler_thread *t)
{
  uint64_t n;
  bool done;

  if (!t->busy)
    return false;
  if (read(t->done_fd, &n, sizeof(n)) != sizeof(n))
    return false; /* EAGAIN: still running */
  pthread_mutex_lock(&t->lock);
  done = !t->has_job;
  pthread_mutex_unlock(&t->lock);
  t->busy = !done;
  return done;
}

bool rpcd__handler_thread_busy(const rpcd_handler_thread *t)
{
  return t->busy;
}

void rpcd__handler_thread_stop(rpcd_handler_thread *t)
{
  if (!t)
    return;
  pthread_mutex_lock(&t->lock);
  t->quit = true;
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->thread, NULL);
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
  close(t->done_fd);
  free(t);
}
