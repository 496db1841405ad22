/*
 * callout_dns - the callout module's DNS half: MX lookup with a private
 * resolver state (res_ninit/res_nquery, so threads never share one), the
 * MX answer parser, the own-name filter for fallback MX hosts, and nexthop
 * parsing. See callout.h for the contracts. Every err argument here is
 * optional (NULL, 0).
 *
 * Trust boundary: DNS answers are untrusted; ns_initparse/ns_parserr bound
 * every read, and a host name that is not a plain DNS name is skipped.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <limits.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "util.h"
#include "callout.h"

/* A plain DNS host name: letters, digits, '-', '_', '.'; 1..CALLOUT_HOST_MAX. */
static int
hostname_ok(const char *h, size_t len)
{
	if (len == 0 || len > CALLOUT_HOST_MAX || h[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    c != '.' && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

/* Copy a host name without its trailing dot. */
static void
set_host(char *dst, const char *src, size_t len)
{
	if (len > 1 && src[len - 1] == '.')
		len--;
	memcpy(dst, src, len);
	dst[len] = 0;
}

int
callout_mx_parse(const unsigned char *ans, int anslen, unsigned port, struct callout_target *out,
		 size_t outmax, int *nullmx)
{
	ns_msg msg;
	ns_rr rr;
	size_t n = 0;
	int count, i, sawnull = 0;

	if (nullmx)
		*nullmx = 0;
	if (ans == NULL || anslen <= 0 || ns_initparse(ans, anslen, &msg) < 0)
		return -1;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		char name[NS_MAXDNAME];
		const unsigned char *rd;
		size_t len, pos;
		int pref;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in)
			continue; /* e.g. the CNAME that led here */
		if (ns_rr_rdlen(rr) < 3)
			return -1;
		rd = ns_rr_rdata(rr);
		pref = (rd[0] << 8) | rd[1];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2, name, sizeof(name)) < 0)
			return -1;
		len = strlen(name);
		if (len == 0 || strcmp(name, ".") == 0) {
			sawnull = 1; /* RFC 7505: "this domain accepts no mail" */
			continue;
		}
		if (!hostname_ok(name, len))
			continue;
		/* Insert after every host of equal or better preference (stable), keep the best outmax. */
		for (pos = n; pos > 0 && out[pos - 1].pref > pref; pos--)
			;
		if (pos >= outmax)
			continue;
		if (n == outmax)
			n--;
		memmove(&out[pos + 1], &out[pos], (n - pos) * sizeof(*out));
		set_host(out[pos].host, name, len);
		out[pos].port = port;
		out[pos].pref = pref;
		n++;
	}
	if (n == 0 && sawnull && nullmx)
		*nullmx = 1;
	return (int)n;
}

/* Does the domain answer a query of type (A or AAAA) with data? 1 yes, 0 no, -1 temporary failure. */
static int
has_records(res_state rs, const char *domain, int type, unsigned char *ans, int anssize)
{
	if (res_nquery(rs, domain, ns_c_in, type, ans, anssize) >= 0)
		return 1;
	return rs->res_h_errno == HOST_NOT_FOUND || rs->res_h_errno == NO_DATA ? 0 : -1;
}

int
callout_mx_lookup(const char *domain, unsigned port, struct callout_target *out, size_t outmax, char *err,
		  size_t errlen)
{
	char spare[1];
	struct __res_state rs;
	unsigned char *ans;
	size_t dlen = domain ? strnlen(domain, CALLOUT_HOST_MAX + 1) : 0;
	int n, nullmx = 0, a;

	if (err == NULL || errlen == 0)
		err = spare, errlen = sizeof(spare); /* err is optional */
	if (!hostname_ok(domain, dlen) || outmax == 0) {
		snprintf(err, errlen, "bad domain name");
		return 0;
	}
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0) {
		snprintf(err, errlen, "cannot initialise the resolver");
		return -1;
	}
	ans = xmalloc(NS_MAXMSG);
	n = res_nquery(&rs, domain, ns_c_in, ns_t_mx, ans, NS_MAXMSG);
	if (n < 0) {
		if (rs.res_h_errno == HOST_NOT_FOUND) {
			snprintf(err, errlen, "domain not found");
			n = 0;
			goto out;
		}
		if (rs.res_h_errno != NO_DATA) {
			snprintf(err, errlen, "MX lookup failed (temporary)");
			n = -1;
			goto out;
		}
		n = 0;
	} else if ((n = callout_mx_parse(ans, n, port, out, outmax, &nullmx)) < 0) {
		snprintf(err, errlen, "malformed MX answer");
		goto out;
	}
	if (nullmx) {
		snprintf(err, errlen, "null MX: the domain accepts no mail");
		n = 0;
		goto out;
	}
	if (n > 0)
		goto out;
	/* No MX: the domain's own address is its implicit MX (RFC 5321 5.1). */
	if ((a = has_records(&rs, domain, ns_t_a, ans, NS_MAXMSG)) == 0)
		a = has_records(&rs, domain, ns_t_aaaa, ans, NS_MAXMSG);
	if (a < 0) {
		snprintf(err, errlen, "address lookup failed (temporary)");
		n = -1;
	} else if (a == 0) {
		snprintf(err, errlen, "no MX and no address records");
		n = 0;
	} else {
		set_host(out[0].host, domain, dlen);
		out[0].port = port;
		out[0].pref = 0;
		n = 1;
	}
out:
	xfree(ans);
	res_nclose(&rs);
	return n;
}

/* Host names equal without case and without a trailing dot. */
static int
same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

size_t
callout_mx_filter(struct callout_target *t, size_t n, const char *const *own, size_t nown)
{
	int best = INT_MAX;
	size_t i, j, k;

	for (i = 0; i < n; i++)
		for (j = 0; j < nown; j++)
			if (own[j] && same_host(t[i].host, own[j]) && t[i].pref < best)
				best = t[i].pref;
	if (best == INT_MAX)
		return n;
	for (i = k = 0; i < n; i++)
		if (t[i].pref < best)
			t[k++] = t[i];
	return k;
}

void
callout_nexthop_from_ep(const struct rg_endpoint *ep, struct callout_nexthop *nh)
{
	memset(nh, 0, sizeof(*nh));
	rg_strlcpy(nh->host, ep->host, sizeof(nh->host));
	nh->port = (unsigned)ep->port;
	nh->literal = ep->literal;
	/* Brackets mean "no MX lookup"; an MX lookup of an address means nothing. */
	nh->mx = !ep->bracketed && !ep->literal;
}

int
callout_nexthop_parse(const char *spec, unsigned defport, struct callout_nexthop *nh, char *err,
		      size_t errlen)
{
	char spare[1], e[300];
	struct rg_endpoint ep;

	if (err == NULL || errlen == 0)
		err = spare, errlen = sizeof(spare); /* err is optional */
	memset(nh, 0, sizeof(*nh));
	nh->port = defport;
	if (rg_endpoint_parse(spec ? spec : "", RG_EP_NOUNIX, (int)defport, &ep, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "nexthop %s", e);
		return -1;
	}
	callout_nexthop_from_ep(&ep, nh);
	return 0;
}

int
callout_resolve(const struct callout_nexthop *nh, const char *const *own, size_t nown,
		struct callout_target *out, size_t outmax, char *err, size_t errlen)
{
	char spare[1];
	int n;

	if (err == NULL || errlen == 0)
		err = spare, errlen = sizeof(spare); /* err is optional */
	if (outmax == 0) {
		snprintf(err, errlen, "no room for targets");
		return 0;
	}
	if (!nh->mx) {
		rg_strlcpy(out[0].host, nh->host, sizeof(out[0].host));
		out[0].port = nh->port;
		out[0].pref = 0;
		return 1;
	}
	if ((n = callout_mx_lookup(nh->host, nh->port, out, outmax, err, errlen)) <= 0)
		return n;
	if ((n = (int)callout_mx_filter(out, (size_t)n, own, nown)) == 0)
		snprintf(err, errlen, "this relay is the best MX host of %.100s: nobody to ask", nh->host);
	return n;
}
