/*
 * smtp-hold - open N concurrent SMTP sessions to a server, take each one to
 * the middle of DATA (EHLO, MAIL FROM, RCPT TO, DATA, a few header lines)
 * and hold them all open, so that the memory a milter (or smtpd) spends on
 * concurrent sessions can be read from /proc while they are held.
 *
 * Bounded: every read times out after 10 s; sessions are held -H seconds
 * (default 10) and then closed without QUIT. Prints "holding N" (N = the
 * sessions that reached DATA) once all are open. Loopback benchmarks only;
 * server replies are only checked for their first digit.
 *
 * usage: smtp-hold -s HOST:PORT [-n sessions] [-H seconds] [-t rcpt]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Read one SMTP reply (all its lines); return its first digit, -1 on error. */
static int
sh_reply(int fd)
{
	char buf[2048];
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *line, *nl;

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = 0;
		/* the reply is complete when its last line has "ddd " */
		line = buf;
		while ((nl = strstr(line, "\r\n")) != NULL) {
			if (nl - line >= 4 && line[3] == ' ')
				return buf[0] - '0';
			line = nl + 2;
		}
		if (n >= sizeof(buf) - 1)
			return -1;
	}
}

static int
sh_cmd(int fd, const char *cmd, int want)
{
	size_t len = strlen(cmd);

	if (write(fd, cmd, len) != (ssize_t)len)
		return -1;
	return want ? (sh_reply(fd) == want ? 0 : -1) : 0;
}

/* One session up to the middle of DATA; the fd, or -1. */
static int
sh_session(const struct sockaddr_in *sin, const char *rcpt, int i)
{
	struct timeval tv = {10, 0};
	char cmd[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) != 0 || sh_reply(fd) != 2 ||
	    sh_cmd(fd, "EHLO hold.example\r\n", 2) != 0)
		goto bad;
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<hold%d@sender.example>\r\n", i);
	if (sh_cmd(fd, cmd, 2) != 0)
		goto bad;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", rcpt);
	if (sh_cmd(fd, cmd, 2) != 0 || sh_cmd(fd, "DATA\r\n", 3) != 0)
		goto bad;
	snprintf(cmd, sizeof(cmd),
		 "From: <hold%d@sender.example>\r\nTo: <%s>\r\nSubject: held session %d\r\n", i, rcpt, i);
	if (sh_cmd(fd, cmd, 0) != 0)
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *server = NULL, *rcpt = "user@customer.example";
	char host[64], *colon;
	int ch, n = 100, ok = 0, *fds;
	double hold = 10;

	while ((ch = getopt(argc, argv, "s:n:H:t:")) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'H':
			hold = atof(optarg);
			break;
		case 't':
			rcpt = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: smtp-hold -s HOST:PORT [-n sessions] [-H seconds] [-t rcpt]\n");
			return 2;
		}
	}
	if (server == NULL || n < 1 || n > 10000 || hold < 0 || strlen(server) >= sizeof(host))
		return 2;
	strcpy(host, server);
	if ((colon = strrchr(host, ':')) == NULL)
		return 2;
	*colon = 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 2;
	fds = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++)
		if ((fds[i] = sh_session(&sin, rcpt, i)) >= 0)
			ok++;
	printf("holding %d sessions (%d failed)\n", ok, n - ok);
	fflush(stdout);
	usleep((useconds_t)(hold * 1e6));
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ok == n ? 0 : 1;
}
