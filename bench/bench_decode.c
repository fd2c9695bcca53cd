/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the bounded msgpack decoder (rpcd__mp_decode: pre-scan, then
 * build) against msgpack-c's own unpacker on the same inputs, in the same
 * run, reported as a ratio so that a noisy shared machine still gives a
 * comparable figure. The pre-scan is the price of refusing hostile counts;
 * this shows what it costs.
 *
 *   bench_decode [ITERATIONS_SCALE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "rpcd_proto.h"

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct input {
  const char *name;
  msgpack_sbuffer buf;
  long iterations;
} input;

static void make_fib_request(input *in)
{
  msgpack_packer pk;

  msgpack_packer_init(&pk, &in->buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 0);
  msgpack_pack_uint32(&pk, 12345);
  msgpack_pack_str_with_body(&pk, "fib", 3);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_uint8(&pk, 30);
}

static void make_record_request(input *in)
{
  msgpack_packer pk;
  int i;

  msgpack_packer_init(&pk, &in->buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 0);
  msgpack_pack_uint32(&pk, 1);
  msgpack_pack_str_with_body(&pk, "store.put", 9);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 20);
  for (i = 0; i < 20; i++) {
    char key[16];

    snprintf(key, sizeof(key), "field%02d", i);
    msgpack_pack_str_with_body(&pk, key, strlen(key));
    if (i % 2)
      msgpack_pack_str_with_body(&pk, "some text value", 15);
    else
      msgpack_pack_int64(&pk, -1000000LL * i);
  }
}

static void make_big_array(input *in)
{
  msgpack_packer pk;
  int i;

  msgpack_packer_init(&pk, &in->buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 0);
  msgpack_pack_uint32(&pk, 1);
  msgpack_pack_str_with_body(&pk, "sum", 3);
  msgpack_pack_array(&pk, 10000);
  for (i = 0; i < 10000; i++)
    msgpack_pack_double(&pk, i * 0.5);
}

static double run_rpcd(const input *in)
{
  double t0 = now_s();
  long i;

  for (i = 0; i < in->iterations; i++) {
    rpcd_mp_doc doc;

    if (rpcd__mp_decode(in->buf.data, in->buf.size, RPCD_MAX_DEPTH, &doc, NULL,
                        0) != RPCD_OK)
      abort();
    rpcd__mp_doc_destroy(&doc);
  }
  return now_s() - t0;
}

static double run_msgpack_c(const input *in)
{
  double t0 = now_s();
  long i;

  for (i = 0; i < in->iterations; i++) {
    msgpack_unpacked up;
    size_t off = 0;

    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, in->buf.data, in->buf.size, &off) !=
        MSGPACK_UNPACK_SUCCESS)
      abort();
    msgpack_unpacked_destroy(&up);
  }
  return now_s() - t0;
}

int main(int argc, char **argv)
{
  long scale = argc > 1 ? atol(argv[1]) : 1;
  input inputs[3] = {
      {"fib request (12 B)", {0}, 2000000},
      {"20-field map request", {0}, 400000},
      {"10k-float array request", {0}, 400},
  };
  size_t i;

  if (scale < 1)
    scale = 1;
  make_fib_request(&inputs[0]);
  make_record_request(&inputs[1]);
  make_big_array(&inputs[2]);
  printf("%-26s %9s %12s %12s %7s\n", "input", "bytes", "rpcd ns/op",
         "msgpack-c", "ratio");
  for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    input *in = &inputs[i];
    double a;
    double b;

    in->iterations *= scale;
    /* Interleave and keep the best of three, to damp a noisy machine. */
    a = b = 1e9;
    for (int r = 0; r < 3; r++) {
      double x = run_rpcd(in);
      double y = run_msgpack_c(in);

      a = x < a ? x : a;
      b = y < b ? y : b;
    }
    printf("%-26s %9zu %12.1f %12.1f %6.2fx\n", in->name, in->buf.size,
           a / (double)in->iterations * 1e9, b / (double)in->iterations * 1e9,
           a / b);
    msgpack_sbuffer_destroy(&in->buf);
  }
  printf("ratio = rpcd__mp_decode time / msgpack_unpack_next time "
         "(lower is faster)\n");
  return 0;
}
