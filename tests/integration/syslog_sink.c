/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the syslog daemon, for test_syslog.sh: binds a datagram
 * socket at PATH (what glibc's syslog() writes to as /dev/log) and appends
 * each datagram, as a line, to OUT until it is killed.
 *
 *   syslog_sink PATH OUT
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  struct sockaddr_un addr;
  char buf[4096];
  FILE *out;
  int fd;

  if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
    fprintf(stderr, "usage: syslog_sink PATH OUT\n");
    return 2;
  }
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, argv[1]);
  unlink(argv[1]);
  fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    perror("syslog_sink: bind");
    return 1;
  }
  out = fopen(argv[2], "a");
  if (!out) {
    perror("syslog_sink: open");
    return 1;
  }
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);

    if (n < 0)
      return 1;
    fwrite(buf, 1, (size_t)n, out);
    fputc('\n', out);
    fflush(out);
  }
}
