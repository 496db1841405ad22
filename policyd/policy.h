/*
 * policy - the decision pipeline of relayguard-policyd: one policy request
 * in, one action out, and one log line that says what was decided and why.
 *
 *   classify (outbound: client in client_table; inbound: recipient domain
 *   in domain_table; else DUNNO) -> cheap local checks (trusted networks,
 *   SASL, whitelists) -> Redis checks (greylisting) -> action.
 *
 * The policy owns the current snapshot (configuration, tables, whitelist
 * files); a reload builds a new one and swaps it in only if it loaded
 * without error, so a broken file never takes the service down. Decisions
 * in flight keep the snapshot they started with.
 *
 * Contract: single-threaded (event loop).
 */
#ifndef RG_POLICYD_POLICY_H
#define RG_POLICYD_POLICY_H

#include <event2/event.h>

#include "config.h"
#include "server.h"

struct policy;
struct policy_snap;

/* Build the files' snapshot for cfg (takes over the reference); NULL with
 * diagnostics on error. Used by -t, start-up and reload. */
struct policy_snap *policy_snap_new(struct rg_config *cfg, struct rg_diag *diag);
void policy_snap_unref(struct policy_snap *snap);

struct policy *policy_new(struct event_base *base, struct policy_snap *snap);
/* The psrv handler. arg is the struct policy. */
void policy_handle(struct pconn *c, const struct preq *req, void *arg);
/* Re-read the configuration file; keeps the old snapshot on error.
 * Returns 0 or -1 (errors logged with file:line). */
int policy_reload(struct policy *pol, const char *path);
/* Current global parameters. */
const struct rg_params *policy_globals(const struct policy *pol);
/* The Redis client (for the health check). */
struct rg_redis *policy_redis(const struct policy *pol);
void policy_free(struct policy *pol);

#endif
