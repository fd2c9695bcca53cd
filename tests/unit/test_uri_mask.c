/* SPDX-License-Identifier: MIT */
/*
 * rpcd__uri_mask() (common/uri_mask.c): the password of a broker URI never
 * reaches a message, whatever the URI looks like and however small the
 * buffer it is written to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "uri_mask.h"

static void expect(const char *uri, const char *want)
{
  char out[256];

  memset(out, 'Z', sizeof(out));
  rpcd__uri_mask(uri, out, sizeof(out));
  assert_string_equal(out, want);
}

static void test_normal(void **state)
{
  (void)state;
  expect("amqp://guest:S3cret@127.0.0.1:5672",
         "amqp://guest:***@127.0.0.1:5672");
  expect("amqp://u:p@h", "amqp://u:***@h");
  /* An empty password is masked too: its absence is nobody's business. */
  expect("amqp://u:@h", "amqp://u:***@h");
  /* %-escapes stay as typed. */
  expect("amqp://gu%40est:S3%2Fcret@h:5672", "amqp://gu%40est:***@h:5672");
}

static void test_no_password(void **state)
{
  (void)state;
  expect("amqp://127.0.0.1:5672", "amqp://127.0.0.1:5672");
  expect("amqp://guest@127.0.0.1", "amqp://guest@127.0.0.1");
  expect("amqp://", "amqp://");
  expect("", "");
}

/* The user information ends at the last '@' of the authority: the host
 * shown is the one a parser would connect to, and every ':' and '@' before
 * it belongs to the masked part. */
static void test_last_at_wins(void **state)
{
  (void)state;
  expect("amqp://a:b:c@d@e", "amqp://a:***@e");
  expect("amqp://guest:S3c@ret@127.0.0.1:1", "amqp://guest:***@127.0.0.1:1");
  expect("amqp://a:b:c@d@e:5672/vh", "amqp://a:***@e:5672/vh");
}

/* Without "scheme://" there is no telling where the user name ends:
 * everything before the last '@' goes. */
static void test_no_scheme(void **state)
{
  (void)state;
  expect("guest:S3cret@127.0.0.1", "***@127.0.0.1");
  expect("S3cret@h", "***@h");
  expect("127.0.0.1:5672", "127.0.0.1:5672");
}

/* A path or query after the host is kept; an '@' there is not user
 * information. */
static void test_path_and_query(void **state)
{
  (void)state;
  expect("amqp://u:S3cret@h:5672/vhost?heartbeat=10",
         "amqp://u:***@h:5672/vhost?heartbeat=10");
  expect("amqp://u:S3cret@h/%zz", "amqp://u:***@h/%zz");
  expect("amqp://u:S3cret@h:99999", "amqp://u:***@h:99999");
  expect("amqp://h/v@x", "amqp://h/v@x");
  /* A password typed with a raw '/', '?' or '#': still masked, even if a
   * vhost holding an '@' then loses its port and part of its path. */
  expect("amqp://guest:S3c/ret@127.0.0.1:1", "amqp://guest:***@127.0.0.1:1");
  expect("amqp://guest:S3c?ret@h", "amqp://guest:***@h");
  expect("amqp://h:5672/v@x", "amqp://h:***@x");
  expect("amqp://u:S3cret@h?x=a@b", "amqp://u:***@h?x=a@b");
  expect("amqp://u:S3cret@h#frag", "amqp://u:***@h#frag");
}

/* Control characters cannot forge a line of a log or message. */
static void test_control_chars(void **state)
{
  (void)state;
  expect("amqp://u:S3cret@h\n/x", "amqp://u:***@h\\x0a/x");
  expect("amqp://u\r:S3\x1b[2Jcret@h\x7f", "amqp://u\\x0d:***@h\\x7f");
  expect("\t@h", "***@h");
}

/* However small the buffer, the output is NUL-terminated, a prefix of the
 * full masked text (an escape is never cut in half), and never shows the
 * password. */
static void test_tiny_buffer(void **state)
{
  static const char *const uris[] = {
      "amqp://guest:S3cret@127.0.0.1:5672",
      "guest:S3cret@127.0.0.1",
      "amqp://a:S3cret:x@S3cret@e\n",
  };
  char full[256];
  char out[256];
  size_t u;
  size_t len;

  (void)state;
  for (u = 0; u < sizeof(uris) / sizeof(uris[0]); u++) {
    rpcd__uri_mask(uris[u], full, sizeof(full));
    assert_null(strstr(full, "S3cret"));
    for (len = 1; len <= strlen(full) + 1; len++) {
      memset(out, 'Z', sizeof(out));
      rpcd__uri_mask(uris[u], out, len);
      assert_true(strlen(out) < len);
      assert_int_equal(out[len], 'Z'); /* nothing written past outlen */
      assert_memory_equal(out, full, strlen(out));
      assert_null(strstr(out, "S3cret"));
      assert_null(strstr(out, "S3c"));
    }
  }
  /* outlen 0 writes nothing at all; NULL in is an empty string out. */
  out[0] = 'Z';
  rpcd__uri_mask("amqp://u:p@h", out, 0);
  assert_int_equal(out[0], 'Z');
  rpcd__uri_mask(NULL, out, sizeof(out));
  assert_string_equal(out, "");
  rpcd__uri_mask("amqp://u:p@h", NULL, 10);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal),
      cmocka_unit_test(test_no_password),
      cmocka_unit_test(test_last_at_wins),
      cmocka_unit_test(test_no_scheme),
      cmocka_unit_test(test_path_and_query),
      cmocka_unit_test(test_control_chars),
      cmocka_unit_test(test_tiny_buffer),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
