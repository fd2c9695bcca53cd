/* SPDX-License-Identifier: MIT */
/*
 * The syntax of rpcd's --config file: "key = value" lines, parsed in place
 * in one copy of the file's text. Every bad line is reported, each with
 * its number, as the --acl file's are.
 */
#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpcd/status.h>

#include "rpcd_proto.h"
#include "text_escape.h"

void rpcd__problem_add(char *err, size_t errlen, bool first, const char *fmt,
                       ...)
{
  size_t len;
  va_list ap;

  if (!err || errlen == 0)
    return;
  if (first)
    err[0] = '\0';
  len = strnlen(err, errlen - 1);
  if (len > 0) {
    if (len + 1 >= errlen)
      return;
    err[len++] = '\n';
    err[len] = '\0';
  }
  va_start(ap, fmt);
  vsnprintf(err + len, errlen - len, fmt, ap);
  va_end(ap);
}

void rpcd__config_file_free(rpcd_config_file *f)
{
  size_t i;

  if (!f)
    return;
  for (i = 0; i < f->n; i++) {
    if (!f->lines[i].key)
      free((char *)f->lines[i].value);
  }
  free(f->text);
  free(f->lines);
  free(f);
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * One line, [p, end) without its newline; *end is writable (the newline or
 * the text's final NUL). On success *key is NULL for a blank or comment
 * line, else key and value are NUL-terminated in place.
 */
static int parse_line(char *p, char *end, char **key, char **value, char *why,
                      size_t whylen)
{
  char piece[48]; /* a piece of the line, escaped and cut, for messages */
  char *k;
  char *kend;
  char *v;
  char *w;

  *key = NULL;
  if (memchr(p, '\0', (size_t)(end - p))) {
    snprintf(why, whylen, "a NUL byte (not a text file?)");
    return RPCD_EINVAL;
  }
  while (p < end && is_blank(*p))
    p++;
  if (p == end || *p == '#')
    return RPCD_OK;
  k = p;
  p = memchr(k, '=', (size_t)(end - k));
  if (!p) {
    for (w = end; w > k && is_blank(w[-1]);)
      w--;
    snprintf(why, whylen,
             "\"%s\": expected \"key = value\" (a flag without a value is "
             "\"key = true\")",
             rpcd__escape(piece, sizeof(piece), k, (size_t)(w - k)));
    return RPCD_EINVAL;
  }
  for (kend = p; kend > k && is_blank(kend[-1]);)
    kend--;
  if (kend == k) {
    snprintf(why, whylen, "a value without a key: expected \"key = value\"");
    return RPCD_EINVAL;
  }
  for (w = k; w < kend; w++) {
    if (!is_key_char(*w) || (w == k && !(*w >= 'a' && *w <= 'z'))) {
      snprintf(why, whylen,
               "\"%s\" is not a key: keys are the long flags' names without "
               "\"--\", such as \"plugin-dir\"",
               rpcd__escape(piece, sizeof(piece), k, (size_t)(kend - k)));
      return RPCD_EINVAL;
    }
  }
  for (p++; p < end && is_blank(*p);)
    p++;
  if (p < end && *p == '"') {
    /* Quoted: unescaped in place, w trailing behind p. */
    v = w = ++p;
    for (;;) {
      if (p == end) {
        snprintf(why, whylen, "the quoted value has no closing quote");
        return RPCD_EINVAL;
      }
      if (*p == '"')
        break;
      if (*p == '\\' && ++p < end && *p != '"' && *p != '\\') {
        snprintf(why, whylen,
                 "\"\\%s\" in a quoted value: only \\\" and \\\\ are "
                 "escapes",
                 rpcd__escape(piece, sizeof(piece), p, 1));
        return RPCD_EINVAL;
      }
      if (p == end)
        continue; /* a '\\' last: no closing quote */
      *w++ = *p++;
    }
    for (p++; p < end && is_blank(*p);)
      p++;
    if (p < end && *p != '#') {
      snprintf(why, whylen, "\"%s\" after the closing quote",
               rpcd__escape(piece, sizeof(piece), p, (size_t)(end - p)));
      return RPCD_EINVAL;
    }
  } else {
    /* Unquoted: up to a comment, trailing blanks stripped. */
    v = w = p;
    while (w < end && !(*w == '#' && (w == v || is_blank(w[-1]))))
      w++;
    while (w > v && is_blank(w[-1]))
      w--;
  }
  *w = '\0';
  *kend = '\0';
  *key = k;
  *value = v;
  return RPCD_OK;
}

static int add_line(rpcd_config_file *f, size_t *cap, const char *key,
                    const char *value, unsigned line)
{
  if (f->n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    rpcd_config_line *grown = realloc(f->lines, ncap * sizeof(*grown));

    if (!grown)
      return RPCD_ENOMEM;
    f->lines = grown;
    *cap = ncap;
  }
  f->lines[f->n].key = key;
  f->lines[f->n].value = value;
  f->lines[f->n].line = line;
  f->n++;
  return RPCD_OK;
}

/* A bad line: its reason, owned. */
static int add_bad_line(rpcd_config_file *f, size_t *cap, const char *why,
                        unsigned line)
{
  char *copy = strdup(why);

  if (!copy || add_line(f, cap, NULL, copy, line) != RPCD_OK) {
    free(copy);
    return RPCD_ENOMEM;
  }
  return RPCD_OK;
}

/* Parse f->text, `len` bytes and a NUL, in place. */
static int parse_text(rpcd_config_file *f, size_t len, const char *name,
                      unsigned *n_bad, char *err, size_t errlen)
{
  char *line = f->text;
  char *end = f->text + len;
  unsigned lineno = 0;
  size_t cap = 0;

  *n_bad = 0;
  while (line < end) {
    char *nl = memchr(line, '\n', (size_t)(end - line));
    char *stop = nl ? nl : end;
    char why[256];
    char *key;
    char *value;

    lineno++;
    if (parse_line(line, stop, &key, &value, why, sizeof(why)) != RPCD_OK) {
      rpcd__problem_add(err, errlen, *n_bad == 0, "%s:%u: %s", name, lineno,
                        why);
      (*n_bad)++;
      if (add_bad_line(f, &cap, why, lineno) != RPCD_OK)
        return RPCD_ENOMEM;
    } else if (key && add_line(f, &cap, key, value, lineno) != RPCD_OK) {
      return RPCD_ENOMEM;
    }
    line = stop + (nl ? 1 : 0);
  }
  return *n_bad ? RPCD_EINVAL : RPCD_OK;
}

int rpcd__config_file_parse(const char *text, size_t len, const char *name,
                            rpcd_config_file **out, unsigned *n_bad, char *err,
                            size_t errlen)
{
  rpcd_config_file *f;
  int rc;

  *out = NULL;
  *n_bad = 0;
  f = calloc(1, sizeof(*f));
  if (!f)
    return RPCD_ENOMEM;
  f->text = malloc(len + 1);
  if (!f->text) {
    free(f);
    return RPCD_ENOMEM;
  }
  memcpy(f->text, text, len);
  f->text[len] = '\0';
  rc = parse_text(f, len, name, n_bad, err, errlen);
  if (rc == RPCD_ENOMEM) {
    rpcd__config_file_free(f);
    return rc;
  }
  *out = f;
  return rc;
}

int rpcd__config_file_read(const char *path, rpcd_config_file **out,
                           unsigned *n_bad, char *err, size_t errlen)
{
  rpcd_config_file *f;
  struct stat st;
  char *shrunk;
  size_t len = 0;
  ssize_t n;
  int fd;
  int rc;

  *out = NULL;
  *n_bad = 0;
  /* As --uri-file: O_NONBLOCK so a FIFO cannot hang the open, and fstat of
   * the open file, so the file checked is the file read. */
  fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rpcd__set_err(err, errlen, "%s: cannot read the config file: %s", path,
                  strerror(errno));
    return RPCD_EINVAL;
  }
  if (fstat(fd, &st) != 0) {
    rpcd__set_err(err, errlen, "%s: cannot read the config file: %s", path,
                  strerror(errno));
    close(fd);
    return RPCD_EINVAL;
  }
  if (!S_ISREG(st.st_mode)) {
    rpcd__set_err(err, errlen, "%s: the config file is not a regular file",
                  path);
    close(fd);
    return RPCD_EINVAL;
  }
  f = calloc(1, sizeof(*f));
  if (f)
    f->text = malloc(RPCD_CONFIG_FILE_MAX + 1);
  if (!f || !f->text) {
    rpcd__config_file_free(f);
    close(fd);
    return RPCD_ENOMEM;
  }
  f->mode = (unsigned)(st.st_mode & 07777);
  f->uid = st.st_uid;
  f->gid = st.st_gid;
  /* One byte more than the limit tells a file that is too large. */
  while (len < RPCD_CONFIG_FILE_MAX + 1) {
    n = read(fd, f->text + len, RPCD_CONFIG_FILE_MAX + 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rpcd__set_err(err, errlen, "%s: cannot read the config file: %s", path,
                    strerror(errno));
      close(fd);
      rpcd__config_file_free(f);
      return RPCD_EINVAL;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  if (len > RPCD_CONFIG_FILE_MAX) {
    rpcd__set_err(err, errlen, "%s: the config file is larger than %u bytes",
                  path, RPCD_CONFIG_FILE_MAX);
    rpcd__config_file_free(f);
    return RPCD_EINVAL;
  }
  f->text[len] = '\0';
  shrunk = realloc(f->text, len + 1);
  if (shrunk)
    f->text = shrunk;
  rc = parse_text(f, len, path, n_bad, err, errlen);
  if (rc == RPCD_ENOMEM) {
    rpcd__config_file_free(f);
    return rc;
  }
  *out = f;
  return rc;
}
