/*
 * check_msgbuf - message buffering: memory, spill to a private temp file,
 * read-back across the boundary, nothing left on disk.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msgbuf.h"

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(memory_only)
{
	struct msgbuf *mb = msgbuf_new(1024, "/tmp");
	char err[128], buf[64];
	const char *mem;
	size_t memlen, filelen;
	int fd;

	ck_assert_int_eq(msgbuf_append(mb, "Subject: x\r\n\r\n", 15, err, sizeof(err)), 0);
	ck_assert_int_eq(msgbuf_append(mb, "body\r\n", 6, err, sizeof(err)), 0);
	ck_assert_uint_eq(msgbuf_size(mb), 21);
	msgbuf_parts(mb, &mem, &memlen, &fd, &filelen);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(memlen, 21);
	ck_assert_int_eq(msgbuf_read(mb, 15, buf, sizeof(buf)), 6);
	ck_assert_int_eq(memcmp(buf, "body\r\n", 6), 0);
	msgbuf_free(mb);
}
END_TEST

START_TEST(spill_and_read_back)
{
	char dir[] = "/tmp/check_msgbuf.XXXXXX";
	struct msgbuf *mb;
	char err[128], chunk[1000], all[10000], back[10000];
	const char *mem;
	size_t memlen, filelen;
	int fd;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	mb = msgbuf_new(2500, dir);
	for (int i = 0; i < 10; i++) {
		memset(chunk, 'a' + i, sizeof(chunk));
		memcpy(all + i * 1000, chunk, 1000);
		ck_assert_int_eq(msgbuf_append(mb, chunk, sizeof(chunk), err, sizeof(err)), 0);
	}
	msgbuf_parts(mb, &mem, &memlen, &fd, &filelen);
	ck_assert_uint_eq(memlen, 2000);
	ck_assert_uint_eq(filelen, 8000);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* The file is already unlinked: nothing in the folder. */
	ck_assert_int_eq(count_files(dir), 0);
	ck_assert_int_eq(msgbuf_read(mb, 0, back, sizeof(back)), 10000);
	ck_assert_int_eq(memcmp(all, back, 10000), 0);
	ck_assert_int_eq(msgbuf_read(mb, 1990, back, 20), 20);
	ck_assert_int_eq(memcmp(all + 1990, back, 20), 0);
	ck_assert_int_eq(msgbuf_read(mb, 9995, back, 100), 5);
	msgbuf_reset(mb);
	ck_assert_uint_eq(msgbuf_size(mb), 0);
	ck_assert_int_eq(msgbuf_append(mb, "x", 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(msgbuf_size(mb), 1);
	msgbuf_free(mb);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(unwritable_tmpdir)
{
	struct msgbuf *mb = msgbuf_new(10, "/nonexistent/dir");
	char err[128];

	ck_assert_int_eq(msgbuf_append(mb, "0123456789abc", 13, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir"));
	msgbuf_free(mb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("msgbuf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, memory_only);
	tcase_add_test(tc, spill_and_read_back);
	tcase_add_test(tc, unwritable_tmpdir);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
