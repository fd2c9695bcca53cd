/* SPDX-License-Identifier: MIT */
/*
 * The server log: logfmt lines, level filtering and run-time changes,
 * level names, fields, and that untrusted text cannot break a line apart
 * or forge a field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run rpcd__log with stderr redirected to a file; return what was written. */
static size_t capture(char *buf, size_t cap, int level, const char *text)
{
  FILE *f = tmpfile();
  int saved = dup(STDERR_FILENO);
  size_t n;

  assert_non_null(f);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
  rpcd__log(level, "cid=%s", text);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  rewind(f);
  n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
  return n;
}

static void test_level_names(void **state)
{
  (void)state;
  assert_int_equal(rpcd__log_level_parse("error"), RPCD_LOG_ERROR);
  assert_int_equal(rpcd__log_level_parse("WARN"), RPCD_LOG_WARN);
  assert_int_equal(rpcd__log_level_parse("info"), RPCD_LOG_INFO);
  assert_int_equal(rpcd__log_level_parse("debug"), RPCD_LOG_DEBUG);
  assert_int_equal(rpcd__log_level_parse("verbose"), -1);
  assert_int_equal(rpcd__log_level_parse(""), -1);
}

static void test_filtering(void **state)
{
  char buf[512];

  (void)state;
  rpcd__log_level = RPCD_LOG_WARN;
  assert_int_equal(capture(buf, sizeof(buf), RPCD_LOG_INFO, "x"), 0);
  assert_true(capture(buf, sizeof(buf), RPCD_LOG_WARN, "x") > 0);
  assert_non_null(strstr(buf, " level=warn "));
  /* "=" in a value quotes it: no field can be forged. */
  assert_non_null(strstr(buf, " msg=\"cid=x\"\n"));
  rpcd__log_level = RPCD_LOG_INFO;
}

static void test_logfmt_line(void **state)
{
  char buf[512];
  char pid[32];

  (void)state;
  capture(buf, sizeof(buf), RPCD_LOG_INFO, "x y");
  /* ts=2026-12-01T05:17:12.192Z level=info pid=N msg="cid=x y" */
  assert_int_equal(strncmp(buf, "ts=", 3), 0);
  assert_int_equal(buf[26], 'Z');
  snprintf(pid, sizeof(pid), " level=info pid=%ld ", (long)getpid());
  assert_non_null(strstr(buf, pid));
  assert_non_null(strstr(buf, " msg=\"cid=x y\"\n"));
}

static void test_fields_and_escapes(void **state)
{
  rpcd_log_field f[4] = {
      {"method", "fib"}, {"cid", "a\"b c"}, {"ms", NULL}, {"code", "-32602"}};
  FILE *out = tmpfile();
  int saved = dup(STDERR_FILENO);
  char buf[512];
  size_t n;

  (void)state;
  assert_non_null(out);
  assert_true(dup2(fileno(out), STDERR_FILENO) >= 0);
  rpcd__log_kv(RPCD_LOG_INFO, f, 4, "call failed: %s", "bad\tparam");
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  rewind(out);
  n = fread(buf, 1, sizeof(buf) - 1, out);
  buf[n] = '\0';
  fclose(out);
  /* A NULL value is left out; quotes and tabs are escaped. */
  assert_non_null(strstr(buf, " msg=\"call failed: bad\\tparam\" method=fib "
                              "cid=\"a\\\"b c\" code=-32602\n"));
  assert_null(strstr(buf, "ms="));
}

static void test_adjust(void **state)
{
  (void)state;
  rpcd__log_level = RPCD_LOG_INFO;
  rpcd__log_adjust(1);
  assert_int_equal(rpcd__log_level, RPCD_LOG_DEBUG);
  rpcd__log_adjust(1); /* no further than debug */
  assert_int_equal(rpcd__log_level, RPCD_LOG_DEBUG);
  rpcd__log_adjust(-1);
  rpcd__log_adjust(-1);
  rpcd__log_adjust(-1);
  rpcd__log_adjust(-1);
  assert_int_equal(rpcd__log_level, RPCD_LOG_ERROR);
  assert_string_equal(rpcd__log_level_name(RPCD_LOG_WARN), "warn");
  rpcd__log_level = RPCD_LOG_INFO;
}

static void test_control_characters_cannot_forge_lines(void **state)
{
  char buf[512];
  size_t n;

  (void)state;
  n = capture(buf, sizeof(buf), RPCD_LOG_ERROR,
              "abc\nts=2026-01-01T00:00:00.000Z level=error msg=forged\r\x01");
  assert_true(n > 0);
  /* One line: the only newline is the last byte. */
  assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
  assert_non_null(strstr(buf, "cid=abc\\nts=2026-01-01"));
  assert_non_null(strstr(buf, "msg=forged\\r\\x01\"\n"));
}

static void test_long_lines_are_cut_not_overflowed(void **state)
{
  char text[5000];
  char buf[8192];
  size_t n;

  (void)state;
  memset(text, 'y', sizeof(text) - 1);
  text[sizeof(text) - 1] = '\0';
  n = capture(buf, sizeof(buf), RPCD_LOG_ERROR, text);
  assert_true(n > 100 && n <= 2048);
  assert_int_equal(buf[n - 1], '\n');
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_level_names),
      cmocka_unit_test(test_filtering),
      cmocka_unit_test(test_logfmt_line),
      cmocka_unit_test(test_fields_and_escapes),
      cmocka_unit_test(test_adjust),
      cmocka_unit_test(test_control_characters_cannot_forge_lines),
      cmocka_unit_test(test_long_lines_are_cut_not_overflowed),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
