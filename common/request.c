/* SPDX-License-Identifier: MIT */
/*
 * Request bodies in msgpack-RPC framing: [0, msgid, method, params] and the
 * notification [2, method, params]. Decoding applies the checks of
 * docs/PROTOCOL.md in its order (size, then msgpack limits, then shape) and
 * says which wire error to answer; encoding is what the SDK sends.
 */
#include "rpcd_proto.h"

#include <string.h>

bool rpcd__method_name_valid(const char *name, size_t len)
{
  size_t i;

  if (len == 0 || len > RPCD_MAX_METHOD_LEN)
    return false;
  for (i = 0; i < len; i++) {
    char c = name[i];

    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

/* Best effort: read the msgid of a request array so that even an invalid
 * request's error reply can echo it. */
static void salvage_msgid(const msgpack_object *root, rpcd_request *req)
{
  const msgpack_object *a;

  if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2)
    return;
  a = root->via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return;
  if (a[0].via.u64 == RPCD_MSG_NOTIFY) {
    req->type = RPCD_MSG_NOTIFY;
    return;
  }
  if (a[0].via.u64 == RPCD_MSG_REQUEST &&
      a[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      a[1].via.u64 <= UINT32_MAX) {
    req->has_msgid = true;
    req->msgid = (uint32_t)a[1].via.u64;
  }
}

int rpcd__request_decode(const void *body, size_t len, size_t max_body,
                         rpcd_request *req, char *err, size_t errlen)
{
  const msgpack_object *root;
  const msgpack_object *a;
  const msgpack_object *method;
  const msgpack_object *params;
  int rc;

  memset(req, 0, sizeof(*req));
  req->type = RPCD_MSG_REQUEST;
  if (len > max_body) {
    rpcd__set_err(err, errlen,
                  "request body of %zu bytes exceeds the limit "
                  "of %zu bytes",
                  len, max_body);
    return RPCD_ERR_PAYLOAD_TOO_LARGE;
  }
  rc = rpcd__mp_decode(body, len, RPCD_MAX_DEPTH, &req->doc, err, errlen);
  if (rc == RPCD_ENOMEM)
    return RPCD_ERR_INTERNAL;
  if (rc != RPCD_OK)
    return RPCD_ERR_PARSE;

  root = &req->doc.root;
  salvage_msgid(root, req);
  if (root->type != MSGPACK_OBJECT_ARRAY) {
    rpcd__set_err(err, errlen,
                  "request must be a msgpack array, "
                  "[0, msgid, method, params] or [2, method, params]");
    return RPCD_ERR_INVALID_REQUEST;
  }
  a = root->via.array.ptr;
  if (root->via.array.size == 0 ||
      a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      (a[0].via.u64 != RPCD_MSG_REQUEST && a[0].via.u64 != RPCD_MSG_NOTIFY)) {
    rpcd__set_err(err, errlen,
                  "request type must be 0 (request) or 2 "
                  "(notification)");
    return RPCD_ERR_INVALID_REQUEST;
  }
  if (a[0].via.u64 == RPCD_MSG_REQUEST) {
    if (root->via.array.size != 4) {
      rpcd__set_err(err, errlen,
                    "request must have 4 elements, "
                    "[0, msgid, method, params], not %u",
                    (unsigned)root->via.array.size);
      return RPCD_ERR_INVALID_REQUEST;
    }
    if (!req->has_msgid) {
      rpcd__set_err(err, errlen,
                    "msgid must be an integer from 0 to "
                    "4294967295");
      return RPCD_ERR_INVALID_REQUEST;
    }
    method = &a[2];
    params = &a[3];
  } else {
    req->type = RPCD_MSG_NOTIFY;
    if (root->via.array.size != 3) {
      rpcd__set_err(err, errlen,
                    "notification must have 3 elements, "
                    "[2, method, params], not %u",
                    (unsigned)root->via.array.size);
      return RPCD_ERR_INVALID_REQUEST;
    }
    method = &a[1];
    params = &a[2];
  }
  if (method->type != MSGPACK_OBJECT_STR) {
    rpcd__set_err(err, errlen, "method must be a string");
    return RPCD_ERR_INVALID_REQUEST;
  }
  if (!rpcd__method_name_valid(method->via.str.ptr, method->via.str.size)) {
    rpcd__set_err(err, errlen,
                  "method name must be 1 to %d characters of "
                  "[A-Za-z0-9_.-]",
                  RPCD_MAX_METHOD_LEN);
    return RPCD_ERR_INVALID_REQUEST;
  }
  req->method = method->via.str.ptr;
  req->method_len = method->via.str.size;
  if (params->type != MSGPACK_OBJECT_ARRAY &&
      params->type != MSGPACK_OBJECT_MAP) {
    rpcd__set_err(err, errlen, "params must be an array or a map");
    return RPCD_ERR_INVALID_REQUEST;
  }
  req->params = params;
  return 0;
}

void rpcd__request_destroy(rpcd_request *req)
{
  if (req)
    rpcd__mp_doc_destroy(&req->doc);
}

int rpcd__request_encode(msgpack_sbuffer *out, bool notify, uint32_t msgid,
                         const char *method, size_t method_len,
                         const void *params, size_t params_len)
{
  msgpack_packer pk;
  int rc = 0;

  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (notify) {
    rc |= msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_uint8(&pk, RPCD_MSG_NOTIFY);
  } else {
    rc |= msgpack_pack_array(&pk, 4);
    rc |= msgpack_pack_uint8(&pk, RPCD_MSG_REQUEST);
    rc |= msgpack_pack_uint32(&pk, msgid);
  }
  rc |= msgpack_pack_str_with_body(&pk, method, method_len);
  if (params && params_len)
    rc |= msgpack_sbuffer_write(out, params, params_len);
  else
    rc |= msgpack_pack_array(&pk, 0);
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}
