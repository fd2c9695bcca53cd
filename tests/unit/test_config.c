/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rpcd's command line (core/config.c): defaults, both
 * "--flag value" and "--flag=value", repeated flags, $RPCD_URI, every bad
 * value of every flag (the message must name the flag), unknown flags,
 * missing values and the required flags, --help and --version.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <rpcd/plugin.h>

#include "config.h"
#include "rpcd_proto.h"

#define URI "amqp://guest:guest@localhost:5672/"

/* Parse a NULL-terminated argv (argv[0] is added). */
static int parse_env(rpcd_config *cfg, const char *env_uri, char *err,
                     size_t errlen, const char *const *args)
{
  char *argv[64];
  int argc = 0;

  argv[argc++] = (char *)"rpcd";
  while (*args && argc < 63)
    argv[argc++] = (char *)*args++;
  argv[argc] = NULL;
  err[0] = '\0';
  return rpcd__config_parse(cfg, argc, argv, env_uri, err, errlen);
}

#define PARSE(cfg, env, err, ...)                                              \
  parse_env((cfg), (env), (err), sizeof(err),                                  \
            (const char *const[]){__VA_ARGS__, NULL})

/* Expect RPCD_EINVAL with every `want` substring in the message. */
static void expect_einval(const char *const *args, const char *want1,
                          const char *want2)
{
  rpcd_config cfg;
  char err[512];
  int rc;

  rc = parse_env(&cfg, NULL, err, sizeof(err), args);
  if (rc != RPCD_EINVAL)
    fail_msg("argv starting \"%s\": rc %d, expected RPCD_EINVAL (err \"%s\")",
             args[0], rc, err);
  if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
    fail_msg("argv starting \"%s\": message \"%s\" lacks \"%s\"%s%s%s", args[0],
             err, want1, want2 ? " or \"" : "", want2 ? want2 : "",
             want2 ? "\"" : "");
  rpcd__config_destroy(&cfg);
}

#define EXPECT_EINVAL(want1, want2, ...)                                       \
  expect_einval((const char *const[]){__VA_ARGS__, NULL}, (want1), (want2))

static void test_defaults(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(cfg.uri, URI);
  assert_string_equal(cfg.queue, "rpc_queue");
  assert_int_equal(cfg.n_plugins, 1);
  assert_string_equal(cfg.plugins[0], "a.so");
  assert_null(cfg.plugin_dir);
  assert_int_equal(cfg.prefetch, 1);
  assert_null(cfg.text_method);
  assert_int_equal(cfg.log_level, RPCD_LOG_INFO);
  assert_int_equal(cfg.max_body, RPCD_DEFAULT_MAX_BODY);
  assert_int_equal(cfg.max_body, 1048576);
  assert_int_equal(cfg.heartbeat_s, 60);
  assert_false(cfg.help);
  assert_false(cfg.version);
  rpcd__config_destroy(&cfg);
  assert_null(cfg.plugins);
  assert_int_equal(cfg.n_plugins, 0);
}

static void check_all_set(const rpcd_config *cfg)
{
  assert_string_equal(cfg->uri, "amqp://u:p@h:1/v");
  assert_string_equal(cfg->queue, "jobs");
  assert_int_equal(cfg->n_plugins, 1);
  assert_string_equal(cfg->plugins[0], "/x/fib.so");
  assert_string_equal(cfg->plugin_dir, "/plugins");
  assert_int_equal(cfg->prefetch, 16);
  assert_string_equal(cfg->text_method, "fib");
  assert_int_equal(cfg->log_level, RPCD_LOG_DEBUG);
  assert_int_equal(cfg->max_body, 4096);
  assert_int_equal(cfg->heartbeat_s, 0);
}

static void test_every_flag_both_forms(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", "amqp://u:p@h:1/v",
                         "--queue", "jobs", "--plugin", "/x/fib.so",
                         "--plugin-dir", "/plugins", "--prefetch", "16",
                         "--text-method", "fib", "--log-level", "debug",
                         "--max-body", "4096", "--heartbeat", "0"),
                   RPCD_OK);
  check_all_set(&cfg);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, NULL, err, "--uri=amqp://u:p@h:1/v",
                         "--queue=jobs", "--plugin=/x/fib.so",
                         "--plugin-dir=/plugins", "--prefetch=16",
                         "--text-method=fib", "--log-level=debug",
                         "--max-body=4096", "--heartbeat=0"),
                   RPCD_OK);
  check_all_set(&cfg);
  rpcd__config_destroy(&cfg);
}

static void test_value_edge_cases(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  /* Only the first '=' splits: the value may contain more. */
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--uri=amqp://h/?a=b", "--plugin=x=y.so"),
      RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://h/?a=b");
  assert_string_equal(cfg.plugins[0], "x=y.so");
  rpcd__config_destroy(&cfg);

  /* A value that looks like a flag is still a value in the two-word form. */
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "--weird.so"), RPCD_OK);
  assert_string_equal(cfg.plugins[0], "--weird.so");
  rpcd__config_destroy(&cfg);

  /* Bounds that are allowed. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--prefetch", "65535", "--max-body", "64",
                         "--heartbeat", "3600", "--log-level", "ERROR"),
                   RPCD_OK);
  assert_int_equal(cfg.prefetch, 65535);
  assert_int_equal(cfg.max_body, 64);
  assert_int_equal(cfg.heartbeat_s, 3600);
  assert_int_equal(cfg.log_level, RPCD_LOG_ERROR);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--max-body", "134217728", "--log-level", "warn",
                         "--prefetch", "1"),
                   RPCD_OK);
  assert_int_equal(cfg.max_body, 134217728);
  assert_int_equal(cfg.log_level, RPCD_LOG_WARN);
  assert_int_equal(cfg.prefetch, 1);
  rpcd__config_destroy(&cfg);

  /* A later flag wins over an earlier one. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", "amqp://first", "--plugin",
                         "a.so", "--queue", "q1", "--uri", "amqp://second",
                         "--queue=q2"),
                   RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://second");
  assert_string_equal(cfg.queue, "q2");
  rpcd__config_destroy(&cfg);
}

static void test_repeated_plugin(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--plugin", "a.so", "--uri", URI,
                         "--plugin=b.so", "--plugin", "c.so", "--plugin",
                         "a.so"),
                   RPCD_OK);
  assert_int_equal(cfg.n_plugins, 4);
  assert_string_equal(cfg.plugins[0], "a.so");
  assert_string_equal(cfg.plugins[1], "b.so");
  assert_string_equal(cfg.plugins[2], "c.so");
  assert_string_equal(cfg.plugins[3], "a.so");
  rpcd__config_destroy(&cfg);

  /* --plugin-dir alone is enough. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin-dir",
                         "/usr/lib/rpcd/plugins"),
                   RPCD_OK);
  assert_int_equal(cfg.n_plugins, 0);
  assert_string_equal(cfg.plugin_dir, "/usr/lib/rpcd/plugins");
  rpcd__config_destroy(&cfg);
}

static void test_env_uri(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://from-env");
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--uri",
                         "amqp://from-flag", "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://from-flag");
  rpcd__config_destroy(&cfg);

  /* An empty --uri is refused rather than taken as a broker. */
  EXPECT_EINVAL("--uri", "empty", "--uri=", "--plugin", "a.so");
  EXPECT_EINVAL("--uri", "empty", "--plugin", "a.so", "--uri", "");
  assert_int_equal(
      PARSE(&cfg, "amqp://from-env", err, "--uri", "", "--plugin", "a.so"),
      RPCD_EINVAL);
  assert_non_null(strstr(err, "--uri"));
  rpcd__config_destroy(&cfg);

  /* An empty $RPCD_URI is no URI. */
  assert_int_equal(PARSE(&cfg, "", err, "--plugin", "a.so"), RPCD_EINVAL);
  assert_non_null(strstr(err, "--uri"));
  assert_non_null(strstr(err, "RPCD_URI"));
  rpcd__config_destroy(&cfg);
}

static void test_bad_prefetch(void **state)
{
  (void)state;
  EXPECT_EINVAL("--prefetch", "\"0\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", "0");
  EXPECT_EINVAL("--prefetch", "\"65536\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", "65536");
  EXPECT_EINVAL("--prefetch", "\"abc\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch=abc");
  EXPECT_EINVAL("--prefetch", "\"-1\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", "-1");
  EXPECT_EINVAL("--prefetch", "\"+5\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", "+5");
  EXPECT_EINVAL("--prefetch", "\"10x\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", "10x");
  EXPECT_EINVAL("--prefetch", "\" 5\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch", " 5");
  EXPECT_EINVAL("--prefetch", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--prefetch=");
  EXPECT_EINVAL("--prefetch", "99999999999999999999999", "--uri", URI,
                "--plugin", "a.so", "--prefetch", "99999999999999999999999");
  /* The message says what is allowed. */
  EXPECT_EINVAL("1 to 65535", NULL, "--uri", URI, "--plugin", "a.so",
                "--prefetch", "0");
}

static void test_bad_max_body(void **state)
{
  (void)state;
  EXPECT_EINVAL("--max-body", "\"63\"", "--uri", URI, "--plugin", "a.so",
                "--max-body", "63");
  EXPECT_EINVAL("--max-body", "\"0\"", "--uri", URI, "--plugin", "a.so",
                "--max-body", "0");
  EXPECT_EINVAL("--max-body", "\"134217729\"", "--uri", URI, "--plugin", "a.so",
                "--max-body", "134217729");
  EXPECT_EINVAL("--max-body", "\"1M\"", "--uri", URI, "--plugin", "a.so",
                "--max-body", "1M");
  EXPECT_EINVAL("--max-body", "\"-1\"", "--uri", URI, "--plugin", "a.so",
                "--max-body=-1");
  EXPECT_EINVAL("--max-body", "\"abc\"", "--uri", URI, "--plugin", "a.so",
                "--max-body", "abc");
}

static void test_bad_heartbeat(void **state)
{
  (void)state;
  EXPECT_EINVAL("--heartbeat", "\"3601\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat", "3601");
  EXPECT_EINVAL("--heartbeat", "\"-1\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat", "-1");
  EXPECT_EINVAL("--heartbeat", "\"abc\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat=abc");
  EXPECT_EINVAL("--heartbeat", "\"1.5\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat", "1.5");
  EXPECT_EINVAL("--heartbeat", "\" 5\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat", " 5");
  EXPECT_EINVAL("--heartbeat", "\" -0\"", "--uri", URI, "--plugin", "a.so",
                "--heartbeat", " -0");
}

static void test_bad_log_level(void **state)
{
  (void)state;
  EXPECT_EINVAL("--log-level", "\"verbose\"", "--uri", URI, "--plugin", "a.so",
                "--log-level", "verbose");
  EXPECT_EINVAL("--log-level", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--log-level=");
  EXPECT_EINVAL("--log-level", "\"3\"", "--uri", URI, "--plugin", "a.so",
                "--log-level", "3");
  EXPECT_EINVAL("--log-level", "\"info \"", "--uri", URI, "--plugin", "a.so",
                "--log-level", "info ");
  /* The message lists the levels. */
  EXPECT_EINVAL("error, warn, info", NULL, "--uri", URI, "--plugin", "a.so",
                "--log-level", "verbose");
}

static void test_bad_queue(void **state)
{
  char long_queue[300];
  rpcd_config cfg;
  char err[256];

  (void)state;
  memset(long_queue, 'q', 256);
  long_queue[256] = '\0';
  EXPECT_EINVAL("--queue", "255", "--uri", URI, "--plugin", "a.so", "--queue",
                long_queue);
  EXPECT_EINVAL("--queue", "255", "--uri", URI, "--plugin", "a.so", "--queue=");
  /* 255 bytes is allowed. */
  long_queue[255] = '\0';
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--queue", long_queue),
                   RPCD_OK);
  assert_int_equal(strlen(cfg.queue), 255);
  rpcd__config_destroy(&cfg);
}

static void test_bad_text_method(void **state)
{
  char long_name[300];
  rpcd_config cfg;
  char err[256];

  (void)state;
  EXPECT_EINVAL("--text-method", "\"has space\"", "--uri", URI, "--plugin",
                "a.so", "--text-method", "has space");
  EXPECT_EINVAL("--text-method", "\"a/b\"", "--uri", URI, "--plugin", "a.so",
                "--text-method=a/b");
  EXPECT_EINVAL("--text-method", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--text-method=");
  memset(long_name, 'm', 256);
  long_name[256] = '\0';
  EXPECT_EINVAL("--text-method", "not a valid method name", "--uri", URI,
                "--plugin", "a.so", "--text-method", long_name);
  /* Built-ins are valid names. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--text-method", "rpc.ping"),
                   RPCD_OK);
  assert_string_equal(cfg.text_method, "rpc.ping");
  rpcd__config_destroy(&cfg);
}

static void test_bad_plugin_dir(void **state)
{
  (void)state;
  EXPECT_EINVAL("--plugin-dir", "more than once", "--uri", URI, "--plugin-dir",
                "/a", "--plugin-dir", "/b");
}

static void test_unknown_flag(void **state)
{
  (void)state;
  EXPECT_EINVAL("unknown argument", "\"--bogus\"", "--uri", URI, "--plugin",
                "a.so", "--bogus");
  EXPECT_EINVAL("unknown argument", "\"--bogus=1\"", "--uri", URI, "--plugin",
                "a.so", "--bogus=1");
  /* A prefix of a flag is not the flag. */
  EXPECT_EINVAL("unknown argument", "\"--plug\"", "--uri", URI, "--plug",
                "a.so");
  /* Nor is a flag with more after it. */
  EXPECT_EINVAL("unknown argument", "\"--uris\"", "--uris", URI, "--plugin",
                "a.so");
  /* Positional arguments are not accepted. */
  EXPECT_EINVAL("unknown argument", "\"a.so\"", "--uri", URI, "a.so");
  EXPECT_EINVAL("unknown argument", "\"-p\"", "-p", "a.so", "--uri", URI);
  /* The message points at --help. */
  EXPECT_EINVAL("--help", NULL, "--bogus");
}

static void test_missing_value(void **state)
{
  static const char *const flags[] = {
      "--uri",        "--queue",    "--plugin",
      "--plugin-dir", "--prefetch", "--text-method",
      "--log-level",  "--max-body", "--heartbeat",
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
    const char *args[] = {"--uri", URI, "--plugin", "a.so", flags[i], NULL};

    expect_einval(args, flags[i], "needs a value");
  }
}

static void test_required(void **state)
{
  (void)state;
  /* No URI (and no $RPCD_URI). */
  EXPECT_EINVAL("no broker", "--uri", "--plugin", "a.so");
  /* No plugins. */
  EXPECT_EINVAL("no plugins", "--plugin", "--uri", URI);
  EXPECT_EINVAL("no plugins", "--plugin-dir", "--uri", URI, "--queue", "q");
}

static void test_no_args(void **state)
{
  rpcd_config cfg;
  char *argv[] = {(char *)"rpcd", NULL};
  char err[256] = "";

  (void)state;
  assert_int_equal(rpcd__config_parse(&cfg, 1, argv, NULL, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "no broker"));
  rpcd__config_destroy(&cfg);
  /* With $RPCD_URI the next thing missing is a plugin. */
  assert_int_equal(rpcd__config_parse(&cfg, 1, argv, URI, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "no plugins"));
  rpcd__config_destroy(&cfg);
}

static void test_help_and_version(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  /* --help needs nothing else and wins over what follows it. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--help"), RPCD_OK);
  assert_true(cfg.help);
  assert_false(cfg.version);
  rpcd__config_destroy(&cfg);
  assert_int_equal(PARSE(&cfg, NULL, err, "-h", "--bogus"), RPCD_OK);
  assert_true(cfg.help);
  rpcd__config_destroy(&cfg);
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--prefetch", "4", "--help", "--prefetch", "0"),
      RPCD_OK);
  assert_true(cfg.help);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, NULL, err, "--version"), RPCD_OK);
  assert_true(cfg.version);
  assert_false(cfg.help);
  rpcd__config_destroy(&cfg);
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--version"), RPCD_OK);
  assert_true(cfg.version);
  rpcd__config_destroy(&cfg);

  /* An error before --help is still an error. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--prefetch", "0", "--help"),
                   RPCD_EINVAL);
  assert_false(cfg.help);
  rpcd__config_destroy(&cfg);
  /* "--help=x" is not --help. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--help=x"), RPCD_EINVAL);
  assert_false(cfg.help);
  rpcd__config_destroy(&cfg);

  /* The usage text documents every flag. */
  {
    static const char *const flags[] = {
        "--uri",       "--queue",       "--plugin ",   "--plugin-dir",
        "--prefetch",  "--text-method", "--log-level", "--max-body",
        "--heartbeat", "--help",        "--version",
    };
    size_t i;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
      if (!strstr(rpcd__usage, flags[i]))
        fail_msg("usage does not mention %s", flags[i]);
  }
}

/* A failed parse may leave plugins allocated; destroy frees them. */
static void test_destroy_after_failure(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--plugin", "a.so", "--plugin",
                         "b.so", "--prefetch", "0"),
                   RPCD_EINVAL);
  rpcd__config_destroy(&cfg); /* LeakSanitizer checks the array is freed */
  assert_null(cfg.plugins);
  rpcd__config_destroy(NULL);
}

/* Parsing twice gives the same result: no hidden state (getopt has some). */
static void test_reentrant(void **state)
{
  rpcd_config a;
  rpcd_config b;
  char err[256];

  (void)state;
  assert_int_equal(
      PARSE(&a, NULL, err, "--uri", URI, "--plugin", "a.so", "--prefetch", "7"),
      RPCD_OK);
  assert_int_equal(PARSE(&b, NULL, err, "--uri", URI, "--plugin", "b.so"),
                   RPCD_OK);
  assert_int_equal(a.prefetch, 7);
  assert_int_equal(b.prefetch, 1);
  assert_string_equal(a.plugins[0], "a.so");
  assert_string_equal(b.plugins[0], "b.so");
  assert_int_equal(b.n_plugins, 1);
  rpcd__config_destroy(&a);
  rpcd__config_destroy(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_every_flag_both_forms),
      cmocka_unit_test(test_value_edge_cases),
      cmocka_unit_test(test_repeated_plugin),
      cmocka_unit_test(test_env_uri),
      cmocka_unit_test(test_bad_prefetch),
      cmocka_unit_test(test_bad_max_body),
      cmocka_unit_test(test_bad_heartbeat),
      cmocka_unit_test(test_bad_log_level),
      cmocka_unit_test(test_bad_queue),
      cmocka_unit_test(test_bad_text_method),
      cmocka_unit_test(test_bad_plugin_dir),
      cmocka_unit_test(test_unknown_flag),
      cmocka_unit_test(test_missing_value),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_no_args),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_destroy_after_failure),
      cmocka_unit_test(test_reentrant),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
