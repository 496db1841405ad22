/*
 * auth_dns - the one DNS resolver of the SPF and DKIM checks (the
 * milter's, and policyd's SPF-aware greylisting). Both libspf2 (through
 * its DNS layer, auth_spf.c) and libopendkim (through its query callbacks,
 * milter/auth_dkim.c) ask their questions here, so both use dns_server and
 * both are bounded by the same times.
 *
 * One resolver is a private res_state (res_ninit), set to dns_server when
 * that is given (its parsed endpoint; an IPv4 address; else the servers of
 * /etc/resolv.conf), with one try of auth_dns_timeout per query and a
 * deadline for the whole check: once it has passed, every further query
 * fails at once as a temporary error. Queries go out with res_nmkquery +
 * res_nsend, so an NXDOMAIN answer comes back as an answer (libopendkim
 * needs the response to tell "no key" from "no reply").
 *
 * Contract: one auth_dns belongs to one message (one thread at a time);
 * no shared state, so threads never meet here. Caller storage.
 */
#ifndef RG_AUTH_DNS_H
#define RG_AUTH_DNS_H

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <stddef.h>

#include "endpoint.h"

struct auth_dns {
	struct __res_state res;
	long long deadline; /* rg_mono_ms() after which nothing is asked */
	int open;
	int timeouts; /* queries that got no answer */
	int retrans; /* seconds per query, as configured */
};

/*
 * Set up d for one check: server is dns_server (NULL = /etc/resolv.conf),
 * timeout_ms bounds one query, total_ms the whole check. Returns 0, or -1
 * with err (a dns_server this resolver cannot use).
 */
int auth_dns_open(struct auth_dns *d, const struct rg_endpoint *server, long long timeout_ms,
		  long long total_ms, char *err, size_t errlen);

/*
 * Ask name/type (class IN) and put the raw response in ans. Returns its
 * length (any rcode: NXDOMAIN is an answer), or -1 when no answer came
 * (timeout, network error, deadline passed: a temporary error).
 */
int auth_dns_query(struct auth_dns *d, const char *name, int type, unsigned char *ans, size_t anslen);

/*
 * h_errno-style status of a response: NETDB_SUCCESS (answers of type
 * follow), HOST_NOT_FOUND (NXDOMAIN), NO_DATA (no record of that type),
 * TRY_AGAIN (SERVFAIL, truncated), NO_RECOVERY (REFUSED, garbage).
 */
int auth_dns_status(const unsigned char *ans, int len);

/* A new deadline for the rest of the check: total_ms from now. */
void auth_dns_rearm(struct auth_dns *d, long long total_ms);

void auth_dns_close(struct auth_dns *d);

#endif
