/* SPDX-License-Identifier: MIT */
/*
 * Symbol visibility for rpcd's public API. The libraries are built with
 * hidden visibility by default; only what is marked RPCD_EXPORT is part of
 * the ABI.
 */
#ifndef RPCD_EXPORT_H
#define RPCD_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define RPCD_EXPORT __attribute__((visibility("default")))
#else
#define RPCD_EXPORT
#endif

#endif /* RPCD_EXPORT_H */
