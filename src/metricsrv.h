/*
 * metricsrv - the monitoring endpoint of a daemon: HTTP on a libevent loop
 * (evhttp) answering exactly two requests,
 *   GET /metrics   the registry in Prometheus' text format (metrics.h)
 *   GET /health    200 "ok" when the daemon can do its work, else 503 with
 *                  one line saying why (from the daemon's health callback)
 * (HEAD too); any other path is 404, any other method 501 (evhttp). Requests are
 * bounded: headers 8 KB, no body, 10 s per connection (libevent 2.1's evhttp
 * cannot cap the number of connections: keep the listener on loopback or a
 * monitoring network).
 *
 * Address: a TCP endpoint (endpoint.h); meant for loopback or a
 * monitoring network, it has no authentication.
 *
 * Contract: runs on the given event_base's thread; the health callback is
 * called there, must not block for long, and writes a one-line reason.
 */
#ifndef RG_METRICSRV_H
#define RG_METRICSRV_H

#include <stddef.h>

#include <event2/event.h>

struct rg_metricsrv;

/* 0 when healthy; otherwise non-zero with a one-line reason in why. */
typedef int (*rg_health_fn)(void *arg, char *why, size_t len);

struct rg_endpoint;

/* Listen on ep. Returns NULL with err for a UNIX-domain address or a bind failure. */
struct rg_metricsrv *rg_metricsrv_new(struct event_base *base, const struct rg_endpoint *ep,
				      rg_health_fn health, void *arg, char *err, size_t errlen);
void rg_metricsrv_free(struct rg_metricsrv *m);

#endif
