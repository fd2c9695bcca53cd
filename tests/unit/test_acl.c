/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the --acl rules (core/acl.c): every rule form, comments and
 * blank lines, every refusal with its line and reason, an unreadable file,
 * and matching by exact name, prefix, "*", user "*" and anonymous.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/plugin.h>

#include "acl.h"

static rpcd_acl *parse_ok(const char *text)
{
  rpcd_acl *acl = NULL;
  char err[256] = "";

  if (rpcd__acl_parse(text, strlen(text), "acl", &acl, err, sizeof(err)) !=
      RPCD_OK)
    fail_msg("refused: %s", err);
  assert_non_null(acl);
  return acl;
}

/* The file is refused with exactly `want` as the message. */
static void refused(const char *text, size_t len, const char *want)
{
  rpcd_acl *acl = (rpcd_acl *)1;
  char err[256] = "";

  assert_int_equal(rpcd__acl_parse(text, len, "acl", &acl, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_null(acl);
  assert_string_equal(err, want);
}

static bool may(const rpcd_acl *acl, const char *user, const char *method)
{
  return rpcd__acl_allows(acl, user, user ? strlen(user) : 0, method,
                          strlen(method));
}

static void test_rule_forms(void **state)
{
  rpcd_acl *acl = parse_ok("# callers\n"
                           "\n"
                           "allow alice *\n"
                           "  allow\tbob fib rpc.* # bob: read only\n"
                           "allow anonymous rpc.ping\r\n"
                           "allow * kv.get\n"
                           "allow carol kv.*  fib*   x_y-z.9");

  (void)state;
  assert_true(may(acl, "alice", "kv.set"));
  assert_true(may(acl, "alice", "anything.at.all"));
  assert_true(may(acl, "bob", "fib"));
  assert_true(may(acl, "bob", "rpc.list"));
  assert_true(may(acl, "bob", "kv.get")); /* allow * */
  assert_false(may(acl, "bob", "kv.set"));
  assert_false(may(acl, "bob", "fibonacci")); /* exact, not a prefix */
  assert_true(may(acl, "carol", "kv.set"));
  assert_true(may(acl, "carol", "fib"));
  assert_true(may(acl, "carol", "fibonacci"));
  assert_true(may(acl, "carol", "x_y-z.9"));
  assert_false(may(acl, "carol", "kv")); /* "kv.*" needs the dot */
  assert_false(may(acl, "carol", "rpc.list"));
  rpcd__acl_free(acl);
}

static void test_empty_denies_all(void **state)
{
  rpcd_acl *acl = parse_ok("# nobody\n\n   \n");

  (void)state;
  assert_false(may(acl, "alice", "fib"));
  assert_false(may(acl, NULL, "rpc.ping"));
  rpcd__acl_free(acl);
  acl = parse_ok("");
  assert_false(may(acl, "alice", "fib"));
  rpcd__acl_free(acl);
}

static void test_users(void **state)
{
  rpcd_acl *acl = parse_ok("allow anonymous rpc.ping\n"
                           "allow bob fib\n"
                           "allow * rpc.list\n");

  (void)state;
  /* No user_id is "anonymous". */
  assert_true(may(acl, NULL, "rpc.ping"));
  assert_true(may(acl, "anonymous", "rpc.ping"));
  assert_false(may(acl, "bob", "rpc.ping"));
  assert_false(may(acl, NULL, "fib"));
  /* "*" is anyone, anonymous included. */
  assert_true(may(acl, NULL, "rpc.list"));
  assert_true(may(acl, "zed", "rpc.list"));
  /* Names match in full and by case. */
  assert_true(may(acl, "bob", "fib"));
  assert_false(may(acl, "Bob", "fib"));
  assert_false(may(acl, "bo", "fib"));
  assert_false(may(acl, "bobby", "fib"));
  /* A user that is not NUL-terminated. */
  assert_true(rpcd__acl_allows(acl, "bobby", 3, "fib", 3));
  rpcd__acl_free(acl);
}

static void test_caller(void **state)
{
  rpcd_acl *acl = parse_ok("allow bob fib\n");
  rpcd_caller bob = {acl, "bob", 3, NULL};
  rpcd_caller anon = {acl, NULL, 0, NULL};
  rpcd_caller open = {NULL, "bob", 3, NULL};
  char buf[32];

  (void)state;
  assert_true(rpcd__caller_may(&bob, "fib", 3));
  assert_false(rpcd__caller_may(&bob, "kv.set", 6));
  assert_false(rpcd__caller_may(&anon, "fib", 3));
  /* No --acl: everything allowed. */
  assert_true(rpcd__caller_may(&open, "kv.set", 6));
  assert_true(rpcd__caller_may(NULL, "kv.set", 6));
  assert_string_equal(rpcd__caller_name(&bob, buf, sizeof(buf)), "bob");
  assert_string_equal(rpcd__caller_name(&anon, buf, sizeof(buf)), "anonymous");
  rpcd__acl_free(acl);
}

static void test_refusals(void **state)
{
  (void)state;
  refused("allow a *\ndeny bob *\n", 21,
          "acl:2: unknown keyword \"deny\" (expected \"allow\")");
  refused("Allow a *", 9,
          "acl:1: unknown keyword \"Allow\" (expected "
          "\"allow\")");
  refused("\n\nallow\n", 8,
          "acl:3: \"allow\" needs a user and at least one pattern");
  refused("allow   # nothing\n", 18,
          "acl:1: \"allow\" needs a user and at least one pattern");
  refused("allow bob\n", 10, "acl:1: \"allow bob\" needs at least one pattern");
  refused("allow bob   # fib\n", 18,
          "acl:1: \"allow bob\" needs at least one pattern");
  refused("allow bob fib k$v\n", 18,
          "acl:1: pattern \"k$v\": invalid character '$' (method names are "
          "[A-Za-z0-9_.-])");
  refused("allow bob kv/set", 16,
          "acl:1: pattern \"kv/set\": invalid character '/' (method names are "
          "[A-Za-z0-9_.-])");
  refused("allow bob k\x01", 12,
          "acl:1: pattern: invalid byte 0x01 (method names are "
          "[A-Za-z0-9_.-])");
  refused("allow bob *.set\n", 16,
          "acl:1: pattern \"*.set\": '*' may only end a pattern (\"kv.*\")");
  refused("allow bob kv**\n", 15,
          "acl:1: pattern \"kv**\": '*' may only end a pattern (\"kv.*\")");
  refused("allow bob fib\nallow bob f\0b\n", 28,
          "acl:2: a NUL byte (not a text file?)");
}

static void test_long_pattern(void **state)
{
  char text[400];
  char name[300];

  (void)state;
  memset(name, 'a', 256);
  name[256] = '\0';
  snprintf(text, sizeof(text), "allow bob %s\n", name);
  refused(text, strlen(text),
          "acl:1: pattern \"aaaaaaaaaaaaaaaaaaaa...\" is longer than 255 "
          "characters");
  name[255] = '\0';
  snprintf(text, sizeof(text), "allow bob %s\n", name);
  rpcd__acl_free(parse_ok(text));
}

static void test_load(void **state)
{
  char path[] = "/tmp/test_acl_XXXXXX";
  const char *rules = "allow bob fib\nallow bob kv.*x\n";
  char want[128];
  char err[256];
  rpcd_acl *acl;
  int fd;

  (void)state;
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, rules, 14), 14);
  assert_int_equal(rpcd__acl_load(path, &acl, err, sizeof(err)), RPCD_OK);
  assert_true(may(acl, "bob", "fib"));
  rpcd__acl_free(acl);

  /* The file name and the line number in the message. */
  assert_int_equal(write(fd, rules + 14, strlen(rules) - 14),
                   (ssize_t)(strlen(rules) - 14));
  close(fd);
  assert_int_equal(rpcd__acl_load(path, &acl, err, sizeof(err)), RPCD_EINVAL);
  assert_null(acl);
  snprintf(want, sizeof(want),
           "%s:2: pattern \"kv.*x\": '*' may only end a pattern (\"kv.*\")",
           path);
  assert_string_equal(err, want);

  unlink(path);
  assert_int_equal(rpcd__acl_load(path, &acl, err, sizeof(err)), RPCD_EINVAL);
  assert_null(acl);
  snprintf(want, sizeof(want),
           "%s: cannot read the ACL: No such file or directory", path);
  assert_string_equal(err, want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rule_forms),
      cmocka_unit_test(test_empty_denies_all),
      cmocka_unit_test(test_users),
      cmocka_unit_test(test_caller),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_long_pattern),
      cmocka_unit_test(test_load),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
