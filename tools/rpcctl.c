/* SPDX-License-Identifier: MIT */
/*
 * rpcctl: the command-line client of rpcd. It calls a method with params
 * typed as JSON literals and prints the result as JSON (call), lists the
 * methods the servers offer (list) and describes one (describe), checks
 * that a server answers (ping) and measures throughput and latency
 * (bench), all through the client SDK.
 * Everything it prints on success goes to stdout; every failure is one line
 * "rpcctl: ..." on stderr and an exit status that says what kind it was:
 *
 *   0    success
 *   1    remote error: the server answered with an error
 *   2    usage error: bad option, bad JSON argument, an argument a typed
 *        method's descriptor refuses (nothing sent), unknown command, bad
 *        URI or queue name, invalid method name, params the SDK refuses
 *        (RPCD_EINVAL)
 *   3    timed out waiting for a reply
 *   4    no server: the request queue does not exist or nobody consumes it
 *        (RPCD_ENOROUTE, RPCD_ENOCONSUMER)
 *   5    connection failure: the broker cannot be reached, refused the login
 *        or the connection, did not answer within --timeout, or dropped
 *        the connection (RPCD_ECONNECT, RPCD_ECONNLOST, RPCD_EBROKER,
 *        RPCD_ESTATE)
 *   6    malformed reply (RPCD_EPROTO), a reply over --max-reply
 *        (RPCD_ETOOBIG) or another internal failure (out of memory, stdout
 *        not writable)
 *   7    --strict and the result has what JSON cannot hold (NaN or an
 *        infinity, a map key that is not a string, a map key twice, a string
 *        that is not UTF-8); nothing is printed on stdout
 *   130  bench interrupted by SIGINT (after printing what it measured)
 *
 * Without --strict such a result is printed the documented way (null for
 * NaN and infinities, a key's JSON text as the key, U+FFFD for bytes that
 * are not UTF-8) with one warning on stderr per kind of loss.
 *
 * bench exits with the status of its first failed call, 0 when none failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>
#include <rpcd/client.h>
#include <rpcd/version.h>

#include "json_msgpack.h"
#include "rpcctl.h"
#include "rpcd_proto.h"
#include "uri_file.h"
#include "uri_mask.h"

#define DEFAULT_URI "amqp://guest:guest@127.0.0.1:5672"
#define DEFAULT_TIMEOUT_MS 5000u
#define MAX_REPLY_MAX UINT32_MAX /* --max-reply: 4 GiB is plenty for a CLI */

static const char usage_text[] =
    "Usage: rpcctl [OPTION...] COMMAND [ARG...]\n"
    "\n"
    "Call methods of rpcd servers over RabbitMQ.\n"
    "\n"
    "Commands:\n"
    "  call [--named] [--no-check] METHOD [ARG...]\n"
    "        call METHOD with the ARGs as positional params and print the\n"
    "        result as JSON. Each ARG is a JSON literal: 30, '\"text\"',\n"
    "        '[1,2]', '{\"a\":1}'. With --named, the one ARG is a JSON object\n"
    "        sent as named params. For a typed method (see describe) the\n"
    "        ARGs are checked before anything is sent (exit status 2 when\n"
    "        one is refused): an ARG for a str param that is not JSON is the\n"
    "        string itself, a JSON string for a bin param is sent as bin, and\n"
    "        NAME=VALUE gives param NAME by name. --no-check sends the ARGs\n"
    "        as they are\n"
    "  describe [--json] METHOD\n"
    "        print METHOD's signature, its doc, its flags and one line per\n"
    "        param: type, required or optional, range, max length, default\n"
    "        (--json: the whole answer of rpc.describe)\n"
    "  list [--json]\n"
    "        print the methods the servers offer as a table: method,\n"
    "        signature, plugin, version and doc (--json: the whole answer)\n"
    "  stats [--json]\n"
    "        print the server's counters (workers, calls, errors, crashes,\n"
    "        poison, timeouts, reloads, restarts, expired, dropped replies),\n"
    "        then one line per method (calls, errors, in flight, handler\n"
    "        time in us) and one per worker process (pid, generation,\n"
    "        state, calls, errors, started in unix ms); tab-separated\n"
    "        (--json: the whole answer, with each method's calls by code,\n"
    "        histogram and last error)\n"
    "  ping\n"
    "        call rpc.ping and print the answer and the round-trip time\n"
    "  bench [-n CALLS | --duration S] [-c IN_FLIGHT] [--connections K]\n"
    "        [--warmup N] [--json] [--named] METHOD [ARG...]\n"
    "        make CALLS calls (default 10000), or calls for S seconds, with\n"
    "        up to IN_FLIGHT (default 1) in flight on each of K connections\n"
    "        (default 1), after N uncounted ones; print calls, errors by\n"
    "        kind, seconds, calls per second, latency percentiles (p50, p90,\n"
    "        p99, p99.9, max) and a histogram; --json prints one object\n"
    "        (latencies in microseconds). Each latency is its own call's,\n"
    "        from submission to completion\n"
    "  help\n"
    "        print this help\n"
    "\n"
    "Options:\n"
    "  --uri URI     broker to connect to (default: $RPCD_URI, else\n"
    "                " DEFAULT_URI "); its password is\n"
    "                blanked in the command line ps shows (best effort)\n"
    "  --uri-file FILE\n"
    "                read the URI from the first line of FILE, which group\n"
    "                and others must not be able to read or write (chmod\n"
    "                600); not with --uri, wins over $RPCD_URI\n"
    "  --tls-ca FILE  with amqps://: trust broker certificates signed by the\n"
    "                CAs in this PEM file (default: the system's CA store)\n"
    "  --tls-cert FILE, --tls-key FILE\n"
    "                with amqps://: a PEM client certificate and its\n"
    "                unencrypted key (default: in the certificate's file)\n"
    "  --tls-insecure  with amqps://: verify neither the broker's certificate\n"
    "                nor its host name (warns on stderr)\n"
    "  --auth-external  log in as the client certificate's user (SASL\n"
    "                EXTERNAL) instead of the URI's user and password\n"
    "  --queue NAME  request queue (default: " RPCD_DEFAULT_QUEUE ")\n"
    "  --timeout MS  how long to wait for the connection and for each reply\n"
    "                (default: 5000)\n"
    "  --max-reply BYTES\n"
    "                largest reply accepted (default: 1 MiB + 64); a larger\n"
    "                one fails the call with exit status 6\n"
    "  --pretty      indent the JSON that is printed\n"
    "  --strict      fail (exit status 7, nothing printed) when the result\n"
    "                has what JSON cannot hold, instead of a warning\n"
    "  -h, --help    print this help and exit\n"
    "  --version     print the version and exit\n"
    "Options that take a value also accept the form --uri=URI.\n"
    "\n"
    "Exit status:\n"
    "  0    success\n"
    "  1    the server answered with an error\n"
    "  2    usage error: bad option, bad JSON argument, an argument the\n"
    "       method's descriptor refuses, unknown command, bad URI, queue or\n"
    "       method name, a --uri-file refused\n"
    "  3    timed out waiting for a reply\n"
    "  4    no server: the request queue does not exist or has no consumer\n"
    "  5    connection failure: the broker cannot be reached, refused the\n"
    "       login, did not answer within --timeout, or closed the\n"
    "       connection\n"
    "  6    malformed reply, reply over --max-reply, or another internal\n"
    "       failure\n"
    "  7    --strict, and the result has what JSON cannot hold\n"
    "  130  bench interrupted (it still prints what it measured)\n"
    "\n"
    "Results print as JSON: integers exact (uint64 too), bin as base64, ext\n"
    "as {\"ext\": TYPE, \"data\": BASE64}. What JSON cannot hold is printed\n"
    "as close as it can be, with a warning on stderr: NaN and infinities as\n"
    "null, a map key that is not a string as a string of its JSON text (1\n"
    "becomes \"1\"), a key that then appears twice as it is, bytes that are\n"
    "not UTF-8 as U+FFFD.\n";

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

void errorf(const char *fmt, ...)
{
  va_list ap;

  fputs("rpcctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* One line "rpcctl: ..." for bad usage or bad input; `hint` adds a pointer
 * to --help (for flags and commands, not for a bad value). */
static int vusage(bool hint, const char *fmt, va_list ap)
{
  fputs("rpcctl: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs(hint ? " (see \"rpcctl --help\")\n" : "\n", stderr);
  return EXIT_USAGE;
}

int usage_error(const char *fmt, ...)
{
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = vusage(true, fmt, ap);
  va_end(ap);
  return rc;
}

/* Print a bad-input error and return the usage exit status. */
static int input_error(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int input_error(const char *fmt, ...)
{
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = vusage(false, fmt, ap);
  va_end(ap);
  return rc;
}

/*
 * Write s[0..n) so that it stays on one line and keeps tab-separated fields
 * apart: control characters are written as C escapes.
 */
void put_sanitized(FILE *f, const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c == '\n')
      fputs("\\n", f);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c == '\r')
      fputs("\\r", f);
    else if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\x%02x", c);
    else
      fputc(c, f);
  }
}

/* The exit status for an SDK status (see the comment at the top). */
int exit_status(int rc)
{
  switch (rc) {
  case RPCD_OK:
    return 0;
  case RPCD_EREMOTE:
    return EXIT_REMOTE;
  case RPCD_EINVAL:
    return EXIT_USAGE;
  case RPCD_ETIMEDOUT:
    return EXIT_TIMEOUT;
  case RPCD_ENOROUTE:
  case RPCD_ENOCONSUMER:
    return EXIT_NOSERVER;
  case RPCD_ECONNECT:
  case RPCD_ECONNLOST:
  case RPCD_EBROKER:
  case RPCD_ESTATE:
    return EXIT_CONNECT;
  default:
    return EXIT_INTERNAL;
  }
}

/*
 * Report a failed SDK call as "rpcctl: CONTEXT: STATUS TEXT: DETAIL" (the
 * detail from rpcd_client_last_error() when there is one) and return its
 * exit status.
 */
int report_failure(const rpcd_client *client, const char *context, int rc)
{
  const char *text = rpcd_strerror(rc);
  const char *detail = client ? rpcd_client_last_error(client) : "";

  if (detail[0] != '\0' && strcmp(detail, text) != 0)
    errorf("%s: %s: %s", context, text, detail);
  else
    errorf("%s: %s", context, text);
  return exit_status(rc);
}

/* ------------------------------------------------------------------------ */
/* Decoding results                                                          */

/*
 * Decode msgpack bytes (untrusted: they came off the broker) and write them
 * as JSON into out (initialized by the caller); *loss (may be NULL) says
 * what the text could not hold.
 */
static int bytes_to_json(const void *data, size_t len, unsigned flags,
                         rpcd_json_buf *out, rpcd_json_loss *loss, char *err,
                         size_t errlen)
{
  rpcd_mp_doc doc;
  int rc;

  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  rc = rpcd__json_dump_report(out, &doc.root, flags, loss);
  if (rc != RPCD_OK)
    snprintf(err, errlen, "could not write the result as JSON: %s",
             rpcd_strerror(rc));
  rpcd__mp_doc_destroy(&doc);
  return rc;
}

/*
 * Say on stderr what the JSON text of a result could not hold: one warning
 * per kind of loss, or with --strict one line saying why nothing was
 * printed. Returns the exit status this leaves: 0, or EXIT_LOSSY.
 */
static int report_loss(const rpcd_json_loss *loss, bool strict)
{
  char what[4][160];
  const char *printed[4];
  size_t n = 0;
  size_t i;

  if (!rpcd__json_loss_any(loss))
    return 0;
  if (loss->nonfinite == 1)
    snprintf(what[n], sizeof(what[n]), "a NaN/Infinity");
  else if (loss->nonfinite > 1)
    snprintf(what[n], sizeof(what[n]), "%zu NaN/Infinity values",
             loss->nonfinite);
  if (loss->nonfinite > 0)
    printed[n++] = "printed as null";
  if (loss->nonstr_keys == 1)
    snprintf(what[n], sizeof(what[n]), "a map key of type %s", loss->key_type);
  else if (loss->nonstr_keys > 1)
    snprintf(what[n], sizeof(what[n]),
             "%zu map keys that are not strings, the first of type %s",
             loss->nonstr_keys, loss->key_type);
  if (loss->nonstr_keys > 0)
    printed[n++] = "printed as a string of its JSON text";
  if (loss->dup_keys == 1)
    snprintf(what[n], sizeof(what[n]), "duplicate map key %s", loss->dup_key);
  else if (loss->dup_keys > 1)
    snprintf(what[n], sizeof(what[n]), "%zu duplicate map keys, the first %s",
             loss->dup_keys, loss->dup_key);
  if (loss->dup_keys > 0)
    printed[n++] = "JSON readers keep one value per key";
  if (loss->invalid_utf8 == 1)
    snprintf(what[n], sizeof(what[n]), "a string that is not UTF-8");
  else if (loss->invalid_utf8 > 1)
    snprintf(what[n], sizeof(what[n]), "%zu strings that are not UTF-8",
             loss->invalid_utf8);
  if (loss->invalid_utf8 > 0)
    printed[n++] = "bad bytes printed as U+FFFD";

  if (!strict) {
    for (i = 0; i < n; i++)
      errorf("warning: result has %s (%s)", what[i], printed[i]);
    return 0;
  }
  fputs("rpcctl: result not printed (--strict): JSON cannot hold ", stderr);
  for (i = 0; i < n; i++)
    fprintf(stderr, "%s%s", i == 0 ? "" : "; ", what[i]);
  fputc('\n', stderr);
  return EXIT_LOSSY;
}

/* Exit status for a failure to decode or print a reply. */
int report_bad_reply(int rc, const char *err)
{
  if (rc == RPCD_ENOMEM)
    errorf("out of memory");
  else
    errorf("malformed reply: %s", err);
  return EXIT_INTERNAL;
}

/* Print "rpcctl: error CODE (NAME): MESSAGE[ data: JSON]" for an error
 * reply, and return the remote-error exit status. */
int report_remote(const rpcd_reply *reply)
{
  int code = rpcd_reply_error_code(reply);
  const char *message = rpcd_reply_error_message(reply);
  const void *data;
  size_t len;

  fprintf(stderr, "rpcctl: error %d (%s): ", code, rpcd_errcode_name(code));
  put_sanitized(stderr, message, strlen(message));
  if (rpcd_reply_error_data(reply, &data, &len)) {
    rpcd_json_buf out;
    char err[256];

    rpcd__json_buf_init(&out);
    if (bytes_to_json(data, len, 0, &out, NULL, err, sizeof(err)) == RPCD_OK) {
      fputs(" data: ", stderr);
      put_sanitized(stderr, out.data, out.len);
    } else {
      fputs(" data: (malformed)", stderr);
    }
    rpcd__json_buf_destroy(&out);
  }
  fputc('\n', stderr);
  return EXIT_REMOTE;
}

/* Print the reply's result as JSON and a newline, unless --strict finds
 * it lossy. */
int print_result(const rpcd_reply *reply, const options *opt)
{
  const void *data;
  size_t len;
  rpcd_json_buf out;
  rpcd_json_loss loss;
  char err[256];
  int rc;

  rpcd_reply_result(reply, &data, &len);
  rpcd__json_buf_init(&out);
  rc = bytes_to_json(data, len, opt->json_flags, &out, &loss, err, sizeof(err));
  if (rc != RPCD_OK) {
    rpcd__json_buf_destroy(&out);
    return report_bad_reply(rc, err);
  }
  rc = report_loss(&loss, opt->strict);
  if (rc == 0) {
    fwrite(out.data, 1, out.len, stdout);
    fputc('\n', stdout);
  }
  rpcd__json_buf_destroy(&out);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */

/*
 * Match option `name` at argv[*i], as "NAME VALUE" or "NAME=VALUE" (and
 * "-nVALUE" for a one-letter option). Returns 1 with *value set, 0 when
 * argv[*i] is another option, -1 when the value is missing.
 */
int option_value(int argc, char **argv, int *i, const char *name,
                 const char **value)
{
  const char *arg = argv[*i];
  size_t n = strlen(name);

  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0') {
    if (n == 2) {
      *value = arg + n;
      return 1;
    }
    return 0;
  }
  if (*i + 1 >= argc)
    return -1;
  (*i)++;
  *value = argv[*i];
  return 1;
}

/* Parse a decimal count in [1, max]. */
bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
  unsigned long v = 0;
  const char *p;

  if (*s == '\0')
    return false;
  for (p = s; *p; p++) {
    unsigned d;

    if (*p < '0' || *p > '9')
      return false;
    d = (unsigned)(*p - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (v == 0)
    return false;
  *out = v;
  return true;
}

bool method_valid(const char *method)
{
  return rpcd__method_name_valid(method, strlen(method));
}

int invalid_method(const char *method)
{
  return input_error("invalid method name \"%s\": expected 1 to %d letters, "
                     "digits, \"_\", \".\" or \"-\"",
                     method, RPCD_MAX_METHOD_LEN);
}

/*
 * Pack the params of call and bench: the JSON literals args[0..n) as an
 * array, or with `named` the one JSON object args[0] as a map.
 */
int pack_params(msgpack_sbuffer *sbuf, bool named, int n, char **args)
{
  msgpack_packer pk;
  char err[512];
  char what[32];
  int rc;
  int i;

  msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
  if (named) {
    if (n != 1)
      return usage_error("--named takes exactly one JSON object after "
                         "METHOD, got %d arguments",
                         n);
    rc = rpcd__json_pack(&pk, args[0], RPCD_JSON_OBJECT_ONLY,
                         "the named params", err, sizeof(err));
    goto out;
  }
  if (msgpack_pack_array(&pk, (size_t)n) != 0) {
    rc = RPCD_ENOMEM;
    snprintf(err, sizeof(err), "out of memory");
    goto out;
  }
  rc = RPCD_OK;
  for (i = 0; i < n; i++) {
    snprintf(what, sizeof(what), "argument %d", i + 1);
    rc = rpcd__json_pack(&pk, args[i], 0, what, err, sizeof(err));
    if (rc != RPCD_OK)
      break;
  }

out:
  if (rc == RPCD_EINVAL)
    return input_error("%s", err);
  if (rc != RPCD_OK) {
    errorf("%s", err);
    return EXIT_INTERNAL;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                                */

int client_open(const options *opt, rpcd_client **out)
{
  rpcd_client *c;
  char uri[512];
  int rc;

  *out = NULL;
  rc = rpcd_client_new(&c);
  if (rc != RPCD_OK) {
    errorf("could not create a client: %s", rpcd_strerror(rc));
    return exit_status(rc);
  }
  rc = rpcd_client_set_queue(c, opt->queue);
  if (rc == RPCD_EINVAL) {
    rpcd_client_free(c);
    return input_error("invalid queue name \"%s\": expected 1 to 255 bytes",
                       opt->queue);
  }
  if (rc == RPCD_OK)
    rc = rpcd_client_set_timeout(c, opt->timeout_ms);
  /* --timeout bounds the connect too, not only each reply. */
  if (rc == RPCD_OK)
    rc = rpcd_client_set_connect_timeout(c, opt->timeout_ms);
  if (rc == RPCD_OK && opt->max_reply > 0)
    rc = rpcd_client_set_max_reply(c, opt->max_reply);
  if (rc != RPCD_OK) {
    rc = report_failure(c, "could not set up the client", rc);
    goto out_free;
  }
  if (opt->tls_ca || opt->tls_cert || opt->tls_key || opt->tls_flags) {
    rc = rpcd_client_set_tls(c, opt->tls_ca, opt->tls_cert, opt->tls_key,
                             opt->tls_flags);
    if (rc == RPCD_EINVAL) {
      rc = input_error("%s", rpcd_client_last_error(c));
      goto out_free;
    }
    if (rc != RPCD_OK) {
      rc = report_failure(c, "could not set up TLS", rc);
      goto out_free;
    }
    if (opt->tls_flags & RPCD_TLS_INSECURE)
      errorf("warning: --tls-insecure: the broker's certificate and host "
             "name are not checked; anyone on the way can read and change "
             "the traffic");
  }
  rc = rpcd_client_connect(c, opt->uri);
  if (rc != RPCD_OK) {
    /* The URI may hold a password: only ever print it masked. The SDK's
     * messages mask it too. */
    rpcd__uri_mask(opt->uri, uri, sizeof(uri));
    if (rc == RPCD_EINVAL) {
      const char *detail = rpcd_client_last_error(c);

      /* The detail names the (masked) URI itself. */
      if (detail[0])
        rc = input_error("%s", detail);
      else
        rc = input_error("invalid URI \"%s\"", uri);
    } else {
      rc = report_failure(c, uri, rc);
    }
    goto out_free;
  }
  *out = c;
  return 0;

out_free:
  rpcd_client_free(c);
  return rc;
}

double now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------ */
/* call                                                                      */

static int cmd_call(const options *opt, int argc, char **argv)
{
  msgpack_sbuffer params;
  rpcd_client *client = NULL;
  rpcd_reply *reply = NULL;
  const char *method;
  char context[300];
  bool named = false;
  bool no_check = false;
  int i = 0;
  int rc;

  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--named") == 0)
      named = true;
    else if (strcmp(argv[i], "--no-check") == 0)
      no_check = true;
    else
      return usage_error("unknown option \"%s\" for \"call\"", argv[i]);
  }
  if (i >= argc)
    return usage_error("call: missing METHOD");
  method = argv[i++];
  if (!method_valid(method))
    return invalid_method(method);
  if (named && argc - i != 1)
    return usage_error("--named takes exactly one JSON object after METHOD, "
                       "got %d arguments",
                       argc - i);

  msgpack_sbuffer_init(&params);
  /* Unchecked ARGs are known good or bad before connecting. */
  if (no_check) {
    rc = pack_params(&params, named, argc - i, argv + i);
    if (rc != 0)
      goto out_params;
  }
  rc = client_open(opt, &client);
  if (rc != 0)
    goto out_params;
  if (!no_check) {
    rc = pack_call_params(opt, client, method, false, named, argc - i, argv + i,
                          &params);
    if (rc != 0) {
      rpcd_client_free(client);
      goto out_params;
    }
  }

  rc = rpcd_client_call(client, method, params.data, params.size,
                        opt->timeout_ms, &reply, 0);
  if (rc == RPCD_OK) {
    rc = print_result(reply, opt);
  } else if (rc == RPCD_EREMOTE) {
    rc = report_remote(reply);
  } else {
    snprintf(context, sizeof(context), "call \"%s\"", method);
    rc = report_failure(client, context, rc);
  }
  rpcd_reply_free(reply);
  rpcd_client_free(client);
out_params:
  msgpack_sbuffer_destroy(&params);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

/* Print one field of a method description: strings as they are (on one
 * line), anything else as JSON, "-" when it is absent. */
static int print_field(const msgpack_object *map, const char *key)
{
  uint32_t i;

  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object_kv *kv = &map->via.map.ptr[i];
    rpcd_json_buf out;
    int rc;

    if (!rpcd__mp_str_eq(&kv->key, key))
      continue;
    if (kv->val.type == MSGPACK_OBJECT_STR) {
      put_sanitized(stdout, kv->val.via.str.ptr, kv->val.via.str.size);
      return RPCD_OK;
    }
    rpcd__json_buf_init(&out);
    rc = rpcd__json_dump(&out, &kv->val, 0);
    if (rc == RPCD_OK)
      put_sanitized(stdout, out.data, out.len);
    rpcd__json_buf_destroy(&out);
    return rc;
  }
  fputc('-', stdout);
  return RPCD_OK;
}

/* Print the fields of each map in `list`, tab-separated, one per line. */
static int print_rows(const msgpack_object *list, const char *const *fields,
                      size_t n_fields, const char *what)
{
  uint32_t i;
  size_t f;
  int rc;

  for (i = 0; i < list->via.array.size; i++) {
    const msgpack_object *m = &list->via.array.ptr[i];

    if (m->type != MSGPACK_OBJECT_MAP)
      return report_bad_reply(RPCD_EPROTO, what);
    for (f = 0; f < n_fields; f++) {
      if (f > 0)
        fputc('\t', stdout);
      rc = print_field(m, fields[f]);
      if (rc != RPCD_OK) {
        errorf("could not print the answer: %s", rpcd_strerror(rc));
        return EXIT_INTERNAL;
      }
    }
    fputc('\n', stdout);
  }
  return 0;
}

/* rpc.stats as two tables: the server's counters, then one line per
 * worker process. */
static int print_stats_table(const rpcd_reply *reply)
{
  static const char *const server_fields[] = {
      "workers",  "calls",   "errors",   "crashes", "poison",
      "timeouts", "reloads", "restarts", "expired", "dropped_replies"};
  static const char *const method_fields[] = {"name", "calls", "errors",
                                              "in_flight", "time_us"};
  static const char *const worker_fields[] = {"pid",   "generation", "state",
                                              "calls", "errors",     "started"};
  const msgpack_object *server = NULL;
  const msgpack_object *workers = NULL;
  const msgpack_object *methods = NULL;
  const void *data;
  size_t len;
  rpcd_mp_doc doc;
  char err[256];
  uint32_t i;
  size_t f;
  int rc;

  rpcd_reply_result(reply, &data, &len);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK)
    return report_bad_reply(rc, err);
  for (i = 0; doc.root.type == MSGPACK_OBJECT_MAP && i < doc.root.via.map.size;
       i++) {
    const msgpack_object_kv *kv = &doc.root.via.map.ptr[i];

    if (rpcd__mp_str_eq(&kv->key, "server"))
      server = &kv->val;
    else if (rpcd__mp_str_eq(&kv->key, "workers"))
      workers = &kv->val;
    else if (rpcd__mp_str_eq(&kv->key, "methods"))
      methods = &kv->val;
  }
  if (!server || server->type != MSGPACK_OBJECT_MAP || !workers ||
      workers->type != MSGPACK_OBJECT_ARRAY) {
    rpcd__mp_doc_destroy(&doc);
    return report_bad_reply(RPCD_EPROTO,
                            "rpc.stats did not answer {server, workers}");
  }
  for (f = 0; f < sizeof(server_fields) / sizeof(server_fields[0]); f++)
    printf("%s%s", f ? "\t" : "", server_fields[f]);
  fputc('\n', stdout);
  for (f = 0; f < sizeof(server_fields) / sizeof(server_fields[0]); f++) {
    if (f > 0)
      fputc('\t', stdout);
    print_field(server, server_fields[f]);
  }
  fputs("\n\n", stdout);
  /* Servers before per-method metrics have no "methods". */
  if (methods && methods->type == MSGPACK_OBJECT_ARRAY) {
    for (f = 0; f < sizeof(method_fields) / sizeof(method_fields[0]); f++)
      printf("%s%s", f ? "\t" : "", f ? method_fields[f] : "method");
    fputc('\n', stdout);
    rc = print_rows(methods, method_fields,
                    sizeof(method_fields) / sizeof(method_fields[0]),
                    "a method of rpc.stats is not a map");
    if (rc != 0) {
      rpcd__mp_doc_destroy(&doc);
      return rc;
    }
    fputc('\n', stdout);
  }
  for (f = 0; f < sizeof(worker_fields) / sizeof(worker_fields[0]); f++)
    printf("%s%s", f ? "\t" : "", worker_fields[f]);
  fputc('\n', stdout);
  rc = print_rows(workers, worker_fields,
                  sizeof(worker_fields) / sizeof(worker_fields[0]),
                  "a worker of rpc.stats is not a map");
  rpcd__mp_doc_destroy(&doc);
  return rc;
}

/* A field of a method's map as it shows in a table cell: a str on one
 * line (control characters escaped), "" when missing or not a str. */
static char *cell_text(const msgpack_object *map, const char *key)
{
  uint32_t i;
  char *buf = NULL;
  size_t len = 0;
  FILE *f;

  f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object_kv *kv = &map->via.map.ptr[i];

    if (rpcd__mp_str_eq(&kv->key, key) && kv->val.type == MSGPACK_OBJECT_STR) {
      put_sanitized(f, kv->val.via.str.ptr, kv->val.via.str.size);
      break;
    }
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Columns a UTF-8 text takes, one per code point. */
static size_t text_width(const char *s)
{
  size_t w = 0;

  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      w++;
  return w;
}

#define LIST_COLUMNS 5

/* rpc.list as a table: a header line, then one line per method, columns
 * aligned (the last, doc, is not padded; no trailing blanks). A field an
 * older server does not send is an empty cell. */
static int print_list_table(const rpcd_reply *reply)
{
  static const char *const heads[LIST_COLUMNS] = {"method", "signature",
                                                  "plugin", "version", "doc"};
  static const char *const keys[LIST_COLUMNS] = {"name", "signature", "plugin",
                                                 "version", "doc"};
  size_t width[LIST_COLUMNS];
  const void *data;
  size_t len;
  rpcd_mp_doc doc;
  char err[256];
  char **cells = NULL;
  uint32_t rows = 0;
  uint32_t r;
  size_t c;
  int rc;

  rpcd_reply_result(reply, &data, &len);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK)
    return report_bad_reply(rc, err);
  if (doc.root.type != MSGPACK_OBJECT_ARRAY) {
    rc = report_bad_reply(RPCD_EPROTO, "rpc.list did not answer an array");
    goto out;
  }
  rows = doc.root.via.array.size;
  cells = calloc((size_t)rows * LIST_COLUMNS + 1, sizeof(*cells));
  if (!cells) {
    rc = report_bad_reply(RPCD_ENOMEM, "");
    goto out;
  }
  for (c = 0; c < LIST_COLUMNS; c++)
    width[c] = strlen(heads[c]);
  for (r = 0; r < rows; r++) {
    const msgpack_object *m = &doc.root.via.array.ptr[r];

    if (m->type != MSGPACK_OBJECT_MAP) {
      rc = report_bad_reply(RPCD_EPROTO, "an entry of rpc.list is not a map");
      goto out;
    }
    for (c = 0; c < LIST_COLUMNS; c++) {
      char *t = cell_text(m, keys[c]);
      size_t w;

      if (!t) {
        rc = report_bad_reply(RPCD_ENOMEM, "");
        goto out;
      }
      cells[(size_t)r * LIST_COLUMNS + c] = t;
      w = text_width(t);
      if (w > width[c])
        width[c] = w;
    }
  }
  for (r = 0; r <= rows; r++) {
    const char *row[LIST_COLUMNS];
    size_t last = 0;

    for (c = 0; c < LIST_COLUMNS; c++) {
      row[c] = r == 0 ? heads[c] : cells[(size_t)(r - 1) * LIST_COLUMNS + c];
      if (row[c][0] != '\0')
        last = c;
    }
    for (c = 0; c <= last; c++) {
      fputs(row[c], stdout);
      if (c < last)
        printf("%*s", (int)(width[c] - text_width(row[c]) + 2), "");
    }
    fputc('\n', stdout);
  }
  rc = 0;

out:
  if (cells)
    for (r = 0; r < (size_t)rows * LIST_COLUMNS; r++)
      free(cells[r]);
  free(cells);
  rpcd__mp_doc_destroy(&doc);
  return rc;
}

/* list and stats: call a built-in that takes no params and print its
 * answer as a table, or as JSON with --json. */
static int cmd_builtin_table(const options *opt, int argc, char **argv,
                             const char *cmd, const char *method,
                             int (*print_table)(const rpcd_reply *))
{
  rpcd_client *client = NULL;
  rpcd_reply *reply = NULL;
  char what[300];
  bool json = false;
  int i;
  int rc;

  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (argv[i][0] == '-')
      return usage_error("unknown option \"%s\" for \"%s\"", argv[i], cmd);
    else
      return usage_error("%s: unexpected argument \"%s\"", cmd, argv[i]);
  }
  rc = client_open(opt, &client);
  if (rc != 0)
    return rc;
  rc = rpcd_client_call(client, method, NULL, 0, opt->timeout_ms, &reply, 0);
  if (rc == RPCD_OK) {
    rc = json ? print_result(reply, opt) : print_table(reply);
  } else if (rc == RPCD_EREMOTE) {
    rc = report_remote(reply);
  } else {
    snprintf(what, sizeof(what), "call \"%s\"", method);
    rc = report_failure(client, what, rc);
  }
  rpcd_reply_free(reply);
  rpcd_client_free(client);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* ping                                                                      */

static int cmd_ping(const options *opt, int argc, char **argv)
{
  rpcd_client *client = NULL;
  rpcd_reply *reply = NULL;
  const void *data;
  size_t len;
  rpcd_mp_doc doc;
  char err[256];
  double t0;
  double ms;
  int rc;

  if (argc > 0) {
    if (argv[0][0] == '-')
      return usage_error("unknown option \"%s\" for \"ping\"", argv[0]);
    return usage_error("ping: unexpected argument \"%s\"", argv[0]);
  }
  rc = client_open(opt, &client);
  if (rc != 0)
    return rc;
  t0 = now_ms();
  rc =
      rpcd_client_call(client, "rpc.ping", NULL, 0, opt->timeout_ms, &reply, 0);
  ms = now_ms() - t0;
  if (rc == RPCD_EREMOTE) {
    rc = report_remote(reply);
    goto out;
  }
  if (rc != RPCD_OK) {
    rc = report_failure(client, "call \"rpc.ping\"", rc);
    goto out;
  }
  rpcd_reply_result(reply, &data, &len);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK) {
    rc = report_bad_reply(rc, err);
    goto out;
  }
  if (doc.root.type == MSGPACK_OBJECT_STR) {
    put_sanitized(stdout, doc.root.via.str.ptr, doc.root.via.str.size);
  } else {
    rpcd_json_buf out;

    rpcd__json_buf_init(&out);
    rc = rpcd__json_dump(&out, &doc.root, 0);
    if (rc == RPCD_OK)
      fwrite(out.data, 1, out.len, stdout);
    rpcd__json_buf_destroy(&out);
    if (rc != RPCD_OK) {
      rpcd__mp_doc_destroy(&doc);
      rc = report_bad_reply(rc, "could not write the answer as JSON");
      goto out;
    }
  }
  rpcd__mp_doc_destroy(&doc);
  printf(" %.2f ms\n", ms);
  rc = 0;

out:
  rpcd_reply_free(reply);
  rpcd_client_free(client);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */

/* The URI main() copied out of argv or read from --uri-file (owned; a
 * static, so that an early exit leaves it reachable, not leaked). */
static char *owned_uri;

int main(int argc, char **argv)
{
  options opt;
  const char *uri_file = NULL;
  bool uri_flag = false;
  char err[512];
  char shown[256]; /* an argument in a message, its password masked */
  const char *env;
  const char *v;
  const char *cmd;
  unsigned long timeout;
  int i;
  int r;
  int rc;

  env = getenv("RPCD_URI");
  opt.uri = env && env[0] != '\0' ? env : DEFAULT_URI;
  opt.queue = RPCD_DEFAULT_QUEUE;
  opt.timeout_ms = DEFAULT_TIMEOUT_MS;
  opt.max_reply = 0;
  opt.json_flags = 0;
  opt.strict = false;
  opt.tls_ca = NULL;
  opt.tls_cert = NULL;
  opt.tls_key = NULL;
  opt.tls_flags = 0;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0')
      break;
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      fputs(usage_text, stdout);
      return fflush(stdout) == 0 ? 0 : EXIT_INTERNAL;
    }
    if (strcmp(arg, "--version") == 0) {
      printf("rpcctl %s\n", RPCD_VERSION_STRING);
      return fflush(stdout) == 0 ? 0 : EXIT_INTERNAL;
    }
    if (strcmp(arg, "--pretty") == 0) {
      opt.json_flags |= RPCD_JSON_PRETTY;
      continue;
    }
    if (strcmp(arg, "--strict") == 0) {
      opt.strict = true;
      continue;
    }
    r = option_value(argc, argv, &i, "--uri", &v);
    if (r > 0) {
      /* Used from a copy; argv keeps the URI with its password blanked,
       * so that ps no longer shows it. */
      free(owned_uri);
      owned_uri = strdup(v);
      if (!owned_uri) {
        errorf("out of memory");
        return EXIT_INTERNAL;
      }
      rpcd__uri_blank_password(argv[i] + (v - argv[i]));
      opt.uri = owned_uri;
      uri_flag = true;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--uri-file", &v);
    if (r > 0) {
      uri_file = v;
      continue;
    }
    if (strcmp(arg, "--tls-insecure") == 0) {
      opt.tls_flags |= RPCD_TLS_INSECURE;
      continue;
    }
    if (strcmp(arg, "--auth-external") == 0) {
      opt.tls_flags |= RPCD_TLS_EXTERNAL;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--tls-ca", &v);
    if (r > 0) {
      opt.tls_ca = v;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--tls-cert", &v);
    if (r > 0) {
      opt.tls_cert = v;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--tls-key", &v);
    if (r > 0) {
      opt.tls_key = v;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--queue", &v);
    if (r > 0) {
      opt.queue = v;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--timeout", &v);
    if (r > 0) {
      if (!parse_count(v, UINT32_MAX, &timeout))
        return usage_error("--timeout takes milliseconds from 1 to %" PRIu32
                           ", not \"%s\"",
                           UINT32_MAX, v);
      opt.timeout_ms = (unsigned)timeout;
      continue;
    }
    if (r == 0)
      r = option_value(argc, argv, &i, "--max-reply", &v);
    if (r > 0) {
      unsigned long bytes;

      if (!parse_count(v, MAX_REPLY_MAX, &bytes))
        return usage_error("--max-reply takes bytes from 1 to %" PRIu32
                           ", not \"%s\"",
                           MAX_REPLY_MAX, v);
      opt.max_reply = (size_t)bytes;
      continue;
    }
    if (r < 0)
      return usage_error("option \"%s\" needs a value", arg);
    /* Masked: "--ur=amqp://u:pass@h" or a URI without its --uri. */
    rpcd__uri_mask(arg, shown, sizeof(shown));
    return usage_error("unknown option \"%s\"", shown);
  }
  if (uri_flag && uri_file)
    return usage_error("--uri and --uri-file: give only one of them");
  if (uri_file) {
    free(owned_uri);
    r = rpcd__uri_file_read(uri_file, &owned_uri, err, sizeof(err));
    if (r == RPCD_ENOMEM) {
      errorf("out of memory");
      return EXIT_INTERNAL;
    }
    if (r != RPCD_OK)
      return input_error("%s", err);
    opt.uri = owned_uri;
  }
  if (i >= argc)
    return usage_error("missing command");
  cmd = argv[i++];

  if (strcmp(cmd, "call") == 0) {
    rc = cmd_call(&opt, argc - i, argv + i);
  } else if (strcmp(cmd, "describe") == 0) {
    rc = cmd_describe(&opt, argc - i, argv + i);
  } else if (strcmp(cmd, "list") == 0) {
    rc = cmd_builtin_table(&opt, argc - i, argv + i, "list", "rpc.list",
                           print_list_table);
  } else if (strcmp(cmd, "stats") == 0) {
    rc = cmd_builtin_table(&opt, argc - i, argv + i, "stats", "rpc.stats",
                           print_stats_table);
  } else if (strcmp(cmd, "ping") == 0) {
    rc = cmd_ping(&opt, argc - i, argv + i);
  } else if (strcmp(cmd, "bench") == 0) {
    rc = cmd_bench(&opt, argc - i, argv + i);
  } else if (strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    rc = 0;
  } else {
    rpcd__uri_mask(cmd, shown, sizeof(shown));
    return usage_error("unknown command \"%s\"", shown);
  }

  /* output that cannot be written (full disk, closed pipe) is a failure */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    errorf("could not write to standard output: %s", strerror(errno));
    if (rc == 0)
      rc = EXIT_INTERNAL;
  }
  free(owned_uri);
  return rc;
}
