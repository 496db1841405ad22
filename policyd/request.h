/*
 * request - one Postfix SMTPD policy delegation request: "name=value" lines
 * ended by an empty line (SMTPD_POLICY_README).
 *
 * Contract: the caller frames lines (without the "\n") and feeds them one by
 * one; the request owns copies of the values it keeps. Unknown attribute
 * names are accepted and ignored, as the protocol asks.
 * Trust boundary: every byte comes from the network. A line that is not
 * "name=value" with a sane name, a NUL byte, too many attributes or too
 * many bytes makes the request malformed: the server must then log and
 * disconnect without a reply.
 */
#ifndef RG_POLICYD_REQUEST_H
#define RG_POLICYD_REQUEST_H

#include <stddef.h>

/* The attributes relayguard reads. */
enum preq_attr {
	PREQ_REQUEST,
	PREQ_PROTOCOL_STATE,
	PREQ_PROTOCOL_NAME,
	PREQ_HELO_NAME,
	PREQ_QUEUE_ID,
	PREQ_SENDER,
	PREQ_RECIPIENT,
	PREQ_RECIPIENT_COUNT,
	PREQ_CLIENT_ADDRESS,
	PREQ_CLIENT_NAME,
	PREQ_REVERSE_CLIENT_NAME,
	PREQ_INSTANCE,
	PREQ_SASL_METHOD,
	PREQ_SASL_USERNAME,
	PREQ_SIZE,
	PREQ_ENCRYPTION_PROTOCOL,
	PREQ_CLIENT_PORT, /* with the server's address and port: the SMTP connection (ratetx.h) */
	PREQ_SERVER_ADDRESS,
	PREQ_SERVER_PORT,
	PREQ_NATTR
};

struct preq {
	char *val[PREQ_NATTR]; /* NULL when absent; owned */
	int nattr; /* lines seen, known or not */
	size_t bytes; /* bytes seen */
	int max_attr;
	size_t max_bytes;
};

/* Start an empty request with limits. */
void preq_init(struct preq *r, int max_attr, size_t max_bytes);
/* Drop values, ready for the next request on the connection. */
void preq_reset(struct preq *r);

/*
 * Add one line (len bytes, no newline; a trailing "\r" is tolerated).
 * Returns 0, or -1 with a reason in err (malformed, too many attributes,
 * too large).
 */
int preq_add_line(struct preq *r, const char *line, size_t len, char *err, size_t errlen);

/* Value of an attribute, "" when absent. */
const char *preq_get(const struct preq *r, enum preq_attr a);

#endif
