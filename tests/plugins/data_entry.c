/* SPDX-License-Identifier: MIT */
/*
 * data_entry: exports rpcd_plugin_entry as a data object, not a function
 * (`int rpcd_plugin_entry = 5;`). Calling it would jump into data and crash
 * the server; the loader must refuse it. Its constructor sets
 * RPCD_TP_DATA_ENTRY_LOADED=1: constructors run at dlopen(), before any
 * check of the loader, which is why a plugin is trusted code.
 */
#include <stdlib.h>

#include <rpcd/plugin.h>

RPCD_PLUGIN_EXPORT int rpcd_plugin_entry = 5;

__attribute__((constructor)) static void data_entry_loaded(void)
{
  setenv("RPCD_TP_DATA_ENTRY_LOADED", "1", 1);
}
