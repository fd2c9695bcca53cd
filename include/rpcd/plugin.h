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
 *   1.2  typed method descriptors (rpcd_method_desc, rpcd_param): the host
 *        checks params before the handler runs; handlers and open/close
 *        get an rpcd_ctx (their plugin, its state, the call, the checked
 *        args) and read args with rpcd_arg_*(); host API ctx_log
 */
#ifndef RPCD_PLUGIN_H
#define RPCD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>
#include <rpcd/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPCD_PLUGIN_ABI_MAJOR 1u
#define RPCD_PLUGIN_ABI_MINOR 2u

/* Log levels for rpcd_host_api.log (syslog-like: lower is more severe). */
enum rpcd_log_level {
  RPCD_LOG_ERROR = 0,
  RPCD_LOG_WARN = 1,
  RPCD_LOG_INFO = 2,
  RPCD_LOG_DEBUG = 3
};

/* Opaque, host-owned, one per request. Valid only during the handler call. */
typedef struct rpcd_call rpcd_call;

/* What typed handlers, open() and close() are given (since 1.2; below). */
typedef struct rpcd_ctx rpcd_ctx;

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
  /* Since 1.2: log a line prefixed with ctx's plugin name and, during a
   * call, the method and correlation id. Use rpcd_log(). */
  void (*ctx_log)(const rpcd_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;
} rpcd_host_api;

/* ---- Since 1.2: typed methods ------------------------------------------ */

/* The type of a param or of a result. */
typedef enum rpcd_type {
  RPCD_TYPE_ANY = 0, /* anything, unchecked */
  RPCD_TYPE_NIL = 1,
  RPCD_TYPE_BOOL = 2,
  RPCD_TYPE_INT = 3,   /* a signed integer: -2^63 .. 2^63-1 */
  RPCD_TYPE_UINT = 4,  /* an unsigned integer: 0 .. 2^64-1 */
  RPCD_TYPE_FLOAT = 5, /* a float or an integer (read as a double) */
  RPCD_TYPE_STR = 6,
  RPCD_TYPE_BIN = 7,
  RPCD_TYPE_ARRAY = 8,
  RPCD_TYPE_MAP = 9
} rpcd_type;

/* rpcd_param.flags */
#define RPCD_PARAM_OPTIONAL                                                    \
  0x1u                          /* may be left out (then its default, or nil) */
#define RPCD_PARAM_DEFAULT 0x2u /* optional with the default in def_* */
#define RPCD_PARAM_RANGE 0x4u   /* INT, UINT, FLOAT: min..max apply */

/* At most this many params per method. */
#define RPCD_MAX_PARAMS 64u

/*
 * One param of a typed method. Build entries with the RPCD_PARAM_* and
 * RPCD_OPTIONAL_* macros below rather than by hand: they fill `size`, which
 * lets this struct grow without breaking plugins built against an older
 * header (the host reads `size` bytes of each entry, zeroes the rest).
 * Required params come first; a list ends with RPCD_PARAMS_END.
 */
typedef struct rpcd_param {
  size_t size;           /* sizeof(rpcd_param) as the plugin compiled it */
  const char *name;      /* [A-Za-z_][A-Za-z0-9_]{0,63}; NULL ends the list */
  uint32_t type;         /* rpcd_type */
  uint32_t flags;        /* RPCD_PARAM_* */
  int64_t min_i, max_i;  /* INT range (RPCD_PARAM_RANGE) */
  uint64_t min_u, max_u; /* UINT range (RPCD_PARAM_RANGE) */
  double min_f, max_f;   /* FLOAT range (RPCD_PARAM_RANGE) */
  uint64_t max_len;      /* STR/BIN bytes, ARRAY/MAP elements; 0: no limit */
  /* The default (RPCD_PARAM_DEFAULT), in the field of the param's type:
   * def_i for INT and BOOL (0 or 1), def_u for UINT, def_f for FLOAT,
   * def_s and def_len for STR and BIN (static storage). */
  int64_t def_i;
  uint64_t def_u;
  double def_f;
  const char *def_s;
  size_t def_len;
} rpcd_param;

/* rpcd_method_desc.flags */
#define RPCD_METHOD_IDEMPOTENT                                                 \
  0x1u /* safe to call again with the same params */
#define RPCD_METHOD_DEPRECATED 0x2u /* still served; callers should move on */
/* Params are passed as sent, unchecked (ctx->args is NULL): for methods
 * that take anything, as every method of a 1.0 or 1.1 plugin does. */
#define RPCD_METHOD_ANY_PARAMS 0x4u

/**
 * A typed method's handler.
 *
 * \param ctx     the plugin, its state, this call and its checked args
 *                (host-owned, valid until the handler returns)
 * \param result  packer for the result; write exactly one msgpack object
 *                (nothing written means nil)
 *
 * \return as rpcd_method_fn
 */
typedef int (*rpcd_handler_fn)(rpcd_ctx *ctx, msgpack_packer *result);

/* A typed method. An array of these ends with RPCD_METHODS_END; build the
 * entries with RPCD_METHOD(), which fills `size` (the struct may grow). */
typedef struct rpcd_method_desc {
  size_t size;      /* sizeof(rpcd_method_desc) as compiled */
  const char *name; /* as rpcd_method.name; NULL ends the list */
  rpcd_handler_fn fn;
  const rpcd_param *params; /* ended by RPCD_PARAMS_END; NULL: no params */
  uint32_t result;          /* rpcd_type: documentation, not checked */
  uint32_t flags;           /* RPCD_METHOD_* */
  const char *doc;          /* one line, no newline; may be NULL */
} rpcd_method_desc;

/*
 * What a typed handler, open() and close() are given. Host-owned: never
 * keep the pointer past the function it was given to.
 */
struct rpcd_ctx {
  size_t size;              /* sizeof(rpcd_ctx) as the host built it */
  const rpcd_host_api *api; /* the host's functions */
  void *state;              /* open() sets it; handlers and close() read it */
  rpcd_call *call;          /* the call in hand; NULL in open() and close() */
  /* The params as sent (an array or a map); NULL outside a call. */
  const msgpack_object *params;
  /* One per declared param, in declared order, whether it was sent by
   * position or by name: a left-out optional param holds its default, or
   * nil when it has none. Checked against its rpcd_param before the
   * handler runs. NULL for RPCD_METHOD_ANY_PARAMS. Borrowed as params. */
  const msgpack_object *args;
  uint32_t nargs;
  uint64_t given;   /* bit i set: param i was in the request */
  const void *host; /* the host's own; do not touch */
};

/* ---- Describing typed methods ------------------------------------------ */

#define RPCD__PARAM(name, type, flags, min_i, max_i, min_u, max_u, min_f,      \
                    max_f, max_len, def_i, def_u, def_f, def_s, def_len)       \
  {                                                                            \
    sizeof(rpcd_param), (name), (uint32_t)(type), (uint32_t)(flags),           \
        (int64_t)(min_i), (int64_t)(max_i), (uint64_t)(min_u),                 \
        (uint64_t)(max_u), (double)(min_f), (double)(max_f),                   \
        (uint64_t)(max_len), (int64_t)(def_i), (uint64_t)(def_u),              \
        (double)(def_f), (def_s), (size_t)(def_len)                            \
  }

/* A required param. Ranges are inclusive; a max_len of 0 means no limit. */
#define RPCD_PARAM_INT(name, min, max)                                         \
  RPCD__PARAM(name, RPCD_TYPE_INT, RPCD_PARAM_RANGE, min, max, 0, 0, 0, 0, 0,  \
              0, 0, 0, NULL, 0)
#define RPCD_PARAM_UINT(name, min, max)                                        \
  RPCD__PARAM(name, RPCD_TYPE_UINT, RPCD_PARAM_RANGE, 0, 0, min, max, 0, 0, 0, \
              0, 0, 0, NULL, 0)
#define RPCD_PARAM_FLOAT(name, min, max)                                       \
  RPCD__PARAM(name, RPCD_TYPE_FLOAT, RPCD_PARAM_RANGE, 0, 0, 0, 0, min, max,   \
              0, 0, 0, 0, NULL, 0)
#define RPCD_PARAM_OF(name, type, max_len)                                     \
  RPCD__PARAM(name, type, 0, 0, 0, 0, 0, 0, 0, max_len, 0, 0, 0, NULL, 0)
#define RPCD_PARAM_BOOL(name) RPCD_PARAM_OF(name, RPCD_TYPE_BOOL, 0)
#define RPCD_PARAM_STR(name, max_len)                                          \
  RPCD_PARAM_OF(name, RPCD_TYPE_STR, max_len)
#define RPCD_PARAM_BIN(name, max_len)                                          \
  RPCD_PARAM_OF(name, RPCD_TYPE_BIN, max_len)
#define RPCD_PARAM_ARRAY(name, max_len)                                        \
  RPCD_PARAM_OF(name, RPCD_TYPE_ARRAY, max_len)
#define RPCD_PARAM_MAP(name, max_len)                                          \
  RPCD_PARAM_OF(name, RPCD_TYPE_MAP, max_len)
#define RPCD_PARAM_ANY(name) RPCD_PARAM_OF(name, RPCD_TYPE_ANY, 0)

/* An optional param with a default (def_str: a string literal). */
#define RPCD_OPTIONAL_INT(name, min, max, def)                                 \
  RPCD__PARAM(name, RPCD_TYPE_INT,                                             \
              RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT | RPCD_PARAM_RANGE,     \
              min, max, 0, 0, 0, 0, 0, def, 0, 0, NULL, 0)
#define RPCD_OPTIONAL_UINT(name, min, max, def)                                \
  RPCD__PARAM(name, RPCD_TYPE_UINT,                                            \
              RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT | RPCD_PARAM_RANGE, 0,  \
              0, min, max, 0, 0, 0, 0, def, 0, NULL, 0)
#define RPCD_OPTIONAL_FLOAT(name, min, max, def)                               \
  RPCD__PARAM(name, RPCD_TYPE_FLOAT,                                           \
              RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT | RPCD_PARAM_RANGE, 0,  \
              0, 0, 0, min, max, 0, 0, 0, def, NULL, 0)
#define RPCD_OPTIONAL_BOOL(name, def)                                          \
  RPCD__PARAM(name, RPCD_TYPE_BOOL, RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT,  \
              0, 0, 0, 0, 0, 0, 0, (def) ? 1 : 0, 0, 0, NULL, 0)
#define RPCD_OPTIONAL_STR(name, max_len, def_str)                              \
  RPCD__PARAM(name, RPCD_TYPE_STR, RPCD_PARAM_OPTIONAL | RPCD_PARAM_DEFAULT,   \
              0, 0, 0, 0, 0, 0, max_len, 0, 0, 0, def_str,                     \
              sizeof(def_str) - 1)
/* An optional param without a default: nil when left out. */
#define RPCD_OPTIONAL_OF(name, type, max_len)                                  \
  RPCD__PARAM(name, type, RPCD_PARAM_OPTIONAL, 0, 0, 0, 0, 0, 0, max_len, 0,   \
              0, 0, NULL, 0)
#define RPCD_PARAMS_END                                                        \
  RPCD__PARAM(NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0)

#define RPCD_METHOD(name, fn, params, result, flags, doc)                      \
  {                                                                            \
    sizeof(rpcd_method_desc), (name), (fn), (params), (uint32_t)(result),      \
        (uint32_t)(flags), (doc)                                               \
  }
#define RPCD_METHODS_END RPCD_METHOD(NULL, NULL, NULL, 0, 0, NULL)

/* ---- Inside a typed handler -------------------------------------------- */

/* Record an error reply (as rpcd_host_api.set_error); returns RPCD_OK. */
#define rpcd_error(ctx, code, ...)                                             \
  ((ctx)->api->set_error((ctx)->call, (code), __VA_ARGS__))
/* Log a line (as rpcd_host_api.ctx_log). */
#define rpcd_log(ctx, level, ...)                                              \
  ((ctx)->api->ctx_log((ctx), (level), __VA_ARGS__))

/* Scratch memory for this call (as rpcd_host_api.alloc). */
static inline void *rpcd_alloc(const rpcd_ctx *ctx, size_t n)
{
  return ctx->call ? ctx->api->alloc(ctx->call, n) : NULL;
}

/* Milliseconds this call has left (as rpcd_host_api.remaining_ms). */
static inline int64_t rpcd_remaining_ms(const rpcd_ctx *ctx)
{
  return ctx->call ? ctx->api->remaining_ms(ctx->call) : -1;
}

/* The accessors below read arg i of a typed method; the host checked its
 * type and rules, so they cannot fail for an index the descriptor has. */
static inline const msgpack_object *rpcd_arg(const rpcd_ctx *ctx, unsigned i)
{
  return &ctx->args[i];
}

/* Whether param i was in the request (else it holds its default or nil). */
static inline int rpcd_arg_given(const rpcd_ctx *ctx, unsigned i)
{
  return i < 64 && ((ctx->given >> i) & 1u);
}

static inline int rpcd_arg_bool(const rpcd_ctx *ctx, unsigned i)
{
  return ctx->args[i].type == MSGPACK_OBJECT_BOOLEAN &&
         ctx->args[i].via.boolean;
}

static inline int64_t rpcd_arg_int(const rpcd_ctx *ctx, unsigned i)
{
  return ctx->args[i].via.i64;
}

static inline uint64_t rpcd_arg_uint(const rpcd_ctx *ctx, unsigned i)
{
  return ctx->args[i].via.u64;
}

static inline double rpcd_arg_float(const rpcd_ctx *ctx, unsigned i)
{
  const msgpack_object *o = &ctx->args[i];

  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (double)o->via.u64;
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return (double)o->via.i64;
  return o->via.f64;
}

/* A STR or BIN arg: its bytes (not NUL-terminated) and length; NULL and 0
 * for nil. */
static inline const char *rpcd_arg_str(const rpcd_ctx *ctx, unsigned i,
                                       size_t *len)
{
  const msgpack_object *o = &ctx->args[i];

  if (o->type == MSGPACK_OBJECT_STR) {
    *len = o->via.str.size;
    return o->via.str.ptr;
  }
  if (o->type == MSGPACK_OBJECT_BIN) {
    *len = o->via.bin.size;
    return o->via.bin.ptr;
  }
  *len = 0;
  return NULL;
}

/* A STR arg copied into call scratch memory with a NUL added; NULL when out
 * of memory or nil. A str may hold a NUL byte: use rpcd_arg_str() when
 * that matters. */
static inline char *rpcd_arg_cstr(const rpcd_ctx *ctx, unsigned i)
{
  size_t len;
  const char *s = rpcd_arg_str(ctx, i, &len);
  char *copy;

  if (!s)
    return NULL;
  copy = (char *)rpcd_alloc(ctx, len + 1);
  if (copy) {
    memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

/* An ARRAY or MAP arg; NULL for nil. */
static inline const msgpack_object_array *rpcd_arg_array(const rpcd_ctx *ctx,
                                                         unsigned i)
{
  return ctx->args[i].type == MSGPACK_OBJECT_ARRAY ? &ctx->args[i].via.array
                                                   : NULL;
}

static inline const msgpack_object_map *rpcd_arg_map(const rpcd_ctx *ctx,
                                                     unsigned i)
{
  return ctx->args[i].type == MSGPACK_OBJECT_MAP ? &ctx->args[i].via.map : NULL;
}

/* The descriptor a plugin returns from rpcd_plugin_entry(). Static storage;
 * the host reads it, never writes or frees it. */
typedef struct rpcd_plugin_info {
  size_t size;            /* sizeof(rpcd_plugin_info) */
  uint32_t abi_major;     /* RPCD_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;     /* RPCD_PLUGIN_ABI_MINOR */
  uint32_t msgpack_major; /* MSGPACK_VERSION_MAJOR at build time */
  const char *name;       /* unique among loaded plugins */
  const char *version;    /* free-form, e.g. "1.0.0" */
  /* Untyped methods (1.0), ended by an entry whose name is NULL; NULL when
   * the plugin has typed ones (method_descs) instead. */
  const rpcd_method *methods;
  /* Called once before any method. Store plugin state in *state. On
   * failure write a message to err and return a negative rpcd_status: the
   * plugin is then unloaded and none of its methods are registered. May be
   * NULL. */
  int (*init)(const rpcd_host_api *api, void **state, char *err, size_t errlen);
  void (*fini)(void *state); /* called once at unload; may be NULL */
  uintptr_t reserved[4];     /* must be 0 */
  /* Since 1.2 (set abi_minor to 2 or more to use these). */
  /* Typed methods, ended by RPCD_METHODS_END; exactly one of methods and
   * method_descs is set. */
  const rpcd_method_desc *method_descs;
  /* Called once before any method, instead of init (set one of them at
   * most): store plugin state in ctx->state; on failure write a message to
   * err and return a negative rpcd_status. ctx->call is NULL. */
  int (*open)(rpcd_ctx *ctx, char *err, size_t errlen);
  void (*close)(rpcd_ctx *ctx); /* called once at unload; may be NULL */
} rpcd_plugin_info;

/* A 1.2 descriptor with typed methods and open/close (either may be NULL),
 * in the member order above so that C and C++ can use it alike. */
#define RPCD_PLUGIN_INFO(name, version, method_descs, open, close)             \
  {                                                                            \
    sizeof(rpcd_plugin_info), RPCD_PLUGIN_ABI_MAJOR, RPCD_PLUGIN_ABI_MINOR,    \
        MSGPACK_VERSION_MAJOR, (name), (version), NULL, NULL, NULL,            \
        {0, 0, 0, 0}, (method_descs), (open), (close)                          \
  }

typedef const rpcd_plugin_info *(*rpcd_plugin_entry_fn)(void);

#define RPCD_PLUGIN_ENTRY_SYMBOL "rpcd_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define RPCD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RPCD_PLUGIN_EXPORT
#endif

/* The entry is looked up by its C name, also in a C++ plugin. */
#ifdef __cplusplus
#define RPCD__EXTERN_C extern "C"
#else
#define RPCD__EXTERN_C
#endif

/* Define the plugin's entry point; use once per plugin, at file scope. */
#define RPCD_PLUGIN_DECLARE(info)                                              \
  RPCD__EXTERN_C RPCD_PLUGIN_EXPORT const rpcd_plugin_info *rpcd_plugin_entry( \
      void);                                                                   \
  RPCD__EXTERN_C const rpcd_plugin_info *rpcd_plugin_entry(void)               \
  {                                                                            \
    return &(info);                                                            \
  }

#ifdef __cplusplus
}
#endif
#endif /* RPCD_PLUGIN_H */
