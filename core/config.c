/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for rpcd: getopt_long over the RPCD_FLAGS table of
 * config.h, which also generates the --help text, and the --config file,
 * whose keys go through the same table. Every value, from either, is
 * checked in apply(), one case per flag.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/plugin.h>

#include "config_file.h"
#include "log.h"
#include "rpcd_proto.h"
#include "uri_mask.h"

#define MAX_QUEUE_NAME 250
#define MAX_PREFETCH 65535u
#define MIN_BODY 64u
#define MAX_BODY_LIMIT (128u << 20) /* RabbitMQ's own default message cap */
#define MAX_HEARTBEAT_S 3600u
#define MAX_WORKERS 256u
#define MAX_DRAIN_TIMEOUT_MS 3600000u    /* an hour */
#define MAX_HANDLER_TIMEOUT_MS 86400000u /* a day */
#define MAX_DELIVERIES 1000u

enum flag {
#define X(id, name, sh, has_arg, metavar, help) FLAG_##id,
  RPCD_FLAGS(X)
#undef X
      FLAG_COUNT
};

/* getopt_long returns FLAG_VAL + the flag for a long option: above every
 * short option character, so the two cannot be confused. */
#define FLAG_VAL 256

static const struct option long_options[FLAG_COUNT + 1] = {
#define X(id, name, sh, has_arg, metavar, help)                                \
  {name, has_arg, NULL, FLAG_VAL + FLAG_##id},
    RPCD_FLAGS(X)
#undef X
        {NULL, 0, NULL, 0}};

static const char short_names[FLAG_COUNT] = {
#define X(id, name, sh, has_arg, metavar, help) sh,
    RPCD_FLAGS(X)
#undef X
};

static const char *const metavars[FLAG_COUNT] = {
#define X(id, name, sh, has_arg, metavar, help) metavar,
    RPCD_FLAGS(X)
#undef X
};

static const char *const helps[FLAG_COUNT] = {
#define X(id, name, sh, has_arg, metavar, help) help,
    RPCD_FLAGS(X)
#undef X
};

struct rpcd_config_mem {
  /* What rpcd__config_parse() was given, borrowed: parsed again on reload. */
  int argc;
  char *const *argv;
  const char *env_uri;
  bool on_argv[FLAG_COUNT];       /* the flags given on the command line */
  unsigned file_line[FLAG_COUNT]; /* first line of a key in the file, or 0 */
  /* The --config file as first read: the settings that take a restart
   * point into it for good. Not owned by the configuration a reload made
   * (owns_start false), which borrows its settings from the running one. */
  rpcd_config_file *start_file;
  bool owns_start;
  /* As last (re)read: the settings a reload changes point into it. The
   * same as start_file until a reload. */
  rpcd_config_file *file;
  char *metrics_host; /* owned: --metrics-listen's HOST */
};

/* Parse a decimal unsigned integer in [min, max]. */
static bool parse_uint(const char *s, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
  char *end;
  unsigned long long v;

  /* Digits only: strtoull would also take leading blanks and a sign. */
  if (!s || *s < '0' || *s > '9')
    return false;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return false;
  *out = v;
  return true;
}

/* An integer flag: the value in [min, max] into *out, or the error. */
static int apply_uint(enum flag f, const char *v, unsigned min, unsigned max,
                      unsigned *out, char *err, size_t errlen)
{
  unsigned long long n;

  if (!parse_uint(v, min, max, &n)) {
    rpcd__set_err(err, errlen, "--%s: \"%s\" is not an integer from %u to %u",
                  long_options[f].name, v, min, max);
    return RPCD_EINVAL;
  }
  *out = (unsigned)n;
  return RPCD_OK;
}

/* --metrics-listen HOST:PORT, HOST an IPv4 address or "localhost". */
static int apply_listen(rpcd_config *cfg, const char *v, char *err,
                        size_t errlen)
{
  const char *colon = strrchr(v, ':');
  unsigned long long port;
  struct in_addr addr;
  char host[INET_ADDRSTRLEN];
  char *copy;

  if (!colon || (size_t)(colon - v) >= sizeof(host) ||
      !parse_uint(colon + 1, 1, 65535, &port))
    goto bad;
  memcpy(host, v, (size_t)(colon - v));
  host[colon - v] = '\0';
  if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, &addr) != 1)
    goto bad;
  copy = strdup(host);
  if (!copy)
    return RPCD_ENOMEM;
  free(cfg->mem->metrics_host);
  cfg->mem->metrics_host = copy;
  cfg->metrics_host = copy;
  cfg->metrics_port = (unsigned)port;
  return RPCD_OK;

bad:
  rpcd__set_err(err, errlen,
                "--metrics-listen: \"%s\" is not HOST:PORT, HOST an IPv4 "
                "address or localhost and PORT from 1 to 65535",
                v);
  return RPCD_EINVAL;
}

/* The default of --workers: the online CPUs, clamped to 1..MAX_WORKERS. */
static unsigned default_workers(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);

  if (n < 1)
    return 1;
  return n > (long)MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static int apply(rpcd_config *cfg, enum flag f, const char *v, char *err,
                 size_t errlen)
{
  unsigned n;
  const char **grown;
  int level;
  int rc;

  switch (f) {
  case FLAG_CONFIG:
    if (cfg->config_file) {
      rpcd__set_err(err, errlen, "--config given more than once");
      return RPCD_EINVAL;
    }
    if (!*v) {
      rpcd__set_err(err, errlen, "--config: the file name must not be empty");
      return RPCD_EINVAL;
    }
    cfg->config_file = v;
    break;
  case FLAG_CHECK_CONFIG:
    cfg->check_config = true;
    break;
  case FLAG_METRICS_LISTEN:
    return apply_listen(cfg, v, err, errlen);
  case FLAG_LOG:
    if (strcmp(v, "stderr") == 0) {
      cfg->log_target = RPCD_LOG_TO_STDERR;
    } else if (strcmp(v, "journald") == 0) {
      cfg->log_target = RPCD_LOG_TO_JOURNALD;
    } else if (strcmp(v, "syslog") == 0) {
      cfg->log_target = RPCD_LOG_TO_SYSLOG;
    } else {
      rpcd__set_err(err, errlen,
                    "--log: \"%s\" is not one of stderr, journald, syslog", v);
      return RPCD_EINVAL;
    }
    break;
  case FLAG_URI:
    /* An empty $RPCD_URI counts as none; so must an empty --uri. */
    if (*v == '\0') {
      rpcd__set_err(err, errlen, "--uri: must not be empty");
      return RPCD_EINVAL;
    }
    cfg->uri = v;
    break;
  case FLAG_URI_FILE:
    if (*v == '\0') {
      rpcd__set_err(err, errlen, "--uri-file: must not be empty");
      return RPCD_EINVAL;
    }
    cfg->uri_file = v;
    break;
  case FLAG_QUEUE:
    /* 255 is AMQP's limit, and "<queue>.dead" must fit in it too. */
    if (strlen(v) == 0 || strlen(v) > MAX_QUEUE_NAME) {
      rpcd__set_err(err, errlen,
                    "--queue: name must be 1 to %d bytes (255 with the "
                    "\".dead\" of its dead-letter queue)",
                    MAX_QUEUE_NAME);
      return RPCD_EINVAL;
    }
    cfg->queue = v;
    break;
  case FLAG_QUEUE_TYPE:
    if (strcmp(v, "classic") == 0) {
      cfg->queue_type = RPCD_QUEUE_CLASSIC;
    } else if (strcmp(v, "quorum") == 0) {
      cfg->queue_type = RPCD_QUEUE_QUORUM;
    } else {
      rpcd__set_err(err, errlen,
                    "--queue-type: \"%s\" is not one of classic, quorum", v);
      return RPCD_EINVAL;
    }
    break;
  case FLAG_PLUGIN:
    if (!*v) {
      rpcd__set_err(err, errlen, "--plugin: the file name must not be empty");
      return RPCD_EINVAL;
    }
    grown = realloc(cfg->plugins, (cfg->n_plugins + 1) * sizeof(*grown));
    if (!grown)
      return RPCD_ENOMEM;
    cfg->plugins = grown;
    cfg->plugins[cfg->n_plugins++] = v;
    break;
  case FLAG_PLUGIN_DIR:
    if (cfg->plugin_dir) {
      rpcd__set_err(err, errlen, "--plugin-dir given more than once");
      return RPCD_EINVAL;
    }
    cfg->plugin_dir = v;
    break;
  case FLAG_ACL:
    if (!*v) {
      rpcd__set_err(err, errlen, "--acl: the file name must not be empty");
      return RPCD_EINVAL;
    }
    cfg->acl = v;
    break;
  case FLAG_TLS_CA:
  case FLAG_TLS_CERT:
  case FLAG_TLS_KEY:
    if (!*v) {
      rpcd__set_err(err, errlen, "--%s: the file name must not be empty",
                    long_options[f].name);
      return RPCD_EINVAL;
    }
    *(f == FLAG_TLS_CA     ? &cfg->tls.ca_file
      : f == FLAG_TLS_CERT ? &cfg->tls.cert_file
                           : &cfg->tls.key_file) = v;
    break;
  case FLAG_TLS_INSECURE:
    cfg->tls.insecure = true;
    break;
  case FLAG_AUTH_EXTERNAL:
    cfg->tls.external = true;
    break;
  case FLAG_WORKERS:
    return apply_uint(f, v, 1, MAX_WORKERS, &cfg->workers, err, errlen);
  case FLAG_PREFETCH:
    return apply_uint(f, v, 1, MAX_PREFETCH, &cfg->prefetch, err, errlen);
  case FLAG_TEXT_METHOD:
    if (!rpcd__method_name_valid(v, strlen(v))) {
      rpcd__set_err(err, errlen,
                    "--text-method: \"%s\" is not a valid method name", v);
      return RPCD_EINVAL;
    }
    cfg->text_method = v;
    break;
  case FLAG_MAX_BODY:
    rc = apply_uint(f, v, MIN_BODY, MAX_BODY_LIMIT, &n, err, errlen);
    if (rc != RPCD_OK)
      return rc;
    cfg->max_body = n;
    break;
  case FLAG_HANDLER_TIMEOUT:
    return apply_uint(f, v, 0, MAX_HANDLER_TIMEOUT_MS, &cfg->handler_timeout_ms,
                      err, errlen);
  case FLAG_MAX_IN_FLIGHT: {
    rpcd_inflight_rule *more;

    if (cfg->n_in_flight == RPCD_MAX_INFLIGHT_RULES) {
      rpcd__set_err(err, errlen, "--max-in-flight: at most %d rules",
                    RPCD_MAX_INFLIGHT_RULES);
      return RPCD_EINVAL;
    }
    more = realloc(cfg->in_flight, (cfg->n_in_flight + 1) * sizeof(*more));
    if (!more)
      return RPCD_ENOMEM;
    cfg->in_flight = more;
    rc = rpcd__inflight_rule_parse(v, &more[cfg->n_in_flight], err, errlen);
    if (rc != RPCD_OK) {
      char why[400];

      snprintf(why, sizeof(why), "--max-in-flight: %s", err);
      rpcd__set_err(err, errlen, "%s", why);
      return rc;
    }
    cfg->n_in_flight++;
    break;
  }
  case FLAG_MAX_DELIVERIES:
    return apply_uint(f, v, 1, MAX_DELIVERIES, &cfg->max_deliveries, err,
                      errlen);
  case FLAG_DRAIN_TIMEOUT:
    return apply_uint(f, v, 0, MAX_DRAIN_TIMEOUT_MS, &cfg->drain_timeout_ms,
                      err, errlen);
  case FLAG_HEARTBEAT:
    return apply_uint(f, v, 0, MAX_HEARTBEAT_S, &cfg->heartbeat_s, err, errlen);
  case FLAG_LOG_LEVEL:
    level = rpcd__log_level_parse(v);
    if (level < 0) {
      rpcd__set_err(err, errlen,
                    "--log-level: \"%s\" is not one of error, warn, info, "
                    "debug",
                    v);
      return RPCD_EINVAL;
    }
    cfg->log_level = level;
    break;
  case FLAG_SKIP_BAD_PLUGINS:
    cfg->skip_bad_plugins = true;
    break;
  case FLAG_HELP:
    cfg->help = true;
    break;
  case FLAG_VERSION:
    cfg->version = true;
    break;
  case FLAG_COUNT:
    break;
  }
  return RPCD_OK;
}

/* The flag getopt_long returned as `c`, or FLAG_COUNT. */
static enum flag flag_of(int c)
{
  int f;

  if (c >= FLAG_VAL && c < FLAG_VAL + FLAG_COUNT)
    return (enum flag)(c - FLAG_VAL);
  for (f = 0; c > 0 && f < FLAG_COUNT; f++) {
    if (short_names[f] == c)
      return (enum flag)f;
  }
  return FLAG_COUNT;
}

/*
 * Whether `arg`, the argument getopt_long took flag f from, spells it out:
 * "--name" or "--name=...", not an abbreviation that getopt_long would
 * accept; "-c" alone for a short flag without a value (no clusters).
 */
static bool spelled_out(const char *arg, enum flag f)
{
  const char *name = long_options[f].name;
  size_t len = strlen(name);

  if (arg[0] == '-' && arg[1] == '-')
    return strncmp(arg + 2, name, len) == 0 &&
           (arg[2 + len] == '\0' || arg[2 + len] == '=');
  return arg[0] == '-' && arg[1] == short_names[f] &&
         (long_options[f].has_arg != no_argument || arg[2] == '\0');
}

/* The flag whose long name is `name`, or FLAG_COUNT. */
static enum flag flag_named(const char *name)
{
  int f;

  for (f = 0; f < FLAG_COUNT; f++) {
    if (strcmp(long_options[f].name, name) == 0)
      return (enum flag)f;
  }
  return FLAG_COUNT;
}

/* Flags whose values add up rather than replace one another. */
static bool repeatable(enum flag f)
{
  return f == FLAG_PLUGIN || f == FLAG_MAX_IN_FLIGHT;
}

/* Flags that say what to do rather than how to serve: never in a file. */
static bool command_only(enum flag f)
{
  return f == FLAG_HELP || f == FLAG_VERSION || f == FLAG_CONFIG ||
         f == FLAG_CHECK_CONFIG;
}

/*
 * The flags a reload changes: for each, copy its fields from `from` into
 * `to` (when both are given) and return true; false for those that take a
 * restart (the workers' count and connections, the broker and its queue,
 * what the supervisor set up at startup) or do not apply. Every flag has
 * its case, so that a new flag must be sorted here (-Wswitch).
 */
static bool reload_flag(enum flag f, rpcd_config *to, const rpcd_config *from)
{
  bool copy = to && from;

  switch (f) {
  case FLAG_PLUGIN:
    if (copy) {
      to->plugins = from->plugins;
      to->n_plugins = from->n_plugins;
    }
    return true;
  case FLAG_PLUGIN_DIR:
    if (copy)
      to->plugin_dir = from->plugin_dir;
    return true;
  case FLAG_SKIP_BAD_PLUGINS:
    if (copy)
      to->skip_bad_plugins = from->skip_bad_plugins;
    return true;
  case FLAG_ACL:
    if (copy)
      to->acl = from->acl;
    return true;
  case FLAG_TEXT_METHOD:
    /* Checked against the plugin set, which a reload changes. */
    if (copy)
      to->text_method = from->text_method;
    return true;
  case FLAG_MAX_BODY:
    if (copy)
      to->max_body = from->max_body;
    return true;
  case FLAG_HANDLER_TIMEOUT:
    if (copy)
      to->handler_timeout_ms = from->handler_timeout_ms;
    return true;
  case FLAG_MAX_IN_FLIGHT:
    if (copy) {
      to->in_flight = from->in_flight;
      to->n_in_flight = from->n_in_flight;
    }
    return true;
  case FLAG_LOG_LEVEL:
    if (copy)
      to->log_level = from->log_level;
    return true;
  case FLAG_DRAIN_TIMEOUT:
    if (copy)
      to->drain_timeout_ms = from->drain_timeout_ms;
    return true;
  case FLAG_CONFIG:
  case FLAG_URI:
  case FLAG_URI_FILE:
  case FLAG_QUEUE:
  case FLAG_QUEUE_TYPE:
  case FLAG_TLS_CA:
  case FLAG_TLS_CERT:
  case FLAG_TLS_KEY:
  case FLAG_TLS_INSECURE:
  case FLAG_AUTH_EXTERNAL:
  case FLAG_WORKERS:
  case FLAG_PREFETCH:
  case FLAG_MAX_DELIVERIES:
  case FLAG_HEARTBEAT:
  case FLAG_LOG:
  case FLAG_METRICS_LISTEN:
  case FLAG_CHECK_CONFIG:
  case FLAG_HELP:
  case FLAG_VERSION:
  case FLAG_COUNT:
    break;
  }
  return false;
}

/* Whether the command line gives f, so that the file's lines for it are
 * ignored: --uri and --uri-file both name the broker. */
static bool given_on_argv(const rpcd_config_mem *m, enum flag f)
{
  if (f == FLAG_URI || f == FLAG_URI_FILE)
    return m->on_argv[FLAG_URI] || m->on_argv[FLAG_URI_FILE];
  return m->on_argv[f];
}

/* The problems found so far, one a line in err. */
typedef struct problems {
  char *err;
  size_t errlen;
  unsigned n;
} problems;

static void problem(problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(problems *p, const char *fmt, ...)
{
  char line[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  rpcd__problem_add(p->err, p->errlen, p->n == 0, "%s", line);
  p->n++;
}

/* Check a value of the file that the command line overrides, so that the
 * file is checked whole, into a configuration of its own. */
static int check_value(enum flag f, const char *v, char *why, size_t whylen)
{
  rpcd_config_mem mem;
  rpcd_config tmp;
  int rc;

  memset(&mem, 0, sizeof(mem));
  memset(&tmp, 0, sizeof(tmp));
  tmp.mem = &mem;
  rc = apply(&tmp, f, v, why, whylen);
  free(tmp.plugins);
  free(tmp.in_flight);
  free(mem.metrics_host);
  return rc;
}

/*
 * Who may change the config file may choose the plugins rpcd runs, as the
 * plugin loader's rules for a plugin say; and who may read it may read the
 * password of a uri in it, as --uri-file's rule says.
 */
static void check_file_mode(const rpcd_config_file *f, const char *path,
                            problems *pr)
{
  size_t start;
  size_t len;
  size_t i;

  if (f->uid != 0 && f->uid != geteuid())
    problem(pr,
            "%s: the config file is owned by uid %lu, who is neither root nor "
            "the user rpcd runs as (uid %lu) and could choose the plugins it "
            "runs",
            path, (unsigned long)f->uid, (unsigned long)geteuid());
  if (f->mode & 0002)
    problem(pr,
            "%s: the config file is writable by others (mode %04o): anyone "
            "could choose the plugins rpcd runs (chmod o-w it)",
            path, f->mode);
  else if ((f->mode & 0020) && f->gid != getegid())
    problem(pr,
            "%s: the config file is writable by group %lu (mode %04o), not "
            "rpcd's own group: its members could choose the plugins rpcd "
            "runs (chmod g-w it)",
            path, (unsigned long)f->gid, f->mode);
  for (i = 0; i < f->n; i++) {
    if (f->lines[i].key && strcmp(f->lines[i].key, "uri") == 0 &&
        rpcd__uri_secret(f->lines[i].value, &start, &len) && (f->mode & 077)) {
      problem(pr,
              "%s: mode %04o lets group or others read the password of the "
              "uri on line %u; chmod 600 it, or put the URI in a uri-file",
              path, f->mode, f->lines[i].line);
      break;
    }
  }
}

/*
 * Read the --config file and apply its lines that the command line does
 * not override. \return RPCD_OK when the file was read (its problems
 * counted in pr), RPCD_EINVAL when it could not be, RPCD_ENOMEM.
 */
static int apply_file(rpcd_config *cfg, bool *bad, problems *pr)
{
  rpcd_config_mem *m = cfg->mem;
  const char *path = cfg->config_file;
  rpcd_config_file *file;
  char msg[4096];
  unsigned n_bad;
  size_t i;
  int rc;

  rc = rpcd__config_file_read(path, &file, &n_bad, msg, sizeof(msg));
  if (rc == RPCD_ENOMEM)
    return rc;
  if (!file) {
    problem(pr, "%s", msg);
    return RPCD_EINVAL;
  }
  m->start_file = m->file = file;
  m->owns_start = true;
  for (i = 0; i < file->n; i++) {
    const rpcd_config_line *l = &file->lines[i];
    const char *v = l->value;
    enum flag f;
    char why[512];

    if (!l->key) {
      /* Its syntax: told here, in line order with the rest. */
      problem(pr, "%s:%u: %s", path, l->line, l->value);
      continue;
    }
    f = flag_named(l->key);
    if (f == FLAG_COUNT) {
      problem(pr,
              "%s:%u: unknown key \"%s\" (the keys are the long flags of "
              "--help)",
              path, l->line, l->key);
      continue;
    }
    if (command_only(f)) {
      problem(pr, "%s:%u: \"%s\" is not allowed in a config file", path,
              l->line, l->key);
      continue;
    }
    if (m->file_line[f] && !repeatable(f)) {
      problem(pr,
              "%s:%u: %s given more than once (first on line %u); only plugin "
              "and max-in-flight may be repeated",
              path, l->line, l->key, m->file_line[f]);
      continue;
    }
    if (!m->file_line[f])
      m->file_line[f] = l->line;
    if (long_options[f].has_arg == no_argument) {
      if (strcmp(v, "false") == 0)
        continue;
      if (strcmp(v, "true") != 0) {
        problem(pr, "%s:%u: %s: \"%s\" is not true or false", path, l->line,
                l->key, v);
        bad[f] = true;
        continue;
      }
      v = NULL;
    }
    if (given_on_argv(m, f))
      rc = check_value(f, v, why, sizeof(why));
    else
      rc = apply(cfg, f, v, why, sizeof(why));
    if (rc == RPCD_ENOMEM)
      return rc;
    if (rc != RPCD_OK) {
      /* "--prefetch: ..." is "prefetch: ..." here. */
      problem(pr, "%s:%u: %s", path, l->line,
              strncmp(why, "--", 2) == 0 ? why + 2 : why);
      bad[f] = true;
    }
  }
  if (m->file_line[FLAG_URI] && m->file_line[FLAG_URI_FILE]) {
    problem(pr, "%s:%u: uri and uri-file (line %u): give only one of them",
            path,
            m->file_line[FLAG_URI] > m->file_line[FLAG_URI_FILE]
                ? m->file_line[FLAG_URI]
                : m->file_line[FLAG_URI_FILE],
            m->file_line[FLAG_URI] > m->file_line[FLAG_URI_FILE]
                ? m->file_line[FLAG_URI_FILE]
                : m->file_line[FLAG_URI]);
    bad[FLAG_URI] = bad[FLAG_URI_FILE] = true;
  }
  check_file_mode(file, path, pr);
  return RPCD_OK;
}

int rpcd__config_parse(rpcd_config *cfg, int argc, char *const argv[],
                       const char *env_uri, char *err, size_t errlen)
{
  /* "+": stop at the first non-option rather than permute argv; ":": report
   * a missing value as ':' rather than print a message. */
  char optstring[2 + 2 * FLAG_COUNT + 1] = "+:";
  char shown[256]; /* an argument in a message, its password masked */
  char why[512];
  bool bad[FLAG_COUNT] = {false}; /* a value of the flag was refused */
  bool cut_short = false; /* the flags or the file could not be read whole */
  problems pr = {err, errlen, 0};
  rpcd_config_mem *m;
  size_t o = 2;
  int f;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
  if (err && errlen)
    err[0] = '\0';
  /* $RPCD_URI is filled in after the flags: --uri and --uri-file win. */
  cfg->uri = NULL;
  cfg->queue = "rpc_queue";
  cfg->queue_type = RPCD_QUEUE_CLASSIC;
  cfg->prefetch = 1;
  cfg->log_level = RPCD_LOG_INFO;
  cfg->max_body = RPCD_DEFAULT_MAX_BODY;
  cfg->heartbeat_s = 60;
  cfg->workers = default_workers();
  cfg->drain_timeout_ms = 30000;
  cfg->handler_timeout_ms = 0;
  cfg->max_deliveries = 3;
  cfg->log_target = RPCD_LOG_TO_STDERR;
  m = calloc(1, sizeof(*m));
  if (!m)
    return RPCD_ENOMEM;
  cfg->mem = m;
  m->argc = argc;
  m->argv = argv;
  m->env_uri = env_uri;

  for (f = 0; f < FLAG_COUNT; f++) {
    if (short_names[f]) {
      optstring[o++] = short_names[f];
      if (long_options[f].has_arg == required_argument)
        optstring[o++] = ':';
    }
  }
  optstring[o] = '\0';

  optind = 0; /* glibc and musl: reinitialise getopt completely */
  opterr = 0; /* our messages, in err, rather than getopt's on stderr */
  for (;;) {
    /* The argument the next flag comes from (getopt_long starts at 1). */
    int at = optind > 0 ? optind : 1;
    const char *arg = at < argc ? argv[at] : "";
    int c = getopt_long(argc, argv, optstring, long_options, NULL);
    enum flag fl;

    if (c == -1)
      break;
    fl = flag_of(c == '?' || c == ':' ? optopt : c);
    if (fl == FLAG_COUNT || !spelled_out(arg, fl)) {
      /* Masked: "--ur=amqp://u:pass@h" or a URI without its --uri. Whether
       * the next argument is its value cannot be told: stop here. */
      rpcd__uri_mask(arg, shown, sizeof(shown));
      problem(&pr, "unknown argument \"%s\" (see --help)", shown);
      cut_short = true;
      break;
    }
    m->on_argv[fl] = true;
    if (c == ':') {
      problem(&pr, "%s needs a value", arg);
      bad[fl] = true;
      continue;
    }
    if (c == '?') {
      /* The only error getopt_long reports for a known, spelled-out flag
       * besides a missing value: "--help=x". */
      problem(&pr, "--%s takes no value: \"%s\"", long_options[fl].name, arg);
      bad[fl] = true;
      continue;
    }
    rc = apply(cfg, fl, optarg, why, sizeof(why));
    if (rc == RPCD_ENOMEM)
      return rc;
    if (rc != RPCD_OK) {
      problem(&pr, "%s", why);
      bad[fl] = true;
      continue;
    }
    if (cfg->help || cfg->version) {
      if (pr.n == 0)
        return RPCD_OK;
      /* Not after a problem: that is what the user needs to hear. */
      cfg->help = cfg->version = false;
    }
  }
  if (!cut_short && optind > 0 && optind < argc) {
    rpcd__uri_mask(argv[optind], shown, sizeof(shown));
    problem(&pr, "unexpected argument \"%s\" (see --help)", shown);
    cut_short = true;
  }
  if (bad[FLAG_CONFIG])
    cut_short = true; /* the file it named might have given the rest */
  if (cfg->config_file) {
    rc = apply_file(cfg, bad, &pr);
    if (rc == RPCD_ENOMEM)
      return rc;
    if (rc != RPCD_OK)
      cut_short = true;
  }
  /* Both from the command line: from the file, apply_file() said so. */
  if (cfg->uri && cfg->uri_file && m->on_argv[FLAG_URI])
    problem(&pr, "--uri and --uri-file: give only one of them");
  if (!cfg->uri && !cfg->uri_file)
    cfg->uri = env_uri && *env_uri ? env_uri : NULL;
  /* What is missing, unless a refused value or an unread part of the
   * command line or the file may be what would have given it. */
  if (!cut_short && !bad[FLAG_URI] && !bad[FLAG_URI_FILE] && !cfg->uri &&
      !cfg->uri_file)
    problem(&pr, "no broker given: use --uri, --uri-file or set RPCD_URI");
  if (!cut_short && !bad[FLAG_PLUGIN] && !bad[FLAG_PLUGIN_DIR] &&
      cfg->n_plugins == 0 && !cfg->plugin_dir)
    problem(&pr, "no plugins given: use --plugin FILE or --plugin-dir DIR");
  return pr.n ? RPCD_EINVAL : RPCD_OK;
}

void rpcd__config_destroy(rpcd_config *cfg)
{
  rpcd_config_mem *m;

  if (!cfg)
    return;
  free(cfg->plugins);
  cfg->plugins = NULL;
  cfg->n_plugins = 0;
  free(cfg->in_flight);
  cfg->in_flight = NULL;
  cfg->n_in_flight = 0;
  m = cfg->mem;
  if (m) {
    if (m->file != m->start_file)
      rpcd__config_file_free(m->file);
    if (m->owns_start)
      rpcd__config_file_free(m->start_file);
    free(m->metrics_host);
    free(m);
    cfg->mem = NULL;
  }
  cfg->metrics_host = NULL;
}

/* The lines of a list of problems as one line, "; " between them. */
static void one_line(char *s, size_t cap)
{
  size_t len = strnlen(s, cap);
  size_t i;

  for (i = 0; i < len; i++) {
    if (s[i] != '\n')
      continue;
    s[i] = ';';
    if (len + 2 <= cap) {
      memmove(s + i + 2, s + i + 1, len - i); /* with the NUL */
      s[i + 1] = ' ';
      len++;
    }
  }
}

/*
 * Whether the lines of `key` in a and b (either may be NULL: no file) have
 * the same values in the same order; when not, *line is the line of b
 * where they part, 0 when b has fewer.
 */
static bool same_lines(const rpcd_config_file *a, const rpcd_config_file *b,
                       const char *key, unsigned *line)
{
  size_t na = a ? a->n : 0;
  size_t nb = b ? b->n : 0;
  size_t i = 0;
  size_t j = 0;

  *line = 0;
  for (;;) {
    while (i < na && (!a->lines[i].key || strcmp(a->lines[i].key, key) != 0))
      i++;
    while (j < nb && (!b->lines[j].key || strcmp(b->lines[j].key, key) != 0))
      j++;
    if (i == na || j == nb) {
      if (j < nb)
        *line = b->lines[j].line;
      return i == na && j == nb;
    }
    if (strcmp(a->lines[i].value, b->lines[j].value) != 0) {
      *line = b->lines[j].line;
      return false;
    }
    i++;
    j++;
  }
}

int rpcd__config_reload(const rpcd_config *cur, rpcd_config *next, char *err,
                        size_t errlen)
{
  problems notes = {err, errlen, 0};
  rpcd_config fresh;
  unsigned line;
  int rc;
  int f;

  memset(next, 0, sizeof(*next));
  if (!cur->mem) {
    rpcd__set_err(err, errlen, "no command line to parse again");
    return RPCD_EINVAL;
  }
  rc = rpcd__config_parse(&fresh, cur->mem->argc, cur->mem->argv,
                          cur->mem->env_uri, err, errlen);
  if (rc != RPCD_OK) {
    rpcd__config_destroy(&fresh);
    one_line(err, errlen);
    return rc;
  }
  if (err && errlen)
    err[0] = '\0';
  /* Only the file can have changed: argv and $RPCD_URI are the same. */
  for (f = 0; f < FLAG_COUNT; f++) {
    const char *name = long_options[f].name;

    if (reload_flag((enum flag)f, NULL, NULL) || command_only((enum flag)f) ||
        given_on_argv(fresh.mem, (enum flag)f) ||
        same_lines(cur->mem->start_file, fresh.mem->file, name, &line))
      continue;
    if (line)
      problem(&notes,
              "%s:%u: %s changed; it takes a restart, the running value stays",
              fresh.config_file, line, name);
    else
      problem(&notes,
              "%s: %s removed; it takes a restart, the running value stays",
              fresh.config_file, name);
  }
  one_line(err, errlen);

  /* cur, with the new values of what a reload changes. */
  *next = *cur;
  for (f = 0; f < FLAG_COUNT; f++)
    reload_flag((enum flag)f, next, &fresh);
  next->mem = fresh.mem;
  /* Its start_file is its file; cur's is where the rest points. */
  next->mem->start_file = cur->mem->start_file;
  next->mem->owns_start = false;
  free(next->mem->metrics_host);
  next->mem->metrics_host = NULL;
  return RPCD_OK;
}

void rpcd__config_commit(rpcd_config *cur, rpcd_config *next)
{
  rpcd_config_mem *m = cur->mem;

  free(cur->plugins);
  free(cur->in_flight);
  if (m->file != m->start_file)
    rpcd__config_file_free(m->file);
  m->file = next->mem->file;
  free(next->mem);
  next->mem = m;
  *cur = *next;
  memset(next, 0, sizeof(*next));
}

bool rpcd__config_reloadable(const char *key)
{
  return reload_flag(flag_named(key), NULL, NULL);
}

const char *rpcd__config_origin(const rpcd_config *cfg, const char *key,
                                char *buf, size_t buflen)
{
  const rpcd_config_mem *m = cfg->mem;
  enum flag f = flag_named(key);

  if (m && f != FLAG_COUNT && cfg->config_file && m->file_line[f] &&
      !given_on_argv(m, f))
    snprintf(buf, buflen, "%s:%u: %s", cfg->config_file, m->file_line[f], key);
  else if (m && f == FLAG_URI && !m->on_argv[f] && cfg->uri &&
           cfg->uri == m->env_uri)
    snprintf(buf, buflen, "RPCD_URI");
  else
    snprintf(buf, buflen, "--%s", key);
  return buf;
}

/* --help, generated from the table. */

#define USAGE_WIDTH 79     /* columns of text per line */
#define USAGE_MAX_LABEL 24 /* a longer "  --flag METAVAR" gets its own line */

static const char usage_about[] =
    "Serve the methods of rpcd plugins to callers over RabbitMQ, from a "
    "supervisor and its worker processes. Give at least one --plugin or "
    "--plugin-dir.";

/* Each entry in parentheses: clang's -Wstring-concatenation takes a
 * literal split over lines for a missing comma otherwise. */
static const char *const usage_tail[] = {
    ("SIGINT or SIGTERM: workers stop consuming, hand back requests they have "
     "not started, finish the ones they have, exit; exit 0, or 1 after "
     "--drain-timeout."),
    ("SIGHUP: reload the plugins, the --acl file and the --config file; of "
     "its keys, plugin, plugin-dir, skip-bad-plugins, acl, text-method, "
     "max-body, handler-timeout, max-in-flight, log-level and drain-timeout "
     "take their new values, the others take a restart."),
    ("SIGUSR1 and SIGUSR2: raise and lower the log level, in the supervisor "
     "and every worker."),
    ("Exit status: 0 clean stop, 1 failure (broker, plugin), 2 usage error; "
     "with --check-config, 0 when all is well and 1 when not."),
};

/* A text being built in a fixed buffer; it truncates rather than overflow
 * (the unit test checks that the whole text fits). */
typedef struct text {
  char *buf;
  size_t cap;
  size_t len;
  size_t col;    /* column of the cursor */
  size_t indent; /* column where wrapped lines start */
} text;

static void put(text *t, const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n && t->len + 1 < t->cap; i++) {
    t->buf[t->len++] = s[i];
    t->col = s[i] == '\n' ? 0 : t->col + 1;
  }
  t->buf[t->len] = '\0';
}

static void puts_(text *t, const char *s)
{
  put(t, s, strlen(s));
}

static void pad_to(text *t, size_t col)
{
  while (t->col < col && t->len + 1 < t->cap)
    put(t, " ", 1);
}

/* One unbreakable word, preceded by a space or, if it does not fit on the
 * line, by a line break and the indent. */
static void word(text *t, const char *w, size_t n)
{
  if (t->col > t->indent) {
    if (t->col + 1 + n > USAGE_WIDTH) {
      put(t, "\n", 1);
      pad_to(t, t->indent);
    } else {
      put(t, " ", 1);
    }
  }
  pad_to(t, t->indent);
  put(t, w, n);
}

/* Word-wrap `s` from the cursor; continuation lines start at `indent`. */
static void wrap(text *t, const char *s, size_t indent)
{
  t->indent = indent;
  while (*s) {
    size_t n = strcspn(s, " ");

    /* "(default: 60)": a word that ends in ':' stays with the next one. */
    if (n > 0 && s[n - 1] == ':' && s[n] == ' ' && s[n + 1] != ' ')
      n += 1 + strcspn(s + n + 1, " ");
    if (n > 0)
      word(t, s, n);
    s += n;
    s += strspn(s, " ");
  }
}

/* "--name METAVAR" or "-c, --name METAVAR" into buf. */
static size_t label(char *buf, size_t len, enum flag f)
{
  int n;

  if (short_names[f])
    n = snprintf(buf, len, "-%c, --%s%s%s", short_names[f],
                 long_options[f].name, *metavars[f] ? " " : "", metavars[f]);
  else
    n = snprintf(buf, len, "--%s%s%s", long_options[f].name,
                 *metavars[f] ? " " : "", metavars[f]);
  return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static void build_usage(text *t)
{
  static const char usage[] = "usage: rpcd";
  char item[96];
  size_t width = 0;
  size_t n;
  size_t i;
  int f;

  /* usage: rpcd [--flag VALUE] ...
   *        rpcd --help | --version */
  puts_(t, usage);
  t->indent = sizeof(usage);
  /* Every flag but the two that end the parse, which go on a line of
   * their own. */
  for (f = 0; f < FLAG_COUNT; f++) {
    if (f == FLAG_HELP || f == FLAG_VERSION)
      continue;
    n = label(item + 1, sizeof(item) - 2, (enum flag)f);
    item[0] = '[';
    item[n + 1] = ']';
    word(t, item, n + 2);
  }
  puts_(t, "\n       rpcd --help | --version\n\n");
  wrap(t, usage_about, 0);
  puts_(t, "\n\n");

  /*   --flag VALUE   help, wrapped to the column after the widest label */
  for (f = 0; f < FLAG_COUNT; f++) {
    n = 2 + label(item, sizeof(item), (enum flag)f) + 2;
    if (n <= USAGE_MAX_LABEL && n > width)
      width = n;
  }
  for (f = 0; f < FLAG_COUNT; f++) {
    n = label(item, sizeof(item), (enum flag)f);
    puts_(t, "  ");
    put(t, item, n);
    if (t->col + 2 > width)
      put(t, "\n", 1);
    pad_to(t, width);
    wrap(t, helps[f], width);
    put(t, "\n", 1);
  }
  put(t, "\n", 1);
  for (i = 0; i < sizeof(usage_tail) / sizeof(usage_tail[0]); i++) {
    wrap(t, usage_tail[i], 0);
    put(t, "\n", 1);
  }
}

const char *rpcd__usage_text(void)
{
  static char buf[16384];

  if (!buf[0]) {
    text t = {buf, sizeof(buf), 0, 0, 0};

    build_usage(&t);
  }
  return buf;
}
