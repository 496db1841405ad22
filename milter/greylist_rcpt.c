/*
 * greylist_rcpt - see greylist_rcpt.h.
 */
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greylist.h"
#include "greyspf.h"
#include "lua_scripts.h"
#include "greylist_rcpt.h"
#include "msg.h"
#include "patlist.h"
#include "util.h"

/* The whitelist files of one snapshot, shared by the sessions using it. */
struct mg_wl {
	int refs; /* under mg_lock */
	struct rg_config *cfg; /* referenced */
	struct rg_patlist *clients, *senders, *rcpts;
};

static pthread_mutex_t mg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mg_wl *mg_cur;

static void
mg_wl_unref(struct mg_wl *w)
{
	int last;

	pthread_mutex_lock(&mg_lock);
	last = --w->refs == 0;
	pthread_mutex_unlock(&mg_lock);
	if (!last)
		return;
	rg_patlist_free(w->clients);
	rg_patlist_free(w->senders);
	rg_patlist_free(w->rcpts);
	rg_config_unref(w->cfg);
	free(w);
}

/* Load the files of list (relative names: next to the configuration file). */
static struct rg_patlist *
mg_load(const struct rg_config *cfg, enum rg_pat_kind kind, const struct rg_list *files)
{
	struct rg_patlist *l = rg_patlist_new(kind);
	struct rg_diag diag = {0};
	char dir[1024], path[1200];

	for (int i = 0; i < files->argc; i++) {
		rg_strlcpy(dir, cfg->path, sizeof(dir));
		if (files->argv[i][0] == '/')
			rg_strlcpy(path, files->argv[i], sizeof(path));
		else
			snprintf(path, sizeof(path), "%s/%s", dirname(dir), files->argv[i]);
		rg_patlist_load(l, path, &diag);
	}
	for (int i = 0; i < diag.count; i++)
		msg_warn("milter: greylist whitelist: %s", diag.msgs[i]);
	rg_diag_free(&diag);
	return l;
}

/* The whitelists of cfg (referenced; release with mg_wl_unref). */
static struct mg_wl *
mg_wl_get(struct rg_config *cfg)
{
	struct mg_wl *w, *old = NULL;

	pthread_mutex_lock(&mg_lock);
	if (mg_cur && mg_cur->cfg == cfg) {
		w = mg_cur;
		w->refs++;
		pthread_mutex_unlock(&mg_lock);
		return w;
	}
	pthread_mutex_unlock(&mg_lock);
	w = xcalloc(1, sizeof(*w));
	w->cfg = rg_config_ref(cfg);
	w->clients = mg_load(cfg, RG_PAT_CLIENT, &cfg->global.greylist_whitelist_clients);
	w->senders = mg_load(cfg, RG_PAT_ADDRESS, &cfg->global.greylist_whitelist_senders);
	w->rcpts = mg_load(cfg, RG_PAT_ADDRESS, &cfg->global.greylist_whitelist_recipients);
	w->refs = 2; /* the caller's and mg_cur's */
	pthread_mutex_lock(&mg_lock);
	old = mg_cur;
	mg_cur = w;
	pthread_mutex_unlock(&mg_lock);
	if (old)
		mg_wl_unref(old);
	return w;
}

/* Why the request is exempt (into why), or 0. */
static int
mg_exempt(const struct mgrey_req *q, char *why, size_t len)
{
	struct mg_wl *w;
	const char *which = NULL;
	char pat[160];
	int hit;

	if (*q->sasl_user) {
		snprintf(why, len, "sasl-authenticated");
		return 1;
	}
	if (rg_config_trusted(q->cfg, q->client_addr)) {
		snprintf(why, len, "trusted_networks");
		return 1;
	}
	w = mg_wl_get(q->cfg);
	hit = rg_patlist_match(w->clients, q->client_name, q->client_addr, &which) ||
	      rg_patlist_match(w->senders, q->sender, NULL, &which) ||
	      rg_patlist_match(w->rcpts, q->rcpt, NULL, &which);
	if (hit)
		snprintf(why, len, "whitelisted pattern=\"%s\"",
			 rg_sanitize(pat, sizeof(pat), which, strlen(which)));
	mg_wl_unref(w);
	return hit;
}

/* greylist_spf: an SPF pass makes the triplet the sender domain's (src/greyspf.h). */
static void
mg_spf(const struct mgrey_req *q, struct greylist_triplet *t, char *note, size_t len)
{
	const struct rg_params *g = &q->cfg->global;
	struct auth_spf_out spf;
	char ident[GREYSPF_IDENT_MAX], err[256];
	long long t0 = rg_mono_ms();

	greyspf_eval(g->dns_server_ep, g->greylist_spf_timeout, q->client_addr, q->helo, q->sender,
		     g->myhostname, &spf, err, sizeof(err));
	greyspf_note(&spf, *err ? "dns_server" : NULL, rg_mono_ms() - t0, note, len);
	if (greyspf_identity(&spf, ident, sizeof(ident)) && greyspf_rekey(g, ident, t) == 0)
		snprintf(note + strlen(note), len - strlen(note), " triplet=%s", ident);
}

void
mgrey_rcpt(struct rg_redis_pool *r, const struct mgrey_req *q, struct mgrey_out *out)
{
	const struct rg_params *g = &q->cfg->global;
	char why[200], err[256], note[GREYSPF_NOTE_MAX + GREYSPF_IDENT_MAX + 10];
	struct greylist_triplet t;
	struct greylist_args a;
	enum greylist_state st;
	const char *perr = NULL;
	redisReply *rep;
	long long secs;

	memset(out, 0, sizeof(*out));
	out->action = MGREY_ACCEPT;
	out->delayed = -1;
	if (mg_exempt(q, why, sizeof(why))) {
		snprintf(out->log, sizeof(out->log), "action=accept reason=%s", why);
		return;
	}
	if (greylist_keys(q->p, g, q->client_addr, q->sender, q->rcpt, &t) != 0) {
		snprintf(out->log, sizeof(out->log), "action=accept reason=\"client address not IPv4/IPv6\"");
		return;
	}
	note[0] = 0;
	if (q->p->greylist_spf && *q->sender)
		mg_spf(q, &t, note, sizeof(note));
	greylist_argv(&a, q->p, &t);
	rep = rg_redis_pool_eval(r, rg_lua_greylist, 2, 9, a.argv, NULL, err, sizeof(err));
	greylist_triplet_free(&t);
	if (rep == NULL) {
		st = GREYLIST_ERROR;
		perr = err;
	} else {
		st = greylist_parse(rep, &secs, &perr);
		freeReplyObject(rep);
	}
	switch (st) {
	case GREYLIST_ERROR:
		if (g->policy_failure_action != RG_POLICY_FAIL_DUNNO) {
			out->action = MGREY_DEFER;
			snprintf(out->text, sizeof(out->text),
				 "Greylisting temporarily unavailable, try again later");
		}
		snprintf(out->log, sizeof(out->log), "action=%s reason=\"redis: %s\"",
			 out->action == MGREY_DEFER ? "defer" : "accept", perr ? perr : "error");
		break;
	case GREYLIST_NEW:
	case GREYLIST_EARLY:
		out->action = MGREY_DEFER;
		greylist_defer_text(q->p, secs, 0, out->text, sizeof(out->text));
		for (char *c = out->text; *c; c++) /* libmilter takes '%' as a format */
			if (*c == '%' || (unsigned char)*c < 32)
				*c = ' ';
		snprintf(out->log, sizeof(out->log), "action=defer delay=%lld state=%s", secs,
			 greylist_state_name(st));
		break;
	case GREYLIST_PASS:
		out->delayed = q->p->greylist_header ? secs : -1;
		snprintf(out->log, sizeof(out->log), "action=accept delayed=%lld state=pass", secs);
		break;
	case GREYLIST_KNOWN:
	case GREYLIST_AWL:
		snprintf(out->log, sizeof(out->log), "action=accept state=%s", greylist_state_name(st));
		break;
	}
	if (*note && strlen(out->log) + strlen(note) + 2 < sizeof(out->log))
		snprintf(out->log + strlen(out->log), sizeof(out->log) - strlen(out->log), " %s", note);
}

int
mgrey_same_settings(const struct rg_params *a, const struct rg_params *b)
{
	if (a->greylisting != b->greylisting)
		return 0;
	return !a->greylisting ||
	       (a->greylist_delay == b->greylist_delay &&
		a->greylist_retry_window == b->greylist_retry_window &&
		a->greylist_whitelist_lifetime == b->greylist_whitelist_lifetime &&
		a->greylist_ipv4_prefix == b->greylist_ipv4_prefix &&
		a->greylist_ipv6_prefix == b->greylist_ipv6_prefix &&
		a->greylist_auto_whitelist == b->greylist_auto_whitelist &&
		a->greylist_header == b->greylist_header && a->greylist_spf == b->greylist_spf);
}
