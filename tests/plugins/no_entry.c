/* SPDX-License-Identifier: MIT */
/*
 * no_entry: a well-formed shared object that is not an rpcd plugin: it
 * exports a function, but not rpcd_plugin_entry().
 */
#include <rpcd/plugin.h>

RPCD_PLUGIN_EXPORT int rpcd_plugin_entry_point(void);

/* A near miss of the entry point's name. */
int rpcd_plugin_entry_point(void)
{
  return 42;
}
