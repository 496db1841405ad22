/*
 * metrics - a small registry of Prometheus metrics (counters, gauges,
 * fixed-bucket histograms) and its text exposition format (version 0.0.4).
 *
 * A metric is declared once at start-up with its label names (at most
 * RG_METRIC_MAX_LABELS). Label values come from fixed sets chosen by the
 * code (a check name, an action, a class name from the configuration),
 * never from client text (a server address as configured is the widest);
 * to keep even a mistake bounded, a value that is not
 * [a-zA-Z0-9_.:/[]-]{1,RG_METRIC_VALUE_MAX} (none of them needs escaping in
 * the exposition format) is counted as "other", and a metric holds at
 * most RG_METRIC_MAX_SERIES label combinations (the rest go to one series
 * whose every label is "other").
 *
 * Contract: thread-safe. Updates are lock-free atomics once a series
 * exists; creating a series takes the metric's mutex. Every update on a
 * NULL metric is a no-op, so code shared with programs that serve no
 * metrics (relayguardctl, unit tests) needs no conditionals. Metrics live
 * until rg_metrics_reset (tests) or the process ends.
 */
#ifndef RG_METRICS_H
#define RG_METRICS_H

#include <stddef.h>

#define RG_METRIC_MAX_LABELS 4
#define RG_METRIC_MAX_SERIES 96
#define RG_METRIC_MAX_BUCKETS 16
#define RG_METRIC_VALUE_MAX 100 /* bytes of one label value */

enum rg_metric_kind { RG_COUNTER, RG_GAUGE, RG_HISTOGRAM };

struct rg_metric;

/*
 * Declare a metric. labels: comma-separated label names ("check,action"),
 * or NULL/"" for none. buckets: histogram upper bounds in ascending order
 * (nbuckets <= RG_METRIC_MAX_BUCKETS; +Inf is implied). Returns the metric
 * (the same one when name is declared again).
 */
struct rg_metric *rg_metric_new(enum rg_metric_kind kind, const char *name, const char *help,
				const char *labels, const double *buckets, int nbuckets);

/* Counter += n / gauge += n (n may be negative for a gauge). One label value per label name. */
void rg_metric_add(struct rg_metric *m, long long n, ...);
#define rg_metric_inc(m, ...) rg_metric_add((m), 1, ##__VA_ARGS__)
/* A one-label metric's series for each space-separated value of values,
 * at 0, so a dashboard sees them before the first event. */
void rg_metric_zero(struct rg_metric *m, const char *values);
/* Gauge = v (shown again if it was hidden). */
void rg_metric_set(struct rg_metric *m, long long v, ...);
/* Gauge: leave this series out of the exposition until its next
 * rg_metric_set (e.g. a server no longer configured). No-op when it does
 * not exist. */
void rg_metric_hide(struct rg_metric *m, ...);
/* Histogram: one observation of seconds. */
void rg_metric_observe(struct rg_metric *m, double seconds, ...);

/* The text exposition of every metric: a NUL-terminated string the caller frees; *len its length. */
char *rg_metrics_render(size_t *len);

/* Forget every metric (unit tests). Not thread-safe against updates. */
void rg_metrics_reset(void);

/* Seconds of CLOCK_MONOTONIC (microsecond resolution), for latency observations. */
double rg_metric_now(void);

/* Common latency buckets in seconds (0.5 ms .. 10 s), RG_METRIC_LATENCY_N of them. */
extern const double rg_metric_latency_buckets[];
#define RG_METRIC_LATENCY_N 14

#endif
