/* SPDX-License-Identifier: MIT */
/*
 * ifunc_entry: rpcd_plugin_entry is a GNU indirect function. dlsym() runs
 * its resolver (plugin code, like a constructor) and returns what the
 * resolver chose, here a hidden function no exported symbol starts at. The
 * loader must refuse it. The resolver sets RPCD_TP_IFUNC_RESOLVED=1.
 */
#include <stdlib.h>

#include <rpcd/plugin.h>

static const rpcd_plugin_info *ifunc_impl(void)
{
  return NULL;
}

typedef const rpcd_plugin_info *(*entry_fn)(void);

static entry_fn ifunc_resolve(void)
{
  setenv("RPCD_TP_IFUNC_RESOLVED", "1", 1);
  return ifunc_impl;
}

RPCD_PLUGIN_EXPORT const rpcd_plugin_info *rpcd_plugin_entry(void)
    __attribute__((ifunc("ifunc_resolve")));
