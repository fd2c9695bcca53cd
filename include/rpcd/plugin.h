/* SPDX-License-Identifier: MIT */
/*
 * rpcd plugin ABI: the only header a plugin includes.
 *
 * A plugin is a shared object that exports one function, rpcd_plugin_entry(),
 * returning a static rpcd_plugin_info. The server checks that the symbol is
 * a function, calls it, and checks the descriptor before it calls any other
 * plugin function; then it calls init() once, dispatches requests to the
 * methods in the table, and calls fini() once at shutdown.
 *
 * A plugin is trusted code. Its ELF constructors (__attribute__((constructor)),
 * C++ static initialisers) run when the server dlopen()s it, and an IFUNC
 * resolver when it looks the entry up, before any check: the checks catch
 * mistakes, such as a plugin built for another ABI, not malice.
 *
 * Plugins never link against the server: everything the host offers comes
 * through the rpcd_host_api table handed to init(). Link plugins with
 * -Wl,-z,defs to prove it.
 *
 * Changelog (bump RPCD_PLUGIN_ABI_MINOR when appending, MAJOR on any
 * incompatible change):
 *   1.0  first version: log, set_error, alloc
 *   1.1  remaining_ms: the time a handler has left
 */
#ifndef RPCD_PLUGIN_H
#define RPCD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <rpcd/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPCD_PLUGIN_ABI_MAJOR 1u
#define RPCD_PLUGIN_ABI_MINOR 1u

/* Log levels for rpcd_host_api.log (syslog-like: lower is more severe). */
enum rpcd_log_level {
  RPCD_LOG_ERROR = 0,
  RPCD_LOG_WARN = 1,
  RPCD_LOG_INFO = 2,
  RPCD_LOG_DEBUG = 3
};

/* Opaque, host-owned, one per request. Valid only during the handler call. */
typedef struct rpcd_call rpcd_call;

/**
 * A method handler.
 *
 * \param plugin_state  what init() stored in *state
 * \param call          the request in hand (borrowed, for this call only)
 * \param params        the request's params, an array or a map, exactly as
 *                      sent (borrowed: str/bin point into the request body
 *                      and are gone when the handler returns; copy to keep)
 * \param result        packer for the result; write exactly one msgpack
 *                      object (nothing written means nil)
 * \return RPCD_OK, also after host->set_error() (the error is the reply);
 *         a negative rpcd_status when no reply could be built at all, which
 *         the caller sees as "internal error" (-32603)
 */
typedef int (*rpcd_method_fn)(void *plugin_state, rpcd_call *call,
                              const msgpack_object *params,
                              msgpack_packer *result);

typedef struct rpcd_method {
  const char *name; /* [A-Za-z0-9_.-]{1,255}, not under "rpc."; NULL ends */
  rpcd_method_fn fn;
  uint32_t flags; /* reserved: pass 0 */
} rpcd_method;

/* What the host offers a plugin. Append only, never reorder; check `size`
 * before using a member newer than the plugin's minimum ABI minor. */
typedef struct rpcd_host_api {
  size_t size; /* sizeof(rpcd_host_api) as the host compiled it */
  uint32_t abi_major;
  uint32_t abi_minor;
  /* Log a line prefixed with the plugin name and, when `call` is not NULL,
   * the method and correlation id. Never write to stdout or stderr. */
  void (*log)(rpcd_call *call, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
  /* Record an error reply; the text is copied. `code` is a wire code
   * (RPCD_ERR_* or >= 1 for the plugin's own), never an RPCD_E* status.
   * Anything written to the result packer is then discarded. Always returns
   * RPCD_OK, so a handler can `return host->set_error(...)`. */
  int (*set_error)(rpcd_call *call, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
  /* Scratch memory for this call, 16-byte aligned, freed by the host after
   * the reply is sent. NULL when out of memory. */
  void *(*alloc)(rpcd_call *call, size_t n);
  /* Since 1.1 (check `size`, or require minor 1 in the descriptor):
   * milliseconds this call has left before its caller's deadline
   * (x-rpc-deadline) or the server's --handler-timeout stop it, whichever
   * comes first; 0 once passed; -1 when neither applies. A long handler
   * can give up, or return part of its work, before it is stopped. */
  int64_t (*remaining_ms)(rpcd_call *call);
} rpcd_host_api;

/* The descriptor a plugin returns from rpcd_plugin_entry(). Static storage;
 * the host reads it, never writes or frees it. */
typedef struct rpcd_plugin_info {
  size_t size;                /* sizeof(rpcd_plugin_info) */
  uint32_t abi_major;         /* RPCD_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;         /* RPCD_PLUGIN_ABI_MINOR */
  uint32_t msgpack_major;     /* MSGPACK_VERSION_MAJOR at build time */
  const char *name;           /* unique among loaded plugins */
  const char *version;        /* free-form, e.g. "1.0.0" */
  const rpcd_method *methods; /* ended by an entry whose name is NULL */
  /* Called once before any method. Store plugin state in *state. On
   * failure write a message to err and return a negative rpcd_status: the
   * plugin is then unloaded and none of its methods are registered. May be
   * NULL. */
  int (*init)(const rpcd_host_api *api, void **state, char *err, size_t errlen);
  void (*fini)(void *state); /* called once at unload; may be NULL */
  uintptr_t reserved[4];     /* must be 0 */
} rpcd_plugin_info;

typedef const rpcd_plugin_info *(*rpcd_plugin_entry_fn)(void);

#define RPCD_PLUGIN_ENTRY_SYMBOL "rpcd_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define RPCD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RPCD_PLUGIN_EXPORT
#endif

/* Define the plugin's entry point; use once per plugin, at file scope. */
#define RPCD_PLUGIN_DECLARE(info)                                              \
  RPCD_PLUGIN_EXPORT const rpcd_plugin_info *rpcd_plugin_entry(void);          \
  const rpcd_plugin_info *rpcd_plugin_entry(void)                              \
  {                                                                            \
    return &(info);                                                            \
  }

#ifdef __cplusplus
}
#endif
#endif /* RPCD_PLUGIN_H */
