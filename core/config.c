/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for rpcd. Hand-rolled rather than getopt_long so that
 * it is re-entrant (tests parse many command lines in one process) and
 * accepts both "--flag value" and "--flag=value".
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/plugin.h>

#include "log.h"
#include "rpcd_proto.h"

#define MAX_PREFETCH 65535u
#define MAX_BODY_LIMIT (128u << 20) /* RabbitMQ's own default message cap */

const char rpcd__usage[] =
    "usage: rpcd [--uri URI] [--queue NAME] --plugin FILE [--plugin FILE ...]\n"
    "            [--plugin-dir DIR] [--prefetch N] [--text-method NAME]\n"
    "            [--max-body BYTES] [--heartbeat SECONDS] [--log-level LEVEL]\n"
    "       rpcd --help | --version\n"
    "\n"
    "Serve the methods of rpcd plugins to callers over RabbitMQ.\n"
    "\n"
    "  --uri URI            broker, amqp://user:pass@host:port[/vhost]\n"
    "                       (default: $RPCD_URI)\n"
    "  --queue NAME         request queue, declared durable (default: "
    "rpc_queue)\n"
    "  --plugin FILE        load a plugin (.so); may be repeated\n"
    "  --plugin-dir DIR     load every *.so in DIR, in name order\n"
    "  --prefetch N         unacked requests held at once, 1-65535 "
    "(default: 1)\n"
    "  --text-method NAME   answer plain-text bodies (no content type or\n"
    "                       text/plain) by calling NAME with the body\n"
    "  --max-body BYTES     request and result size limit (default: "
    "1048576)\n"
    "  --heartbeat SECONDS  AMQP heartbeat, 0 to disable (default: 60); a\n"
    "                       handler must finish within about twice this\n"
    "  --log-level LEVEL    error, warn, info or debug (default: info)\n"
    "  --help               show this help and exit\n"
    "  --version            show the version and exit\n"
    "\n"
    "SIGINT or SIGTERM: stop consuming, finish the request in hand, exit 0.\n"
    "Exit status: 0 clean stop, 1 failure (broker, plugin), 2 usage error.\n";

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

/* Flags that take a value. */
enum opt {
  OPT_URI,
  OPT_QUEUE,
  OPT_PLUGIN,
  OPT_PLUGIN_DIR,
  OPT_PREFETCH,
  OPT_TEXT_METHOD,
  OPT_LOG_LEVEL,
  OPT_MAX_BODY,
  OPT_HEARTBEAT,
  OPT_COUNT
};

static const char *const opt_names[OPT_COUNT] = {
    "--uri",         "--queue",     "--plugin",   "--plugin-dir", "--prefetch",
    "--text-method", "--log-level", "--max-body", "--heartbeat",
};

static int apply(rpcd_config *cfg, enum opt o, const char *v, char *err,
                 size_t errlen)
{
  unsigned long long n;
  const char **grown;
  int level;

  switch (o) {
  case OPT_URI:
    /* An empty $RPCD_URI counts as none; so must an empty --uri. */
    if (*v == '\0') {
      rpcd__set_err(err, errlen, "--uri: must not be empty");
      return RPCD_EINVAL;
    }
    cfg->uri = v;
    break;
  case OPT_QUEUE:
    if (strlen(v) == 0 || strlen(v) > 255) {
      rpcd__set_err(err, errlen, "--queue: name must be 1 to 255 bytes");
      return RPCD_EINVAL;
    }
    cfg->queue = v;
    break;
  case OPT_PLUGIN:
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
  case OPT_PLUGIN_DIR:
    if (cfg->plugin_dir) {
      rpcd__set_err(err, errlen, "--plugin-dir given more than once");
      return RPCD_EINVAL;
    }
    cfg->plugin_dir = v;
    break;
  case OPT_PREFETCH:
    if (!parse_uint(v, 1, MAX_PREFETCH, &n)) {
      rpcd__set_err(err, errlen,
                    "--prefetch: \"%s\" is not an integer from 1 to %u", v,
                    MAX_PREFETCH);
      return RPCD_EINVAL;
    }
    cfg->prefetch = (unsigned)n;
    break;
  case OPT_TEXT_METHOD:
    if (!rpcd__method_name_valid(v, strlen(v))) {
      rpcd__set_err(err, errlen,
                    "--text-method: \"%s\" is not a valid method name", v);
      return RPCD_EINVAL;
    }
    cfg->text_method = v;
    break;
  case OPT_LOG_LEVEL:
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
  case OPT_MAX_BODY:
    if (!parse_uint(v, 64, MAX_BODY_LIMIT, &n)) {
      rpcd__set_err(err, errlen,
                    "--max-body: \"%s\" is not an integer from 64 to %u", v,
                    MAX_BODY_LIMIT);
      return RPCD_EINVAL;
    }
    cfg->max_body = (size_t)n;
    break;
  case OPT_HEARTBEAT:
    if (!parse_uint(v, 0, 3600, &n)) {
      rpcd__set_err(err, errlen,
                    "--heartbeat: \"%s\" is not an integer from 0 to 3600", v);
      return RPCD_EINVAL;
    }
    cfg->heartbeat_s = (unsigned)n;
    break;
  case OPT_COUNT:
    break;
  }
  return RPCD_OK;
}

int rpcd__config_parse(rpcd_config *cfg, int argc, char *const argv[],
                       const char *env_uri, char *err, size_t errlen)
{
  int i;
  int rc;

  memset(cfg, 0, sizeof(*cfg));
  cfg->uri = env_uri && *env_uri ? env_uri : NULL;
  cfg->queue = "rpc_queue";
  cfg->prefetch = 1;
  cfg->log_level = RPCD_LOG_INFO;
  cfg->max_body = RPCD_DEFAULT_MAX_BODY;
  cfg->heartbeat_s = 60;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    size_t name_len;
    int o;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cfg->help = true;
      return RPCD_OK;
    }
    if (strcmp(arg, "--version") == 0) {
      cfg->version = true;
      return RPCD_OK;
    }
    name_len = strcspn(arg, "=");
    for (o = 0; o < OPT_COUNT; o++) {
      if (strlen(opt_names[o]) == name_len &&
          strncmp(arg, opt_names[o], name_len) == 0)
        break;
    }
    if (o == OPT_COUNT) {
      rpcd__set_err(err, errlen, "unknown argument \"%s\" (see --help)", arg);
      return RPCD_EINVAL;
    }
    if (arg[name_len] == '=') {
      value = arg + name_len + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      rpcd__set_err(err, errlen, "%s needs a value", opt_names[o]);
      return RPCD_EINVAL;
    }
    rc = apply(cfg, (enum opt)o, value, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  }
  if (!cfg->uri) {
    rpcd__set_err(err, errlen, "no broker given: use --uri or set RPCD_URI");
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
}
