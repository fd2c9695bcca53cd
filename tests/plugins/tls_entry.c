/* SPDX-License-Identifier: MIT */
/*
 * tls_entry: exports rpcd_plugin_entry as a thread-local variable. dlsym()
 * returns the calling thread's copy, which lies outside every loaded object;
 * the loader must refuse it rather than call it.
 */
#include <rpcd/plugin.h>

RPCD_PLUGIN_EXPORT _Thread_local int rpcd_plugin_entry = 5;
