/* SPDX-License-Identifier: MIT */
/*
 * rpcctl describe METHOD, and what call does with the same answer: fetch
 * rpc.describe METHOD and check the ARGs of a typed method before sending
 * them (tools/typed_args.h). A server without rpc.describe, or an untyped
 * method, gets the ARGs unchecked, as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <rpcd/client.h>

#include "json_msgpack.h"
#include "rpcctl.h"
#include "rpcd_proto.h"
#include "typed_args.h"

/*
 * Call rpc.describe METHOD. A --max-reply below the default does not apply
 * to it (it bounds the results of the user's calls, not the descriptor).
 * *reply is set on RPCD_OK and RPCD_EREMOTE.
 */
static int describe_call(const options *opt, rpcd_client *client,
                         const char *method, rpcd_reply **reply)
{
  msgpack_sbuffer params;
  msgpack_packer pk;
  size_t n = strlen(method);
  bool lowered = opt->max_reply > 0 && opt->max_reply < RPCD_DEFAULT_MAX_REPLY;
  int rc;

  *reply = NULL;
  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  if (msgpack_pack_array(&pk, 1) != 0 || msgpack_pack_str(&pk, n) != 0 ||
      msgpack_pack_str_body(&pk, method, n) != 0) {
    msgpack_sbuffer_destroy(&params);
    return RPCD_ENOMEM;
  }
  if (lowered)
    rpcd_client_set_max_reply(client, RPCD_DEFAULT_MAX_REPLY);
  rc = rpcd_client_call(client, "rpc.describe", params.data, params.size,
                        opt->timeout_ms, reply, 0);
  if (lowered)
    rpcd_client_set_max_reply(client, opt->max_reply);
  msgpack_sbuffer_destroy(&params);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* call                                                                      */

int pack_call_params(const options *opt, rpcd_client *client,
                     const char *method, bool no_check, bool named, int n,
                     char **args, msgpack_sbuffer *sbuf)
{
  rpcd_reply *reply = NULL;
  rpcd_ctl_desc desc;
  rpcd_mp_doc doc;
  msgpack_packer pk;
  const void *data;
  size_t len;
  char context[300];
  char err[1024];
  int rc;

  if (no_check)
    return pack_params(sbuf, named, n, args);
  rc = describe_call(opt, client, method, &reply);
  if (rc != RPCD_OK) {
    rpcd_reply_free(reply);
    /* RPCD_EREMOTE: a server without rpc.describe, or no such method (the
     * call gets the server's own answer); a descriptor too big or
     * malformed: send unchecked too. */
    if (rc == RPCD_EREMOTE || rc == RPCD_ETOOBIG || rc == RPCD_EPROTO)
      return pack_params(sbuf, named, n, args);
    snprintf(context, sizeof(context), "describe \"%s\"", method);
    return report_failure(client, context, rc);
  }
  rpcd_reply_result(reply, &data, &len);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK) {
    rpcd_reply_free(reply);
    if (rc == RPCD_ENOMEM)
      return report_bad_reply(rc, err);
    return pack_params(sbuf, named, n, args);
  }
  rc = rpcd__ctl_desc_read(&desc, &doc.root, err, sizeof(err));
  if (rc == RPCD_OK && desc.spec.typed) {
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    rc = rpcd__ctl_args_pack(&pk, &desc, named, n, args, err, sizeof(err));
    if (rc == RPCD_EINVAL) {
      errorf("%s", err);
      rc = EXIT_USAGE;
    } else if (rc != RPCD_OK) {
      errorf("%s", err);
      rc = EXIT_INTERNAL;
    }
  } else if (rc == RPCD_ENOMEM) {
    rc = report_bad_reply(rc, err);
  } else {
    rc = pack_params(sbuf, named, n, args);
  }
  rpcd__ctl_desc_free(&desc);
  rpcd__mp_doc_destroy(&doc);
  rpcd_reply_free(reply);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* describe                                                                  */

static const msgpack_object *field(const msgpack_object *map, const char *key)
{
  uint32_t i;

  for (i = 0; i < map->via.map.size; i++)
    if (rpcd__mp_str_eq(&map->via.map.ptr[i].key, key))
      return &map->via.map.ptr[i].val;
  return NULL;
}

/* A str field on one line; nothing when it is missing or not a str. */
static void put_str_field(const msgpack_object *map, const char *key)
{
  const msgpack_object *v = field(map, key);

  if (v && v->type == MSGPACK_OBJECT_STR)
    put_sanitized(stdout, v->via.str.ptr, v->via.str.size);
  fputc('\n', stdout);
}

/*
 * The signature line, the doc line (empty when there is none), "flags: A,
 * B" when there are any, and one line per param:
 *   param NAME: TYPE, required|optional[, range MIN..MAX][, max length N]
 *               [, default JSON]
 */
static int print_description(const rpcd_reply *reply)
{
  const msgpack_object *flags;
  const msgpack_object *typed;
  rpcd_ctl_desc desc;
  rpcd_mp_doc doc;
  const void *data;
  size_t len;
  char err[512];
  char line[512];
  uint32_t i, p;
  int rc;

  rpcd_reply_result(reply, &data, &len);
  rc = rpcd__mp_decode(data, len, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  if (rc != RPCD_OK)
    return report_bad_reply(rc, err);
  if (doc.root.type != MSGPACK_OBJECT_MAP) {
    rpcd__mp_doc_destroy(&doc);
    return report_bad_reply(RPCD_EPROTO, "rpc.describe did not answer a map");
  }
  rc = rpcd__ctl_desc_read(&desc, &doc.root, err, sizeof(err));
  if (rc != RPCD_OK) {
    rpcd__mp_doc_destroy(&doc);
    return report_bad_reply(rc, err);
  }
  put_str_field(&doc.root, "signature");
  put_str_field(&doc.root, "doc");
  flags = field(&doc.root, "flags");
  if (flags && flags->type == MSGPACK_OBJECT_ARRAY &&
      flags->via.array.size > 0) {
    fputs("flags:", stdout);
    for (i = 0; i < flags->via.array.size; i++) {
      const msgpack_object *f = &flags->via.array.ptr[i];

      fputs(i ? ", " : " ", stdout);
      if (f->type == MSGPACK_OBJECT_STR)
        put_sanitized(stdout, f->via.str.ptr, f->via.str.size);
    }
    fputc('\n', stdout);
  }
  typed = field(&doc.root, "typed");
  if (typed && typed->type == MSGPACK_OBJECT_BOOLEAN && !typed->via.boolean)
    fputs("params: not checked (untyped method)\n", stdout);
  for (p = 0; p < desc.spec.nparams; p++) {
    const char *name = desc.info[p].name;

    rpcd__ctl_param_text(&desc, p, line, sizeof(line));
    fputs("param ", stdout);
    put_sanitized(stdout, name, strlen(name));
    fputs(": ", stdout);
    put_sanitized(stdout, line, strlen(line));
    fputc('\n', stdout);
  }
  rpcd__ctl_desc_free(&desc);
  rpcd__mp_doc_destroy(&doc);
  return 0;
}

/* An error answer to rpc.describe: no such method, or a server that does
 * not describe methods; anything else as any remote error. */
static int report_describe_error(const rpcd_reply *reply, const char *method)
{
  int code = rpcd_reply_error_code(reply);
  const char *message = rpcd_reply_error_message(reply);

  if (code == RPCD_ERR_INVALID_PARAMS && strstr(message, "no method")) {
    errorf("describe: no method \"%s\" on the server", method);
    return EXIT_REMOTE;
  }
  if (code == RPCD_ERR_METHOD_NOT_FOUND) {
    errorf("describe: the server does not describe methods (it has no "
           "rpc.describe)");
    return EXIT_REMOTE;
  }
  return report_remote(reply);
}

int cmd_describe(const options *opt, int argc, char **argv)
{
  rpcd_client *client = NULL;
  rpcd_reply *reply = NULL;
  const char *method = NULL;
  char context[300];
  bool json = false;
  int i;
  int rc;

  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (argv[i][0] == '-' && argv[i][1] != '\0')
      return usage_error("unknown option \"%s\" for \"describe\"", argv[i]);
    else if (method)
      return usage_error("describe: unexpected argument \"%s\"", argv[i]);
    else
      method = argv[i];
  }
  if (!method)
    return usage_error("describe: missing METHOD");
  if (!method_valid(method))
    return invalid_method(method);
  rc = client_open(opt, &client);
  if (rc != 0)
    return rc;
  rc = describe_call(opt, client, method, &reply);
  if (rc == RPCD_OK) {
    rc = json ? print_result(reply, opt) : print_description(reply);
  } else if (rc == RPCD_EREMOTE) {
    rc = report_describe_error(reply, method);
  } else {
    snprintf(context, sizeof(context), "describe \"%s\"", method);
    rc = report_failure(client, context, rc);
  }
  rpcd_reply_free(reply);
  rpcd_client_free(client);
  return rc;
}
