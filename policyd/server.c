/*
 * server - see server.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdalign.h>
#include <stddef.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "daemon.h"
#include "msg.h"
#include "endpoint.h"
#include "pmetrics.h"
#include "server.h"
#include "srvint.h"
#include "util.h"

/* One decision's scratch block (psrv_scratch); pooled per server. */
struct pscratch {
	struct pscratch *next; /* in psrv's spare list */
	size_t size;
	alignas(max_align_t) unsigned char data[];
};

struct pconn {
	struct psrv *s;
	struct pconn *prev, *next;
	struct bufferevent *bev; /* NULL once the peer is gone */
	struct preq req;
	int pending; /* a decision is outstanding */
	int in_read; /* inside pconn_parse: replies must not recurse */
	int eof; /* the peer shut down its side: answer, then close */
	struct event *deadline; /* policyd_request_timeout; armed mid-request */
	struct pscratch *scratch; /* psrv_scratch: from s->spare, back there at the reply */
	int timed; /* deadline is armed */
	/* the reply waiting for the end of the loop turn (psrv_reply) */
	struct pconn *rq_next;
	size_t rq_off, rq_n;
	char peer[64];
};

static int pconn_parse(struct pconn *c);
static void pconn_eventcb(struct bufferevent *bev, short what, void *arg);
static void pconn_drained(struct bufferevent *bev, void *arg);

/* The decision is over: its scratch block goes back to the server's pool. */
static void
pconn_unscratch(struct pconn *c)
{
	if (c->scratch) {
		c->scratch->next = c->s->spare;
		c->s->spare = c->scratch;
		c->scratch = NULL;
	}
}

static void
pconn_disarm(struct pconn *c)
{
	if (c->timed) {
		evtimer_del(c->deadline);
		c->timed = 0;
	}
}

static void
pconn_free(struct pconn *c)
{
	struct psrv *s = c->s;

	if (c->bev)
		bufferevent_free(c->bev);
	if (c->deadline)
		event_free(c->deadline);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconn--;
	rg_metric_add(pm_connections, -1);
	preq_reset(&c->req);
	pconn_unscratch(c);
	free(c);
	if (s->draining && s->nconn == 0 && s->drained) {
		void (*done)(void *) = s->drained;

		s->drained = NULL;
		done(s->drained_arg);
	}
}

/* The peer is gone or misbehaved: close now, or once the decision is in. */
static void
pconn_close(struct pconn *c)
{
	pconn_disarm(c);
	if (c->pending) {
		if (c->bev) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		return;
	}
	pconn_free(c);
}

static int pconn_retire(struct pconn *c);

static void
pconn_trouble(struct pconn *c, const char *why)
{
	msg_warn("policy: %s: %s; disconnecting without a reply", c->peer, why);
	if (!c->pending) {
		/* Answers decided before the bad line still leave; then close. */
		(void)pconn_retire(c);
		return;
	}
	pconn_close(c);
}

/* policyd_request_timeout: a request still incomplete this long after its
 * first byte (e.g. one byte a second, which keeps the idle timer quiet). */
static void
pconn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	char why[96];

	(void)fd;
	(void)what;
	c->timed = 0;
	snprintf(why, sizeof(why), "request not complete within policyd_request_timeout (%ld.%03lds)",
		 (long)c->s->req_timeout.tv_sec, (long)c->s->req_timeout.tv_usec / 1000);
	pconn_trouble(c, why);
}

/* Draining: c has no complete request left; close it once its replies are
 * out. Returns 1 when c was freed now. */
static int
pconn_retire(struct pconn *c)
{
	pconn_disarm(c);
	if (c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setcb(c->bev, NULL, pconn_drained, pconn_eventcb, c);
		return 0;
	}
	pconn_free(c);
	return 1;
}

/*
 * Frame lines; dispatch a request at the empty line. Returns 1 when c was
 * freed (the caller must not touch it), else 0.
 *
 * Lines are framed in place in the input buffer (made contiguous once) and
 * what was consumed is drained once per request, not once per line: every
 * drain runs the buffer's callbacks (the read watermark re-adds the read
 * event), which cost more than the parsing itself (issue 16 profile).
 */
static int
pconn_parse(struct pconn *c)
{
	struct psrv *s = c->s;
	struct evbuffer *in;
	char err[128];

	if (c->bev == NULL)
		return 0;
	in = bufferevent_get_input(c->bev);
	c->in_read = 1;
	while (!c->pending) {
		size_t avail = evbuffer_get_length(in), off = 0;
		const char *buf = avail ? (const char *)evbuffer_pullup(in, -1) : NULL;
		int dispatch = 0;

		while (off < avail) {
			const char *line = buf + off, *nl = memchr(line, '\n', avail - off);
			size_t len;

			if (nl == NULL)
				break;
			len = (size_t)(nl - line);
			if (len > s->max_line) {
				c->in_read = 0;
				pconn_trouble(c, "line too long");
				return 1;
			}
			off += len + 1;
			if (len == 0 || (len == 1 && line[0] == '\r')) {
				dispatch = 1;
				break;
			}
			if (preq_add_line(&c->req, line, len, err, sizeof(err)) != 0) {
				c->in_read = 0;
				pconn_trouble(c, err);
				return 1;
			}
		}
		evbuffer_drain(in, off);
		if (!dispatch) {
			c->in_read = 0;
			if (evbuffer_get_length(in) > s->max_line) {
				pconn_trouble(c, "line too long");
				return 1;
			}
			if (s->draining)
				return pconn_retire(c);
			if (!c->timed && (c->req.nattr > 0 || evbuffer_get_length(in) > 0)) {
				if (c->deadline == NULL)
					c->deadline = evtimer_new(s->base, pconn_deadline, c);
				evtimer_add(c->deadline, &s->req_timeout);
				c->timed = 1;
			}
			return 0;
		}
		if (c->req.nattr == 0) {
			c->in_read = 0;
			pconn_trouble(c, "empty request");
			return 1;
		}
		pconn_disarm(c);
		if (s->closing) {
			/* stopping: no decision may start now */
			c->in_read = 0;
			return pconn_retire(c);
		}
		c->pending = 1;
		s->handler(c, &c->req, s->arg);
		if (c->bev == NULL && !c->pending) {
			/* replied synchronously after the peer vanished */
			c->in_read = 0;
			pconn_free(c);
			return 1;
		}
	}
	c->in_read = 0;
	return 0;
}

/* After the peer's EOF: free once the last reply has left. */
static void
pconn_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		pconn_free(arg);
}

/*
 * Queue len bytes for the peer. With nothing queued before them (nearly
 * always: one request at a time) they go straight to the socket, so no
 * write event is armed and disarmed per reply (issue 16); what the socket
 * does not take now, and every error, goes to the output buffer, whose
 * write event finishes the job or reports the error as usual.
 */
static void
pconn_send(struct pconn *c, const char *buf, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	ssize_t n = 0;

	if (evbuffer_get_length(out) == 0) {
		n = send(bufferevent_getfd(c->bev), buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		evbuffer_add(out, buf + n, len - (size_t)n);
}

/* Send a reply now: the decision is over; parse what the peer sent next. */
static void
pconn_reply_now(struct pconn *c, const char *buf, size_t len)
{
	c->pending = 0;
	preq_reset(&c->req);
	pconn_unscratch(c);
	if (c->bev == NULL) {
		if (!c->in_read)
			pconn_free(c);
		return;
	}
	pconn_send(c, buf, len);
	if (c->in_read || pconn_parse(c))
		return;
	if (c->eof && !c->pending) {
		/* half-closed peer: free once the answer is out (now, if it went directly) */
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			pconn_free(c);
		else
			bufferevent_setcb(c->bev, NULL, pconn_drained, pconn_eventcb, c);
	}
}

/*
 * The end of a loop turn (an event activated by the turn's first reply or
 * held log line, so it runs after the I/O callbacks epoll reported): the
 * turn's log lines in one write, then its replies, in the order decided.
 * A reply's own turn may queue more (a pipelined next request answered at
 * once): they wait for the next run, which event_active schedules.
 */
static void
psrv_turn_end(evutil_socket_t fd, short what, void *arg)
{
	struct psrv *s = arg;
	struct pconn *c = s->rq_head, *next;

	(void)fd;
	(void)what;
	msg_flush();
	s->rq_head = s->rq_tail = NULL;
	for (; c; c = next) {
		char buf[7 + 1024 + 2];
		size_t n = c->rq_n;

		next = c->rq_next;
		memcpy(buf, s->rq_buf + c->rq_off, n);
		pconn_reply_now(c, buf, n);
	}
	if (s->rq_head == NULL)
		s->rq_len = 0;
}

static void
psrv_kick(void *arg)
{
	struct psrv *s = arg;

	event_active(s->turn_end, EV_TIMEOUT, 1);
}

void
psrv_reply(struct pconn *c, const char *action)
{
	/* "action=" + the sanitised action (at most 1023 bytes) + "\n\n" */
	struct psrv *s = c->s;
	char *buf;
	size_t len;

	if (s->rq_cap - s->rq_len < 7 + 1024 + 2) {
		s->rq_cap = s->rq_cap ? 2 * s->rq_cap : 16384;
		s->rq_buf = xrealloc(s->rq_buf, s->rq_cap);
	}
	buf = s->rq_buf + s->rq_len;
	memcpy(buf, "action=", 7);
	rg_sanitize(buf + 7, 1024, action, strlen(action));
	len = 7 + strlen(buf + 7);
	buf[len++] = '\n';
	buf[len++] = '\n';
	c->rq_off = s->rq_len;
	c->rq_n = len;
	s->rq_len += len;
	c->rq_next = NULL;
	if (s->rq_tail)
		s->rq_tail->rq_next = c;
	else
		s->rq_head = c;
	s->rq_tail = c;
	psrv_kick(s);
}

static void
pconn_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)pconn_parse(arg);
}

static void
pconn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct pconn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->pending && c->bev) {
		/* A half-close still gets the answer it is waiting for. */
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		msg_info("policy: %s: idle timeout, closing", c->peer);
	else if ((what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() != ECONNRESET &&
		 EVUTIL_SOCKET_ERROR() != EPIPE) /* the client left: nothing to say */
		msg_warn("policy: %s: read error: %s", c->peer, strerror(EVUTIL_SOCKET_ERROR()));
	pconn_close(c);
}

void
psrv_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct psrv *s = arg;
	struct pconn *c;
	char host[INET6_ADDRSTRLEN], port[8];

	(void)lev;
	if (s->pauses > 0) {
		if (s->pause_logged)
			msg_info("policy: accepting connections again after %lld ms (%ld pause(s))",
				 rg_mono_ms() - s->pause_start, s->pauses);
		s->pauses = 0;
		s->pause_logged = 0;
	}
	if (s->nconn >= s->max_conn) {
		if (rg_mono_ms() - s->last_full_log > 10000) {
			s->last_full_log = rg_mono_ms();
			msg_warn("policy: %d connections open (policyd_max_connections); refusing more",
				 s->nconn);
		}
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	if (sa->sa_family == AF_UNIX || getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port,
						    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(c->peer, sizeof(c->peer), "unix");
	else
		snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
	preq_init(&c->req, s->max_attr, s->max_req);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, pconn_readcb, NULL, pconn_eventcb, c);
	/* Bound what one connection can make us buffer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, s->max_req + s->max_line);
	bufferevent_set_timeouts(c->bev, &s->idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconn++;
	rg_metric_add(pm_connections, 1);
}

struct psrv *
psrv_new(struct event_base *base, psrv_handler h, void *arg)
{
	struct psrv *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->handler = h;
	s->arg = arg;
	s->fd_cap = (int)rg_fd_budget(PSRV_FD_RESERVE, &s->fd_limit);
	s->resume = evtimer_new(base, psrv_resume, s);
	s->turn_end = event_new(base, -1, 0, psrv_turn_end, s);
	msg_hold(psrv_kick, s);
	s->req_timeout.tv_sec = 10;
	s->max_conn = 10000;
	s->max_attr = 128;
	s->max_line = 4096;
	s->max_req = 65536;
	s->idle.tv_sec = 600;
	return s;
}

void
psrv_set_arg(struct psrv *s, void *arg)
{
	s->arg = arg;
}

void
psrv_set_limits(struct psrv *s, const struct rg_params *g)
{
	s->max_conn = (int)g->policyd_max_connections;
	if (s->max_conn > s->fd_cap) {
		msg_warn("policyd_max_connections = %d is more than the descriptor limit allows "
			 "(RLIMIT_NOFILE %ld, %d kept for other uses): serving at most %d connections",
			 s->max_conn, s->fd_limit, PSRV_FD_RESERVE, s->fd_cap);
		s->max_conn = s->fd_cap;
	}
	s->max_attr = (int)g->policyd_max_attributes;
	s->max_line = (size_t)g->policyd_max_line_length;
	s->max_req = (size_t)g->policyd_max_request_size;
	s->idle.tv_sec = g->policyd_idle_timeout / 1000;
	s->idle.tv_usec = (g->policyd_idle_timeout % 1000) * 1000;
	s->req_timeout.tv_sec = g->policyd_request_timeout / 1000;
	s->req_timeout.tv_usec = (g->policyd_request_timeout % 1000) * 1000;
}

struct event_base *
psrv_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

void *
psrv_scratch(struct pconn *c, size_t n)
{
	struct psrv *s = c->s;
	struct pscratch *b = c->scratch;

	if (b == NULL && (b = s->spare) != NULL)
		s->spare = b->next;
	if (b != NULL && b->size < n) {
		free(b);
		b = NULL;
	}
	if (b == NULL) {
		b = xmalloc(sizeof(*b) + n);
		b->size = n;
	}
	c->scratch = b;
	return b->data;
}

const char *
psrv_peer(const struct pconn *c)
{
	return c->peer;
}

int
psrv_nconn(const struct psrv *s)
{
	return s->nconn;
}

void
psrv_free(struct psrv *s)
{
	struct plisten *l;

	s->drained = NULL;
	msg_hold(NULL, NULL);
	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		if (l->lev)
			evconnlistener_free(l->lev);
		rg_sockfile_remove(&l->sock);
		free(l);
	}
	/* Callers answer every pending decision first (see server.h). */
	while (s->conns)
		pconn_free(s->conns);
	event_free(s->resume);
	event_free(s->turn_end);
	free(s->rq_buf);
	while (s->spare) {
		struct pscratch *b = s->spare;

		s->spare = b->next;
		free(b);
	}
	free(s);
}

void
psrv_drain(struct psrv *s, void (*done)(void *), void *arg)
{
	struct pconn *c, *next;

	s->draining = 1;
	s->drained = done;
	s->drained_arg = arg;
	evtimer_del(s->resume);
	for (struct plisten *l = s->listeners; l; l = l->next) {
		if (l->lev)
			evconnlistener_free(l->lev); /* closes the socket: new clients are refused */
		l->lev = NULL;
	}
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->bev)
			bufferevent_disable(c->bev, EV_READ);
		if (!c->pending)
			(void)pconn_parse(c); /* what is buffered, then retire */
	}
	if (s->nconn == 0 && s->drained) {
		s->drained = NULL;
		done(arg);
	}
}

static void
psrv_flushed(void *arg)
{
	event_base_loopbreak(((struct psrv *)arg)->base);
}

void
psrv_close(struct psrv *s)
{
	if (!s->draining)
		psrv_drain(s, NULL, NULL);
	s->closing = 1;
}

void
psrv_flush(struct psrv *s, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	struct pconn *c, *next;

	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->pending)
			(void)pconn_parse(c);
	}
	if (s->nconn == 0)
		return;
	s->drained = psrv_flushed;
	s->drained_arg = s;
	event_base_loopexit(s->base, &tv);
	event_base_dispatch(s->base);
	s->drained = NULL;
}
