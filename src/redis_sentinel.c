/*
 * redis_sentinel - the asynchronous client following the master that
 * Sentinel names (see redis.h and rsentinel.h): the agent's thread hands
 * each answer over a pipe to the event loop, which switches connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "redisint.h"
#include "rgm.h"
#include "util.h"

/* The agent's answer (its thread): hand it to the loop. */
static void
redis_note(void *arg, const struct rg_endpoint *master, const char *err)
{
	struct rg_redis *r = arg;
	ssize_t n;

	pthread_mutex_lock(&r->note_lock);
	r->note.have = 1;
	r->note.ok = master != NULL;
	if (master)
		r->note.master = *master;
	rg_strlcpy(r->note.err, err ? err : "", sizeof(r->note.err));
	pthread_mutex_unlock(&r->note_lock);
	n = write(r->note_pipe[1], "x", 1);
	(void)n; /* a full pipe is read just as well */
}

/* The agent's answer, on the loop. */
static void
redis_note_read(evutil_socket_t fd, short what, void *arg)
{
	struct rg_redis *r = arg;
	char buf[64], was[300];
	int have, ok, known = r->conf.master_known;
	struct rg_endpoint m;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&r->note_lock);
	have = r->note.have;
	ok = r->note.ok;
	m = r->note.master;
	rg_strlcpy(buf, r->note.err, sizeof(buf));
	r->note.have = 0;
	pthread_mutex_unlock(&r->note_lock);
	if (!have || r->conf.nsentinels == 0)
		return;
	r->h.st.discoveries++;
	if (!ok) {
		if (!known) {
			pthread_mutex_lock(&r->note_lock);
			rg_redis__outage(r, r->note.err);
			pthread_mutex_unlock(&r->note_lock);
		}
		return;
	}
	if (known && rcore_addr_same(&m, &r->conf.addr)) {
		if (r->ac == NULL) { /* the same master: try it now rather than after the backoff */
			event_del(r->retry_ev);
			rg_redis__connect(r);
		}
		return;
	}
	rg_strlcpy(was, r->conf.server, sizeof(was));
	rcore_conf_set_master(&r->conf, &m);
	rg_strlcpy(r->h.st.master, r->conf.server, sizeof(r->h.st.master));
	if (known) {
		r->h.st.switches++;
		rg_metric_inc(rgm_sentinel_switches);
		msg_info("redis: Sentinel: %s is now the master (was %s)", r->conf.server, was);
	}
	rg_redis__let_go(r);
	event_del(r->retry_ev);
	rcore_backoff_reset(&r->h);
	rg_redis__connect(r);
}

/* With Sentinels: the pipe and the agent (once per client). */
void
rg_redis__sentinel_start(struct rg_redis *r)
{
	if (r->agent) {
		rsentinel_reconfigure(r->agent, &r->conf);
		return;
	}
	if (pipe2(r->note_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		msg_fatal("redis: pipe: %s", strerror(errno));
	pthread_mutex_init(&r->note_lock, NULL);
	r->note_ev = event_new(r->base, r->note_pipe[0], EV_READ | EV_PERSIST, redis_note_read, r);
	event_add(r->note_ev, NULL);
	r->agent = rsentinel_start(&r->conf, r->sentinel_start, !r->conf.master_known, redis_note, r);
}

void
rg_redis__sentinel_first(struct rg_redis *r)
{
	struct rg_endpoint m;
	char err[1024];

	if (rsentinel_discover(&r->conf, &r->sentinel_start, &m, err, sizeof(err)) == 0) {
		rcore_conf_set_master(&r->conf, &m);
		if (*err)
			msg_warn("redis: %s; asked the next", err);
	} else {
		rg_redis__outage(r, err);
	}
	rg_redis__sentinel_start(r);
}

void
rg_redis__sentinel_free(struct rg_redis *r)
{
	if (r->agent == NULL)
		return;
	event_free(r->note_ev);
	close(r->note_pipe[0]);
	close(r->note_pipe[1]);
	pthread_mutex_destroy(&r->note_lock);
}
