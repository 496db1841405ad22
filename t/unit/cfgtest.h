/*
 * cfgtest - fixture helpers for the configuration suites: each test runs in
 * a fresh mkdtemp directory (it becomes the working directory, so messages
 * read "relayguard.conf:12: ..." as an admin sees them), removed afterwards.
 */
#ifndef RG_CFGTEST_H
#define RG_CFGTEST_H

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char t_dir[PATH_MAX];
static char t_olddir[PATH_MAX];

static __attribute__((unused)) int
t_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static __attribute__((unused)) void
t_setup(void)
{
	ck_assert_ptr_nonnull(getcwd(t_olddir, sizeof(t_olddir)));
	strcpy(t_dir, "/tmp/rg-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t_dir));
	ck_assert_int_eq(chdir(t_dir), 0);
}

static __attribute__((unused)) void
t_teardown(void)
{
	ck_assert_int_eq(chdir(t_olddir), 0);
	nftw(t_dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to name (relative to the test directory). */
static __attribute__((unused)) void
t_write(const char *name, const char *text)
{
	FILE *fp = fopen(name, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Load text as relayguard.conf; diag must be zeroed by the caller. */
static __attribute__((unused)) struct rg_config *
t_load(const char *text, struct rg_diag *d)
{
	t_write("relayguard.conf", text);
	return rg_config_load("relayguard.conf", d);
}

/* Print every message (helps when an assertion fails). */
static __attribute__((unused)) void
t_dump(const struct rg_diag *d)
{
	for (int i = 0; i < d->count; i++)
		fprintf(stderr, "  diag: %s\n", d->msgs[i]);
}

/* Is msg exactly one of the messages? */
static __attribute__((unused)) int
t_has(const struct rg_diag *d, const char *msg)
{
	for (int i = 0; i < d->count; i++)
		if (strcmp(d->msgs[i], msg) == 0)
			return 1;
	t_dump(d);
	fprintf(stderr, "  missing: %s\n", msg);
	return 0;
}

/* Where the source tree is: RG_SRCDIR (set by make unit) or the start directory. */
static __attribute__((unused)) const char *
t_srcdir(void)
{
	const char *s = getenv("RG_SRCDIR");

	return s && *s ? s : t_olddir;
}

#endif
