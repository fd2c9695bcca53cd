/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the bounded msgpack decoder on arbitrary bytes. What it
 * accepts must pack again (msgpack_pack_object) into something the
 * pre-scan accepts with the same shape, and must read the same as
 * msgpack-c's own unpacker wherever that one works (nesting up to 32).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "rpcd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nesting depth, counting every container (empty ones too), the way
 * msgpack-c's unpacker counts it. */
static unsigned depth_of(const msgpack_object *o)
{
  unsigned d = 0;
  unsigned c;
  uint32_t i;

  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (i = 0; i < o->via.array.size; i++) {
      c = depth_of(&o->via.array.ptr[i]);
      d = c > d ? c : d;
    }
    return d + 1;
  }
  if (o->type == MSGPACK_OBJECT_MAP) {
    for (i = 0; i < o->via.map.size; i++) {
      c = depth_of(&o->via.map.ptr[i].key);
      d = c > d ? c : d;
      c = depth_of(&o->via.map.ptr[i].val);
      d = c > d ? c : d;
    }
    return d + 1;
  }
  return 0;
}

/* Compare with msgpack-c, which only sees input our decoder accepted: on
 * anything else its unpacker would allocate for the declared counts. */
static void compare_with_msgpack_c(const uint8_t *data, size_t size,
                                   const msgpack_sbuffer *ours)
{
  msgpack_unpacked ref;
  msgpack_sbuffer theirs;
  size_t off = 0;

  msgpack_unpacked_init(&ref);
  FUZZ_CHECK(msgpack_unpack_next(&ref, (const char *)data, size, &off) ==
             MSGPACK_UNPACK_SUCCESS);
  FUZZ_CHECK(off == size);
  pack_object(&theirs, &ref.data);
  FUZZ_CHECK(theirs.size == ours->size);
  FUZZ_CHECK(memcmp(theirs.data, ours->data, ours->size) == 0);
  msgpack_sbuffer_destroy(&theirs);
  msgpack_unpacked_destroy(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  rpcd_mp_doc doc;
  rpcd_mp_doc doc2;
  msgpack_sbuffer packed;
  msgpack_sbuffer packed2;
  size_t n_children = 0;
  size_t n_children2 = 0;
  char err[256];
  int rc;
  int check_rc;
  unsigned depth;

  err[0] = '\0';
  check_rc = rpcd__mp_check(data, size, RPCD_MAX_DEPTH, &n_children, NULL, 0);
  rc = rpcd__mp_decode(data, size, RPCD_MAX_DEPTH, &doc, err, sizeof(err));
  /* the pre-scan and the decoder agree */
  FUZZ_CHECK(rc == check_rc || (rc == RPCD_ENOMEM && check_rc == RPCD_OK));
  if (rc != RPCD_OK) {
    FUZZ_CHECK(rc == RPCD_EPROTO || rc == RPCD_ENOMEM);
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(doc.storage == NULL);
    return 0;
  }
  depth = depth_of(&doc.root);
  FUZZ_CHECK(depth <= RPCD_MAX_DEPTH);
  FUZZ_CHECK((n_children == 0) == (doc.storage == NULL));

  pack_object(&packed, &doc.root);
  /* canonical widths are never longer than what came in */
  FUZZ_CHECK(packed.size <= size);
  FUZZ_CHECK(rpcd__mp_check(packed.data, packed.size, RPCD_MAX_DEPTH,
                            &n_children2, err, sizeof(err)) == RPCD_OK);
  FUZZ_CHECK(n_children2 == n_children);
  /* and packing is a fixed point */
  FUZZ_CHECK(rpcd__mp_decode(packed.data, packed.size, RPCD_MAX_DEPTH, &doc2,
                             NULL, 0) == RPCD_OK);
  pack_object(&packed2, &doc2.root);
  FUZZ_CHECK(packed2.size == packed.size);
  FUZZ_CHECK(memcmp(packed2.data, packed.data, packed.size) == 0);
  msgpack_sbuffer_destroy(&packed2);
  rpcd__mp_doc_destroy(&doc2);

  if (depth <= 32) /* msgpack-c stops at MSGPACK_EMBED_STACK_SIZE */
    compare_with_msgpack_c(data, size, &packed);

  msgpack_sbuffer_destroy(&packed);
  rpcd__mp_doc_destroy(&doc);
  return 0;
}
