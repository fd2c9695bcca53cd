/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the fuzz targets: a check that stays on in release
 * builds, where assert() is compiled out by NDEBUG (the regression replays
 * run in the RelWithDebInfo build), and re-packing of decoded objects.
 */
#ifndef RPCD_FUZZ_CHECK_H
#define RPCD_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <msgpack.h>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Pack `o` into a fresh buffer (the caller destroys it). */
static inline void pack_object(msgpack_sbuffer *out, const msgpack_object *o)
{
  msgpack_packer pk;

  msgpack_sbuffer_init(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  FUZZ_CHECK(msgpack_pack_object(&pk, *o) == 0);
}

#endif /* RPCD_FUZZ_CHECK_H */
