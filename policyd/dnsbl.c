/*
 * dnsbl - see dnsbl.h.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "dnsbl.h"
#include "msg.h"
#include "util.h"

#define DNSBL_MAX_ZONES RG_DNSBL_MAXZONES
#define DNSBL_MAX_CODES RG_DNSBL_MAXCODES

struct dnsbl {
	struct event_base *base;
	struct evdns_base *dns;
	long long timeout_ms;
};

struct dnsbl_q {
	struct dnsbl_job *job;
	char zone[256];
	int ncodes;
	struct in_addr codes[DNSBL_MAX_CODES];
	int listed;
	char answer[INET_ADDRSTRLEN];
};

struct dnsbl_job {
	int nq, pending, fired;
	int warned;
	struct dnsbl_q q[DNSBL_MAX_ZONES];
	struct event *timer;
	dnsbl_cb cb;
	void *arg;
};

struct dnsbl *
dnsbl_new(struct event_base *base, const struct rg_endpoint *server, long long timeout_ms, char *err,
	  size_t errlen)
{
	struct dnsbl *d = xcalloc(1, sizeof(*d));
	char t[32], hp[300];

	d->base = base;
	d->timeout_ms = timeout_ms;
	d->dns = evdns_base_new(base, 0);
	if (d->dns == NULL) {
		snprintf(err, errlen, "cannot create a DNS resolver");
		free(d);
		return NULL;
	}
	if (server) {
		/* "ip:port" / "[v6]:port": the spelling evdns takes. */
		if (evdns_base_nameserver_ip_add(d->dns, rg_endpoint_hostport(server, hp, sizeof(hp))) != 0) {
			snprintf(err, errlen, "dns_server %s: not an address", hp);
			dnsbl_free(d);
			return NULL;
		}
	} else if (evdns_base_resolv_conf_parse(d->dns, DNS_OPTION_NAMESERVERS, "/etc/resolv.conf") != 0) {
		msg_warn("dnsbl: cannot read /etc/resolv.conf; using 127.0.0.1");
		evdns_base_nameserver_ip_add(d->dns, "127.0.0.1");
	}
	snprintf(t, sizeof(t), "%.3f", (double)timeout_ms / 1000.0);
	evdns_base_set_option(d->dns, "timeout:", t);
	evdns_base_set_option(d->dns, "attempts:", "1");
	evdns_base_set_option(d->dns, "randomize-case:", "0");
	return d;
}

void
dnsbl_free(struct dnsbl *d)
{
	if (d == NULL)
		return;
	evdns_base_free(d->dns, 1); /* pending requests fire with an error */
	free(d);
}

int
dnsbl_qname(const char *addr, const char *zone, char *buf, size_t len)
{
	unsigned char b[16];
	char *o = buf;
	size_t left = len;

	if (inet_pton(AF_INET, addr, b) == 1) {
		snprintf(buf, len, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], zone);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, b) != 1)
		return -1;
	if (b[0] == 0 && b[1] == 0 && memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		snprintf(buf, len, "%u.%u.%u.%u.%s", b[15], b[14], b[13], b[12], zone);
		return 0;
	}
	for (int i = 15; i >= 0 && left > 4; i--) {
		int n = snprintf(o, left, "%x.%x.", b[i] & 0xf, b[i] >> 4);

		o += n;
		left -= (size_t)n;
	}
	snprintf(o, left, "%s", zone);
	return 0;
}

static void
dnsbl_finish(struct dnsbl_job *j)
{
	int i;

	if (j->fired)
		return;
	j->fired = 1;
	event_del(j->timer);
	for (i = 0; i < j->nq; i++)
		if (j->q[i].listed)
			break;
	if (i < j->nq)
		j->cb(1, j->q[i].zone, j->q[i].answer, j->arg);
	else
		j->cb(0, NULL, NULL, j->arg);
}

static void
dnsbl_maybe_free(struct dnsbl_job *j)
{
	if (j->fired && j->pending == 0) {
		event_free(j->timer);
		free(j);
	}
}

static void
dnsbl_answer(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct dnsbl_q *q = arg;
	struct dnsbl_job *j = q->job;
	const struct in_addr *a = addrs;

	(void)ttl;
	j->pending--;
	if (result == DNS_ERR_NONE && type == DNS_IPv4_A) {
		for (int i = 0; i < count && !q->listed; i++) {
			uint32_t ip = ntohl(a[i].s_addr);

			/* Only 127.0.0.0/8 answers are listings (RFC 5782); 127.255.255.x
			 * is a list's error code (e.g. "query refused", "public resolver")
			 * and 127.0.0.1 is not a listing either: never block on them. */
			if ((ip >> 24) != 127 || (ip >> 8) == 0x7fffff || ip == 0x7f000001) {
				if ((ip >> 8) == 0x7fffff && !q->job->warned) {
					char e[INET_ADDRSTRLEN];

					q->job->warned = 1;
					msg_warn("dnsbl: %s answered %s, an error code, not a listing",
						 q->zone, inet_ntop(AF_INET, &a[i], e, sizeof(e)));
				}
				continue;
			}
			if (q->ncodes == 0)
				q->listed = 1;
			for (int k = 0; k < q->ncodes; k++)
				if (q->codes[k].s_addr == a[i].s_addr)
					q->listed = 1;
			if (q->listed)
				inet_ntop(AF_INET, &a[i], q->answer, sizeof(q->answer));
		}
	}
	if (j->pending == 0)
		dnsbl_finish(j);
	dnsbl_maybe_free(j);
}

static void
dnsbl_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl_job *j = arg;

	(void)fd;
	(void)what;
	/* Unanswered zones count as not listed; their late answers are ignored. */
	dnsbl_finish(j);
	dnsbl_maybe_free(j);
}

void
dnsbl_check(struct dnsbl *d, const struct rg_dnsbls *zones, const char *addr, dnsbl_cb cb, void *arg)
{
	struct dnsbl_job *j = xcalloc(1, sizeof(*j));
	struct timeval tv = {d->timeout_ms / 1000 + 1, (d->timeout_ms % 1000) * 1000};
	char qname[512];

	j->cb = cb;
	j->arg = arg;
	j->timer = evtimer_new(d->base, dnsbl_timeout, j);
	/* Parsed at load (struct rg_dnsbls): copy what the answers are matched against. */
	for (int i = 0; i < zones->n && j->nq < DNSBL_MAX_ZONES; i++) {
		const struct rg_dnsbl *z = &zones->v[i];
		struct dnsbl_q *q = &j->q[j->nq++];

		q->job = j;
		rg_strlcpy(q->zone, z->zone, sizeof(q->zone));
		for (int k = 0; k < z->ncodes && q->ncodes < DNSBL_MAX_CODES; k++)
			memcpy(&q->codes[q->ncodes++].s_addr, z->codes[k], 4);
	}
	evtimer_add(j->timer, &tv);
	if (j->nq == 0 || dnsbl_qname(addr, "", qname, sizeof(qname)) != 0) {
		j->nq = 0;
		event_active(j->timer, EV_TIMEOUT, 0);
		return;
	}
	/* One extra count while queries go out, so that an answer given
	 * synchronously cannot finish (and free) the job under our feet. */
	j->pending = 1;
	for (int i = 0; i < j->nq; i++) {
		dnsbl_qname(addr, j->q[i].zone, qname, sizeof(qname));
		j->pending++;
		if (evdns_base_resolve_ipv4(d->dns, qname, DNS_QUERY_NO_SEARCH, dnsbl_answer, &j->q[i]) ==
		    NULL)
			j->pending--;
	}
	if (--j->pending == 0)
		event_active(j->timer, EV_TIMEOUT, 0);
}
