/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: reply bodies, as the SDK decodes them off the broker.
 * A reply that decodes is encoded again with the server's encoders and must
 * decode to the same msgid, error code, message and result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "rpcd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
  const uint8_t *q = p;

  return q >= data && q + n <= data + size;
}

static void check_result(const rpcd_reply_view *v)
{
  msgpack_sbuffer result;
  msgpack_sbuffer result2;
  msgpack_sbuffer body;
  rpcd_reply_view again;

  FUZZ_CHECK(v->message == NULL && v->message_len == 0);
  FUZZ_CHECK(v->error_data == NULL);
  pack_object(&result, v->result);
  msgpack_sbuffer_init(&body);
  FUZZ_CHECK(rpcd__reply_encode_result(&body, v->has_msgid, v->msgid,
                                       result.data, result.size) == RPCD_OK);
  FUZZ_CHECK(rpcd__reply_decode(body.data, body.size, &again, NULL, 0) ==
             RPCD_OK);
  FUZZ_CHECK(again.has_msgid == v->has_msgid);
  FUZZ_CHECK(!v->has_msgid || again.msgid == v->msgid);
  FUZZ_CHECK(again.error_code == 0);
  pack_object(&result2, again.result);
  FUZZ_CHECK(result2.size == result.size);
  FUZZ_CHECK(memcmp(result2.data, result.data, result.size) == 0);
  msgpack_sbuffer_destroy(&result2);
  rpcd__reply_view_destroy(&again);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&result);
}

static void check_error(const rpcd_reply_view *v, const uint8_t *data,
                        size_t size)
{
  msgpack_sbuffer body;
  rpcd_reply_view again;
  char *message;
  size_t n;

  FUZZ_CHECK(v->result != NULL && v->result->type == MSGPACK_OBJECT_NIL);
  FUZZ_CHECK(v->message != NULL || v->message_len == 0);
  if (v->message)
    FUZZ_CHECK(inside(v->message, v->message_len, data, size));

  /* the encoder takes a C string: the message up to its first NUL */
  message = malloc(v->message_len + 1);
  FUZZ_CHECK(message != NULL);
  if (v->message_len)
    memcpy(message, v->message, v->message_len);
  message[v->message_len] = '\0';
  n = strlen(message);
  msgpack_sbuffer_init(&body);
  FUZZ_CHECK(rpcd__reply_encode_error(&body, v->has_msgid, v->msgid,
                                      v->error_code, message) == RPCD_OK);
  FUZZ_CHECK(rpcd__reply_decode(body.data, body.size, &again, NULL, 0) ==
             RPCD_OK);
  FUZZ_CHECK(again.has_msgid == v->has_msgid);
  FUZZ_CHECK(!v->has_msgid || again.msgid == v->msgid);
  FUZZ_CHECK(again.error_code == v->error_code);
  FUZZ_CHECK(again.message_len == n);
  FUZZ_CHECK(n == 0 || memcmp(again.message, message, n) == 0);
  FUZZ_CHECK(again.result->type == MSGPACK_OBJECT_NIL);
  rpcd__reply_view_destroy(&again);
  msgpack_sbuffer_destroy(&body);
  free(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  rpcd_reply_view v;
  char err[256];
  int rc;

  err[0] = '\0';
  rc = rpcd__reply_decode(data, size, &v, err, sizeof(err));
  if (rc != RPCD_OK) {
    FUZZ_CHECK(rc == RPCD_EPROTO || rc == RPCD_ENOMEM);
    FUZZ_CHECK(err[0] != '\0');
    rpcd__reply_view_destroy(&v);
    return 0;
  }
  FUZZ_CHECK(v.result != NULL);
  if (v.error_code == 0)
    check_result(&v);
  else
    check_error(&v, data, size);
  rpcd__reply_view_destroy(&v);
  return 0;
}
