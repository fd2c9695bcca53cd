/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for rpcd: getopt_long over the RPCD_FLAGS table of
 * config.h, which also generates the --help text. Every value is checked in
 * apply(), one case per flag.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpcd/plugin.h>

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

int rpcd__config_parse(rpcd_config *cfg, int argc, char *const argv[],
                       const char *env_uri, char *err, size_t errlen)
{
  /* "+": stop at the first non-option rather than permute argv; ":": report
   * a missing value as ':' rather than print a message. */
  char optstring[2 + 2 * FLAG_COUNT + 1] = "+:";
  char shown[256]; /* an argument in a message, its password masked */
  size_t o = 2;
  int f;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
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
      /* Masked: "--ur=amqp://u:pass@h" or a URI without its --uri. */
      rpcd__uri_mask(arg, shown, sizeof(shown));
      rpcd__set_err(err, errlen, "unknown argument \"%s\" (see --help)", shown);
      return RPCD_EINVAL;
    }
    if (c == ':') {
      rpcd__set_err(err, errlen, "%s needs a value", arg);
      return RPCD_EINVAL;
    }
    if (c == '?') {
      /* The only error getopt_long reports for a known, spelled-out flag
       * besides a missing value: "--help=x". */
      rpcd__set_err(err, errlen, "--%s takes no value: \"%s\"",
                    long_options[fl].name, arg);
      return RPCD_EINVAL;
    }
    rc = apply(cfg, fl, optarg, err, errlen);
    if (rc != RPCD_OK)
      return rc;
    if (cfg->help || cfg->version)
      return RPCD_OK;
  }
  if (optind > 0 && optind < argc) {
    rpcd__uri_mask(argv[optind], shown, sizeof(shown));
    rpcd__set_err(err, errlen, "unexpected argument \"%s\" (see --help)",
                  shown);
    return RPCD_EINVAL;
  }
  if (cfg->uri && cfg->uri_file) {
    rpcd__set_err(err, errlen, "--uri and --uri-file: give only one of them");
    return RPCD_EINVAL;
  }
  if (!cfg->uri && !cfg->uri_file)
    cfg->uri = env_uri && *env_uri ? env_uri : NULL;
  if (!cfg->uri && !cfg->uri_file) {
    rpcd__set_err(err, errlen,
                  "no broker given: use --uri, --uri-file or set RPCD_URI");
    return RPCD_EINVAL;
  }
  if (cfg->n_plugins == 0 && !cfg->plugin_dir) {
    rpcd__set_err(err, errlen,
                  "no plugins given: use --plugin FILE or --plugin-dir DIR");
    return RPCD_EINVAL;
  }
  return RPCD_OK;
}

void rpcd__config_destroy(rpcd_config *cfg)
{
  if (!cfg)
    return;
  free(cfg->plugins);
  cfg->plugins = NULL;
  cfg->n_plugins = 0;
  free(cfg->in_flight);
  cfg->in_flight = NULL;
  cfg->n_in_flight = 0;
}

/* --help, generated from the table. */

#define USAGE_WIDTH 79     /* columns of text per line */
#define USAGE_MAX_LABEL 24 /* a longer "  --flag METAVAR" gets its own line */

static const char usage_about[] =
    "Serve the methods of rpcd plugins to callers over RabbitMQ, from a "
    "supervisor and its worker processes. Give at least one --plugin or "
    "--plugin-dir.";

static const char *const usage_tail[] = {
    "SIGINT or SIGTERM: workers stop consuming, hand back requests they have "
    "not started, finish the ones they have, exit; exit 0, or 1 after "
    "--drain-timeout.",
    "SIGHUP: reload the plugins.",
    "Exit status: 0 clean stop, 1 failure (broker, plugin), 2 usage error.",
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
  static char buf[8192];

  if (!buf[0]) {
    text t = {buf, sizeof(buf), 0, 0, 0};

    build_usage(&t);
  }
  return buf;
}
