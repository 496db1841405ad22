/*
 * redis_ev - see redis_ev.h.
 *
 * The end of a turn is an event with no descriptor activated by the first
 * command of the turn: libevent runs it after the callbacks already active
 * (those epoll reported), in the same pass, so every command those
 * callbacks issued is in hiredis' output buffer by then.
 */
#include <stdlib.h>

#include "rcap.h"
#include "redis_ev.h"

struct rg_redis_ev {
	redisAsyncContext *ac;
	struct event *rev, *wev, *flush;
	int in_flush; /* inside redisAsyncHandleWrite from the flush */
	int dead; /* hiredis released us during it: free on the way out */
};

static void
rev_free(struct rg_redis_ev *e)
{
	event_free(e->rev);
	event_free(e->wev);
	event_free(e->flush);
	free(e);
}

static void
rev_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redisAsyncHandleRead(((struct rg_redis_ev *)arg)->ac);
}

static void
rev_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redisAsyncHandleWrite(((struct rg_redis_ev *)arg)->ac);
}

static int
rev_connected(const struct rg_redis_ev *e)
{
	return (e->ac->c.flags & REDIS_CONNECTED) != 0;
}

static void
rev_flush(evutil_socket_t fd, short what, void *arg)
{
	struct rg_redis_ev *e = arg;

	(void)fd;
	(void)what;
	if (!rev_connected(e)) {
		/* hiredis would take "no socket error yet" for connected */
		event_add(e->wev, NULL);
		return;
	}
	e->in_flush = 1;
	redisAsyncHandleWrite(e->ac); /* a partial write calls rev_add_write: the real event */
	e->in_flush = 0;
	if (e->dead)
		rev_free(e);
}

/* hiredis re-arms reading after each read, before it parses what came:
 * where a reply over rcap's limits is refused (rcap.h). */
static void
rev_add_read(void *arg)
{
	(void)rcap_check(&((struct rg_redis_ev *)arg)->ac->c);
	event_add(((struct rg_redis_ev *)arg)->rev, NULL);
}

static void
rev_del_read(void *arg)
{
	event_del(((struct rg_redis_ev *)arg)->rev);
}

static void
rev_add_write(void *arg)
{
	struct rg_redis_ev *e = arg;

	if (e->in_flush || !rev_connected(e))
		event_add(e->wev, NULL);
	else
		event_active(e->flush, EV_TIMEOUT, 1); /* no-op while already active */
}

static void
rev_del_write(void *arg)
{
	struct rg_redis_ev *e = arg;

	event_del(e->wev);
}

static void
rev_cleanup(void *arg)
{
	struct rg_redis_ev *e = arg;

	if (e->in_flush) {
		event_del(e->rev);
		event_del(e->wev);
		e->dead = 1;
		return;
	}
	rev_free(e);
}

int
rg_redis_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct rg_redis_ev *e;

	if (ac->ev.data != NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return REDIS_ERR;
	e->ac = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ, rev_read, e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE, rev_write, e);
	e->flush = event_new(base, -1, 0, rev_flush, e);
	if (e->rev == NULL || e->wev == NULL || e->flush == NULL) {
		if (e->rev)
			event_free(e->rev);
		if (e->wev)
			event_free(e->wev);
		if (e->flush)
			event_free(e->flush);
		free(e);
		return REDIS_ERR;
	}
	ac->ev.addRead = rev_add_read;
	ac->ev.delRead = rev_del_read;
	ac->ev.addWrite = rev_add_write;
	ac->ev.delWrite = rev_del_write;
	ac->ev.cleanup = rev_cleanup;
	ac->ev.data = e;
	/* as hiredis' adapter: the write event reports the end of connect(2) */
	event_add(e->rev, NULL);
	event_add(e->wev, NULL);
	return REDIS_OK;
}
