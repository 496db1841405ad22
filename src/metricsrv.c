/*
 * metricsrv - see metricsrv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "endpoint.h"
#include "metrics.h"
#include "metricsrv.h"
#include "util.h"

struct rg_metricsrv {
	struct evhttp *http;
	rg_health_fn health;
	void *arg;
};

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
	char shown[300];
	const char *host;

	if (ep->kind != RG_EP_INET) {
		snprintf(err, errlen, "metrics: %s: HTTP needs a TCP address (inet:host:port)",
			 rg_endpoint_str(ep, shown, sizeof(shown)));
		return NULL;
	}
	host = *ep->host ? ep->host : ep->family == AF_INET6 ? "::" : "0.0.0.0";
	m = xcalloc(1, sizeof(*m));
	m->health = health;
	m->arg = arg;
	if ((m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		free(m);
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_gencb(m->http, msrv_request, m);
	if (evhttp_bind_socket_with_handle(m->http, host, (ev_uint16_t)ep->port) == NULL) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
			 rg_endpoint_str(ep, shown, sizeof(shown)), strerror(errno));
		evhttp_free(m->http);
		free(m);
		return NULL;
	}
	return m;
}

void
rg_metricsrv_free(struct rg_metricsrv *m)
{
	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
}
