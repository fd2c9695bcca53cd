/* SPDX-License-Identifier: MIT */
/*
 * Introspection of an rpcd_client for the SDK's own tests. Hidden: not
 * exported from librpcd_client, so only code linked with client.c's object
 * can call it.
 */
#ifndef RPCD_SDK_CLIENT_INTERNAL_H
#define RPCD_SDK_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <rpcd/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Replies dropped because their correlation id matched no call in flight
 * (unknown, already completed, timed out) or was missing. */
uint64_t rpcd__client_dropped_replies(const rpcd_client *client);

/* Calls in the correlation table: in flight, or done and not yet waited. */
size_t rpcd__client_pending_count(const rpcd_client *client);

#ifdef __cplusplus
}
#endif
#endif /* RPCD_SDK_CLIENT_INTERNAL_H */
