/*
 * ratelimit_commit (prefix mlimit_) - the milter's half of the exact rate limits: relayguard-policyd
 * reserves a message's place at RCPT; the milter, which alone hears the
 * end-of-message verdict, turns the reservation into a count when the
 * message is accepted and gives it back when it is refused, tempfailed or
 * abandoned (RSET, a new MAIL FROM, the client leaving). Only recipients
 * the milter accepted count (rate_limit_unit = recipient); a recipient
 * domain whose recipients were all refused (callout, greylisting, the 452
 * split) gets its reservation back.
 *
 * Same subjects, keys and script as policyd (src/ratetx.h,
 * src/ratelimit.h); the transaction is the SMTP connection, from the
 * macros {daemon_addr} {daemon_port} {client_addr} {client_port}, which
 * mlimit_negotiate asks Postfix for. Nothing happens with
 * rate_limit_commit = policyd.
 *
 * Contract: mlimit_start from the main thread before smfi_main; a struct mlimit_msg is used by one thread at a time (its
 * SMTP session's). Redis failures are logged (once per outage, by the pool)
 * and never change a verdict: the reservation then ends with its lifetime.
 */
#ifndef RG_MILTER_MLIMIT_H
#define RG_MILTER_MLIMIT_H

#include <libmilter/mfapi.h>

#include "config.h"

struct mlimit_msg;

/* The process-wide Redis client for the accounting (g's redis_* settings).
 * Never freed, like verify's: sessions still open at exit may use it. */
void mlimit_start(const struct rg_params *g);

/* A reload: the pool follows new redis_* settings (as verify's does). */
void mlimit_reload(const struct rg_params *g);

/* That client, for the milter's other shared records (greylisting). */
struct rg_redis_pool *mlimit_redis(void);

/* From xxfi_negotiate: ask for the connect-stage macros the transaction id
 * needs (besides Postfix's defaults). Needs SMFIF_SETSYMLIST in the flags. */
void mlimit_negotiate(SMFICTX *ctx);

/*
 * MAIL FROM: a new message. cfg is the message's snapshot (it must outlive
 * the message); out is the client's settings for an outbound message, NULL
 * inbound. Returns NULL when there is nothing to account (commit by
 * policyd, no transaction id).
 */
struct mlimit_msg *mlimit_msg_new(SMFICTX *ctx, const struct rg_config *cfg, const char *client_addr,
				  const struct rg_params *out, const char *sender);

/* A recipient: dom and p its domain and settings (inbound; NULL outbound);
 * accepted = 0 for one the milter refuses. */
void mlimit_rcpt(struct mlimit_msg *m, const char *dom, const struct rg_params *p, int accepted);

/* The end: accepted != 0 commits what was accepted, else everything is
 * given back. Frees *m and sets it NULL (NULL is fine). */
void mlimit_msg_end(struct mlimit_msg **m, int accepted, const char *qid);

#endif
