/*
 * policy - see policy.h.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "cidr.h"
#include "greylist.h"
#include "msg.h"
#include "patlist.h"
#include "policy.h"
#include "redis.h"
#include "util.h"

struct policy_snap {
	int refs;
	struct rg_config *cfg;
	struct rg_patlist *wl_clients, *wl_senders, *wl_recipients;
};

struct policy {
	struct event_base *base;
	struct policy_snap *snap;
	struct rg_redis *redis;
	struct rg_script *gl_script;
};

/* One decision in flight. req stays valid until psrv_reply (server.h). */
struct pdec {
	struct policy *pol;
	struct policy_snap *snap;
	struct pconn *conn;
	const struct preq *req;
	const struct rg_params *p;
	const char *class_name;
	char client[300], sender[300], rcpt[300];
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
	return pol;
}

const struct rg_params *
policy_globals(const struct policy *pol)
{
	return &pol->snap->cfg->global;
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
	if (strcmp(cfg->global.redis_server, pol->snap->cfg->global.redis_server) != 0)
		msg_warn("reload: a new redis_server takes effect only after a restart");
	policy_snap_unref(pol->snap);
	pol->snap = snap;
	msg_info("reload: configuration %s loaded", path);
	return 0;
}

void
policy_free(struct policy *pol)
{
	rg_redis_free(pol->redis); /* fires pending callbacks first */
	policy_snap_unref(pol->snap);
	free(pol);
}

/* Answer, log, and release the decision. */
static void
pdec_done(struct pdec *d, const char *check, const char *action, const char *detail)
{
	int dry = d->p && d->p->dry_run && strcmp(action, "DUNNO") != 0;

	msg_info("%s: client=%s sender=<%s> recipient=<%s> class=%s action=%s%s%s%s", check, d->client,
		 d->sender, d->rcpt, d->class_name ? d->class_name : "-", action, detail ? " " : "",
		 detail ? detail : "", dry ? " dry_run=yes" : "");
	psrv_reply(d->conn, dry ? "DUNNO" : action);
	policy_snap_unref(d->snap);
	free(d);
}

static const char *
pdec_failure_action(const struct pdec *d)
{
	const char *fa = d->snap->cfg->global.policy_failure_action;

	if (strcmp(fa, "defer") == 0)
		return "DEFER 4.3.0 Policy service temporarily unavailable, try again later";
	if (strcmp(fa, "defer_if_permit") == 0)
		return "DEFER_IF_PERMIT 4.3.0 Policy service temporarily unavailable, try again later";
	return "DUNNO";
}

/* greylist_defer_text with $delay replaced. */
static void
pdec_defer_text(const struct pdec *d, long long secs, char *buf, size_t len)
{
	const char *t = d->p->greylist_defer_text, *v;
	char num[24];
	size_t o;

	snprintf(num, sizeof(num), "%lld", secs);
	o = (size_t)snprintf(buf, len, "DEFER_IF_PERMIT 4.7.1 ");
	while (*t && o + 1 < len) {
		if (strncmp(t, "$delay", 6) == 0 || strncmp(t, "${delay}", 8) == 0) {
			for (v = num; *v && o + 1 < len; v++)
				buf[o++] = *v;
			t += t[1] == '{' ? 8 : 6;
		} else {
			buf[o++] = *t++;
		}
	}
	buf[o] = 0;
}

static void
pdec_greylisted(enum greylist_state st, long long secs, const char *err, void *arg)
{
	struct pdec *d = arg;
	char action[512], detail[160], date[64];
	time_t now;
	struct tm tm;

	switch (st) {
	case GREYLIST_ERROR:
		snprintf(detail, sizeof(detail), "reason=\"redis: %s\"", err ? err : "error");
		pdec_done(d, "greylist", pdec_failure_action(d), detail);
		return;
	case GREYLIST_NEW:
	case GREYLIST_EARLY:
		pdec_defer_text(d, secs, action, sizeof(action));
		snprintf(detail, sizeof(detail), "delay=%lld state=%s", secs, greylist_state_name(st));
		pdec_done(d, "greylist", action, detail);
		return;
	case GREYLIST_PASS:
		if (!d->p->greylist_header) {
			snprintf(detail, sizeof(detail), "delayed=%lld state=pass", secs);
			pdec_done(d, "greylist", "DUNNO", detail);
			return;
		}
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		snprintf(action, sizeof(action),
			 "PREPEND X-Greylist: delayed %lld seconds by relayguard-policyd at %s; %s", secs,
			 d->snap->cfg->global.myhostname, date);
		snprintf(detail, sizeof(detail), "delayed=%lld state=pass", secs);
		pdec_done(d, "greylist", action, detail);
		return;
	case GREYLIST_KNOWN:
	case GREYLIST_AWL:
		snprintf(detail, sizeof(detail), "state=%s", greylist_state_name(st));
		pdec_done(d, "greylist", "DUNNO", detail);
		return;
	}
}

/* Inbound checks for one recipient of a customer's domain. */
static void
pdec_inbound(struct pdec *d)
{
	const struct preq *q = d->req;
	const struct policy_snap *snap = d->snap;
	const char *addr = preq_get(q, PREQ_CLIENT_ADDRESS);
	const char *name = preq_get(q, PREQ_CLIENT_NAME);
	const char *which = NULL;
	char tkey[256], nkey[128], detail[300], w[200];

	if (!d->p->greylisting) {
		pdec_done(d, "policy", "DUNNO", "reason=\"greylisting off\"");
		return;
	}
	if (*preq_get(q, PREQ_SASL_USERNAME)) {
		pdec_done(d, "greylist", "DUNNO", "reason=sasl-authenticated");
		return;
	}
	if (rg_config_trusted(snap->cfg, addr)) {
		pdec_done(d, "greylist", "DUNNO", "reason=trusted_networks");
		return;
	}
	if (rg_patlist_match(snap->wl_clients, name, addr, &which) ||
	    rg_patlist_match(snap->wl_senders, preq_get(q, PREQ_SENDER), NULL, &which) ||
	    rg_patlist_match(snap->wl_recipients, preq_get(q, PREQ_RECIPIENT), NULL, &which)) {
		snprintf(detail, sizeof(detail), "reason=whitelisted pattern=\"%s\"",
			 rg_sanitize(w, sizeof(w), which, strlen(which)));
		pdec_done(d, "greylist", "DUNNO", detail);
		return;
	}
	if (greylist_keys(d->p, snap->cfg->global.redis_key_prefix, snap->cfg->global.recipient_delimiter,
			  addr, preq_get(q, PREQ_SENDER), preq_get(q, PREQ_RECIPIENT), tkey, sizeof(tkey),
			  nkey, sizeof(nkey)) != 0) {
		pdec_done(d, "greylist", "DUNNO", "reason=\"client address not IPv4/IPv6\"");
		return;
	}
	greylist_check(d->pol->redis, d->pol->gl_script, d->p, tkey, nkey, pdec_greylisted, d);
}

void
policy_handle(struct pconn *c, const struct preq *req, void *arg)
{
	struct policy *pol = arg;
	struct pdec *d = xcalloc(1, sizeof(*d));
	const char *state = preq_get(req, PREQ_PROTOCOL_STATE);
	const char *rcpt = preq_get(req, PREQ_RECIPIENT);
	const char *addr = preq_get(req, PREQ_CLIENT_ADDRESS);
	const struct rg_entry *e;
	const char *dom;
	char a[64], n[200];

	d->pol = pol;
	d->snap = pol->snap;
	d->snap->refs++;
	d->conn = c;
	d->req = req;
	snprintf(d->client, sizeof(d->client), "%s[%s]",
		 rg_sanitize(n, sizeof(n), preq_get(req, PREQ_CLIENT_NAME), 200),
		 rg_sanitize(a, sizeof(a), addr, 64));
	rg_sanitize(d->sender, sizeof(d->sender), preq_get(req, PREQ_SENDER), 512);
	rg_sanitize(d->rcpt, sizeof(d->rcpt), rcpt, 512);

	if (strcmp(preq_get(req, PREQ_REQUEST), "smtpd_access_policy") != 0) {
		msg_warn("policy: %s: unknown request type \"%s\"", psrv_peer(c),
			 rg_sanitize(n, sizeof(n), preq_get(req, PREQ_REQUEST), 200));
		pdec_done(d, "policy", "DUNNO", "reason=\"unknown request\"");
		return;
	}
	if (strcasecmp(state, "RCPT") != 0) {
		/* Nothing to decide before RCPT yet; say so only when debugging. */
		msg_debug("policy: %s: protocol_state=%s: DUNNO", psrv_peer(c), state);
		psrv_reply(c, "DUNNO");
		policy_snap_unref(d->snap);
		free(d);
		return;
	}
	if ((e = rg_config_client(d->snap->cfg, addr)) != NULL) {
		d->p = e->p;
		d->class_name = e->class_name;
		pdec_done(d, "policy", "DUNNO", "direction=outbound");
		return;
	}
	dom = rg_addr_domain(rcpt);
	if (dom == NULL || (e = rg_config_domain(d->snap->cfg, dom)) == NULL) {
		msg_debug("policy: recipient <%s> is not a customer's: DUNNO", d->rcpt);
		psrv_reply(c, "DUNNO");
		policy_snap_unref(d->snap);
		free(d);
		return;
	}
	d->p = e->p;
	d->class_name = e->class_name;
	pdec_inbound(d);
}
