/*
 * server - the policy protocol server: listeners on unix and TCP sockets,
 * one libevent bufferevent per Postfix connection, framing of requests into
 * struct preq, and replies.
 *
 * Contract: single-threaded (the event loop). For every complete request
 * the handler is called once and must, now or later, call psrv_reply()
 * exactly once for that connection. A connection that Postfix closes while
 * a decision is pending stays allocated until psrv_reply() is called, which
 * then frees it without writing: the decision code never sees a dangling
 * connection.
 * Trust boundary: everything read from a connection. A malformed, oversized
 * or binary request is logged and the connection closed without a reply
 * (SMTPD_POLICY_README: "In case of trouble the policy server must not send
 * a reply").
 */
#ifndef RG_POLICYD_SERVER_H
#define RG_POLICYD_SERVER_H

#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>

#include "config.h"
#include "request.h"

struct psrv;
struct pconn;

typedef void (*psrv_handler)(struct pconn *c, const struct preq *req, void *arg);

struct psrv *psrv_new(struct event_base *base, psrv_handler h, void *arg);
/* Set the handler's argument (when it exists only after binding). */
void psrv_set_arg(struct psrv *s, void *arg);
/* Apply limits from the (re)loaded configuration; affects new requests.
 * policyd_max_connections is capped to the descriptor limit (logged). */
void psrv_set_limits(struct psrv *s, const struct rg_params *g);
/* Bind one listener of policyd_listen (parsed at load, g->policyd_listen_ep;
 * call before dropping privileges). A unix path another process serves is
 * refused, a stale one replaced (rg_unix_listen). Returns 0 or -1 with err.
 * When accept() runs out of descriptors, listeners pause briefly (one log
 * line an episode). */
struct rg_endpoint;
int psrv_listen(struct psrv *s, const struct rg_endpoint *ep, int mode, char *err, size_t errlen);
/* Give the unix sockets to the daemon's user (mode policyd_socket_mode
 * then grants its group, e.g. postfix in group relayguard). */
int psrv_chown(struct psrv *s, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Reply "action=<action>" to the request pending on c. Control characters
 * in action are replaced, so no reply can carry a second line. */
void psrv_reply(struct pconn *c, const char *action);
/*
 * Per-connection scratch memory for the decision pending on c: n bytes,
 * uninitialised (max-aligned; the caller clears what it reads), valid until psrv_reply() for c begins -- that call
 * may free it or hand it to the connection's next request, so the caller
 * copies out what it still needs first. Blocks are pooled by the server
 * (no malloc per request; as many as decisions pending at once).
 */
void *psrv_scratch(struct pconn *c, size_t n);
/*
 * The event loop for the server: epoll's changes are batched per loop turn
 * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST), so a Redis or client write event
 * armed and disarmed within one turn costs no epoll_ctl. Safe here: no
 * descriptor is ever dup()ed. NULL on failure.
 */
struct event_base *psrv_base_new(void);
/* Text naming the peer for log lines ("unix" or "127.0.0.1:40000"). */
const char *psrv_peer(const struct pconn *c);
/* Number of open connections. */
int psrv_nconn(const struct psrv *s);
/*
 * Stopping (SIGTERM), in three steps:
 * psrv_drain: close the listeners (new clients are refused), stop reading;
 *   requests already received are still dispatched and answered; each
 *   connection closes once its replies are out and no complete request is
 *   left. done(arg) is called (once, possibly at once) when none is left.
 * psrv_close: past the drain time: no request is dispatched any more.
 * psrv_flush: run the loop until every reply written so far (e.g. by the
 *   failure answers of policy_free) has left, at most ms milliseconds.
 */
void psrv_drain(struct psrv *s, void (*done)(void *), void *arg);
void psrv_close(struct psrv *s);
void psrv_flush(struct psrv *s, long long ms);
/* Close listeners and connections; removes the unix sockets this process
 * created (only while they are still the ones at their paths). Call only
 * after every pending decision was answered (free the Redis client first:
 * that fires its callbacks). */
void psrv_free(struct psrv *s);

#endif
