/*
 * srvlisten - the listening side of server.h: binding unix and TCP
 * listeners, and pausing them when accept() runs out of descriptors.
 * Shares struct psrv with server.c through srvint.h.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>

#include "daemon.h"
#include "endpoint.h"
#include "msg.h"
#include "server.h"
#include "srvint.h"
#include "util.h"

/* Listeners on or off, all together. */
void
psrv_listening(struct psrv *s, int on)
{
	for (struct plisten *l = s->listeners; l; l = l->next) {
		if (l->lev == NULL)
			continue;
		if (on)
			evconnlistener_enable(l->lev);
		else
			evconnlistener_disable(l->lev);
	}
}

void
psrv_resume(evutil_socket_t fd, short what, void *arg)
{
	struct psrv *s = arg;

	(void)fd;
	(void)what;
	s->paused = 0;
	if (!s->draining)
		psrv_listening(s, 1);
}

/*
 * accept() failed in a way that retrying at once cannot fix (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM): the listening socket stays readable, so without
 * a pause the loop would spin and log for ever. Pause every listener, try
 * again shortly; one log line for the whole episode, one when it ends.
 */
static void
psrv_accept_error(struct evconnlistener *lev, void *arg)
{
	struct psrv *s = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, PSRV_ACCEPT_PAUSE_MS * 1000};

	(void)lev;
	if (s->paused)
		return;
	if (s->pauses++ == 0) {
		struct rlimit rl;

		s->pause_start = rg_mono_ms();
		/* episodes that follow each other closely share one line */
		if (s->last_pause_log == 0 || s->pause_start - s->last_pause_log >= 10000) {
			s->last_pause_log = s->pause_start;
			s->pause_logged = 1;
			msg_warn("policy: accept: %s with %d connections open (descriptor limit %lld); "
				 "pausing new connections, retrying every %d ms",
				 strerror(e), s->nconn,
				 getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur : -1LL,
				 PSRV_ACCEPT_PAUSE_MS);
		}
	}
	s->paused = 1;
	psrv_listening(s, 0);
	evtimer_add(s->resume, &tv);
}

/* Bind a TCP listener on ep (parsed at load by the endpoint grammar). */
static int
psrv_bind_inet(const struct rg_endpoint *ep, char *err, size_t errlen)
{
	struct addrinfo *res;
	char name[300];
	int fd, on = 1;

	if (rg_endpoint_getaddrinfo(ep, 1, &res, err, errlen) != 0)
		return -1;
	rg_endpoint_str(ep, name, sizeof(name));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		snprintf(err, errlen, "bind %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
psrv_listen(struct psrv *s, const struct rg_endpoint *ep, int mode, char *err, size_t errlen)
{
	struct plisten *l = xcalloc(1, sizeof(*l));
	char name[300];
	int fd;

	rg_endpoint_str(ep, name, sizeof(name));
	/* A unix socket never replaces one another process serves, and is
	 * removed at exit only while it is still ours (daemon.h). */
	if (ep->kind == RG_EP_UNIX)
		fd = rg_unix_listen(ep->path, mode, 1024, &l->sock, err, errlen);
	else
		fd = psrv_bind_inet(ep, err, errlen);
	if (fd < 0) {
		free(l);
		return -1;
	}
	evutil_make_socket_nonblocking(fd);
	l->lev = evconnlistener_new(s->base, psrv_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    1024, fd);
	if (l->lev == NULL) {
		snprintf(err, errlen, "%s: listen: %s", name, strerror(errno));
		close(fd);
		rg_sockfile_remove(&l->sock);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, psrv_accept_error);
	l->next = s->listeners;
	s->listeners = l;
	return 0;
}

int
psrv_chown(struct psrv *s, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	for (struct plisten *l = s->listeners; l; l = l->next) {
		if (l->sock.set && chown(l->sock.path, uid, gid) < 0) {
			snprintf(err, errlen, "chown %s: %s", l->sock.path, strerror(errno));
			return -1;
		}
	}
	return 0;
}
