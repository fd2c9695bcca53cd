/* SPDX-License-Identifier: MIT */
/*
 * A check for the fuzz targets that stays on in release builds, where
 * assert() is compiled out by NDEBUG (the regression replays run in the
 * RelWithDebInfo build).
 */
#ifndef RPCD_FUZZ_CHECK_H
#define RPCD_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif /* RPCD_FUZZ_CHECK_H */
