/*
 * auth_msg - see auth_msg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_dkim.h"
#include "auth_dns.h"
#include "auth_msg.h"
#include "auth_spf.h"
#include "msg.h"
#include "util.h"

#define AUTH_AR_NAME "Authentication-Results"
#define AUTH_MAX_FORGED 32 /* our-id A-R headers we delete; more: tempfail */

struct auth_msg {
	const struct rg_params *p;
	char id[256]; /* authserv-id: myhostname */
	struct auth_dkim *dkim;
	struct auth_dns dns; /* the message's resolver, open from the first header */
	int dns_ok;
	char dns_err[256];
	long long dns_total; /* ms for all of the message's queries */
	int nar; /* A-R headers seen (any authserv-id) */
	int nforged;
	int forged[AUTH_MAX_FORGED]; /* their 1-based indices among A-R headers */
	int overflow;
};

struct auth_msg *
auth_msg_new(const struct rg_params *g, const struct rg_params *p, const char *qid)
{
	struct auth_msg *a;
	char err[128];

	if (!p->spf_check && !p->dkim_check)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->p = p;
	rg_strlcpy(a->id, g->myhostname, sizeof(a->id));
	a->dns_total = 3 * g->auth_dns_timeout;
	a->dns_ok = auth_dns_open(&a->dns, g->dns_server_ep, g->auth_dns_timeout, a->dns_total, a->dns_err,
				  sizeof(a->dns_err)) == 0;
	if (p->dkim_check &&
	    (a->dkim = auth_dkim_new(qid, a->dns_ok ? &a->dns : NULL, err, sizeof(err))) == NULL)
		msg_warn("%s: milter: dkim: %s; not verified", qid, err);
	return a;
}

/* Past CFWS (RFC 5322 3.2.2): white space and (nested (comments)) with
 * quoted-pairs. NULL when a comment does not end. */
static const char *
auth_cfws(const char *s)
{
	for (;;) {
		int depth = 0;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			return s;
		for (; *s; s++) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0)
				break;
		}
		if (*s == 0)
			return NULL;
		s++;
	}
}

/*
 * RFC 8601 2.2: authserv-id = value (a token or a quoted-string), after
 * optional CFWS. Read the way a consumer may read it, so that
 * "(x) ours; ..." and "\"ours\"; ..." are ours too and get deleted: a
 * forged verdict must not survive by its spelling. The token ends at
 * white space, a control byte or a tspecial (RFC 2045).
 */
int
auth_msg_authserv_is(const char *id, const char *value)
{
	char tok[256];
	size_t n = 0;

	if ((value = auth_cfws(value)) == NULL)
		return 0;
	if (*value == '"') {
		for (value++; *value && *value != '"'; value++) {
			if (*value == '\\' && value[1])
				value++;
			if (n + 1 >= sizeof(tok))
				return 0;
			tok[n++] = *value;
		}
	} else {
		for (; *value && (unsigned char)*value > 0x20 && (unsigned char)*value < 0x7f &&
		       strchr("()<>@,;:\\\"/[]?=", *value) == NULL;
		     value++) {
			if (n + 1 >= sizeof(tok))
				return 0;
			tok[n++] = *value;
		}
	}
	tok[n] = 0;
	return n > 0 && strcasecmp(tok, id) == 0;
}

void
auth_msg_header(struct auth_msg *a, const char *name, const char *value, int leadspc)
{
	if (a->dkim)
		auth_dkim_header(a->dkim, name, value, leadspc);
	if (strcasecmp(name, AUTH_AR_NAME) != 0)
		return;
	a->nar++;
	if (!auth_msg_authserv_is(a->id, value))
		return;
	if (a->nforged == AUTH_MAX_FORGED)
		a->overflow = 1;
	else
		a->forged[a->nforged++] = a->nar;
}

void
auth_msg_eoh(struct auth_msg *a)
{
	if (a->dkim)
		auth_dkim_eoh(a->dkim);
}

void
auth_msg_body(struct auth_msg *a, const unsigned char *buf, size_t len)
{
	if (a->dkim)
		auth_dkim_body(a->dkim, buf, len);
}

sfsistat
auth_msg_eom(struct auth_msg *a, SMFICTX *ctx, const char *client_addr, const char *helo, const char *sender,
	     int leadspc, struct auth_reply *reply, char *log, size_t loglen)
{
	sfsistat rc = SMFIS_CONTINUE;
	struct auth_spf_out spf;
	char hdr[1400], dlog[400] = "", dar[1000] = "";
	int n;

	log[0] = 0;
	memset(reply, 0, sizeof(*reply));
	if (!a->dns_ok)
		msg_warn("milter: auth: %s; SPF and DKIM report temperror", a->dns_err);
	else
		auth_dns_rearm(&a->dns, a->dns_total);
	n = snprintf(hdr, sizeof(hdr), "%s%s", leadspc ? " " : "", a->id);
	if (a->p->spf_check) {
		if (a->dns_ok)
			auth_spf_check(&a->dns, client_addr, helo, sender, a->id, &spf);
		else {
			memset(&spf, 0, sizeof(spf));
			rg_strlcpy(spf.result, "temperror", sizeof(spf.result));
			rg_strlcpy(spf.ptype, "smtp.mailfrom", sizeof(spf.ptype));
			auth_spf_safe_domain(spf.domain, sizeof(spf.domain),
					     strrchr(sender, '@') ? strrchr(sender, '@') + 1 : helo);
		}
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, ";\n\tspf=%s %s=%s", spf.result, spf.ptype,
			      spf.domain);
	}
	if (a->p->dkim_check) {
		if (a->dkim)
			auth_dkim_finish(a->dkim, dar, sizeof(dar), dlog, sizeof(dlog));
		else {
			snprintf(dar, sizeof(dar), "dkim=temperror");
			snprintf(dlog, sizeof(dlog), "dkim=temperror");
		}
		if ((size_t)n < sizeof(hdr))
			n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, ";\n\t%s", dar);
	}
	snprintf(log, loglen, "%s%s%s%s removed=%d%s", a->p->spf_check ? "spf=" : "",
		 a->p->spf_check ? spf.result : "", a->p->spf_check && a->p->dkim_check ? " " : "",
		 a->p->dkim_check ? dlog : "", a->nforged, a->overflow ? "+" : "");
	if (a->p->spf_check && strcmp(spf.result, "fail") == 0 &&
	    a->p->spf_fail_action == RG_SPF_FAIL_REJECT) {
		rg_strlcpy(reply->rcode, "550", sizeof(reply->rcode));
		rg_strlcpy(reply->xcode, "5.7.23", sizeof(reply->xcode));
		snprintf(reply->text, sizeof(reply->text),
			 "SPF check failed: %s does not designate this host as permitted", spf.domain);
		rc = SMFIS_REJECT;
	}
	if (a->overflow && rc == SMFIS_CONTINUE) {
		/* A forged verdict we cannot delete must not reach the customer. */
		rg_strlcpy(reply->rcode, "451", sizeof(reply->rcode));
		rg_strlcpy(reply->xcode, "4.7.1", sizeof(reply->xcode));
		rg_strlcpy(reply->text, "Too many Authentication-Results headers in the message",
			   sizeof(reply->text));
		rc = SMFIS_TEMPFAIL;
	}
	/* Forged verdicts go first, highest index first so none shifts. */
	for (int i = a->nforged - 1; i >= 0; i--)
		smfi_chgheader(ctx, AUTH_AR_NAME, a->forged[i], NULL);
	if (smfi_insheader(ctx, 0, AUTH_AR_NAME, hdr) != MI_SUCCESS)
		smfi_addheader(ctx, AUTH_AR_NAME, hdr);
	return rc;
}

void
auth_msg_free(struct auth_msg *a)
{
	if (a == NULL)
		return;
	auth_dkim_free(a->dkim);
	auth_dns_close(&a->dns);
	free(a);
}
