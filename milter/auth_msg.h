/*
 * auth_msg - SPF and DKIM for one message, and the one RFC 8601
 * Authentication-Results header that reports them:
 *
 *   Authentication-Results: <myhostname>; spf=<result> smtp.mailfrom=<domain>;
 *	dkim=<result> header.d=<domain> header.s=<selector>
 *
 * (only the methods the class checks; one dkim= per signature). Every
 * Authentication-Results header the message brought with our authserv-id
 * (myhostname) is deleted first, so no sender can forge our verdict; those
 * of other hosts stay. The header is inserted at the top, before
 * the message goes on. With spf_fail_action = reject an SPF "fail" (the
 * domain's record ends in -all, or another '-' mechanism matched) is refused
 * with 550 5.7.23; softfail, neutral, temperror never are.
 *
 * DNS: one auth_dns per message: dns_server, auth_dns_timeout per query, and
 * three times that for the whole message's SPF and DKIM queries.
 *
 * Contract: one auth_msg per message context (one thread at a time);
 * strings are copied. auth_msg_new returns NULL when p checks neither.
 */
#ifndef RG_MILTER_AUTH_MSG_H
#define RG_MILTER_AUTH_MSG_H

#include <libmilter/mfapi.h>

#include "config.h"

struct auth_msg;

/* g: the globals (myhostname is the authserv-id; dns_server, auth_dns_timeout), p: the class. */
struct auth_msg *auth_msg_new(const struct rg_params *g, const struct rg_params *p, const char *qid);
/* Every header of the message, as the MTA gave it. */
void auth_msg_header(struct auth_msg *a, const char *name, const char *value, int leadspc);
void auth_msg_eoh(struct auth_msg *a);
void auth_msg_body(struct auth_msg *a, const unsigned char *buf, size_t len);

/* The reply for a refusal, for the caller to set (or, with dry_run, to log). */
struct auth_reply {
	char rcode[4], xcode[8], text[400];
};

/*
 * End of message: check, delete forged headers (all, or as many as we
 * tracked), insert ours (leadspc: the MTA takes header values as given, so
 * ours gets its leading space). Returns SMFIS_CONTINUE, SMFIS_REJECT (SPF
 * fail with spf_fail_action = reject) or SMFIS_TEMPFAIL (more forged
 * headers than we can delete), with *reply filled for the latter two. log
 * gets "spf=... dkim=... removed=N".
 */
sfsistat auth_msg_eom(struct auth_msg *a, SMFICTX *ctx, const char *client_addr, const char *helo,
		      const char *sender, int leadspc, struct auth_reply *reply, char *log, size_t loglen);
void auth_msg_free(struct auth_msg *a);

/* Is the authserv-id of an Authentication-Results value (its first token,
 * RFC 8601 2.2; "id 1" carries a version) id, in any letter case? */
int auth_msg_authserv_is(const char *id, const char *value);

#endif
