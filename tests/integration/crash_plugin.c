/* SPDX-License-Identifier: MIT */
/*
 * crash: a plugin that misbehaves on demand, for the process-model tests.
 * Every method takes [token] or [token, ms] and first appends
 * "<method> <token> <pid>\n" to the file named by $RPCD_CRASH_LOG (one write
 * with O_APPEND, so lines from several workers do not mix), which lets a
 * test count how many times each request ran, and find the worker running
 * it. Then:
 *   crash.segv    dereferences a null pointer
 *   crash.abort   calls abort()
 *   crash.exit    calls exit(3)
 *   crash.sleep   sleeps ms milliseconds, then answers the token
 *   crash.hang    never returns
 *   crash.ok      answers the token
 */
#include <rpcd/plugin.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CRASH_PLUGIN_VERSION
#define CRASH_PLUGIN_VERSION "1.0.0"
#endif

static const rpcd_host_api *host;

/* init fails while the file named by $RPCD_CRASH_INIT_FAIL exists: a
 * worker that dies at every start, for the crash-loop test. */
static int crash_init(const rpcd_host_api *api, void **state, char *err,
                      size_t errlen)
{
  const char *fail = getenv("RPCD_CRASH_INIT_FAIL");

  host = api;
  *state = NULL;
  if (fail && access(fail, F_OK) == 0) {
    snprintf(err, errlen, "init fails while %s exists", fail);
    return RPCD_EPLUGIN;
  }
  return RPCD_OK;
}

/* Read [token] or [token, ms]; record the run. false: bad params. */
static bool begin(const char *method, const msgpack_object *params,
                  msgpack_object_str *token, uint64_t *ms)
{
  const char *path = getenv("RPCD_CRASH_LOG");
  const msgpack_object *a;
  char line[512];
  int fd;
  int n;

  if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size < 1 ||
      params->via.array.size > 2)
    return false;
  a = params->via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_STR || a[0].via.str.size > 256)
    return false;
  *token = a[0].via.str;
  *ms = 0;
  if (params->via.array.size == 2) {
    if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      return false;
    *ms = a[1].via.u64;
  }
  if (path) {
    n = snprintf(line, sizeof(line), "%s %.*s %ld\n", method, (int)token->size,
                 token->ptr, (long)getpid());
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
      if (write(fd, line, (size_t)n) != n)
        host->log(NULL, RPCD_LOG_ERROR, "could not record the run");
      close(fd);
    }
  }
  return true;
}

static void sleep_ms(uint64_t ms)
{
  struct timespec ts;

  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
}

#define CRASH_METHOD(fn, name, action)                                         \
  static int fn(void *state, rpcd_call *call, const msgpack_object *params,    \
                msgpack_packer *result)                                        \
  {                                                                            \
    msgpack_object_str token;                                                  \
    uint64_t ms;                                                               \
                                                                               \
    (void)state;                                                               \
    if (!begin(name, params, &token, &ms))                                     \
      return host->set_error(call, RPCD_ERR_INVALID_PARAMS,                    \
                             "params: [token] or [token, ms]");                \
    action;                                                                    \
    return msgpack_pack_str_with_body(result, token.ptr, token.size) == 0      \
               ? RPCD_OK                                                       \
               : RPCD_ENOMEM;                                                  \
  }

/* Not NULL: UBSan would catch a store to NULL and exit instead of letting
 * the worker die of SIGSEGV as it would in production. */
static volatile int *volatile nowhere = (volatile int *)(uintptr_t)64;

CRASH_METHOD(crash_segv, "crash.segv", *nowhere = 1)
CRASH_METHOD(crash_abort, "crash.abort", abort())
CRASH_METHOD(crash_exit, "crash.exit", exit(3))
CRASH_METHOD(crash_sleep, "crash.sleep", sleep_ms(ms))
CRASH_METHOD(crash_hang, "crash.hang", for (;;) sleep_ms(1000))
CRASH_METHOD(crash_ok, "crash.ok", (void)ms)

static const rpcd_method crash_methods[] = {
    {"crash.segv", crash_segv, 0},
    {"crash.abort", crash_abort, 0},
    {"crash.exit", crash_exit, 0},
    {"crash.sleep", crash_sleep, 0},
    {"crash.hang", crash_hang, 0},
    {"crash.ok", crash_ok, 0},
    {NULL, NULL, 0},
};

static const rpcd_plugin_info crash_info = {
    .size = sizeof(rpcd_plugin_info),
    .abi_major = RPCD_PLUGIN_ABI_MAJOR,
    .abi_minor = RPCD_PLUGIN_ABI_MINOR,
    .msgpack_major = MSGPACK_VERSION_MAJOR,
    .name = "crash",
    .version = CRASH_PLUGIN_VERSION,
    .methods = crash_methods,
    .init = crash_init,
};

RPCD_PLUGIN_DECLARE(crash_info)
