/*
 * session_int - what the files of the session (session.c: connection,
 * envelope, headers and body; session_eom.c: the end of a message) share:
 * the connection and message contexts and a few helpers. Not for other
 * subsystems: they see session.h.
 *
 * Contract: as session.h: libmilter calls one context from one thread at a
 * time.
 */
#ifndef RG_MILTER_SESSION_INT_H
#define RG_MILTER_SESSION_INT_H

#include <libmilter/mfapi.h>

#include "config.h"
#include "msgbuf.h"
#include "slist.h"
#include "spam_strip.h"

/*
 * Longest envelope address taken (bytes, without the brackets). Postfix
 * cuts an SMTP command line at line_length_limit (2048), so nothing it
 * passes is longer; anything over is refused with 501 5.1.3, never cut:
 * a cut address loses its domain and with it every check.
 */
#define SESS_ADDR_MAX 4096
#define SESS_LOG_ADDR 512 /* bytes of an address shown in a log line */

/* One transaction: MAIL FROM to end of message or abort. */
struct smsg {
	struct rg_config *cfg; /* snapshot for this message (referenced) */
	const struct rg_params *p; /* settings deciding this message, or NULL */
	const char *class_name;
	int outbound;
	struct verify_tx *vtx; /* the recipient callout's open session, if any */
	struct mlimit_msg *lim; /* rate-limit accounting (mlimit.h), or NULL */
	char xgrey[300]; /* X-Greylist value once a recipient passed greylisting here */
	char sender[SESS_LOG_ADDR]; /* sanitised, for logs and our Received line */
	char first_rcpt[SESS_LOG_ADDR]; /* the same */
	int nrcpt;
	int scan; /* spam_scan or virus_scan is on: buffer and scan */
	int too_large; /* grew past every scan's size limit: stop buffering */
	struct msgbuf *mb;
	struct spam_strip strip; /* the X-Spam-* headers it brought */
	int buffail; /* the message could not be buffered: not scanned */
	struct auth_msg *auth; /* SPF/DKIM state, NULL when not checked */
	int nhdr; /* headers seen */
	struct rg_slist_res sl; /* the recipients' spam sender lists (all the same) */
};

/* One SMTP connection. */
struct sconn {
	unsigned long proto; /* the SMFIP_* steps negotiated (mproto.h) */
	int skip_ok; /* the MTA understands SMFIS_SKIP */
	int leadspc; /* header values carry their leading space */
	char helo[1024]; /* sanitised; for logs and spamd's Received line only */
	char addr[64]; /* client IP text, "" when unknown */
	char name[256]; /* client hostname as the MTA gave it, sanitised */
	struct smsg *m;
};

/* Free m (NULL: nothing), ending what it holds: the callout session, a rate
 * reservation not committed, the buffer, SPF/DKIM state, the snapshot. */
void smsg_free(struct smsg *m);
/* Postfix's queue id ("i" macro), or "NOQUEUE". */
const char *sess_qid(SMFICTX *ctx);
/* Log what dry_run kept from Postfix: the answer relayguard would have given. */
void sess_would(SMFICTX *ctx, const struct sconn *c, const char *what, const char *rcode, const char *xcode,
		const char *text);
/* Does p scan the message's content (spamd, clamd)? */
int sess_scans(const struct rg_params *p);
/* Does this message lose the X-Spam-* headers it brought? */
int sess_strips(const struct smsg *m);

/* End of message (session_eom.c): SPF/DKIM, virus, spam, our headers and
 * X-Greylist, then the rate limits: an accepted message counts, any other
 * gives its reservation back. */
sfsistat sess_eom(SMFICTX *ctx);

#endif
