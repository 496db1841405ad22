/*
 * spfpool - see spfpool.h.
 *
 * A check is a job. The loop owns it except while a worker runs it; the
 * lock guards the queue, the done list and each job's state. A job is in
 * exactly one place: the queue (JOB_QUEUED), a worker (JOB_RUNNING), the
 * done list (JOB_DONE). Its timer lives on the loop; when it fires first,
 * a queued job leaves the queue and is freed, a running one is marked
 * abandoned and freed when the worker hands it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "greyspf.h"
#include "msg.h"
#include "spfpool.h"
#include "util.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct spfjob {
	struct spfjob *next;
	struct spfpool *sp;
	enum job_state state;
	int abandoned; /* the caller heard "timeout" already */
	struct event *timer;
	spfpool_cb cb;
	void *arg;
	long long t0, timeout_ms;
	int has_dns;
	struct rg_endpoint dns;
	char addr[64], helo[256], sender[512], myhost[256];
	struct auth_spf_out out;
};

struct spfcache {
	long long expires; /* rg_mono_ms; 0 = empty */
	char addr[64], sender[256];
	struct auth_spf_out out;
};

struct spfpool {
	struct event_base *base;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spfjob *qhead, *qtail, *done;
	int qlen, stop, nthreads;
	pthread_t th[SPFPOOL_WORKERS];
	int fd[2]; /* workers write a byte to fd[1] when done has jobs */
	struct event *wake;
	struct spfcache *cache; /* SPFPOOL_CACHE_SLOTS, loop only */
};

static atomic_int dns_warned; /* an unusable dns_server is logged once */

static void *
worker(void *arg)
{
	struct spfpool *sp = arg;
	struct spfjob *j;
	char err[256];

	pthread_mutex_lock(&sp->mu);
	for (;;) {
		while (!sp->stop && sp->qhead == NULL)
			pthread_cond_wait(&sp->cv, &sp->mu);
		if (sp->stop)
			break;
		j = sp->qhead;
		sp->qhead = j->next;
		if (sp->qhead == NULL)
			sp->qtail = NULL;
		sp->qlen--;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&sp->mu);

		/* The job's fields are ours now, except abandoned (locked). */
		greyspf_eval(j->has_dns ? &j->dns : NULL, j->timeout_ms, j->addr, j->helo, j->sender,
			     j->myhost, &j->out, err, sizeof(err));
		if (*err && atomic_exchange(&dns_warned, 1) == 0)
			msg_warn("spf: %s; SPF results are temperror", err);

		pthread_mutex_lock(&sp->mu);
		j->state = JOB_DONE;
		j->next = sp->done;
		sp->done = j;
		/* Non-blocking: a full pipe already says "look at done". */
		if (write(sp->fd[1], "x", 1) < 0 && errno != EAGAIN)
			msg_warn("spf: wake-up pipe: %m");
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

static unsigned
cache_slot(const char *addr, const char *sender)
{
	unsigned h = 2166136261u;

	for (const char *p = addr; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ ' ') * 16777619u;
	for (const char *p = sender; *p; p++)
		h = (h ^ (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p)) * 16777619u;
	return h % SPFPOOL_CACHE_SLOTS;
}

static const struct auth_spf_out *
cache_get(struct spfpool *sp, const char *addr, const char *sender)
{
	struct spfcache *c = &sp->cache[cache_slot(addr, sender)];

	if (c->expires == 0 || c->expires < rg_mono_ms() || strcmp(c->addr, addr) != 0 ||
	    strcasecmp(c->sender, sender) != 0)
		return NULL;
	return &c->out;
}

static void
cache_put(struct spfpool *sp, const struct spfjob *j)
{
	struct spfcache *c;

	/* temperror may be over in a second; and keys that do not fit are not kept. */
	if (strcmp(j->out.result, "temperror") == 0 || strlen(j->sender) >= sizeof(c->sender))
		return;
	c = &sp->cache[cache_slot(j->addr, j->sender)];
	rg_strlcpy(c->addr, j->addr, sizeof(c->addr));
	rg_strlcpy(c->sender, j->sender, sizeof(c->sender));
	c->out = j->out;
	c->expires = rg_mono_ms() + SPFPOOL_CACHE_MS;
}

static void
answer(struct spfjob *j, enum spfpool_status st)
{
	struct spfpool_result r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	if (st == SPFPOOL_DONE || st == SPFPOOL_CACHED) {
		r.out = j->out;
	} else {
		rg_strlcpy(r.out.result, "temperror", sizeof(r.out.result));
		rg_strlcpy(r.out.ptype, "smtp.mailfrom", sizeof(r.out.ptype));
		auth_spf_safe_domain(r.out.domain, sizeof(r.out.domain),
				     strrchr(j->sender, '@') ? strrchr(j->sender, '@') + 1 : j->sender);
	}
	r.ms = rg_mono_ms() - j->t0;
	j->cb(&r, j->arg);
}

static void
job_free(struct spfjob *j)
{
	if (j->timer)
		event_free(j->timer);
	free(j);
}

/* The timer: answer "timeout" now; the job goes when nobody holds it. */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct spfjob *j = arg, **pp;
	struct spfpool *sp = j->sp;
	int unqueued = 0;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&sp->mu);
	if (j->state == JOB_QUEUED) {
		for (pp = &sp->qhead; *pp; pp = &(*pp)->next) {
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		}
		sp->qtail = NULL;
		for (struct spfjob *q = sp->qhead; q; q = q->next)
			sp->qtail = q;
		sp->qlen--;
		unqueued = 1;
	} else {
		j->abandoned = 1; /* running, or done and not yet collected */
	}
	pthread_mutex_unlock(&sp->mu);
	answer(j, SPFPOOL_TIMEOUT);
	if (unqueued)
		job_free(j);
}

/* Jobs the workers finished: answer those still waited for, free all. */
static void
collect(struct spfpool *sp)
{
	struct spfjob *list, *next;

	pthread_mutex_lock(&sp->mu);
	list = sp->done;
	sp->done = NULL;
	pthread_mutex_unlock(&sp->mu);
	for (; list; list = next) {
		next = list->next;
		cache_put(sp, list);
		if (!list->abandoned)
			answer(list, SPFPOOL_DONE);
		job_free(list);
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	collect(arg);
}

struct spfpool *
spfpool_new(struct event_base *base)
{
	struct spfpool *sp = xcalloc(1, sizeof(*sp));

	sp->base = base;
	sp->fd[0] = sp->fd[1] = -1;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);
	return sp;
}

/* Threads, pipe and cache at the first check (-t and pools never used stay light). -1 on failure. */
static int
start(struct spfpool *sp)
{
	if (sp->wake)
		return 0;
	if (pipe2(sp->fd, O_NONBLOCK | O_CLOEXEC) < 0) {
		msg_warn("spf: pipe: %m; SPF checks are off");
		return -1;
	}
	sp->wake = event_new(sp->base, sp->fd[0], EV_READ | EV_PERSIST, on_wake, sp);
	event_add(sp->wake, NULL);
	sp->cache = xcalloc(SPFPOOL_CACHE_SLOTS, sizeof(*sp->cache));
	for (int i = 0; i < SPFPOOL_WORKERS; i++) {
		int e = pthread_create(&sp->th[sp->nthreads], NULL, worker, sp);

		if (e != 0) {
			msg_warn("spf: cannot start a worker thread: %s", strerror(e));
			break;
		}
		sp->nthreads++;
	}
	return sp->nthreads > 0 ? 0 : -1;
}

void
spfpool_check(struct spfpool *sp, const struct rg_endpoint *dns, long long timeout_ms,
	      const char *client_addr, const char *helo, const char *sender, const char *myhostname,
	      spfpool_cb cb, void *arg)
{
	struct spfjob *j = xcalloc(1, sizeof(*j));
	const struct auth_spf_out *hit;
	struct timeval tv;
	int busy;

	j->sp = sp;
	j->cb = cb;
	j->arg = arg;
	j->t0 = rg_mono_ms();
	j->timeout_ms = timeout_ms;
	if (dns && dns->kind) {
		j->dns = *dns;
		j->has_dns = 1;
	}
	rg_strlcpy(j->addr, client_addr, sizeof(j->addr));
	rg_strlcpy(j->helo, helo ? helo : "", sizeof(j->helo));
	rg_strlcpy(j->sender, sender, sizeof(j->sender));
	rg_strlcpy(j->myhost, myhostname ? myhostname : "", sizeof(j->myhost));

	if (sp->cache && (hit = cache_get(sp, j->addr, j->sender)) != NULL) {
		j->out = *hit;
		answer(j, SPFPOOL_CACHED);
		job_free(j);
		return;
	}
	if (start(sp) < 0 || strlen(sender) >= sizeof(j->sender) || strlen(client_addr) >= sizeof(j->addr)) {
		answer(j, SPFPOOL_BUSY);
		job_free(j);
		return;
	}
	pthread_mutex_lock(&sp->mu);
	busy = sp->qlen >= SPFPOOL_QUEUE_MAX;
	if (!busy) {
		j->state = JOB_QUEUED;
		if (sp->qtail)
			sp->qtail->next = j;
		else
			sp->qhead = j;
		sp->qtail = j;
		sp->qlen++;
		/* The timer before the unlock: a worker may finish the job at
		 * once, and collect() frees the timer with it. */
		j->timer = evtimer_new(sp->base, on_timeout, j);
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		evtimer_add(j->timer, &tv);
		pthread_cond_signal(&sp->cv);
	}
	pthread_mutex_unlock(&sp->mu);
	if (busy) {
		answer(j, SPFPOOL_BUSY);
		job_free(j);
	}
}

const char *
spfpool_status_name(enum spfpool_status st)
{
	static const char *const names[] = {"done", "cached", "timeout", "busy", "aborted"};

	return names[st];
}

void
spfpool_free(struct spfpool *sp)
{
	struct spfjob *j;

	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->mu);
	sp->stop = 1;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	for (int i = 0; i < sp->nthreads; i++)
		pthread_join(sp->th[i], NULL);
	collect(sp);
	while ((j = sp->qhead) != NULL) {
		sp->qhead = j->next;
		answer(j, SPFPOOL_ABORTED);
		job_free(j);
	}
	if (sp->wake)
		event_free(sp->wake);
	if (sp->fd[0] >= 0)
		close(sp->fd[0]);
	if (sp->fd[1] >= 0)
		close(sp->fd[1]);
	free(sp->cache);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->cv);
	free(sp);
}
