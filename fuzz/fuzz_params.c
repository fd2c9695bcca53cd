/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a request's params checked against a typed method's
 * descriptor (common/param_check.c), as the server does before a handler
 * runs. The input is the params object; the descriptor declares one param of
 * every type, with ranges, lengths and defaults. A success must hand the
 * handler exactly what the descriptor promises (each arg of its type, in
 * range, within its length, or its default); a failure must say why.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "method_desc.h"
#include "param_check.h"
#include "rpcd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rpcd_param params[] = {
    RPCD_PARAM_UINT("n", 0, 93),
    RPCD_PARAM_INT("i", -5, 5),
    RPCD_OPTIONAL_FLOAT("f", -1.5, 1.5, 0.5),
    RPCD_OPTIONAL_STR("s", 8, "dflt"),
    RPCD_OPTIONAL_BOOL("b", 1),
    RPCD_OPTIONAL_OF("bin", RPCD_TYPE_BIN, 4),
    RPCD_OPTIONAL_OF("a", RPCD_TYPE_ARRAY, 3),
    RPCD_OPTIONAL_OF("m", RPCD_TYPE_MAP, 2),
    RPCD_OPTIONAL_OF("z", RPCD_TYPE_NIL, 0),
    RPCD_OPTIONAL_OF("any", RPCD_TYPE_ANY, 0),
    RPCD_PARAMS_END,
};

static int handler(rpcd_ctx *ctx, msgpack_packer *result)
{
  (void)ctx;
  (void)result;
  return 0;
}

static const rpcd_method_desc desc =
    RPCD_METHOD("m", handler, params, RPCD_TYPE_ANY, 0, NULL);

/* What a checked arg of param p must look like. */
static void check_arg(const rpcd_param *p, const msgpack_object *o, bool given)
{
  if (!given && !(p->flags & RPCD_PARAM_DEFAULT)) {
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_NIL);
    return;
  }
  switch (p->type) {
  case RPCD_TYPE_UINT:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    FUZZ_CHECK(o->via.u64 >= p->min_u && o->via.u64 <= p->max_u);
    break;
  case RPCD_TYPE_INT:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
               (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                o->via.u64 <= (uint64_t)INT64_MAX));
    FUZZ_CHECK(o->via.i64 >= p->min_i && o->via.i64 <= p->max_i);
    break;
  case RPCD_TYPE_FLOAT: {
    double d = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (double)o->via.u64
               : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)o->via.i64
                                                            : o->via.f64;

    FUZZ_CHECK(o->type == MSGPACK_OBJECT_FLOAT32 ||
               o->type == MSGPACK_OBJECT_FLOAT64 ||
               o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
               o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    FUZZ_CHECK(!isnan(d) && d >= p->min_f && d <= p->max_f);
    break;
  }
  case RPCD_TYPE_STR:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_STR);
    FUZZ_CHECK(o->via.str.size <= p->max_len);
    break;
  case RPCD_TYPE_BIN:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_BIN);
    FUZZ_CHECK(o->via.bin.size <= p->max_len);
    break;
  case RPCD_TYPE_BOOL:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_BOOLEAN);
    break;
  case RPCD_TYPE_ARRAY:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_ARRAY);
    FUZZ_CHECK(o->via.array.size <= p->max_len);
    break;
  case RPCD_TYPE_MAP:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_MAP);
    FUZZ_CHECK(o->via.map.size <= p->max_len);
    break;
  case RPCD_TYPE_NIL:
    FUZZ_CHECK(o->type == MSGPACK_OBJECT_NIL);
    break;
  default:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static rpcd_method_spec spec;
  static bool have_spec;
  msgpack_object args[RPCD_MAX_PARAMS];
  rpcd_mp_doc doc;
  uint64_t given = ~(uint64_t)0;
  char err[256];
  uint32_t i;

  if (!have_spec) {
    FUZZ_CHECK(rpcd__method_spec_read(&spec, &desc, err, sizeof(err)) ==
               RPCD_OK);
    FUZZ_CHECK(spec.typed && spec.nparams == 10);
    have_spec = true;
  }
  if (rpcd__mp_decode(data, size, RPCD_MAX_DEPTH, &doc, err, sizeof(err)) !=
      RPCD_OK)
    return 0;
  err[0] = '\0';
  if (rpcd__params_check(&spec, &doc.root, args, &given, err, sizeof(err)) !=
      RPCD_OK) {
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    rpcd__mp_doc_destroy(&doc);
    return 0;
  }
  /* Only declared params can be given; the required ones always are. */
  FUZZ_CHECK((given >> spec.nparams) == 0);
  FUZZ_CHECK((given & 3u) == 3u);
  for (i = 0; i < spec.nparams; i++)
    check_arg(&spec.params[i], &args[i], (given >> i) & 1u);
  rpcd__mp_doc_destroy(&doc);
  return 0;
}
