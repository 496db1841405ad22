/*
 * callout - recipient callout: ask the customer's own mail server, during
 * our inbound SMTP dialogue, whether recipients exist. A blocking SMTP
 * client for one session (greeting, EHLO/HELO, MAIL FROM, one RCPT TO per
 * recipient, RSET, QUIT; never DATA), the address checks that keep hostile
 * addresses out of the commands we send, an MX resolver, the filter that
 * keeps a fallback MX from calling itself, and nexthop parsing.
 *
 * Verdicts: only a 2xx (VALID) or 5xx (INVALID) answer to RCPT TO decides.
 * Everything else - 4xx, timeouts, refused connections, protocol errors,
 * any failure at greeting/EHLO/MAIL - is UNKNOWN: "can't tell", never a
 * rejection.
 *
 * The module is two files: callout.c (addresses, session) and callout_dns.c
 * (MX, filter, nexthop).
 *
 * Contract: no static state; every function is thread-safe (getaddrinfo,
 * res_nquery on a private resolver state). Results are written into caller
 * storage; nothing is allocated that outlives a call.
 *
 * Trust boundary: replies from the downstream server and DNS answers are
 * untrusted; reply text reaching a result is sanitised (printable ASCII, one
 * line, bounded). Addresses we send are refused unless callout_addr_ok().
 */
#ifndef RG_CALLOUT_H
#define RG_CALLOUT_H

#include <stddef.h>

#define CALLOUT_HOST_MAX 255 /* DNS name or address literal */
#define CALLOUT_REPLY_MAX 256 /* sanitised reply text, NUL included */

enum callout_verdict {
	CALLOUT_UNKNOWN = 0, /* can't tell: never reject on this */
	CALLOUT_VALID, /* RCPT TO got 2xx */
	CALLOUT_INVALID, /* RCPT TO got 5xx */
};

/* One server to try: a name (resolved with getaddrinfo) or an IP literal. */
struct callout_target {
	char host[CALLOUT_HOST_MAX + 1]; /* no brackets, no trailing dot needed */
	unsigned port; /* 1..65535 */
	int pref; /* MX preference; 0 when not from an MX */
};

struct callout_params {
	const char *helo_name; /* our EHLO name; must pass the same checks as a domain */
	const char *sender; /* MAIL FROM address; NULL or "" sends <> */
	int connect_timeout_ms; /* per address tried */
	int command_timeout_ms; /* per command: send it and read its whole reply */
	int total_timeout_ms; /* whole session across all hosts; 0 = no bound */
};

struct callout_result {
	enum callout_verdict verdict;
	int code; /* RCPT TO reply code, 0 if none was read */
	char reply[CALLOUT_REPLY_MAX]; /* "550 5.1.1 <x@y>: unknown user" (sanitised), or why UNKNOWN */
};

/* callout_run() outcomes. */
#define CALLOUT_DONE 0 /* MAIL FROM accepted; results hold each RCPT's verdict */
#define CALLOUT_EREFUSED (-1) /* bad argument or address: nothing connected, nothing sent */
#define CALLOUT_ECONNECT (-2) /* no host could be connected to */
#define CALLOUT_ESESSION (-3) /* connected, but greeting/EHLO/MAIL failed on every host tried */

/*
 * Non-zero when addr (no angle brackets) is safe and sane to send in
 * MAIL FROM/RCPT TO: local@domain with exactly one '@', only printable
 * ASCII without space, '<' or '>', local part 1..64 bytes, domain 1..255,
 * whole address at most 254. Refuses quoted local parts holding '@' or space
 * and UTF-8 addresses (we never offer SMTPUTF8): the milter turns those away
 * locally with 501/553 rather than send them.
 */
/* The verdict of a reply to RCPT TO (enh: enhanced status or ""). */
enum callout_verdict callout_rcpt_verdict(int code, const char *enh);

int callout_addr_ok(const char *addr);

/*
 * One callout session: try targets in order (every address of a name, each
 * with connect_timeout_ms), stop at the first that greets with 220; EHLO
 * (HELO after a 5xx), MAIL FROM, RCPT TO for each of rcpts[0..nrcpts), RSET,
 * QUIT. results[i] receives recipient i's verdict; all are UNKNOWN unless
 * CALLOUT_DONE. A 421 or a failure during RCPT leaves that and the later
 * recipients UNKNOWN. One unsafe recipient refuses the whole call (the
 * milter checks each with callout_addr_ok() first). Resolving a target's
 * name with getaddrinfo is bounded by the resolver's own timeouts
 * (resolv.conf), not by these deadlines; MX lookups give names that
 * usually resolve from cache. err (may be NULL) receives why, for a return other
 * than CALLOUT_DONE. Returns one of the CALLOUT_* outcomes above.
 */
int callout_run(const struct callout_target *targets, size_t ntargets, const struct callout_params *params,
		const char *const *rcpts, size_t nrcpts, struct callout_result *results, char *err,
		size_t errlen);

/*
 * The same session in steps, for a caller that learns its recipients one at
 * a time (the milter: one RCPT callback each) and wants them all checked
 * in one session. An open connection is used by one thread at a time.
 *
 * callout_open: connect to the first target that greets and accepts EHLO
 * (or HELO) and MAIL FROM, within params->total_timeout_ms (0: only the
 * per-step timeouts). Returns CALLOUT_DONE with *cp set (close it with
 * callout_close), or a CALLOUT_E* code with *cp NULL and err (may be NULL)
 * saying why.
 */
struct callout_conn;
int callout_open(struct callout_conn **cp, const struct callout_target *targets, size_t ntargets,
		 const struct callout_params *params, char *err, size_t errlen);

/*
 * One RCPT TO on an open session, within command_timeout_ms and before
 * deadline_ms (rg_mono_ms() time; 0: no such bound). res receives the
 * verdict as in callout_run. An address callout_addr_ok() refuses is not
 * sent (UNKNOWN, return 0). Returns 0 when the session may go on, -1 when
 * it is finished (timeout, hang-up, 421, garbage): res is then UNKNOWN or
 * the 421, and only callout_close remains to be called.
 */
int callout_rcpt(struct callout_conn *c, const char *rcpt, long long deadline_ms, struct callout_result *res);

/* End the session (RSET and QUIT, briefly, if it is healthy), close, free. NULL is a no-op. */
void callout_close(struct callout_conn *c);

/*
 * MX hosts of domain sorted by preference (answer order among equals), with
 * port; with no MX records, the domain itself when it has A or AAAA records
 * (implicit MX, pref 0). Returns the number of targets (at most outmax),
 * 0 when the domain does not exist, has a null MX (RFC 7505), or has no
 * address at all (err says which), -1 on a temporary DNS failure.
 * err may be NULL. Needs -lresolv.
 */
int callout_mx_lookup(const char *domain, unsigned port, struct callout_target *out, size_t outmax, char *err,
		      size_t errlen);

/*
 * Parse a DNS MX answer (ans, anslen bytes) into out like callout_mx_lookup:
 * sorted, at most outmax. Returns the count, 0 for a null MX or no MX
 * records, -1 for a malformed answer. Split out so it is testable offline.
 */
int callout_mx_parse(const unsigned char *ans, int anslen, unsigned port, struct callout_target *out,
		     size_t outmax, int *nullmx);

/*
 * Remove this relay from a preference-sorted MX list: find the best
 * preference held by one of own[0..nown) (host names, compared without case
 * and ignoring a trailing dot) and drop every host at that preference or
 * worse, so a fallback MX only calls better MX hosts, never itself or an
 * equal or worse backup. Compacts t in place; returns the new count (0: we
 * are the primary, there is nobody to ask).
 */
size_t callout_mx_filter(struct callout_target *t, size_t n, const char *const *own, size_t nown);

/* A parsed nexthop: "[host]:port", "host", "host:port", "[192.0.2.1]", "[2001:db8::1]:25". */
struct callout_nexthop {
	char host[CALLOUT_HOST_MAX + 1];
	unsigned port; /* the default when none was given */
	int mx; /* 1: look up MX records of host; 0: connect to host itself */
	int literal; /* host is an IPv4/IPv6 address */
};

/*
 * Parse spec with the endpoint grammar (endpoint.h; Postfix transport
 * nexthop syntax: brackets mean "no MX lookup"; an IPv6 address needs
 * brackets, "ipv6:" inside them is allowed; a bare IPv4 address is used as
 * is). Returns 0, or -1 with err.
 */
int callout_nexthop_parse(const char *spec, unsigned defport, struct callout_nexthop *nh, char *err,
			  size_t errlen);

/* The same from a nexthop parsed at load (p->nexthop_ep). */
struct rg_endpoint;
void callout_nexthop_from_ep(const struct rg_endpoint *ep, struct callout_nexthop *nh);

/*
 * Targets for a nexthop: its MX hosts filtered with callout_mx_filter, or
 * the host itself when bracketed. Same return values as callout_mx_lookup
 * (0 also when the filter left nobody).
 */
int callout_resolve(const struct callout_nexthop *nh, const char *const *own, size_t nown,
		    struct callout_target *out, size_t outmax, char *err, size_t errlen);

#endif
