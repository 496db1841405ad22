/*
 * metricsrv - the monitoring endpoint of a daemon: HTTP on a libevent loop
 * (evhttp) answering exactly two requests,
 *   GET /metrics   the registry in Prometheus' text format (metrics.h)
 *   GET /health    200 "ok" when the daemon can do its work, else 503 with
 *                  one line saying why (from the daemon's health callback)
 * (HEAD too); any other path is 404, any other method 501 (evhttp).
 *
 * Bounds, so that a scraper storm or a slow client cannot use up the
 * daemon's descriptors or hold the listener: at most MSRV_MAX_CONN
 * connections at once (at the cap the listener stops accepting; further
 * connections wait in the kernel's listen queue until one closes); a
 * connection idle for MSRV_IDLE_TIMEOUT seconds is closed; a request must be
 * complete (headers read) within MSRV_REQUEST_MS of its first byte, else the
 * connection is dropped; headers at most MSRV_MAX_HEADERS bytes, no body.
 * Gauge relayguard_metrics_http_connections and counter
 * relayguard_metrics_http_limits_total{limit} show them at work.
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

#define MSRV_MAX_CONN 32 /* connections open at once */
#define MSRV_IDLE_TIMEOUT 10 /* seconds without a byte (evhttp_set_timeout) */
#define MSRV_REQUEST_MS 10000 /* from a request's first byte to its end */
#define MSRV_MAX_HEADERS 8192 /* bytes of request line and headers */

struct rg_metricsrv;

/* 0 when healthy; otherwise non-zero with a one-line reason in why. */
typedef int (*rg_health_fn)(void *arg, char *why, size_t len);

struct rg_endpoint;

/* Listen on ep. Returns NULL with err for a UNIX-domain address or a bind failure. */
struct rg_metricsrv *rg_metricsrv_new(struct event_base *base, const struct rg_endpoint *ep,
				      rg_health_fn health, void *arg, char *err, size_t errlen);
void rg_metricsrv_free(struct rg_metricsrv *m);

#endif
