/*
 * auth_dns - see auth_dns.h.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_dns.h"
#include "util.h"

int
auth_dns_open(struct auth_dns *d, const struct rg_endpoint *server, long long timeout_ms, long long total_ms,
	      char *err, size_t errlen)
{
	int secs = (int)((timeout_ms + 999) / 1000);

	memset(d, 0, sizeof(*d));
	if (res_ninit(&d->res) != 0) {
		snprintf(err, errlen, "cannot initialise the resolver");
		return -1;
	}
	d->open = 1;
	d->deadline = rg_mono_ms() + total_ms;
	/* One try per query; no search list: we ask fully qualified names. */
	d->res.retrans = d->retrans = secs < 1 ? 1 : secs;
	d->res.retry = 1;
	d->res.options &= ~(RES_DNSRCH | RES_DEFNAMES);
	d->res.options |= RES_USE_EDNS0; /* DKIM keys outgrow 512 bytes */
	if (server) {
		struct in_addr in;

		/* res_state takes IPv4 name servers with a port; IPv6 ones only
		 * through glibc internals. */
		if (server->kind != RG_EP_INET || inet_pton(AF_INET, server->host, &in) != 1) {
			snprintf(err, errlen, "dns_server %.200s: SPF and DKIM need an IPv4 address",
				 server->host);
			auth_dns_close(d);
			return -1;
		}
		d->res.nscount = 1;
		d->res.nsaddr_list[0].sin_family = AF_INET;
		d->res.nsaddr_list[0].sin_addr = in;
		d->res.nsaddr_list[0].sin_port = htons((unsigned short)server->port);
	}
	return 0;
}

int
auth_dns_query(struct auth_dns *d, const char *name, int type, unsigned char *ans, size_t anslen)
{
	unsigned char q[NS_PACKETSZ + 64];
	long long left = d->deadline - rg_mono_ms();
	int qlen, n;

	if (!d->open || left <= 0) {
		d->timeouts++;
		return -1;
	}
	/* Never wait past the check's deadline. */
	if (left < d->res.retrans * 1000LL)
		d->res.retrans = (int)((left + 999) / 1000);
	qlen = res_nmkquery(&d->res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof(q));
	if (qlen < 0)
		return -1;
	n = res_nsend(&d->res, q, qlen, ans, (int)(anslen > 65535 ? 65535 : anslen));
	if (n < 0)
		d->timeouts++;
	return n < 0 ? -1 : n;
}

int
auth_dns_status(const unsigned char *ans, int len)
{
	ns_msg msg;

	if (len < 0)
		return TRY_AGAIN;
	if (ns_initparse(ans, len, &msg) < 0)
		return NO_RECOVERY;
	switch (ns_msg_getflag(msg, ns_f_rcode)) {
	case ns_r_noerror:
		return ns_msg_count(msg, ns_s_an) > 0 ? NETDB_SUCCESS : NO_DATA;
	case ns_r_nxdomain:
		return HOST_NOT_FOUND;
	case ns_r_servfail:
		return TRY_AGAIN;
	default:
		return NO_RECOVERY;
	}
}

void
auth_dns_rearm(struct auth_dns *d, long long total_ms)
{
	d->deadline = rg_mono_ms() + total_ms;
	d->res.retrans = d->retrans;
}

void
auth_dns_close(struct auth_dns *d)
{
	if (d->open)
		res_nclose(&d->res);
	d->open = 0;
}
