/* SPDX-License-Identifier: MIT */
/*
 * Replies handed to SDK users. A decoded reply body only holds views into
 * the AMQP message, which rabbitmq-c frees as soon as the next frame is
 * read, so an rpcd_reply owns a copy of everything, in one allocation: the
 * result and the error data re-packed, and the error message as a
 * NUL-terminated string. Also the check that a decoded reply answers the
 * request it claims to.
 */
#include "reply_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

/* msgpack's encoding of nil, the result of an error reply. */
static const unsigned char mp_nil[1] = {0xc0};

/* A msgpack_packer target: a buffer sized beforehand (by count_write()),
 * or none, to count. */
typedef struct fixed_buf {
  unsigned char *p;
  size_t len;
  size_t cap;
} fixed_buf;

static int count_write(void *data, const char *buf, size_t len)
{
  fixed_buf *b = data;

  (void)buf;
  b->len += len;
  return 0;
}

static int fixed_write(void *data, const char *buf, size_t len)
{
  fixed_buf *b = data;

  if (len > b->cap - b->len)
    return -1;
  memcpy(b->p + b->len, buf, len);
  b->len += len;
  return 0;
}

/* The bytes msgpack_pack_object() writes for o. */
static size_t packed_size(const msgpack_object *o)
{
  fixed_buf b = {NULL, 0, 0};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &b, count_write);
  msgpack_pack_object(&pk, *o);
  return b.len;
}

/* Pack o into out[0..len), len from packed_size(). */
static int pack_into(const msgpack_object *o, unsigned char *out, size_t len)
{
  fixed_buf b = {out, 0, len};
  msgpack_packer pk;

  msgpack_packer_init(&pk, &b, fixed_write);
  if (msgpack_pack_object(&pk, *o) != 0 || b.len != len)
    return RPCD_ENOMEM;
  return RPCD_OK;
}

int rpcd__reply_from_view(const rpcd_reply_view *view, rpcd_reply **out)
{
  static const msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
  const msgpack_object *result = view->result ? view->result : &nil;
  size_t msg_len = view->message ? view->message_len : 0;
  size_t result_len = packed_size(result);
  size_t data_len = view->error_data ? packed_size(view->error_data) : 0;
  unsigned char *block;
  rpcd_reply *r;
  size_t size = sizeof(*r);

  *out = NULL;
  /* One allocation per reply: the struct, then the result, the error data
   * and the message. Each part is a piece of the body, which is far below
   * SIZE_MAX, so the sum cannot overflow. */
  size += result_len + data_len + msg_len + 1;
  block = malloc(size);
  if (!block)
    return RPCD_ENOMEM;
  r = (rpcd_reply *)(void *)block;
  block += sizeof(*r);
  r->has_msgid = view->has_msgid;
  r->msgid = view->msgid;
  r->error_code = view->error_code;
  r->result = block;
  r->result_len = result_len;
  block += result_len;
  r->error_data = view->error_data ? block : NULL;
  r->error_data_len = data_len;
  block += data_len;
  r->message = (char *)block;
  if (msg_len)
    memcpy(r->message, view->message, msg_len);
  r->message[msg_len] = '\0';
  if (result_len == 0 || pack_into(result, r->result, result_len) != RPCD_OK ||
      (view->error_data &&
       (data_len == 0 ||
        pack_into(view->error_data, r->error_data, data_len) != RPCD_OK))) {
    free(r);
    return RPCD_ENOMEM;
  }
  *out = r;
  return RPCD_OK;
}

int rpcd__reply_check(const rpcd_reply_view *view, uint32_t msgid, char *why,
                      size_t whylen)
{
  if (!view->has_msgid) {
    if (view->error_code != 0)
      return RPCD_OK;
    /* A server that could read the result's request could read its msgid:
     * a success without one answers nobody knows what. */
    rpcd__set_err(why, whylen, "a success reply has a nil msgid");
    return RPCD_EPROTO;
  }
  if (view->msgid != msgid) {
    rpcd__set_err(why, whylen,
                  "msgid %" PRIu32 " does not match the request's %" PRIu32,
                  view->msgid, msgid);
    return RPCD_EPROTO;
  }
  return RPCD_OK;
}

void rpcd_reply_free(rpcd_reply *reply)
{
  /* Its parts live in the same allocation (rpcd__reply_from_view()). */
  free(reply);
}

int rpcd_reply_result(const rpcd_reply *reply, const void **data, size_t *len)
{
  if (!reply || !data || !len)
    return RPCD_EINVAL;
  if (reply->result) {
    *data = reply->result;
    *len = reply->result_len;
  } else {
    *data = mp_nil;
    *len = sizeof(mp_nil);
  }
  return RPCD_OK;
}

int rpcd_reply_error_code(const rpcd_reply *reply)
{
  return reply ? reply->error_code : 0;
}

const char *rpcd_reply_error_message(const rpcd_reply *reply)
{
  return reply && reply->message ? reply->message : "";
}

bool rpcd_reply_error_data(const rpcd_reply *reply, const void **data,
                           size_t *len)
{
  if (!reply || !reply->error_data) {
    if (data)
      *data = NULL;
    if (len)
      *len = 0;
    return false;
  }
  if (data)
    *data = reply->error_data;
  if (len)
    *len = reply->error_data_len;
  return true;
}
