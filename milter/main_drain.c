/*
 * main_drain - see main_drain.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "main_drain.h"
#include "msg.h"
#include "util.h"

/* libmilter callbacks carry no argument of ours: the wrapped description
 * and the count are process-wide, set once before smfi_main. */
static struct smfiDesc mdrain_inner, mdrain_outer;
static atomic_int mdrain_count;

/* A connection counts from the callback that gave it a private context to
 * the one that took it away (session.c: negotiate/connect, close). */
static void
mdrain_track(SMFICTX *ctx, const void *before)
{
	const void *after = smfi_getpriv(ctx);

	if (before == NULL && after != NULL)
		atomic_fetch_add(&mdrain_count, 1);
	else if (before != NULL && after == NULL)
		atomic_fetch_sub(&mdrain_count, 1);
}

static sfsistat
mdrain_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
		 unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	void *before = smfi_getpriv(ctx);
	sfsistat rc = mdrain_inner.xxfi_negotiate(ctx, f0, f1, f2, f3, pf0, pf1, pf2, pf3);

	mdrain_track(ctx, before);
	return rc;
}

static sfsistat
mdrain_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	void *before = smfi_getpriv(ctx);
	sfsistat rc = mdrain_inner.xxfi_connect(ctx, host, sa);

	mdrain_track(ctx, before);
	return rc;
}

static sfsistat
mdrain_close(SMFICTX *ctx)
{
	void *before = smfi_getpriv(ctx);
	sfsistat rc = mdrain_inner.xxfi_close(ctx);

	mdrain_track(ctx, before);
	return rc;
}

struct smfiDesc *
mdrain_filter(const struct smfiDesc *inner)
{
	mdrain_inner = *inner;
	mdrain_outer = *inner;
	if (inner->xxfi_negotiate)
		mdrain_outer.xxfi_negotiate = mdrain_negotiate;
	if (inner->xxfi_connect)
		mdrain_outer.xxfi_connect = mdrain_connect;
	if (inner->xxfi_close)
		mdrain_outer.xxfi_close = mdrain_close;
	return &mdrain_outer;
}

int
mdrain_open(void)
{
	return atomic_load(&mdrain_count);
}

void
mdrain_fds_before(struct mdrain_fds *f)
{
	memset(f, 0, sizeof(*f));
	for (int fd = 0; fd < MDRAIN_MAXFD; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			f->open[fd / 8] |= (unsigned char)(1u << (fd % 8));
}

int
mdrain_listener(const struct mdrain_fds *f)
{
	for (int fd = 0; fd < MDRAIN_MAXFD; fd++) {
		int on = 0;
		socklen_t len = sizeof(on);

		if (f->open[fd / 8] & (1u << (fd % 8)))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on)
			return fd;
	}
	return -1;
}

void
mdrain_nodelay(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		msg_warn("milter: TCP_NODELAY on the listener: %m");
}

int
mdrain_wake(int lfd, const char *unix_path)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, rc;

	memset(&ss, 0, sizeof(ss));
	if (unix_path && *unix_path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		if (strlen(unix_path) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, unix_path, strlen(unix_path) + 1);
		len = sizeof(*sun);
	} else if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return rc;
}

static void *
mdrain_stopper(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

int
mdrain_stop(int lfd, const char *unix_path, const atomic_int *done, long long max_ms)
{
	pthread_t tid;
	int wakes = 0;

	if (pthread_create(&tid, NULL, mdrain_stopper, NULL) != 0) {
		smfi_stop();
		return -1;
	}
	/* smfi_stop has set the flag once it waits for the listener's lock;
	 * each wake ends one poll, so a few are enough. */
	for (long long t = 0; !atomic_load(done) && t < max_ms; t += 20) {
		if (mdrain_wake(lfd, unix_path) == 0)
			wakes++;
		usleep(20000);
	}
	pthread_join(tid, NULL);
	return wakes;
}
