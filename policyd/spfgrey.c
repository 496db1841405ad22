/*
 * spfgrey - see spfgrey.h.
 */
#include <stdlib.h>
#include <string.h>

#include "pmetrics.h"
#include "spfgrey.h"
#include "util.h"

struct spfgrey_call {
	spfgrey_cb cb;
	void *arg;
};

static void
spfgrey_done(const struct spfpool_result *r, void *arg)
{
	struct spfgrey_call *call = arg;
	char ident[GREYSPF_IDENT_MAX], note[GREYSPF_NOTE_MAX];
	int known = r->status == SPFPOOL_DONE || r->status == SPFPOOL_CACHED;
	int ok = known && greyspf_identity(&r->out, ident, sizeof(ident));

	rg_metric_inc(pm_greylist_spf, known ? r->out.result : spfpool_status_name(r->status));
	greyspf_note(&r->out, known ? NULL : spfpool_status_name(r->status), r->ms, note, sizeof(note));
	if (r->status == SPFPOOL_CACHED)
		rg_strlcpy(note + strlen(note), " spf_cached=yes", sizeof(note) - strlen(note));
	call->cb(ok ? ident : NULL, note, call->arg);
	free(call);
}

void
spfgrey_check(struct spfpool *sp, const struct rg_params *g, const struct preq *q, spfgrey_cb cb, void *arg)
{
	struct spfgrey_call *call = xmalloc(sizeof(*call));

	call->cb = cb;
	call->arg = arg;
	spfpool_check(sp, g->dns_server_ep, g->greylist_spf_timeout, preq_get(q, PREQ_CLIENT_ADDRESS),
		      preq_get(q, PREQ_HELO_NAME), preq_get(q, PREQ_SENDER), g->myhostname, spfgrey_done,
		      call);
}
