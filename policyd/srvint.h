/*
 * srvint - what server.c (connections) and srvlisten.c (listeners) share:
 * the server's structures. Private to the two; nothing else includes it.
 */
#ifndef RG_POLICYD_SRVINT_H
#define RG_POLICYD_SRVINT_H

#include <sys/time.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "daemon.h"
#include "server.h"

struct plisten {
	struct plisten *next;
	struct evconnlistener *lev;
	struct rg_sockfile sock; /* a unix socket we created, removed at exit */
};

/* Descriptors kept free of connections: listeners, Redis, DNS, syslog, the
 * pid file, reload's file opens, and the one accept that refuses a client
 * over the limit. */
#define PSRV_FD_RESERVE 32
/* After accept() failed for want of descriptors (or memory), listeners
 * pause this long before they try again. */
#define PSRV_ACCEPT_PAUSE_MS 100

struct psrv {
	struct event_base *base;
	psrv_handler handler;
	void *arg;
	struct plisten *listeners;
	struct pconn *conns;
	int nconn;
	int max_conn;
	int fd_cap; /* max_conn never exceeds it (rg_fd_budget) */
	long fd_limit;
	int max_attr;
	size_t max_line, max_req;
	struct timeval idle;
	struct timeval req_timeout; /* one request, from its first byte */
	long long last_full_log;
	/* accepting paused for want of descriptors: one log line an episode */
	struct event *resume;
	int paused;
	int pause_logged; /* this episode was logged */
	long pauses;
	long long pause_start, last_pause_log;
	/* SIGTERM: no new connections; answer what was asked, then done() */
	int draining;
	int closing; /* past the drain: no more requests are dispatched */
	void (*drained)(void *);
	void *drained_arg;
	/* psrv_scratch blocks not in use: as many as decisions were ever
	 * pending at once, not one per connection */
	struct pscratch *spare;
	/* Replies decided in this loop turn: sent at its end (psrv_turn_end),
	 * after the turn's log lines (msg_hold), so that a client holding its
	 * answer finds the decision's line in the log; their text in rq_buf. */
	struct event *turn_end;
	struct pconn *rq_head, *rq_tail;
	char *rq_buf;
	size_t rq_len, rq_cap;
};

/* server.c: a new connection from a listener. */
void psrv_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg);
/* srvlisten.c: every listener on or off; the timer that ends a pause. */
void psrv_listening(struct psrv *s, int on);
void psrv_resume(evutil_socket_t fd, short what, void *arg);

#endif
