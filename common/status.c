/* SPDX-License-Identifier: MIT */
/*
 * Texts and names of rpcd_status values and wire error codes, generated from
 * the maps in <rpcd/status.h> so that codes and texts cannot drift apart.
 */
#include <rpcd/status.h>

const char *rpcd_strerror(int status)
{
  switch (status) {
#define XX(name, val, text)                                                    \
  case RPCD_##name:                                                            \
    return text;
    RPCD_STATUS_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *rpcd_status_name(int status)
{
  switch (status) {
#define XX(name, val, text)                                                    \
  case RPCD_##name:                                                            \
    return "RPCD_" #name;
    RPCD_STATUS_MAP(XX)
#undef XX
  default:
    return "RPCD_E?";
  }
}

const char *rpcd_errcode_name(int code)
{
  if (code >= 1)
    return "application error";
  switch (code) {
#define XX(name, val, text)                                                    \
  case RPCD_ERR_##name:                                                        \
    return text;
    RPCD_ERRCODE_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}
