/*
 * tsock - see tsock.h.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsock.h"
#include "util.h"

int
tsock_wait(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		long long left = deadline - rg_mono_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* tsock_wait as the I/O calls want it: 0 when ready, else -1 with errno
 * (ETIMEDOUT when the deadline passed). */
static int
tsock_ready(int fd, short events, long long deadline)
{
	switch (tsock_wait(fd, events, deadline)) {
	case 1:
		return 0;
	case 0:
		errno = ETIMEDOUT;
		return -1;
	default:
		return -1;
	}
}

int
tsock_connect(int fd, const struct sockaddr *sa, socklen_t salen, long long deadline)
{
	int e = 0, one = 1;
	socklen_t elen = sizeof(e);

	/*
	 * No Nagle over TCP: a spamd or clamd request leaves in several writes
	 * (header, added headers, the message in chunks); with Nagle each small
	 * write after the first waits for the peer's delayed ACK, up to 40 ms
	 * per message (the bench saw 164 ms per scan against spamc's 125 ms).
	 */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	if (tsock_ready(fd, POLLOUT, deadline) < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

static int
tsock_fail(char *err, size_t errlen, const char *what, const char *peer, int e)
{
	char eb[128];

	/* strerror_r, GNU flavour: strerror() may use a shared buffer */
	snprintf(err, errlen, "%s %s: %s", what, peer, strerror_r(e, eb, sizeof(eb)));
	errno = e;
	return -1;
}

int
tsock_open(const char *path, const char *host, int port, long long deadline, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai, *p;
	char peer[300], sport[8];
	int fd = -1, e = ECONNREFUSED, gai;

	if (path && *path) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		size_t len = strlen(path);

		if (len >= sizeof(sun.sun_path))
			return tsock_fail(err, errlen, "connect to", "unix socket", ENAMETOOLONG);
		memcpy(sun.sun_path, path, len + 1);
		snprintf(peer, sizeof(peer), "unix:%.200s", path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			return tsock_fail(err, errlen, "socket for", peer, errno);
		if (tsock_connect(fd, (struct sockaddr *)&sun, sizeof(sun), deadline) < 0) {
			e = errno;
			close(fd);
			return tsock_fail(err, errlen, "connect to", peer, e);
		}
		return fd;
	}
	snprintf(peer, sizeof(peer), "%.255s:%d", host ? host : "", port);
	if (host == NULL || *host == 0 || port < 1 || port > 65535)
		return tsock_fail(err, errlen, "connect to", peer, EINVAL);
	snprintf(sport, sizeof(sport), "%d", port);
	if ((gai = getaddrinfo(host, sport, &hints, &ai)) != 0) {
		snprintf(err, errlen, "resolve %s: %s", peer, gai_strerror(gai));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (tsock_connect(fd, p->ai_addr, p->ai_addrlen, deadline) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return tsock_fail(err, errlen, "connect to", peer, e);
	return fd;
}

int
tsock_send_all(int fd, const void *buf, size_t len, long long deadline)
{
	const char *b = buf;

	while (len > 0) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n > 0) {
			b += n, len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (tsock_ready(fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

/* recv with flags, waiting by deadline. */
static ssize_t
tsock_recv_flags(int fd, void *buf, size_t len, int flags, long long deadline)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, flags);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (tsock_ready(fd, POLLIN, deadline) < 0)
			return -1;
	}
}

ssize_t
tsock_recv(int fd, void *buf, size_t len, long long deadline)
{
	return tsock_recv_flags(fd, buf, len, 0, deadline);
}

ssize_t
tsock_read_line(int fd, char *buf, size_t size, char term, long long deadline)
{
	size_t len = 0;

	if (size == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	/* Peek, then consume only up to the terminator: what follows stays
	 * in the socket for the caller's next read. */
	for (;;) {
		ssize_t n = tsock_recv_flags(fd, buf + len, size - 1 - len, MSG_PEEK, deadline);
		char *t;
		size_t take;

		if (n <= 0) {
			buf[len] = 0; /* what was read so far, for a caller that wants it */
			if (n < 0)
				return -1;
			errno = EPIPE;
			return -1;
		}
		t = memchr(buf + len, term, (size_t)n);
		take = t ? (size_t)(t - (buf + len)) + 1 : (size_t)n;
		if (recv(fd, buf + len, take, 0) != (ssize_t)take)
			return -1; /* cannot happen: peeked bytes are there */
		len += take;
		if (t) {
			buf[len - 1] = 0;
			return (ssize_t)(len - 1);
		}
		if (len == size - 1) {
			buf[len] = 0;
			errno = EMSGSIZE;
			return -1;
		}
	}
}
