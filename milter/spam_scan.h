/*
 * scan - the end-of-message spam decision: send the buffered message to
 * spamd, turn the verdict into X-Spam-* headers in SpamAssassin's format,
 * and decide accept / reject (550, only on a positive score at or over
 * spam_reject_score) / tempfail (only when spamd failed and
 * spam_failure_action = tempfail).
 *
 * Contract: thread-safe (no shared state). The caller owns *out and frees
 * it with scan_out_free.
 */
#ifndef RG_MILTER_SCAN_H
#define RG_MILTER_SCAN_H

#include "config.h"
#include "msgbuf.h"
#include "spam_hdr.h"

enum scan_action { SCAN_ACCEPT, SCAN_REJECT, SCAN_TEMPFAIL };

/* Why a message is not sent to spamd (SCAN_DO: it is). */
enum scan_skip { SCAN_DO, SCAN_SKIP_TOO_LARGE, SCAN_SKIP_ERROR };

struct scan_out {
	enum scan_action action;
	char rcode[4], xcode[8], text[256]; /* SMTP reply for reject/tempfail */
	struct spamhdr_set hdrs; /* headers to add when accepted (built for a reject too) */
	char log[512]; /* "score=... required=... tests=..." */
};

/*
 * Scan mb with the class settings p and the globals g (spamd_server,
 * spamd_timeout, spamd_user, myhostname). skip: the message grew past
 * spam_max_size while buffering, or could not be buffered; it is not
 * scanned and is marked as such (an error honours spam_failure_action).
 */
void scan_message(const struct rg_params *g, const struct rg_params *p, const struct msgbuf *mb,
		  enum scan_skip skip, struct scan_out *out);
void scan_out_free(struct scan_out *out);

#endif
