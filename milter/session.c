/*
 * session - see session.h.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "auth_msg.h"
#include "msg.h"
#include "greylist.h"
#include "greylist_rcpt.h"
#include "ratelimit_commit.h"
#include "msgbuf.h"
#include "session_proto.h"
#include "endpoint.h"
#include "session.h"
#include "session_int.h"
#include "slist.h"
#include "spam_strip.h"
#include "util.h"
#include "callout_verify.h"
#include "metrics_milter.h"

static pthread_mutex_t sess_cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rg_config *sess_cfg;
static int sess_cfg_body = 1; /* mproto_cfg_wants_body(sess_cfg), under the lock */
static int sess_noreply = -1; /* no-reply steps: the listener of the first snapshot is unix (mproto.h) */
static struct verify *sess_verify; /* set before smfi_main, cleared after it */

void
session_set_config(struct rg_config *cfg)
{
	struct rg_config *old;
	int body = mproto_cfg_wants_body(cfg);

	pthread_mutex_lock(&sess_cfg_lock);
	old = sess_cfg;
	sess_cfg = cfg;
	sess_cfg_body = body;
	if (sess_noreply < 0 && cfg) /* a new milter_listen takes a restart: the first one counts */
		sess_noreply =
		    cfg->global.milter_listen_ep && cfg->global.milter_listen_ep->kind == RG_EP_UNIX;
	pthread_mutex_unlock(&sess_cfg_lock);
	if (old)
		rg_config_unref(old);
}

void
session_set_verify(struct verify *v)
{
	sess_verify = v;
}

struct rg_config *
session_config(void)
{
	struct rg_config *cfg;

	pthread_mutex_lock(&sess_cfg_lock);
	cfg = sess_cfg ? rg_config_ref(sess_cfg) : NULL; /* none before session_set_config */
	pthread_mutex_unlock(&sess_cfg_lock);
	return cfg;
}

void
smsg_free(struct smsg *m)
{
	if (m == NULL)
		return;
	if (sess_verify)
		verify_tx_end(sess_verify, &m->vtx);
	mlimit_msg_end(&m->lim, 0, "NOQUEUE"); /* not ended at eom: give the places back */
	msgbuf_free(m->mb);
	auth_msg_free(m->auth);
	if (m->cfg)
		rg_config_unref(m->cfg);
	free(m);
}

/* "<a@b>" -> "a@b", bounded and sanitised. */
static void
sess_unbracket(const char *in, char *out, size_t outlen)
{
	size_t len = strlen(in);

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	rg_sanitize(out, outlen, in, len);
}

const char *
sess_qid(SMFICTX *ctx)
{
	const char *q = smfi_getsymval(ctx, "i");

	return q && *q ? q : "NOQUEUE";
}

static sfsistat
sess_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		rg_metric_add(mm_connections, 1);
	}
	rg_sanitize(c->name, sizeof(c->name), hostname ? hostname : "unknown", 255);
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		getnameinfo(
		    sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
		    c->addr, sizeof(c->addr), NULL, 0, NI_NUMERICHOST);
	smfi_setpriv(ctx, c);
	return mproto_continue(c->proto, SMFIP_NR_CONN);
}

static sfsistat
sess_helo(SMFICTX *ctx, char *helo)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	rg_sanitize(c->helo, sizeof(c->helo), helo ? helo : "", sizeof(c->helo));
	return mproto_continue(c->proto, SMFIP_NR_HELO);
}

/*
 * The connection was negotiated without the body (no setting wanted it at
 * connect) but a reload since gave this message settings that scan it:
 * tempfail, and the client's next connection negotiates the body.
 */
static int
sess_body_lost(SMFICTX *ctx, const struct sconn *c, const struct rg_params *p)
{
	if (!(c->proto & SMFIP_NOBODY) || !mproto_wants_body(p))
		return 0;
	msg_info("%s: milter: client=%s[%s] action=defer reason=\"settings changed on reload: this "
		 "connection does not carry the body\"",
		 sess_qid(ctx), c->name, c->addr);
	smfi_setreply(ctx, "451", "4.3.0", "Filter settings changed, please try again");
	return 1;
}

static sfsistat
sess_envfrom(SMFICTX *ctx, char **argv)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct smsg *m;
	const struct rg_entry *e;

	if (c == NULL)
		return SMFIS_ACCEPT;
	smsg_free(c->m);
	c->m = m = xcalloc(1, sizeof(*m));
	m->cfg = session_config();
	sess_unbracket(argv[0] ? argv[0] : "", m->sender, sizeof(m->sender));
	/* With XCLIENT the MTA may report a different client per transaction. */
	{
		const char *a = smfi_getsymval(ctx, "{client_addr}");

		if (a && *a)
			rg_sanitize(c->addr, sizeof(c->addr), a, 63);
	}
	if (*c->addr && (e = rg_config_client(m->cfg, c->addr)) != NULL) {
		m->outbound = 1;
		m->p = e->p;
		m->class_name = e->class_name;
		if (sess_body_lost(ctx, c, m->p))
			return SMFIS_TEMPFAIL;
	}
	m->lim = mlimit_msg_new(ctx, m->cfg, c->addr, m->outbound ? m->p : NULL, m->sender);
	return SMFIS_CONTINUE;
}

/* Do two settings scan (and greylist) a message the same way? */
static int
sess_same_filtering(const struct rg_params *a, const struct rg_params *b)
{
	return a == b ||
	       (a->spam_scan == b->spam_scan && a->spam_reject == b->spam_reject &&
		a->spam_tag_score == b->spam_tag_score && a->spam_reject_score == b->spam_reject_score &&
		a->spam_max_size == b->spam_max_size && a->spam_failure_action == b->spam_failure_action &&
		a->virus_scan == b->virus_scan && a->virus_max_size == b->virus_max_size &&
		a->virus_failure_action == b->virus_failure_action && a->spf_check == b->spf_check &&
		a->dkim_check == b->dkim_check && a->spf_fail_action == b->spf_fail_action &&
		mgrey_same_settings(a, b));
}

/*
 * "<a@b>" -> "a@b" as sent (not sanitised: for lookups and the callout's
 * own checks) into out[SESS_ADDR_MAX + 1]. -1 if longer than SESS_ADDR_MAX.
 */
static int
sess_unbracket_raw(const char *in, char *out)
{
	size_t len = strnlen(in, SESS_ADDR_MAX + 3);

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	if (len > SESS_ADDR_MAX)
		return -1;
	memcpy(out, in, len);
	out[len] = 0;
	return 0;
}

void
sess_would(SMFICTX *ctx, const struct sconn *c, const char *what, const char *rcode, const char *xcode,
	   const char *text)
{
	msg_info("%s: milter: dry_run: would %s with \"%s %s %s\": client=%s[%s]", sess_qid(ctx), what, rcode,
		 xcode, text, c->name, c->addr);
}

/* The recipient callout; SMFIS_CONTINUE when the recipient may go on. */
static sfsistat
sess_callout(SMFICTX *ctx, struct sconn *c, struct smsg *m, const struct rg_entry *e, const char *raw,
	     const char *rcpt)
{
	struct verify_req req = {.cfg = m->cfg, .p = e->p, .client_addr = c->addr};
	struct verify_out out;

	req.rcpt = raw;
	verify_rcpt(sess_verify, &m->vtx, &req, &out);
	/* callout_verify.c applies dry_run itself (its log says dry_run=yes). */
	msg_info("%s: milter: callout: client=%s[%s] recipient=<%s> class=%s %s", sess_qid(ctx), c->name,
		 c->addr, rcpt, e->class_name, out.log);
	if (out.action == VERIFY_ACCEPT)
		return SMFIS_CONTINUE;
	smfi_setreply(ctx, out.rcode, out.xcode, out.text);
	return out.action == VERIFY_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* Greylisting after the callout (mgrey.h); SMFIS_CONTINUE when the recipient may go on. */
static sfsistat
sess_greylist(SMFICTX *ctx, struct sconn *c, struct smsg *m, const struct rg_entry *e, const char *rcpt)
{
	const char *sasl = smfi_getsymval(ctx, "{auth_authen}");
	struct mgrey_req req = {.cfg = m->cfg,
				.p = e->p,
				.client_addr = c->addr,
				.client_name = c->name,
				.sasl_user = sasl ? sasl : "",
				.sender = m->sender,
				.rcpt = rcpt,
				.helo = c->helo};
	struct mgrey_out out;

	if (mlimit_redis() == NULL)
		return SMFIS_CONTINUE;
	mgrey_rcpt(mlimit_redis(), &req, &out);
	msg_info("%s: milter: greylist: client=%s[%s] sender=<%s> recipient=<%s> class=%s %s", sess_qid(ctx),
		 c->name, c->addr, m->sender, rcpt, e->class_name, out.log);
	if (out.action == MGREY_DEFER && e->p->dry_run) {
		sess_would(ctx, c, "defer recipient", "450", "4.7.1", out.text);
	} else if (out.action == MGREY_DEFER) {
		smfi_setreply(ctx, "450", "4.7.1", out.text);
		return SMFIS_TEMPFAIL;
	}
	if (out.delayed >= 0 && m->xgrey[0] == 0)
		greylist_header_value(out.delayed, "relayguard-milter", m->cfg->global.myhostname, m->xgrey,
				      sizeof(m->xgrey));
	return SMFIS_CONTINUE;
}

static sfsistat
sess_envrcpt(SMFICTX *ctx, char **argv)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct smsg *m = c ? c->m : NULL;
	const struct rg_entry *e;
	const char *dom, *arg = argv[0] ? argv[0] : "";
	char rcpt[SESS_LOG_ADDR], raw[SESS_ADDR_MAX + 1];
	sfsistat rc;
	struct rg_slist_res sl;

	if (m == NULL)
		return SMFIS_CONTINUE;
	sess_unbracket(arg, rcpt, sizeof(rcpt));
	if (m->outbound) {
		m->nrcpt++;
		mlimit_rcpt(m->lim, NULL, NULL, 1);
		return SMFIS_CONTINUE;
	}
	/* Decisions read the whole address as sent; rcpt is for the log only. */
	if (sess_unbracket_raw(arg, raw) < 0 ||
	    ((dom = rg_addr_domain(raw)) && rg_addr_domain_overlong(dom))) {
		msg_info("%s: milter: rcpt: client=%s[%s] recipient=<%s> length=%zu action=reject "
			 "reason=\"address too long\"",
			 sess_qid(ctx), c->name, c->addr, rcpt, strlen(arg));
		smfi_setreply(ctx, "501", "5.1.3", "Recipient address rejected: address too long");
		return SMFIS_REJECT;
	}
	dom = rg_addr_domain(raw);
	if (dom == NULL || (e = rg_config_domain(m->cfg, dom)) == NULL)
		return SMFIS_CONTINUE; /* not a customer's: Postfix's own rules decided */
	rg_slist_lookup(e->p->spam_scan ? m->cfg->sender_lists : NULL, raw, m->sender, &sl);
	if (m->p != NULL && (!sess_same_filtering(m->p, e->p) || !rg_slist_same(&m->sl, &sl))) {
		static const char split[] =
		    "Recipients with different filtering settings, please send this one separately";

		msg_info(
		    "%s: milter: rcpt: client=%s[%s] recipient=<%s> action=defer reason=\"filtering settings "
		    "differ from <%s>\"%s",
		    sess_qid(ctx), c->name, c->addr, rcpt, m->first_rcpt,
		    e->p->dry_run ? " dry_run=yes" : "");
		if (!e->p->dry_run) {
			smfi_setreply(ctx, "452", "4.5.3", (char *)split);
			mlimit_rcpt(m->lim, dom, e->p, 0);
			return SMFIS_TEMPFAIL;
		}
		/* dry_run: it joins the message, filtered as the first recipient. */
		sess_would(ctx, c, "defer recipient", "452", "4.5.3", split);
	}
	/* Called out before it may decide the message's settings: a rejected one never does. */
	if (e->p->recipient_callout && sess_verify &&
	    (rc = sess_callout(ctx, c, m, e, raw, rcpt)) != SMFIS_CONTINUE) {
		mlimit_rcpt(m->lim, dom, e->p, 0);
		return rc;
	}
	/* With the callout on, policyd left greylisting to us: known recipients only. */
	if (e->p->recipient_callout && e->p->greylisting &&
	    (rc = sess_greylist(ctx, c, m, e, rcpt)) != SMFIS_CONTINUE) {
		mlimit_rcpt(m->lim, dom, e->p, 0);
		return rc;
	}
	if (m->p == NULL) {
		if (sess_body_lost(ctx, c, e->p))
			return SMFIS_TEMPFAIL;
		m->p = e->p;
		m->sl = sl;
		m->class_name = e->class_name;
		rg_strlcpy(m->first_rcpt, rcpt, sizeof(m->first_rcpt));
	}
	m->nrcpt++;
	mlimit_rcpt(m->lim, dom, e->p, 1);
	return SMFIS_CONTINUE;
}

/* DATA: the recipients are complete, so the callout session can go. */
static sfsistat
sess_data(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->m && sess_verify)
		verify_tx_end(sess_verify, &c->m->vtx);
	return mproto_continue(c->proto, SMFIP_NR_DATA);
}

int
sess_scans(const struct rg_params *p)
{
	return p->spam_scan || p->virus_scan;
}

/* Bytes worth buffering: the largest size a scan of p takes. */
static size_t
sess_buf_limit(const struct rg_params *p)
{
	long long n = p->spam_scan ? p->spam_max_size : 0;

	if (p->virus_scan && p->virus_max_size > n)
		n = p->virus_max_size;
	return (size_t)n;
}

static void
sess_append(struct smsg *m, const char *data, size_t len)
{
	char err[256];

	if (!m->scan || m->too_large)
		return;
	if (msgbuf_size(m->mb) + len > sess_buf_limit(m->p)) {
		/* Not scanned; free the memory now rather than at the end. */
		m->too_large = 1;
		msgbuf_reset(m->mb);
		return;
	}
	if (msgbuf_append(m->mb, data, len, err, sizeof(err)) != 0) {
		msg_warn("milter: cannot buffer message: %s; it will not be scanned", err);
		m->scan = 0;
		m->buffail = 1;
		msgbuf_reset(m->mb);
	}
}

/*
 * Postfix does not show its smtpd_milters the Received: header it is about
 * to add, yet SpamAssassin's network rules need the hop into this relay:
 * spamd gets one written the way Postfix writes it.
 */
static void
sess_received(SMFICTX *ctx, const struct sconn *c, struct smsg *m)
{
	char *buf = NULL, date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	n = asprintf(
	    &buf, "Received: from %s (%s [%s])\r\n\tby %s (Postfix) with ESMTP id %s\r\n\tfor <%s>; %s\r\n",
	    *c->helo ? c->helo : "unknown", c->name, *c->addr ? c->addr : "unknown",
	    m->cfg->global.myhostname, sess_qid(ctx), m->outbound ? m->sender : m->first_rcpt, date);
	if (n > 0)
		sess_append(m, buf, (size_t)n);
	free(buf);
}

int
sess_strips(const struct smsg *m)
{
	return m->p != NULL && (!m->outbound || m->p->spam_scan);
}

static sfsistat
sess_header(SMFICTX *ctx, char *name, char *value)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct smsg *m = c ? c->m : NULL;

	sfsistat cont = c ? mproto_continue(c->proto, SMFIP_NR_HDR) : SMFIS_CONTINUE;

	if (m && m->vtx && sess_verify) /* an MTA that sent no DATA event */
		verify_tx_end(sess_verify, &m->vtx);
	if (m == NULL || m->p == NULL)
		return cont;
	if (m->nhdr++ == 0)
		m->auth = auth_msg_new(&m->cfg->global, m->p, sess_qid(ctx));
	if (m->auth)
		auth_msg_header(m->auth, name, value, c->leadspc);
	if (sess_scans(m->p) && m->mb == NULL) {
		m->scan = 1;
		m->mb = msgbuf_new((size_t)m->cfg->global.milter_memory_buffer, m->cfg->global.milter_tmpdir);
		sess_received(ctx, c, m);
	}
	/* Only we write these: inbound they go whether or not this class is
	 * scanned; outbound only when we scan (and put ours in). */
	if (sess_strips(m) && spam_strip_header(&m->strip, name))
		return cont; /* spamd need not see a forged verdict */
	if (!m->scan)
		return cont;
	sess_append(m, name, strlen(name));
	sess_append(m, ":", 1);
	sess_append(m, value, strlen(value));
	sess_append(m, "\r\n", 2);
	return cont;
}

static sfsistat
sess_eoh(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->m && c->m->auth)
		auth_msg_eoh(c->m->auth);
	if (c->m && c->m->scan)
		sess_append(c->m, "\r\n", 2);
	return mproto_continue(c->proto, SMFIP_NR_EOH);
}

static sfsistat
sess_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct sconn *c = smfi_getpriv(ctx);
	struct smsg *m = c ? c->m : NULL;

	if (m && !mproto_wants_body(m->p)) /* SPF alone, or no check of the body */
		return c->skip_ok ? SMFIS_SKIP : SMFIS_CONTINUE;
	if (m && m->auth)
		auth_msg_body(m->auth, chunk, len);
	else if (m == NULL || !m->scan)
		return c && c->skip_ok ? SMFIS_SKIP : SMFIS_CONTINUE;
	sess_append(m, (const char *)chunk, len);
	return m->too_large && !m->auth && c->skip_ok ? SMFIS_SKIP : SMFIS_CONTINUE;
}

static sfsistat
sess_abort(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c) {
		smsg_free(c->m);
		c->m = NULL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
sess_close(SMFICTX *ctx)
{
	struct sconn *c = smfi_getpriv(ctx);

	if (c) {
		smsg_free(c->m);
		free(c);
		smfi_setpriv(ctx, NULL);
		rg_metric_add(mm_connections, -1);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
sess_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	       unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct sconn *c = xcalloc(1, sizeof(*c));
	int body, nr;

	rg_metric_add(mm_connections, 1);
	(void)f2;
	(void)f3;
	pthread_mutex_lock(&sess_cfg_lock);
	body = sess_cfg_body;
	nr = sess_noreply > 0;
	pthread_mutex_unlock(&sess_cfg_lock);
	/* DATA stays on (no reply): it ends the callout session. See mproto.h. */
	c->proto = mproto_steps(f1, body, nr);
	c->skip_ok = (c->proto & SMFIP_SKIP) != 0;
	c->leadspc = (c->proto & SMFIP_HDR_LEADSPC) != 0;
	smfi_setpriv(ctx, c);
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
	if (f0 & SMFIF_SETSYMLIST)
		mlimit_negotiate(ctx);
	*pf1 = c->proto;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc sess_desc = {
    .xxfi_name = "relayguard-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST,
    .xxfi_connect = sess_connect,
    .xxfi_helo = sess_helo,
    .xxfi_envfrom = sess_envfrom,
    .xxfi_envrcpt = sess_envrcpt,
    .xxfi_data = sess_data,
    .xxfi_header = sess_header,
    .xxfi_eoh = sess_eoh,
    .xxfi_body = sess_body,
    .xxfi_eom = sess_eom,
    .xxfi_abort = sess_abort,
    .xxfi_close = sess_close,
    .xxfi_negotiate = sess_negotiate,
};

struct smfiDesc *
session_filter(void)
{
	return &sess_desc;
}
