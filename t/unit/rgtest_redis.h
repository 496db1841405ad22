/*
 * rgtest_redis - a private redis-server for a unit suite: started in a
 * fresh mkdtemp directory, reachable only through a Unix socket there (no
 * TCP port, no persistence), stopped by its PID.
 *
 *   static struct rgtest_redis srv;
 *   rgtest_redis_start(&srv)   once (e.g. an unchecked fixture), 0 or -1
 *   rgtest_redis_connect(&srv) a synchronous hiredis context per test
 *   rgtest_redis_stop(&srv)    kills the server, waits for it, removes the dir
 *
 * Header-only so any suite can include it; functions are static inline.
 * Not thread-safe (one caller starts and stops a server).
 */
#ifndef RGTEST_REDIS_H
#define RGTEST_REDIS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

struct rgtest_redis {
	pid_t pid; /* 0 when not running */
	char dir[64];
	char sock[128];
	char log[128];
};

static inline void
rgtest_redis_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline redisContext *
rgtest_redis_connect(const struct rgtest_redis *r)
{
	redisContext *c = redisConnectUnix(r->sock);

	if (c != NULL && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static inline void
rgtest_redis_stop(struct rgtest_redis *r)
{
	if (r->pid > 0) {
		int status, i;

		kill(r->pid, SIGTERM);
		for (i = 0; i < 500 && waitpid(r->pid, &status, WNOHANG) == 0; i++)
			rgtest_redis_sleep_ms(10);
		if (i == 500) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &status, 0);
		}
		r->pid = 0;
	}
	if (r->dir[0]) {
		unlink(r->sock);
		unlink(r->log);
		rmdir(r->dir);
		r->dir[0] = 0;
	}
}

/* Start redis-server (from PATH or $RG_REDIS_SERVER); wait up to 10s for PONG. */
static inline int
rgtest_redis_start(struct rgtest_redis *r)
{
	const char *bin = getenv("RG_REDIS_SERVER") ? getenv("RG_REDIS_SERVER") : "redis-server";

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/rgtest-redis.XXXXXX");
	if (mkdtemp(r->dir) == NULL) {
		r->dir[0] = 0;
		return -1;
	}
	snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
	snprintf(r->log, sizeof(r->log), "%s/redis.log", r->dir);
	fflush(NULL);
	if ((r->pid = fork()) < 0) {
		r->pid = 0;
		rgtest_redis_stop(r);
		return -1;
	}
	if (r->pid == 0) {
		int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp(bin, bin, "--port", "0", "--unixsocket", r->sock, "--unixsocketperm", "700", "--save",
		       "", "--appendonly", "no", "--dir", r->dir, "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		redisContext *c;
		int status;

		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			r->pid = 0; /* it died: nothing to kill */
			break;
		}
		if ((c = rgtest_redis_connect(r)) != NULL) {
			redisReply *rep = redisCommand(c, "PING");
			int ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;

			freeReplyObject(rep);
			redisFree(c);
			if (ok)
				return 0;
		}
		rgtest_redis_sleep_ms(10);
	}
	rgtest_redis_stop(r);
	return -1;
}

#endif
