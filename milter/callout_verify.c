/*
 * verify - see callout_verify.h.
 *
 * Why the callout session lives in the message: libmilter hands us one
 * RCPT at a time and Postfix waits for each answer, so "all recipients of
 * a message in one session" means keeping the session open between
 * callbacks. The cost is a concurrency slot held until the RCPT phase
 * ends (session.c ends it at DATA); to keep that short and polite, a
 * session is not reused after VERIFY_TX_IDLE_MS idle, VERIFY_TX_RCPT_MAX
 * recipients, or VERIFY_TX_NEG_MAX rejections (below Postfix's
 * smtpd_soft_error_limit, after which the customer's server would start
 * to slow us down).
 *
 * Why stale entries are refreshed in the background: the SMTP client
 * should never wait on a customer's server when we already have an
 * answer; the re-check runs in callout_refresh.c's workers with the same
 * deadlines, and if it fails the stale answer simply goes on serving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "msg.h"
#include "util.h"
#include "addr.h"
#include "callout_cache.h"
#include "callout.h"
#include "callout_hopstate.h"
#include "redis_pool.h"
#include "callout_refresh.h"
#include "callout_reply.h"
#include "callout_verify.h"
#include "callout_redis.h"
#include "metrics_milter.h"

#define VERIFY_HOPS_MAX 1024
#define VERIFY_WORKERS 2
#define VERIFY_QUEUE_MAX 256
#define VERIFY_BATCH_MAX 20
#define VERIFY_TX_RCPT_MAX 50
#define VERIFY_TX_NEG_MAX 5
#define VERIFY_TX_IDLE_MS 10000
#define VERIFY_SLOT_WAIT_MS 2000
#define VERIFY_TARGETS_MAX 10
#define VERIFY_OWN_MAX 32

struct verify {
	struct rg_redis_pool *redis;
	struct hopstate *hops;
	struct refresh *bg;
};

/* One callout session and the concurrency slot it holds. */
struct vconn {
	struct callout_conn *c; /* NULL: none open, no slot held */
	char hop[HOPSTATE_NAME_MAX];
	int nrcpt, nneg;
	long long last; /* mono ms of the last RCPT */
};

struct verify_tx {
	struct vconn vc;
};

static void verify_refresh_run(void *arg, struct refresh_job *const *jobs, int n);

struct verify *
verify_new(const struct rg_params *g)
{
	struct verify *v = xcalloc(1, sizeof(*v));

	v->redis = rg_redis_pool_new(g);
	v->hops = hopstate_new(VERIFY_HOPS_MAX);
	v->bg = refresh_new(VERIFY_WORKERS, VERIFY_QUEUE_MAX, VERIFY_BATCH_MAX, verify_refresh_run, v);
	return v;
}

void
verify_free(struct verify *v)
{
	if (v == NULL)
		return;
	refresh_free(v->bg);
	hopstate_free(v->hops);
	rg_redis_pool_free(v->redis);
	free(v);
}

void
verify_reload(struct verify *v, const struct rg_params *g)
{
	/* New settings take effect for new calls; calls on the wire finish on the old connections. */
	(void)rg_redis_pool_reconfigure(v->redis, g);
}

struct rg_redis_pool *
verify_redis(struct verify *v)
{
	return v->redis;
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Can rcpt be sent in an SMTP command? 0 yes; 1 only with SMTPUTF8 (8-bit,
 * never sent: unknown); 501 bad characters or form; 553 a part too long.
 */
static int
addr_class(const char *a)
{
	size_t len = strnlen(a, 1024), at = 0, nat = 0;
	int eight = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
			return 501;
		if (c >= 0x80)
			eight = 1;
		if (c == '@')
			nat++, at = i;
	}
	if (nat != 1 || at == 0 || at + 1 == len)
		return 501;
	if (len > 254 || at > 64 || len - at - 1 > 255)
		return 553;
	if (eight)
		return 1;
	return callout_addr_ok(a) ? 0 : 501;
}

/* ------------------------------------------------------------ next hop */

/* The hop of rcpt's domain: nexthop= if set, else the domain's MX. 0, or -1 with why. */
static int
hop_of(const struct rg_params *p, const char *rcpt, struct callout_nexthop *nh, char *hop, size_t hoplen,
       char *why, size_t whylen)
{
	const char *dom = rg_addr_domain(rcpt);

	if (p->nexthop_ep) {
		callout_nexthop_from_ep(p->nexthop_ep, nh);
	} else {
		memset(nh, 0, sizeof(*nh));
		if (dom == NULL || strlen(dom) > CALLOUT_HOST_MAX) {
			snprintf(why, whylen, "no domain");
			return -1;
		}
		rg_strlcpy(nh->host, dom, sizeof(nh->host));
		rg_lowercase(nh->host);
		nh->port = 25;
		nh->mx = 1;
	}
	snprintf(hop, hoplen, nh->mx ? "%s:%u" : "[%s]:%u", nh->host, nh->port);
	return 0;
}

/* ms hop stays down, here or (through Redis) on any node; 0 when it may be called. */
static long long
hop_down(struct verify *v, const struct rg_params *g, const char *hop)
{
	long long left = hopstate_down_left(v->hops, hop);

	if (g->callout_down_backoff <= 0)
		return left;
	/* The cluster's mark is the truth while Redis answers: gone ("relayguardctl hop up"), the hop is up here too. */
	if (left > 0 && vredis_down_cleared(v->redis, g, hop)) {
		hopstate_result(v->hops, hop, 0, 0);
		left = 0;
	}
	if (left > 0)
		return left;
	if ((left = vredis_down_left(v->redis, g, hop)) > 0)
		hopstate_result(v->hops, hop, 1, left); /* spare the next recipients the round trip */
	return left;
}

static void
hop_failed(struct verify *v, const struct rg_params *g, const char *hop, const char *why)
{
	char safe[CALLOUT_REPLY_MAX];

	if (g->callout_down_backoff <= 0)
		return;
	if (hopstate_down_left(v->hops, hop) == 0)
		msg_info("milter: callout: nexthop=%s failed: %s; not called again for %llds", hop,
			 rg_sanitize(safe, sizeof(safe), why, strlen(why)), g->callout_down_backoff / 1000);
	hopstate_result(v->hops, hop, 1, g->callout_down_backoff);
	vredis_down_set(v->redis, g, hop, g->callout_down_backoff);
}

/* ----------------------------------------------------------- sessions */

static void
vconn_close(struct verify *v, struct vconn *vc)
{
	if (vc->c == NULL)
		return;
	callout_close(vc->c);
	vc->c = NULL;
	hopstate_release(v->hops, vc->hop);
}

/* Open a session to hop before deadline (mono ms). 0, or -1 with why (the hop marked down if it failed). */
static int
vconn_open(struct verify *v, struct vconn *vc, const struct rg_params *g, const struct rg_params *p,
	   const struct callout_nexthop *nh, const char *hop, long long deadline, long long slot_wait,
	   char *why, size_t whylen)
{
	struct callout_target t[VERIFY_TARGETS_MAX];
	const char *own[VERIFY_OWN_MAX];
	char sender[300];
	size_t nown = 0;
	long long left = deadline - rg_mono_ms();
	int n, rc;

	switch (hopstate_acquire(v->hops, hop, (int)g->callout_concurrency,
				 slot_wait < left ? slot_wait : left)) {
	case HOPSTATE_BUSY:
		snprintf(why, whylen, "callout_concurrency (%lld) sessions busy", g->callout_concurrency);
		return -1;
	case HOPSTATE_DOWN:
		snprintf(why, whylen, "nexthop down");
		return -1;
	case HOPSTATE_OK:
		break;
	}
	for (int i = 0; i < g->callout_own_hostnames.argc && nown < VERIFY_OWN_MAX - 1; i++)
		own[nown++] = g->callout_own_hostnames.argv[i];
	own[nown++] = g->myhostname;
	if ((n = callout_resolve(nh, own, nown, t, VERIFY_TARGETS_MAX, why, whylen)) <= 0) {
		if (n == 0 && nh->mx)
			snprintf(why, whylen,
				 "no MX host to ask (null MX, no such domain, or this relay is the best)");
		hopstate_release(v->hops, hop);
		return -1;
	}
	if (strcmp(p->callout_sender, "<>") == 0)
		sender[0] = 0;
	else if (*p->callout_sender)
		rg_strlcpy(sender, p->callout_sender, sizeof(sender));
	else
		snprintf(sender, sizeof(sender), "postmaster@%s", g->myhostname);
	struct callout_params pa = {
	    .helo_name = g->myhostname,
	    .sender = sender,
	    .connect_timeout_ms = (int)g->callout_connect_timeout,
	    .command_timeout_ms = (int)g->callout_command_timeout,
	    .total_timeout_ms = (int)(deadline - rg_mono_ms() > 1 ? deadline - rg_mono_ms() : 1),
	};
	if ((rc = callout_open(&vc->c, t, (size_t)n, &pa, why, whylen)) != CALLOUT_DONE) {
		hopstate_release(v->hops, hop);
		if (rc != CALLOUT_EREFUSED)
			hop_failed(v, g, hop, why);
		return -1;
	}
	hopstate_result(v->hops, hop, 0, 0);
	rg_strlcpy(vc->hop, hop, sizeof(vc->hop));
	vc->nrcpt = vc->nneg = 0;
	vc->last = rg_mono_ms();
	return 0;
}

/* One RCPT on an open session; a session that broke is closed and its hop marked down. */
static void
vconn_rcpt(struct verify *v, struct vconn *vc, const struct rg_params *g, const char *rcpt,
	   long long deadline, struct callout_result *res)
{
	if (callout_rcpt(vc->c, rcpt, deadline, res) < 0) {
		char hop[HOPSTATE_NAME_MAX];

		rg_strlcpy(hop, vc->hop, sizeof(hop));
		vconn_close(v, vc);
		hop_failed(v, g, hop, res->reply);
		return;
	}
	vc->nrcpt++;
	vc->nneg += res->code / 100 != 2;
	vc->last = rg_mono_ms();
}

/* The live check of one recipient in the transaction's session. */
static void
live_check(struct verify *v, struct vconn *vc, const struct verify_req *req, const struct callout_nexthop *nh,
	   const char *hop, long long deadline, struct callout_result *res)
{
	const struct rg_params *g = &req->cfg->global;
	long long left;

	memset(res, 0, sizeof(*res));
	res->verdict = CALLOUT_UNKNOWN;
	if (vc->c && (strcasecmp(vc->hop, hop) != 0 || vc->nrcpt >= VERIFY_TX_RCPT_MAX ||
		      vc->nneg >= VERIFY_TX_NEG_MAX || rg_mono_ms() - vc->last > VERIFY_TX_IDLE_MS))
		vconn_close(v, vc);
	if (vc->c == NULL) {
		if ((left = hop_down(v, g, hop)) > 0) {
			snprintf(res->reply, sizeof(res->reply), "nexthop down for another %llds",
				 (left + 999) / 1000);
			return;
		}
		if (vconn_open(v, vc, g, req->p, nh, hop, deadline, VERIFY_SLOT_WAIT_MS, res->reply,
			       sizeof(res->reply)) < 0)
			return;
	}
	vconn_rcpt(v, vc, g, req->rcpt, deadline, res);
}

/* ------------------------------------------------------------ decision */

static void
set_reply(struct verify_out *out, enum verify_action a, const char *rcode, const char *xcode,
	  const char *text)
{
	out->action = a;
	rg_strlcpy(out->rcode, rcode, sizeof(out->rcode));
	rg_strlcpy(out->xcode, xcode, sizeof(out->xcode));
	/* Our own texts hold no '%'; the downstream's went through smtpreply_oneline. */
	rg_strlcpy(out->text, text, sizeof(out->text));
}

static const char *
verdict_name(enum callout_verdict vd)
{
	return vd == CALLOUT_VALID ? "valid" : vd == CALLOUT_INVALID ? "invalid" : "unknown";
}

static const char *
state_name(enum calcache_state st, int up)
{
	if (!up)
		return "none";
	return st == CALCACHE_FRESH ? "fresh" : st == CALCACHE_STALE ? "stale" : "miss";
}

/* The answer for a verdict, and the harvest count of a rejection. */
static void
decide(struct verify *v, const struct verify_req *req, enum callout_verdict vd, const char *reply,
       struct verify_out *out)
{
	const struct rg_params *g = &req->cfg->global, *p = req->p;
	char text[SMTPREPLY_ONELINE_MAX];
	long long count;

	if (vd == CALLOUT_VALID) {
		out->action = VERIFY_ACCEPT;
	} else if (vd == CALLOUT_INVALID) {
		smtpreply_oneline(text, sizeof(text), reply, strlen(reply));
		set_reply(out, VERIFY_REJECT, "550", "5.1.1",
			  *text ? text : "Recipient address rejected: unknown user");
		if (!rg_config_trusted(req->cfg, req->client_addr))
			(void)vredis_harvest(v->redis, g, req->client_addr, p->harvest_limit,
					     p->harvest_window, 1, &count);
	} else if (p->callout_unknown_action == RG_CALLOUT_UNKNOWN_TEMPFAIL) {
		set_reply(out, VERIFY_TEMPFAIL, "450", "4.1.1",
			  "Recipient address could not be verified, try again later");
	} else {
		out->action = VERIFY_ACCEPT;
	}
}

static const char *
action_name(enum verify_action a)
{
	return a == VERIFY_REJECT ? "reject" : a == VERIFY_TEMPFAIL ? "defer" : "accept";
}

void
verify_rcpt(struct verify *v, struct verify_tx **txp, const struct verify_req *req, struct verify_out *out)
{
	const struct rg_params *g = &req->cfg->global, *p = req->p;
	struct callout_nexthop nh;
	struct calcache_entry e;
	struct calcache_lifetimes lt;
	struct callout_result res = {.verdict = CALLOUT_UNKNOWN};
	enum calcache_state st = CALCACHE_MISS;
	struct timespec t0;
	char hop[HOPSTATE_NAME_MAX] = "-", why[CALLOUT_REPLY_MAX] = "", safe[CALLOUT_REPLY_MAX];
	const char *result, *cache = "none";
	long long count;
	int cls, up = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof(*out));
	out->action = VERIFY_ACCEPT;
	if ((cls = addr_class(req->rcpt)) > 1) {
		result = "refused";
		rg_strlcpy(why, cls == 553 ? "address part too long" : "unsafe characters or form",
			   sizeof(why));
		set_reply(out, VERIFY_REJECT, cls == 553 ? "553" : "501", "5.1.3",
			  cls == 553 ? "Recipient address rejected: address too long"
				     : "Recipient address rejected: bad address syntax");
		goto done;
	}
	if (!rg_config_trusted(req->cfg, req->client_addr) &&
	    vredis_harvest(v->redis, g, req->client_addr, p->harvest_limit, p->harvest_window, 0, &count) ==
		1) {
		result = "harvest";
		snprintf(why, sizeof(why), "%lld rejected recipients within %llds, limit %lld", count,
			 p->harvest_window / 1000, p->harvest_limit);
		set_reply(out, VERIFY_TEMPFAIL, "450", "4.7.1",
			  "Too many unknown recipients from your address, try again later");
		goto done;
	}
	if (hop_of(p, req->rcpt, &nh, hop, sizeof(hop), why, sizeof(why)) < 0) {
		result = "unknown";
		decide(v, req, CALLOUT_UNKNOWN, "", out);
		goto done;
	}
	if (cls == 1) {
		result = "unknown";
		rg_strlcpy(why, "8-bit address, not sent without SMTPUTF8", sizeof(why));
		decide(v, req, CALLOUT_UNKNOWN, "", out);
		goto done;
	}
	vredis_lifetimes(p, &lt);
	st = vredis_cache_get(v->redis, g, &lt, req->rcpt, &e, &up);
	cache = state_name(st, up);
	if (st != CALCACHE_MISS) {
		res.verdict = e.status == CALCACHE_VALID ? CALLOUT_VALID : CALLOUT_INVALID;
		rg_strlcpy(res.reply, e.reply, sizeof(res.reply));
		if (st == CALCACHE_STALE && hopstate_down_left(v->hops, hop) == 0)
			(void)refresh_add(v->bg, req->cfg, p, hop, req->rcpt);
	} else {
		if (*txp == NULL)
			*txp = xcalloc(1, sizeof(**txp));
		live_check(v, &(*txp)->vc, req, &nh, hop, rg_mono_ms() + g->callout_timeout, &res);
		if (up)
			vredis_cache_put(v->redis, g, &lt, req->rcpt, &res);
		if (res.verdict == CALLOUT_UNKNOWN)
			rg_strlcpy(why, res.reply, sizeof(why));
	}
	result = verdict_name(res.verdict);
	decide(v, req, res.verdict, res.reply, out);
done:
	rg_metric_inc(mm_callout, result, cache);
	rg_metric_observe(mm_callout_latency, elapsed_ms(&t0) / 1000.0);
	if (strcmp(result, "harvest") == 0)
		rg_metric_inc(mm_harvest);
	{
		int n = snprintf(out->log, sizeof(out->log),
				 "nexthop=%s result=%s cache=%s latency_ms=%.3f action=%s", hop, result,
				 cache, elapsed_ms(&t0), action_name(out->action));

		if (res.verdict == CALLOUT_INVALID && n > 0 && (size_t)n < sizeof(out->log))
			n += snprintf(out->log + n, sizeof(out->log) - (size_t)n, " reply=\"%s\"",
				      rg_sanitize(safe, sizeof(safe), res.reply, strlen(res.reply)));
		if (*why && n > 0 && (size_t)n < sizeof(out->log))
			n += snprintf(out->log + n, sizeof(out->log) - (size_t)n, " reason=\"%s\"",
				      rg_sanitize(safe, sizeof(safe), why, strlen(why)));
		if (p->dry_run && out->action != VERIFY_ACCEPT && n > 0 && (size_t)n < sizeof(out->log)) {
			snprintf(out->log + n, sizeof(out->log) - (size_t)n, " dry_run=yes");
			out->action = VERIFY_ACCEPT;
		}
	}
}

void
verify_tx_end(struct verify *v, struct verify_tx **txp)
{
	if (*txp == NULL)
		return;
	vconn_close(v, &(*txp)->vc);
	free(*txp);
	*txp = NULL;
}

/* Background re-check of stale entries, all of one hop and sender in one session. */
static void
verify_refresh_run(void *arg, struct refresh_job *const *jobs, int n)
{
	struct verify *v = arg;
	const struct rg_params *g = &jobs[0]->cfg->global;
	struct callout_nexthop nh;
	struct callout_result res;
	struct calcache_lifetimes lt;
	struct vconn vc = {0};
	char hop[HOPSTATE_NAME_MAX], why[CALLOUT_REPLY_MAX], safe[CALLOUT_REPLY_MAX];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (hop_of(jobs[0]->p, jobs[0]->rcpt, &nh, hop, sizeof(hop), why, sizeof(why)) < 0 ||
	    hop_down(v, g, hop) > 0)
		return;
	/* No waiting for a slot: a busy hop is re-checked at a later use. */
	if (vconn_open(v, &vc, g, jobs[0]->p, &nh, hop, rg_mono_ms() + g->callout_timeout, 0, why,
		       sizeof(why)) < 0) {
		msg_info("milter: callout refresh: nexthop=%s recipients=%d result=unknown reason=\"%s\"",
			 hop, n, rg_sanitize(safe, sizeof(safe), why, strlen(why)));
		return;
	}
	for (int i = 0; i < n && vc.c; i++) {
		vconn_rcpt(v, &vc, g, jobs[i]->rcpt, rg_mono_ms() + g->callout_command_timeout, &res);
		vredis_lifetimes(jobs[i]->p, &lt);
		vredis_cache_put(v->redis, g, &lt, jobs[i]->rcpt, &res);
		msg_info("milter: callout refresh: recipient=<%s> nexthop=%s result=%s latency_ms=%.3f",
			 jobs[i]->rcpt, hop, verdict_name(res.verdict), elapsed_ms(&t0));
	}
	vconn_close(v, &vc);
}
