/*
 * virus_scan - see virus_scan.h.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "virus_clamd.h"
#include "virus_scan.h"

#define VIRUS_FA(p) ((p)->virus_failure_action == RG_VIRUS_FAIL_TEMPFAIL ? "tempfail" : "accept")

/* virus_failure_action = tempfail: a scanner that is down lets nothing through unscanned. */
static void
virus_failure_action(const struct rg_params *p, struct virus_out *out)
{
	if (p->virus_failure_action != RG_VIRUS_FAIL_TEMPFAIL)
		return;
	out->action = VIRUS_TEMPFAIL;
	rg_strlcpy(out->rcode, "451", sizeof(out->rcode));
	rg_strlcpy(out->xcode, "4.7.1", sizeof(out->xcode));
	rg_strlcpy(out->text, "Virus scanner unavailable, try again later", sizeof(out->text));
}

void
virus_message(const struct rg_params *g, const struct rg_params *p, const struct msgbuf *mb,
	      enum virus_skip skip, struct virus_out *out)
{
	const struct rg_endpoint *ep = g->clamd_server_ep;
	struct clamd_result r;

	memset(out, 0, sizeof(*out));
	out->action = VIRUS_ACCEPT;
	if (skip == VIRUS_SKIP_TOO_LARGE) {
		snprintf(out->log, sizeof(out->log), "virus=unscanned reason=too-large limit=%lld",
			 p->virus_max_size);
		return;
	}
	if (skip == VIRUS_SKIP_ERROR) {
		snprintf(out->log, sizeof(out->log),
			 "virus=unscanned reason=\"message not buffered\" failure_action=%s", VIRUS_FA(p));
		virus_failure_action(p, out);
		return;
	}
	if (ep == NULL) {
		snprintf(out->log, sizeof(out->log),
			 "virus=unscanned reason=\"no clamd_server\" failure_action=%s", VIRUS_FA(p));
		virus_failure_action(p, out);
		return;
	}
	switch (clamd_instream(ep->kind == RG_EP_UNIX ? ep->path : NULL, ep->host, ep->port,
			       (int)g->clamd_timeout, mb, &r)) {
	case CLAMD_CLEAN:
		snprintf(out->log, sizeof(out->log), "virus=clean");
		return;
	case CLAMD_FOUND:
		out->action = VIRUS_REJECT;
		rg_strlcpy(out->rcode, "550", sizeof(out->rcode));
		rg_strlcpy(out->xcode, "5.7.1", sizeof(out->xcode));
		snprintf(out->text, sizeof(out->text), "Message contains a virus (%s)", r.signature);
		snprintf(out->log, sizeof(out->log), "virus=found signature=%s", r.signature);
		return;
	default:
		snprintf(out->log, sizeof(out->log),
			 "virus=unscanned reason=\"clamd %s: %s\" failure_action=%s",
			 clamd_strstatus(r.status), r.error, VIRUS_FA(p));
		virus_failure_action(p, out);
		return;
	}
}
