/*
 * pmetrics - relayguard-policyd's metrics (on top of src/rgm.h) and its
 * /metrics + /health endpoint (src/metricsrv.h) on the policy server's own
 * event loop.
 *
 * Health: 503 while Redis is unreachable (the client says it is down, or a
 * ping sent every second got no answer for 3 s); the configuration is
 * loaded by the time the endpoint exists (a failed reload keeps the old
 * one, which still counts as loaded). A ping is one EVALSHA of "return 1"
 * and shows in relayguard_redis_duration_seconds like any other call.
 *
 * Contract: single-threaded (event loop). Label values are fixed sets (see
 * each metric); class names come from the configuration.
 */
#ifndef RG_POLICYD_PMETRICS_H
#define RG_POLICYD_PMETRICS_H

#include <event2/event.h>

#include "endpoint.h"
#include "metrics.h"
#include "redis.h"
#include "rgm.h"

extern struct rg_metric
    *pm_requests; /* {state}: connect helo mail rcpt data end_of_message vrfy etrn other */
extern struct rg_metric *pm_decisions; /* {check,action,class} */
extern struct rg_metric *pm_greylist; /* {state}: new early pass known awl error */
/* {result}: greylist_spf's SPF checks: pass (an SPF triplet) fail softfail neutral none
 * permerror temperror, or no result: timeout busy aborted */
extern struct rg_metric *pm_greylist_spf;
extern struct rg_metric *pm_ratelimit; /* {kind}: client sasl sender domain */
extern struct rg_metric *pm_failure; /* {check}: answers given by policy_failure_action */
extern struct rg_metric *pm_connections; /* gauge: open policy connections */

/* Declare the metrics (version for relayguard_build_info). */
void pmetrics_init(const char *version);

/* A protocol_state as a label (fixed set). */
const char *pmetrics_state(const char *protocol_state);

struct pmetrics_srv;
/* Serve addr on base, health from r. NULL with err when it cannot listen. */
struct pmetrics_srv *pmetrics_start(struct event_base *base, const struct rg_endpoint *ep, struct rg_redis *r,
				    char *err, size_t errlen);
/* After the Redis client is freed (it answers a ping still out first). */
void pmetrics_free(struct pmetrics_srv *s);

#endif
