/* SPDX-License-Identifier: MIT */
/*
 * rpcd__uri_file_read() and rpcd__uri_blank_password() (common/uri_file.c):
 * a URI file others may read is refused, the first line is the URI, and a
 * password in argv is blanked where rpcd__uri_mask() would mask it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpcd/status.h>

#include "uri_file.h"

static char dir[] = "/tmp/rpcd-test-uri-file-XXXXXX";
static char path[sizeof(dir) + 16];

static void write_file(const char *content, size_t len, mode_t mode)
{
  FILE *f;

  unlink(path);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(content, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

/* Read `path`; RPCD_OK with the URI in want, or RPCD_EINVAL with want in
 * the message (which always names the file). */
static void expect_read(int want_rc, const char *want)
{
  char err[512] = "";
  char *uri = (char *)"untouched";
  int rc;

  rc = rpcd__uri_file_read(path, &uri, err, sizeof(err));
  assert_int_equal(rc, want_rc);
  if (rc == RPCD_OK) {
    assert_string_equal(uri, want);
    free(uri);
  } else {
    assert_null(uri);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, want));
    assert_null(strstr(err, "S3cret"));
  }
}

static int setup(void **state)
{
  (void)state;
  if (!mkdtemp(dir))
    return -1;
  snprintf(path, sizeof(path), "%s/uri", dir);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  unlink(path);
  rmdir(dir);
  return 0;
}

static void test_first_line(void **state)
{
  (void)state;
  write_file("amqp://u:S3cret@h:5672\n", 23, 0600);
  expect_read(RPCD_OK, "amqp://u:S3cret@h:5672");
  /* No newline, trailing blanks and CR, later lines ignored. */
  write_file("amqp://u:S3cret@h", 17, 0400);
  expect_read(RPCD_OK, "amqp://u:S3cret@h");
  write_file("amqp://u:S3cret@h \t\r\nsecond line\n", 33, 0600);
  expect_read(RPCD_OK, "amqp://u:S3cret@h");
}

static void test_refused(void **state)
{
  char big[5000];

  (void)state;
  write_file("amqp://u:S3cret@h\n", 18, 0644);
  expect_read(RPCD_EINVAL, "mode 0644");
  write_file("amqp://u:S3cret@h\n", 18, 0604);
  expect_read(RPCD_EINVAL, "group or others");
  write_file("amqp://u:S3cret@h\n", 18, 0620);
  expect_read(RPCD_EINVAL, "group or others");
  write_file("", 0, 0600);
  expect_read(RPCD_EINVAL, "empty");
  write_file(" \n", 2, 0600);
  expect_read(RPCD_EINVAL, "empty");
  write_file("\namqp://u:S3cret@h\n", 19, 0600);
  expect_read(RPCD_EINVAL, "empty");
  write_file("amqp://u:S3\0cret@h\n", 19, 0600);
  expect_read(RPCD_EINVAL, "NUL");
  memset(big, 'a', sizeof(big));
  write_file(big, sizeof(big), 0600);
  expect_read(RPCD_EINVAL, "longer");
  unlink(path);
  expect_read(RPCD_EINVAL, "cannot open");
  assert_int_equal(mkdir(path, 0700), 0);
  expect_read(RPCD_EINVAL, "not a regular file");
  assert_int_equal(rmdir(path), 0);
  assert_int_equal(mkfifo(path, 0600), 0);
  expect_read(RPCD_EINVAL, "not a regular file");
  unlink(path);
  if (geteuid() != 0) {
    write_file("amqp://u:S3cret@h\n", 18, 0200);
    expect_read(RPCD_EINVAL, "cannot open");
  }
}

static void expect_blank(const char *uri, const char *want)
{
  char buf[256];

  snprintf(buf, sizeof(buf), "%s", uri);
  rpcd__uri_blank_password(buf);
  assert_string_equal(buf, want);
}

static void test_blank(void **state)
{
  (void)state;
  expect_blank("amqp://guest:S3cret@127.0.0.1:5672",
               "amqp://guest:******@127.0.0.1:5672");
  expect_blank("amqp://u:p@h/vhost", "amqp://u:*@h/vhost");
  expect_blank("amqp://u:a:b@c@h", "amqp://u:*****@h");
  expect_blank("amqp://u:S3/cret@h", "amqp://u:*******@h");
  expect_blank("amqp://u@h", "amqp://u@h");
  expect_blank("amqp://u:@h", "amqp://u:@h");
  expect_blank("amqp://h:5672/v", "amqp://h:5672/v");
  expect_blank("u:pw@h", "****@h");
  expect_blank("", "");
  rpcd__uri_blank_password(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_line),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_blank),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
