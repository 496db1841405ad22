/*
 * metricsrv - see metricsrv.h.
 *
 * The connection cap: evhttp (libevent 2.1) has no limit of its own and
 * tells nobody about a connection before its first complete request. It
 * does let us make each connection's bufferevent (evhttp_set_bevcb), and
 * right after it has made the connection around it (one event-loop callback
 * later, msrv_hook) the bufferevent's callback argument is that connection,
 * on which a close callback tells us when it goes. At MSRV_MAX_CONN open
 * connections the listener stops accepting (further connections wait in the
 * kernel's listen queue, holding none of our descriptors) and starts again
 * when one closes. A callback on the bufferevent's input buffer sees every
 * byte that comes in, which gives the request deadline evhttp lacks (its
 * timeout starts again at each byte: a client trickling one byte a second
 * would hold a connection for hours).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "endpoint.h"
#include "metrics.h"
#include "metricsrv.h"
#include "util.h"

/* One connection. */
struct msrv_conn {
	struct msrv_conn *prev, *next;
	struct rg_metricsrv *m;
	struct bufferevent *bev; /* ours to make; evhttp's to free */
	struct evbuffer_cb_entry *watch; /* on bev's input */
	struct event *hook; /* pending msrv_hook, NULL after */
	long long since; /* rg_mono_ms of a request's first byte; 0 between requests, -1 dropped */
};

struct rg_metricsrv {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct msrv_conn *conns; /* open connections, newest first */
	int nconn;
	int paused; /* the listener is disabled */
	rg_health_fn health;
	void *arg;
};

static struct rg_metric *msrv_open, *msrv_limited;

/* Forget c: the connection is gone (or going: its bufferevent is still there). */
static void
msrv_conn_gone(struct msrv_conn *c)
{
	struct rg_metricsrv *m = c->m;

	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->nconn--;
	rg_metric_add(msrv_open, -1);
	if (m->paused && m->listener && m->nconn < MSRV_MAX_CONN) {
		evconnlistener_enable(m->listener);
		m->paused = 0;
	}
	free(c);
}

/* evhttp frees the connection (once, from evhttp_connection_free). */
static void
msrv_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	msrv_conn_gone(arg);
}

/* Bytes came in: a request must be complete within MSRV_REQUEST_MS of its first one. */
static void
msrv_watch(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct msrv_conn *c = arg;
	long long now;

	(void)buf;
	if (info->n_added == 0 || c->since < 0)
		return;
	now = rg_mono_ms();
	if (c->since == 0) {
		c->since = now;
	} else if (now - c->since > MSRV_REQUEST_MS) {
		/* evhttp reads the end of the stream next and frees the connection. */
		c->since = -1;
		rg_metric_inc(msrv_limited, "request_time");
		shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
	}
}

/* The loop's next callback after msrv_bev: evhttp has made the connection around c->bev. */
static void
msrv_hook(evutil_socket_t fd, short what, void *arg)
{
	struct msrv_conn *c = arg;
	struct bufferevent *bev = c->bev;
	void *evcon = NULL;

	(void)fd;
	(void)what;
	event_free(c->hook);
	c->hook = NULL;
	/* bufferevent_free clears the callbacks: NULL when evhttp gave up on it meanwhile. */
	bufferevent_getcb(bev, NULL, NULL, NULL, &evcon);
	if (evcon)
		evhttp_connection_set_closecb(evcon, msrv_closed, c);
	else
		msrv_conn_gone(c);
	bufferevent_decref(bev); /* msrv_bev's reference */
}

/* evhttp accepted a connection: make its bufferevent, and count it. */
static struct bufferevent *
msrv_bev(struct event_base *base, void *arg)
{
	struct rg_metricsrv *m = arg;
	struct msrv_conn *c;

	c = xcalloc(1, sizeof(*c));
	if ((c->bev = bufferevent_socket_new(base, -1, 0)) == NULL ||
	    (c->hook = event_new(base, -1, 0, msrv_hook, c)) == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		free(c);
		return NULL; /* evhttp makes one itself, uncounted; only when memory is out */
	}
	c->m = m;
	c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), msrv_watch, c);
	bufferevent_incref(c->bev); /* until msrv_hook */
	event_active(c->hook, EV_TIMEOUT, 1);
	if ((c->next = m->conns) != NULL)
		c->next->prev = c;
	m->conns = c;
	m->nconn++;
	rg_metric_add(msrv_open, 1);
	if (m->nconn >= MSRV_MAX_CONN && !m->paused && m->listener) {
		evconnlistener_disable(m->listener);
		m->paused = 1;
		rg_metric_inc(msrv_limited, "connections");
	}
	return c->bev;
}

/* A request is complete: the next one's deadline starts at its first byte. */
static void
msrv_request_done(struct rg_metricsrv *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (struct msrv_conn *c = m->conns; c && bev; c = c->next)
		if (c->bev == bev) {
			if (c->since > 0)
				c->since = 0;
			break;
		}
}

static void
msrv_text(struct evhttp_request *req, int code, const char *reason, const char *ctype, const char *body,
	  size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
msrv_request(struct evhttp_request *req, void *arg)
{
	struct rg_metricsrv *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	size_t plen = strcspn(uri, "?");
	char why[300], body[320];

	msrv_request_done(m, req);
	if (plen == 8 && strncmp(uri, "/metrics", 8) == 0) {
		size_t len;
		char *text = rg_metrics_render(&len);

		msrv_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
		free(text);
	} else if (plen == 7 && strncmp(uri, "/health", 7) == 0) {
		int bad;

		why[0] = 0;
		bad = m->health ? m->health(m->arg, why, sizeof(why)) : 0;
		snprintf(body, sizeof(body), "%s\n", bad ? (*why ? printable(why) : "unhealthy") : "ok");
		msrv_text(req, bad ? 503 : 200, bad ? "Service Unavailable" : "OK",
			  "text/plain; charset=utf-8", body, strlen(body));
	} else {
		msrv_text(req, 404, "Not Found", "text/plain; charset=utf-8", "not found\n", 10);
	}
}

struct rg_metricsrv *
rg_metricsrv_new(struct event_base *base, const struct rg_endpoint *ep, rg_health_fn health, void *arg,
		 char *err, size_t errlen)
{
	struct rg_metricsrv *m;
	struct evhttp_bound_socket *bound;
	char shown[300];
	const char *host;

	if (ep->kind != RG_EP_INET) {
		snprintf(err, errlen, "metrics: %s: HTTP needs a TCP address (inet:host:port)",
			 rg_endpoint_str(ep, shown, sizeof(shown)));
		return NULL;
	}
	host = *ep->host ? ep->host : ep->family == AF_INET6 ? "::" : "0.0.0.0";
	msrv_open = rg_metric_new(RG_GAUGE, "relayguard_metrics_http_connections",
				  "Connections open to this /metrics and /health listener.", NULL, NULL, 0);
	msrv_limited = rg_metric_new(
	    RG_COUNTER, "relayguard_metrics_http_limits_total",
	    "Times a limit of the /metrics listener acted: connections (the cap was reached, new ones "
	    "wait), request_time (a request not complete in time, dropped).",
	    "limit", NULL, 0);
	rg_metric_zero(msrv_limited, "connections request_time");
	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->health = health;
	m->arg = arg;
	if ((m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		free(m);
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(m->http, MSRV_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, MSRV_IDLE_TIMEOUT);
	evhttp_set_bevcb(m->http, msrv_bev, m);
	evhttp_set_gencb(m->http, msrv_request, m);
	if ((bound = evhttp_bind_socket_with_handle(m->http, host, (ev_uint16_t)ep->port)) == NULL) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
			 rg_endpoint_str(ep, shown, sizeof(shown)), strerror(errno));
		evhttp_free(m->http);
		free(m);
		return NULL;
	}
	m->listener = evhttp_bound_socket_get_listener(bound);
	return m;
}

void
rg_metricsrv_free(struct rg_metricsrv *m)
{
	if (m == NULL)
		return;
	m->listener = NULL; /* evhttp_free frees it before the connections */
	evhttp_free(m->http); /* each connection's close callback forgets it */
	while (m->conns) { /* those whose msrv_hook has not run */
		struct msrv_conn *c = m->conns;
		struct bufferevent *bev = c->bev;

		event_free(c->hook);
		msrv_conn_gone(c);
		bufferevent_decref(bev);
	}
	free(m);
}
