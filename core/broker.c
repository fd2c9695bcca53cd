/* SPDX-License-Identifier: MIT */
#include "broker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rpcd_proto.h"

static int declare(amqp_connection_state_t conn, amqp_channel_t channel,
                   const char *queue, amqp_table_t args, const char *kind,
                   bool *channel_closed, char *err, size_t errlen)
{
  char detail[256];
  int rc;

  amqp_queue_declare(conn, channel, amqp_cstring_bytes(queue), 0, 1, 0, 0,
                     args);
  rc = rpcd__amqp_status(conn, channel, amqp_get_rpc_reply(conn),
                         "declaring the queue", channel_closed, NULL, detail,
                         sizeof(detail));
  if (rc != RPCD_OK)
    /* e.g. PRECONDITION_FAILED - inequivalent arg 'x-queue-type': the
     * queue exists with other arguments, and the broker names them */
    rpcd__set_err(err, errlen, "could not declare queue \"%s\" (%s): %s", queue,
                  kind, detail);
  return rc;
}

int rpcd__declare_queues(amqp_connection_state_t conn, amqp_channel_t channel,
                         const rpcd_queue_spec *queue, bool *channel_closed,
                         char *err, size_t errlen)
{
  amqp_table_entry_t args[4];
  amqp_table_t table = amqp_empty_table;
  char dead[300];
  int rc;

  snprintf(dead, sizeof(dead), "%s%s", queue->name, RPCD_DEAD_LETTER_SUFFIX);
  /* The dead-letter queue first: the request queue names it. */
  rc = declare(conn, channel, dead, amqp_empty_table, "durable", channel_closed,
               err, errlen);
  if (rc != RPCD_OK)
    return rc;
  if (queue->type == RPCD_QUEUE_QUORUM) {
    args[0].key = amqp_cstring_bytes("x-queue-type");
    args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    args[0].value.value.bytes = amqp_cstring_bytes("quorum");
    args[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = amqp_cstring_bytes("");
    args[2].key = amqp_cstring_bytes("x-dead-letter-routing-key");
    args[2].value.kind = AMQP_FIELD_KIND_UTF8;
    args[2].value.value.bytes = amqp_cstring_bytes(dead);
    args[3].key = amqp_cstring_bytes("x-delivery-limit");
    args[3].value.kind = AMQP_FIELD_KIND_I64;
    args[3].value.value.i64 = (int64_t)queue->max_deliveries + 1;
    table.num_entries = 4;
    table.entries = args;
  }
  return declare(conn, channel, queue->name, table,
                 queue->type == RPCD_QUEUE_QUORUM ? "quorum" : "durable",
                 channel_closed, err, errlen);
}

void rpcd__warn_if_insecure(const rpcd_tls_options *tls)
{
  if (tls && tls->insecure)
    rpcd__log(RPCD_LOG_WARN,
              "--tls-insecure: connecting without checking the broker's "
              "certificate or host name; anyone on the way can read and "
              "change the traffic");
}

int rpcd__broker_open(const char *uri, const rpcd_tls_options *tls,
                      const rpcd_queue_spec *queue, unsigned heartbeat_s,
                      amqp_connection_state_t *out, char *err, size_t errlen)
{
  rpcd_amqp_options opts = {0};
  bool channel_closed = false;
  int rc;

  opts.product = "rpcd supervisor";
  opts.heartbeat_s = heartbeat_s;
  opts.tls = tls;
  rpcd__warn_if_insecure(tls);
  rc = rpcd__amqp_connect(uri, &opts, 1, out, err, errlen);
  if (rc != RPCD_OK)
    return rc;
  rc = rpcd__declare_queues(*out, 1, queue, &channel_closed, err, errlen);
  if (rc != RPCD_OK) {
    rpcd__amqp_close(*out, channel_closed ? 0 : 1);
    *out = NULL;
  }
  return rc;
}

int rpcd__broker_publish_reply(amqp_connection_state_t conn,
                               amqp_bytes_t reply_to, amqp_bytes_t cid,
                               const char *content_type, int32_t status,
                               amqp_bytes_t body)
{
  amqp_basic_properties_t props;
  amqp_table_entry_t hdr;

  memset(&props, 0, sizeof(props));
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                 AMQP_BASIC_HEADERS_FLAG;
  props.content_type = amqp_cstring_bytes(content_type);
  props.delivery_mode = 1;
  if (cid.len) {
    props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
    props.correlation_id = cid;
  }
  hdr.key = amqp_cstring_bytes(RPCD_HDR_STATUS);
  hdr.value.kind = AMQP_FIELD_KIND_I32;
  hdr.value.value.i32 = status;
  props.headers.num_entries = 1;
  props.headers.entries = &hdr;
  return rpcd__amqp_lib_status(amqp_basic_publish(
      conn, 1, amqp_empty_bytes, reply_to, 0, 0, &props, body));
}

int rpcd__broker_keep_alive(amqp_connection_state_t conn, char *err,
                            size_t errlen)
{
  struct timeval now = {0, 0};
  amqp_frame_t frame;
  int status;

  /* rabbitmq-c answers heartbeats inside its reads; nothing else is sent
   * to a connection that consumes nothing. */
  do
    status = amqp_simple_wait_frame_noblock(conn, &frame, &now);
  while (status == AMQP_STATUS_OK);
  if (status == AMQP_STATUS_TIMEOUT)
    return RPCD_OK;
  rpcd__set_err(err, errlen, "the supervisor's broker connection: %s",
                amqp_error_string2(status));
  return RPCD_ECONNLOST;
}
