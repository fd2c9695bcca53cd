/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include <rpcd/status.h>

#include "transport_amqp.h"

const uint64_t rpcd__metrics_bucket_us[RPCD_METRICS_BUCKETS] = {
    100,   250,   500,    1000,    2500,     5000,
    10000, 25000, 100000, 1000000, 10000000, UINT64_MAX};

static const int codes[RPCD_MC_COUNT] = {
    [RPCD_MC_OK] = 0,
    [RPCD_MC_PARSE] = RPCD_ERR_PARSE,
    [RPCD_MC_INVALID_REQUEST] = RPCD_ERR_INVALID_REQUEST,
    [RPCD_MC_METHOD_NOT_FOUND] = RPCD_ERR_METHOD_NOT_FOUND,
    [RPCD_MC_INVALID_PARAMS] = RPCD_ERR_INVALID_PARAMS,
    [RPCD_MC_INTERNAL] = RPCD_ERR_INTERNAL,
    [RPCD_MC_CRASHED] = RPCD_ERR_HANDLER_CRASHED,
    [RPCD_MC_DEADLINE] = RPCD_ERR_DEADLINE_EXCEEDED,
    [RPCD_MC_OVERLOADED] = RPCD_ERR_OVERLOADED,
    [RPCD_MC_UNAVAILABLE] = RPCD_ERR_UNAVAILABLE,
    [RPCD_MC_TOO_LARGE] = RPCD_ERR_PAYLOAD_TOO_LARGE,
    [RPCD_MC_UNSUPPORTED] = RPCD_ERR_UNSUPPORTED,
    [RPCD_MC_POISON] = RPCD_ERR_POISON,
    [RPCD_MC_FORBIDDEN] = RPCD_ERR_FORBIDDEN,
};

const char *rpcd__metric_code_name(int mc)
{
  static char names[RPCD_MC_COUNT][12];

  if (mc == RPCD_MC_APPLICATION)
    return "application";
  if (mc < 0 || mc >= RPCD_MC_COUNT || mc == RPCD_MC_OTHER)
    return "other";
  /* Filled on first use; every caller writes the same bytes. */
  if (!names[mc][0])
    snprintf(names[mc], sizeof(names[mc]), "%d", codes[mc]);
  return names[mc];
}

int rpcd__metric_code(int status)
{
  int mc;

  if (status >= 1)
    return RPCD_MC_APPLICATION;
  for (mc = 0; mc < RPCD_MC_APPLICATION; mc++)
    if (codes[mc] == status)
      return mc;
  return RPCD_MC_OTHER;
}

int rpcd__metrics_entry(rpcd_metrics *m, const char *method, size_t len)
{
  int i;

  if (len > RPCD_MAX_METHOD_LEN)
    return -1;
  for (i = 0; i < RPCD_METRICS_METHODS; i++) {
    rpcd_method_metrics *e = &m->methods[i];
    int state = atomic_load_explicit(&e->state, memory_order_acquire);

    if (state == 0) {
      int expected = 0;

      /* Claim it, or see who did. */
      if (atomic_compare_exchange_strong(&e->state, &expected, 1)) {
        memcpy(e->name, method, len);
        e->name[len] = '\0';
        atomic_store_explicit(&e->state, 2, memory_order_release);
        return i;
      }
      state = expected;
    }
    /* Another process is writing this name: wait the few instructions. */
    while (state == 1)
      state = atomic_load_explicit(&e->state, memory_order_acquire);
    if (strncmp(e->name, method, len) == 0 && e->name[len] == '\0')
      return i;
  }
  return -1;
}

void rpcd__metrics_begin(rpcd_metrics *m, int ix)
{
  if (ix >= 0)
    atomic_fetch_add(&m->methods[ix].in_flight, 1);
}

static void note_error(rpcd_method_metrics *e, int status, const char *error)
{
  uint32_t seq;

  /* Writers take the seqlock by moving it from even to odd; one that
   * finds it taken leaves its error out rather than wait. */
  seq = atomic_load(&e->err_seq);
  if ((seq & 1) || !atomic_compare_exchange_strong(&e->err_seq, &seq, seq + 1))
    return;
  e->err_code = status;
  e->err_time_ms = rpcd__now_unix_ms();
  snprintf(e->err_text, sizeof(e->err_text), "%s", error ? error : "");
  atomic_store_explicit(&e->err_seq, seq + 2, memory_order_release);
}

void rpcd__metrics_end(rpcd_metrics *m, int ix, int status, uint64_t time_us,
                       const char *error)
{
  rpcd_method_metrics *e;
  int b;

  if (ix < 0)
    return;
  e = &m->methods[ix];
  atomic_fetch_sub(&e->in_flight, 1);
  atomic_fetch_add(&e->calls[rpcd__metric_code(status)], 1);
  atomic_fetch_add(&e->time_us, time_us);
  for (b = 0; time_us > rpcd__metrics_bucket_us[b]; b++)
    ;
  atomic_fetch_add(&e->buckets[b], 1);
  if (status != 0)
    note_error(e, status, error);
}

void rpcd__metrics_abort(rpcd_metrics *m, int ix, int status, const char *error)
{
  rpcd_method_metrics *e;

  if (ix < 0)
    return;
  e = &m->methods[ix];
  atomic_fetch_sub(&e->in_flight, 1);
  if (status == 0)
    return;
  atomic_fetch_add(&e->calls[rpcd__metric_code(status)], 1);
  note_error(e, status, error);
}

bool rpcd__metrics_last_error(const rpcd_metrics *m, int ix, int *code,
                              int64_t *time_ms, char *text, size_t textlen)
{
  const rpcd_method_metrics *e = &m->methods[ix];
  int tries;

  for (tries = 0; tries < 100; tries++) {
    uint32_t before = atomic_load_explicit(&e->err_seq, memory_order_acquire);

    if (before == 0)
      return false;
    if (before & 1)
      continue;
    *code = e->err_code;
    *time_ms = e->err_time_ms;
    snprintf(text, textlen, "%s", e->err_text);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->err_seq, memory_order_relaxed) == before)
      return true;
  }
  return false;
}
