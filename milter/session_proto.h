/*
 * session_proto (prefix mproto_) - what relayguard-milter asks of the milter protocol: which steps
 * Postfix sends, which of them wait for a reply, and whether a message's
 * body is wanted at all.
 *
 * Every reply Postfix waits for is a round trip on its SMTP session's
 * critical path (issue 16). So:
 *   - steps whose answer is always "continue" are negotiated no-reply
 *     (SMFIP_NR_CONN, _HELO, _DATA, _HDR, _EOH) when the milter listens on
 *     a unix socket. Over TCP they are not: Postfix leaves Nagle on for
 *     its milter connections, so a command written while the previous
 *     one is unacknowledged waits for the milter's delayed ACK (40 ms on
 *     Linux, also on loopback) -- measured at 10 messages/s instead of
 *     160. A reply carries that ACK at once. Unknown commands are never
 *     sent. Their callbacks must then return SMFIS_NOREPLY:
 *     mproto_continue() gives the right value for what was negotiated.
 *     MAIL, RCPT, the body and end of message keep their replies (a
 *     check may refuse there, and SMFIS_SKIP is a reply).
 *   - the body is not sent at all (SMFIP_NOBODY) when no setting of the
 *     configuration snapshot current at connect wants it; otherwise each
 *     message whose settings do not want it skips it at its first chunk
 *     (SMFIS_SKIP).
 * Headers are always wanted: X-Spam-* stripping needs to see them.
 *
 * A check that needs the body (spam scan, virus scan, DKIM) says so in
 * mproto_wants_body, and nowhere else; SPF needs the envelope only.
 *
 * Contract: pure functions of their arguments; thread-safe.
 */
#ifndef RG_MILTER_MPROTO_H
#define RG_MILTER_MPROTO_H

#include "config.h"

/* Does a message with these settings need its body? p may be NULL (no customer's settings). */
int mproto_wants_body(const struct rg_params *p);
/* Does any setting of cfg (globals, classes, table entries) need the body? O(entries): call once per snapshot. */
int mproto_cfg_wants_body(const struct rg_config *cfg);

/*
 * The protocol steps and flags to ask for, given what the MTA offers
 * (f1 = its SMFIP_* bits), whether bodies are wanted on this connection and
 * whether no-reply steps are used (noreply: the listener is a unix socket).
 * Returns the SMFIP_* bits for *pf1.
 */
unsigned long mproto_steps(unsigned long offered, int want_body, int noreply);

/* What a callback of a step that always continues returns (SMFIS_NOREPLY when nr_bit was negotiated). */
int mproto_continue(unsigned long negotiated, unsigned long nr_bit);

#endif
