/*
 * pmetrics - see pmetrics.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metricsrv.h"
#include "pmetrics.h"
#include "util.h"

struct rg_metric *pm_requests, *pm_decisions, *pm_greylist, *pm_ratelimit, *pm_failure, *pm_connections;
struct rg_metric *pm_greylist_spf;

struct pmetrics_srv {
	struct rg_metricsrv *http;
	struct rg_redis *redis;
	struct rg_script *ping;
	struct event *timer;
	int pending; /* a ping is out */
	long long last_ok; /* rg_mono_ms of the last answer, 0 = none yet */
	long long started;
	char last_err[160];
};

void
pmetrics_init(const char *version)
{

	rgm_init("policyd", version);
	pm_requests = rg_metric_new(RG_COUNTER, "relayguard_policyd_requests_total",
				    "Policy requests by protocol_state.", "state", NULL, 0);
	rg_metric_zero(pm_requests, "connect helo mail rcpt data end_of_message vrfy etrn other");
	pm_decisions =
	    rg_metric_new(RG_COUNTER, "relayguard_policyd_decisions_total",
			  "Logged decisions by check, action (dunno ok defer_if_permit defer reject "
			  "prepend) and customer class.",
			  "check,action,class", NULL, 0);
	pm_greylist = rg_metric_new(RG_COUNTER, "relayguard_policyd_greylist_total",
				    "Greylisting answers by triplet state.", "state", NULL, 0);
	rg_metric_zero(pm_greylist, "new early pass known awl error");
	pm_greylist_spf =
	    rg_metric_new(RG_COUNTER, "relayguard_policyd_greylist_spf_total",
			  "greylist_spf's SPF checks by result (pass: the triplet is the sender "
			  "domain's; no result: timeout, busy, aborted).",
			  "result", NULL, 0);
	rg_metric_zero(pm_greylist_spf,
		       "pass fail softfail neutral none permerror temperror timeout busy aborted");
	pm_ratelimit =
	    rg_metric_new(RG_COUNTER, "relayguard_policyd_ratelimit_refusals_total",
			  "Requests refused by a rate limit, by kind of subject.", "kind", NULL, 0);
	rg_metric_zero(pm_ratelimit, "client sasl sender domain");
	pm_failure = rg_metric_new(RG_COUNTER, "relayguard_policyd_failure_action_total",
				   "Answers given by policy_failure_action because Redis failed, by check.",
				   "check", NULL, 0);
	rg_metric_zero(pm_failure, "greylist ratelimit");
	pm_connections = rg_metric_new(RG_GAUGE, "relayguard_policyd_connections",
				       "Open connections from Postfix.", NULL, NULL, 0);
}

const char *
pmetrics_state(const char *s)
{
	static const struct {
		const char *state, *label;
	} map[] = {{"CONNECT", "connect"},
		   {"EHLO", "helo"},
		   {"HELO", "helo"},
		   {"MAIL", "mail"},
		   {"RCPT", "rcpt"},
		   {"DATA", "data"},
		   {"END-OF-MESSAGE", "end_of_message"},
		   {"VRFY", "vrfy"},
		   {"ETRN", "etrn"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(s, map[i].state) == 0)
			return map[i].label;
	return "other";
}

static void
pm_pinged(const redisReply *reply, const char *err, void *arg)
{
	struct pmetrics_srv *s = arg;

	s->pending = 0;
	if (err == NULL && reply)
		s->last_ok = rg_mono_ms();
	else
		rg_strlcpy(s->last_err, err ? err : "no reply", sizeof(s->last_err));
}

static void
pm_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pmetrics_srv *s = arg;

	(void)fd;
	(void)what;
	if (!s->pending) {
		s->pending = 1;
		rg_redis_eval(s->redis, s->ping, 0, 0, NULL, NULL, pm_pinged, s);
	}
}

static int
pm_health(void *arg, char *why, size_t len)
{
	struct pmetrics_srv *s = arg;
	long long now = rg_mono_ms(), since = s->last_ok ? s->last_ok : s->started;

	if (!rg_redis_up(s->redis)) {
		snprintf(why, len, "redis: server unreachable%s%s", *s->last_err ? ": " : "", s->last_err);
		return 1;
	}
	if (now - since > 3000) {
		snprintf(why, len, "redis: no answer to a ping for %llds%s%s", (now - since) / 1000,
			 *s->last_err ? ": " : "", s->last_err);
		return 1;
	}
	return 0;
}

struct pmetrics_srv *
pmetrics_start(struct event_base *base, const struct rg_endpoint *ep, struct rg_redis *r, char *err,
	       size_t errlen)
{
	struct pmetrics_srv *s = xcalloc(1, sizeof(*s));
	struct timeval tv = {1, 0};

	s->redis = r;
	s->started = rg_mono_ms();
	if ((s->http = rg_metricsrv_new(base, ep, pm_health, s, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	s->ping = rg_redis_script_new(r, "ping", "return 1");
	s->timer = event_new(base, -1, EV_PERSIST, pm_tick, s);
	event_add(s->timer, &tv);
	pm_tick(-1, 0, s);
	return s;
}

/* After rg_redis_free (which answers a ping still out into s). */
void
pmetrics_free(struct pmetrics_srv *s)
{
	if (s == NULL)
		return;
	event_free(s->timer);
	rg_metricsrv_free(s->http);
	free(s);
}
