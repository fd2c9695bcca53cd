/* SPDX-License-Identifier: MIT */
/*
 * Status codes shared by the server, the plugin ABI and the client SDK.
 *
 * Two families, never mixed:
 *  - rpcd_status (RPCD_OK, RPCD_E*): results of C functions. Negative on
 *    failure. Never sent on the wire.
 *  - wire error codes (RPCD_ERR_*): the "code" of an error reply, as listed
 *    in docs/PROTOCOL.md. Plugins use codes >= 1 for their own errors.
 */
#ifndef RPCD_STATUS_H
#define RPCD_STATUS_H

#include <rpcd/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Append only: never renumber or remove a code. */
#define RPCD_STATUS_MAP(XX)                                                    \
  XX(OK, 0, "success")                                                         \
  XX(ENOMEM, -1, "out of memory")                                              \
  XX(EINVAL, -2, "invalid argument")                                           \
  XX(ENOMETHOD, -3, "no such method")                                          \
  XX(ETIMEDOUT, -4, "timed out waiting for a reply")                           \
  XX(EBROKER, -5, "broker error")                                              \
  XX(EPROTO, -6, "malformed message")                                          \
  XX(EPLUGIN, -7, "plugin could not be loaded")                                \
  XX(EREMOTE, -8, "remote handler error")                                      \
  XX(ENOROUTE, -9, "no route to the request queue")                            \
  XX(ENOCONSUMER, -10, "no server consumes the request queue")                 \
  XX(ECONNLOST, -11, "connection to the broker lost")                          \
  XX(ECONNECT, -12, "could not connect to the broker")                         \
  XX(ETOOBIG, -13, "message too large")                                        \
  XX(EEXIST, -14, "already exists")                                            \
  XX(ESTATE, -15, "not allowed in the current state")

typedef enum rpcd_status {
#define RPCD_STATUS_ENUM_(name, val, text) RPCD_##name = (val),
  RPCD_STATUS_MAP(RPCD_STATUS_ENUM_)
#undef RPCD_STATUS_ENUM_
} rpcd_status;

/* Lowest (most negative) status value; a test walks [RPCD_STATUS_MIN, 0]. */
#define RPCD_STATUS_MIN RPCD_ESTATE

/* Wire error codes (docs/PROTOCOL.md, "Error codes"). Append only. */
#define RPCD_ERRCODE_MAP(XX)                                                   \
  XX(PARSE, -32700, "parse error")                                             \
  XX(INVALID_REQUEST, -32600, "invalid request")                               \
  XX(METHOD_NOT_FOUND, -32601, "method not found")                             \
  XX(INVALID_PARAMS, -32602, "invalid params")                                 \
  XX(INTERNAL, -32603, "internal error")                                       \
  XX(HANDLER_CRASHED, -32000, "handler crashed")                               \
  XX(DEADLINE_EXCEEDED, -32001, "deadline exceeded")                           \
  XX(OVERLOADED, -32002, "overloaded")                                         \
  XX(UNAVAILABLE, -32003, "unavailable")                                       \
  XX(PAYLOAD_TOO_LARGE, -32004, "payload too large")                           \
  XX(UNSUPPORTED, -32005, "unsupported")                                       \
  XX(POISON, -32006, "poison")                                                 \
  XX(FORBIDDEN, -32007, "forbidden")

enum rpcd_errcode {
#define RPCD_ERRCODE_ENUM_(name, val, text) RPCD_ERR_##name = (val),
  RPCD_ERRCODE_MAP(RPCD_ERRCODE_ENUM_)
#undef RPCD_ERRCODE_ENUM_
};

/**
 * Text for an rpcd_status, e.g. "timed out waiting for a reply".
 *
 * \return a static string; "unknown error" for a value not in the map.
 *         Thread-safe.
 * \since 0.1
 */
RPCD_EXPORT const char *rpcd_strerror(int status);

/**
 * Symbolic name of an rpcd_status, e.g. "RPCD_ETIMEDOUT".
 *
 * \return a static string; "RPCD_E?" for a value not in the map.
 * \since 0.1
 */
RPCD_EXPORT const char *rpcd_status_name(int status);

/**
 * Name of a wire error code, e.g. "method not found" for -32601.
 *
 * \return a static string: "application error" for codes >= 1, "unknown
 *         error" for other values not in the map.
 * \since 0.1
 */
RPCD_EXPORT const char *rpcd_errcode_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_STATUS_H */
