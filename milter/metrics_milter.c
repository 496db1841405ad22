/*
 * metrics_milter - see metrics_milter.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "metricsrv.h"
#include "metrics_milter.h"
#include "redis_pool.h"
#include "scan_health.h"
#include "session.h"
#include "spam_spamd.h"
#include "util.h"

struct rg_metric *mm_messages, *mm_spam, *mm_spamd_latency, *mm_spamd_errors, *mm_callout,
    *mm_callout_latency, *mm_harvest, *mm_connections, *mm_scanner_up;

static struct event_base *mm_base;
static struct rg_metricsrv *mm_srv;
static struct rg_redis_pool *mm_redis;

void
mmetrics_init(const char *version)
{
	rgm_init("milter", version);
	mm_messages = rg_metric_new(RG_COUNTER, "relayguard_milter_messages_total",
				    "Messages at end of data, by direction.", "direction", NULL, 0);
	rg_metric_zero(mm_messages, "inbound outbound other");
	mm_spam = rg_metric_new(RG_COUNTER, "relayguard_milter_spam_verdicts_total",
				"Scanned (or not scanned) messages by verdict: ham, spam (tagged), reject, "
				"unscanned.",
				"verdict", NULL, 0);
	rg_metric_zero(mm_spam, "ham spam reject unscanned");
	mm_spamd_latency = rg_metric_new(RG_HISTOGRAM, "relayguard_milter_spamd_duration_seconds",
					 "Time of one spamd exchange (connect, send, verdict).", NULL,
					 rg_metric_latency_buckets, RG_METRIC_LATENCY_N);
	mm_spamd_errors = rg_metric_new(RG_COUNTER, "relayguard_milter_spamd_errors_total",
					"spamd exchanges that failed, by status.", "status", NULL, 0);
	for (int st = SPAMD_ETIMEOUT; st <= SPAMD_EINVAL; st++)
		rg_metric_add(mm_spamd_errors, 0, mmetrics_spamd_status(st));
	mm_callout =
	    rg_metric_new(RG_COUNTER, "relayguard_milter_callout_results_total",
			  "Recipient checks by result (valid invalid unknown refused harvest) and cache "
			  "state (miss fresh stale ...).",
			  "result,cache", NULL, 0);
	mm_callout_latency = rg_metric_new(RG_HISTOGRAM, "relayguard_milter_callout_duration_seconds",
					   "Time of one recipient check, cache lookups included.", NULL,
					   rg_metric_latency_buckets, RG_METRIC_LATENCY_N);
	mm_harvest =
	    rg_metric_new(RG_COUNTER, "relayguard_milter_harvest_blocks_total",
			  "Recipients refused because the client had too many unknown ones.", NULL, NULL, 0);
	mm_connections =
	    rg_metric_new(RG_GAUGE, "relayguard_milter_connections", "SMTP sessions open.", NULL, NULL, 0);
	mm_scanner_up = rg_metric_new(RG_GAUGE, "relayguard_milter_scanner_up",
				      "1 while a content scanner server answered its last scan or probe, 0 "
				      "after a failure; by scanner (spamd clamd) and server.",
				      "scanner,server", NULL, 0);
}

const char *
mmetrics_spamd_status(int st)
{
	static const char *const names[] = {
	    [SPAMD_OK] = "ok",
	    [SPAMD_ETIMEOUT] = "timeout",
	    [SPAMD_ECONNECT] = "connect",
	    [SPAMD_EIO] = "io",
	    [SPAMD_EPROTO] = "protocol",
	    [SPAMD_ESERVER] = "server",
	    [SPAMD_ETOOBIG] = "too_large",
	    [SPAMD_EINVAL] = "invalid",
	};

	return st >= 0 && (size_t)st < sizeof(names) / sizeof(names[0]) && names[st] ? names[st] : "other";
}

static int
mm_health(void *arg, char *why, size_t len)
{
	struct rg_config *cfg = session_config();
	char err[256];
	redisReply *rep;
	int bad = 0;

	(void)arg;
	if (cfg == NULL) {
		snprintf(why, len, "no configuration loaded");
		return 1;
	}
	if ((rep = rg_redis_pool_command(mm_redis, 1, (const char *[]){"PING"}, NULL, err, sizeof(err))) ==
	    NULL) {
		snprintf(why, len, "redis: %s", err);
		bad = 1;
	} else {
		freeReplyObject(rep);
	}
	/* Healthy while one server of each scanner in use answers (scan_health.h). */
	if (!bad)
		bad = scanhealth_check(cfg, why, len);
	rg_config_unref(cfg);
	return bad;
}

static void *
mm_thread(void *arg)
{
	(void)arg;
	event_base_dispatch(mm_base);
	return NULL;
}

int
mmetrics_start(const struct rg_endpoint *ep, struct rg_redis_pool *pool, char *err, size_t errlen)
{
	pthread_t tid;

	mm_redis = pool;
	if ((mm_base = event_base_new()) == NULL) {
		snprintf(err, errlen, "metrics: cannot create an event loop");
		return -1;
	}
	if ((mm_srv = rg_metricsrv_new(mm_base, ep, mm_health, NULL, err, errlen)) == NULL)
		return -1;
	if (scanhealth_start(session_config, err, errlen) != 0)
		return -1;
	if ((errno = pthread_create(&tid, NULL, mm_thread, NULL)) != 0) {
		snprintf(err, errlen, "metrics: pthread_create: %s", strerror(errno));
		return -1;
	}
	pthread_detach(tid);
	return 0;
}
