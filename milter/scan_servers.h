/*
 * scan_servers - redundant content scanners: spamd_server and clamd_server
 * name one address or several, tried in order, each with the scanner's own
 * timeout (spamd_timeout, clamd_timeout); a server that failed (no
 * connection, timeout, broken exchange, garbage reply) is skipped for
 * scanner_down_backoff, so that only the first message after a failure
 * pays for it. Which server is down is kept in the callout's hop table
 * (callout_hopstate), one for the process, keyed "spamd inet:host:port" /
 * "clamd unix:/path".
 *
 * When every server is in its back-off, the one whose back-off ends first
 * is tried anyway (a probe): a single server then behaves as before (tried
 * for every message), and a cluster that is wholly down costs one timeout
 * per message, never one per server. The worst case for one message is
 * the number of servers times the timeout (a list of hung servers, all
 * untried before); admins who list many servers should keep the timeout
 * within Postfix's milter_content_timeout divided by their number.
 *
 * Contract: thread-safe (the hop table is locked; the table is created
 * once, under pthread_once, and lives as long as the process). Nothing is
 * retried on a server that answered: a verdict, a refusal of this message
 * (spamd EX_ code, clamd "... ERROR") or a message too large end the
 * search.
 */
#ifndef RG_MILTER_SCAN_SERVERS_H
#define RG_MILTER_SCAN_SERVERS_H

#include <stddef.h>

#include "config.h"
#include "endpoint.h"

enum scansrv_rc {
	SCANSRV_ANSWERED, /* the server answered: stop here */
	SCANSRV_FAILED /* the server failed: mark it down, try the next */
};

/* One attempt on ep; fills the caller's result (in arg) either way. */
typedef enum scansrv_rc (*scansrv_try)(const struct rg_endpoint *ep, void *arg);

/*
 * Try list's servers for one message, as described above. kind names the
 * scanner ("spamd", "clamd") in keys and log lines; why(arg) gives the
 * reason of the last failure for the warning logged when a server is
 * marked down. note receives single-token log fields:
 * "<kind>=<address that answered or was tried last>" and, when servers
 * were passed over, " <kind>_skipped=<addr>,<addr>". Returns the index of
 * the server that answered, or -1 (every server tried failed, or the list
 * is empty; the caller's result holds the last failure).
 */
int scansrv_run(const char *kind, const struct rg_eplist *list, long long backoff_ms, scansrv_try fn,
		const char *(*why)(void *arg), void *arg, char *note, size_t notelen);

/* Append " " and note to the log line log (of size len), cut to fit. */
void scansrv_log_add(char *log, size_t len, const char *note);

/* Server addr (rg_endpoint_str) of kind answered outside a scan (a health
 * probe): its back-off ends now, the next message may use it. */
void scansrv_mark_up(const char *kind, const char *addr);

/* Forget every server's state (tests). */
void scansrv_reset(void);

#endif
