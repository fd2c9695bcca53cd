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

int rpcd__stats_handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  const rpcd_scoreboard *sb = ctx->state;
  const rpcd_server_counters *c = &sb->server;
  uint32_t live = 0;
  uint64_t calls = 0;
  uint64_t errors = 0;
  unsigned i;
  int rc = 0;

  for (i = 0; i < sb->n_slots; i++) {
    const rpcd_slot *s = &sb->slots[i];

    if (atomic_load(&s->state) == RPCD_SLOT_FREE || !atomic_load(&s->pid))
      continue;
    live++;
    calls += atomic_load(&s->calls);
    errors += atomic_load(&s->errors);
  }
  rc |= msgpack_pack_map(result, 2);
  rc |= pack_key(result, "server");
  rc |= msgpack_pack_map(result, 8);
  rc |= pack_u64(result, "workers", live);
  rc |= pack_u64(result, "calls", calls);
  rc |= pack_u64(result, "errors", errors);
  rc |= pack_u64(result, "crashes", atomic_load(&c->crashes));
  rc |= pack_u64(result, "poison", atomic_load(&c->poison));
  rc |= pack_u64(result, "timeouts", atomic_load(&c->timeouts));
  rc |= pack_u64(result, "reloads", atomic_load(&c->reloads));
  rc |= pack_u64(result, "restarts", atomic_load(&c->restarts));
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
