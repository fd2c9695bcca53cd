/* SPDX-License-Identifier: MIT */
/*
 * What test_acl.sh cannot do through the SDK: call a method with no
 * user_id, or with a user_id other than the login user's (forged).
 *
 *   acl_raw_call URI QUEUE METHOD [USER_ID]
 *
 * Calls METHOD with no params, waits up to 5 s, and prints "status N" (the
 * reply's x-rpc-status), "no reply", or "refused: ..." when the broker
 * closed the channel over the publish.
 */
#include <stdio.h>
#include <string.h>

#include "rpcd_proto.h"
#include "transport_amqp.h"

int main(int argc, char **argv)
{
  amqp_connection_state_t conn;
  amqp_basic_properties_t props;
  unsigned char body[300];
  struct timeval tv = {5, 0};
  amqp_envelope_t env;
  amqp_rpc_reply_t r;
  const amqp_table_entry_t *st;
  char err[512];
  size_t mlen;
  int64_t status = 0;

  if (argc < 4 || argc > 5 || (mlen = strlen(argv[3])) > 31) {
    fprintf(stderr, "usage: acl_raw_call URI QUEUE METHOD [USER_ID]\n");
    return 2;
  }
  if (rpcd__amqp_connect(argv[1], NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "acl_raw_call: %s\n", err);
    return 1;
  }
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO),
                     amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
  if (rpcd__amqp_last_status(conn, 1, "consume", err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "acl_raw_call: %s\n", err);
    amqp_destroy_connection(conn);
    return 1;
  }
  /* [0, 1, METHOD, []] */
  body[0] = 0x94;
  body[1] = 0x00;
  body[2] = 0x01;
  body[3] = (unsigned char)(0xa0 | mlen);
  memcpy(body + 4, argv[3], mlen);
  body[4 + mlen] = 0x90;
  memset(&props, 0, sizeof(props));
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                 AMQP_BASIC_CORRELATION_ID_FLAG;
  props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
  props.reply_to = amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO);
  props.correlation_id = amqp_cstring_bytes("acl-raw-1");
  if (argc == 5) {
    props._flags |= AMQP_BASIC_USER_ID_FLAG;
    props.user_id = amqp_cstring_bytes(argv[4]);
  }
  if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(argv[2]),
                         0, 0, &props,
                         (amqp_bytes_t){mlen + 5, body}) != AMQP_STATUS_OK) {
    fprintf(stderr, "acl_raw_call: publish failed\n");
    amqp_destroy_connection(conn);
    return 1;
  }
  r = amqp_consume_message(conn, &env, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    amqp_frame_t frame;

    /* A channel.close instead of a delivery: the broker's refusal. */
    if (amqp_simple_wait_frame(conn, &frame) == AMQP_STATUS_OK &&
        frame.frame_type == AMQP_FRAME_METHOD &&
        frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_t *m = frame.payload.method.decoded;

      printf("refused: %u %.*s\n", m->reply_code, (int)m->reply_text.len,
             (const char *)m->reply_text.bytes);
    } else {
      printf("no reply\n");
    }
    /* The channel is gone: drop the connection without a close handshake. */
    amqp_destroy_connection(conn);
    return 0;
  }
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    printf("no reply\n");
    amqp_destroy_connection(conn);
    return 0;
  }
  st = (env.message.properties._flags & AMQP_BASIC_HEADERS_FLAG)
           ? rpcd__amqp_table_get(&env.message.properties.headers,
                                  RPCD_HDR_STATUS)
           : NULL;
  if (st)
    rpcd__amqp_field_int(&st->value, &status);
  printf("status %lld\n", (long long)status);
  amqp_destroy_envelope(&env);
  rpcd__amqp_close(conn, 1);
  return 0;
}
