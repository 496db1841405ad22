/*
 * ratetx - what one message counts against, and which transaction it is,
 * computed the same way by both daemons: relayguard-policyd reserves at
 * RCPT, relayguard-milter commits or releases at the end of the message
 * (or policyd commits at END-OF-MESSAGE with rate_limit_commit = policyd),
 * so both must name the same subjects, limits and transaction.
 *
 * Subjects: outbound (the client's settings): client IP (rate_limits), SASL
 * user (sasl_rate_limits), sender domain (sender_domain_rate_limits);
 * inbound: each recipient domain (inbound_rate_limits, its own settings).
 *
 * Transaction: Postfix tells the policy server the message's "instance",
 * but tells a milter nothing of the kind. What both see is the SMTP
 * connection: node (relayguard's myhostname) + server address:port +
 * client address:port (policy attributes server_address, server_port,
 * client_address, client_port; milter macros {daemon_addr},
 * {daemon_port}, {client_addr}, {client_port}). Transactions on one
 * connection are sequential, so the connection names the transaction in
 * flight; the instance (policyd only) tags it so that a new message on the
 * same connection replaces a reservation its predecessor never ended.
 *
 * Contract: pure functions over caller-owned memory, thread-safe.
 * Trust boundary: addresses, ports and names come from Postfix (which took
 * them from the client or XCLIENT); anything but address/port/host-name
 * characters makes ratetx_id fail, so an id never carries a separator or a
 * control character into Redis or a log line.
 */
#ifndef RG_RATETX_H
#define RG_RATETX_H

#include <stddef.h>

#include "config.h"
#include "ratespec.h"

#define RATETX_MAX_SUBJECTS 12
#define RATETX_ID_MAX 320

struct ratetx_subject {
	const char *kind; /* key part: "client", "sasl", "sender", "domain" */
	const char *what; /* for people: "client", "SASL user", ... */
	char subject[256]; /* lower-cased */
	struct rg_rate rates[RG_RATE_MAX];
	int nrates;
	int per_rcpt; /* rate_limit_unit = recipient */
};

/*
 * "<node>|<server_addr>:<server_port>|<client_addr>:<client_port>" into
 * buf (an "IPv6:" prefix on an address is dropped). Returns 0, or -1 when
 * a part is empty or holds other bytes than an address, a port or a host
 * name may.
 */
int ratetx_id(char *buf, size_t size, const char *node, const char *server_addr, const char *server_port,
	      const char *client_addr, const char *client_port);

/* 1 when p counts recipients (rate_limit_unit = recipient), else 0. */
int ratetx_per_rcpt(const struct rg_params *p);

/*
 * Append the outbound subjects that have limits (p: the client's
 * settings; sasl_user and sender may be "") to subj[n..max). Returns the
 * new count.
 */
int ratetx_outbound(const struct rg_params *p, const char *client_addr, const char *sasl_user,
		    const char *sender, struct ratetx_subject *subj, int n, int max);

/* Append recipient domain dom (p: its settings) if it has inbound limits. */
int ratetx_inbound(const struct rg_params *p, const char *dom, struct ratetx_subject *subj, int n, int max);

#endif
