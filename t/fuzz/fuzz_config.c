/*
 * fuzz_config - relayguard.conf and both tables through rg_config_load
 * (src/config.c, confread, confsyn, confval, table.c): admin input, but a
 * typo must give "file:line: message", never a crash, a hang or a leak.
 *
 * Input: the main file, then optionally "\n@@\n" and the domain table, then
 * "\n@@\n" and the client table. They are written to files in a private
 * directory; the main file gets "domain_table = domains" and
 * "client_table = clients" appended, so the tables read are always ours.
 *
 * Properties:
 *   - a refused configuration has at least one diagnostic, and no
 *     diagnostic carries a control character (they go to logs and -t);
 *   - an accepted one prints (postconf style, all and -n) into text that
 *     loads again and prints the same: -n loses nothing, print is stable;
 *   - every table entry names a known class and is what a lookup of its
 *     own key finds (exact domains; a subdomain for ".parent"; the
 *     network address for a client entry);
 *   - the snapshot frees everything (LeakSanitizer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "table.h"

static char fc_dir[64];
static char fc_main[128], fc_dom[128], fc_cli[128], fc_all[128], fc_nondef[128];

static void
fc_cleanup(void)
{
	unlink(fc_main), unlink(fc_dom), unlink(fc_cli), unlink(fc_all), unlink(fc_nondef);
	rmdir(fc_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc, (void)argv;
	snprintf(fc_dir, sizeof(fc_dir), "%s/rg-fuzz-config.XXXXXX", base);
	if (mkdtemp(fc_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(fc_main, sizeof(fc_main), "%s/relayguard.conf", fc_dir);
	snprintf(fc_dom, sizeof(fc_dom), "%s/domains", fc_dir);
	snprintf(fc_cli, sizeof(fc_cli), "%s/clients", fc_dir);
	snprintf(fc_all, sizeof(fc_all), "%s/printed.conf", fc_dir);
	snprintf(fc_nondef, sizeof(fc_nondef), "%s/printed-n.conf", fc_dir);
	atexit(fc_cleanup);
	return 0;
}

static void
fc_write(const char *path, const char *d, size_t n, const char *tail)
{
	FILE *fp = fopen(path, "w");

	FUZZ_ASSERT(fp != NULL, "cannot write %s", path);
	if (n)
		fwrite(d, 1, n, fp);
	if (tail)
		fputs(tail, fp);
	fclose(fp);
}

/* The configuration printed to path; its text in a malloc'd string. */
static char *
fc_print(const struct rg_config *cfg, const char *path, int nondefault)
{
	FILE *fp = fopen(path, "w+");
	char *text;
	long len;

	FUZZ_ASSERT(fp != NULL, "cannot write %s", path);
	rg_config_print(cfg, fp, nondefault);
	len = ftell(fp);
	text = malloc((size_t)len + 1);
	rewind(fp);
	FUZZ_ASSERT(fread(text, 1, (size_t)len, fp) == (size_t)len, "short read of %s", path);
	text[len] = 0;
	fclose(fp);
	return text;
}

static void
fc_diag(const struct rg_diag *d)
{
	for (int i = 0; i < d->count; i++)
		FUZZ_ASSERT(!fuzz_has_ctl(d->msgs[i], strlen(d->msgs[i])), "diagnostic \"%.200s\"",
			    d->msgs[i]);
}

/* Load what we printed: it must load, and print the same. */
static void
fc_reload(const char *path, const char *want, const char *how)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = rg_config_load(path, &d);
	char *again;

	FUZZ_ASSERT(cfg != NULL, "the %s print does not load: %s", how, d.count ? d.msgs[0] : "(no message)");
	fc_diag(&d);
	rg_diag_free(&d);
	again = fc_print(cfg, fc_all, 0);
	if (strcmp(again, want) != 0) {
		size_t i = 0;

		while (again[i] && again[i] == want[i])
			i++;
		while (i > 0 && want[i - 1] != '\n')
			i--;
		FUZZ_ASSERT(0, "the %s print loads to a different configuration at \"%.120s\" vs \"%.120s\"",
			    how, want + i, again + i);
	}
	free(again);
	rg_config_unref(cfg);
}

static int
fc_known_class(const struct rg_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nclasses; i++)
		if (strcmp(cfg->class_names[i], name) == 0)
			return 1;
	return 0;
}

static void
fc_tables(const struct rg_config *cfg)
{
	FILE *null = fopen("/dev/null", "w");

	for (int i = 0; cfg->domains && i < rg_table_count(cfg->domains); i++) {
		const struct rg_entry *e = rg_table_at(cfg->domains, i), *f;
		char q[600];

		FUZZ_ASSERT(e->key && !fuzz_has_ctl(e->key, strlen(e->key)), "domain key");
		FUZZ_ASSERT(fc_known_class(cfg, e->class_name), "class %s", e->class_name);
		snprintf(q, sizeof(q), "%s%s", e->key[0] == '.' ? "sub" : "", e->key);
		f = rg_config_domain(cfg, q);
		FUZZ_ASSERT(f != NULL, "entry %s is not found by %s", e->key, q);
		if (e->key[0] != '.')
			FUZZ_ASSERT(strcasecmp(f->key, e->key) == 0, "%s finds %s", e->key, f->key);
		rg_params_print(e->p, null);
	}
	for (int i = 0; cfg->clients && i < rg_table_count(cfg->clients); i++) {
		const struct rg_entry *e = rg_table_at(cfg->clients, i);
		char q[128];

		FUZZ_ASSERT(fc_known_class(cfg, e->class_name), "class %s", e->class_name);
		snprintf(q, sizeof(q), "%.*s", (int)strcspn(e->key, "/"), e->key);
		FUZZ_ASSERT(rg_config_client(cfg, q) != NULL, "client entry %s is not found by %s", e->key,
			    q);
		rg_params_print(e->p, null);
	}
	fclose(null);
	(void)rg_config_trusted(cfg, "127.0.0.1");
	(void)rg_config_trusted(cfg, "2001:db8::1");
	(void)rg_config_domain(cfg, "Example.COM");
	(void)rg_config_client(cfg, "192.0.2.1");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n@@\n";
	const char *d = (const char *)data, *end = d + size, *s1, *s2 = NULL;
	struct rg_diag diag = {0};
	struct rg_config *cfg;

	if (size > 65536)
		return 0;
	s1 = memmem(d, size, sep, 4);
	if (s1)
		s2 = memmem(s1 + 4, (size_t)(end - s1 - 4), sep, 4);
	fc_write(fc_main, d, s1 ? (size_t)(s1 - d) : size,
		 "\ndomain_table = domains\nclient_table = clients\n");
	fc_write(fc_dom, s1 ? s1 + 4 : d, s1 ? (size_t)((s2 ? s2 : end) - s1 - 4) : 0, NULL);
	fc_write(fc_cli, s2 ? s2 + 4 : d, s2 ? (size_t)(end - s2 - 4) : 0, NULL);

	cfg = rg_config_load(fc_main, &diag);
	if (getenv("FUZZ_LOG")) {
		fprintf(stderr, "config: %s\n", cfg ? "loaded" : "refused");
		for (int i = 0; i < diag.count; i++)
			fprintf(stderr, "config: %s\n", diag.msgs[i]);
	}
	fc_diag(&diag);
	if (cfg == NULL) {
		FUZZ_ASSERT(diag.count > 0, "refused without a message");
		rg_diag_free(&diag);
		return 0;
	}
	rg_diag_free(&diag);
	{
		char *all = fc_print(cfg, fc_all, 0), *nondef = fc_print(cfg, fc_nondef, 1);

		free(nondef);
		fc_reload(fc_all, all, "full");
		/* fc_reload printed into fc_all again; -n's text is in fc_nondef. */
		fc_reload(fc_nondef, all, "-n");
		free(all);
	}
	fc_tables(cfg);
	rg_config_unref(cfg);
	return 0;
}
