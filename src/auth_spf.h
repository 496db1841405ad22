/*
 * auth_spf - SPF verification (RFC 7208) of the envelope sender with
 * libspf2, asking DNS through auth_dns (a DNS layer of our own, so libspf2
 * uses dns_server and every query is bounded).
 *
 * Contract: thread-safe: each check builds its own SPF_server (libspf2
 * keeps no per-process state we use, except its log handlers, which
 * auth_spf_init sets once, under pthread_once). Caller storage for the
 * result.
 *
 * Trust boundary: the sender, HELO name and DNS data are untrusted;
 * libspf2 parses them; the domain we report is reduced to
 * [A-Za-z0-9.-_] (anything else makes it "invalid").
 *
 * Used by the milter (Authentication-Results, one thread per message) and
 * by policyd (SPF-aware greylisting, on the worker threads of
 * policyd/spfpool).
 */
#ifndef RG_AUTH_SPF_H
#define RG_AUTH_SPF_H

#include "auth_dns.h"

struct auth_spf_out {
	char result[16]; /* RFC 8601: pass fail softfail neutral none temperror permerror */
	char ptype[16]; /* "smtp.mailfrom" or, for a null sender, "smtp.helo" */
	char domain[256]; /* the checked domain, safe for a header */
};

/* Route libspf2's log output to msg_* (once; auth_spf_check calls it). */
void auth_spf_init(void);

/*
 * Check client_addr (IPv4 or IPv6 text) against the SPF record of sender's
 * domain (sender "" = the null sender: the HELO name is checked). myhostname
 * is the receiving host libspf2 names in explanations.
 */
void auth_spf_check(struct auth_dns *dns, const char *client_addr, const char *helo, const char *sender,
		    const char *myhostname, struct auth_spf_out *out);

/* Copy a domain for a header value: [A-Za-z0-9.-_] only, else "invalid". */
void auth_spf_safe_domain(char *dst, size_t size, const char *src);

#endif
