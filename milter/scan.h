/*
 * scan - the end-of-message spam decision: send the buffered message to
 * spamd, turn the verdict into X-Spam-* headers in SpamAssassin's format,
 * and decide accept / reject (550, only on a positive score over
 * spam_reject_score) / tempfail (only when spam_failure_action says so).
 *
 * Contract: thread-safe (no shared state); all output in *out.
 */
#ifndef RG_MILTER_SCAN_H
#define RG_MILTER_SCAN_H

#include "config.h"
#include "msgbuf.h"

#define SCAN_MAX_HEADERS 6

enum scan_action { SCAN_ACCEPT, SCAN_REJECT, SCAN_TEMPFAIL };

struct scan_header {
	const char *name;
	char value[8192];
};

struct scan_out {
	enum scan_action action;
	char rcode[4], xcode[8], text[256]; /* the SMTP reply for reject/tempfail */
	int nheaders;
	struct scan_header headers[SCAN_MAX_HEADERS];
	char log[512]; /* "score=... required=... tests=..." for the log line */
};

/*
 * Scan mb with the settings p (class) and g (global: spamd_server,
 * spamd_timeout, spamd_user, myhostname). too_large: the message grew past
 * spam_max_size while buffering (not scanned, marked).
 */
void scan_message(const struct rg_params *g, const struct rg_params *p, const struct msgbuf *mb,
		  int too_large, struct scan_out *out);

#endif
