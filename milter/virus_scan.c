/*
 * virus_scan - see virus_scan.h.
 */
#include <stdio.h>
#include <string.h>

#include "scan_servers.h"
#include "util.h"
#include "virus_clamd.h"
#include "virus_scan.h"

/* One clamd of clamd_server, for scansrv_run. */
struct virus_try {
	const struct rg_params *g;
	const struct msgbuf *mb;
	struct clamd_result r;
};

static enum scansrv_rc
virus_try_one(const struct rg_endpoint *ep, void *arg)
{
	struct virus_try *t = arg;

	switch (clamd_instream(ep->kind == RG_EP_UNIX ? ep->path : NULL, ep->host, ep->port,
			       (int)t->g->clamd_timeout, t->mb, &t->r)) {
	case CLAMD_ETIMEOUT:
	case CLAMD_ECONNECT:
	case CLAMD_EIO:
	case CLAMD_EPROTO:
		return SCANSRV_FAILED;
	default: /* clean, found, or clamd refused this message ("... ERROR") */
		return SCANSRV_ANSWERED;
	}
}

static const char *
virus_try_why(void *arg)
{
	const struct virus_try *t = arg;

	return t->r.error;
}

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
	struct virus_try t = {.g = g, .mb = mb};
	char srv[300];
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
	if (g->clamd_server_ep.n == 0) {
		snprintf(out->log, sizeof(out->log),
			 "virus=unscanned reason=\"no clamd_server\" failure_action=%s", VIRUS_FA(p));
		virus_failure_action(p, out);
		return;
	}
	scansrv_run("clamd", &g->clamd_server_ep, g->scanner_down_backoff, virus_try_one, virus_try_why, &t,
		    srv, sizeof(srv));
	switch (t.r.status) {
	case CLAMD_CLEAN:
		snprintf(out->log, sizeof(out->log), "virus=clean");
		scansrv_log_add(out->log, sizeof(out->log), srv);
		return;
	case CLAMD_FOUND:
		out->action = VIRUS_REJECT;
		rg_strlcpy(out->rcode, "550", sizeof(out->rcode));
		rg_strlcpy(out->xcode, "5.7.1", sizeof(out->xcode));
		snprintf(out->text, sizeof(out->text), "Message contains a virus (%s)", t.r.signature);
		snprintf(out->log, sizeof(out->log), "virus=found signature=%s", t.r.signature);
		scansrv_log_add(out->log, sizeof(out->log), srv);
		return;
	default:
		snprintf(out->log, sizeof(out->log),
			 "virus=unscanned reason=\"clamd %s: %s\" failure_action=%s",
			 clamd_strstatus(t.r.status), t.r.error, VIRUS_FA(p));
		scansrv_log_add(out->log, sizeof(out->log), srv);
		virus_failure_action(p, out);
		return;
	}
}
