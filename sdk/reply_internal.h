/* SPDX-License-Identifier: MIT */
/*
 * Building an rpcd_reply from a decoded reply body. Internal to the SDK:
 * not installed, not part of the ABI.
 */
#ifndef RPCD_SDK_REPLY_INTERNAL_H
#define RPCD_SDK_REPLY_INTERNAL_H

#include <rpcd/client.h>

#include "rpcd_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One allocation: the pointers point into the same block, after the
 * struct, and go with it (rpcd_reply_free()). */
struct rpcd_reply {
  bool has_msgid;
  uint32_t msgid;
  int error_code; /* 0 on success, else the wire code */
  char *message;  /* NUL-terminated, "" on success */
  void *result;   /* exactly one msgpack object (nil for an error) */
  size_t result_len;
  void *error_data; /* msgpack bytes of error.data, or NULL */
  size_t error_data_len;
};

/*
 * Copy everything the reply needs out of `view` (which points into a
 * message body that will be freed) into one allocation: the result and
 * error data are packed again, the message is copied with a NUL.
 *
 * \param out  out: the reply, owned by the caller (rpcd_reply_free())
 * \return RPCD_OK or RPCD_ENOMEM
 */
int rpcd__reply_from_view(const rpcd_reply_view *view, rpcd_reply **out);

/*
 * Check that a decoded reply answers the request whose msgid is `msgid`:
 * a msgid other than the request's is malformed, and so is a success reply
 * with a nil msgid (nil is for error replies to requests too broken to read
 * a msgid from, docs/PROTOCOL.md "Reply").
 *
 * \return RPCD_OK, or RPCD_EPROTO with a message in why
 */
int rpcd__reply_check(const rpcd_reply_view *view, uint32_t msgid, char *why,
                      size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_SDK_REPLY_INTERNAL_H */
