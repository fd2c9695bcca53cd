/* SPDX-License-Identifier: MIT */
/*
 * The server's command line and --config file: parsed and validated into
 * rpcd_config, with no side effects beyond reading the config file, so
 * that every flag and every bad value is unit-tested.
 */
#ifndef RPCD_CONFIG_H
#define RPCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "inflight.h"
#include "transport_tls.h"

/*
 * The flags: the one list from which config.c generates the getopt_long
 * option table, the short-option string, the names in error messages and
 * the --help text. Adding a flag is a row here, a field in rpcd_config, a
 * default in rpcd__config_parse() and a case in config.c's apply().
 *
 *   X(ID, NAME, SHORT, HAS_ARG, METAVAR, HELP)
 *
 * ID       suffix of the private enum constant (FLAG_<ID>)
 * NAME     the long name, without "--"
 * SHORT    a short option character, or 0 for none
 * HAS_ARG  no_argument or required_argument (<getopt.h>; the macro is only
 *          expanded where that header is included)
 * METAVAR  the value's name in --help ("" for no_argument)
 * HELP     one line of help; --help word-wraps it
 */
#define RPCD_FLAGS(X)                                                          \
  X(CONFIG, "config", 0, required_argument, "FILE",                            \
    "read settings from FILE, one \"key = value\" a line, the keys the long "  \
    "flags' names (see examples/rpcd.conf); a flag given on the command line " \
    "wins over the file, and for plugin and max-in-flight replaces all of "    \
    "the file's lines")                                                        \
  X(URI, "uri", 0, required_argument, "URI",                                   \
    "broker, amqp://user:pass@host:port[/vhost] (default: $RPCD_URI); "        \
    "its password is blanked in the command line ps shows, best effort")       \
  X(URI_FILE, "uri-file", 0, required_argument, "FILE",                        \
    "read the broker URI from the first line of FILE, which group and "        \
    "others must not be able to read or write (chmod 600); not with --uri, "   \
    "wins over $RPCD_URI")                                                     \
  X(QUEUE, "queue", 0, required_argument, "NAME",                              \
    "request queue, declared durable (default: rpc_queue)")                    \
  X(QUEUE_TYPE, "queue-type", 0, required_argument, "TYPE",                    \
    "type of the request queue, classic or quorum (default: classic)")         \
  X(PLUGIN, "plugin", 0, required_argument, "FILE",                            \
    "load a plugin (.so); may be repeated")                                    \
  X(PLUGIN_DIR, "plugin-dir", 0, required_argument, "DIR",                     \
    "load every *.so in DIR, in name order")                                   \
  X(SKIP_BAD_PLUGINS, "skip-bad-plugins", 0, no_argument, "",                  \
    "log a refused plugin and start without it (default: a refused plugin "    \
    "stops startup)")                                                          \
  X(ACL, "acl", 0, required_argument, "FILE",                                  \
    "who may call which methods, one \"allow USER PATTERN...\" a line; "       \
    "reloaded on SIGHUP (default: anyone may call anything)")                  \
  X(TLS_CA, "tls-ca", 0, required_argument, "FILE",                            \
    "with amqps://: trust broker certificates signed by the CAs in this PEM "  \
    "file (default: the system's CA store)")                                   \
  X(TLS_CERT, "tls-cert", 0, required_argument, "FILE",                        \
    "with amqps://: present this PEM client certificate (mutual TLS)")         \
  X(TLS_KEY, "tls-key", 0, required_argument, "FILE",                          \
    "the client certificate's unencrypted PEM key (default: in --tls-cert's "  \
    "file)")                                                                   \
  X(TLS_INSECURE, "tls-insecure", 0, no_argument, "",                          \
    "with amqps://: do not verify the broker's certificate or host name; "     \
    "logs a warning at every connect")                                         \
  X(AUTH_EXTERNAL, "auth-external", 0, no_argument, "",                        \
    "log in as the client certificate's user (SASL EXTERNAL) instead of the "  \
    "URI's user and password")                                                 \
  X(WORKERS, "workers", 0, required_argument, "N",                             \
    "worker processes, 1-256 (default: the number of online CPUs)")            \
  X(PREFETCH, "prefetch", 0, required_argument, "N",                           \
    "unacked requests each worker holds at once, 1-65535 (default: 1)")        \
  X(TEXT_METHOD, "text-method", 0, required_argument, "NAME",                  \
    "answer plain-text bodies (no content type or text/plain) by calling "     \
    "NAME with the body")                                                      \
  X(MAX_BODY, "max-body", 0, required_argument, "BYTES",                       \
    "request and result size limit, 64-134217728 (default: 1048576)")          \
  X(HANDLER_TIMEOUT, "handler-timeout", 0, required_argument, "MS",            \
    "longest a handler call may run, 0-86400000, 0 for no limit "              \
    "(default: 0)")                                                            \
  X(MAX_IN_FLIGHT, "max-in-flight", 0, required_argument, "PATTERN=N",         \
    "at most N calls of the methods PATTERN names (fib, kv.* or *) run at "    \
    "once across all workers; more are answered -32002 overloaded; may be "    \
    "repeated, the first match applies")                                       \
  X(MAX_DELIVERIES, "max-deliveries", 0, required_argument, "N",               \
    "deliveries of a request before it is dropped as poison, 1-1000; "         \
    "quorum queues only (default: 3)")                                         \
  X(DRAIN_TIMEOUT, "drain-timeout", 0, required_argument, "MS",                \
    "time workers get to finish on SIGINT or SIGTERM before they are killed, " \
    "0-3600000 (default: 30000)")                                              \
  X(HEARTBEAT, "heartbeat", 0, required_argument, "SECONDS",                   \
    "AMQP heartbeat, 0 to disable (default: 60)")                              \
  X(LOG_LEVEL, "log-level", 0, required_argument, "LEVEL",                     \
    "error, warn, info or debug (default: info)")                              \
  X(LOG, "log", 0, required_argument, "TARGET",                                \
    "where log lines go: stderr, journald or syslog (default: stderr)")        \
  X(METRICS_LISTEN, "metrics-listen", 0, required_argument, "HOST:PORT",       \
    "serve Prometheus metrics and /healthz over HTTP on HOST:PORT (e.g. "      \
    "127.0.0.1:9187)")                                                         \
  X(CHECK_CONFIG, "check-config", 0, no_argument, "",                          \
    "check the flags, the config file, the broker URI and TLS files, the "     \
    "ACL and the plugins (loaded in a child process) without connecting; "     \
    "print \"configuration OK\" and exit 0, or each problem and exit 1")       \
  X(HELP, "help", 'h', no_argument, "", "show this help and exit")             \
  X(VERSION, "version", 0, no_argument, "", "show the version and exit")

typedef enum rpcd_queue_type {
  RPCD_QUEUE_CLASSIC, /* --queue-type classic (the default) */
  RPCD_QUEUE_QUORUM   /* --queue-type quorum */
} rpcd_queue_type;

/* --log */
typedef enum rpcd_log_target {
  RPCD_LOG_TO_STDERR,   /* stderr (the default) */
  RPCD_LOG_TO_JOURNALD, /* journald */
  RPCD_LOG_TO_SYSLOG    /* syslog */
} rpcd_log_target;

/* What a configuration owns and how it was parsed (config.c). */
typedef struct rpcd_config_mem rpcd_config_mem;

/*
 * Every string is borrowed from argv or $RPCD_URI, or points into memory
 * the configuration owns (the --config file's text), so that it lives
 * until rpcd__config_destroy().
 */
typedef struct rpcd_config {
  const char *config_file; /* --config, or NULL */
  const char *uri;         /* --uri, else $RPCD_URI unless --uri-file */
  const char *uri_file;    /* --uri-file, or NULL; main() reads it into uri */
  const char *queue;       /* --queue, default "rpc_queue" */
  const char **plugins;    /* --plugin, in order (malloc'd array) */
  size_t n_plugins;
  const char *plugin_dir; /* --plugin-dir, or NULL */
  bool skip_bad_plugins;  /* --skip-bad-plugins */
  const char *acl;        /* --acl, or NULL */
  /* --tls-ca, --tls-cert, --tls-key, --tls-insecure, --auth-external */
  rpcd_tls_options tls;
  /* --max-in-flight, in order (malloc'd array) */
  rpcd_inflight_rule *in_flight;
  size_t n_in_flight;
  unsigned prefetch;       /* --prefetch, 1..65535, default 1 */
  const char *text_method; /* --text-method, or NULL */
  int log_level;           /* --log-level, an RPCD_LOG_* level */
  size_t max_body;         /* --max-body, 64..134217728, default 1 MiB */
  unsigned heartbeat_s;    /* --heartbeat, 0..3600, default 60 */
  /* --workers, 1..256. Resolved at parse time, so always >= 1: without the
   * flag, the number of online CPUs clamped to 1..256. */
  unsigned workers;
  unsigned drain_timeout_ms;   /* --drain-timeout, 0..3600000, default 30000 */
  unsigned handler_timeout_ms; /* --handler-timeout, 0..86400000; 0 = off */
  rpcd_queue_type queue_type;  /* --queue-type, default RPCD_QUEUE_CLASSIC */
  unsigned max_deliveries;     /* --max-deliveries, 1..1000, default 3 */
  /* --metrics-listen HOST:PORT: HOST an IPv4 address or "localhost" (owned
   * copy), PORT 1..65535; NULL and 0 without the flag. */
  const char *metrics_host;
  unsigned metrics_port;
  int log_target;    /* --log, an rpcd_log_target, default RPCD_LOG_TO_STDERR */
  bool check_config; /* --check-config */
  bool help;         /* --help or -h */
  bool version;      /* --version */
  rpcd_config_mem *mem; /* owned; NULL only in a zeroed or emptied config */
} rpcd_config;

/*
 * Parse argv with getopt_long, then the --config file if one is given.
 * argv is not modified (no permutation: the first non-option argument is
 * an error) and its strings, like env_uri's, are borrowed, as are argv and
 * env_uri themselves, for rpcd__config_reload(). `env_uri` is $RPCD_URI or
 * NULL. Flags are matched in full ("--pref" is not --prefetch); both
 * "--flag value" and "--flag=value" work. --help and --version end the
 * parse at once, ignoring what follows (and the file), unless a problem
 * came before them.
 *
 * The file's keys are the flags' long names, checked by the same code; a
 * flag without a value is "key = true" or "key = false"; only plugin and
 * max-in-flight may be repeated; help, version, config and check-config
 * are not keys. A flag given on the command line wins over the file: the
 * file's lines for that key are ignored, all of them for plugin and
 * max-in-flight, and for uri and uri-file when either flag is given. Then
 * $RPCD_URI, when neither gave a broker. The file must be owned by root or
 * the effective user, not writable by others or by a group other than the
 * effective group, and not readable by group or others when its uri has a
 * password.
 *
 * Every problem is reported, not just the first: err gets one line per
 * problem ('\n' between them), flags first, then the file's lines as
 * "FILE:LINE: reason", then what is missing. Parsing goes on after a bad
 * value, so cfg holds every value that was good; it stops at an unknown
 * argument (what follows it cannot be told apart) or a positional one.
 *
 * Re-entrant in the sense that calls may follow one another (getopt is
 * reset with optind = 0 each time), but NOT thread-safe: it uses getopt's
 * globals (optind, optarg, optopt, opterr; opterr is left 0).
 *
 * \return RPCD_OK (check help/version first), RPCD_EINVAL with the
 *         problems in err, RPCD_ENOMEM. Call rpcd__config_destroy() in
 *         every case.
 */
int rpcd__config_parse(rpcd_config *cfg, int argc, char *const argv[],
                       const char *env_uri, char *err, size_t errlen);

/* Free what cfg owns. cfg's strings from the config file die with it. */
void rpcd__config_destroy(rpcd_config *cfg);

/*
 * SIGHUP, first half: parse the same argv and $RPCD_URI as `cur` was
 * parsed from, and read its --config file again, into *next. *next takes
 * the new values of the settings a reload can change (plugin, plugin-dir,
 * skip-bad-plugins, acl, text-method, max-body, handler-timeout,
 * max-in-flight, log-level, drain-timeout: see rpcd__config_reloadable())
 * and keeps cur's values of all the others, which take a restart, so that
 * *next is a whole configuration to check (the ACL, the plugin set) before
 * committing to it. *next borrows from cur: commit or destroy it before
 * cur is destroyed.
 *
 * \return RPCD_OK with *next set, and err "" or the settings that changed
 *         in the file but take a restart ("FILE:LINE: queue changed; it
 *         takes a restart, the running value stays"); RPCD_EINVAL with the
 *         problems in err, or RPCD_ENOMEM. The lines of err are joined with
 *         "; " (one log line). On failure *next is empty (destroying it is
 *         harmless).
 */
int rpcd__config_reload(const rpcd_config *cur, rpcd_config *next, char *err,
                        size_t errlen);

/*
 * SIGHUP, second half: cur takes next's values (its restart-only settings
 * keep their values and their pointers: what was cached from them stays
 * valid) and frees what no longer serves; next is left empty.
 */
void rpcd__config_commit(rpcd_config *cur, rpcd_config *next);

/* Whether the setting `key` (a long flag's name) takes its new value on
 * rpcd__config_reload(); false for those that take a restart, and for
 * names that are not settings. */
bool rpcd__config_reloadable(const char *key);

/*
 * Where cfg got the setting `key` (a long flag's name), for messages:
 * "--uri" from the command line, "FILE:LINE: uri" from the config file,
 * "RPCD_URI" for a uri from the environment, or "--uri" when it is not
 * set. \return buf
 */
const char *rpcd__config_origin(const rpcd_config *cfg, const char *key,
                                char *buf, size_t buflen);

/*
 * The --help text, generated from RPCD_FLAGS on the first call into a
 * static buffer and returned as is afterwards. Not thread-safe on the first
 * call (the server calls it from main() only).
 */
const char *rpcd__usage_text(void);

#endif /* RPCD_CONFIG_H */
