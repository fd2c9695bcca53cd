/* SPDX-License-Identifier: MIT */
/*
 * null_info: exports rpcd_plugin_entry(), which returns NULL instead of a
 * descriptor.
 */
#include <rpcd/plugin.h>

RPCD_PLUGIN_EXPORT const rpcd_plugin_info *rpcd_plugin_entry(void);

const rpcd_plugin_info *rpcd_plugin_entry(void)
{
  return NULL;
}
