/* SPDX-License-Identifier: MIT */
/*
 * ok: a well-formed test plugin whose methods exercise every path of the
 * dispatcher and the host API: a result echoed back, an application error,
 * a failure without an error, no result, malformed results, scratch memory,
 * an oversized result and logging.
 */
#include "test_plugin.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static int pack_ok(int rc)
{
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

/* The first param, or NULL. */
static const msgpack_object *first_param(const msgpack_object *params)
{
  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size < 1)
    return NULL;
  return &params->via.array.ptr[0];
}

/* echo(params...) -> params, exactly as sent (an array or a map). */
static int ok_echo(void *state, rpcd_call *call, const msgpack_object *params,
                   msgpack_packer *result)
{
  (void)state;
  (void)call;
  return pack_ok(msgpack_pack_object(result, *params));
}

/* fail() -> error 7. Writes part of a result first: set_error must make the
 * host discard it. */
static int ok_fail(void *state, rpcd_call *call, const msgpack_object *params,
                   msgpack_packer *result)
{
  (void)state;
  (void)params;
  msgpack_pack_array(result, 2);
  msgpack_pack_str_with_body(result, "partial", 7);
  return host->set_error(call, 7, "the work failed: %s", "disk on fire");
}

/* fail_code(code) -> set_error(code, ...), to check the host's rules on
 * which codes a plugin may use. */
static int ok_fail_code(void *state, rpcd_call *call,
                        const msgpack_object *params, msgpack_packer *result)
{
  const msgpack_object *c = first_param(params);
  int64_t code = 0;

  (void)state;
  (void)result;
  if (c && c->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    code = (int64_t)c->via.u64;
  else if (c && c->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    code = c->via.i64;
  return host->set_error(call, (int)code, "failed with code %lld",
                         (long long)code);
}

/* internal() -> returns a status without recording an error. */
static int ok_internal(void *state, rpcd_call *call,
                       const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  (void)result;
  return RPCD_ENOMEM;
}

/* nothing() -> writes nothing, which the host turns into nil. */
static int ok_nothing(void *state, rpcd_call *call,
                      const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)call;
  (void)params;
  (void)result;
  return RPCD_OK;
}

/* bad_result() writes a truncated object (an array of 2 with one element);
 * bad_result("two") writes two objects. */
static int ok_bad_result(void *state, rpcd_call *call,
                         const msgpack_object *params, msgpack_packer *result)
{
  const msgpack_object *mode = first_param(params);
  int rc = 0;

  (void)state;
  (void)call;
  if (mode && mode->type == MSGPACK_OBJECT_STR && mode->via.str.size == 3 &&
      memcmp(mode->via.str.ptr, "two", 3) == 0) {
    rc |= msgpack_pack_int(result, 1);
    rc |= msgpack_pack_int(result, 2);
  } else {
    rc |= msgpack_pack_array(result, 2);
    rc |= msgpack_pack_int(result, 1);
  }
  return pack_ok(rc);
}

#define SCRATCH_SMALL 1000
#define SCRATCH_BIG ((size_t)8 << 20)

/* scratch() -> {"allocs": n, "misaligned": n, "corrupt": n, "zero": bool,
 * "huge_refused": bool}: many small allocations, one large one, each filled
 * with its own pattern and checked at the end (ASan catches overlaps and
 * overruns; "corrupt" catches blocks that share memory). */
static int ok_scratch(void *state, rpcd_call *call,
                      const msgpack_object *params, msgpack_packer *result)
{
  unsigned char **blocks;
  unsigned char *big;
  void *zero;
  size_t allocs = 0;
  size_t misaligned = 0;
  size_t corrupt = 0;
  size_t i;
  size_t j;
  int rc = 0;

  (void)state;
  (void)params;
  blocks = host->alloc(call, SCRATCH_SMALL * sizeof(*blocks));
  if (!blocks)
    return host->set_error(call, 1, "alloc of the block table failed");
  allocs++;
  misaligned += (uintptr_t)blocks % 16 != 0;
  for (i = 0; i < SCRATCH_SMALL; i++) {
    size_t n = i % 200 + 1;

    blocks[i] = host->alloc(call, n);
    if (!blocks[i])
      return host->set_error(call, 1, "alloc %zu of %zu bytes failed", i, n);
    allocs++;
    misaligned += (uintptr_t)blocks[i] % 16 != 0;
    memset(blocks[i], (int)(i & 0xff), n);
  }
  big = host->alloc(call, SCRATCH_BIG);
  if (!big)
    return host->set_error(call, 1, "alloc of %zu bytes failed", SCRATCH_BIG);
  allocs++;
  misaligned += (uintptr_t)big % 16 != 0;
  memset(big, 0xab, SCRATCH_BIG);
  zero = host->alloc(call, 0);
  misaligned += (uintptr_t)zero % 16 != 0;
  for (i = 0; i < SCRATCH_SMALL; i++) {
    for (j = 0; j < i % 200 + 1; j++) {
      if (blocks[i][j] != (unsigned char)(i & 0xff)) {
        corrupt++;
        break;
      }
    }
  }
  for (j = 0; j < SCRATCH_BIG; j += 4096) {
    if (big[j] != 0xab) {
      corrupt++;
      break;
    }
  }
  if (big[SCRATCH_BIG - 1] != 0xab)
    corrupt++;

  rc |= msgpack_pack_map(result, 5);
  rc |= msgpack_pack_str_with_body(result, "allocs", 6);
  rc |= msgpack_pack_uint64(result, allocs);
  rc |= msgpack_pack_str_with_body(result, "misaligned", 10);
  rc |= msgpack_pack_uint64(result, misaligned);
  rc |= msgpack_pack_str_with_body(result, "corrupt", 7);
  rc |= msgpack_pack_uint64(result, corrupt);
  rc |= msgpack_pack_str_with_body(result, "zero", 4);
  rc |= zero ? msgpack_pack_true(result) : msgpack_pack_false(result);
  rc |= msgpack_pack_str_with_body(result, "huge_refused", 12);
  rc |= host->alloc(call, SIZE_MAX) == NULL ? msgpack_pack_true(result)
                                            : msgpack_pack_false(result);
  return pack_ok(rc);
}

/* big(n) -> a bin of n bytes (taken from scratch memory). */
static int ok_big(void *state, rpcd_call *call, const msgpack_object *params,
                  msgpack_packer *result)
{
  const msgpack_object *n = first_param(params);
  void *buf;
  size_t size;
  int rc = 0;

  (void)state;
  if (!n || n->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      n->via.u64 > ((uint64_t)32 << 20))
    return host->set_error(call, RPCD_ERR_INVALID_PARAMS,
                           "param n: expected an integer from 0 to 32 MiB");
  size = (size_t)n->via.u64;
  buf = host->alloc(call, size);
  if (!buf)
    return RPCD_ENOMEM;
  memset(buf, 'x', size);
  rc |= msgpack_pack_bin(result, size);
  rc |= msgpack_pack_bin_body(result, buf, size);
  return pack_ok(rc);
}

/* log() -> nil, after one line at each level and one without a call. */
static int ok_log(void *state, rpcd_call *call, const msgpack_object *params,
                  msgpack_packer *result)
{
  (void)state;
  (void)params;
  (void)result;
  host->log(call, RPCD_LOG_ERROR, "error line %d", 1);
  host->log(call, RPCD_LOG_WARN, "warn line %d", 2);
  host->log(call, RPCD_LOG_INFO, "info line %d", 3);
  host->log(call, RPCD_LOG_DEBUG, "debug line %d", 4);
  host->log(NULL, RPCD_LOG_INFO, "line without a call");
  return RPCD_OK;
}

/* state() -> true when the handler got the state init stored. */
static int ok_state(void *state, rpcd_call *call, const msgpack_object *params,
                    msgpack_packer *result)
{
  (void)call;
  (void)params;
  return pack_ok(state == &tp_state_token ? msgpack_pack_true(result)
                                          : msgpack_pack_false(result));
}

/* remaining() -> host->remaining_ms(call) (host API 1.1). */
static int ok_remaining(void *state, rpcd_call *call,
                        const msgpack_object *params, msgpack_packer *result)
{
  (void)state;
  (void)params;
  if (host->size <
      offsetof(rpcd_host_api, remaining_ms) + sizeof(host->remaining_ms))
    return host->set_error(call, 1, "host API older than 1.1");
  return pack_ok(msgpack_pack_int64(result, host->remaining_ms(call)));
}

static int ok_init(const rpcd_host_api *api, void **state, char *err,
                   size_t errlen)
{
  int rc = tp_init(api, state, err, errlen);

  host->log(NULL, RPCD_LOG_INFO, "init with host api %u.%u",
            (unsigned)api->abi_major, (unsigned)api->abi_minor);
  return rc;
}

static const rpcd_method ok_methods[] = {
    {"echo", ok_echo, 0},
    {"fail", ok_fail, 0},
    {"fail_code", ok_fail_code, 0},
    {"internal", ok_internal, 0},
    {"nothing", ok_nothing, 0},
    {"bad_result", ok_bad_result, 0},
    {"scratch", ok_scratch, 0},
    {"big", ok_big, 0},
    {"log", ok_log, 0},
    {"state", ok_state, 0},
    {"remaining", ok_remaining, 0},
    TP_COUNTERS_METHOD("ok"),
    {NULL, NULL, 0},
};

static const rpcd_plugin_info ok_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "ok",
    .version = "2.3.4",
    .methods = ok_methods,
    .init = ok_init,
    .fini = tp_fini,
};

RPCD_PLUGIN_DECLARE(ok_info)
