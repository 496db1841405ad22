/*
 * metrics_milter (prefix mmetrics_) - relayguard-milter's metrics (on top of src/rgm.h) and its
 * /metrics + /health endpoint, served by one thread of its own (an evhttp
 * server on a private event_base), apart from libmilter's threads.
 *
 * Health (checked when asked, in that thread): a configuration is loaded;
 * Redis answers PING (redis_timeout); each content scanner in use (spamd,
 * clamd) has a server that is not down by its last scan or probe
 * (scan_health.h, whose probe threads mmetrics_start starts; asking /health
 * never waits for a scanner). A failure is 503 with the first reason.
 *
 * Contract: mmetrics_init and mmetrics_start once, from the main thread,
 * after the fork (rg_daemonize) and before smfi_main; updates from any
 * thread (metrics.h). Label values come from fixed sets.
 */
#ifndef RG_MILTER_MMETRICS_H
#define RG_MILTER_MMETRICS_H

#include <stddef.h>

#include "config.h"
#include "endpoint.h"
#include "metrics.h"
#include "redis_pool.h"
#include "rgm.h"

extern struct rg_metric *mm_messages; /* {direction}: inbound outbound other */
extern struct rg_metric *mm_spam; /* {verdict}: ham spam reject unscanned */
extern struct rg_metric *mm_spamd_latency; /* histogram: one spamd exchange */
extern struct rg_metric *mm_spamd_errors; /* {status}: spamd_strstatus names */
extern struct rg_metric *mm_callout; /* {result,cache} */
extern struct rg_metric *mm_callout_latency; /* histogram: one recipient check */
extern struct rg_metric *mm_harvest; /* counter: recipients refused by harvest protection */
extern struct rg_metric *mm_connections; /* gauge: SMTP sessions open */
extern struct rg_metric *mm_scanner_up; /* gauge{scanner,server}: scan_health.h */

/* A spamd_status (spamd.h) as a label: timeout connect io protocol server too_large invalid. */
const char *mmetrics_spamd_status(int status);

/* Declare the metrics (version for relayguard_build_info). */
void mmetrics_init(const char *version);

/*
 * Serve ep from a thread; the health check pings Redis through pool (the
 * callout's, so it follows reloads and Sentinel; it must outlive the
 * process's serving). 0, or -1 with err.
 */
int mmetrics_start(const struct rg_endpoint *ep, struct rg_redis_pool *pool, char *err, size_t errlen);

#endif
