/*
 * tsock - timed socket helpers: connect with a deadline, wait for a
 * descriptor, send everything, receive and read one line with a deadline.
 * Shared by the milter's network clients (recipient callout, spamd, clamd),
 * so that every wait on a peer is bounded the same way.
 *
 * A deadline is an absolute rg_mono_ms() value. Sockets are non-blocking
 * (tsock_open makes them so; a caller-made fd must be O_NONBLOCK); every
 * wait is a poll() bounded by the deadline and retried on EINTR. Sends use
 * MSG_NOSIGNAL: a peer that went away never raises SIGPIPE.
 *
 * Contract: no static state, no signals; thread-safe. Errors are returned
 * as -1 with errno set (ETIMEDOUT when the deadline passed); the helpers
 * never log. Name resolution in tsock_open uses getaddrinfo(), which the
 * deadline cannot interrupt: configure numeric addresses for servers.
 */
#ifndef RG_TSOCK_H
#define RG_TSOCK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Wait until fd is ready for events (POLLIN/POLLOUT): 1 ready, 0 the
 * deadline passed, -1 poll failed (errno). */
int tsock_wait(int fd, short events, long long deadline);

/* Connect the non-blocking fd to sa by deadline: 0, or -1 with errno
 * (ETIMEDOUT at the deadline, else the connect error). */
int tsock_connect(int fd, const struct sockaddr *sa, socklen_t salen, long long deadline);

/*
 * A new non-blocking, close-on-exec stream socket connected by deadline to
 * the unix socket path (path != NULL and non-empty), else to host:port
 * (every address getaddrinfo gives, in order, until one accepts; a timeout
 * stops the search). Returns the fd, or -1 with a reason in err (naming the
 * peer) and errno set.
 */
int tsock_open(const char *path, const char *host, int port, long long deadline, char *err, size_t errlen);

/* Send all len bytes by deadline: 0, or -1 with errno (ETIMEDOUT). */
int tsock_send_all(int fd, const void *buf, size_t len, long long deadline);

/* Receive up to len bytes, waiting by deadline: bytes read (> 0), 0 at
 * end of stream, or -1 with errno (ETIMEDOUT). */
ssize_t tsock_recv(int fd, void *buf, size_t len, long long deadline);

/*
 * Read one line ending in term ('\n', or '\0' for clamd's z-commands) by
 * deadline into buf (size > 0), NUL-terminated, without the terminator and
 * without consuming anything after it. Returns the line's length; -1 with
 * errno: ETIMEDOUT, EMSGSIZE (no terminator within size - 1 bytes), EPIPE
 * (the peer closed before the terminator), or the receive error.
 */
ssize_t tsock_read_line(int fd, char *buf, size_t size, char term, long long deadline);

#endif
