/* SPDX-License-Identifier: MIT */
/*
 * Log lines for the server and, through the host API, for plugins. One
 * write(2) per line so lines from several processes do not interleave.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int rpcd__log_level = RPCD_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int rpcd__log_level_parse(const char *name)
{
  size_t i;

  for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
    if (strcasecmp(name, level_names[i]) == 0)
      return (int)i;
  }
  return -1;
}

void rpcd__log_vwrite(int level, const char *prefix, const char *fmt,
                      va_list ap)
{
  char line[2048];
  struct timespec ts;
  struct tm tm;
  size_t n;
  size_t i;
  int w;

  if (level < RPCD_LOG_ERROR)
    level = RPCD_LOG_ERROR;
  if (level > RPCD_LOG_DEBUG)
    level = RPCD_LOG_DEBUG;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
  w = snprintf(line + n, sizeof(line) - n, ".%03ldZ rpcd[%ld] %s: %s",
               ts.tv_nsec / 1000000, (long)getpid(), level_names[level],
               prefix ? prefix : "");
  if (w > 0)
    n += (size_t)w < sizeof(line) - n ? (size_t)w : sizeof(line) - n - 1;
  w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  if (w > 0)
    n += (size_t)w < sizeof(line) - n ? (size_t)w : sizeof(line) - n - 1;
  if (n >= sizeof(line) - 1)
    n = sizeof(line) - 2;
  /* Lines carry untrusted text (correlation ids, method names, plugin
   * messages): a control character must not forge or break a line. */
  for (i = 0; i < n; i++) {
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
      line[i] = '?';
  }
  line[n++] = '\n';
  /* A failed log write has nowhere to be reported. */
  if (write(STDERR_FILENO, line, n) < 0)
    return;
}

void rpcd__log_write(int level, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  rpcd__log_vwrite(level, NULL, fmt, ap);
  va_end(ap);
}
