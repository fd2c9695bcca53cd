/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol shared by the server and the client SDK (docs/PROTOCOL.md):
 * a bounded msgpack decoder for untrusted bytes, and the encoders and decoders
 * of request and reply bodies. Internal: not installed, not part of the ABI.
 */
#ifndef RPCD_PROTO_H
#define RPCD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <rpcd/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPCD_MAX_DEPTH 64       /* deepest container nesting accepted */
#define RPCD_MAX_METHOD_LEN 255 /* bytes */
#define RPCD_DEFAULT_MAX_BODY (1u << 20)

#define RPCD_CONTENT_TYPE "application/vnd.msgpack"
#define RPCD_CONTENT_TYPE_TEXT "text/plain"
#define RPCD_DIRECT_REPLY_TO "amq.rabbitmq.reply-to"

#define RPCD_HDR_VERSION "x-rpc-v"
#define RPCD_HDR_METHOD "x-rpc-method"
#define RPCD_HDR_DEADLINE "x-rpc-deadline"
#define RPCD_HDR_STATUS "x-rpc-status"

/* msgpack-RPC message types (first element of the body array). */
enum { RPCD_MSG_REQUEST = 0, RPCD_MSG_REPLY = 1, RPCD_MSG_NOTIFY = 2 };

/* ------------------------------------------------------------------------ */
/* Bounded decoding of untrusted msgpack                                     */

/*
 * A decoded msgpack document. Objects live in one allocation owned by the
 * document; str, bin and ext objects point into the input bytes, which must
 * outlive the document.
 */
typedef struct rpcd_mp_doc {
  msgpack_object root;
  void *storage; /* all container children; free with rpcd__mp_doc_destroy */
} rpcd_mp_doc;

/*
 * Check that data[0..len) is exactly one well-formed msgpack object within
 * the limits: every container count fits in the bytes left, nesting is at
 * most max_depth, nothing is truncated and nothing follows it. Nothing is
 * allocated. On success, *n_children (may be NULL) is the number of array
 * elements plus map pairs, which bounds what decoding allocates.
 *
 * \return RPCD_OK or RPCD_EPROTO, with a message in err (may be NULL)
 */
int rpcd__mp_check(const void *data, size_t len, unsigned max_depth,
                   size_t *n_children, char *err, size_t errlen);

/*
 * rpcd__mp_check(), then decode into doc. The msgpack_object types match
 * msgpack-c's unpacker (non-negative signed integers are POSITIVE_INTEGER).
 *
 * \return RPCD_OK, RPCD_EPROTO (err says why) or RPCD_ENOMEM; doc needs no
 *         destroy on failure
 */
int rpcd__mp_decode(const void *data, size_t len, unsigned max_depth,
                    rpcd_mp_doc *doc, char *err, size_t errlen);

void rpcd__mp_doc_destroy(rpcd_mp_doc *doc);

/* Length-checked compare of a msgpack str with a C string. */
bool rpcd__mp_str_eq(const msgpack_object *o, const char *s);

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

typedef struct rpcd_request {
  int type;       /* RPCD_MSG_REQUEST or RPCD_MSG_NOTIFY */
  bool has_msgid; /* false for notifications and broken ones */
  uint32_t msgid;
  const char *method; /* not NUL-terminated; points into the body */
  size_t method_len;
  const msgpack_object *params; /* array or map, inside doc */
  rpcd_mp_doc doc;
} rpcd_request;

/* True for a valid method name: [A-Za-z0-9_.-]{1,255}. */
bool rpcd__method_name_valid(const char *name, size_t len);

/*
 * Decode a request or notification body. The body must outlive req.
 *
 * \return 0, or the wire error code to answer (RPCD_ERR_PARSE,
 *         RPCD_ERR_INVALID_REQUEST, RPCD_ERR_PAYLOAD_TOO_LARGE when
 *         len > max_body, or RPCD_ERR_INTERNAL when out of memory) with a
 *         message in err. Even on failure, req->has_msgid/msgid and
 *         req->type are set when they could be read, so the error reply can
 *         echo the msgid. Call rpcd__request_destroy() in every case.
 */
int rpcd__request_decode(const void *body, size_t len, size_t max_body,
                         rpcd_request *req, char *err, size_t errlen);

void rpcd__request_destroy(rpcd_request *req);

/*
 * Encode [0, msgid, method, params] (or [2, method, params] when notify).
 * params must be one msgpack array or map, already validated; NULL/0 sends
 * an empty array.
 */
int rpcd__request_encode(msgpack_sbuffer *out, bool notify, uint32_t msgid,
                         const char *method, size_t method_len,
                         const void *params, size_t params_len);

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

/* Encode [1, msgid|nil, nil, result] with result as raw msgpack bytes
 * (exactly one object; NULL/0 means nil). */
int rpcd__reply_encode_result(msgpack_sbuffer *out, bool has_msgid,
                              uint32_t msgid, const void *result,
                              size_t result_len);

/* The longest head of a success reply: [1, msgid|nil, nil, ...]. */
#define RPCD_REPLY_HEAD_MAX 8

/* Write the head of [1, msgid|nil, nil, result] into head[], for a result
 * written right after it. \return its length, at most RPCD_REPLY_HEAD_MAX */
size_t rpcd__reply_result_head(unsigned char head[RPCD_REPLY_HEAD_MAX],
                               bool has_msgid, uint32_t msgid);

/* Encode [1, msgid|nil, {"code": code, "message": message}, nil]. */
int rpcd__reply_encode_error(msgpack_sbuffer *out, bool has_msgid,
                             uint32_t msgid, int code, const char *message);

/* The same with "data": data[0..data_len) is exactly one msgpack object,
 * copied as it is; NULL leaves "data" out. */
int rpcd__reply_encode_error_data(msgpack_sbuffer *out, bool has_msgid,
                                  uint32_t msgid, int code, const char *message,
                                  const void *data, size_t data_len);

typedef struct rpcd_reply_view {
  bool has_msgid;
  uint32_t msgid;
  int error_code;      /* 0 when the reply is a success */
  const char *message; /* into the body, not NUL-terminated */
  size_t message_len;
  const msgpack_object *result;     /* nil object for an error reply */
  const msgpack_object *error_data; /* error.data, or NULL when absent */
  rpcd_mp_doc doc;
} rpcd_reply_view;

/*
 * Decode a reply body (untrusted: it came off the broker). The views point
 * into body and into out->doc.
 *
 * \return RPCD_OK, or RPCD_EPROTO / RPCD_ENOMEM with a message in err.
 *         Call rpcd__reply_view_destroy() in every case.
 */
int rpcd__reply_decode(const void *body, size_t len, rpcd_reply_view *out,
                       char *err, size_t errlen);

void rpcd__reply_view_destroy(rpcd_reply_view *view);

/* Format into err (NULL-safe), the way every decoder reports failures. */
void rpcd__set_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif /* RPCD_PROTO_H */
