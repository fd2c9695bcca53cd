/* SPDX-License-Identifier: MIT */
/*
 * floor_client: the least an AMQP RPC client can do, written directly on
 * rabbitmq-c: publish the msgpack request [0, msgid, METHOD, [ARG]] to
 * QUEUE with direct reply-to, keep IN_FLIGHT calls outstanding, match
 * replies by correlation id, and time each call. No checks of the reply
 * beyond its correlation id. Prints what `rpcctl bench` prints, so that
 * tools/bench.sh reads both the same way.
 *
 *   floor_client URI QUEUE CALLS IN_FLIGHT METHOD ARG BODY_BYTES
 * ARG is an unsigned integer; BODY_BYTES > 0 pads the request with a
 * string param of that many bytes instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "rpcd_proto.h"
#include "transport_amqp.h"

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a;
  int64_t y = *(const int64_t *)b;

  return (x > y) - (x < y);
}

static int64_t now_us(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
  amqp_connection_state_t conn;
  amqp_basic_properties_t props;
  msgpack_sbuffer params;
  msgpack_sbuffer body;
  msgpack_packer pk;
  int64_t *sent_at;
  int64_t *lat;
  int64_t t0;
  double secs;
  size_t calls;
  size_t in_flight;
  size_t sent = 0;
  size_t done = 0;
  size_t pad;
  char err[512];
  char cid[32];

  if (argc != 8) {
    fprintf(stderr, "usage: floor_client URI QUEUE CALLS IN_FLIGHT METHOD "
                    "ARG BODY_BYTES\n");
    return 2;
  }
  calls = strtoul(argv[3], NULL, 10);
  in_flight = strtoul(argv[4], NULL, 10);
  pad = strtoul(argv[7], NULL, 10);
  sent_at = calloc(calls, sizeof(*sent_at));
  lat = calloc(calls, sizeof(*lat));
  if (!calls || !in_flight || !sent_at || !lat)
    return 2;
  msgpack_sbuffer_init(&params);
  msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  if (pad) {
    char *s = malloc(pad);

    memset(s, 'x', pad);
    msgpack_pack_str_with_body(&pk, s, pad);
    free(s);
  } else {
    msgpack_pack_uint64(&pk, strtoull(argv[6], NULL, 10));
  }
  msgpack_sbuffer_init(&body);
  rpcd__request_encode(&body, false, 1, argv[5], strlen(argv[5]), params.data,
                       params.size);

  if (rpcd__amqp_connect(argv[1], NULL, 1, &conn, err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "floor_client: %s\n", err);
    return 1;
  }
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO),
                     amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
  if (rpcd__amqp_last_status(conn, 1, "consuming replies", err, sizeof(err)) !=
      RPCD_OK) {
    fprintf(stderr, "floor_client: %s\n", err);
    return 1;
  }
  memset(&props, 0, sizeof(props));
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                 AMQP_BASIC_CORRELATION_ID_FLAG;
  props.content_type = amqp_cstring_bytes(RPCD_CONTENT_TYPE);
  props.reply_to = amqp_cstring_bytes(RPCD_DIRECT_REPLY_TO);
  t0 = now_us();
  while (done < calls) {
    amqp_envelope_t env;
    amqp_rpc_reply_t r;
    size_t i;

    while (sent < calls && sent - done < in_flight) {
      snprintf(cid, sizeof(cid), "%zu", sent);
      props.correlation_id = amqp_cstring_bytes(cid);
      sent_at[sent] = now_us();
      amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(argv[2]),
                         0, 0, &props, (amqp_bytes_t){body.size, body.data});
      sent++;
    }
    amqp_maybe_release_buffers(conn);
    r = amqp_consume_message(conn, &env, NULL, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      fprintf(stderr, "floor_client: the connection failed\n");
      return 1;
    }
    i = strtoul(env.message.properties.correlation_id.len
                    ? (const char *)env.message.properties.correlation_id.bytes
                    : "0",
                NULL, 10);
    if (i < calls && lat[i] == 0) {
      lat[i] = now_us() - sent_at[i];
      done++;
    }
    amqp_destroy_envelope(&env);
  }
  secs = (double)(now_us() - t0) / 1e6;
  qsort(lat, calls, sizeof(*lat), cmp_i64);
  printf("calls: %zu\nerrors: 0\nseconds: %.3f\ncalls_per_s: %.1f\n"
         "p50_ms: %.3f\np90_ms: %.3f\np99_ms: %.3f\nmax_ms: %.3f\n",
         calls, secs, (double)calls / secs, lat[calls / 2] / 1000.0,
         lat[calls * 9 / 10] / 1000.0, lat[calls * 99 / 100] / 1000.0,
         lat[calls - 1] / 1000.0);
  rpcd__amqp_close(conn, 1);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&params);
  free(sent_at);
  free(lat);
  return 0;
}
