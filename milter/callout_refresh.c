/*
 * refresh - see callout_refresh.h.
 *
 * The queue is an array of slots; a slot is free, queued or running, and
 * the queue order is a sequence number (the array is small: a linear scan
 * costs nothing next to an SMTP session).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "util.h"
#include "callout_refresh.h"

enum slot_state { SLOT_FREE = 0, SLOT_QUEUED, SLOT_RUNNING };

struct slot {
	enum slot_state state;
	unsigned long long seq;
	struct refresh_job job;
};

struct refresh {
	pthread_mutex_t lock;
	pthread_cond_t work;
	int stopping;
	size_t qmax;
	int batch_max;
	struct slot *slots;
	unsigned long long seq;
	refresh_fn fn;
	void *arg;
	int nworkers;
	pthread_t *workers;
};

static int
same_batch(const struct refresh_job *a, const struct refresh_job *b)
{
	return strcasecmp(a->hop, b->hop) == 0 && strcmp(a->p->callout_sender, b->p->callout_sender) == 0;
}

/* The oldest queued job and up to batch_max-1 companions, marked running (lock held). */
static int
take_batch(struct refresh *q, struct refresh_job **jobs)
{
	struct slot *first = NULL;
	int n = 0;

	for (size_t i = 0; i < q->qmax; i++)
		if (q->slots[i].state == SLOT_QUEUED && (first == NULL || q->slots[i].seq < first->seq))
			first = &q->slots[i];
	if (first == NULL)
		return 0;
	first->state = SLOT_RUNNING;
	jobs[n++] = &first->job;
	for (size_t i = 0; i < q->qmax && n < q->batch_max; i++) {
		struct slot *s = &q->slots[i];

		if (s->state == SLOT_QUEUED && same_batch(&s->job, &first->job)) {
			s->state = SLOT_RUNNING;
			jobs[n++] = &s->job;
		}
	}
	return n;
}

static void
slot_release(struct slot *s)
{
	rg_config_unref(s->job.cfg);
	memset(s, 0, sizeof(*s));
}

static void *
worker(void *arg)
{
	struct refresh *q = arg;
	struct refresh_job **jobs = xcalloc((size_t)q->batch_max, sizeof(*jobs));

	pthread_mutex_lock(&q->lock);
	for (;;) {
		int n = 0;

		while (!q->stopping && (n = take_batch(q, jobs)) == 0)
			pthread_cond_wait(&q->work, &q->lock);
		if (q->stopping)
			break;
		pthread_mutex_unlock(&q->lock);
		q->fn(q->arg, (struct refresh_job *const *)jobs, n);
		pthread_mutex_lock(&q->lock);
		for (int i = 0; i < n; i++)
			/* The job is a member of its slot: step back to the slot. */
			slot_release((struct slot *)((char *)jobs[i] - offsetof(struct slot, job)));
	}
	pthread_mutex_unlock(&q->lock);
	free(jobs);
	return NULL;
}

struct refresh *
refresh_new(int nworkers, size_t qmax, int batch_max, refresh_fn fn, void *arg)
{
	struct refresh *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	q->qmax = qmax ? qmax : 1;
	q->batch_max = batch_max > 0 ? batch_max : 1;
	q->slots = xcalloc(q->qmax, sizeof(*q->slots));
	q->fn = fn;
	q->arg = arg;
	q->workers = xcalloc((size_t)(nworkers > 0 ? nworkers : 1), sizeof(pthread_t));
	for (int i = 0; i < (nworkers > 0 ? nworkers : 1); i++) {
		if (pthread_create(&q->workers[i], NULL, worker, q) != 0) {
			msg_warn("refresh: cannot start worker thread %d: %m", i);
			break;
		}
		q->nworkers++;
	}
	return q;
}

int
refresh_add(struct refresh *q, struct rg_config *cfg, const struct rg_params *p, const char *hop,
	    const char *rcpt)
{
	struct slot *free_slot = NULL;
	int rc = -1;

	pthread_mutex_lock(&q->lock);
	if (q->stopping || q->nworkers == 0)
		goto out;
	for (size_t i = 0; i < q->qmax; i++) {
		struct slot *s = &q->slots[i];

		if (s->state == SLOT_FREE) {
			if (free_slot == NULL)
				free_slot = s;
		} else if (strcasecmp(s->job.rcpt, rcpt) == 0) {
			rc = 0;
			goto out;
		}
	}
	if (free_slot == NULL)
		goto out;
	free_slot->state = SLOT_QUEUED;
	free_slot->seq = ++q->seq;
	free_slot->job.cfg = rg_config_ref(cfg);
	free_slot->job.p = p;
	rg_strlcpy(free_slot->job.hop, hop, sizeof(free_slot->job.hop));
	rg_strlcpy(free_slot->job.rcpt, rcpt, sizeof(free_slot->job.rcpt));
	pthread_cond_signal(&q->work);
	rc = 1;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

size_t
refresh_pending(struct refresh *q)
{
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->qmax; i++)
		n += q->slots[i].state != SLOT_FREE;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void
refresh_free(struct refresh *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nworkers; i++)
		pthread_join(q->workers[i], NULL);
	/* Workers release what they ran; what is left was only queued. */
	for (size_t i = 0; i < q->qmax; i++)
		if (q->slots[i].state != SLOT_FREE)
			slot_release(&q->slots[i]);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q->workers);
	free(q);
}
