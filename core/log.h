/* SPDX-License-Identifier: MIT */
/*
 * The server's log: one event a line in logfmt,
 *
 *   ts=2026-12-01T05:17:12.192Z level=info pid=29698 msg="..." method=fib
 *
 * with the event's fields after the message (method=, cid=, ms=, code=,
 * plugin=), to stderr, to the systemd journal (the same fields, as
 * RPCD_METHOD=...) or to syslog. One printf-checked entry point behind
 * macros that skip formatting when the level is off. The level can change
 * at run time (SIGUSR1 raises it, SIGUSR2 lowers it): rpcd__log_adjust()
 * is async-signal-safe.
 *
 * Threads: any thread may log; one write(2) per line, so lines of several
 * processes and threads never interleave.
 */
#ifndef RPCD_LOG_H
#define RPCD_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#include <rpcd/plugin.h> /* enum rpcd_log_level */

extern _Atomic int rpcd__log_level;

/* A field of an event; `value` NULL leaves the field out. */
typedef struct rpcd_log_field {
  const char *key; /* [a-z_]+ */
  const char *value;
} rpcd_log_field;

#define rpcd__log_on(level)                                                    \
  ((level) <= atomic_load_explicit(&rpcd__log_level, memory_order_relaxed))

#define rpcd__log(level, ...)                                                  \
  do {                                                                         \
    if (rpcd__log_on(level))                                                   \
      rpcd__log_write((level), NULL, 0, __VA_ARGS__);                          \
  } while (0)

/* An event with fields: rpcd__log_kv(level, fields, n, fmt, ...). */
#define rpcd__log_kv(level, fields, n, ...)                                    \
  do {                                                                         \
    if (rpcd__log_on(level))                                                   \
      rpcd__log_write((level), (fields), (n), __VA_ARGS__);                    \
  } while (0)

void rpcd__log_write(int level, const rpcd_log_field *fields, size_t n,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rpcd__log_vwrite(int level, const rpcd_log_field *fields, size_t n,
                      const char *fmt, va_list ap);

/*
 * Send lines to `target` (an rpcd_log_target of config.h, --log) from now
 * on. Journald falls back to stderr, with a warning, when there is no
 * journal to write to.
 * \return 0, or -1 when the target is not built in
 */
int rpcd__log_open(int target);

/* Raise (+1) or lower (-1) the level, within error..debug.
 * Async-signal-safe. */
void rpcd__log_adjust(int delta);

/* "error", "warn", "info", "debug" → level; -1 when unknown. */
int rpcd__log_level_parse(const char *name);
const char *rpcd__log_level_name(int level);

#endif /* RPCD_LOG_H */
