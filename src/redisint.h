/*
 * redisint - the insides of the asynchronous Redis client shared by
 * redis.c (connection and commands) and redis_sentinel.c (following the
 * master Sentinel names). Nothing else includes this header.
 *
 * Contract: as redis.h - the event loop's thread only, except the note
 * slot (note_lock), which the Sentinel agent's thread fills.
 */
#ifndef RG_REDISINT_H
#define RG_REDISINT_H

#include <pthread.h>

#include <async.h>

#include "rcore.h"
#include "redis.h"
#include "rsentinel.h"

struct rg_script {
	const struct rcore_script *cs;
};

struct rg_cmd {
	struct rg_redis *r;
	struct rg_cmd *prev, *next; /* r->cmds, while not done */
	struct rg_script *s;
	redisAsyncContext *ac; /* the context it was sent on */
	rg_redis_cb cb;
	void *arg;
	struct event *timer;
	const char *fail; /* preset failure reported by the timer */
	int done; /* callback fired */
	int in_redis; /* hiredis holds a reference */
	int retried; /* NOSCRIPT fallback used */
	int pinned; /* inside our own timer callback: not freed under it */
	long long sent_us; /* for the latency counters */
	int nkeys, argc;
	char **argv;
	size_t *argvlen;
};

struct rg_redis {
	struct event_base *base;
	struct rcore_conf conf;
	redisAsyncContext *ac; /* NULL while disconnected */
	int connected;
	struct rcore_setup setup;
	struct event *retry_ev, *conn_ev;
	struct rg_cmd *cmds;
	struct rcore_scripts reg;
	struct rg_script scripts[RCORE_SCRIPTS_MAX];
	struct rcore_health h;
	long long last_err_log;
	int freeing;
	/* Sentinel: the agent's answers come over a pipe into the loop. */
	struct rsentinel *agent;
	int note_pipe[2];
	struct event *note_ev;
	pthread_mutex_t note_lock;
	struct {
		int have, ok;
		struct rg_endpoint master;
		char err[512];
	} note;
	int sentinel_start;
};

/* redis.c */
void rg_redis__outage(struct rg_redis *r, const char *why);
/* Connect to redis_server, or to the master Sentinel named (none yet: wait for the agent). */
void rg_redis__connect(struct rg_redis *r);
/* Let go of the current connection: what is on the wire still gets its answer. */
void rg_redis__let_go(struct rg_redis *r);

/* redis_sentinel.c */
/* At start-up (the loop is not serving yet): ask the Sentinels once, synchronously, then start the agent. */
void rg_redis__sentinel_first(struct rg_redis *r);
/* Start the agent (or give it r->conf after a reload). */
void rg_redis__sentinel_start(struct rg_redis *r);
/* After rsentinel_stop: the pipe and its event. */
void rg_redis__sentinel_free(struct rg_redis *r);

#endif
