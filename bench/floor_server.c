/* SPDX-License-Identifier: MIT */
/*
 * floor_server: the least an AMQP RPC server can do, written directly on
 * rabbitmq-c: consume QUEUE with a prefetch of 64, publish each body back
 * unchanged to its reply_to with its correlation_id, ack it, one message at
 * a time. No decoding, no dispatch: the floor that rpcd is measured
 * against in the same run (tools/bench.sh).
 *
 *   floor_server URI QUEUE        (until SIGTERM or SIGINT)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/status.h>

#include "transport_amqp.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv)
{
  amqp_connection_state_t conn;
  struct sigaction sa;
  char err[512];

  if (argc != 3) {
    fprintf(stderr, "usage: floor_server URI QUEUE\n");
    return 2;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (rpcd__amqp_connect(argv[1], NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "floor_server: %s\n", err);
    return 1;
  }
  amqp_queue_declare(conn, 1, amqp_cstring_bytes(argv[2]), 0, 1, 0, 0,
                     amqp_empty_table);
  amqp_basic_qos(conn, 1, 0, 64, 0);
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(argv[2]), amqp_empty_bytes, 0,
                     0, 0, amqp_empty_table);
  if (rpcd__amqp_last_status(conn, 1, "consuming", err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "floor_server: %s\n", err);
    return 1;
  }
  while (!stop) {
    struct timeval tv = {0, 200000};
    amqp_basic_properties_t props;
    amqp_envelope_t env;
    amqp_rpc_reply_t r;

    amqp_maybe_release_buffers(conn);
    r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_TIMEOUT)
        continue;
      break;
    }
    memset(&props, 0, sizeof(props));
    props._flags =
        AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.correlation_id = env.message.properties.correlation_id;
    props.content_type = env.message.properties.content_type;
    amqp_basic_publish(conn, 1, amqp_empty_bytes,
                       env.message.properties.reply_to, 0, 0, &props,
                       env.message.body);
    amqp_basic_ack(conn, 1, env.delivery_tag, 0);
    amqp_destroy_envelope(&env);
  }
  rpcd__amqp_close(conn, 1);
  return 0;
}
