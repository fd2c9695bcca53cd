/* SPDX-License-Identifier: MIT */
/*
 * From one delivered message to the reply to publish, independent of AMQP:
 * the checks of docs/PROTOCOL.md in their order (size, content type and
 * version, msgpack limits, request shape and headers, method, access,
 * params), the deadline, the plain-text mode, and the encoding of the
 * reply.
 */
#ifndef RPCD_REQUEST_HANDLER_H
#define RPCD_REQUEST_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "acl.h"
#include "inflight.h"
#include "registry.h"

/* A byte string that need not be NUL-terminated; ptr NULL when absent. */
typedef struct rpcd_span {
  const char *ptr;
  size_t len;
} rpcd_span;

/* What the transport delivered, already read out of the AMQP properties. */
typedef struct rpcd_message_in {
  const void *body;
  size_t body_len;
  rpcd_span content_type;
  /* For logs only: the correlation id as printable text (the transport
   * escapes NUL and control characters, so "%.*s" shows all of it). */
  rpcd_span correlation_id;
  bool has_reply_to;
  /* The AMQP user_id, which the broker checks against the connection's
   * user: who calls, for --acl. ptr NULL: none (anonymous). */
  rpcd_span user;
  /* headers */
  bool has_version;
  bool version_valid; /* false when x-rpc-v is present but not an integer */
  int64_t version;
  bool has_header_method;
  bool header_method_valid; /* false when present but not a string */
  rpcd_span header_method;
  bool has_deadline;   /* a usable x-rpc-deadline: deadline_ms is set */
  int64_t deadline_ms; /* unix ms */
  /* x-rpc-deadline present but neither an integer field (unix ms) nor an
   * AMQP timestamp (unix s): the field's type, for the error; else NULL */
  const char *bad_deadline_type;
  int64_t now_ms; /* unix ms when handling started */
  /* x-delivery-count, which quorum queues add to a redelivery: how often
   * the request was delivered before; 0 when absent */
  int64_t delivery_count;
  /* Set by the transport when delivery_count passed --max-deliveries: the
   * request is answered "poison" and not run. */
  bool poison;
  /* When (monotonic ms) the handler must be done, from
   * rpcd__handler_stop_at(): what remaining_ms() counts down to; 0: none */
  int64_t stop_at_ms;
} rpcd_message_in;

typedef enum rpcd_outcome {
  RPCD_OUTCOME_OK,       /* the handler ran and returned a result */
  RPCD_OUTCOME_ERROR,    /* answered with an error (any code) */
  RPCD_OUTCOME_NOTIFIED, /* a notification ran; nothing to send */
  RPCD_OUTCOME_EXPIRED,  /* deadline passed before it started; not run */
  RPCD_OUTCOME_POISON    /* delivered too often; answered, not run */
} rpcd_outcome;

typedef struct rpcd_message_out {
  rpcd_outcome outcome;
  bool send_reply; /* a reply is to be published to reply_to */
  /* The reply body when send_reply: body.data[body_off..body.size). The
   * buffer is kept from one message to the next. */
  msgpack_sbuffer body;
  size_t body_off;
  const char *content_type; /* static string */
  int32_t status;           /* x-rpc-status: 0 or the error code */
  char method[256];         /* for logs; "" when unknown */
  char error[320];          /* for logs; the error message, "" on success */
} rpcd_message_out;

typedef struct rpcd_handler_config {
  const rpcd_registry *registry;
  size_t max_body;             /* request and result limit */
  const char *text_method;     /* --text-method, or NULL */
  unsigned handler_timeout_ms; /* --handler-timeout; 0: none */
  const rpcd_acl *acl;         /* --acl, borrowed; NULL: all allowed */
  const rpcd_gate *gate;       /* --max-in-flight, borrowed; NULL: none */
  /* Called right before a registered method's handler runs (plugin code
   * from here on),
   * with what answering the request without the handler needs: its msgid
   * and the reply's content type. NULL: not called. */
  void (*before_dispatch)(void *ctx, const char *method, size_t method_len,
                          bool has_msgid, uint32_t msgid,
                          const char *reply_content_type);
  void *ctx;
} rpcd_handler_config;

/*
 * Handle one message. Always fills `out`, which must be zeroed or have
 * been filled before: its body buffer is reused, so a worker handling
 * message after message allocates nothing for its replies. Destroy it
 * afterwards.
 */
void rpcd__handle_message(const rpcd_handler_config *cfg,
                          const rpcd_message_in *in, rpcd_message_out *out);

/* Free the body buffer; `out` is zeroed, ready to be used again. */
void rpcd__message_out_destroy(rpcd_message_out *out);

/* When (monotonic ms) a handler starting now must be done: the request's
 * deadline or the handler timeout, whichever comes first; 0 for neither. */
int64_t rpcd__handler_stop_at(const rpcd_handler_config *cfg,
                              const rpcd_message_in *in);

/* Plain-text mode (text_mode.c), called for bodies with no content type or
 * text/plain when cfg->text_method is set. */
void rpcd__handle_text(const rpcd_handler_config *cfg,
                       const rpcd_message_in *in, rpcd_message_out *out);

#endif /* RPCD_REQUEST_HANDLER_H */
