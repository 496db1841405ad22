/*
 * scan - see spam_scan.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_servers.h"
#include "spam_scan.h"
#include "spam_spamd.h"
#include "util.h"
#include "metrics_milter.h"

/* One spamd of spamd_server, for scansrv_run. */
struct scan_try {
	const struct rg_params *g, *p;
	const struct spamd_seg *seg;
	size_t nseg;
	struct spamd_result *r;
};

static enum scansrv_rc
scan_try_one(const struct rg_endpoint *ep, void *arg)
{
	struct scan_try *t = arg;

	switch (spamd_check_ep(ep, (int)t->g->spamd_timeout, t->g->spamd_user, t->seg, t->nseg,
			       (size_t)t->p->spam_max_size, t->r)) {
	case SPAMD_ETIMEOUT:
	case SPAMD_ECONNECT:
	case SPAMD_EIO:
	case SPAMD_EPROTO:
		return SCANSRV_FAILED;
	default: /* a verdict, or a refusal of this message (EX_ code, too big) */
		return SCANSRV_ANSWERED;
	}
}

static const char *
scan_try_why(void *arg)
{
	const struct scan_try *t = arg;

	return t->r->error;
}

static void
scan_log_tests(char *buf, size_t len, const char *tests)
{
	/* The log line stays readable: at most ~200 bytes of rule names. */
	rg_sanitize(buf, len < 200 ? len : 200, tests && *tests ? tests : "none",
		    strlen(tests ? tests : "none"));
}

#define SCAN_FA(p) ((p)->spam_failure_action == RG_SPAM_FAIL_TEMPFAIL ? "tempfail" : "accept")

/* spam_failure_action = tempfail: never a 5xx without a score. */
static void
scan_failure_action(const struct rg_params *p, struct scan_out *out)
{
	if (p->spam_failure_action != RG_SPAM_FAIL_TEMPFAIL)
		return;
	out->action = SCAN_TEMPFAIL;
	rg_strlcpy(out->rcode, "451", sizeof(out->rcode));
	rg_strlcpy(out->xcode, "4.7.1", sizeof(out->xcode));
	rg_strlcpy(out->text, "Content scanner unavailable, try again later", sizeof(out->text));
}

void
scan_message(const struct rg_params *g, const struct rg_params *p, const struct msgbuf *mb,
	     enum scan_skip skip, struct scan_out *out)
{
	struct spamd_result *r;
	struct spamhdr_in in;
	struct spamd_seg seg[2];
	const char *mem;
	size_t memlen, filelen, nseg = 0;
	int fd;
	char score[32], req[32], tests[220], srv[300];

	memset(out, 0, sizeof(*out));
	memset(&in, 0, sizeof(in));
	out->action = SCAN_ACCEPT;
	in.required = p->spam_tag_score;
	in.host = g->myhostname;
	if (skip == SCAN_SKIP_TOO_LARGE) {
		in.scan = SPAMHDR_SKIP_TOO_LARGE;
		rg_metric_inc(mm_spam, "unscanned");
		snprintf(out->log, sizeof(out->log), "scanned=no reason=too-large limit=%lld",
			 p->spam_max_size);
		spamhdr_build(&in, &out->hdrs);
		return;
	}
	if (skip == SCAN_SKIP_ERROR) {
		in.scan = SPAMHDR_SKIP_ERROR;
		rg_metric_inc(mm_spam, "unscanned");
		snprintf(out->log, sizeof(out->log),
			 "scanned=no reason=\"message not buffered\" failure_action=%s", SCAN_FA(p));
		scan_failure_action(p, out);
		spamhdr_build(&in, &out->hdrs);
		return;
	}
	msgbuf_parts(mb, &mem, &memlen, &fd, &filelen);
	if (memlen)
		seg[nseg++] = spamd_seg_mem(mem, memlen);
	if (fd >= 0 && filelen)
		seg[nseg++] = spamd_seg_file(fd, 0, filelen);
	r = xmalloc(sizeof(*r));
	if (g->spamd_server_ep.n == 0) {
		memset(r, 0, sizeof(*r));
		r->status = SPAMD_ECONNECT;
		rg_strlcpy(r->error, "no spamd_server", sizeof(r->error));
		rg_strlcpy(srv, "spamd=none", sizeof(srv));
	} else {
		struct scan_try t = {g, p, seg, nseg, r};
		double t0 = rg_metric_now();

		scansrv_run("spamd", &g->spamd_server_ep, g->scanner_down_backoff, scan_try_one, scan_try_why,
			    &t, srv, sizeof(srv));
		rg_metric_observe(mm_spamd_latency, rg_metric_now() - t0);
	}
	if (r->status != SPAMD_OK) {
		rg_metric_inc(mm_spamd_errors, mmetrics_spamd_status(r->status));
		rg_metric_inc(mm_spam, "unscanned");
		/* ETOOBIG is "too large" only when the message is; a reply over
		 * the cap is spamd misbehaving. */
		in.scan = r->status == SPAMD_ETOOBIG && msgbuf_size(mb) > (size_t)p->spam_max_size
			      ? SPAMHDR_SKIP_TOO_LARGE
			  : r->status == SPAMD_ECONNECT || r->status == SPAMD_ETIMEOUT
			      ? SPAMHDR_SKIP_UNAVAILABLE
			      : SPAMHDR_SKIP_ERROR;
		snprintf(out->log, sizeof(out->log), "scanned=no reason=\"spamd %s: %s\" failure_action=%s",
			 spamd_strstatus(r->status), r->error, SCAN_FA(p));
		scansrv_log_add(out->log, sizeof(out->log), srv);
		if (in.scan != SPAMHDR_SKIP_TOO_LARGE)
			scan_failure_action(p, out);
		spamhdr_build(&in, &out->hdrs);
		free(r);
		return;
	}
	in.scan = SPAMHDR_SCANNED;
	in.score = r->score;
	in.tests = r->tests_known ? r->tests : NULL;
	in.report = r->report;
	spamhdr_score(r->score, score, sizeof(score));
	spamhdr_score(p->spam_tag_score, req, sizeof(req));
	scan_log_tests(tests, sizeof(tests), in.tests);
	snprintf(out->log, sizeof(out->log), "score=%s required=%s spam=%s tests=%s", score, req,
		 spamhdr_is_spam(r->score, p->spam_tag_score) ? "yes" : "no", tests);
	scansrv_log_add(out->log, sizeof(out->log), srv);
	rg_metric_inc(mm_spam, p->spam_reject && r->score >= p->spam_reject_score ? "reject"
			       : spamhdr_is_spam(r->score, p->spam_tag_score)     ? "spam"
										  : "ham");
	if (p->spam_reject && r->score >= p->spam_reject_score) {
		out->action = SCAN_REJECT;
		rg_strlcpy(out->rcode, "550", sizeof(out->rcode));
		rg_strlcpy(out->xcode, "5.7.1", sizeof(out->xcode));
		snprintf(out->text, sizeof(out->text), "Message rejected as spam (score %s)", score);
	}
	/* Built for a reject too: under dry_run the message goes on, tagged. */
	spamhdr_build(&in, &out->hdrs);
	free(r);
}

void
scan_out_free(struct scan_out *out)
{
	spamhdr_free(&out->hdrs);
}
