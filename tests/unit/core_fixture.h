/* SPDX-License-Identifier: MIT */
/*
 * The registry the dispatcher and request-handler tests share: the
 * built-ins, the test plugin ok.so and fib.so. Header-only, included by one
 * test file per executable.
 */
#ifndef RPCD_TEST_CORE_FIXTURE_H
#define RPCD_TEST_CORE_FIXTURE_H

#include <stdio.h>

#include "builtins.h"
#include "dispatcher.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif
#ifndef FIB_PLUGIN
#error "FIB_PLUGIN must name fib.so"
#endif

static rpcd_registry reg;

/* Load the fixture with the log at `log_level`; 0 or -1 for cmocka. */
static int core_fixture_setup(int log_level)
{
  char err[512] = "";

  rpcd__log_level = log_level;
  rpcd__registry_init(&reg);
  if (rpcd__builtins_add(&reg, err, sizeof(err)) != RPCD_OK ||
      rpcd__plugin_load(&reg, TEST_PLUGIN_DIR "/ok.so", err, sizeof(err)) !=
          RPCD_OK ||
      rpcd__plugin_load(&reg, FIB_PLUGIN, err, sizeof(err)) != RPCD_OK) {
    fprintf(stderr, "setup: %s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  rpcd__registry_destroy(&reg);
  return 0;
}

#endif /* RPCD_TEST_CORE_FIXTURE_H */
