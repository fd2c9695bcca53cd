/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <stdatomic.h>
#include <string.h>

static int pack_key(msgpack_packer *pk, const char *key)
{
  return msgpack_pack_str_with_body(pk, key, strlen(key));
}

static int pack_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
  return pack_key(pk, key) | msgpack_pack_uint64(pk, v);
}

static const char *state_name(const rpcd_slot *s)
{
  if (atomic_load(&s->state) == RPCD_SLOT_RUNNING)
    return "running";
  return atomic_load(&s->ready) ? "idle" : "starting";
}

static int pack_worker(msgpack_packer *pk, const rpcd_slot *s)
{
  const char *state = state_name(s);
  int rc = 0;

  rc |= msgpack_pack_map(pk, 6);
  rc |= pack_u64(pk, "pid", (uint64_t)atomic_load(&s->pid));
  rc |= pack_u64(pk, "generation", atomic_load(&s->generation));
  rc |= pack_u64(pk, "calls", atomic_load(&s->calls));
  rc |= pack_u64(pk, "errors", atomic_load(&s->errors));
  rc |= pack_key(pk, "started");
  rc |= msgpack_pack_int64(pk, atomic_load(&s->started_ms));
  rc |= pack_key(pk, "state");
  rc |= msgpack_pack_str_with_body(pk, state, strlen(state));
  return rc;
}

static int pack_codes(msgpack_packer *pk, const _Atomic uint64_t *by_code)
{
  uint32_t n = 0;
  int mc;
  int rc = 0;

  for (mc = 0; mc < RPCD_MC_COUNT; mc++)
    n += atomic_load(&by_code[mc]) > 0;
  rc |= msgpack_pack_map(pk, n);
  for (mc = 0; mc < RPCD_MC_COUNT && n > 0; mc++) {
    uint64_t v = atomic_load(&by_code[mc]);

    if (v == 0)
      continue;
    rc |= pack_u64(pk, rpcd__metric_code_name(mc), v);
    n--;
  }
  /* Counters only grow: one that became non-zero between the passes is
   * left for the next call, and the map holds exactly n pairs. */
  return rc;
}

static int pack_method(msgpack_packer *pk, const rpcd_metrics *m, int ix)
{
  const rpcd_method_metrics *e = &m->methods[ix];
  uint64_t calls = 0;
  uint64_t time_us = atomic_load(&e->time_us);
  char text[sizeof(e->err_text)];
  int64_t err_time;
  int err_code;
  int mc;
  int b;
  int rc = 0;

  for (mc = 0; mc < RPCD_MC_COUNT; mc++)
    calls += atomic_load(&e->calls[mc]);
  rc |= msgpack_pack_map(pk, 8);
  rc |= pack_key(pk, "name");
  rc |= msgpack_pack_str_with_body(pk, e->name, strlen(e->name));
  rc |= pack_u64(pk, "calls", calls);
  rc |= pack_u64(pk, "errors", calls - atomic_load(&e->calls[RPCD_MC_OK]));
  rc |= pack_key(pk, "codes");
  rc |= pack_codes(pk, e->calls);
  rc |= pack_u64(pk, "in_flight", atomic_load(&e->in_flight));
  rc |= pack_u64(pk, "time_us", time_us);
  /* Buckets by upper bound in microseconds, the last unbounded (nil). */
  rc |= pack_key(pk, "histogram");
  rc |= msgpack_pack_array(pk, RPCD_METRICS_BUCKETS);
  for (b = 0; b < RPCD_METRICS_BUCKETS; b++) {
    rc |= msgpack_pack_array(pk, 2);
    if (b + 1 < RPCD_METRICS_BUCKETS)
      rc |= msgpack_pack_uint64(pk, rpcd__metrics_bucket_us[b]);
    else
      rc |= msgpack_pack_nil(pk);
    rc |= msgpack_pack_uint64(pk, atomic_load(&e->buckets[b]));
  }
  rc |= pack_key(pk, "last_error");
  if (rpcd__metrics_last_error(m, ix, &err_code, &err_time, text,
                               sizeof(text))) {
    rc |= msgpack_pack_map(pk, 3);
    rc |= pack_key(pk, "code");
    rc |= msgpack_pack_int(pk, err_code);
    rc |= pack_key(pk, "message");
    rc |= msgpack_pack_str_with_body(pk, text, strlen(text));
    rc |= pack_key(pk, "time");
    rc |= msgpack_pack_int64(pk, err_time);
  } else {
    rc |= msgpack_pack_nil(pk);
  }
  return rc;
}

static int pack_methods(msgpack_packer *pk, const rpcd_metrics *m)
{
  uint32_t n = 0;
  int i;
  int rc = 0;

  for (i = 0; i < RPCD_METRICS_METHODS; i++)
    n += atomic_load_explicit(&m->methods[i].state, memory_order_acquire) == 2;
  rc |= msgpack_pack_array(pk, n);
  for (i = 0; i < RPCD_METRICS_METHODS && n > 0; i++) {
    if (atomic_load_explicit(&m->methods[i].state, memory_order_acquire) != 2)
      continue;
    rc |= pack_method(pk, m, i);
    n--;
  }
  return rc;
}

int rpcd__stats_handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  const rpcd_scoreboard *sb = ctx->state;
  const rpcd_server_counters *c = &sb->server;
  uint32_t live = 0;
  unsigned i;
  int rc = 0;

  for (i = 0; i < sb->n_slots; i++) {
    const rpcd_slot *s = &sb->slots[i];

    if (atomic_load(&s->state) == RPCD_SLOT_FREE || !atomic_load(&s->pid))
      continue;
    live++;
  }
  rc |= msgpack_pack_map(result, 4);
  rc |= pack_key(result, "server");
  rc |= msgpack_pack_map(result, 11);
  rc |= pack_u64(result, "workers", live);
  /* Since the server started, whatever became of the workers. */
  rc |= pack_u64(result, "calls", atomic_load(&c->calls));
  rc |= pack_u64(result, "errors", atomic_load(&c->errors));
  rc |= pack_u64(result, "crashes", atomic_load(&c->crashes));
  rc |= pack_u64(result, "poison", atomic_load(&c->poison));
  rc |= pack_u64(result, "timeouts", atomic_load(&c->timeouts));
  rc |= pack_u64(result, "reloads", atomic_load(&c->reloads));
  rc |= pack_u64(result, "restarts", atomic_load(&c->restarts));
  rc |= pack_u64(result, "expired", atomic_load(&sb->metrics.expired));
  rc |= pack_u64(result, "dropped_replies",
                 atomic_load(&sb->metrics.dropped_replies));
  rc |= pack_key(result, "draining");
  rc |= atomic_load(&sb->draining) ? msgpack_pack_true(result)
                                   : msgpack_pack_false(result);
  rc |= pack_key(result, "methods");
  rc |= pack_methods(result, &sb->metrics);
  /* Requests answered before any method ran, by code. */
  rc |= pack_key(result, "rejected");
  rc |= pack_codes(result, sb->metrics.rejected);
  rc |= pack_key(result, "workers");
  rc |= msgpack_pack_array(result, live);
  /* A slot taken or freed between the two passes would make the array
   * disagree with its count: pack exactly `live` entries. */
  for (i = 0; i < sb->n_slots && live > 0; i++) {
    const rpcd_slot *s = &sb->slots[i];

    if (atomic_load(&s->state) == RPCD_SLOT_FREE || !atomic_load(&s->pid))
      continue;
    rc |= pack_worker(result, s);
    live--;
  }
  while (live-- > 0)
    rc |= msgpack_pack_nil(result);
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

bool rpcd__serving(const rpcd_scoreboard *sb)
{
  unsigned i;

  if (atomic_load(&sb->draining))
    return false;
  for (i = 0; i < sb->n_slots; i++) {
    const rpcd_slot *s = &sb->slots[i];

    if (atomic_load(&s->state) != RPCD_SLOT_FREE && atomic_load(&s->ready))
      return true;
  }
  return false;
}

int rpcd__health_handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  const char *status = rpcd__serving(ctx->state) ? "SERVING" : "NOT_SERVING";

  return msgpack_pack_str_with_body(result, status, strlen(status)) == 0
             ? RPCD_OK
             : RPCD_ENOMEM;
}
