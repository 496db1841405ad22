/*
 * rgm - see rgm.h.
 */
#include <stdatomic.h>
#include <time.h>

#include "rgm.h"

struct rg_metric *rgm_redis_latency, *rgm_redis_errors, *rgm_redis_outages, *rgm_redis_up;
struct rg_metric *rgm_sentinel_switches, *rgm_sentinel_discoveries;
struct rg_metric *rgm_reloads, *rgm_config_generation, *rgm_start_time;
static _Atomic long long rgm_generation = 1;

void
rgm_init(const char *daemon, const char *version)
{
	struct rg_metric *info =
	    rg_metric_new(RG_GAUGE, "relayguard_build_info", "Always 1: the daemon and its version.",
			  "daemon,version", NULL, 0);

	rg_metric_set(info, 1, daemon, version);
	rgm_start_time = rg_metric_new(RG_GAUGE, "relayguard_start_time_seconds",
				       "When the process started, Unix seconds.", NULL, NULL, 0);
	rg_metric_set(rgm_start_time, (long long)time(NULL));
	rgm_config_generation = rg_metric_new(
	    RG_GAUGE, "relayguard_config_generation",
	    "Configuration generation: 1 at start, one more per successful reload.", NULL, NULL, 0);
	rg_metric_set(rgm_config_generation, atomic_load(&rgm_generation));
	rgm_reloads =
	    rg_metric_new(RG_COUNTER, "relayguard_config_reloads_total",
			  "Configuration reloads (SIGHUP) by result: ok, failed.", "result", NULL, 0);
	rg_metric_zero(rgm_reloads, "ok failed");
	rgm_redis_latency =
	    rg_metric_new(RG_HISTOGRAM, "relayguard_redis_duration_seconds",
			  "Time from sending a Redis command or script to its answer or error.", NULL,
			  rg_metric_latency_buckets, RG_METRIC_LATENCY_N);
	rgm_redis_errors = rg_metric_new(RG_COUNTER, "relayguard_redis_errors_total",
					 "Redis commands that failed, by kind: timeout, connection, reply.",
					 "kind", NULL, 0);
	rg_metric_zero(rgm_redis_errors, "timeout connection reply");
	rgm_redis_outages = rg_metric_new(RG_COUNTER, "relayguard_redis_outages_total",
					  "Times the Redis server became unreachable.", NULL, NULL, 0);
	rgm_redis_up = rg_metric_new(RG_GAUGE, "relayguard_redis_up",
				     "1 while the Redis server is believed usable, else 0.", NULL, NULL, 0);
	rgm_sentinel_switches = rg_metric_new(
	    RG_COUNTER, "relayguard_redis_sentinel_switches_total",
	    "Times Sentinel named another master than the one in use (a failover).", NULL, NULL, 0);
	rgm_sentinel_discoveries =
	    rg_metric_new(RG_COUNTER, "relayguard_redis_sentinel_discoveries_total",
			  "Sentinel discoveries of the master by result: ok (a confirmed master), failed "
			  "(no Sentinel could name one).",
			  "result", NULL, 0);
	rg_metric_zero(rgm_sentinel_discoveries, "ok failed");
}

void
rgm_reloaded(int ok)
{
	rg_metric_inc(rgm_reloads, ok ? "ok" : "failed");
	if (ok)
		rg_metric_set(rgm_config_generation, atomic_fetch_add(&rgm_generation, 1) + 1);
}
