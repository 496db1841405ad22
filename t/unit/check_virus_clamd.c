/*
 * check_virus_clamd - the clamd INSTREAM client: reply parsing (clean,
 * found, error, garbage, a hostile signature name); then the whole client
 * against a fake clamd (a thread on a unix socket) that checks the framing
 * (zINSTREAM\0, 4-byte big-endian lengths no larger than CLAMD_CHUNK_MAX,
 * the zero terminator) of a message partly in memory and partly spilled to
 * the temp file, and one that stays silent (the deadline); the health
 * probe's zPING against the fake (PONG, a wrong answer, nobody). Set
 * RG_CLAMD_SOCK=/path of a running clamd with an EICAR signature to also
 * test against the real one.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"
#include "virus_clamd.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static struct clamd_result res;

START_TEST(parse_replies)
{
	ck_assert_int_eq(clamd_parse_reply("stream: OK", &res), CLAMD_CLEAN);
	ck_assert_int_eq(clamd_parse_reply("stream: Win.Test.EICAR_HDB-1 FOUND", &res), CLAMD_FOUND);
	ck_assert_str_eq(res.signature, "Win.Test.EICAR_HDB-1");
	ck_assert_int_eq(clamd_parse_reply("stream: Evil\r\n550 x;<y> FOUND", &res), CLAMD_FOUND);
	ck_assert_str_eq(res.signature, "Evil__550_x__y_");
	ck_assert_int_eq(clamd_parse_reply("INSTREAM size limit exceeded. ERROR", &res), CLAMD_ESERVER);
	ck_assert_ptr_nonnull(strstr(res.error, "size limit"));
	ck_assert_int_eq(clamd_parse_reply("FOUND", &res), CLAMD_EPROTO);
	ck_assert_int_eq(clamd_parse_reply("Eicar FOUND", &res), CLAMD_EPROTO); /* not our stream */
	ck_assert_int_eq(clamd_parse_reply("", &res), CLAMD_EPROTO);
}
END_TEST

START_TEST(long_signature_cut)
{
	char r[400];

	memset(r, 'A', sizeof(r));
	memcpy(r, "stream: ", 8);
	strcpy(r + 300, " FOUND");
	ck_assert_int_eq(clamd_parse_reply(r, &res), CLAMD_FOUND);
	ck_assert_uint_eq(strlen(res.signature), CLAMD_SIG_MAX - 1);
}
END_TEST

/* The fake clamd: reads one INSTREAM, checks the framing, answers. */
struct fake {
	int lfd;
	int silent; /* read, never answer */
	const char *ping; /* expect zPING\0 and answer this (with its NUL) */
	size_t got; /* payload bytes received */
	int chunks, bad; /* chunk count; framing errors */
	char payload[300000];
	char sock[128], dir[64];
};

static int
read_full(int fd, void *buf, size_t len)
{
	char *b = buf;

	while (len) {
		ssize_t n = read(fd, b, len);

		if (n <= 0)
			return -1;
		b += n, len -= (size_t)n;
	}
	return 0;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	char cmd[10];
	unsigned char hdr[4];

	if (fd < 0)
		return NULL;
	if (f->ping) {
		if (read_full(fd, cmd, 6) < 0 || memcmp(cmd, "zPING", 6) != 0)
			f->bad++;
		else
			(void)!write(fd, f->ping, strlen(f->ping) + 1);
		close(fd);
		return NULL;
	}
	if (read_full(fd, cmd, 10) < 0 || memcmp(cmd, "zINSTREAM", 10) != 0)
		f->bad++;
	for (;;) {
		size_t len;

		if (read_full(fd, hdr, 4) < 0) {
			f->bad++;
			break;
		}
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		if (len == 0)
			break;
		if (len > CLAMD_CHUNK_MAX || f->got + len > sizeof(f->payload) ||
		    read_full(fd, f->payload + f->got, len) < 0) {
			f->bad++;
			break;
		}
		f->got += len;
		f->chunks++;
	}
	if (f->silent) {
		sleep(2);
	} else {
		const char *r =
		    memmem(f->payload, f->got, "EICAR", 5) ? "stream: Fake.EICAR FOUND" : "stream: OK";

		(void)!write(fd, r, strlen(r) + 1);
	}
	close(fd);
	return NULL;
}

static void
fake_start(struct fake *f, pthread_t *t)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	strcpy(f->dir, "/tmp/check_clamd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/s", f->dir);
	rg_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(f->lfd, 1), 0);
	ck_assert_int_eq(pthread_create(t, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f, pthread_t t)
{
	pthread_join(t, NULL);
	close(f->lfd);
	unlink(f->sock);
	rmdir(f->dir);
}

/* A message of n bytes, 4 KiB of it in memory, the rest in the temp file. */
static struct msgbuf *
message(size_t n, const char *inject)
{
	struct msgbuf *mb = msgbuf_new(4096, "/tmp");
	char line[100], err[128];
	size_t done = 0;

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	while (done < n) {
		size_t k = n - done < sizeof(line) ? n - done : sizeof(line);

		ck_assert_int_eq(msgbuf_append(mb, line, k, err, sizeof(err)), 0);
		done += k;
	}
	if (inject)
		ck_assert_int_eq(msgbuf_append(mb, inject, strlen(inject), err, sizeof(err)), 0);
	return mb;
}

START_TEST(framing_memory_and_file)
{
	static struct fake f;
	pthread_t t;
	struct msgbuf *mb = message(200000, NULL);

	memset(&f, 0, sizeof(f));
	fake_start(&f, &t);
	ck_assert_int_eq(clamd_instream(f.sock, NULL, 0, 5000, mb, &res), CLAMD_CLEAN);
	fake_stop(&f, t);
	ck_assert_int_eq(f.bad, 0);
	ck_assert_uint_eq(f.got, msgbuf_size(mb));
	ck_assert_int_ge(f.chunks, 4); /* 4 KiB memory + 196 KiB file in 64 KiB chunks */
	{
		char *want = xmalloc(f.got);

		ck_assert_int_eq(msgbuf_read(mb, 0, want, f.got), (ssize_t)f.got);
		ck_assert_int_eq(memcmp(want, f.payload, f.got), 0);
		free(want);
	}
	msgbuf_free(mb);
}
END_TEST

START_TEST(found_in_spilled_part)
{
	static struct fake f;
	pthread_t t;
	struct msgbuf *mb = message(10000, "EICAR\n");

	memset(&f, 0, sizeof(f));
	fake_start(&f, &t);
	ck_assert_int_eq(clamd_instream(f.sock, NULL, 0, 5000, mb, &res), CLAMD_FOUND);
	ck_assert_str_eq(res.signature, "Fake.EICAR");
	fake_stop(&f, t);
	msgbuf_free(mb);
}
END_TEST

START_TEST(silent_clamd_deadline)
{
	static struct fake f;
	pthread_t t;
	struct msgbuf *mb = message(1000, NULL);
	long long t0;

	memset(&f, 0, sizeof(f));
	f.silent = 1;
	fake_start(&f, &t);
	t0 = rg_mono_ms();
	ck_assert_int_eq(clamd_instream(f.sock, NULL, 0, 300, mb, &res), CLAMD_ETIMEOUT);
	ck_assert_int_lt(rg_mono_ms() - t0, 1500);
	fake_stop(&f, t);
	msgbuf_free(mb);
}
END_TEST

START_TEST(no_clamd)
{
	struct msgbuf *mb = message(10, NULL);

	ck_assert_int_eq(clamd_instream("/nonexistent/clamd.sock", NULL, 0, 300, mb, &res), CLAMD_ECONNECT);
	ck_assert_ptr_nonnull(strstr(res.error, "/nonexistent/clamd.sock"));
	msgbuf_free(mb);
}
END_TEST

START_TEST(ping)
{
	static struct fake f;
	pthread_t t;

	memset(&f, 0, sizeof(f));
	f.ping = "PONG";
	fake_start(&f, &t);
	ck_assert_msg(clamd_ping(f.sock, NULL, 0, 1000, &res) == CLAMD_CLEAN, "%s", res.error);
	fake_stop(&f, t);
	ck_assert_int_eq(f.bad, 0);
	memset(&f, 0, sizeof(f));
	f.ping = "UNKNOWN COMMAND\r\n";
	fake_start(&f, &t);
	ck_assert_int_eq(clamd_ping(f.sock, NULL, 0, 1000, &res), CLAMD_EPROTO);
	ck_assert_str_eq(res.error, "no PONG from clamd: UNKNOWN COMMAND??");
	fake_stop(&f, t);
	ck_assert_int_eq(clamd_ping("/nonexistent/clamd.sock", NULL, 0, 300, &res), CLAMD_ECONNECT);
	ck_assert_ptr_nonnull(strstr(res.error, "/nonexistent/clamd.sock"));
}
END_TEST

START_TEST(real_clamd)
{
	const char *sock = getenv("RG_CLAMD_SOCK");
	struct msgbuf *mb;

	if (sock == NULL || *sock == 0)
		return;
	mb = message(100, NULL);
	ck_assert_msg(clamd_instream(sock, NULL, 0, 10000, mb, &res) == CLAMD_CLEAN, "%s", res.error);
	msgbuf_free(mb);
	mb = message(100000, "\n" EICAR "\n");
	ck_assert_msg(clamd_instream(sock, NULL, 0, 10000, mb, &res) == CLAMD_FOUND, "%s", res.error);
	msgbuf_free(mb);
	ck_assert_msg(clamd_ping(sock, NULL, 0, 10000, &res) == CLAMD_CLEAN, "%s", res.error);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("virus_clamd");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_replies);
	tcase_add_test(tc, long_signature_cut);
	tcase_add_test(tc, framing_memory_and_file);
	tcase_add_test(tc, found_in_spilled_part);
	tcase_add_test(tc, silent_clamd_deadline);
	tcase_add_test(tc, no_clamd);
	tcase_add_test(tc, ping);
	tcase_add_test(tc, real_clamd);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
