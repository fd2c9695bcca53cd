/* SPDX-License-Identifier: MIT */
#ifndef RPCD_VERSION_H
#define RPCD_VERSION_H

#define RPCD_VERSION_MAJOR 0
#define RPCD_VERSION_MINOR 1
#define RPCD_VERSION_PATCH 0
#define RPCD_VERSION_STRING "0.1.0"

/* Version of the wire protocol (docs/PROTOCOL.md), sent as header x-rpc-v. */
#define RPCD_PROTOCOL_VERSION 1

#endif /* RPCD_VERSION_H */
