/*
 * scan_health - what the milter knows of each content-scanner server
 * (spamd_server, clamd_server), for /health and /metrics: a server is up or
 * down by its last contact. Contacts are the scans themselves (scan_servers.c
 * reports every attempt) and probes: once scanhealth_start has run (with
 * the metrics endpoint), one thread per scanner sends spamd's PING or
 * clamd's zPING to each server of its list every SCANHEALTH_PROBE_MS, with
 * the scanner's own timeout (spamd_timeout, clamd_timeout), while the
 * scanner is in use; a server that a scan reached less than
 * SCANHEALTH_PROBE_MS ago is not probed. A server that answers a probe also
 * leaves its scanner_down_backoff at once (scan_servers.h), so that /health
 * saying "ok" and the next message agree; a failed probe only informs
 * (which server a message skips stays scan_servers' own decision).
 *
 * A scanner is in use when spam_scan (spamd) or virus_scan (clamd) is on
 * globally, for a class, or in a domain_table or client_table entry. It is
 * unhealthy when every server of its list is down; a server not contacted
 * yet counts as up, so /health is "ok" until a probe or a scan says
 * otherwise, and "ok" again as soon as one server answers.
 *
 * The gauge relayguard_milter_scanner_up{scanner,server} (metrics_milter.h)
 * is 1 or 0 per server contacted (server as rg_endpoint_str prints it); a
 * server a reload removed (or whose scanner is no longer in use) is
 * forgotten, and leaves the gauge, at the next probe round.
 *
 * Contract: thread-safe: one mutex over a table of at most SCANHEALTH_MAX
 * servers (when full, the one contacted longest ago is forgotten). The
 * probe threads run for the life of the process.
 */
#ifndef RG_MILTER_SCAN_HEALTH_H
#define RG_MILTER_SCAN_HEALTH_H

#include <stddef.h>

#include "config.h"

#define SCANHEALTH_MAX 64
#define SCANHEALTH_PROBE_MS 5000 /* a spamd logs every connection: not more often */

/* The outcome of one contact with server addr (rg_endpoint_str) of kind "spamd"/"clamd". */
void scanhealth_note(const char *kind, const char *addr, int up, const char *why);

/* 1 when spam_scan (kind "spamd") / virus_scan ("clamd") is on anywhere in cfg. */
int scanhealth_in_use(const struct rg_config *cfg, const char *kind);

/*
 * 0 when every scanner in use in cfg has a server up (or not contacted
 * yet); else 1 with one line in why: "<kind> <addr>: <reason>" for a
 * single server, "<kind> all N servers down: <addr>: <reason>; ..." for
 * several.
 */
int scanhealth_check(const struct rg_config *cfg, char *why, size_t len);

/*
 * Start the probe threads; config returns a reference to the current
 * configuration (or NULL), which they release. 0, or -1 with err.
 */
int scanhealth_start(struct rg_config *(*config)(void), char *err, size_t errlen);

/* Forget every server (tests). */
void scanhealth_reset(void);

#endif
