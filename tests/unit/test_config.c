/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rpcd's command line (core/config.c): defaults, both
 * "--flag value" and "--flag=value", repeated flags, $RPCD_URI, every bad
 * value of every flag (the message must name the flag), unknown flags,
 * abbreviations, positional arguments, missing values and the required
 * flags, --help and --version, re-entrancy, every problem of a command line
 * reported at once, --metrics-listen and --log, and a --help text that
 * covers every flag of the RPCD_FLAGS table. The --config file has its own
 * tests (test_config_file.c).
 */
#include <getopt.h> /* no_argument, required_argument in RPCD_FLAGS */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/plugin.h>

#include "config.h"
#include "rpcd_proto.h"

#define URI "amqp://guest:guest@localhost:5672/"

/* The table, as the tests see it. */
typedef struct flag_row {
  const char *name;
  char short_name;
  int has_arg;
  const char *metavar;
  const char *help;
} flag_row;

static const flag_row flag_rows[] = {
#define X(id, name, sh, has_arg, metavar, help)                                \
  {name, sh, has_arg, metavar, help},
    RPCD_FLAGS(X)
#undef X
};

#define N_FLAGS (sizeof(flag_rows) / sizeof(flag_rows[0]))

/* What --workers defaults to on this machine. */
static unsigned expected_workers(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);

  return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

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
  assert_int_equal(cfg.workers, expected_workers());
  assert_true(cfg.workers >= 1 && cfg.workers <= 256);
  assert_int_equal(cfg.drain_timeout_ms, 30000);
  assert_int_equal(cfg.handler_timeout_ms, 0);
  assert_int_equal(cfg.queue_type, RPCD_QUEUE_CLASSIC);
  assert_int_equal(cfg.max_deliveries, 3);
  assert_null(cfg.metrics_host);
  assert_int_equal(cfg.metrics_port, 0);
  assert_int_equal(cfg.log_target, RPCD_LOG_TO_STDERR);
  assert_null(cfg.config_file);
  assert_false(cfg.check_config);
  assert_false(cfg.help);
  assert_false(cfg.version);
  rpcd__config_destroy(&cfg);
  assert_null(cfg.plugins);
  assert_int_equal(cfg.n_plugins, 0);
  assert_null(cfg.mem);
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
  assert_int_equal(cfg->workers, 5);
  assert_int_equal(cfg->drain_timeout_ms, 1500);
  assert_int_equal(cfg->handler_timeout_ms, 2500);
  assert_int_equal(cfg->queue_type, RPCD_QUEUE_QUORUM);
  assert_int_equal(cfg->max_deliveries, 7);
  assert_string_equal(cfg->metrics_host, "127.0.0.1");
  assert_int_equal(cfg->metrics_port, 9187);
  assert_int_equal(cfg->log_target, RPCD_LOG_TO_SYSLOG);
  assert_true(cfg->check_config);
}

static void test_every_flag_both_forms(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--uri", "amqp://u:p@h:1/v", "--queue", "jobs",
            "--plugin", "/x/fib.so", "--plugin-dir", "/plugins", "--prefetch",
            "16", "--text-method", "fib", "--log-level", "debug", "--max-body",
            "4096", "--heartbeat", "0", "--workers", "5", "--drain-timeout",
            "1500", "--handler-timeout", "2500", "--queue-type", "quorum",
            "--max-deliveries", "7", "--metrics-listen", "127.0.0.1:9187",
            "--log", "syslog", "--check-config"),
      RPCD_OK);
  check_all_set(&cfg);
  rpcd__config_destroy(&cfg);

  assert_int_equal(
      PARSE(&cfg, NULL, err, "--uri=amqp://u:p@h:1/v", "--queue=jobs",
            "--plugin=/x/fib.so", "--plugin-dir=/plugins", "--prefetch=16",
            "--text-method=fib", "--log-level=debug", "--max-body=4096",
            "--heartbeat=0", "--workers=5", "--drain-timeout=1500",
            "--handler-timeout=2500", "--queue-type=quorum",
            "--max-deliveries=7", "--metrics-listen=127.0.0.1:9187",
            "--log=syslog", "--check-config"),
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

/* --uri-file: the name is kept for main() to read; it wins over $RPCD_URI
 * and is refused together with --uri. */
static void test_uri_file(void **state)
{
  rpcd_config cfg;
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--uri-file",
                         "/etc/rpcd/uri", "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(cfg.uri_file, "/etc/rpcd/uri");
  assert_null(cfg.uri);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, NULL, err, "--uri-file=f", "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(cfg.uri_file, "f");
  assert_null(cfg.uri);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--plugin", "a.so"),
                   RPCD_OK);
  assert_null(cfg.uri_file);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--uri and --uri-file", NULL, "--uri", URI, "--uri-file", "f",
                "--plugin", "a.so");
  EXPECT_EINVAL("--uri and --uri-file", NULL, "--uri-file", "f", "--uri", URI,
                "--plugin", "a.so");
  EXPECT_EINVAL("--uri-file", "empty", "--uri-file=", "--plugin", "a.so");
  EXPECT_EINVAL("--uri-file", "needs a value", "--plugin", "a.so",
                "--uri-file");
  /* A URI in an argument refused is shown without its password. */
  EXPECT_EINVAL("unexpected argument", "\"amqp://u:***@h\"", "--uri", URI,
                "--plugin", "a.so", "amqp://u:pw@h");
  EXPECT_EINVAL("unknown argument", "\"--ur=amqp://u:***@h\"",
                "--ur=amqp://u:pw@h", "--plugin", "a.so");
  /* The message for no broker names all three ways to give one. */
  EXPECT_EINVAL("--uri-file", "RPCD_URI", "--plugin", "a.so");
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

/* Parse "--uri URI --plugin a.so FLAG VALUE"; expect RPCD_OK. */
static rpcd_config parse_one(const char *flag, const char *value)
{
  rpcd_config cfg;
  char err[256];
  int rc =
      PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so", flag, value);

  if (rc != RPCD_OK)
    fail_msg("%s %s: rc %d (err \"%s\")", flag, value, rc, err);
  return cfg;
}

static void test_workers(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--workers", "1");
  assert_int_equal(cfg.workers, 1);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--workers", "256");
  assert_int_equal(cfg.workers, 256);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--workers=17", "--queue=q");
  assert_int_equal(cfg.workers, 17);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--workers", "\"0\"", "--uri", URI, "--plugin", "a.so",
                "--workers", "0");
  EXPECT_EINVAL("--workers", "\"257\"", "--uri", URI, "--plugin", "a.so",
                "--workers", "257");
  EXPECT_EINVAL("--workers", "\"-1\"", "--uri", URI, "--plugin", "a.so",
                "--workers=-1");
  EXPECT_EINVAL("--workers", "\"4k\"", "--uri", URI, "--plugin", "a.so",
                "--workers", "4k");
  EXPECT_EINVAL("--workers", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--workers=");
  EXPECT_EINVAL("1 to 256", NULL, "--uri", URI, "--plugin", "a.so", "--workers",
                "1000");
}

static void test_drain_timeout(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--drain-timeout", "0");
  assert_int_equal(cfg.drain_timeout_ms, 0);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--drain-timeout", "3600000");
  assert_int_equal(cfg.drain_timeout_ms, 3600000);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--drain-timeout", "\"3600001\"", "--uri", URI, "--plugin",
                "a.so", "--drain-timeout", "3600001");
  EXPECT_EINVAL("--drain-timeout", "\"-1\"", "--uri", URI, "--plugin", "a.so",
                "--drain-timeout", "-1");
  EXPECT_EINVAL("--drain-timeout", "\"30s\"", "--uri", URI, "--plugin", "a.so",
                "--drain-timeout=30s");
  EXPECT_EINVAL("--drain-timeout", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--drain-timeout=");
  EXPECT_EINVAL("0 to 3600000", NULL, "--uri", URI, "--plugin", "a.so",
                "--drain-timeout", "99999999999999999999");
}

static void test_handler_timeout(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--handler-timeout", "0");
  assert_int_equal(cfg.handler_timeout_ms, 0);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--handler-timeout", "1");
  assert_int_equal(cfg.handler_timeout_ms, 1);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--handler-timeout", "86400000");
  assert_int_equal(cfg.handler_timeout_ms, 86400000);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--handler-timeout", "\"86400001\"", "--uri", URI, "--plugin",
                "a.so", "--handler-timeout", "86400001");
  EXPECT_EINVAL("--handler-timeout", "\"-5\"", "--uri", URI, "--plugin", "a.so",
                "--handler-timeout=-5");
  EXPECT_EINVAL("--handler-timeout", "\"1.5\"", "--uri", URI, "--plugin",
                "a.so", "--handler-timeout", "1.5");
  EXPECT_EINVAL("--handler-timeout", "\" 1\"", "--uri", URI, "--plugin", "a.so",
                "--handler-timeout", " 1");
  EXPECT_EINVAL("0 to 86400000", NULL, "--uri", URI, "--plugin", "a.so",
                "--handler-timeout", "4294967296");
}

static void test_queue_type(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--queue-type", "quorum");
  assert_int_equal(cfg.queue_type, RPCD_QUEUE_QUORUM);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--queue-type", "classic");
  assert_int_equal(cfg.queue_type, RPCD_QUEUE_CLASSIC);
  rpcd__config_destroy(&cfg);
  /* The later one wins. */
  cfg = parse_one("--queue-type=quorum", "--queue-type=classic");
  assert_int_equal(cfg.queue_type, RPCD_QUEUE_CLASSIC);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--queue-type", "\"stream\"", "--uri", URI, "--plugin", "a.so",
                "--queue-type", "stream");
  EXPECT_EINVAL("--queue-type", "\"Quorum\"", "--uri", URI, "--plugin", "a.so",
                "--queue-type", "Quorum");
  EXPECT_EINVAL("--queue-type", "\"quorum \"", "--uri", URI, "--plugin", "a.so",
                "--queue-type", "quorum ");
  EXPECT_EINVAL("--queue-type", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--queue-type=");
  EXPECT_EINVAL("classic, quorum", NULL, "--uri", URI, "--plugin", "a.so",
                "--queue-type", "lazy");
}

static void test_max_deliveries(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--max-deliveries", "1");
  assert_int_equal(cfg.max_deliveries, 1);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--max-deliveries", "1000");
  assert_int_equal(cfg.max_deliveries, 1000);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--max-deliveries", "\"0\"", "--uri", URI, "--plugin", "a.so",
                "--max-deliveries", "0");
  EXPECT_EINVAL("--max-deliveries", "\"1001\"", "--uri", URI, "--plugin",
                "a.so", "--max-deliveries", "1001");
  EXPECT_EINVAL("--max-deliveries", "\"+3\"", "--uri", URI, "--plugin", "a.so",
                "--max-deliveries=+3");
  EXPECT_EINVAL("--max-deliveries", "\"three\"", "--uri", URI, "--plugin",
                "a.so", "--max-deliveries", "three");
  EXPECT_EINVAL("1 to 1000", NULL, "--uri", URI, "--plugin", "a.so",
                "--max-deliveries", "0");
}

static void test_max_in_flight_and_tls(void **state)
{
  rpcd_config cfg;
  char err[512];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--max-in-flight", "kv.*=4", "--max-in-flight=fib=1",
                         "--tls-ca", "ca.pem", "--tls-cert=c.pem", "--tls-key",
                         "c.key", "--tls-insecure", "--auth-external"),
                   RPCD_OK);
  assert_int_equal(cfg.n_in_flight, 2);
  assert_string_equal(cfg.in_flight[0].pattern, "kv.*");
  assert_int_equal(cfg.in_flight[0].max, 4);
  assert_string_equal(cfg.in_flight[1].pattern, "fib");
  assert_int_equal(cfg.in_flight[1].max, 1);
  assert_string_equal(cfg.tls.ca_file, "ca.pem");
  assert_string_equal(cfg.tls.cert_file, "c.pem");
  assert_string_equal(cfg.tls.key_file, "c.key");
  assert_true(cfg.tls.insecure);
  assert_true(cfg.tls.external);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--max-in-flight: ", "expected PATTERN=N", "--uri", URI,
                "--plugin", "a.so", "--max-in-flight", "fib");
  EXPECT_EINVAL("--max-in-flight: ", "from 1 to 65535", "--uri", URI,
                "--plugin", "a.so", "--max-in-flight", "fib=0");
  EXPECT_EINVAL("--tls-ca", "must not be empty", "--uri", URI, "--plugin",
                "a.so", "--tls-ca", "");
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
  /* 250 bytes at most: "<queue>.dead" must fit AMQP's 255. */
  memset(long_queue, 'q', 251);
  long_queue[251] = '\0';
  EXPECT_EINVAL("--queue", "1 to 250 bytes", "--uri", URI, "--plugin", "a.so",
                "--queue", long_queue);
  EXPECT_EINVAL("--queue", "1 to 250", "--uri", URI, "--plugin", "a.so",
                "--queue=");
  long_queue[250] = '\0';
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--queue", long_queue),
                   RPCD_OK);
  assert_int_equal(strlen(cfg.queue), 250);
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
  /* A prefix of a flag is not the flag, ambiguous or not (getopt_long would
   * take "--pref" for --prefetch). */
  EXPECT_EINVAL("unknown argument", "\"--plug\"", "--uri", URI, "--plug",
                "a.so");
  EXPECT_EINVAL("unknown argument", "\"--pref\"", "--uri", URI, "--plugin",
                "a.so", "--pref", "4");
  EXPECT_EINVAL("unknown argument", "\"--work=2\"", "--uri", URI, "--plugin",
                "a.so", "--work=2");
  EXPECT_EINVAL("unknown argument", "\"--he\"", "--he");
  /* Nor is a flag with more after it. */
  EXPECT_EINVAL("unknown argument", "\"--uris\"", "--uris", URI, "--plugin",
                "a.so");
  /* Short options: only -h, and not in a cluster. */
  EXPECT_EINVAL("unknown argument", "\"-p\"", "-p", "a.so", "--uri", URI);
  EXPECT_EINVAL("unknown argument", "\"-uri\"", "-uri", URI, "--plugin",
                "a.so");
  EXPECT_EINVAL("unknown argument", "\"-hx\"", "-hx");
  EXPECT_EINVAL("unknown argument", "\"-xh\"", "-xh");
  /* The message points at --help. */
  EXPECT_EINVAL("--help", NULL, "--bogus");
  /* A flag without a value given one. */
  EXPECT_EINVAL("--help", "takes no value", "--help=x");
  EXPECT_EINVAL("--version", "\"--version=\"", "--version=");
}

static void test_positional(void **state)
{
  rpcd_config cfg;
  char err[256];
  char *argv[] = {
      (char *)"rpcd",     (char *)"--uri", (char *)URI,      (char *)"a.so",
      (char *)"--plugin", (char *)"b.so",  (char *)"--help", NULL};
  char *copy[sizeof(argv) / sizeof(argv[0])];
  size_t i;

  (void)state;
  EXPECT_EINVAL("unexpected argument", "\"a.so\"", "--uri", URI, "a.so");
  EXPECT_EINVAL("unexpected argument", "\"a.so\"", "a.so", "--uri", URI,
                "--plugin", "b.so");
  EXPECT_EINVAL("unexpected argument", "\"-\"", "--uri", URI, "--plugin",
                "b.so", "-");
  EXPECT_EINVAL("unexpected argument", "\"\"", "--uri", URI, "--plugin", "b.so",
                "");
  /* "--" ends the flags; what follows is still positional. */
  EXPECT_EINVAL("unexpected argument", "\"--plugin\"", "--uri", URI, "--",
                "--plugin", "b.so");
  EXPECT_EINVAL("(see --help)", NULL, "--uri", URI, "a.so");
  /* An error in a flag before the positional argument comes first. */
  EXPECT_EINVAL("--prefetch", "\"0\"", "--prefetch", "0", "a.so");
  /* A trailing "--" is harmless. */
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "b.so", "--"), RPCD_OK);
  rpcd__config_destroy(&cfg);

  /* argv is not permuted: the positional argument stops the parse before
   * --help, and every pointer is where it was. */
  memcpy(copy, argv, sizeof(argv));
  assert_int_equal(rpcd__config_parse(&cfg, 7, argv, NULL, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "\"a.so\""));
  assert_false(cfg.help);
  rpcd__config_destroy(&cfg);
  for (i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
    assert_ptr_equal(argv[i], copy[i]);
}

static void test_missing_value(void **state)
{
  size_t i;
  size_t n = 0;

  (void)state;
  for (i = 0; i < N_FLAGS; i++) {
    char flag[64];
    const char *args[] = {"--uri", URI, "--plugin", "a.so", flag, NULL};

    if (flag_rows[i].has_arg != required_argument)
      continue;
    snprintf(flag, sizeof(flag), "--%s", flag_rows[i].name);
    expect_einval(args, flag, "needs a value");
    n++;
  }
  assert_true(n >= 14);
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

  /* -h is --help only on its own. */
  assert_int_equal(PARSE(&cfg, NULL, err, "-h"), RPCD_OK);
  assert_true(cfg.help);
  rpcd__config_destroy(&cfg);
}

/* Whether `word` occurs in `text` as a whole word (between blanks, line
 * breaks or the ends). */
static bool has_word(const char *text, const char *word)
{
  size_t n = strlen(word);
  const char *p;

  for (p = strstr(text, word); p; p = strstr(p + 1, word)) {
    if ((p == text || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '[') &&
        (p[n] == ' ' || p[n] == '\n' || p[n] == '\0' || p[n] == ']'))
      return true;
  }
  return false;
}

/* The usage text documents every flag of the table, in full. */
static void test_usage_text(void **state)
{
  const char *usage = rpcd__usage_text();
  const char *line;
  char synopsis[1024]; /* up to the first blank line */
  size_t i;

  (void)state;
  /* Built once: the same text every time. */
  assert_ptr_equal(rpcd__usage_text(), usage);
  assert_true(strncmp(usage, "usage: rpcd ", 12) == 0);
  assert_non_null(strstr(usage, "\n\n"));
  assert_true((size_t)(strstr(usage, "\n\n") - usage) < sizeof(synopsis));
  snprintf(synopsis, sizeof(synopsis), "%.*s",
           (int)(strstr(usage, "\n\n") - usage), usage);

  for (i = 0; i < N_FLAGS; i++) {
    const flag_row *r = &flag_rows[i];
    char want[128];
    char words[512];
    char *w;
    char *save;

    /* The flag and its value, at the start of its help line. */
    if (r->short_name)
      snprintf(want, sizeof(want), "\n  -%c, --%s%s%s", r->short_name, r->name,
               *r->metavar ? " " : "", r->metavar);
    else
      snprintf(want, sizeof(want), "\n  --%s%s%s", r->name,
               *r->metavar ? " " : "", r->metavar);
    if (!strstr(usage, want))
      fail_msg("usage lacks \"%s\":\n%s", want + 1, usage);
    /* In the synopsis. */
    if (r->has_arg == required_argument) {
      snprintf(want, sizeof(want), "[--%s %s]", r->name, r->metavar);
      if (!strstr(synopsis, want))
        fail_msg("usage synopsis lacks \"%s\":\n%s", want, usage);
    } else {
      snprintf(want, sizeof(want), "--%s", r->name);
      if (!has_word(synopsis, want))
        fail_msg("usage synopsis lacks \"%s\":\n%s", want, usage);
    }
    /* Every word of its help, however the lines were wrapped. */
    snprintf(words, sizeof(words), "%s", r->help);
    for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
      if (!has_word(usage, w))
        fail_msg("usage lacks \"%s\" of --%s's help:\n%s", w, r->name, usage);
  }

  /* Lines fit in 79 columns, and the whole text fit in its buffer. */
  for (line = usage; *line;) {
    size_t n = strcspn(line, "\n");

    if (n > 79)
      fail_msg("usage line of %zu columns: %.*s", n, (int)n, line);
    line += n + (line[n] == '\n');
  }
  assert_non_null(
      strstr(usage, "Exit status: 0 clean stop, 1 failure (broker, plugin), 2 "
                    "usage error; with\n--check-config, 0 when all is well "
                    "and 1 when not.\n"));
  assert_int_equal(usage[strlen(usage) - 1], '\n');

  /* The process model's paragraph. */
  assert_non_null(strstr(usage, "SIGHUP: reload the plugins, the --acl file "
                                "and the --config file;"));
  /* What a reload changes, and what takes a restart. */
  assert_true(has_word(usage, "max-in-flight,"));
  assert_true(has_word(usage, "restart."));
  /* How the command line and the file go together. */
  assert_non_null(strstr(usage, "examples/rpcd.conf"));
  assert_true(has_word(usage, "replaces"));
  assert_true(has_word(usage, "--drain-timeout."));
  assert_true(has_word(usage, "SIGTERM:"));
  /* Handlers have their own thread: the heartbeat no longer bounds them. */
  assert_null(strstr(usage, "twice"));
  assert_non_null(strstr(usage, "AMQP heartbeat, 0 to disable (default: 60)"));
}

/* --metrics-listen HOST:PORT: an IPv4 address or localhost, a port 1..65535;
 * the host is a copy the configuration owns. */
static void test_metrics_listen(void **state)
{
  char value[] = "10.1.2.3:8080";
  rpcd_config cfg;
  char err[512];

  (void)state;
  cfg = parse_one("--metrics-listen", "127.0.0.1:9187");
  assert_string_equal(cfg.metrics_host, "127.0.0.1");
  assert_int_equal(cfg.metrics_port, 9187);
  rpcd__config_destroy(&cfg);
  assert_null(cfg.metrics_host);
  cfg = parse_one("--metrics-listen", "localhost:1");
  assert_string_equal(cfg.metrics_host, "localhost");
  assert_int_equal(cfg.metrics_port, 1);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--metrics-listen=0.0.0.0:65535", "--queue=q");
  assert_string_equal(cfg.metrics_host, "0.0.0.0");
  assert_int_equal(cfg.metrics_port, 65535);
  rpcd__config_destroy(&cfg);

  /* A copy, not a pointer into argv; the later flag wins (and the earlier
   * copy is freed: LeakSanitizer). */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--metrics-listen", "127.0.0.1:1", "--metrics-listen",
                         value),
                   RPCD_OK);
  assert_true(cfg.metrics_host < value ||
              cfg.metrics_host >= value + sizeof(value));
  assert_string_equal(cfg.metrics_host, "10.1.2.3");
  assert_int_equal(cfg.metrics_port, 8080);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--metrics-listen", "\"9187\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", "9187");
  EXPECT_EINVAL("--metrics-listen", "\":9187\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", ":9187");
  EXPECT_EINVAL("--metrics-listen", "\"127.0.0.1:\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", "127.0.0.1:");
  EXPECT_EINVAL("--metrics-listen", "\"127.0.0.1:0\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", "127.0.0.1:0");
  EXPECT_EINVAL("--metrics-listen", "\"127.0.0.1:65536\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "127.0.0.1:65536");
  EXPECT_EINVAL("--metrics-listen", "\"127.0.0.1:+80\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "127.0.0.1:+80");
  EXPECT_EINVAL("--metrics-listen", "\"localhost:http\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "localhost:http");
  EXPECT_EINVAL("--metrics-listen", "\"example.com:80\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "example.com:80");
  EXPECT_EINVAL("--metrics-listen", "\"[::1]:80\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", "[::1]:80");
  EXPECT_EINVAL("--metrics-listen", "\"1.2.3:80\"", "--uri", URI, "--plugin",
                "a.so", "--metrics-listen", "1.2.3:80");
  EXPECT_EINVAL("--metrics-listen", "\"256.1.1.1:80\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "256.1.1.1:80");
  EXPECT_EINVAL("--metrics-listen", "\" 127.0.0.1:80\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", " 127.0.0.1:80");
  EXPECT_EINVAL("--metrics-listen", "\"LOCALHOST:80\"", "--uri", URI,
                "--plugin", "a.so", "--metrics-listen", "LOCALHOST:80");
  EXPECT_EINVAL("--metrics-listen", "\"\"", "--uri", URI, "--plugin", "a.so",
                "--metrics-listen=");
  /* The message says what is allowed. */
  EXPECT_EINVAL("HOST an IPv4 address or localhost", "PORT from 1 to 65535",
                "--uri", URI, "--plugin", "a.so", "--metrics-listen", "x");
}

/* --log TARGET */
static void test_log_target(void **state)
{
  rpcd_config cfg;

  (void)state;
  cfg = parse_one("--log", "journald");
  assert_int_equal(cfg.log_target, RPCD_LOG_TO_JOURNALD);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--log", "syslog");
  assert_int_equal(cfg.log_target, RPCD_LOG_TO_SYSLOG);
  rpcd__config_destroy(&cfg);
  cfg = parse_one("--log=syslog", "--log=stderr");
  assert_int_equal(cfg.log_target, RPCD_LOG_TO_STDERR);
  rpcd__config_destroy(&cfg);

  EXPECT_EINVAL("--log", "\"file\"", "--uri", URI, "--plugin", "a.so", "--log",
                "file");
  EXPECT_EINVAL("--log", "\"Syslog\"", "--uri", URI, "--plugin", "a.so",
                "--log", "Syslog");
  EXPECT_EINVAL("--log", "\"\"", "--uri", URI, "--plugin", "a.so", "--log=");
  EXPECT_EINVAL("stderr, journald, syslog", NULL, "--uri", URI, "--plugin",
                "a.so", "--log", "console");
  /* --log is not --log-level, nor the other way round. */
  EXPECT_EINVAL("--log-level", "\"syslog\"", "--uri", URI, "--plugin", "a.so",
                "--log-level", "syslog");
  EXPECT_EINVAL("--log:", "\"debug\"", "--uri", URI, "--plugin", "a.so",
                "--log", "debug");
}

/* Count the lines of a list of problems. */
static size_t lines_of(const char *s)
{
  size_t n = *s ? 1 : 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Every problem of the command line is reported, each on a line of its
 * own, in order; a good value after a bad one still counts. */
static void test_every_problem(void **state)
{
  rpcd_config cfg;
  char err[2048];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--prefetch", "0", "--uri", URI,
                         "--workers", "0", "--queue", "jobs", "--log", "x",
                         "--plugin", "a.so", "--tls-insecure=1"),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 4);
  assert_non_null(strstr(err, "--prefetch: \"0\""));
  assert_non_null(strstr(err, "\n--workers: \"0\""));
  assert_non_null(strstr(err, "\n--log: \"x\""));
  assert_non_null(strstr(err, "\n--tls-insecure takes no value"));
  assert_true(strstr(err, "--prefetch") < strstr(err, "--workers"));
  /* The good values were taken; nothing is missing. */
  assert_string_equal(cfg.queue, "jobs");
  assert_string_equal(cfg.uri, URI);
  assert_null(strstr(err, "no broker"));
  rpcd__config_destroy(&cfg);

  /* A value missing at the end is a problem, and "no plugins" another. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--queue"),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 2);
  assert_non_null(strstr(err, "--queue needs a value"));
  assert_non_null(strstr(err, "\nno plugins given"));
  rpcd__config_destroy(&cfg);

  /* A refused value is not also reported as missing. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", "", "--plugin", ""),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 2);
  assert_null(strstr(err, "no broker"));
  assert_null(strstr(err, "no plugins"));
  rpcd__config_destroy(&cfg);

  /* An unknown argument ends the parse: what follows may be its value. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--prefetch", "0", "--bogus", "value",
                         "--workers", "0"),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 2);
  assert_non_null(strstr(err, "\nunknown argument \"--bogus\""));
  assert_null(strstr(err, "value"));
  assert_null(strstr(err, "--workers"));
  assert_null(strstr(err, "no broker"));
  rpcd__config_destroy(&cfg);

  /* --help after a problem is not --help. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--workers", "0", "--help"),
                   RPCD_EINVAL);
  assert_false(cfg.help);
  assert_int_equal(lines_of(err), 3); /* and no broker, no plugins */
  rpcd__config_destroy(&cfg);

  /* --check-config is kept with the problems, for main() to report. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--check-config", "--workers", "0"),
                   RPCD_EINVAL);
  assert_true(cfg.check_config);
  rpcd__config_destroy(&cfg);
}

/* What a reload changes, by the flags' names. */
static void test_reloadable(void **state)
{
  static const char *const yes[] = {
      "plugin",      "plugin-dir",   "skip-bad-plugins", "acl",
      "text-method", "max-body",     "handler-timeout",  "max-in-flight",
      "log-level",   "drain-timeout"};
  static const char *const no[] = {
      "uri",        "uri-file",     "queue",
      "queue-type", "tls-ca",       "tls-cert",
      "tls-key",    "tls-insecure", "auth-external",
      "workers",    "prefetch",     "max-deliveries",
      "heartbeat",  "log",          "metrics-listen",
      "config",     "check-config", "help",
      "version",    "bogus",        ""};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (!rpcd__config_reloadable(yes[i]))
      fail_msg("%s should be reloadable", yes[i]);
  for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    if (rpcd__config_reloadable(no[i]))
      fail_msg("%s should take a restart", no[i]);
  /* Every flag of the table is one or the other. */
  assert_int_equal(
      sizeof(yes) / sizeof(yes[0]) + sizeof(no) / sizeof(no[0]) - 2, N_FLAGS);
}

/* Where a setting came from, for messages. */
static void test_origin(void **state)
{
  rpcd_config cfg;
  char where[128];
  char err[256];

  (void)state;
  assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--plugin", "a.so"),
                   RPCD_OK);
  assert_string_equal(rpcd__config_origin(&cfg, "uri", where, sizeof(where)),
                      "--uri");
  assert_string_equal(rpcd__config_origin(&cfg, "queue", where, sizeof(where)),
                      "--queue");
  rpcd__config_destroy(&cfg);
  assert_int_equal(PARSE(&cfg, "amqp://env", err, "--plugin", "a.so"), RPCD_OK);
  assert_string_equal(rpcd__config_origin(&cfg, "uri", where, sizeof(where)),
                      "RPCD_URI");
  rpcd__config_destroy(&cfg);
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

/* Parsing again gives the same result: no hidden state (getopt has some),
 * even after a parse that stopped half-way. */
static void test_reentrant(void **state)
{
  rpcd_config a;
  rpcd_config b;
  rpcd_config cfg;
  char err[256];
  int round;

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

  for (round = 0; round < 3; round++) {
    /* Stopped by an error, --help, a missing value, a positional argument,
     * a short-flag cluster... */
    assert_int_equal(
        PARSE(&cfg, NULL, err, "--prefetch", "0", "--workers", "2"),
        RPCD_EINVAL);
    rpcd__config_destroy(&cfg);
    assert_int_equal(
        PARSE(&cfg, NULL, err, "--workers", "3", "--help", "--workers", "4"),
        RPCD_OK);
    assert_int_equal(cfg.workers, 3);
    rpcd__config_destroy(&cfg);
    assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "--workers"),
                     RPCD_EINVAL);
    rpcd__config_destroy(&cfg);
    assert_int_equal(PARSE(&cfg, NULL, err, "--uri", URI, "x", "--workers=5"),
                     RPCD_EINVAL);
    rpcd__config_destroy(&cfg);
    assert_int_equal(PARSE(&cfg, NULL, err, "-xh"), RPCD_EINVAL);
    rpcd__config_destroy(&cfg);

    /* ... the next parse starts from the first argument with defaults. */
    assert_int_equal(PARSE(&cfg, NULL, err, "--plugin", "c.so", "--uri", URI,
                           "--queue-type", "quorum"),
                     RPCD_OK);
    assert_int_equal(cfg.n_plugins, 1);
    assert_string_equal(cfg.plugins[0], "c.so");
    assert_string_equal(cfg.uri, URI);
    assert_int_equal(cfg.queue_type, RPCD_QUEUE_QUORUM);
    assert_int_equal(cfg.workers, expected_workers());
    assert_int_equal(cfg.prefetch, 1);
    assert_false(cfg.help);
    rpcd__config_destroy(&cfg);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_every_flag_both_forms),
      cmocka_unit_test(test_value_edge_cases),
      cmocka_unit_test(test_repeated_plugin),
      cmocka_unit_test(test_env_uri),
      cmocka_unit_test(test_uri_file),
      cmocka_unit_test(test_bad_prefetch),
      cmocka_unit_test(test_bad_max_body),
      cmocka_unit_test(test_bad_heartbeat),
      cmocka_unit_test(test_workers),
      cmocka_unit_test(test_drain_timeout),
      cmocka_unit_test(test_handler_timeout),
      cmocka_unit_test(test_queue_type),
      cmocka_unit_test(test_max_deliveries),
      cmocka_unit_test(test_max_in_flight_and_tls),
      cmocka_unit_test(test_bad_log_level),
      cmocka_unit_test(test_bad_queue),
      cmocka_unit_test(test_bad_text_method),
      cmocka_unit_test(test_bad_plugin_dir),
      cmocka_unit_test(test_unknown_flag),
      cmocka_unit_test(test_positional),
      cmocka_unit_test(test_missing_value),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_no_args),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_usage_text),
      cmocka_unit_test(test_metrics_listen),
      cmocka_unit_test(test_log_target),
      cmocka_unit_test(test_every_problem),
      cmocka_unit_test(test_reloadable),
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_destroy_after_failure),
      cmocka_unit_test(test_reentrant),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
