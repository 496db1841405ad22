/*
 * auth_dkim - see auth_dkim.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>

#include <opendkim/dkim.h>

#include "auth_dkim.h"
#include "auth_spf.h"
#include "msg.h"
#include "util.h"

struct auth_dkim {
	DKIM_LIB *lib;
	DKIM *dkim;
	int broken; /* libopendkim refused the message early (e.g. a bad header) */
	DKIM_STAT early; /* its status then */
};

/* A query, answered at once: libopendkim's "start" and "wait" in one. */
struct auth_dkim_q {
	int len; /* response length, -1 = no answer */
};

static int
auth_dkim_qstart(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen, void **qh)
{
	struct auth_dkim_q *q = xcalloc(1, sizeof(*q));

	q->len = srv ? auth_dns_query(srv, (const char *)query, type, buf, buflen) : -1;
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

static int
auth_dkim_qcancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

static int
auth_dkim_qwait(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error, int *dnssec)
{
	struct auth_dkim_q *q = qh;

	(void)srv;
	(void)to;
	if (dnssec)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	if (q->len < 0) {
		if (error)
			*error = 0;
		return DKIM_DNS_ERROR; /* the key query failed: temperror */
	}
	if (bytes)
		*bytes = (size_t)q->len;
	if (error)
		*error = 0;
	return DKIM_DNS_SUCCESS;
}

/* libopendkim's resolver set-up would replace our service handle with
 * its own: ours needs none, and is closed by its owner. */
static int
auth_dkim_dnsinit(void **srv)
{
	(void)srv;
	return 0;
}

static void
auth_dkim_dnsclose(void *srv)
{
	(void)srv;
}

static int
auth_dkim_dnsnop(void *srv, const char *arg)
{
	(void)srv;
	(void)arg;
	return 0;
}

struct auth_dkim *
auth_dkim_new(const char *qid, struct auth_dns *dns, char *err, size_t errlen)
{
	struct auth_dkim *d = xcalloc(1, sizeof(*d));
	DKIM_STAT st = DKIM_STAT_OK;

	if ((d->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(d);
		return NULL;
	}
	dkim_dns_set_init(d->lib, auth_dkim_dnsinit);
	dkim_dns_set_close(d->lib, auth_dkim_dnsclose);
	dkim_dns_set_nslist(d->lib, auth_dkim_dnsnop);
	dkim_dns_set_config(d->lib, auth_dkim_dnsnop);
	dkim_dns_set_trustanchor(d->lib, auth_dkim_dnsnop);
	/* Keys may be asked for as early as the end of the headers. */
	dkim_dns_set_query_service(d->lib, dns);
	dkim_dns_set_query_start(d->lib, auth_dkim_qstart);
	dkim_dns_set_query_cancel(d->lib, auth_dkim_qcancel);
	dkim_dns_set_query_waitreply(d->lib, auth_dkim_qwait);
	{
		/* Broken signatures get handles too: reported as permerror, not none. */
		unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;

		(void)dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	}
	d->dkim = dkim_verify(d->lib, (const unsigned char *)qid, NULL, &st);
	if (d->dkim == NULL) {
		snprintf(err, errlen, "dkim_verify: %d", (int)st);
		dkim_close(d->lib);
		free(d);
		return NULL;
	}
	return d;
}

void
auth_dkim_header(struct auth_dkim *d, const char *name, const char *value, int leadspc)
{
	char *h = NULL;
	int n;

	if (d->broken)
		return;
	n = asprintf(&h, leadspc ? "%s:%s" : "%s: %s", name, value);
	if (n < 0)
		return;
	if ((d->early = dkim_header(d->dkim, (unsigned char *)h, (size_t)n)) != DKIM_STAT_OK)
		d->broken = 1;
	free(h);
}

void
auth_dkim_eoh(struct auth_dkim *d)
{
	if (!d->broken && (d->early = dkim_eoh(d->dkim)) != DKIM_STAT_OK)
		d->broken = 1; /* DKIM_STAT_NOSIG included: nothing to verify */
}

void
auth_dkim_body(struct auth_dkim *d, const unsigned char *buf, size_t len)
{
	if (!d->broken && len)
		(void)dkim_body(d->dkim, (unsigned char *)buf, len);
}

/* RFC 8601 dkim= result of one signature, and a reason for the log. */
static const char *
auth_dkim_sigresult(DKIM_SIGINFO *sig, const char **why)
{
	int err = dkim_sig_geterror(sig);

	*why = dkim_sig_geterrorstr(err);
	if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED) && dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH) {
		*why = "ok";
		return "pass";
	}
	if (err == DKIM_SIGERROR_KEYFAIL)
		return "temperror";
	if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		*why = "body hash mismatch";
		return "fail";
	}
	if (err == DKIM_SIGERROR_BADSIG || err == DKIM_SIGERROR_OK)
		return "fail";
	return "permerror"; /* no key, bad key, bad signature syntax, ... */
}

/* snprintf at the end of buf, cut when full. */
static void RG_PRINTF(3, 4) auth_dkim_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

void
auth_dkim_finish(struct auth_dkim *d, char *ar, size_t arlen, char *log, size_t loglen)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i;
	_Bool testkey = 0;

	ar[0] = log[0] = 0;
	if (!d->broken)
		(void)dkim_eom(d->dkim, &testkey);
	if (dkim_getsiglist(d->dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
		/* No signature, or one libopendkim could not even take apart. */
		const char *r = d->broken && d->early != DKIM_STAT_NOSIG ? "permerror" : "none";

		snprintf(ar, arlen, "dkim=%s", r);
		snprintf(log, loglen, "dkim=%s", r);
		return;
	}
	for (i = 0; i < nsigs && i < AUTH_DKIM_MAXSIGS; i++) {
		const char *why, *res = auth_dkim_sigresult(sigs[i], &why);
		const unsigned char *dom = dkim_sig_getdomain(sigs[i]), *sel = dkim_sig_getselector(sigs[i]);
		char sd[256], ss[256];

		auth_spf_safe_domain(sd, sizeof(sd), dom ? (const char *)dom : "");
		auth_spf_safe_domain(ss, sizeof(ss), sel ? (const char *)sel : "");
		auth_dkim_append(ar, arlen, "%sdkim=%s header.d=%s header.s=%s", i ? "; " : "", res, sd, ss);
		/* The log keeps one token per signature: "dkim=fail:d=example.com:body-hash-mismatch". */
		auth_dkim_append(log, loglen, "%sdkim=%s:d=%s:", i ? " " : "", res, sd);
		for (const char *w = why ? why : "?"; *w; w++)
			auth_dkim_append(log, loglen, "%c", *w == ' ' || *w < 0x21 || *w > 0x7e ? '-' : *w);
	}
}

void
auth_dkim_free(struct auth_dkim *d)
{
	if (d == NULL)
		return;
	if (d->dkim)
		dkim_free(d->dkim);
	if (d->lib)
		dkim_close(d->lib);
	free(d);
}
