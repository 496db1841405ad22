/*
 * failpolicy - the fail-open choices an admin should see: for every class
 * (and the global settings) that switches a check on while the check's
 * failure action lets mail through unchecked, one warning line for -t.
 * relayguard.conf(5) "WHAT HAPPENS WHEN SOMETHING FAILS" is the table these
 * lines refer to.
 *
 * Contract: reads the snapshot only; prints to fp; thread-agnostic.
 */
#ifndef RG_FAILPOLICY_H
#define RG_FAILPOLICY_H

#include <stdio.h>

#include "config.h"

/* Print "prog: warning: ..." lines to fp; returns how many. */
int rg_failpolicy_warn(const struct rg_config *cfg, const char *prog, FILE *fp);

#endif
