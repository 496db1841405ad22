/*
 * rgm - the metrics both daemons export (metrics.h): Redis, configuration
 * reloads, build. Each daemon declares its own on top (policyd/pmetrics.h,
 * milter/mmetrics.h).
 *
 * Contract: rgm_init once at start-up, before threads; until then every
 * pointer is NULL and every update a no-op (metrics.h), which is what
 * programs without /metrics (relayguardctl, unit tests) get.
 */
#ifndef RG_RGM_H
#define RG_RGM_H

#include "metrics.h"

extern struct rg_metric *rgm_redis_latency; /* histogram: one Redis command or script */
extern struct rg_metric *rgm_redis_errors; /* counter{kind}: timeout, connection, reply */
extern struct rg_metric *rgm_redis_outages; /* counter: the server became unreachable */
extern struct rg_metric *rgm_redis_up; /* gauge: 1 while the server is believed usable */
extern struct rg_metric *rgm_sentinel_switches; /* counter: a Sentinel named another master */
extern struct rg_metric *rgm_sentinel_discoveries; /* counter{result}: ok, failed (rsentinel.c) */
extern struct rg_metric *rgm_reloads; /* counter{result}: ok, failed */
extern struct rg_metric *rgm_config_generation; /* gauge: 1 at start, +1 per successful reload */
extern struct rg_metric *rgm_start_time; /* gauge: process start, Unix seconds */

/* Declare them; daemon ("policyd", "milter") and version label relayguard_build_info. */
void rgm_init(const char *daemon, const char *version);

/* A successful reload (1) or a failed one (0): counters and generation. */
void rgm_reloaded(int ok);

#endif
