/* SPDX-License-Identifier: MIT */
/*
 * rpcd: parse the flags (and the --config file), make the cheap checks, and
 * hand over to the supervisor (core/supervisor.c), which runs the workers;
 * or, with --check-config, make every check that needs no broker and say
 * what is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpcd/version.h>

#include "acl.h"
#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "transport_amqp.h"
#include "uri_file.h"
#include "worker.h"

#define EXIT_USAGE 2
#define PLUGIN_CHECK_TIMEOUT_MS 30000

/* The argv string cfg->uri points into when it came from --uri, else NULL:
 * "--uri URI" or "--uri=URI" (config.c borrows argv's strings). */
static char *uri_in_argv(int argc, char **argv, const char *uri)
{
  int i;

  for (i = 1; uri && i < argc; i++) {
    if (argv[i] == uri)
      return argv[i];
    if (strncmp(argv[i], "--uri=", 6) == 0 && argv[i] + 6 == uri)
      return argv[i] + 6;
  }
  return NULL;
}

/* Each line of a list of problems (config.h), "rpcd: " first; the count. */
static unsigned print_problems(const char *text)
{
  unsigned n = 0;

  while (*text) {
    size_t len = strcspn(text, "\n");

    fprintf(stderr, "rpcd: %.*s\n", (int)len, text);
    n++;
    text += len + (text[len] == '\n');
  }
  return n;
}

/*
 * A message about the value of `key`, which starts "--KEY" as the code that
 * made it wrote it: printed as it is for a flag, and with "FILE:LINE: KEY"
 * or "RPCD_URI" instead when the value came from there.
 */
static void say_about(const rpcd_config *cfg, const char *key, const char *msg)
{
  char where[512];
  size_t n = strlen(key);

  rpcd__config_origin(cfg, key, where, sizeof(where));
  if (strncmp(msg, "--", 2) == 0 && strncmp(msg + 2, key, n) == 0 &&
      strncmp(where, "--", 2) != 0)
    fprintf(stderr, "rpcd: %s%s\n", where, msg + 2 + n);
  else
    fprintf(stderr, "rpcd: %s\n", msg);
}

/* The broker URI is well formed, and the TLS options go with it. */
static bool uri_ok(const rpcd_config *cfg, const char *uri)
{
  char err[1024];
  char msg[2048];

  if (rpcd__amqp_uri_check(uri, NULL, err, sizeof(err)) != RPCD_OK) {
    if (cfg->uri_file) {
      snprintf(msg, sizeof(msg), "--uri-file %s: %s", cfg->uri_file, err);
      say_about(cfg, "uri-file", msg);
    } else {
      snprintf(msg, sizeof(msg), "--uri: %s", err);
      say_about(cfg, "uri", msg);
    }
    return false;
  }
  /* The TLS files too: a bad certificate is named here, not guessed at
   * from a failed handshake. */
  if (rpcd__amqp_uri_check(uri, &cfg->tls, err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "rpcd: %s\n", err);
    return false;
  }
  return true;
}

/*
 * The plugins: a missing --plugin file or --plugin-dir is named here, each
 * on its own line; what is there is loaded in a child. What is missing is
 * left out of that check, so that it is not reported twice, and so is
 * --text-method then, whose method the missing plugin may have.
 */
static unsigned check_plugins(const rpcd_config *cfg)
{
  rpcd_config check = *cfg;
  unsigned problems = 0;
  char why[1024];
  struct stat st;
  size_t i;

  check.plugins = calloc(cfg->n_plugins + 1, sizeof(*check.plugins));
  if (!check.plugins) {
    fputs("rpcd: out of memory\n", stderr);
    return 1;
  }
  check.n_plugins = 0;
  for (i = 0; i < cfg->n_plugins; i++) {
    /* With --skip-bad-plugins a missing one is skipped with a warning. */
    if (!cfg->skip_bad_plugins && stat(cfg->plugins[i], &st) != 0) {
      fprintf(stderr, "rpcd: could not load plugin \"%s\": %s\n",
              cfg->plugins[i], strerror(errno));
      problems++;
      continue;
    }
    check.plugins[check.n_plugins++] = cfg->plugins[i];
  }
  if (cfg->plugin_dir &&
      (stat(cfg->plugin_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
    fprintf(stderr, "rpcd: could not open plugin directory \"%s\": %s\n",
            cfg->plugin_dir,
            errno == 0 || S_ISREG(st.st_mode) ? strerror(ENOTDIR)
                                              : strerror(errno));
    check.plugin_dir = NULL;
    problems++;
  }
  if (problems)
    check.text_method = NULL;
  if (!rpcd__plugin_set_loads(&check, why, sizeof(why))) {
    fprintf(stderr, "rpcd: %s\n", why);
    problems++;
  }
  free(check.plugins);
  return problems;
}

/*
 * --check-config: every check that needs no broker, each problem on a line
 * of its own. `parse_err` holds the parse's problems, or is NULL.
 * \return the exit status: 0 when all is well, else 1
 */
static int check_config(const rpcd_config *cfg, const char *parse_err)
{
  char err[1024];
  char *from_file = NULL;
  const char *uri = cfg->uri;
  unsigned problems = 0;
  rpcd_acl *acl = NULL;

  /* The loader's "loaded plugin" lines are not problems; warnings (a
   * plugin skipped, say) are. */
  rpcd__log_level = RPCD_LOG_WARN;
  if (parse_err)
    problems += print_problems(parse_err);
  /* The broker URI: from --uri-file, with its mode, or as given. Not when
   * both were given (the parse said so). */
  if (cfg->uri_file && !cfg->uri) {
    int rc = rpcd__uri_file_read(cfg->uri_file, &from_file, err, sizeof(err));

    if (rc != RPCD_OK) {
      say_about(cfg, "uri-file", rc == RPCD_ENOMEM ? "out of memory" : err);
      problems++;
    }
    uri = from_file;
  }
  if (uri && !(cfg->uri && cfg->uri_file) && !uri_ok(cfg, uri))
    problems++;
  free(from_file);
  if (cfg->acl) {
    if (rpcd__acl_load(cfg->acl, &acl, err, sizeof(err)) != RPCD_OK) {
      fprintf(stderr, "rpcd: %s\n", err);
      problems++;
    }
    rpcd__acl_free(acl);
  }
  problems += check_plugins(cfg);
  if (problems)
    return 1;
  puts("rpcd: configuration OK");
  return 0;
}

int main(int argc, char **argv)
{
  rpcd_config cfg;
  char err[4096];
  char *uri = NULL; /* owned: --uri copied out of argv, or --uri-file's */
  char *in_argv;
  int status;
  int rc;

  rc = rpcd__config_parse(&cfg, argc, argv, getenv("RPCD_URI"), err,
                          sizeof(err));
  if (rc == RPCD_ENOMEM) {
    fputs("rpcd: out of memory\n", stderr);
    rpcd__config_destroy(&cfg);
    return 1;
  }
  /* Take the URI out of argv before anything else runs: a copy for the
   * process, and the argv bytes ps and /proc/PID/cmdline show blanked. The
   * workers are forked, never exec'd, so they inherit both. */
  in_argv = uri_in_argv(argc, argv, cfg.uri);
  if (in_argv) {
    uri = strdup(in_argv);
    if (!uri) {
      fputs("rpcd: out of memory\n", stderr);
      rpcd__config_destroy(&cfg);
      return 1;
    }
    rpcd__uri_blank_password(in_argv);
    cfg.uri = uri;
  }
  if (rc == RPCD_OK && (cfg.help || cfg.version)) {
    fputs(cfg.help ? rpcd__usage_text() : "rpcd " RPCD_VERSION_STRING "\n",
          stdout);
    rpcd__config_destroy(&cfg);
    free(uri);
    return 0;
  }
  if (cfg.check_config) {
    status = check_config(&cfg, rc == RPCD_OK ? NULL : err);
    rpcd__config_destroy(&cfg);
    free(uri);
    return status;
  }
  if (rc != RPCD_OK) {
    print_problems(err);
    rpcd__config_destroy(&cfg);
    free(uri);
    return EXIT_USAGE;
  }
  if (cfg.uri_file) {
    status = rpcd__uri_file_read(cfg.uri_file, &uri, err, sizeof(err));
    if (status != RPCD_OK) {
      say_about(&cfg, "uri-file",
                status == RPCD_ENOMEM ? "out of memory" : err);
      rpcd__config_destroy(&cfg);
      return status == RPCD_ENOMEM ? 1 : EXIT_USAGE;
    }
    cfg.uri = uri;
  }
  /* The cheap checks come before any plugin code runs. */
  if (!uri_ok(&cfg, cfg.uri)) {
    rpcd__config_destroy(&cfg);
    free(uri);
    return EXIT_USAGE;
  }
  rpcd__log_level = cfg.log_level;
  status = rpcd__supervise(&cfg);
  rpcd__config_destroy(&cfg);
  free(uri);
  return status;
}
