/*
 * virus_scan - the end-of-message virus decision: send the buffered
 * message (the same msgbuf the spam scan reads) to clamd and decide accept
 * / reject (550 5.7.1 naming the signature, only on a virus found) /
 * tempfail (clamd failed and virus_failure_action = tempfail).
 *
 * Contract: thread-safe (no shared state); out is caller storage, fully
 * set on return. clamd_server comes parsed with the configuration
 * (g->clamd_server_ep).
 */
#ifndef RG_MILTER_VIRUS_SCAN_H
#define RG_MILTER_VIRUS_SCAN_H

#include "config.h"
#include "msgbuf.h"

enum virus_action { VIRUS_ACCEPT, VIRUS_REJECT, VIRUS_TEMPFAIL };

/* Why a message is not sent to clamd (VIRUS_DO: it is). */
enum virus_skip { VIRUS_DO, VIRUS_SKIP_TOO_LARGE, VIRUS_SKIP_ERROR };

struct virus_out {
	enum virus_action action;
	char rcode[4], xcode[8], text[256]; /* SMTP reply for reject/tempfail */
	char log[400]; /* "virus=clean" / "virus=found signature=..." / "virus=unscanned ..." */
};

/* Scan mb with the class settings p and the globals g (clamd_server, clamd_timeout). */
void virus_message(const struct rg_params *g, const struct rg_params *p, const struct msgbuf *mb,
		   enum virus_skip skip, struct virus_out *out);

#endif
