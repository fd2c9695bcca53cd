/* SPDX-License-Identifier: MIT */
/*
 * Replies handed to SDK users. A decoded reply body only holds views into
 * the AMQP message, which rabbitmq-c frees as soon as the next frame is
 * read, so an rpcd_reply owns a copy of everything: the result and the
 * error data re-packed into buffers of its own, and the error message as a
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

/* Pack one object into a fresh malloc'ed buffer. */
static int repack(const msgpack_object *o, void **data, size_t *len)
{
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
  int rc;

  msgpack_sbuffer_init(&sbuf);
  msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
  rc = msgpack_pack_object(&pk, *o);
  if (rc != 0 || sbuf.size == 0) {
    msgpack_sbuffer_destroy(&sbuf);
    return RPCD_ENOMEM;
  }
  *len = sbuf.size;
  *data = msgpack_sbuffer_release(&sbuf);
  return RPCD_OK;
}

int rpcd__reply_from_view(const rpcd_reply_view *view, rpcd_reply **out)
{
  rpcd_reply *r;
  size_t msg_len;
  int rc;

  *out = NULL;
  r = calloc(1, sizeof(*r));
  if (!r)
    return RPCD_ENOMEM;
  r->has_msgid = view->has_msgid;
  r->msgid = view->msgid;
  r->error_code = view->error_code;

  msg_len = view->message ? view->message_len : 0;
  r->message = malloc(msg_len + 1);
  if (!r->message) {
    rc = RPCD_ENOMEM;
    goto out_free;
  }
  if (msg_len)
    memcpy(r->message, view->message, msg_len);
  r->message[msg_len] = '\0';

  if (view->result) {
    rc = repack(view->result, &r->result, &r->result_len);
  } else {
    msgpack_object nil;

    memset(&nil, 0, sizeof(nil));
    nil.type = MSGPACK_OBJECT_NIL;
    rc = repack(&nil, &r->result, &r->result_len);
  }
  if (rc != RPCD_OK)
    goto out_free;

  if (view->error_data) {
    rc = repack(view->error_data, &r->error_data, &r->error_data_len);
    if (rc != RPCD_OK)
      goto out_free;
  }
  *out = r;
  return RPCD_OK;

out_free:
  rpcd_reply_free(r);
  return rc;
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
  if (!reply)
    return;
  free(reply->message);
  free(reply->result);
  free(reply->error_data);
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
