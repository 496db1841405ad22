/*
 * rgtest_fakeredis - a fake Redis server on 127.0.0.1 for unit suites that
 * test a client against a broken or hostile server: its first connection
 * gets an answer no Redis gives (a "$2000000000" bulk header followed by
 * data, a "*2000000000" array header followed by elements, or an array of
 * 2000 strings of 64KB), streamed until the client hangs up or
 * RGTEST_FAKE_SEND_MAX bytes are sent; later connections are relayed to a
 * real redis-server, so the client's recovery can be seen on the same
 * address. A forked child, stopped by its PID; every wait is bounded.
 *
 *   struct rgtest_fake f;
 *   rgtest_fake_start(&f, RGTEST_FAKE_BULK, srv.sock)   0 or -1; f.port
 *   rgtest_fake_sent(&f)    bytes sent on the hostile connection, once done
 *   rgtest_fake_stop(&f)
 *
 * Header-only, static inline, like rgtest_redis.h. Not thread-safe.
 */
#ifndef RGTEST_FAKEREDIS_H
#define RGTEST_FAKEREDIS_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RGTEST_FAKE_SEND_MAX (256UL * 1024 * 1024) /* what the fake sends at most */

enum rgtest_fake_mode { RGTEST_FAKE_BULK, RGTEST_FAKE_ARRAY, RGTEST_FAKE_TOTAL };

struct rgtest_fake {
	pid_t pid; /* 0 when not running */
	int port;
	int report; /* pipe: bytes sent on the hostile connection */
};

/* Write all of buf, or -1 (the client went away, or 5s without progress). */
static inline int
rgtest_fake_write(int fd, const char *buf, size_t len, unsigned long *sent)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		*sent += (unsigned long)n;
	}
	return 0;
}

/* The hostile answer to whatever the client sent first. */
static inline unsigned long
rgtest_fake_hostile(int fd, enum rgtest_fake_mode mode)
{
	static char chunk[64 * 1024];
	unsigned long sent = 0;
	char req[4096];

	if (read(fd, req, sizeof(req)) <= 0)
		return 0;
	if (mode == RGTEST_FAKE_BULK) {
		memset(chunk, 'x', sizeof(chunk));
		if (rgtest_fake_write(fd, "$2000000000\r\n", 13, &sent) < 0)
			return sent;
	} else if (mode == RGTEST_FAKE_ARRAY) {
		for (size_t i = 0; i + 4 <= sizeof(chunk); i += 4)
			memcpy(chunk + i, ":1\r\n", 4);
		if (rgtest_fake_write(fd, "*2000000000\r\n", 13, &sent) < 0)
			return sent;
	} else {
		/* 2000 strings of 64KB - 10: each "$65526\r\n...\r\n" is one chunk, 128MB in all */
		memcpy(chunk, "$65526\r\n", 8);
		memset(chunk + 8, 'y', sizeof(chunk) - 10);
		memcpy(chunk + sizeof(chunk) - 2, "\r\n", 2);
		if (rgtest_fake_write(fd, "*2000\r\n", 7, &sent) < 0)
			return sent;
		for (int i = 0; i < 2000; i++)
			if (rgtest_fake_write(fd, chunk, sizeof(chunk), &sent) < 0)
				return sent;
		return sent;
	}
	while (sent < RGTEST_FAKE_SEND_MAX && rgtest_fake_write(fd, chunk, sizeof(chunk), &sent) == 0)
		;
	return sent;
}

/* Relay one client connection to the real redis-server until either side closes. */
static inline void
rgtest_fake_relay(int fd, const char *relay)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int rfd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[16384];

	if (strlen(relay) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, relay, strlen(relay) + 1);
	if (rfd < 0 || connect(rfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (rfd >= 0)
			close(rfd);
		return;
	}
	for (;;) {
		struct pollfd pf[2] = {{fd, POLLIN, 0}, {rfd, POLLIN, 0}};
		unsigned long dummy = 0;

		if (poll(pf, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((n = read(pf[i].fd, buf, sizeof(buf))) <= 0 ||
			    rgtest_fake_write(i ? fd : rfd, buf, (size_t)n, &dummy) < 0) {
				close(rfd);
				return;
			}
		}
	}
	close(rfd);
}

/*
 * Start the fake: a child on 127.0.0.1:f->port whose first connection is
 * answered in mode and whose next ones are relayed to the Unix socket
 * relay (a real redis-server). 0, or -1 if it could not be started.
 */
static inline int
rgtest_fake_start(struct rgtest_fake *f, enum rgtest_fake_mode mode, const char *relay)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM, 0), p[2];

	memset(f, 0, sizeof(*f));
	f->report = -1;
	if (ls < 0 || pipe(p) != 0 || bind(ls, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(ls, 8) != 0 || getsockname(ls, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	f->port = ntohs(sin.sin_port);
	fflush(NULL);
	if ((f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0) {
		struct timeval tv = {5, 0};

		signal(SIGPIPE, SIG_IGN);
		signal(SIGTERM, SIG_DFL); /* not Check's handler, which signals the whole group */
		close(p[0]);
		for (int n = 0; n < 20; n++) {
			int fd = accept(ls, NULL, NULL);
			unsigned long sent;

			if (fd < 0)
				_exit(1);
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (n == 0) {
				sent = rgtest_fake_hostile(fd, mode);
				if (write(p[1], &sent, sizeof(sent)) != sizeof(sent))
					_exit(1);
				/* Until the client hangs up: it must, having refused the reply. */
				while (read(fd, &sent, sizeof(sent)) > 0)
					;
			} else {
				rgtest_fake_relay(fd, relay);
			}
			close(fd);
		}
		_exit(0);
	}
	close(ls);
	close(p[1]);
	f->report = p[0];
	return 0;
}

/* What the fake sent on the hostile connection (waits until it is done there); -1 on error. */
static inline long
rgtest_fake_sent(struct rgtest_fake *f)
{
	unsigned long sent = 0;

	if (read(f->report, &sent, sizeof(sent)) != sizeof(sent))
		return -1;
	return (long)sent;
}

/* Stop the fake by its PID. */
static inline void
rgtest_fake_stop(struct rgtest_fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (f->report >= 0)
		close(f->report);
	f->report = -1;
}

#endif
