/* SPDX-License-Identifier: MIT */
/* rpcd__escape(): untrusted bytes made printable for logs and messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "text_escape.h"

static void expect(const void *data, size_t len, size_t outlen,
                   const char *want)
{
  char out[64];

  assert_true(outlen <= sizeof(out));
  memset(out, 'Z', sizeof(out));
  assert_ptr_equal(rpcd__escape(out, outlen, data, len), out);
  assert_string_equal(out, want);
}

static void test_plain_text_unchanged(void **state)
{
  (void)state;
  expect("abc-123", 7, 64, "abc-123");
  expect("", 0, 64, "");
  expect(NULL, 5, 64, "");
}

static void test_nul_and_controls_escaped(void **state)
{
  (void)state;
  /* Everything after a NUL is kept. */
  expect("abc\0def", 7, 64, "abc\\x00def");
  expect("a\nb\rc\x1b\x7f", 7, 64, "a\\x0ab\\x0dc\\x1b\\x7f");
  expect("say \"hi\" \\o/", 12, 64, "say \\\"hi\\\" \\\\o/");
  /* Bytes above 0x7f (UTF-8) pass through. */
  expect("caf\xc3\xa9", 5, 64, "caf\xc3\xa9");
}

static void test_cut_at_a_whole_escape(void **state)
{
  (void)state;
  /* Exactly fits: no ellipsis. */
  expect("abcdef", 6, 7, "abcdef");
  /* Too long: cut and marked. */
  expect("abcdefgh", 8, 7, "abc...");
  /* Never half an escape. */
  expect("ab\0\0\0\0", 6, 10, "ab\\x00...");
  expect("ab\0\0\0\0", 6, 9, "ab...");
  /* Little room: the mark alone, or nothing. */
  expect("abc", 3, 1, "");
  expect("abcd", 4, 4, "...");
  expect("abcde", 5, 5, "a...");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_text_unchanged),
      cmocka_unit_test(test_nul_and_controls_escaped),
      cmocka_unit_test(test_cut_at_a_whole_escape),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
