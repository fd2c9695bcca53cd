/* SPDX-License-Identifier: MIT */
/*
 * Reading a broker URI from a file, with the checks ssh makes of a private
 * key: a secret that others may read is refused rather than used.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "uri_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpcd/status.h>

#include "rpcd_proto.h"
#include "uri_mask.h"

/* More than any URI a broker accepts; a bigger first line is refused. */
#define URI_FILE_MAX 4096

int rpcd__uri_file_read(const char *path, char **out, char *err, size_t errlen)
{
  char buf[URI_FILE_MAX + 1];
  struct stat st;
  size_t len = 0;
  size_t line;
  char *nl;
  ssize_t n;
  int fd;

  *out = NULL;
  /* O_NONBLOCK: a FIFO must not hang the open; fstat refuses it below.
   * fstat of the open file, not stat of the name, so the file checked is
   * the file read. */
  fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rpcd__set_err(err, errlen, "--uri-file %s: cannot open: %s", path,
                  strerror(errno));
    return RPCD_EINVAL;
  }
  if (fstat(fd, &st) != 0) {
    rpcd__set_err(err, errlen, "--uri-file %s: %s", path, strerror(errno));
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    rpcd__set_err(err, errlen, "--uri-file %s: not a regular file", path);
    goto fail;
  }
  if (st.st_mode & 077) {
    rpcd__set_err(err, errlen,
                  "--uri-file %s: mode %04o lets group or others read or "
                  "write it; chmod 600 it",
                  path, (unsigned)(st.st_mode & 07777));
    goto fail;
  }
  while (len < sizeof(buf) - 1) {
    n = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rpcd__set_err(err, errlen, "--uri-file %s: cannot read: %s", path,
                    strerror(errno));
      goto fail;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  /* memchr, not strcspn: a NUL before the newline is refused below. */
  nl = memchr(buf, '\n', len);
  line = nl ? (size_t)(nl - buf) : len;
  if (!nl && len == sizeof(buf) - 1) {
    explicit_bzero(buf, sizeof(buf));
    rpcd__set_err(err, errlen, "--uri-file %s: first line longer than %d bytes",
                  path, URI_FILE_MAX - 1);
    return RPCD_EINVAL;
  }
  while (line > 0 && strchr(" \t\r\v\f", buf[line - 1]))
    line--;
  if (line == 0 || memchr(buf, '\0', line)) {
    explicit_bzero(buf, sizeof(buf));
    rpcd__set_err(err, errlen, "--uri-file %s: %s", path,
                  line == 0 ? "empty first line" : "contains a NUL byte");
    return RPCD_EINVAL;
  }
  *out = strndup(buf, line);
  explicit_bzero(buf, sizeof(buf));
  return *out ? RPCD_OK : RPCD_ENOMEM;

fail:
  close(fd);
  return RPCD_EINVAL;
}

void rpcd__uri_blank_password(char *uri)
{
  size_t start;
  size_t len;

  if (rpcd__uri_secret(uri, &start, &len))
    memset(uri + start, '*', len);
}
