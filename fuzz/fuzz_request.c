/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: request bodies, as the server decodes them off the
 * broker. A body that decodes is encoded again the way the SDK sends it and
 * must decode to the same request: same type, msgid, method and params.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "rpcd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  rpcd_request req;
  rpcd_request again;
  msgpack_sbuffer params;
  msgpack_sbuffer params2;
  msgpack_sbuffer body;
  char err[256];
  int rc;

  err[0] = '\0';
  rc = rpcd__request_decode(data, size, RPCD_DEFAULT_MAX_BODY, &req, err,
                            sizeof(err));
  if (rc != 0) {
    FUZZ_CHECK(rc == RPCD_ERR_PARSE || rc == RPCD_ERR_INVALID_REQUEST ||
               rc == RPCD_ERR_PAYLOAD_TOO_LARGE || rc == RPCD_ERR_INTERNAL);
    FUZZ_CHECK(err[0] != '\0');
    /* a salvaged msgid belongs to a request, never to a notification */
    FUZZ_CHECK(!req.has_msgid || req.type == RPCD_MSG_REQUEST);
    rpcd__request_destroy(&req);
    return 0;
  }
  FUZZ_CHECK(req.type == RPCD_MSG_REQUEST || req.type == RPCD_MSG_NOTIFY);
  FUZZ_CHECK(req.has_msgid == (req.type == RPCD_MSG_REQUEST));
  FUZZ_CHECK(rpcd__method_name_valid(req.method, req.method_len));
  FUZZ_CHECK((const uint8_t *)req.method > data &&
             (const uint8_t *)req.method + req.method_len <= data + size);
  FUZZ_CHECK(req.params != NULL);
  FUZZ_CHECK(req.params->type == MSGPACK_OBJECT_ARRAY ||
             req.params->type == MSGPACK_OBJECT_MAP);

  /* encode it again, as the SDK would, and decode that */
  pack_object(&params, req.params);
  msgpack_sbuffer_init(&body);
  FUZZ_CHECK(rpcd__request_encode(&body, req.type == RPCD_MSG_NOTIFY, req.msgid,
                                  req.method, req.method_len, params.data,
                                  params.size) == RPCD_OK);
  rc = rpcd__request_decode(body.data, body.size, RPCD_DEFAULT_MAX_BODY, &again,
                            err, sizeof(err));
  if (rc != 0)
    fprintf(stderr, "re-encoded request rejected: %d %s\n", rc, err);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(again.type == req.type);
  FUZZ_CHECK(again.has_msgid == req.has_msgid);
  FUZZ_CHECK(again.msgid == req.msgid);
  FUZZ_CHECK(again.method_len == req.method_len);
  FUZZ_CHECK(memcmp(again.method, req.method, req.method_len) == 0);
  pack_object(&params2, again.params);
  FUZZ_CHECK(params2.size == params.size);
  FUZZ_CHECK(memcmp(params2.data, params.data, params.size) == 0);
  /* the canonical encoding is never longer than what came in */
  FUZZ_CHECK(body.size <= size);

  msgpack_sbuffer_destroy(&params2);
  rpcd__request_destroy(&again);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&params);
  rpcd__request_destroy(&req);
  return 0;
}
