/*
 * policy-burst - put N policy requests in flight at once, one per
 * connection, and count what comes back: for the daemon life-cycle tests
 * (SIGTERM with requests in flight, descriptor exhaustion).
 *
 * Opens N connections to -s (unix:/path or HOST:PORT), sends one SMTPD
 * policy request on each, prints "sent N" (flushed) and then reads until
 * every connection has its answer or was closed, -T seconds at most; with
 * -H it keeps the connections open that long after sending (a crowd of
 * clients holding descriptors). Ends with one line
 *   "answered A closed C failed F"
 * (closed: ended by the server without an answer; failed: could not
 * connect or send). Bounded: -n at most 10000, -T at most 600 s.
 *
 * usage: policy-burst -s ADDR [-n conns] [-T seconds] [-H seconds]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct pb_conn {
	int fd; /* -1 once closed */
	int state; /* 0 waiting, 1 answered, 2 closed without an answer */
	size_t got;
	char buf[512];
};

static double
pb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
pb_connect(const char *addr)
{
	int fd;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(addr + 5) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, addr + 5);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			return -1;
		}
	} else {
		struct sockaddr_in sin;
		char host[64];
		const char *c = strrchr(addr, ':');

		if (c == NULL || (size_t)(c - addr) >= sizeof(host))
			return -1;
		memcpy(host, addr, (size_t)(c - addr));
		host[c - addr] = 0;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)atoi(c + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *addr = NULL;
	int n = 100, ch, answered = 0, closed = 0, failed = 0, open_ = 0;
	double timeout = 30, hold = 0, t0, end;
	struct pb_conn *cs;
	struct pollfd *pf;

	while ((ch = getopt(argc, argv, "s:n:T:H:")) != -1) {
		switch (ch) {
		case 's':
			addr = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'T':
			timeout = atof(optarg);
			break;
		case 'H':
			hold = atof(optarg);
			break;
		default:
			addr = NULL;
			n = 0;
		}
	}
	if (addr == NULL || n < 1 || n > 10000 || timeout <= 0 || timeout > 600 || hold < 0 || hold > 600) {
		fprintf(stderr, "usage: policy-burst -s unix:/path|HOST:PORT [-n 1..10000] [-T s] [-H s]\n");
		return 2;
	}
	cs = calloc((size_t)n, sizeof(*cs));
	pf = calloc((size_t)n, sizeof(*pf));
	if (cs == NULL || pf == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		char req[512];
		int len = snprintf(req, sizeof(req),
				   "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
				   "client_address=192.0.2.%d\nclient_name=mx%d.sender.test\n"
				   "reverse_client_name=mx%d.sender.test\nhelo_name=mx%d.sender.test\n"
				   "sender=burst%d@sender.test\nrecipient=user%d@example.com\n"
				   "instance=burst.%d\nsize=0\n\n",
				   i % 250 + 1, i, i, i, i, i, i);

		cs[i].fd = pb_connect(addr);
		if (cs[i].fd < 0 || write(cs[i].fd, req, (size_t)len) != len) {
			if (cs[i].fd >= 0)
				close(cs[i].fd);
			cs[i].fd = -1;
			failed++;
			continue;
		}
		open_++;
	}
	printf("sent %d\n", open_);
	fflush(stdout);
	t0 = pb_now();
	end = t0 + timeout;
	if (hold > 0 && t0 + hold < end)
		end = t0 + hold;
	/* answered connections stay open (held) until the end, unpolled */
	while (pb_now() < end && (open_ > 0 || hold > 0)) {
		int np = 0, r;

		for (int i = 0; i < n; i++) {
			if (cs[i].fd < 0 || cs[i].state != 0)
				continue;
			pf[np].fd = cs[i].fd;
			pf[np].events = POLLIN;
			pf[np].revents = 0;
			np++;
		}
		r = poll(pf, (nfds_t)np, 100);
		if (r < 0 && errno != EINTR)
			break;
		for (int k = 0, i = 0; k < np && r > 0; k++) {
			ssize_t got;
			struct pb_conn *c;

			if (pf[k].revents == 0)
				continue;
			while (cs[i].fd != pf[k].fd)
				i++;
			c = &cs[i];
			got = read(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got);
			if (got <= 0 || c->got + (size_t)got >= sizeof(c->buf) - 1) {
				close(c->fd);
				c->fd = -1;
				c->state = 2;
				closed++;
				open_--;
				continue;
			}
			c->got += (size_t)got;
			c->buf[c->got] = 0;
			if (strncmp(c->buf, "action=", 7) == 0 && strstr(c->buf, "\n\n") != NULL) {
				answered++;
				c->state = 1;
				open_--;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	printf("answered %d closed %d failed %d\n", answered, closed, failed);
	fflush(stdout);
	free(pf);
	free(cs);
	return 0;
}
