/*
 * check_tsock - the timed socket helpers against real loopback and unix
 * sockets: a connect that succeeds, is refused, or times out against a
 * full backlog; send-all across a full socket buffer; a receive and a
 * line read that meet their deadline; a line read that leaves the rest
 * of the stream in place, and one that is too long.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsock.h"
#include "util.h"

/* A listening loopback socket; *port gets its port. */
static int
listener(int *port, int backlog)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(connect_ok_and_refused)
{
	char err[256];
	int port, lfd = listener(&port, 4), fd;

	int nodelay = 0;
	socklen_t nl = sizeof(nodelay);

	fd = tsock_open(NULL, "127.0.0.1", port, rg_mono_ms() + 1000, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	/* requests leave in several writes: no Nagle wait for a delayed ACK */
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nl), 0);
	ck_assert_int_ne(nodelay, 0);
	close(fd);
	close(lfd); /* now nothing listens there */
	fd = tsock_open(NULL, "127.0.0.1", port, rg_mono_ms() + 1000, err, sizeof(err));
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(err, "127.0.0.1"));
	fd = tsock_open(NULL, "127.0.0.1", 0, rg_mono_ms() + 1000, err, sizeof(err));
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(connect_unix)
{
	char path[] = "/tmp/check_tsock.XXXXXX", sock[128], err[256];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int lfd, fd;

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/s", path);
	rg_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	fd = tsock_open(sock, NULL, 0, rg_mono_ms() + 1000, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(lfd);
	unlink(sock);
	fd = tsock_open(sock, NULL, 0, rg_mono_ms() + 1000, err, sizeof(err));
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_nonnull(strstr(err, "unix:"));
	rmdir(path);
}
END_TEST

START_TEST(recv_deadline)
{
	int sv[2];
	char buf[16];
	long long t0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	t0 = rg_mono_ms();
	ck_assert_int_eq(tsock_recv(sv[0], buf, sizeof(buf), t0 + 200), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(rg_mono_ms() - t0, 190);
	ck_assert_int_lt(rg_mono_ms() - t0, 2000);
	ck_assert_int_eq(write(sv[1], "ab", 2), 2);
	ck_assert_int_eq(tsock_recv(sv[0], buf, sizeof(buf), rg_mono_ms() + 200), 2);
	close(sv[1]);
	ck_assert_int_eq(tsock_recv(sv[0], buf, sizeof(buf), rg_mono_ms() + 200), 0);
	close(sv[0]);
}
END_TEST

START_TEST(send_all_full_buffer)
{
	int sv[2], sz = 4096;
	static char big[1 << 20];
	long long t0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(big, 'x', sizeof(big));
	/* Nobody reads: the send must give up at its deadline, not block. */
	t0 = rg_mono_ms();
	ck_assert_int_eq(tsock_send_all(sv[0], big, sizeof(big), t0 + 200), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_lt(rg_mono_ms() - t0, 2000);
	close(sv[1]);
	ck_assert_int_eq(tsock_send_all(sv[0], "x", 1, rg_mono_ms() + 200), -1);
	ck_assert_int_eq(errno, EPIPE); /* and no SIGPIPE killed us */
	close(sv[0]);
}
END_TEST

START_TEST(read_line)
{
	int sv[2];
	char buf[32], rest[32];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], "stream: OK", 10), 10);
	/* A partial line: the deadline ends the wait. */
	ck_assert_int_eq(tsock_read_line(sv[0], buf, sizeof(buf), 0, rg_mono_ms() + 100), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(write(sv[1], "\0", 1), 1);
	/* The line read so far was consumed; the rest completes it. */
	ck_assert_int_eq(tsock_read_line(sv[0], buf, sizeof(buf), 0, rg_mono_ms() + 100), 0);
	ck_assert_int_eq(write(sv[1], "stream: OK\0next", 15), 15);
	ck_assert_int_eq(tsock_read_line(sv[0], buf, sizeof(buf), 0, rg_mono_ms() + 100), 10);
	ck_assert_str_eq(buf, "stream: OK");
	ck_assert_int_eq(read(sv[0], rest, sizeof(rest)), 4); /* "next" stays in the socket */
	ck_assert_int_eq(write(sv[1], "0123456789012345678901234567890123456789\n", 41), 41);
	ck_assert_int_eq(tsock_read_line(sv[0], buf, sizeof(buf), '\n', rg_mono_ms() + 100), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	close(sv[1]);
	(void)!read(sv[0], rest, sizeof(rest));
	ck_assert_int_eq(tsock_read_line(sv[0], buf, sizeof(buf), '\n', rg_mono_ms() + 100), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tsock");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, connect_ok_and_refused);
	tcase_add_test(tc, connect_unix);
	tcase_add_test(tc, recv_deadline);
	tcase_add_test(tc, send_all_full_buffer);
	tcase_add_test(tc, read_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
