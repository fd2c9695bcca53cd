/* SPDX-License-Identifier: MIT */
/*
 * What rpcctl's commands share (tools/rpcctl.c): the global options, exit
 * statuses, messages, argument parsing and opening a client. Internal to
 * the rpcctl program.
 */
#ifndef RPCCTL_H
#define RPCCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <msgpack.h>
#include <rpcd/client.h>

#define EXIT_REMOTE 1
#define EXIT_USAGE 2
#define EXIT_TIMEOUT 3
#define EXIT_NOSERVER 4
#define EXIT_CONNECT 5
#define EXIT_INTERNAL 6
#define EXIT_LOSSY 7
#define EXIT_INTERRUPTED 130

typedef struct options {
  const char *uri;
  const char *queue;
  unsigned timeout_ms;
  size_t max_reply;    /* 0: the SDK's default */
  unsigned json_flags; /* RPCD_JSON_PRETTY with --pretty */
  bool strict;         /* --strict: a lossy result is a failure */
  /* --tls-ca, --tls-cert, --tls-key (NULL when not given) */
  const char *tls_ca;
  const char *tls_cert;
  const char *tls_key;
  unsigned tls_flags; /* RPCD_TLS_INSECURE, RPCD_TLS_EXTERNAL */
} options;

/* "rpcctl: ..." on stderr. */
void errorf(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Print a usage error and return EXIT_USAGE. */
int usage_error(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The exit status for an SDK status. */
int exit_status(int rc);

/* Write s[0..n) on one line: control characters as C escapes. */
void put_sanitized(FILE *f, const char *s, size_t n);

/* "rpcctl: CONTEXT: STATUS TEXT: DETAIL" for a failed SDK call; returns its
 * exit status. */
int report_failure(const rpcd_client *client, const char *context, int rc);

/* "rpcctl: malformed reply: ERR" (or out of memory); returns EXIT_INTERNAL. */
int report_bad_reply(int rc, const char *err);

/* "rpcctl: error CODE (NAME): MESSAGE" for an error reply; returns
 * EXIT_REMOTE. */
int report_remote(const rpcd_reply *reply);

/* Print the reply's result as JSON (see --pretty and --strict); returns the
 * exit status. */
int print_result(const rpcd_reply *reply, const options *opt);

/* "-n 5" or "-n5"-style option NAME at argv[*i]: 1 and *value when it is
 * (advancing *i past a separate value), 0 when argv[*i] is another option,
 * -1 when its value is missing. */
int option_value(int argc, char **argv, int *i, const char *name,
                 const char **value);

/* A decimal count from 1 to max. */
bool parse_count(const char *s, unsigned long max, unsigned long *out);

bool method_valid(const char *method);
int invalid_method(const char *method);

/* Pack the JSON ARGs (or, named, the one JSON object) as msgpack params. */
int pack_params(msgpack_sbuffer *sbuf, bool named, int n, char **args);

/* Open and connect a client with the options; prints why not and returns
 * an exit status. */
int client_open(const options *opt, rpcd_client **out);

/* A monotonic clock in milliseconds. */
double now_ms(void);

/* The bench command (tools/rpcctl_bench.c). */
int cmd_bench(const options *opt, int argc, char **argv);

/* The describe command (tools/rpcctl_describe.c). */
int cmd_describe(const options *opt, int argc, char **argv);

/*
 * Pack call's params for METHOD: unless no_check, fetch rpc.describe METHOD
 * and, for a typed method, check and convert the ARGs against it
 * (tools/typed_args.h); an untyped method, or a server without
 * rpc.describe, gets the ARGs as pack_params() packs them. Returns 0, or
 * an exit status after printing why (EXIT_USAGE for a refused ARG).
 */
int pack_call_params(const options *opt, rpcd_client *client,
                     const char *method, bool no_check, bool named, int n,
                     char **args, msgpack_sbuffer *sbuf);

#endif /* RPCCTL_H */
