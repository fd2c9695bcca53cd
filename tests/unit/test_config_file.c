/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rpcd's --config file: its syntax (core/config_file.c:
 * comments, blanks, quoting, every bad line with its number), its keys
 * through the flags' table (core/config.c: every key, booleans, repeated
 * keys, keys not allowed, bad values, flags on the command line winning
 * over the file), the modes and owners a file may have (a uri with a
 * password), the file's memory, the reload a SIGHUP makes, and
 * examples/rpcd.conf.
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

#include <rpcd/plugin.h>

#include "config.h"
#include "config_file.h"
#include "rpcd_proto.h"

#define URI "amqp://guest:guest@localhost:5672/"

static char dir[] = "/tmp/rpcd-test-config-XXXXXX";

/* Write `text` to dir/name with `mode`; the path, in a static buffer of
 * the caller's choosing. */
static const char *put_file(char *path, size_t len, const char *name,
                            unsigned mode, const char *text)
{
  FILE *f;

  snprintf(path, len, "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

/* Parse a NULL-terminated argv (argv[0] is added). */
static int parse(rpcd_config *cfg, const char *env_uri, char *err,
                 size_t errlen, const char *const *args)
{
  static char *argv[64];
  int argc = 0;

  argv[argc++] = (char *)"rpcd";
  while (*args && argc < 63)
    argv[argc++] = (char *)*args++;
  argv[argc] = NULL;
  err[0] = '\0';
  return rpcd__config_parse(cfg, argc, argv, env_uri, err, errlen);
}

#define PARSE(cfg, env, err, ...)                                              \
  parse((cfg), (env), (err), sizeof(err),                                      \
        (const char *const[]){__VA_ARGS__, NULL})

/* Count the lines of a list of problems. */
static size_t lines_of(const char *s)
{
  size_t n = *s ? 1 : 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Line `i` (0-based) of a list of problems must contain `want`. */
static void expect_line(const char *err, size_t i, const char *want)
{
  const char *p = err;
  size_t n;

  while (i-- > 0) {
    p = strchr(p, '\n');
    if (!p)
      fail_msg("no line %zu in:\n%s", i, err);
    p++;
  }
  n = strcspn(p, "\n");
  {
    char line[1024];

    snprintf(line, sizeof(line), "%.*s", (int)n, p);
    if (!strstr(line, want))
      fail_msg("line \"%s\" lacks \"%s\"; all:\n%s", line, want, err);
  }
}

static int setup(void **state)
{
  (void)state;
  umask(022);
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[128];

  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- syntax (config_file.c) ---- */

static void test_syntax(void **state)
{
  static const char text[] =
      "# a comment\n"
      "\n"
      "   \t\n"
      "  # an indented comment\n"
      "queue=jobs\n"
      "  plugin   =   /a b/c.so   \r\n"
      "text-method = \"with \\\"quotes\\\", \\\\ and # inside\"  # comment\n"
      "uri = amqp://h/?a=b#frag # a comment after a blank\n"
      "acl = a#b\n"
      "empty =\n"
      "quoted-empty = \"\"\n"
      "spaces = \"  padded  \"\n"
      "last = no newline";
  rpcd_config_file *f;
  unsigned n_bad = 99;
  char err[256] = "untouched";

  (void)state;
  assert_int_equal(rpcd__config_file_parse(text, sizeof(text) - 1, "t.conf", &f,
                                           &n_bad, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(n_bad, 0);
  assert_string_equal(err, "untouched");
  assert_int_equal(f->n, 9);
  assert_string_equal(f->lines[0].key, "queue");
  assert_string_equal(f->lines[0].value, "jobs");
  assert_int_equal(f->lines[0].line, 5);
  /* Blanks inside an unquoted value stay; around it (and a CR) go. */
  assert_string_equal(f->lines[1].key, "plugin");
  assert_string_equal(f->lines[1].value, "/a b/c.so");
  assert_int_equal(f->lines[1].line, 6);
  assert_string_equal(f->lines[2].value, "with \"quotes\", \\ and # inside");
  /* A '#' without a blank before it is part of the value. */
  assert_string_equal(f->lines[3].value, "amqp://h/?a=b#frag");
  assert_string_equal(f->lines[4].value, "a#b");
  assert_string_equal(f->lines[5].key, "empty");
  assert_string_equal(f->lines[5].value, "");
  assert_string_equal(f->lines[6].value, "");
  assert_string_equal(f->lines[7].value, "  padded  ");
  assert_string_equal(f->lines[8].key, "last");
  assert_string_equal(f->lines[8].value, "no newline");
  assert_int_equal(f->lines[8].line, 13);
  assert_int_equal(f->mode, 0);
  rpcd__config_file_free(f);

  /* Nothing at all, and only comments: no lines, no problem. */
  assert_int_equal(
      rpcd__config_file_parse("", 0, "t", &f, &n_bad, err, sizeof(err)),
      RPCD_OK);
  assert_int_equal(f->n, 0);
  rpcd__config_file_free(f);
  assert_int_equal(rpcd__config_file_parse("#\n#x = y\n", 8, "t", &f, &n_bad,
                                           err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(f->n, 0);
  rpcd__config_file_free(f);
  rpcd__config_file_free(NULL);
}

/* Every bad line is reported with its number, in order; the good lines
 * are kept, and the bad ones too, keyless, with their reason. */
static void test_syntax_errors(void **state)
{
  static const char text[] = "queue = a\n"                  /* 1 */
                             "skip-bad-plugins\n"           /* 2 */
                             " = value\n"                   /* 3 */
                             "Queue = b\n"                  /* 4 */
                             "--queue = b\n"                /* 5 */
                             "my key = b\n"                 /* 6 */
                             "text-method = \"open\n"       /* 7 */
                             "text-method = \"a\\nb\"\n"    /* 8 */
                             "text-method = \"a\" b\n"      /* 9 */
                             "text-method = \"ends in \\\n" /* 10 */
                             "nul = a\0b\n"                 /* 11 */
                             "workers = 2\n";               /* 12 */
  rpcd_config_file *f;
  unsigned n_bad;
  char err[4096];

  (void)state;
  assert_int_equal(rpcd__config_file_parse(text, sizeof(text) - 1, "t.conf", &f,
                                           &n_bad, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_int_equal(n_bad, 10);
  assert_int_equal(lines_of(err), 10);
  expect_line(err, 0,
              "t.conf:2: \"skip-bad-plugins\": expected \"key = value\" (a "
              "flag without a value is \"key = true\")");
  expect_line(err, 1, "t.conf:3: a value without a key");
  expect_line(err, 2, "t.conf:4: \"Queue\" is not a key");
  expect_line(err, 3, "t.conf:5: \"--queue\" is not a key");
  expect_line(err, 4, "t.conf:6: \"my key\" is not a key");
  expect_line(err, 5, "t.conf:7: the quoted value has no closing quote");
  expect_line(err, 6,
              "t.conf:8: \"\\n\" in a quoted value: only \\\" and \\\\ are "
              "escapes");
  expect_line(err, 7, "t.conf:9: \"b\" after the closing quote");
  expect_line(err, 8, "t.conf:10: the quoted value has no closing quote");
  expect_line(err, 9, "t.conf:11: a NUL byte");
  /* Good and bad lines, in the file's order. */
  assert_int_equal(f->n, 12);
  assert_string_equal(f->lines[0].key, "queue");
  assert_null(f->lines[1].key);
  assert_int_equal(f->lines[1].line, 2);
  assert_non_null(strstr(f->lines[1].value, "expected \"key = value\""));
  assert_null(f->lines[10].key);
  assert_int_equal(f->lines[10].line, 11);
  assert_string_equal(f->lines[11].key, "workers");
  assert_string_equal(f->lines[11].value, "2");
  assert_int_equal(f->lines[11].line, 12);
  rpcd__config_file_free(f);
}

/* A message about a line is escaped and cut: no control character of the
 * file reaches a log line. */
static void test_syntax_error_escaped(void **state)
{
  static const char text[] =
      "\x1b[31mred\x07 and a very long line that goes on and on and on\n";
  rpcd_config_file *f;
  unsigned n_bad;
  char err[512];

  (void)state;
  assert_int_equal(rpcd__config_file_parse(text, sizeof(text) - 1, "t", &f,
                                           &n_bad, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_null(strchr(err, '\x1b'));
  assert_null(strchr(err, '\x07'));
  assert_non_null(strstr(err, "\\x1b[31mred\\x07"));
  assert_non_null(strstr(err, "...\""));
  assert_null(strstr(err, "on and on and on"));
  rpcd__config_file_free(f);
}

/* rpcd__problem_add: lines, and a list that does not fit is cut. */
static void test_problem_add(void **state)
{
  char err[16] = "old";

  (void)state;
  rpcd__problem_add(err, sizeof(err), true, "a%d", 1);
  assert_string_equal(err, "a1");
  rpcd__problem_add(err, sizeof(err), false, "b");
  assert_string_equal(err, "a1\nb");
  rpcd__problem_add(err, sizeof(err), false, "0123456789abcdef");
  assert_string_equal(err, "a1\nb\n0123456789");
  rpcd__problem_add(err, sizeof(err), false, "more");
  assert_string_equal(err, "a1\nb\n0123456789");
  rpcd__problem_add(NULL, 0, true, "x");
}

/* ---- reading (config_file.c) ---- */

static void test_read(void **state)
{
  char path[256];
  char err[512];
  rpcd_config_file *f;
  unsigned n_bad;
  char *big;

  (void)state;
  put_file(path, sizeof(path), "r.conf", 0640, "queue = q\n");
  assert_int_equal(rpcd__config_file_read(path, &f, &n_bad, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(f->mode, 0640);
  assert_int_equal(f->uid, geteuid());
  assert_int_equal(f->n, 1);
  rpcd__config_file_free(f);

  snprintf(path, sizeof(path), "%s/none.conf", dir);
  assert_int_equal(rpcd__config_file_read(path, &f, &n_bad, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_null(f);
  assert_non_null(strstr(err, "none.conf: cannot read the config file: No "
                              "such file or directory"));

  assert_int_equal(rpcd__config_file_read(dir, &f, &n_bad, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_null(f);
  assert_non_null(strstr(err, "not a regular file"));

  /* RPCD_CONFIG_FILE_MAX is allowed, a byte more is not. */
  big = malloc(RPCD_CONFIG_FILE_MAX + 2);
  assert_non_null(big);
  memset(big, '#', RPCD_CONFIG_FILE_MAX + 1);
  big[RPCD_CONFIG_FILE_MAX + 1] = '\0';
  put_file(path, sizeof(path), "big.conf", 0600, big);
  assert_int_equal(rpcd__config_file_read(path, &f, &n_bad, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "larger than 1048576 bytes"));
  big[RPCD_CONFIG_FILE_MAX] = '\0';
  put_file(path, sizeof(path), "big.conf", 0600, big);
  assert_int_equal(rpcd__config_file_read(path, &f, &n_bad, err, sizeof(err)),
                   RPCD_OK);
  assert_int_equal(f->n, 0);
  rpcd__config_file_free(f);
  free(big);
}

/* ---- keys (config.c) ---- */

/* Every key of the table that a file may have, in a file. */
static void test_every_key(void **state)
{
  char path[256];
  char err[1024];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "all.conf", 0600,
           "uri = amqp://u:p@h:1/v\n"
           "queue = jobs\n"
           "queue-type = quorum\n"
           "plugin = /x/fib.so\n"
           "plugin = \"/with space/kv.so\"\n"
           "plugin-dir = /plugins\n"
           "skip-bad-plugins = true\n"
           "acl = /etc/rpcd/acl\n"
           "tls-ca = ca.pem\n"
           "tls-cert = c.pem\n"
           "tls-key = c.key\n"
           "tls-insecure = true\n"
           "auth-external = false\n"
           "workers = 5\n"
           "prefetch = 16\n"
           "text-method = fib\n"
           "max-body = 4096\n"
           "handler-timeout = 2500\n"
           "max-in-flight = kv.*=4\n"
           "max-in-flight = fib=1\n"
           "max-deliveries = 7\n"
           "drain-timeout = 1500\n"
           "heartbeat = 0\n"
           "log-level = debug\n"
           "log = journald\n"
           "metrics-listen = localhost:9187\n");
  assert_int_equal(PARSE(&cfg, "amqp://env", err, "--config", path), RPCD_OK);
  assert_string_equal(err, "");
  assert_string_equal(cfg.config_file, path);
  assert_string_equal(cfg.uri, "amqp://u:p@h:1/v");
  assert_string_equal(cfg.queue, "jobs");
  assert_int_equal(cfg.queue_type, RPCD_QUEUE_QUORUM);
  assert_int_equal(cfg.n_plugins, 2);
  assert_string_equal(cfg.plugins[0], "/x/fib.so");
  assert_string_equal(cfg.plugins[1], "/with space/kv.so");
  assert_string_equal(cfg.plugin_dir, "/plugins");
  assert_true(cfg.skip_bad_plugins);
  assert_string_equal(cfg.acl, "/etc/rpcd/acl");
  assert_string_equal(cfg.tls.ca_file, "ca.pem");
  assert_string_equal(cfg.tls.cert_file, "c.pem");
  assert_string_equal(cfg.tls.key_file, "c.key");
  assert_true(cfg.tls.insecure);
  assert_false(cfg.tls.external);
  assert_int_equal(cfg.workers, 5);
  assert_int_equal(cfg.prefetch, 16);
  assert_string_equal(cfg.text_method, "fib");
  assert_int_equal(cfg.max_body, 4096);
  assert_int_equal(cfg.handler_timeout_ms, 2500);
  assert_int_equal(cfg.n_in_flight, 2);
  assert_string_equal(cfg.in_flight[0].pattern, "kv.*");
  assert_int_equal(cfg.in_flight[0].max, 4);
  assert_string_equal(cfg.in_flight[1].pattern, "fib");
  assert_int_equal(cfg.max_deliveries, 7);
  assert_int_equal(cfg.drain_timeout_ms, 1500);
  assert_int_equal(cfg.heartbeat_s, 0);
  assert_int_equal(cfg.log_level, RPCD_LOG_DEBUG);
  assert_int_equal(cfg.log_target, RPCD_LOG_TO_JOURNALD);
  assert_string_equal(cfg.metrics_host, "localhost");
  assert_int_equal(cfg.metrics_port, 9187);
  rpcd__config_destroy(&cfg);
}

/* Every problem of a file, each with its line, in line order, with the
 * flags' own messages; the good lines are taken all the same. */
static void test_key_errors(void **state)
{
  char path[256];
  char err[4096];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "bad.conf", 0644,
           "uri = amqp://guest@localhost\n"  /* 1 */
           "bogus = 1\n"                     /* 2 */
           "plugin = a.so\n"                 /* 3 */
           "prefetch = 0\n"                  /* 4 */
           "tls-insecure = yes\n"            /* 5 */
           "queue = a\n"                     /* 6 */
           "queue = b\n"                     /* 7 */
           "help = true\n"                   /* 8 */
           "version = true\n"                /* 9 */
           "config = other.conf\n"           /* 10 */
           "check-config = true\n"           /* 11 */
           "workers\n"                       /* 12 */
           "max-in-flight = fib\n"           /* 13 */
           "skip-bad-plugins = \"\"\n"       /* 14 */
           "plugin-dir = /d\n"               /* 15 */
           "plugin-dir = /e\n"               /* 16 */
           "metrics-listen = 127.0.0.1:0\n"  /* 17 */
           "text-method = \"has space\"\n"); /* 18 */
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 14);
  expect_line(err, 0,
              "bad.conf:2: unknown key \"bogus\" (the keys are the long flags "
              "of --help)");
  /* The flag's message, without its "--". */
  expect_line(err, 1,
              "bad.conf:4: prefetch: \"0\" is not an integer from 1 to 65535");
  expect_line(err, 2, "bad.conf:5: tls-insecure: \"yes\" is not true or false");
  expect_line(err, 3,
              "bad.conf:7: queue given more than once (first on line 6); only "
              "plugin and max-in-flight may be repeated");
  expect_line(err, 4, "bad.conf:8: \"help\" is not allowed in a config file");
  expect_line(err, 5, "bad.conf:9: \"version\" is not allowed");
  expect_line(err, 6, "bad.conf:10: \"config\" is not allowed");
  expect_line(err, 7, "bad.conf:11: \"check-config\" is not allowed");
  expect_line(err, 8, "bad.conf:12: \"workers\": expected \"key = value\"");
  expect_line(err, 9, "bad.conf:13: max-in-flight: ");
  expect_line(err, 10, "bad.conf:14: skip-bad-plugins: \"\" is not true or");
  expect_line(err, 11,
              "bad.conf:16: plugin-dir given more than once (first "
              "on line 15)");
  expect_line(err, 12, "bad.conf:17: metrics-listen: \"127.0.0.1:0\"");
  expect_line(err, 13,
              "bad.conf:18: text-method: \"has space\" is not a "
              "valid method name");
  /* The keys as the file has them, never as flags. */
  assert_null(strstr(err, "--prefetch"));
  /* The good lines were taken: --check-config checks them. */
  assert_string_equal(cfg.uri, "amqp://guest@localhost");
  assert_string_equal(cfg.queue, "a");
  assert_int_equal(cfg.n_plugins, 1);
  assert_string_equal(cfg.plugin_dir, "/d");
  assert_false(cfg.help);
  assert_false(cfg.version);
  assert_false(cfg.check_config);
  rpcd__config_destroy(&cfg);
}

/* What a file lacks is still missing; a file that could not be read is not
 * also reported as lacking everything. */
static void test_missing(void **state)
{
  char path[256];
  char err[1024];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "empty.conf", 0600, "# nothing\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 2);
  expect_line(err, 0, "no broker given");
  expect_line(err, 1, "no plugins given");
  rpcd__config_destroy(&cfg);

  snprintf(path, sizeof(path), "%s/none.conf", dir);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0, "none.conf: cannot read the config file");
  rpcd__config_destroy(&cfg);

  /* --config itself. */
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--config=", "--uri", URI, "--plugin", "a.so"),
      RPCD_EINVAL);
  expect_line(err, 0, "--config: the file name must not be empty");
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "one.conf", 0600, "plugin = a.so\n");
  assert_int_equal(
      PARSE(&cfg, NULL, err, "--config", path, "--uri", URI, "--config", path),
      RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0, "--config given more than once");
  rpcd__config_destroy(&cfg);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config"), RPCD_EINVAL);
  expect_line(err, 0, "--config needs a value");
  rpcd__config_destroy(&cfg);

  /* --help and --version end the parse before the file is read. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", "/no/such", "--help"),
                   RPCD_OK);
  assert_true(cfg.help);
  rpcd__config_destroy(&cfg);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", "/no/such", "--version"),
                   RPCD_OK);
  assert_true(cfg.version);
  rpcd__config_destroy(&cfg);
}

/* Flags on the command line win over the file: for a single value the
 * flag's; for plugin and max-in-flight the flags' list, the file's lines
 * for that key ignored; uri and uri-file as one setting. */
static void test_flags_win(void **state)
{
  char path[256];
  char err[1024];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "base.conf", 0600,
           "uri-file = /etc/rpcd/uri\n"
           "queue = from-file\n"
           "prefetch = 8\n"
           "plugin = f1.so\n"
           "plugin = f2.so\n"
           "plugin-dir = /file-dir\n"
           "max-in-flight = a=1\n"
           "max-in-flight = b=2\n"
           "skip-bad-plugins = true\n"
           "log-level = warn\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  assert_string_equal(cfg.uri_file, "/etc/rpcd/uri");
  assert_null(cfg.uri);
  assert_int_equal(cfg.n_plugins, 2);
  assert_int_equal(cfg.n_in_flight, 2);
  rpcd__config_destroy(&cfg);

  assert_int_equal(PARSE(&cfg, NULL, err, "--queue", "from-flag", "--config",
                         path, "--plugin", "c1.so", "--uri", URI,
                         "--max-in-flight", "c=3", "--plugin-dir", "/flag-dir"),
                   RPCD_OK);
  assert_string_equal(err, "");
  /* Single values: the flag's. */
  assert_string_equal(cfg.queue, "from-flag");
  assert_string_equal(cfg.plugin_dir, "/flag-dir");
  /* The broker: --uri replaces the file's uri-file (no "give only one"). */
  assert_string_equal(cfg.uri, URI);
  assert_null(cfg.uri_file);
  /* Lists: the flags' alone. */
  assert_int_equal(cfg.n_plugins, 1);
  assert_string_equal(cfg.plugins[0], "c1.so");
  assert_int_equal(cfg.n_in_flight, 1);
  assert_string_equal(cfg.in_flight[0].pattern, "c");
  /* What the flags do not give: the file's. */
  assert_int_equal(cfg.prefetch, 8);
  assert_true(cfg.skip_bad_plugins);
  assert_int_equal(cfg.log_level, RPCD_LOG_WARN);
  rpcd__config_destroy(&cfg);

  /* The file's value for a key the flags override is still checked. */
  put_file(path, sizeof(path), "bad-over.conf", 0600,
           "uri = amqp://h\nplugin = a.so\nprefetch = 0\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path, "--prefetch", "4"),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0, "bad-over.conf:3: prefetch: \"0\" is not an integer");
  assert_int_equal(cfg.prefetch, 4);
  rpcd__config_destroy(&cfg);

  /* uri and uri-file in the file: one problem, named once. */
  put_file(path, sizeof(path), "both.conf", 0600,
           "uri = amqp://h\nplugin = a.so\nuri-file = /u\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0,
              "both.conf:3: uri and uri-file (line 1): give only one of them");
  rpcd__config_destroy(&cfg);
  /* The file is checked whole: still a problem when the command line
   * gives the broker. */
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path, "--uri-file", "/f"),
                   RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  rpcd__config_destroy(&cfg);

  /* The file's uri wins over $RPCD_URI, which fills in when it has none. */
  put_file(path, sizeof(path), "uri.conf", 0600,
           "uri = amqp://from-file\nplugin = a.so\n");
  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--config", path),
                   RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://from-file");
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "nouri.conf", 0600, "plugin = a.so\n");
  assert_int_equal(PARSE(&cfg, "amqp://from-env", err, "--config", path),
                   RPCD_OK);
  assert_string_equal(cfg.uri, "amqp://from-env");
  rpcd__config_destroy(&cfg);

  /* A boolean flag set by the file stays set: "false" is the default. */
  put_file(path, sizeof(path), "bool.conf", 0600,
           "uri = amqp://h\nplugin = a.so\ntls-insecure = false\n"
           "auth-external = true\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path, "--tls-insecure"),
                   RPCD_OK);
  assert_true(cfg.tls.insecure);
  assert_true(cfg.tls.external);
  rpcd__config_destroy(&cfg);
}

/* Where a setting came from. */
static void test_origin(void **state)
{
  char path[256];
  char where[512];
  char want[512];
  char err[512];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "o.conf", 0600,
           "# first\nplugin = a.so\nuri = amqp://h\nqueue = q\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path, "--queue", "f"),
                   RPCD_OK);
  snprintf(want, sizeof(want), "%s:3: uri", path);
  assert_string_equal(rpcd__config_origin(&cfg, "uri", where, sizeof(where)),
                      want);
  assert_string_equal(rpcd__config_origin(&cfg, "queue", where, sizeof(where)),
                      "--queue");
  assert_string_equal(
      rpcd__config_origin(&cfg, "workers", where, sizeof(where)), "--workers");
  rpcd__config_destroy(&cfg);
}

/* A file that others could change could choose the plugins; one that
 * others could read must not hold a password. */
static void test_modes(void **state)
{
  static const char with_password[] =
      "uri = amqp://user:s3cret@h\nplugin = a.so\n";
  static const char without[] = "uri = amqp://user@h\nplugin = a.so\n";
  char path[256];
  char err[1024];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "pw.conf", 0600, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "pw.conf", 0400, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  rpcd__config_destroy(&cfg);

  put_file(path, sizeof(path), "pw.conf", 0644, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0,
              "pw.conf: mode 0644 lets group or others read the password of "
              "the uri on line 1; chmod 600 it, or put the URI in a uri-file");
  /* The message names the file, never the password. */
  assert_null(strstr(err, "s3cret"));
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "pw.conf", 0640, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  expect_line(err, 0, "mode 0640 lets group or others read the password");
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "pw.conf", 0604, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  rpcd__config_destroy(&cfg);
  /* Even when the command line overrides it: the file is readable. */
  put_file(path, sizeof(path), "pw.conf", 0644, with_password);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path, "--uri", URI),
                   RPCD_EINVAL);
  expect_line(err, 0, "lets group or others read the password");
  rpcd__config_destroy(&cfg);

  /* No password: 0644 is fine, as is a uri-file. */
  put_file(path, sizeof(path), "nopw.conf", 0644, without);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  rpcd__config_destroy(&cfg);
  put_file(path, sizeof(path), "nopw.conf", 0644,
           "uri-file = /etc/rpcd/uri\nplugin = a.so\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  rpcd__config_destroy(&cfg);
  /* The group may write when it is rpcd's own (the file's is). */
  put_file(path, sizeof(path), "nopw.conf", 0664, without);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  rpcd__config_destroy(&cfg);

  /* Others may not write it. */
  put_file(path, sizeof(path), "ow.conf", 0646, without);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_EINVAL);
  assert_int_equal(lines_of(err), 1);
  expect_line(err, 0,
              "ow.conf: the config file is writable by others (mode 0646): "
              "anyone could choose the plugins rpcd runs (chmod o-w it)");
  rpcd__config_destroy(&cfg);
}

/* ---- memory ---- */

/* Values from the file live as long as the configuration: the file's
 * buffer is its own, and freed with it (LeakSanitizer, valgrind). */
static void test_memory(void **state)
{
  char path[256];
  char err[512];
  rpcd_config cfg;

  (void)state;
  put_file(path, sizeof(path), "mem.conf", 0600,
           "uri = amqp://h\nplugin = a.so\nqueue = kept\n");
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  /* The file is gone and rewritten: the values stay. */
  put_file(path, sizeof(path), "mem.conf", 0600, "queue = other\n");
  assert_int_equal(unlink(path), 0);
  assert_string_equal(cfg.queue, "kept");
  assert_string_equal(cfg.plugins[0], "a.so");
  rpcd__config_destroy(&cfg);
  assert_null(cfg.mem);
  rpcd__config_destroy(&cfg); /* twice is harmless */
}

/* ---- reload ---- */

static void test_reload(void **state)
{
  char path[256];
  char err[2048];
  rpcd_config cur;
  rpcd_config next;
  const char *queue;
  int round;

  (void)state;
  put_file(path, sizeof(path), "hup.conf", 0600,
           "uri = amqp://h\n"
           "queue = q1\n"
           "workers = 2\n"
           "plugin = a.so\n"
           "log-level = info\n"
           "max-in-flight = fib=1\n"
           "metrics-listen = 127.0.0.1:9000\n");
  assert_int_equal(PARSE(&cur, NULL, err, "--config", path, "--prefetch", "3"),
                   RPCD_OK);
  queue = cur.queue;

  /* Nothing changed: nothing to say. */
  assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)), RPCD_OK);
  assert_string_equal(err, "");
  rpcd__config_destroy(&next); /* dropped, not committed */
  assert_string_equal(cur.queue, "q1");

  for (round = 0; round < 3; round++) {
    char plugin[32];
    const char *metrics_host = cur.metrics_host;
    FILE *f;

    snprintf(plugin, sizeof(plugin), "b%d.so", round);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "uri = amqp://h\n"
            "queue = q2\n" /* takes a restart */
            "plugin = a.so\n"
            "plugin = %s\n" /* reloaded */
            "log-level = debug\n"
            "max-in-flight = fib=2\n"
            "max-in-flight = kv.*=3\n"
            "text-method = fib\n"
            "prefetch = 9\n" /* the flag wins: no note */
            "metrics-listen = 127.0.0.1:9001\n",
            plugin);
    fclose(f);
    assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)),
                     RPCD_OK);
    /* One line: what changed but takes a restart, by key and line. */
    assert_null(strchr(err, '\n'));
    assert_non_null(strstr(err, "hup.conf:2: queue changed; it takes a "
                                "restart, the running value stays"));
    assert_non_null(strstr(err, "hup.conf: workers removed; it takes a "
                                "restart"));
    assert_non_null(strstr(err, "hup.conf:10: metrics-listen changed"));
    assert_null(strstr(err, "prefetch"));
    assert_null(strstr(err, "plugin"));
    assert_null(strstr(err, "log-level"));
    /* next: the new values of what a reload changes ... */
    assert_int_equal(next.n_plugins, 2);
    assert_string_equal(next.plugins[1], plugin);
    assert_int_equal(next.log_level, RPCD_LOG_DEBUG);
    assert_int_equal(next.n_in_flight, 2);
    assert_int_equal(next.in_flight[0].max, 2);
    assert_string_equal(next.text_method, "fib");
    /* ... and the running ones of the rest, the same pointers. */
    assert_ptr_equal(next.queue, queue);
    assert_int_equal(next.workers, 2);
    assert_int_equal(next.prefetch, 3);
    assert_ptr_equal(next.metrics_host, metrics_host);
    assert_int_equal(next.metrics_port, 9000);
    /* cur is untouched until the commit. */
    assert_int_equal(cur.log_level,
                     round == 0 ? RPCD_LOG_INFO : RPCD_LOG_DEBUG);
    rpcd__config_commit(&cur, &next);
    assert_null(next.mem);
    assert_null(next.plugins);
    assert_int_equal(cur.n_plugins, 2);
    assert_string_equal(cur.plugins[1], plugin);
    assert_int_equal(cur.log_level, RPCD_LOG_DEBUG);
    assert_ptr_equal(cur.queue, queue);
    assert_string_equal(cur.queue, "q1");
    assert_string_equal(cur.metrics_host, "127.0.0.1");
    rpcd__config_destroy(&next); /* harmless on an emptied one */
  }

  /* A broken file: refused, in one line, and cur stays as it was. */
  put_file(path, sizeof(path), "hup.conf", 0600,
           "uri = amqp://h\nplugin = a.so\nbogus = 1\nlog-level = loud\n");
  assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_null(strchr(err, '\n'));
  assert_non_null(strstr(err, "hup.conf:3: unknown key \"bogus\" (the keys "
                              "are the long flags of --help); "));
  assert_non_null(strstr(err, "hup.conf:4: log-level: \"loud\""));
  assert_null(next.mem);
  rpcd__config_destroy(&next);
  assert_string_equal(cur.plugins[1], "b2.so");
  /* Gone: refused too. */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)),
                   RPCD_EINVAL);
  assert_non_null(strstr(err, "cannot read the config file"));
  rpcd__config_destroy(&next);
  rpcd__config_destroy(&cur);
}

/* Without --config a reload parses the same flags again. */
static void test_reload_flags_only(void **state)
{
  rpcd_config cur;
  rpcd_config next;
  char err[512];

  (void)state;
  assert_int_equal(PARSE(&cur, NULL, err, "--uri", URI, "--plugin", "a.so",
                         "--log-level", "warn"),
                   RPCD_OK);
  assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)), RPCD_OK);
  assert_string_equal(err, "");
  assert_string_equal(next.plugins[0], "a.so");
  assert_ptr_not_equal(next.plugins, cur.plugins);
  assert_int_equal(next.log_level, RPCD_LOG_WARN);
  rpcd__config_commit(&cur, &next);
  assert_string_equal(cur.plugins[0], "a.so");
  assert_string_equal(cur.uri, URI);
  rpcd__config_destroy(&cur);

  /* A configuration that was not parsed cannot be reloaded. */
  memset(&cur, 0, sizeof(cur));
  assert_int_equal(rpcd__config_reload(&cur, &next, err, sizeof(err)),
                   RPCD_EINVAL);
  rpcd__config_destroy(&next);
}

/* examples/rpcd.conf is a good file: every key in it is one, every value
 * good (a copy, so that its mode and owner are this test's). */
static void test_example(void **state)
{
  char path[256];
  char err[2048];
  rpcd_config cfg;
  char *text;
  long len;
  FILE *f;

  (void)state;
  f = fopen(EXAMPLE_CONF, "r");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  len = ftell(f);
  assert_true(len > 0);
  rewind(f);
  text = calloc(1, (size_t)len + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  put_file(path, sizeof(path), "example.conf", 0644, text);
  free(text);
  assert_int_equal(PARSE(&cfg, NULL, err, "--config", path), RPCD_OK);
  assert_string_equal(err, "");
  /* What it shows: a uri-file, not a password. */
  assert_non_null(cfg.uri_file);
  assert_null(cfg.uri);
  assert_non_null(cfg.plugin_dir);
  assert_non_null(cfg.acl);
  assert_int_equal(cfg.n_in_flight, 2);
  rpcd__config_destroy(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_syntax),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_syntax_error_escaped),
      cmocka_unit_test(test_problem_add),
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_every_key),
      cmocka_unit_test(test_key_errors),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_flags_win),
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_modes),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_reload),
      cmocka_unit_test(test_reload_flags_only),
      cmocka_unit_test(test_example),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
