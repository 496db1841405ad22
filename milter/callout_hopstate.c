/*
 * hopstate - see callout_hopstate.h.
 *
 * A linear table: the number of customers' next hops one relay talks to at
 * the same moment is small, and a scan of a few hundred short strings is
 * nothing next to the SMTP session it guards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"
#include "callout_hopstate.h"

struct hop {
	char name[HOPSTATE_NAME_MAX]; /* "" = free entry */
	int active; /* open sessions */
	long long down_until; /* mono ms; 0 = up */
	long long used; /* mono ms of the last lookup, for eviction */
};

struct hopstate {
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a slot was released somewhere */
	size_t max;
	struct hop *hops;
};

struct hopstate *
hopstate_new(size_t max)
{
	struct hopstate *h = xcalloc(1, sizeof(*h));
	pthread_condattr_t ca;

	h->max = max ? max : 1;
	h->hops = xcalloc(h->max, sizeof(*h->hops));
	pthread_mutex_init(&h->lock, NULL);
	/* Waits are measured on the monotonic clock like everything else here. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->freed, &ca);
	pthread_condattr_destroy(&ca);
	return h;
}

void
hopstate_free(struct hopstate *h)
{
	if (h == NULL)
		return;
	pthread_cond_destroy(&h->freed);
	pthread_mutex_destroy(&h->lock);
	free(h->hops);
	free(h);
}

/* Find hop (lock held); create it when create != 0 and there is room. NULL otherwise. */
static struct hop *
hop_find(struct hopstate *h, const char *name, int create, long long now)
{
	struct hop *victim = NULL;

	for (size_t i = 0; i < h->max; i++) {
		struct hop *e = &h->hops[i];

		if (e->name[0] && strncasecmp(e->name, name, sizeof(e->name) - 1) == 0) {
			e->used = now;
			return e;
		}
	}
	if (!create)
		return NULL;
	/* A free entry, else the least recently used one nobody is talking to. */
	for (size_t i = 0; i < h->max; i++) {
		struct hop *e = &h->hops[i];

		if (e->name[0] == 0) {
			victim = e;
			break;
		}
		if (e->active == 0 && (victim == NULL || e->used < victim->used))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	rg_strlcpy(victim->name, name, sizeof(victim->name));
	victim->used = now;
	return victim;
}

static void
abs_mono(struct timespec *ts, long long ms_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms_from_now / 1000;
	ts->tv_nsec += (ms_from_now % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum hopstate_rc
hopstate_acquire(struct hopstate *h, const char *hop, int limit, long long wait_ms)
{
	long long now = rg_mono_ms(), end = now + (wait_ms > 0 ? wait_ms : 0);
	enum hopstate_rc rc = HOPSTATE_BUSY;
	struct timespec ts;

	abs_mono(&ts, wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		/* Looked up afresh each time: the entry may have been reused meanwhile. */
		struct hop *e = hop_find(h, hop, 1, now);

		if (e && e->down_until > now) {
			rc = HOPSTATE_DOWN;
			break;
		}
		if (e && e->active < (limit > 0 ? limit : 1)) {
			e->active++;
			rc = HOPSTATE_OK;
			break;
		}
		if (now >= end)
			break;
		if (pthread_cond_timedwait(&h->freed, &h->lock, &ts) == ETIMEDOUT)
			end = now; /* one last look, then give up */
		now = rg_mono_ms();
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void
hopstate_release(struct hopstate *h, const char *hop)
{
	struct hop *e;

	pthread_mutex_lock(&h->lock);
	if ((e = hop_find(h, hop, 0, rg_mono_ms())) != NULL && e->active > 0)
		e->active--;
	pthread_cond_broadcast(&h->freed);
	pthread_mutex_unlock(&h->lock);
}

void
hopstate_result(struct hopstate *h, const char *hop, int failed, long long backoff_ms)
{
	long long now = rg_mono_ms();
	struct hop *e;

	pthread_mutex_lock(&h->lock);
	if ((e = hop_find(h, hop, failed && backoff_ms > 0, now)) != NULL) {
		if (!failed)
			e->down_until = 0;
		else if (backoff_ms > 0 && now + backoff_ms > e->down_until)
			e->down_until = now + backoff_ms;
	}
	pthread_mutex_unlock(&h->lock);
}

long long
hopstate_down_left(struct hopstate *h, const char *hop)
{
	long long now = rg_mono_ms(), left = 0;
	struct hop *e;

	pthread_mutex_lock(&h->lock);
	if ((e = hop_find(h, hop, 0, now)) != NULL && e->down_until > now)
		left = e->down_until - now;
	pthread_mutex_unlock(&h->lock);
	return left;
}

int
hopstate_active(struct hopstate *h, const char *hop)
{
	struct hop *e;
	int n = 0;

	pthread_mutex_lock(&h->lock);
	if ((e = hop_find(h, hop, 0, rg_mono_ms())) != NULL)
		n = e->active;
	pthread_mutex_unlock(&h->lock);
	return n;
}
