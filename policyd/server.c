/*
 * server - see server.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "msg.h"
#include "endpoint.h"
#include "server.h"
#include "util.h"

struct plisten {
	struct plisten *next;
	struct evconnlistener *lev;
	char *path; /* unix socket to unlink, or NULL */
};

struct psrv {
	struct event_base *base;
	psrv_handler handler;
	void *arg;
	struct plisten *listeners;
	struct pconn *conns;
	int nconn;
	int max_conn;
	int max_attr;
	size_t max_line, max_req;
	struct timeval idle;
	long long last_full_log;
	char *linebuf; /* max_line + 1 bytes; single-threaded, so shared */
};

struct pconn {
	struct psrv *s;
	struct pconn *prev, *next;
	struct bufferevent *bev; /* NULL once the peer is gone */
	struct preq req;
	int pending; /* a decision is outstanding */
	int in_read; /* inside pconn_parse: replies must not recurse */
	int eof; /* the peer shut down its side: answer, then close */
	char peer[64];
};

static int pconn_parse(struct pconn *c);
static void pconn_eventcb(struct bufferevent *bev, short what, void *arg);

static void
pconn_free(struct pconn *c)
{
	struct psrv *s = c->s;

	if (c->bev)
		bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconn--;
	preq_reset(&c->req);
	free(c);
}

/* The peer is gone or misbehaved: close now, or once the decision is in. */
static void
pconn_close(struct pconn *c)
{
	if (c->pending) {
		if (c->bev) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		return;
	}
	pconn_free(c);
}

static void pconn_drained(struct bufferevent *bev, void *arg);

static void
pconn_trouble(struct pconn *c, const char *why)
{
	msg_warn("policy: %s: %s; disconnecting without a reply", c->peer, why);
	if (c->bev && !c->pending && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		/* Answers decided before the bad line still leave; then close. */
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setcb(c->bev, NULL, pconn_drained, pconn_eventcb, c);
		return;
	}
	pconn_close(c);
}

/* Frame lines; dispatch a request at the empty line. Returns 1 when c was
 * freed (the caller must not touch it), else 0. */
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
		size_t n;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
		char *line = s->linebuf;

		if (eol.pos < 0) {
			c->in_read = 0;
			if (evbuffer_get_length(in) > s->max_line) {
				pconn_trouble(c, "line too long");
				return 1;
			}
			return 0;
		}
		if ((size_t)eol.pos > s->max_line) {
			c->in_read = 0;
			pconn_trouble(c, "line too long");
			return 1;
		}
		evbuffer_remove(in, line, (size_t)eol.pos);
		evbuffer_drain(in, n);
		if (eol.pos == 0 || (eol.pos == 1 && line[0] == '\r')) {
			if (c->req.nattr == 0) {
				c->in_read = 0;
				pconn_trouble(c, "empty request");
				return 1;
			}
			c->pending = 1;
			s->handler(c, &c->req, s->arg);
			if (c->bev == NULL && !c->pending) {
				/* replied synchronously after the peer vanished */
				c->in_read = 0;
				pconn_free(c);
				return 1;
			}
			continue;
		}
		if (preq_add_line(&c->req, line, (size_t)eol.pos, err, sizeof(err)) != 0) {
			c->in_read = 0;
			pconn_trouble(c, err);
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

void
psrv_reply(struct pconn *c, const char *action)
{
	char buf[1024];

	c->pending = 0;
	preq_reset(&c->req);
	if (c->bev == NULL) {
		if (!c->in_read)
			pconn_free(c);
		return;
	}
	rg_sanitize(buf, sizeof(buf), action, strlen(action));
	evbuffer_add_printf(bufferevent_get_output(c->bev), "action=%s\n\n", buf);
	if (c->in_read || pconn_parse(c))
		return;
	if (c->eof && !c->pending)
		bufferevent_setcb(c->bev, NULL, pconn_drained, pconn_eventcb, c);
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
	else if ((what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() != ECONNRESET)
		msg_warn("policy: %s: read error: %s", c->peer, strerror(EVUTIL_SOCKET_ERROR()));
	pconn_close(c);
}

static void
psrv_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct psrv *s = arg;
	struct pconn *c;
	char host[INET6_ADDRSTRLEN], port[8];

	(void)lev;
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
}

struct psrv *
psrv_new(struct event_base *base, psrv_handler h, void *arg)
{
	struct psrv *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->handler = h;
	s->arg = arg;
	s->max_conn = 10000;
	s->max_attr = 128;
	s->max_line = 4096;
	s->max_req = 65536;
	s->idle.tv_sec = 600;
	s->linebuf = xmalloc(s->max_line + 1);
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
	s->max_attr = (int)g->policyd_max_attributes;
	s->max_line = (size_t)g->policyd_max_line_length;
	s->linebuf = xrealloc(s->linebuf, s->max_line + 1);
	s->max_req = (size_t)g->policyd_max_request_size;
	s->idle.tv_sec = g->policyd_idle_timeout / 1000;
	s->idle.tv_usec = (g->policyd_idle_timeout % 1000) * 1000;
}

static int
psrv_bind_unix(const char *path, int mode, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(path);
	/* No window in which the socket has wider permissions than asked. */
	old = umask(0777 & ~(mode_t)mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, (mode_t)mode) < 0) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Bind a TCP listener on ep (parsed at load by the endpoint grammar). */
static int
psrv_bind_inet(const struct rg_endpoint *ep, char *err, size_t errlen)
{
	struct addrinfo *res;
	char name[300];
	int fd, on = 1;

	if (rg_endpoint_getaddrinfo(ep, 1, &res, err, errlen) != 0)
		return -1;
	rg_endpoint_str(ep, name, sizeof(name));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		snprintf(err, errlen, "bind %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
psrv_listen(struct psrv *s, const struct rg_endpoint *ep, int mode, char *err, size_t errlen)
{
	struct plisten *l;
	char name[300];
	int fd;

	rg_endpoint_str(ep, name, sizeof(name));
	if (ep->kind == RG_EP_UNIX)
		fd = psrv_bind_unix(ep->path, mode, err, errlen);
	else
		fd = psrv_bind_inet(ep, err, errlen);
	if (fd < 0)
		return -1;
	evutil_make_socket_nonblocking(fd);
	l = xcalloc(1, sizeof(*l));
	l->lev = evconnlistener_new(s->base, psrv_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    1024, fd);
	if (l->lev == NULL) {
		snprintf(err, errlen, "%s: listen: %s", name, strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	l->path = ep->kind == RG_EP_UNIX ? xstrdup(ep->path) : NULL;
	l->next = s->listeners;
	s->listeners = l;
	return 0;
}

int
psrv_chown(struct psrv *s, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	for (struct plisten *l = s->listeners; l; l = l->next) {
		if (l->path && chown(l->path, uid, gid) < 0) {
			snprintf(err, errlen, "chown %s: %s", l->path, strerror(errno));
			return -1;
		}
	}
	return 0;
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

	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		evconnlistener_free(l->lev);
		if (l->path)
			(void)unlink(l->path);
		free(l->path);
		free(l);
	}
	/* Callers answer every pending decision first (see server.h). */
	while (s->conns)
		pconn_free(s->conns);
	free(s->linebuf);
	free(s);
}
