/*
 * dnsbl - asynchronous DNS blocklist look-ups of a client address (libevent
 * evdns), for the dynamic-IP check against PBL-style lists.
 *
 * Zones come from dynamic_ip_dnsbl, parsed once at load (struct rg_dnsbls,
 * config.h): "zone" (any 127.x answer lists) or "zone=127.0.0.10|127.0.0.11"
 * (only these answers list). All zones are asked at once; the answer comes when all
 * have answered or dynamic_ip_dnsbl_timeout passed. A DNS failure or
 * timeout is "not listed": a broken resolver never blocks mail.
 *
 * Contract: single-threaded (event loop); the callback fires exactly once,
 * never from inside dnsbl_check.
 */
#ifndef RG_POLICYD_DNSBL_H
#define RG_POLICYD_DNSBL_H

#include <stddef.h>
#include <event2/event.h>

#include "config.h"

struct dnsbl;

/* listed: 1 with zone and answer ("127.0.0.11") set, else 0. */
typedef void (*dnsbl_cb)(int listed, const char *zone, const char *answer, void *arg);

/* server: NULL = /etc/resolv.conf, else dns_server's address. NULL on error. */
struct dnsbl *dnsbl_new(struct event_base *base, const struct rg_endpoint *server, long long timeout_ms,
			char *err, size_t errlen);
void dnsbl_free(struct dnsbl *d);
void dnsbl_check(struct dnsbl *d, const struct rg_dnsbls *zones, const char *addr, dnsbl_cb cb, void *arg);

/* The query name for addr in zone ("5.113.0.203.zone", nibbles for IPv6).
 * Returns 0, or -1 if addr is not an address. Exported for tests. */
int dnsbl_qname(const char *addr, const char *zone, char *buf, size_t len);

#endif
