/* SPDX-License-Identifier: MIT */
#include "inflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpcd/status.h>

#include "method_pattern.h"

int rpcd__inflight_rule_parse(const char *spec, rpcd_inflight_rule *out,
                              char *err, size_t errlen)
{
  const char *eq = strrchr(spec, '=');
  char why[320];
  unsigned long n;
  char *end;

  if (!eq || eq == spec) {
    rpcd__set_err(err, errlen,
                  "\"%s\": expected PATTERN=N, e.g. kv.*=4 or fib=2", spec);
    return RPCD_EINVAL;
  }
  if (rpcd__method_pattern_error(spec, (size_t)(eq - spec), why, sizeof(why))) {
    rpcd__set_err(err, errlen, "%s", why);
    return RPCD_EINVAL;
  }
  errno = 0;
  n = strtoul(eq + 1, &end, 10);
  if (eq[1] < '0' || eq[1] > '9' || *end || errno || n < 1 || n > 65535) {
    rpcd__set_err(err, errlen,
                  "\"%s\": the limit must be a number of calls from 1 to "
                  "65535",
                  spec);
    return RPCD_EINVAL;
  }
  memcpy(out->pattern, spec, (size_t)(eq - spec));
  out->pattern[eq - spec] = '\0';
  out->max = (unsigned)n;
  return RPCD_OK;
}

int rpcd__gate_enter(const rpcd_gate *g, const char *method, size_t method_len,
                     char *why, size_t whylen)
{
  size_t i;

  if (!g)
    return 0;
  for (i = 0; i < g->n_rules; i++) {
    const rpcd_inflight_rule *r = &g->rules[i];
    unsigned before;

    if (!rpcd__method_pattern_matches(r->pattern, method, method_len))
      continue;
    /* Counted in first, taken back when that went past the limit: two
     * workers racing for the last place never both get it. */
    before = atomic_fetch_add(&g->counts[i], 1);
    if (before >= r->max) {
      atomic_fetch_sub(&g->counts[i], 1);
      rpcd__set_err(why, whylen,
                    "\"%.*s\" has %u calls in flight, the most "
                    "--max-in-flight %s=%u allows; try again later",
                    (int)method_len, method, r->max, r->pattern, r->max);
      return RPCD_ERR_OVERLOADED;
    }
    atomic_store(g->held, (int)i);
    return 0;
  }
  return 0;
}

void rpcd__gate_leave(const rpcd_gate *g)
{
  if (g)
    rpcd__inflight_release(g->counts, g->held);
}

void rpcd__inflight_release(_Atomic unsigned *counts, _Atomic int *held)
{
  int i = atomic_exchange(held, -1);

  if (i >= 0)
    atomic_fetch_sub(&counts[i], 1);
}
