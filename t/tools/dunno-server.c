/*
 * dunno-server - the trivial Postfix policy server the benchmarks use as a
 * limit: it frames requests exactly as relayguard-policyd does (attribute
 * lines up to an empty line) and answers every one "action=DUNNO", with no
 * parsing, no state and no Redis. A load generator that saturates this
 * server is the bottleneck; one that does not shows it is not.
 *
 * Bounded: exits after -T seconds (default 3600) or on SIGTERM/SIGINT; a
 * request larger than 64 kB closes its connection. Loopback benchmarks only:
 * the input is not trusted but nothing of it is interpreted or logged.
 *
 * usage: dunno-server -l unix:PATH|inet:HOST:PORT [-T seconds]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define DS_MAX_REQUEST (64 * 1024)

static const char ds_reply[] = "action=DUNNO\n\n";

static void
ds_close(struct bufferevent *bev)
{
	bufferevent_free(bev);
}

/* Answer every complete request in the input; keep a partial one. */
static void
ds_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;

	(void)arg;
	for (;;) {
		p = evbuffer_search(in, "\n\n", 2, NULL);
		if (p.pos < 0)
			break;
		evbuffer_drain(in, (size_t)p.pos + 2);
		bufferevent_write(bev, ds_reply, sizeof(ds_reply) - 1);
	}
	if (evbuffer_get_length(in) > DS_MAX_REQUEST)
		ds_close(bev);
}

static void
ds_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		ds_close(bev);
}

static void
ds_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct event_base *base = arg;
	struct bufferevent *bev;

	(void)l;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, ds_read, NULL, ds_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
ds_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct event_base *base;
	struct evconnlistener *l;
	struct event *ev[2];
	struct timeval tv = {3600, 0};
	const char *listen = NULL, *path = NULL;
	int ch, len = sizeof(ss);

	while ((ch = getopt(argc, argv, "l:T:")) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'T':
			tv.tv_sec = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: dunno-server -l unix:PATH|inet:HOST:PORT [-T seconds]\n");
			return 2;
		}
	}
	if (listen == NULL || tv.tv_sec < 1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	memset(&ss, 0, sizeof(ss));
	if (strncmp(listen, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		path = listen + 5;
		if (strlen(path) >= sizeof(sun->sun_path))
			return 2;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		len = sizeof(*sun);
		(void)unlink(path);
	} else if (evutil_parse_sockaddr_port(listen + (strncmp(listen, "inet:", 5) == 0 ? 5 : 0),
					      (struct sockaddr *)&ss, &len) != 0) {
		fprintf(stderr, "dunno-server: bad address %s\n", listen);
		return 2;
	}
	base = event_base_new();
	l = evconnlistener_new_bind(base, ds_accept, base,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
				    (struct sockaddr *)&ss, len);
	if (l == NULL) {
		fprintf(stderr, "dunno-server: cannot listen on %s: %s\n", listen, strerror(errno));
		return 1;
	}
	if (path)
		(void)chmod(path, 0666);
	ev[0] = evsignal_new(base, SIGTERM, ds_stop, base);
	ev[1] = evsignal_new(base, SIGINT, ds_stop, base);
	event_add(ev[0], NULL);
	event_add(ev[1], NULL);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	evconnlistener_free(l);
	event_free(ev[0]);
	event_free(ev[1]);
	event_base_free(base);
	if (path)
		(void)unlink(path);
	return 0;
}
