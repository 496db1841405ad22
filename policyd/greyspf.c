/*
 * greyspf - see greyspf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greyspf.h"
#include "rkeys.h"
#include "util.h"

struct greyspf_call {
	greyspf_cb cb;
	void *arg;
};

int
greyspf_identity(const struct auth_spf_out *out, char *buf, size_t len)
{
	buf[0] = 0;
	if (strcmp(out->result, "pass") != 0 || strcmp(out->ptype, "smtp.mailfrom") != 0 ||
	    strcmp(out->domain, "invalid") == 0 || out->domain[0] == 0 || strlen(out->domain) + 5 > len)
		return 0;
	/* auth_spf_safe_domain left [A-Za-z0-9._-] only: no brace, no glob, no space. */
	snprintf(buf, len, "spf:%s", out->domain);
	rg_lowercase(buf);
	return 1;
}

int
greyspf_rekey(const struct rg_params *g, const char *ident, struct greylist_triplet *t)
{
	struct rkeys k;
	char tkey[RKEYS_MAX], nkey[RKEYS_MAX];

	rkeys_from_params(&k, g);
	if (rkeys_greylist(&k, ident, t->sender, t->rcpt, tkey, sizeof(tkey)) < 0 ||
	    rkeys_awl(&k, ident, nkey, sizeof(nkey)) < 0)
		return -1;
	memcpy(t->tkey, tkey, sizeof(tkey));
	memcpy(t->nkey, nkey, sizeof(nkey));
	return 0;
}

static void
greyspf_done(const struct spfpool_result *r, void *arg)
{
	struct greyspf_call *call = arg;
	char ident[GREYSPF_IDENT_MAX], note[400];
	int ok = greyspf_identity(&r->out, ident, sizeof(ident));

	if (r->status == SPFPOOL_DONE || r->status == SPFPOOL_CACHED)
		snprintf(note, sizeof(note), "spf=%s spf_domain=%s%s", r->out.result, r->out.domain,
			 r->status == SPFPOOL_CACHED ? " spf_cached=yes" : "");
	else
		snprintf(note, sizeof(note), "spf=temperror spf_domain=%s spf_error=%s spf_ms=%lld",
			 r->out.domain, spfpool_status_name(r->status), r->ms);
	call->cb(ok ? ident : NULL, note, call->arg);
	free(call);
}

void
greyspf_check(struct spfpool *sp, const struct rg_params *g, const struct preq *q, greyspf_cb cb, void *arg)
{
	struct greyspf_call *call = xmalloc(sizeof(*call));

	call->cb = cb;
	call->arg = arg;
	spfpool_check(sp, g->dns_server_ep, g->greylist_spf_timeout, preq_get(q, PREQ_CLIENT_ADDRESS),
		      preq_get(q, PREQ_HELO_NAME), preq_get(q, PREQ_SENDER), g->myhostname, greyspf_done,
		      call);
}
