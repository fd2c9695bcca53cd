/* SPDX-License-Identifier: MIT */
/*
 * How a typed method's spec writes its types and float bounds in texts.
 * See method_spec.h.
 */
#include "method_spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const rpcd__type_names[] = {
    "any", "nil", "bool", "int", "uint", "float", "str", "bin", "array", "map",
};

const char *rpcd__type_name(uint32_t type)
{
  if (type >= sizeof(rpcd__type_names) / sizeof(rpcd__type_names[0]))
    return "?";
  return rpcd__type_names[type];
}

void rpcd__double_text(char *buf, size_t len, double d)
{
  int prec;

  /* Whole numbers as such: "10", not "1e+01". */
  if (d == floor(d) && fabs(d) < 1e17) {
    snprintf(buf, len, "%.0f", d);
    return;
  }
  for (prec = 1; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}
