/*
 * ratespec - "500/1h, 5000/1d" rate-limit specifications: count/window pairs;
 * the grammar of the RATES parameters, applied by the configuration loader.
 * Pure functions, thread-safe.
 */
#ifndef RG_RATESPEC_H
#define RG_RATESPEC_H

#include <stddef.h>
#include "config.h"

/* struct rg_rate and RG_RATE_MAX are in config.h: rate lists are parsed
 * once at load into struct rg_params (the *_rate_limits_rates fields). */

/*
 * Parse every word of l ("500/1h"; window takes rg_parse_time units, a bare
 * number is seconds). Returns the number of limits (0 for an empty list) or
 * -1 with a message in err. At most RG_RATE_MAX limits.
 */
int rg_ratespec_parse(const struct rg_list *l, struct rg_rate *out, char *err, size_t errlen);

#endif
