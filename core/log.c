/* SPDX-License-Identifier: MIT */
#include "log.h"

#include "config.h" /* rpcd_log_target */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#ifdef RPCD_HAVE_JOURNALD
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <sys/uio.h>
#endif

_Atomic int rpcd__log_level = RPCD_LOG_INFO;

static _Atomic int target = RPCD_LOG_TO_STDERR;

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

const char *rpcd__log_level_name(int level)
{
  if (level < RPCD_LOG_ERROR)
    level = RPCD_LOG_ERROR;
  if (level > RPCD_LOG_DEBUG)
    level = RPCD_LOG_DEBUG;
  return level_names[level];
}

void rpcd__log_adjust(int delta)
{
  int level = atomic_load(&rpcd__log_level) + delta;

  if (level < RPCD_LOG_ERROR)
    level = RPCD_LOG_ERROR;
  if (level > RPCD_LOG_DEBUG)
    level = RPCD_LOG_DEBUG;
  atomic_store(&rpcd__log_level, level);
}

/* A line being built, cut (never overflowed) at its capacity. */
typedef struct line {
  char *buf;
  size_t cap; /* room for the text, the newline and the NUL */
  size_t len;
} line;

static void put(line *l, const char *s, size_t n)
{
  size_t room = l->cap - 2 - l->len;

  if (n > room)
    n = room;
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void put_str(line *l, const char *s)
{
  put(l, s, strlen(s));
}

/*
 * A logfmt value: bare when it is a plain word, else quoted with \" \\
 * escaped. Untrusted text (correlation ids, method names, plugin
 * messages) cannot forge or break a line: control characters become \n,
 * \r, \t or \xHH.
 */
static void put_value(line *l, const char *v)
{
  static const char hex[] = "0123456789abcdef";
  bool bare = *v != '\0';
  const unsigned char *p;

  for (p = (const unsigned char *)v; *p && bare; p++)
    bare = *p > 0x20 && *p != 0x7f && *p != '"' && *p != '=' && *p != '\\';
  if (bare) {
    put_str(l, v);
    return;
  }
  put(l, "\"", 1);
  for (p = (const unsigned char *)v; *p; p++) {
    char esc[4] = {'\\', 0, 0, 0};
    size_t n = 2;

    if (*p == '"' || *p == '\\')
      esc[1] = (char)*p;
    else if (*p == '\n')
      esc[1] = 'n';
    else if (*p == '\r')
      esc[1] = 'r';
    else if (*p == '\t')
      esc[1] = 't';
    else if (*p < 0x20 || *p == 0x7f) {
      esc[1] = 'x';
      esc[2] = hex[*p >> 4];
      esc[3] = hex[*p & 15];
      n = 4;
    } else {
      put(l, (const char *)p, 1);
      continue;
    }
    put(l, esc, n);
  }
  put(l, "\"", 1);
}

static void put_field(line *l, const char *key, const char *value)
{
  put(l, " ", 1);
  put_str(l, key);
  put(l, "=", 1);
  put_value(l, value);
}

#ifdef RPCD_HAVE_JOURNALD
/* The same event as journal fields: MESSAGE, PRIORITY, RPCD_<KEY>. */
static bool to_journal(int level, const char *msg, const rpcd_log_field *fields,
                       size_t n)
{
  static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
  char items[12][600];
  struct iovec iov[13];
  size_t k = 0;
  size_t i;
  size_t j;
  int w;

  w = snprintf(items[k], sizeof(items[k]), "MESSAGE=%s", msg);
  iov[k].iov_base = items[k];
  iov[k].iov_len = w < 0                          ? 0
                   : (size_t)w < sizeof(items[k]) ? (size_t)w
                                                  : sizeof(items[k]) - 1;
  k++;
  w = snprintf(items[k], sizeof(items[k]), "PRIORITY=%d", priorities[level]);
  iov[k].iov_base = items[k];
  iov[k].iov_len = (size_t)w;
  k++;
  /* journalctl -t rpcd */
  iov[k].iov_base = (void *)"SYSLOG_IDENTIFIER=rpcd";
  iov[k].iov_len = strlen("SYSLOG_IDENTIFIER=rpcd");
  k++;
  for (i = 0; i < n && k < 12; i++) {
    char key[40];

    if (!fields[i].value)
      continue;
    for (j = 0; fields[i].key[j] && j < sizeof(key) - 1; j++)
      key[j] = (char)(fields[i].key[j] >= 'a' && fields[i].key[j] <= 'z'
                          ? fields[i].key[j] - 'a' + 'A'
                          : fields[i].key[j]);
    key[j] = '\0';
    w = snprintf(items[k], sizeof(items[k]), "RPCD_%s=%s", key,
                 fields[i].value);
    iov[k].iov_base = items[k];
    iov[k].iov_len = w < 0                          ? 0
                     : (size_t)w < sizeof(items[k]) ? (size_t)w
                                                    : sizeof(items[k]) - 1;
    k++;
  }
  return sd_journal_sendv(iov, (int)k) == 0;
}
#endif

void rpcd__log_vwrite(int level, const rpcd_log_field *fields, size_t n,
                      const char *fmt, va_list ap)
{
  static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
  char buf[2048];
  char msg[1536];
  char stamp[40];
  char pid[24];
  line l = {buf, sizeof(buf), 0};
  struct timespec ts;
  struct tm tm;
  size_t i;
  int where = atomic_load(&target);

  if (level < RPCD_LOG_ERROR)
    level = RPCD_LOG_ERROR;
  if (level > RPCD_LOG_DEBUG)
    level = RPCD_LOG_DEBUG;
  vsnprintf(msg, sizeof(msg), fmt, ap);
#ifdef RPCD_HAVE_JOURNALD
  if (where == RPCD_LOG_TO_JOURNALD && to_journal(level, msg, fields, n))
    return;
#endif
  if (where != RPCD_LOG_TO_SYSLOG) {
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    i = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + i, sizeof(stamp) - i, ".%03ldZ", ts.tv_nsec / 1000000);
    put_str(&l, "ts=");
    put_str(&l, stamp);
    put_field(&l, "level", level_names[level]);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    put_field(&l, "pid", pid);
    put(&l, " ", 1);
  }
  put_str(&l, "msg=");
  put_value(&l, msg);
  for (i = 0; i < n; i++)
    if (fields[i].value)
      put_field(&l, fields[i].key, fields[i].value);
  if (where == RPCD_LOG_TO_SYSLOG) {
    /* syslog adds the time, the name and the pid itself. */
    buf[l.len] = '\0';
    syslog(priorities[level], "%s", buf);
    return;
  }
  buf[l.len++] = '\n';
  /* A failed log write has nowhere to be reported. */
  if (write(STDERR_FILENO, buf, l.len) < 0)
    return;
}

void rpcd__log_write(int level, const rpcd_log_field *fields, size_t n,
                     const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  rpcd__log_vwrite(level, fields, n, fmt, ap);
  va_end(ap);
}

int rpcd__log_open(int to)
{
  switch (to) {
  case RPCD_LOG_TO_STDERR:
    break;
  case RPCD_LOG_TO_SYSLOG:
    openlog("rpcd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    break;
  case RPCD_LOG_TO_JOURNALD:
#ifdef RPCD_HAVE_JOURNALD
    if (sd_journal_print(LOG_DEBUG, "rpcd logging to the journal") != 0) {
      rpcd__log(RPCD_LOG_WARN,
                "--log journald: no journal to write to; logging to stderr");
      return 0;
    }
    break;
#else
    return -1;
#endif
  }
  atomic_store(&target, to);
  return 0;
}
