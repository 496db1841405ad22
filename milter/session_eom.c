/*
 * session_eom - the end of a message (see session_int.h): the checks that
 * need the whole message, in order -- SPF/DKIM (auth_msg), the virus scan,
 * the spam sender lists and the spam scan -- each refusal set on Postfix
 * (or, under dry_run, only logged), then our headers, then the rate limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_msg.h"
#include "metrics_milter.h"
#include "msg.h"
#include "ratelimit_commit.h"
#include "session_int.h"
#include "spam_hdr.h"
#include "spam_lists.h"
#include "spam_scan.h"
#include "util.h"
#include "virus_scan.h"

/* A refusal by one of the end-of-message checks: set it, or with dry_run only log it. */
static sfsistat
sess_refuse(SMFICTX *ctx, const struct sconn *c, const struct smsg *m, sfsistat rc, const char *rcode,
	    const char *xcode, const char *text)
{
	if (rc == SMFIS_CONTINUE)
		return rc;
	if (m->p->dry_run) {
		sess_would(ctx, c, rc == SMFIS_REJECT ? "reject message" : "defer message", rcode, xcode,
			   text);
		return SMFIS_CONTINUE;
	}
	smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text);
	return rc;
}

static const char *
sess_act(sfsistat rc)
{
	return rc == SMFIS_REJECT ? "reject" : rc == SMFIS_TEMPFAIL ? "defer" : "accept";
}

/* SPF and DKIM, and our Authentication-Results header; SMFIS_CONTINUE when it may go on. */
static sfsistat
sess_auth(SMFICTX *ctx, const struct sconn *c, const struct smsg *m)
{
	struct auth_reply r;
	char log[600];
	sfsistat rc =
	    auth_msg_eom(m->auth, ctx, c->addr, c->helo, m->sender, c->leadspc, &r, log, sizeof(log));

	msg_info("%s: milter: auth: client=%s[%s] sender=<%s> recipient=<%s> class=%s %s action=%s%s",
		 sess_qid(ctx), c->name, c->addr, m->sender, m->outbound ? "-" : m->first_rcpt,
		 m->class_name ? m->class_name : "-", log, sess_act(rc),
		 m->p->dry_run && rc != SMFIS_CONTINUE ? " dry_run=yes" : "");
	return sess_refuse(ctx, c, m, rc, r.rcode, r.xcode, r.text);
}

/* The virus scan of the buffered message; SMFIS_CONTINUE when it may go on. */
static sfsistat
sess_virus(SMFICTX *ctx, const struct sconn *c, const struct smsg *m)
{
	struct virus_out vo;
	sfsistat rc = SMFIS_CONTINUE;

	virus_message(&m->cfg->global, m->p, m->mb,
		      m->too_large || msgbuf_size(m->mb) > (size_t)m->p->virus_max_size ? VIRUS_SKIP_TOO_LARGE
		      : m->buffail                                                      ? VIRUS_SKIP_ERROR
											: VIRUS_DO,
		      &vo);
	if (vo.action != VIRUS_ACCEPT)
		rc = vo.action == VIRUS_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	msg_info("%s: milter: virus: client=%s[%s] sender=<%s> recipient=<%s> nrcpt=%d class=%s size=%zu %s "
		 "action=%s%s",
		 sess_qid(ctx), c->name, c->addr, m->sender, m->outbound ? "-" : m->first_rcpt, m->nrcpt,
		 m->class_name ? m->class_name : "-", msgbuf_size(m->mb), vo.log, sess_act(rc),
		 m->p->dry_run && rc != SMFIS_CONTINUE ? " dry_run=yes" : "");
	return sess_refuse(ctx, c, m, rc, vo.rcode, vo.xcode, vo.text);
}

/* A sender on the recipient's deny list where the class rejects spam. */
static sfsistat
sess_denied(SMFICTX *ctx, const struct sconn *c, const struct smsg *m)
{
	msg_info("%s: milter: spam: client=%s[%s] sender=<%s> recipient=<%s> nrcpt=%d class=%s list=deny "
		 "action=reject%s",
		 sess_qid(ctx), c->name, c->addr, m->sender, m->first_rcpt, m->nrcpt,
		 m->class_name ? m->class_name : "-", m->p->dry_run ? " dry_run=yes" : "");
	return sess_refuse(ctx, c, m, SMFIS_REJECT, "550", "5.7.1",
			   "Message rejected as spam (sender on the recipient's deny list)");
}

/* Add one header of ours. With SMFIP_HDR_LEADSPC the MTA takes the value
 * as is: it gets the space after the colon from us. */
static void
sess_addheader(SMFICTX *ctx, const struct sconn *c, const char *name, const char *value)
{
	char *sp = NULL;

	if (c->leadspc && asprintf(&sp, " %s", value) > 0)
		value = sp;
	smfi_addheader(ctx, (char *)name, (char *)value);
	free(sp);
}

/* Add our headers; X-Spam-Report outbound only with outbound_spam_report. */
static void
sess_add_headers(SMFICTX *ctx, const struct sconn *c, const struct smsg *m, const struct spamhdr_set *h)
{
	for (int i = 0; i < h->n; i++) {
		if (m->outbound && !m->p->outbound_spam_report && strcmp(h->f[i].name, "X-Spam-Report") == 0)
			continue;
		sess_addheader(ctx, c, h->f[i].name, h->f[i].value);
	}
}

static sfsistat
sess_eom_scan(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct smsg *m = c ? c->m : NULL;
	struct scan_out *out;
	sfsistat rc = SMFIS_CONTINUE;
	const char *act;
	struct rg_params eff;
	int dry;

	if (m)
		rg_metric_inc(mm_messages, m->outbound ? "outbound" : m->p ? "inbound" : "other");
	if (m == NULL || m->p == NULL || (!sess_strips(m) && !sess_scans(m->p) && m->auth == NULL))
		return SMFIS_CONTINUE;
	dry = m->p->dry_run;
	if (m->auth && (rc = sess_auth(ctx, c, m)) != SMFIS_CONTINUE)
		goto done;
	if (sess_scans(m->p) && m->mb == NULL) /* no header at all: still scan the (empty) message */
		m->mb = msgbuf_new(4096, m->cfg->global.milter_tmpdir);
	if (m->p->virus_scan && (rc = sess_virus(ctx, c, m)) != SMFIS_CONTINUE)
		goto done;
	if (!sess_strips(m))
		goto done;
	if (m->p->spam_scan && spam_lists_refuse(m->p, &m->sl) &&
	    (rc = sess_denied(ctx, c, m)) != SMFIS_CONTINUE)
		goto done;
	out = xcalloc(1, sizeof(*out));
	if (m->p->spam_scan) {
		scan_message(&m->cfg->global, spam_lists_params(m->p, &m->sl, &eff), m->mb,
			     m->too_large || msgbuf_size(m->mb) > (size_t)m->p->spam_max_size
				 ? SCAN_SKIP_TOO_LARGE
			     : m->buffail ? SCAN_SKIP_ERROR
					  : SCAN_DO,
			     out);
	} else {
		/* Not scanned by this class's choice: no mark, only the strip. */
		out->action = SCAN_ACCEPT;
		rg_strlcpy(out->log, "scanned=no reason=class", sizeof(out->log));
		if (spam_strip_empty(&m->strip)) {
			free(out);
			goto done;
		}
	}
	spam_strip_guard(&m->strip, out); /* a forged verdict we cannot delete never passes */
	act = out->action == SCAN_REJECT ? "reject" : out->action == SCAN_TEMPFAIL ? "defer" : "tag";
	if (out->action != SCAN_ACCEPT && !dry) {
		smfi_setreply(ctx, out->rcode, out->xcode, out->text);
		rc = out->action == SCAN_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	} else {
		spam_strip_apply(&m->strip, ctx);
		sess_add_headers(ctx, c, m, &out->hdrs);
	}
	msg_info("%s: milter: spam: client=%s[%s] sender=<%s> recipient=<%s> nrcpt=%d class=%s size=%zu %s "
		 "removed=%d%s list=%s action=%s%s",
		 sess_qid(ctx), c->name, c->addr, m->sender, m->outbound ? "-" : m->first_rcpt, m->nrcpt,
		 m->class_name ? m->class_name : "-", m->mb ? msgbuf_size(m->mb) : 0, out->log,
		 m->strip.total, m->strip.overflow ? "+" : "", rg_slist_verdict_name(m->sl.verdict), act,
		 dry && out->action != SCAN_ACCEPT ? " dry_run=yes" : "");
	if (dry && out->action != SCAN_ACCEPT)
		sess_would(ctx, c, out->action == SCAN_REJECT ? "reject message" : "defer message",
			   out->rcode, out->xcode, out->text);
	scan_out_free(out);
	free(out);
done:
	smsg_free(m);
	c->m = NULL;
	return rc;
}

sfsistat
sess_eom(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct mlimit_msg *lim = NULL;
	char qid[64], xgrey[300] = "";
	sfsistat rc;

	rg_strlcpy(qid, sess_qid(ctx), sizeof(qid));
	if (c && c->m) {
		lim = c->m->lim;
		c->m->lim = NULL;
		rg_strlcpy(xgrey, c->m->xgrey, sizeof(xgrey));
	}
	rc = sess_eom_scan(ctx);
	if (*xgrey && (rc == SMFIS_CONTINUE || rc == SMFIS_ACCEPT))
		sess_addheader(ctx, c, "X-Greylist", xgrey);
	mlimit_msg_end(&lim, rc == SMFIS_CONTINUE || rc == SMFIS_ACCEPT, qid);
	return rc;
}
