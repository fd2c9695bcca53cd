/* SPDX-License-Identifier: MIT */
/*
 * The server's log: one printf-checked entry point behind a macro that skips
 * formatting when the level is off. Lines go to stderr with a UTC timestamp,
 * the level and the pid.
 */
#ifndef RPCD_LOG_H
#define RPCD_LOG_H

#include <stdarg.h>

#include <rpcd/plugin.h> /* enum rpcd_log_level */

extern int rpcd__log_level;

#define rpcd__log(level, ...)                                                  \
  do {                                                                         \
    if ((level) <= rpcd__log_level)                                            \
      rpcd__log_write((level), __VA_ARGS__);                                   \
  } while (0)

void rpcd__log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rpcd__log_vwrite(int level, const char *prefix, const char *fmt,
                      va_list ap);

/* "error", "warn", "info", "debug" → level; -1 when unknown. */
int rpcd__log_level_parse(const char *name);

#endif /* RPCD_LOG_H */
