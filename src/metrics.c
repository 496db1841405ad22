/*
 * metrics - see metrics.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

const double rg_metric_latency_buckets[RG_METRIC_LATENCY_N] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

double
rg_metric_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define RG_LABELS_MAX 200 /* rendered: a="x",b="y" */

struct rg_series {
	char labels[RG_LABELS_MAX];
	_Atomic int hidden; /* gauge: left out of the exposition (rg_metric_hide) */
	_Atomic long long value; /* counter, gauge, or histogram count */
	_Atomic unsigned long long sum_us; /* histogram: sum of observations in microseconds */
	_Atomic unsigned long long bucket[RG_METRIC_MAX_BUCKETS]; /* not cumulative */
};

struct rg_metric {
	struct rg_metric *next;
	enum rg_metric_kind kind;
	char name[80], help[200];
	int nlabels;
	char label[RG_METRIC_MAX_LABELS][32];
	double le[RG_METRIC_MAX_BUCKETS];
	int nbuckets;
	pthread_mutex_t lock;
	_Atomic int nseries;
	struct rg_series series[RG_METRIC_MAX_SERIES];
};

static pthread_mutex_t rgm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rg_metric *rgm_head, *rgm_tail;

struct rg_metric *
rg_metric_new(enum rg_metric_kind kind, const char *name, const char *help, const char *labels,
	      const double *buckets, int nbuckets)
{
	struct rg_metric *m;

	pthread_mutex_lock(&rgm_lock);
	for (m = rgm_head; m; m = m->next)
		if (strcmp(m->name, name) == 0) {
			pthread_mutex_unlock(&rgm_lock);
			return m;
		}
	m = xcalloc(1, sizeof(*m));
	m->kind = kind;
	rg_strlcpy(m->name, name, sizeof(m->name));
	rg_strlcpy(m->help, help, sizeof(m->help));
	for (const char *s = labels; s && *s && m->nlabels < RG_METRIC_MAX_LABELS;) {
		size_t n = strcspn(s, ",");

		if (n > 0 && n < sizeof(m->label[0])) {
			memcpy(m->label[m->nlabels], s, n);
			m->label[m->nlabels++][n] = 0;
		}
		s += n;
		s += *s == ',';
	}
	if (kind == RG_HISTOGRAM) {
		m->nbuckets = nbuckets < RG_METRIC_MAX_BUCKETS ? nbuckets : RG_METRIC_MAX_BUCKETS;
		for (int i = 0; i < m->nbuckets; i++)
			m->le[i] = buckets[i];
	}
	pthread_mutex_init(&m->lock, NULL);
	if (rgm_tail)
		rgm_tail->next = m;
	else
		rgm_head = m;
	rgm_tail = m;
	pthread_mutex_unlock(&rgm_lock);
	return m;
}

/* A label value from a fixed set; anything else is "other". */
static const char *
rgm_value(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n > RG_METRIC_VALUE_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/[]-") != n)
		return "other";
	return v;
}

static void
rgm_labels(const struct rg_metric *m, va_list ap, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < m->nlabels; i++) {
		int n = snprintf(buf + o, len - o, "%s%s=\"%s\"", i ? "," : "", m->label[i],
				 rgm_value(va_arg(ap, const char *)));

		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

static struct rg_series *
rgm_series(struct rg_metric *m, va_list ap, int create)
{
	char key[RG_LABELS_MAX];
	int n, i;

	rgm_labels(m, ap, key, sizeof(key));
	n = atomic_load_explicit(&m->nseries, memory_order_acquire);
	for (i = 0; i < n; i++)
		if (strcmp(m->series[i].labels, key) == 0)
			return &m->series[i];
	if (!create)
		return NULL;
	pthread_mutex_lock(&m->lock);
	n = atomic_load_explicit(&m->nseries, memory_order_relaxed);
	for (i = 0; i < n; i++)
		if (strcmp(m->series[i].labels, key) == 0)
			break;
	if (i == n) {
		if (n == RG_METRIC_MAX_SERIES - 1) {
			/* Full: the last series takes every further combination. */
			size_t o = 0;

			key[0] = 0;
			for (int k = 0; k < m->nlabels; k++)
				o += (size_t)snprintf(key + o, sizeof(key) - o, "%s%s=\"other\"",
						      k ? "," : "", m->label[k]);
			for (i = 0; i < n; i++)
				if (strcmp(m->series[i].labels, key) == 0)
					break;
		}
		if (i == n) {
			rg_strlcpy(m->series[n].labels, key, sizeof(m->series[n].labels));
			atomic_store_explicit(&m->nseries, n + 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return &m->series[i];
}

void
rg_metric_add(struct rg_metric *m, long long n, ...)
{
	va_list ap;
	struct rg_series *s;

	if (m == NULL || m->kind == RG_HISTOGRAM || (m->kind == RG_COUNTER && n < 0))
		return;
	va_start(ap, n);
	s = rgm_series(m, ap, 1);
	va_end(ap);
	atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void
rg_metric_zero(struct rg_metric *m, const char *values)
{
	char v[64];

	for (const char *p = values; *p;) {
		size_t n = strcspn(p, " ");

		if (n > 0 && n < sizeof(v)) {
			memcpy(v, p, n);
			v[n] = 0;
			rg_metric_add(m, 0, v);
		}
		p += n;
		p += strspn(p, " ");
	}
}

void
rg_metric_set(struct rg_metric *m, long long v, ...)
{
	va_list ap;
	struct rg_series *s;

	if (m == NULL || m->kind != RG_GAUGE)
		return;
	va_start(ap, v);
	s = rgm_series(m, ap, 1);
	va_end(ap);
	atomic_store_explicit(&s->value, v, memory_order_relaxed);
	atomic_store_explicit(&s->hidden, 0, memory_order_relaxed);
}

void
rg_metric_hide(struct rg_metric *m, ...)
{
	va_list ap;
	struct rg_series *s;

	if (m == NULL || m->kind != RG_GAUGE)
		return;
	va_start(ap, m);
	s = rgm_series(m, ap, 0);
	va_end(ap);
	if (s)
		atomic_store_explicit(&s->hidden, 1, memory_order_relaxed);
}

void
rg_metric_observe(struct rg_metric *m, double seconds, ...)
{
	va_list ap;
	struct rg_series *s;
	int i;

	if (m == NULL || m->kind != RG_HISTOGRAM)
		return;
	if (!(seconds >= 0)) /* negative or NaN */
		seconds = 0;
	va_start(ap, seconds);
	s = rgm_series(m, ap, 1);
	va_end(ap);
	for (i = 0; i < m->nbuckets && seconds > m->le[i]; i++)
		;
	if (i < m->nbuckets)
		atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)(seconds * 1e6 + 0.5),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

struct rgm_buf {
	char *p;
	size_t len, size;
};

static void rgm_printf(struct rgm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
rgm_printf(struct rgm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->size - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->size = b->size * 2 + (n > 0 ? (size_t)n : 0);
		b->p = xrealloc(b->p, b->size);
	}
}

/* name{labels[,extra]} */
static void
rgm_sample(struct rgm_buf *b, const char *name, const char *suffix, const char *labels, const char *extra)
{
	int any = *labels || (extra && *extra);

	rgm_printf(b, "%s%s%s%s%s%s%s", name, suffix, any ? "{" : "", labels, *labels && extra ? "," : "",
		   extra ? extra : "", any ? "}" : "");
}

static void
rgm_render_one(struct rgm_buf *b, struct rg_metric *m)
{
	static const char *const type[] = {"counter", "gauge", "histogram"};
	int n = atomic_load_explicit(&m->nseries, memory_order_acquire);

	rgm_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, type[m->kind]);
	/* A metric without labels is shown as 0 before its first update. */
	if (n == 0 && m->nlabels == 0) {
		if (m->kind == RG_HISTOGRAM) {
			rgm_printf(b, "%s_bucket{le=\"+Inf\"} 0\n%s_sum 0\n%s_count 0\n", m->name, m->name,
				   m->name);
		} else {
			rgm_printf(b, "%s 0\n", m->name);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		struct rg_series *s = &m->series[i];
		long long count = atomic_load_explicit(&s->value, memory_order_relaxed);

		if (m->kind != RG_HISTOGRAM) {
			if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
				continue;
			rgm_sample(b, m->name, "", s->labels, NULL);
			rgm_printf(b, " %lld\n", count);
			continue;
		}
		{
			unsigned long long cum = 0;
			char le[48];

			for (int k = 0; k < m->nbuckets; k++) {
				cum += atomic_load_explicit(&s->bucket[k], memory_order_relaxed);
				snprintf(le, sizeof(le), "le=\"%g\"", m->le[k]);
				rgm_sample(b, m->name, "_bucket", s->labels, le);
				rgm_printf(b, " %llu\n", cum);
			}
			/* +Inf is the count, read last: never below a bucket. */
			if ((unsigned long long)count < cum)
				count = (long long)cum;
			rgm_sample(b, m->name, "_bucket", s->labels, "le=\"+Inf\"");
			rgm_printf(b, " %lld\n", count);
			rgm_sample(b, m->name, "_sum", s->labels, NULL);
			rgm_printf(b, " %.6f\n",
				   (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
			rgm_sample(b, m->name, "_count", s->labels, NULL);
			rgm_printf(b, " %lld\n", count);
		}
	}
}

char *
rg_metrics_render(size_t *len)
{
	struct rgm_buf b = {xmalloc(8192), 0, 8192};
	struct rg_metric *m;

	b.p[0] = 0;
	pthread_mutex_lock(&rgm_lock); /* against a declaration in another thread */
	for (m = rgm_head; m; m = m->next)
		rgm_render_one(&b, m);
	pthread_mutex_unlock(&rgm_lock);
	if (len)
		*len = b.len;
	return b.p;
}

void
rg_metrics_reset(void)
{
	struct rg_metric *m, *next;

	pthread_mutex_lock(&rgm_lock);
	for (m = rgm_head; m; m = next) {
		next = m->next;
		pthread_mutex_destroy(&m->lock);
		free(m);
	}
	rgm_head = rgm_tail = NULL;
	pthread_mutex_unlock(&rgm_lock);
}
