/* SPDX-License-Identifier: MIT */
/*
 * Reply bodies in msgpack-RPC framing: [1, msgid, error, result], with
 * error = nil on success or {"code": int, "message": str, "data": any?}.
 * The server encodes them; the SDK decodes them from untrusted bytes.
 */
#include "rpcd_proto.h"

#include <string.h>

static int pack_head(msgpack_packer *pk, bool has_msgid, uint32_t msgid)
{
  int rc = 0;

  rc |= msgpack_pack_array(pk, 4);
  rc |= msgpack_pack_uint8(pk, RPCD_MSG_REPLY);
  rc |= has_msgid ? msgpack_pack_uint32(pk, msgid) : msgpack_pack_nil(pk);
  return rc;
}

struct fixed_buf {
  unsigned char *p;
  size_t len;
  size_t cap;
};

static int fixed_write(void *data, const char *buf, size_t len)
{
  struct fixed_buf *f = data;

  if (f->cap - f->len < len)
    return -1;
  memcpy(f->p + f->len, buf, len);
  f->len += len;
  return 0;
}

size_t rpcd__reply_result_head(unsigned char head[RPCD_REPLY_HEAD_MAX],
                               bool has_msgid, uint32_t msgid)
{
  struct fixed_buf f = {head, 0, RPCD_REPLY_HEAD_MAX};
  msgpack_packer pk;

  /* At most 1 + 1 + 5 + 1 bytes: the write cannot fail. */
  msgpack_packer_init(&pk, &f, fixed_write);
  pack_head(&pk, has_msgid, msgid);
  msgpack_pack_nil(&pk);
  return f.len;
}

int rpcd__reply_encode_result(msgpack_sbuffer *out, bool has_msgid,
                              uint32_t msgid, const void *result,
                              size_t result_len)
{
  msgpack_packer pk;
  int rc = 0;

  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  rc |= pack_head(&pk, has_msgid, msgid);
  rc |= msgpack_pack_nil(&pk);
  if (result && result_len)
    rc |= msgpack_sbuffer_write(out, result, result_len);
  else
    rc |= msgpack_pack_nil(&pk);
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

int rpcd__reply_encode_error(msgpack_sbuffer *out, bool has_msgid,
                             uint32_t msgid, int code, const char *message)
{
  return rpcd__reply_encode_error_data(out, has_msgid, msgid, code, message,
                                       NULL, 0);
}

int rpcd__reply_encode_error_data(msgpack_sbuffer *out, bool has_msgid,
                                  uint32_t msgid, int code, const char *message,
                                  const void *data, size_t data_len)
{
  msgpack_packer pk;
  int rc = 0;

  if (!message)
    message = "";
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  rc |= pack_head(&pk, has_msgid, msgid);
  rc |= msgpack_pack_map(&pk, data ? 3 : 2);
  rc |= msgpack_pack_str_with_body(&pk, "code", 4);
  rc |= msgpack_pack_int32(&pk, code);
  rc |= msgpack_pack_str_with_body(&pk, "message", 7);
  rc |= msgpack_pack_str_with_body(&pk, message, strlen(message));
  if (data) {
    rc |= msgpack_pack_str_with_body(&pk, "data", 4);
    rc |= msgpack_sbuffer_write(out, data, data_len);
  }
  rc |= msgpack_pack_nil(&pk);
  return rc == 0 ? RPCD_OK : RPCD_ENOMEM;
}

static const msgpack_object nil_object = {.type = MSGPACK_OBJECT_NIL};

/* Read {"code": int, "message": str, "data": any?} into out. */
static int decode_error(const msgpack_object *e, rpcd_reply_view *out,
                        char *err, size_t errlen)
{
  bool has_code = false;
  uint32_t i;

  if (e->type != MSGPACK_OBJECT_MAP) {
    rpcd__set_err(err, errlen, "reply error must be nil or a map");
    return RPCD_EPROTO;
  }
  for (i = 0; i < e->via.map.size; i++) {
    const msgpack_object *k = &e->via.map.ptr[i].key;
    const msgpack_object *v = &e->via.map.ptr[i].val;

    if (rpcd__mp_str_eq(k, "code")) {
      if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
          v->via.i64 >= INT32_MIN) {
        out->error_code = (int)v->via.i64;
      } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                 v->via.u64 <= INT32_MAX) {
        out->error_code = (int)v->via.u64;
      } else {
        rpcd__set_err(err, errlen,
                      "reply error code must be a 32-bit "
                      "integer");
        return RPCD_EPROTO;
      }
      has_code = true;
    } else if (rpcd__mp_str_eq(k, "message")) {
      if (v->type != MSGPACK_OBJECT_STR) {
        rpcd__set_err(err, errlen, "reply error message must be a string");
        return RPCD_EPROTO;
      }
      out->message = v->via.str.ptr;
      out->message_len = v->via.str.size;
    } else if (rpcd__mp_str_eq(k, "data")) {
      out->error_data = v;
    }
  }
  if (!has_code || out->error_code == 0) {
    rpcd__set_err(err, errlen, "reply error must have a non-zero code");
    return RPCD_EPROTO;
  }
  return RPCD_OK;
}

int rpcd__reply_decode(const void *body, size_t len, rpcd_reply_view *out,
                       char *err, size_t errlen)
{
  const msgpack_object *a;
  int rc;

  memset(out, 0, sizeof(*out));
  out->result = &nil_object;
  rc = rpcd__mp_decode(body, len, RPCD_MAX_DEPTH, &out->doc, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  if (out->doc.root.type != MSGPACK_OBJECT_ARRAY ||
      out->doc.root.via.array.size != 4) {
    rpcd__set_err(err, errlen, "reply must be [1, msgid, error, result]");
    return RPCD_EPROTO;
  }
  a = out->doc.root.via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      a[0].via.u64 != RPCD_MSG_REPLY) {
    rpcd__set_err(err, errlen, "reply type must be 1");
    return RPCD_EPROTO;
  }
  if (a[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      a[1].via.u64 <= UINT32_MAX) {
    out->has_msgid = true;
    out->msgid = (uint32_t)a[1].via.u64;
  } else if (a[1].type != MSGPACK_OBJECT_NIL) {
    rpcd__set_err(err, errlen, "reply msgid must be nil or a uint32");
    return RPCD_EPROTO;
  }
  if (a[2].type != MSGPACK_OBJECT_NIL) {
    rc = decode_error(&a[2], out, err, errlen);
    if (rc != RPCD_OK)
      return rc;
  } else {
    out->result = &a[3];
  }
  return RPCD_OK;
}

void rpcd__reply_view_destroy(rpcd_reply_view *view)
{
  if (view)
    rpcd__mp_doc_destroy(&view->doc);
}
