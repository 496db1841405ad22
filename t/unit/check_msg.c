/*
 * check_msg - msg_hold: held lines leave in order at msg_flush, in one
 * write; the kick comes once per batch; other threads' lines are not held.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

static char path[] = "/tmp/check_msg.XXXXXX";
static int saved_stderr = -1;
static int kicks;

static void
kick(void *arg)
{
	(*(int *)arg)++;
}

static void
setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	msg_init("check_msg", 1, "mail");
	kicks = 0;
}

static void
teardown(void)
{
	msg_hold(NULL, NULL);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
}

/* What the log file holds now. */
static char *
slurp(void)
{
	static char buf[400000];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(held_until_flush)
{
	char *s;

	msg_hold(kick, &kicks);
	msg_info("one");
	msg_warn("two");
	msg_info("three");
	ck_assert_int_eq(kicks, 1);
	ck_assert_str_eq(slurp(), "");
	msg_flush();
	s = slurp();
	ck_assert_ptr_nonnull(strstr(s, "one\n"));
	ck_assert_ptr_nonnull(strstr(s, "warning: two\n"));
	ck_assert(strstr(s, "one\n") < strstr(s, "two\n"));
	ck_assert(strstr(s, "two\n") < strstr(s, "three\n"));
	/* a new batch kicks again */
	msg_info("four");
	ck_assert_int_eq(kicks, 2);
	msg_hold(NULL, NULL); /* stopping flushes */
	ck_assert_ptr_nonnull(strstr(slurp(), "four\n"));
	msg_info("five"); /* not held any more */
	ck_assert_ptr_nonnull(strstr(slurp(), "five\n"));
}
END_TEST

START_TEST(full_buffer_flushes_in_order)
{
	char line[1500];
	char *s, *p;
	int n = 0;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	msg_hold(kick, &kicks);
	for (int i = 0; i < 200; i++) /* ~300 kB: more than the buffer */
		msg_info("%03d %s", i, line);
	ck_assert_str_ne(slurp(), "");
	msg_flush();
	s = slurp();
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 200);
	for (int i = 0; i < 199; i++) {
		char a[16], b[16];

		snprintf(a, sizeof(a), "%03d x", i);
		snprintf(b, sizeof(b), "%03d x", i + 1);
		ck_assert(strstr(s, a) < strstr(s, b));
	}
}
END_TEST

static void *
other_thread(void *arg)
{
	(void)arg;
	msg_info("from another thread");
	return NULL;
}

START_TEST(other_threads_not_held)
{
	pthread_t t;

	msg_hold(kick, &kicks);
	msg_info("held line");
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);
	ck_assert_ptr_nonnull(strstr(slurp(), "from another thread\n"));
	ck_assert_ptr_null(strstr(slurp(), "held line"));
	msg_flush();
	ck_assert_ptr_nonnull(strstr(slurp(), "held line\n"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("hold");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, held_until_flush);
	tcase_add_test(tc, full_buffer_flushes_in_order);
	tcase_add_test(tc, other_threads_not_held);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
