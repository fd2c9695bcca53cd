/* SPDX-License-Identifier: MIT */
/*
 * A typed method's spec as the server and rpcctl both hold it: the server
 * reads it from a plugin's descriptor (core/method_desc.c), rpcctl from an
 * rpc.describe answer, and both check params with it (param_check.h). Also
 * how a spec's types and float bounds are written in texts.
 *
 * Ownership: a spec owns its params array; who fills it says who owns the
 * strings the entries point to (the server: the plugin's static storage).
 */
#ifndef RPCD_METHOD_SPEC_H
#define RPCD_METHOD_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rpcd/plugin.h>

/* A method's descriptor in the host's own layout. */
typedef struct rpcd_method_spec {
  bool typed;         /* false: params passed as sent, unchecked (1.0/1.1
                         methods, RPCD_METHOD_ANY_PARAMS) */
  rpcd_param *params; /* owned array of nparams entries, copied into the
                         host's layout (strings still point into the
                         plugin's static storage); NULL when nparams is 0 */
  uint32_t nparams;
  uint32_t result; /* rpcd_type */
  uint32_t flags;  /* RPCD_METHOD_* */
  const char *doc; /* borrowed, may be NULL */
} rpcd_method_spec;

/* d as signatures and error texts show floats: whole numbers below 1e17 as
 * integers ("10"), others the shortest %g text that reads back as d ("0.1",
 * "1e+300"); "nan", "inf" for those. */
void rpcd__double_text(char *buf, size_t len, double d);

/* "uint" etc. (static); "?" for an invalid value. */
const char *rpcd__type_name(uint32_t type);

#endif /* RPCD_METHOD_SPEC_H */
