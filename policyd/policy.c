/*
 * policy - see policy.h.
 */
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "cidr.h"
#include "dnsbl.h"
#include "dynip.h"
#include "greylist.h"
#include "spfgrey.h"
#include "ratepolicy.h"
#include "msg.h"
#include "patlist.h"
#include "plog.h"
#include "pmetrics.h"
#include "policy.h"
#include "redis.h"
#include "util.h"

struct policy_snap {
	int refs;
	struct rg_config *cfg;
	struct rg_patlist *wl_clients, *wl_senders, *wl_recipients;
	struct dynip *dynip;
};

struct policy {
	struct event_base *base;
	struct policy_snap *snap;
	struct rg_redis *redis;
	struct rg_script *gl_script;
	struct ratepolicy *limits;
	struct dnsbl *dnsbl;
	struct spfpool *spf; /* greylist_spf: SPF checks off the loop */
};

/* One decision in flight. req stays valid until psrv_reply (server.h). */
struct pdec {
	struct policy *pol;
	struct policy_snap *snap;
	struct pconn *conn;
	const struct preq *req;
	const struct rg_params *p;
	const char *class_name;
	int outbound;
	int inbound_rcpt; /* RCPT for a customer's domain */
	int exempt; /* trusted, authenticated or whitelisted: no dynip/greylist */
	/* inbound: what to answer once the rate-limit reservation passes */
	const char *pass_check;
	/* Texts from here on: only their first byte is cleared per request. */
	char why_exempt[200];
	char client[300], sender[300], rcpt[300];
	char pass_action[512], pass_detail[240];
	char note[400]; /* more fields for the log line (greylist_spf) */
};

/* Resolve a whitelist file name relative to the configuration's folder. */
static void
snap_path(const struct rg_config *cfg, const char *name, char *buf, size_t len)
{
	char dir[1024];

	if (name[0] == '/') {
		rg_strlcpy(buf, name, len);
		return;
	}
	rg_strlcpy(dir, cfg->path, sizeof(dir));
	snprintf(buf, len, "%s/%s", dirname(dir), name);
}

static struct rg_patlist *
snap_patlist(const struct rg_config *cfg, enum rg_pat_kind kind, const struct rg_list *files,
	     struct rg_diag *diag, int *bad)
{
	struct rg_patlist *l = rg_patlist_new(kind);
	char path[1200];

	for (int i = 0; i < files->argc; i++) {
		snap_path(cfg, files->argv[i], path, sizeof(path));
		if (rg_patlist_load(l, path, diag) != 0)
			*bad = 1;
	}
	return l;
}

struct policy_snap *
policy_snap_new(struct rg_config *cfg, struct rg_diag *diag)
{
	struct policy_snap *snap = xcalloc(1, sizeof(*snap));
	const struct rg_params *g = &cfg->global;
	int bad = 0;

	snap->refs = 1;
	snap->cfg = cfg;
	snap->wl_clients = snap_patlist(cfg, RG_PAT_CLIENT, &g->greylist_whitelist_clients, diag, &bad);
	snap->wl_senders = snap_patlist(cfg, RG_PAT_ADDRESS, &g->greylist_whitelist_senders, diag, &bad);
	snap->wl_recipients =
	    snap_patlist(cfg, RG_PAT_ADDRESS, &g->greylist_whitelist_recipients, diag, &bad);
	snap->dynip = dynip_new();
	if (*g->dynamic_ip_patterns) {
		char path[1200], err[512];

		snap_path(cfg, g->dynamic_ip_patterns, path, sizeof(path));
		if (dynip_load_patterns(snap->dynip, path, err, sizeof(err)) < 0) {
			rg_diag_add(diag, NULL, 0, "%s", err);
			bad = 1;
		}
	}
	if (bad) {
		policy_snap_unref(snap);
		return NULL;
	}
	return snap;
}

void
policy_snap_unref(struct policy_snap *snap)
{
	if (snap == NULL || --snap->refs > 0)
		return;
	rg_patlist_free(snap->wl_clients);
	rg_patlist_free(snap->wl_senders);
	rg_patlist_free(snap->wl_recipients);
	dynip_free(snap->dynip);
	rg_config_unref(snap->cfg);
	free(snap);
}

struct policy *
policy_new(struct event_base *base, struct policy_snap *snap)
{
	struct policy *pol = xcalloc(1, sizeof(*pol));

	pol->base = base;
	pol->snap = snap;
	pol->redis = rg_redis_new(base, &snap->cfg->global);
	pol->gl_script = greylist_script(pol->redis);
	pol->limits = ratepolicy_new(pol->redis);
	pol->spf = spfpool_new(base);
	{
		const struct rg_params *g = &snap->cfg->global;
		char err[256];

		pol->dnsbl = dnsbl_new(base, g->dns_server_ep, g->dynamic_ip_dnsbl_timeout, err, sizeof(err));
		if (pol->dnsbl == NULL)
			msg_warn("dnsbl: %s; DNSBL checks are off", err);
	}
	return pol;
}

const struct rg_params *
policy_globals(const struct policy *pol)
{
	return &pol->snap->cfg->global;
}

struct rg_redis *
policy_redis(const struct policy *pol)
{
	return pol->redis;
}

int
policy_reload(struct policy *pol, const char *path)
{
	struct rg_diag diag = {0};
	struct rg_config *cfg = rg_config_load(path, &diag);
	struct policy_snap *snap = cfg ? policy_snap_new(cfg, &diag) : NULL;

	if (snap == NULL) {
		for (int i = 0; i < diag.count; i++)
			msg_error("%s", diag.msgs[i]);
		msg_warn("reload failed: keeping the previous configuration");
		rg_diag_free(&diag);
		return -1;
	}
	rg_diag_free(&diag);
	/* New Redis settings: new requests use them, those in flight finish on the old connection. */
	(void)rg_redis_reconfigure(pol->redis, &cfg->global);
	policy_snap_unref(pol->snap);
	pol->snap = snap;
	msg_info("reload: configuration %s loaded", path);
	return 0;
}

void
policy_free(struct policy *pol)
{
	dnsbl_free(pol->dnsbl);
	spfpool_free(pol->spf); /* answers pending SPF checks: they go on to Redis */
	rg_redis_free(pol->redis); /* fires pending callbacks first */
	ratepolicy_free(pol->limits);
	policy_snap_unref(pol->snap);
	free(pol);
}

/*
 * Answer, log, and release the decision. With dry_run, Postfix hears what
 * relayguard answers when it has no objection -- OK for a registered
 * outbound client (DUNNO there would end in "554 Relay access denied"),
 * DUNNO otherwise -- and the log line says what it would have answered.
 */
static void
pdec_done(struct pdec *d, const char *check, const char *action, const char *detail)
{
	int dry = d->p && d->p->dry_run && strcmp(action, "DUNNO") != 0 && strcmp(action, "OK") != 0;
	const char *sent = dry ? (d->outbound ? "OK" : "DUNNO") : action;
	struct policy_snap *snap = d->snap;

	if (d->inbound_rcpt && (dry || strcmp(action, "DUNNO") == 0 || strncmp(action, "PREPEND ", 8) == 0))
		ratepolicy_remember(d->pol->limits, d->req);

	char qid[40], fields[1200];

	rg_metric_inc(pm_decisions, check, plog_action_name(action), d->class_name ? d->class_name : "none");
	msg_info("%s: %s: client=%s sender=<%s> recipient=<%s> class=%s %s%s%s%s%s%s%s",
		 plog_qid(d->req, qid, 40), check, d->client, d->sender, d->rcpt,
		 d->class_name ? d->class_name : "-", plog_action(action, fields, sizeof(fields)),
		 detail ? " " : "", detail ? detail : "", *d->note ? " " : "", d->note,
		 dry ? " dry_run=yes sent=" : "", dry ? plog_action_name(sent) : "");
	/* d is the connection's scratch: not touched once the reply is sent */
	psrv_reply(d->conn, sent);
	policy_snap_unref(snap);
}

/* buf := reason="<buf>", quoted and escaped (one token). */
static void
pdec_reason(char *buf, size_t len)
{
	char q[300];
	size_t n;

	if (len < 10)
		return;
	/* Sized to fit after "reason=": the closing quote is never cut off. */
	plog_quote(buf, q, len - 7 < sizeof(q) ? len - 7 : sizeof(q));
	n = strlen(q);
	memcpy(buf, "reason=", 7);
	memcpy(buf + 7, q, n + 1);
}

/* Answer without a log line (nothing was decided). */
static void
pdec_quiet(struct pdec *d, const char *action)
{
	struct policy_snap *snap = d->snap;

	psrv_reply(d->conn, action); /* d is gone after this (scratch) */
	policy_snap_unref(snap);
}

static const char *
pdec_failure_action(const struct pdec *d)
{
	enum rg_policy_failure_action fa = d->snap->cfg->global.policy_failure_action;

	if (fa == RG_POLICY_FAIL_DEFER)
		return "DEFER 4.3.0 Policy service temporarily unavailable, try again later";
	if (fa == RG_POLICY_FAIL_DEFER_IF_PERMIT)
		return "DEFER_IF_PERMIT 4.3.0 Policy service temporarily unavailable, try again later";
	return "DUNNO";
}

/*
 * Outbound, the policy sits in smtpd_relay_restrictions before
 * reject_unauth_destination: DUNNO (or DEFER_IF_PERMIT, which a later
 * REJECT beats) would turn a Redis outage into "554 Relay access denied"
 * for a registered customer. Relay permission comes from client_table, not
 * from Redis: fail open means OK, fail closed means a plain DEFER.
 */
static const char *
pdec_outbound_failure_action(const struct pdec *d)
{
	if (d->snap->cfg->global.policy_failure_action == RG_POLICY_FAIL_DUNNO)
		return "OK";
	return "DEFER 4.3.0 Policy service temporarily unavailable, try again later";
}

static void pdec_limited(int over, const char *reply, const char *err, void *arg);

/* Inbound, last step: the recipient passed every check; reserve its place
 * in the rate limits and answer action (logged as check, detail) if it fits. */
static void
pdec_reserve(struct pdec *d, const char *check, const char *action, const char *detail)
{
	d->pass_check = check;
	rg_strlcpy(d->pass_action, action, sizeof(d->pass_action));
	rg_strlcpy(d->pass_detail, detail, sizeof(d->pass_detail));
	ratepolicy_check(d->pol->limits, d->req, d->p, 0, &d->snap->cfg->global, pdec_limited, d);
}

static void
pdec_greylisted(enum greylist_state st, long long secs, const char *err, void *arg)
{
	struct pdec *d = arg;
	char action[512], detail[160];

	rg_metric_inc(pm_greylist, greylist_state_name(st));
	if (st == GREYLIST_ERROR)
		rg_metric_inc(pm_failure, "greylist");
	switch (st) {
	case GREYLIST_ERROR:
		snprintf(detail, sizeof(detail), "redis: %s", err ? err : "error");
		pdec_reason(detail, sizeof(detail));
		pdec_done(d, "greylist", pdec_failure_action(d), detail);
		return;
	case GREYLIST_NEW:
	case GREYLIST_EARLY:
		greylist_defer_text(d->p, secs, 1, action, sizeof(action));
		snprintf(detail, sizeof(detail), "delay=%lld state=%s", secs, greylist_state_name(st));
		pdec_done(d, "greylist", action, detail);
		return;
	case GREYLIST_PASS:
		snprintf(detail, sizeof(detail), "delayed=%lld state=pass", secs);
		if (!d->p->greylist_header) {
			pdec_reserve(d, "greylist", "DUNNO", detail);
			return;
		}
		snprintf(action, sizeof(action), "PREPEND X-Greylist: ");
		greylist_header_value(secs, "relayguard-policyd", d->snap->cfg->global.myhostname,
				      action + 20, sizeof(action) - 20);
		pdec_reserve(d, "greylist", action, detail);
		return;
	case GREYLIST_KNOWN:
	case GREYLIST_AWL:
		snprintf(detail, sizeof(detail), "state=%s", greylist_state_name(st));
		pdec_reserve(d, "greylist", "DUNNO", detail);
		return;
	}
}

/* The triplet of the request, its client part ident (NULL: the network), to Redis. */
static void
pdec_greylist_keyed(struct pdec *d, const char *ident)
{
	const struct preq *q = d->req;
	const struct policy_snap *snap = d->snap;
	struct greylist_triplet t;

	if (greylist_keys(d->p, &snap->cfg->global, preq_get(q, PREQ_CLIENT_ADDRESS),
			  preq_get(q, PREQ_SENDER), preq_get(q, PREQ_RECIPIENT), &t) != 0) {
		pdec_reserve(d, "greylist", "DUNNO", "reason=\"client address not IPv4/IPv6\"");
		return;
	}
	if (ident && greyspf_rekey(&snap->cfg->global, ident, &t) == 0)
		snprintf(d->note + strlen(d->note), sizeof(d->note) - strlen(d->note), " triplet=%s", ident);
	greylist_check(d->pol->redis, d->pol->gl_script, d->p, &t, pdec_greylisted, d);
}

static void
pdec_spf_checked(const char *ident, const char *note, void *arg)
{
	struct pdec *d = arg;

	rg_strlcpy(d->note, note, sizeof(d->note));
	pdec_greylist_keyed(d, ident);
}

/* Inbound: greylisting, then the rate-limit reservation. With
 * recipient_callout the milter greylists, after the callout: an unknown
 * recipient hears 550 at once and leaves no greylist state. With
 * greylist_spf, an SPF check (off the loop, bounded) comes first. */
static void
pdec_greylist(struct pdec *d)
{
	const struct preq *q = d->req;
	const struct policy_snap *snap = d->snap;
	char detail[240];

	if (!d->p->greylisting) {
		pdec_reserve(d, "policy", "DUNNO", "direction=inbound");
		return;
	}
	if (d->exempt) {
		snprintf(detail, sizeof(detail), "reason=%s", d->why_exempt);
		pdec_reserve(d, "greylist", "DUNNO", detail);
		return;
	}
	if (d->p->recipient_callout) {
		pdec_reserve(d, "policy", "DUNNO", "direction=inbound greylist=milter");
		return;
	}
	if (d->p->greylist_spf && *preq_get(q, PREQ_SENDER) && d->pol->spf) {
		spfgrey_check(d->pol->spf, &snap->cfg->global, q, pdec_spf_checked, d);
		return;
	}
	pdec_greylist_keyed(d, NULL);
}

static void
pdec_limited(int over, const char *reply, const char *err, void *arg)
{
	struct pdec *d = arg;
	char detail[300];

	if (err) {
		rg_metric_inc(pm_failure, "ratelimit");
		snprintf(detail, sizeof(detail), "redis: %s", err);
		pdec_reason(detail, sizeof(detail));
		pdec_done(d, "ratelimit",
			  d->outbound ? pdec_outbound_failure_action(d) : pdec_failure_action(d), detail);
	} else if (over) {
		pdec_done(d, "ratelimit", reply, NULL);
	} else if (d->outbound) {
		pdec_done(d, "relay", "OK", "direction=outbound");
	} else {
		pdec_done(d, d->pass_check, d->pass_action, d->pass_detail);
	}
}

static void
pdec_dnsbl_done(int listed, const char *zone, const char *answer, void *arg)
{
	struct pdec *d = arg;
	char action[600], detail[400], z[256], a[64];

	if (listed) {
		rg_sanitize(z, sizeof(z), zone, strlen(zone));
		rg_sanitize(a, sizeof(a), answer, strlen(answer));
		snprintf(action, sizeof(action),
			 "550 5.7.1 Client host [%s] is listed in %s (%s) as a dynamic address; "
			 "mail from end-user lines is not accepted",
			 preq_get(d->req, PREQ_CLIENT_ADDRESS), z, a);
		snprintf(detail, sizeof(detail), "reason=dnsbl zone=%s answer=%s", z, a);
		pdec_done(d, "dynip", action, detail);
		return;
	}
	pdec_greylist(d);
}

/* Inbound: dynamic-IP checks (local names first, DNSBL after), then limits. */
static void
pdec_dynip(struct pdec *d)
{
	const struct preq *q = d->req;
	const char *name = *preq_get(q, PREQ_REVERSE_CLIENT_NAME) ? preq_get(q, PREQ_REVERSE_CLIENT_NAME)
								  : preq_get(q, PREQ_CLIENT_NAME);
	char reason[200], action[600], detail[300], n[200];
	enum dynip_class c;

	if (!d->p->dynamic_ip_blocking || d->exempt) {
		pdec_greylist(d);
		return;
	}
	c = dynip_check(d->snap->dynip, name, preq_get(q, PREQ_CLIENT_ADDRESS), reason, sizeof(reason));
	/* A PTR name that is not forward-confirmed still tells us what the line
	 * is; without a dynamic-looking one, client_name = unknown means the
	 * client has no (verified) reverse DNS name. */
	if (c == DYNIP_STATIC && strcasecmp(preq_get(q, PREQ_CLIENT_NAME), "unknown") == 0) {
		c = DYNIP_NO_RDNS;
		snprintf(reason, sizeof(reason), "client_name unknown");
	}
	if (c == DYNIP_DYNAMIC || (c == DYNIP_NO_RDNS && d->p->dynamic_ip_block_unknown)) {
		rg_sanitize(n, sizeof(n), name, strlen(name));
		if (c == DYNIP_DYNAMIC)
			snprintf(action, sizeof(action),
				 "550 5.7.1 Client host %s[%s] looks like a dynamic address (%s); "
				 "mail from end-user lines is not accepted",
				 n, preq_get(q, PREQ_CLIENT_ADDRESS), reason);
		else
			/* 4xx as Postfix's reject_unknown_reverse_client_hostname:
			 * "unknown" may also be a DNS lookup that timed out. */
			snprintf(action, sizeof(action),
				 "450 4.7.25 Client host [%s] has no reverse DNS name; "
				 "mail servers need one, end-user lines are not accepted",
				 preq_get(q, PREQ_CLIENT_ADDRESS));
		rg_strlcpy(detail, reason, sizeof(detail));
		pdec_reason(detail, sizeof(detail));
		pdec_done(d, "dynip", action, detail);
		return;
	}
	if (d->p->dynamic_ip_dnsbl_bl.n > 0 && d->pol->dnsbl) {
		dnsbl_check(d->pol->dnsbl, &d->p->dynamic_ip_dnsbl_bl, preq_get(q, PREQ_CLIENT_ADDRESS),
			    pdec_dnsbl_done, d);
		return;
	}
	pdec_greylist(d);
}

/* Is the message (declared or actual) bigger than this class allows? */
static int
pdec_too_big(struct pdec *d, long long limit, const char *whose)
{
	long long size = atoll(preq_get(d->req, PREQ_SIZE));
	char action[300], detail[80];

	if (size <= limit)
		return 0;
	snprintf(action, sizeof(action),
		 "552 5.3.4 Message size exceeds fixed limit of %lld bytes for this %s", limit, whose);
	snprintf(detail, sizeof(detail), "size=%lld limit=%lld", size, limit);
	pdec_done(d, "size", action, detail);
	return 1;
}

/* Who is exempt from dynamic-IP blocking and greylisting. */
static void
pdec_exemptions(struct pdec *d)
{
	const struct preq *q = d->req;
	const struct policy_snap *snap = d->snap;
	const char *addr = preq_get(q, PREQ_CLIENT_ADDRESS), *which = NULL;
	char w[160];

	if (*preq_get(q, PREQ_SASL_USERNAME)) {
		d->exempt = 1;
		snprintf(d->why_exempt, sizeof(d->why_exempt), "sasl-authenticated");
	} else if (rg_config_trusted(snap->cfg, addr)) {
		d->exempt = 1;
		snprintf(d->why_exempt, sizeof(d->why_exempt), "trusted_networks");
	} else if (rg_patlist_match(snap->wl_clients, preq_get(q, PREQ_CLIENT_NAME), addr, &which) ||
		   rg_patlist_match(snap->wl_senders, preq_get(q, PREQ_SENDER), NULL, &which) ||
		   rg_patlist_match(snap->wl_recipients, preq_get(q, PREQ_RECIPIENT), NULL, &which)) {
		d->exempt = 1;
		snprintf(d->why_exempt, sizeof(d->why_exempt), "whitelisted pattern=\"%s\"",
			 rg_sanitize(w, sizeof(w), which, strlen(which)));
	}
}

static void
pdec_counted(int over, const char *reply, const char *err, void *arg)
{
	struct pdec *d = arg;

	(void)over;
	(void)reply;
	if (err) {
		char qid[40];

		msg_warn("%s: ratelimit: message from %s not counted: redis: %s", plog_qid(d->req, qid, 40),
			 d->client, err);
	}
	/* Counting never rejects: the message was accepted at RCPT. The line
	 * ties the message's queue id to relayguard in the log. */
	{
		char detail[80];

		snprintf(detail, sizeof(detail), "size=%lld nrcpt=%d", atoll(preq_get(d->req, PREQ_SIZE)),
			 atoi(preq_get(d->req, PREQ_RECIPIENT_COUNT)));
		pdec_done(d, "message", "DUNNO", detail);
	}
}

/* END-OF-MESSAGE: the actual size, then count the message. */
static void
pdec_end_of_message(struct pdec *d)
{
	const struct preq *q = d->req;
	const struct rg_entry *e = rg_config_client(d->snap->cfg, preq_get(q, PREQ_CLIENT_ADDRESS));

	if (e != NULL) {
		d->p = e->p;
		d->class_name = e->class_name;
		if (pdec_too_big(d, e->p->message_size_limit, "client"))
			return;
	} else if (*preq_get(q, PREQ_INSTANCE)) {
		const char *doms[8];
		int n = ratepolicy_instance_domains(d->pol->limits, preq_get(q, PREQ_INSTANCE), doms, 8);

		for (int i = 0; i < n; i++) {
			const struct rg_entry *de = rg_config_domain(d->snap->cfg, doms[i]);

			if (de == NULL)
				continue;
			d->p = de->p;
			d->class_name = de->class_name;
			rg_sanitize(d->rcpt, sizeof(d->rcpt), doms[i], strlen(doms[i]));
			if (pdec_too_big(d, de->p->message_size_limit, "domain"))
				return;
		}
	}
	ratepolicy_count(d->pol->limits, d->snap->cfg, q, pdec_counted, d);
}

void
policy_handle(struct pconn *c, const struct preq *req, void *arg)
{
	struct policy *pol = arg;
	struct pdec *d = psrv_scratch(c, sizeof(*d)); /* no malloc per request */
	const char *state = preq_get(req, PREQ_PROTOCOL_STATE);
	const char *rcpt = preq_get(req, PREQ_RECIPIENT);
	const char *addr = preq_get(req, PREQ_CLIENT_ADDRESS);
	const struct rg_entry *e;
	const char *dom;
	char a[64], n[200];

	/* the fields zeroed, the texts empty: not 2.5 kB cleared per request */
	memset(d, 0, offsetof(struct pdec, why_exempt));
	d->why_exempt[0] = d->client[0] = d->sender[0] = d->rcpt[0] = 0;
	d->pass_action[0] = d->pass_detail[0] = d->note[0] = 0;
	d->pol = pol;
	d->snap = pol->snap;
	d->snap->refs++;
	d->conn = c;
	d->req = req;
	{
		struct rg_sb b; /* "name[addr]", as Postfix logs a client */

		rg_sb_init(&b, d->client, sizeof(d->client));
		rg_sb_str(&b, rg_sanitize(n, sizeof(n), preq_get(req, PREQ_CLIENT_NAME), 200));
		rg_sb_mem(&b, "[", 1);
		rg_sb_str(&b, rg_sanitize(a, sizeof(a), addr, 64));
		rg_sb_mem(&b, "]", 1);
	}
	rg_sanitize(d->sender, sizeof(d->sender), preq_get(req, PREQ_SENDER), 512);
	rg_sanitize(d->rcpt, sizeof(d->rcpt), rcpt, 512);

	if (strcmp(preq_get(req, PREQ_REQUEST), "smtpd_access_policy") != 0) {
		char qid[40];

		msg_warn("%s: policy: %s: unknown request type \"%s\"", plog_qid(req, qid, sizeof(qid)),
			 psrv_peer(c), rg_sanitize(n, sizeof(n), preq_get(req, PREQ_REQUEST), 200));
		pdec_quiet(d, "DUNNO");
		return;
	}
	rg_metric_inc(pm_requests, pmetrics_state(state));
	if (msg_verbose) {
		char st[64], in[128], sz[64];

		msg_debug("policy: %s: state=%s instance=%s size=%s", psrv_peer(c),
			  rg_sanitize(st, sizeof(st), state, strlen(state)),
			  rg_sanitize(in, sizeof(in), preq_get(req, PREQ_INSTANCE), 128),
			  rg_sanitize(sz, sizeof(sz), preq_get(req, PREQ_SIZE), 64));
	}
	if (strcasecmp(state, "END-OF-MESSAGE") == 0) {
		pdec_end_of_message(d);
		return;
	}
	if (strcasecmp(state, "RCPT") != 0) {
		msg_debug("policy: %s: protocol_state=%s: DUNNO", psrv_peer(c),
			  rg_sanitize(n, sizeof(n), state, strlen(state)));
		pdec_quiet(d, "DUNNO");
		return;
	}
	if ((e = rg_config_client(d->snap->cfg, addr)) != NULL) {
		/* Outbound: a registered customer IP may relay, within its limits. */
		d->p = e->p;
		d->class_name = e->class_name;
		d->outbound = 1;
		if (pdec_too_big(d, e->p->message_size_limit, "client"))
			return;
		ratepolicy_check(pol->limits, req, e->p, 1, &d->snap->cfg->global, pdec_limited, d);
		return;
	}
	dom = rg_addr_domain(rcpt);
	if (dom != NULL && rg_addr_domain_overlong(dom)) {
		/* No table lookup can match it, and no check may skip it. */
		pdec_done(d, "policy", "501 5.1.3 Recipient address rejected: domain too long",
			  "reason=\"domain over 253 bytes or a label over 63\"");
		return;
	}
	if (dom == NULL || (e = rg_config_domain(d->snap->cfg, dom)) == NULL) {
		msg_debug("policy: recipient <%s> is not a customer's: DUNNO", d->rcpt);
		pdec_quiet(d, "DUNNO");
		return;
	}
	d->p = e->p;
	d->class_name = e->class_name;
	d->inbound_rcpt = 1;
	if (pdec_too_big(d, e->p->message_size_limit, "domain"))
		return;
	pdec_exemptions(d);
	pdec_dynip(d);
}
