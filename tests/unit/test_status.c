/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the status and wire error code maps (<rpcd/status.h>,
 * common/status.c): every status has a text and a name, the range has no
 * gaps, and the wire codes have the values docs/PROTOCOL.md gives them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <rpcd/status.h>

/* Walk [RPCD_STATUS_MIN, 0]: every value has a text and a name
 * (rabbitmq-c tests/test_status_enum.c). */
static void test_status_range_has_texts(void **state)
{
  int s;

  (void)state;
  for (s = RPCD_STATUS_MIN; s <= 0; s++) {
    const char *text = rpcd_strerror(s);
    const char *name = rpcd_status_name(s);

    assert_non_null(text);
    assert_non_null(name);
    if (strcmp(text, "unknown error") == 0 || text[0] == '\0')
      fail_msg("status %d has no text", s);
    if (strcmp(name, "RPCD_E?") == 0 || strncmp(name, "RPCD_", 5) != 0)
      fail_msg("status %d has no name (%s)", s, name);
  }
}

/* The map has exactly one entry per value in the range: no gaps, no
 * duplicates, and RPCD_STATUS_MIN is its lowest value. */
static void test_status_map_is_dense(void **state)
{
  int seen[64];
  int count = 0;
  int s;

  (void)state;
  assert_true(-RPCD_STATUS_MIN + 1 <= (int)(sizeof(seen) / sizeof(seen[0])));
  memset(seen, 0, sizeof(seen));
#define XX(name, val, text)                                                    \
  assert_true((val) >= RPCD_STATUS_MIN && (val) <= 0);                         \
  seen[-(val)]++;                                                              \
  count++;
  RPCD_STATUS_MAP(XX)
#undef XX
  assert_int_equal(count, -RPCD_STATUS_MIN + 1);
  for (s = 0; s <= -RPCD_STATUS_MIN; s++)
    assert_int_equal(seen[s], 1);
}

/* Texts and names come from the map, for every entry. */
static void test_status_texts_match_map(void **state)
{
  (void)state;
#define XX(name, val, text)                                                    \
  assert_string_equal(rpcd_strerror(RPCD_##name), text);                       \
  assert_string_equal(rpcd_status_name(RPCD_##name), "RPCD_" #name);
  RPCD_STATUS_MAP(XX)
#undef XX
  assert_int_equal(RPCD_OK, 0);
  assert_string_equal(rpcd_strerror(RPCD_OK), "success");
  assert_string_equal(rpcd_status_name(RPCD_ETIMEDOUT), "RPCD_ETIMEDOUT");
  assert_string_equal(rpcd_strerror(RPCD_ENOMEM), "out of memory");
}

/* Texts are distinct, so a log line tells the statuses apart. */
static void test_status_texts_distinct(void **state)
{
  int a;
  int b;

  (void)state;
  for (a = RPCD_STATUS_MIN; a <= 0; a++)
    for (b = a + 1; b <= 0; b++) {
      if (strcmp(rpcd_strerror(a), rpcd_strerror(b)) == 0)
        fail_msg("statuses %d and %d share a text", a, b);
      assert_string_not_equal(rpcd_status_name(a), rpcd_status_name(b));
    }
}

static void test_status_outside_range(void **state)
{
  static const int outside[] = {
      RPCD_STATUS_MIN - 1, 1, 2, 100, INT_MAX, INT_MIN, -32700, -32601};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
    assert_string_equal(rpcd_strerror(outside[i]), "unknown error");
    assert_string_equal(rpcd_status_name(outside[i]), "RPCD_E?");
  }
}

/* The wire codes of docs/PROTOCOL.md, "Error codes", by value and name. */
static const struct {
  int code;
  int value;
  const char *name;
} wire_codes[] = {
    {RPCD_ERR_PARSE, -32700, "parse error"},
    {RPCD_ERR_INVALID_REQUEST, -32600, "invalid request"},
    {RPCD_ERR_METHOD_NOT_FOUND, -32601, "method not found"},
    {RPCD_ERR_INVALID_PARAMS, -32602, "invalid params"},
    {RPCD_ERR_INTERNAL, -32603, "internal error"},
    {RPCD_ERR_HANDLER_CRASHED, -32000, "handler crashed"},
    {RPCD_ERR_DEADLINE_EXCEEDED, -32001, "deadline exceeded"},
    {RPCD_ERR_OVERLOADED, -32002, "overloaded"},
    {RPCD_ERR_UNAVAILABLE, -32003, "unavailable"},
    {RPCD_ERR_PAYLOAD_TOO_LARGE, -32004, "payload too large"},
    {RPCD_ERR_UNSUPPORTED, -32005, "unsupported"},
    {RPCD_ERR_POISON, -32006, "poison"},
    {RPCD_ERR_FORBIDDEN, -32007, "forbidden"},
};

static bool in_protocol_table(int value)
{
  size_t i;

  for (i = 0; i < sizeof(wire_codes) / sizeof(wire_codes[0]); i++)
    if (wire_codes[i].value == value)
      return true;
  return false;
}

static void test_wire_codes_match_protocol(void **state)
{
  size_t n = sizeof(wire_codes) / sizeof(wire_codes[0]);
  size_t i;
  size_t in_map = 0;

  (void)state;
  for (i = 0; i < n; i++) {
    assert_int_equal(wire_codes[i].code, wire_codes[i].value);
    assert_string_equal(rpcd_errcode_name(wire_codes[i].code),
                        wire_codes[i].name);
  }
  /* the map holds no code that the protocol table does not */
#define XX(name, val, text)                                                    \
  in_map++;                                                                    \
  if (!in_protocol_table(val))                                                 \
    fail_msg("RPCD_ERR_" #name " (%d) is not in PROTOCOL.md", (int)(val));
  RPCD_ERRCODE_MAP(XX)
#undef XX
  assert_int_equal(in_map, n);
}

static void test_errcode_names(void **state)
{
  int c;

  (void)state;
  /* every mapped code has a name of its own */
#define XX(name, val, text)                                                    \
  assert_string_equal(rpcd_errcode_name(RPCD_ERR_##name), text);               \
  assert_string_not_equal(rpcd_errcode_name(RPCD_ERR_##name), "unknown "       \
                                                              "error");
  RPCD_ERRCODE_MAP(XX)
#undef XX
  /* application errors */
  assert_string_equal(rpcd_errcode_name(1), "application error");
  assert_string_equal(rpcd_errcode_name(42), "application error");
  assert_string_equal(rpcd_errcode_name(INT_MAX), "application error");
  /* neither a protocol code nor an application one */
  assert_string_equal(rpcd_errcode_name(0), "unknown error");
  assert_string_equal(rpcd_errcode_name(-1), "unknown error");
  assert_string_equal(rpcd_errcode_name(INT_MIN), "unknown error");
  assert_string_equal(rpcd_errcode_name(-32604), "unknown error");
  assert_string_equal(rpcd_errcode_name(-32701), "unknown error");
  assert_string_equal(rpcd_errcode_name(-32008), "unknown error");
  /* the gaps of the reserved ranges */
  for (c = -32099; c <= -32008; c++)
    assert_string_equal(rpcd_errcode_name(c), "unknown error");
  for (c = -32699; c <= -32604; c++)
    assert_string_equal(rpcd_errcode_name(c), "unknown error");
}

/* Status values and wire codes never collide: a C status is never mistaken
 * for a wire code. */
static void test_families_apart(void **state)
{
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(wire_codes) / sizeof(wire_codes[0]); i++)
    assert_true(wire_codes[i].value < RPCD_STATUS_MIN);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_range_has_texts),
      cmocka_unit_test(test_status_map_is_dense),
      cmocka_unit_test(test_status_texts_match_map),
      cmocka_unit_test(test_status_texts_distinct),
      cmocka_unit_test(test_status_outside_range),
      cmocka_unit_test(test_wire_codes_match_protocol),
      cmocka_unit_test(test_errcode_names),
      cmocka_unit_test(test_families_apart),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
