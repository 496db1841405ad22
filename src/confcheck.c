/*
 * confcheck - see confcheck.h. Directory rule: a directory that exists is
 * fine; a missing one is fine when its parent exists (the daemon creates
 * that last level before binding, rg_confcheck_rundirs); anything deeper
 * is an error, because the daemon would die on it at start.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confcheck.h"
#include "confint.h"
#include "daemon.h"
#include "endpoint.h"
#include "patlist.h"
#include "table.h"
#include "util.h"

int
rg_confcheck_secret(const char *name)
{
	size_t n = strlen(name);

	return (n >= 8 && strcmp(name + n - 8, "password") == 0) ||
	       (n >= 6 && strcmp(name + n - 6, "secret") == 0);
}

/* Report against the line that set name, or the file when it is a default. */
static void
report(const struct rg_config *cfg, struct rg_diag *diag, int *nerr, const char *name, const char *fmt,
       const char *a, const char *b)
{
	char msg[3000];

	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	rg_diag_add(diag, cfg->path, rg_config_line(cfg, name), "%s: %s", name, msg);
	(*nerr)++;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory part of path in buf ("/" for "/x", "." for "x"). */
static const char *
dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		rg_strlcpy(buf, ".", len);
	else if (slash == path)
		rg_strlcpy(buf, "/", len);
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return buf;
}

/* The file at path (a pid file or a socket) can be created by the daemon. */
static void
check_dir_of(const struct rg_config *cfg, struct rg_diag *diag, int *nerr, const char *name, const char *path)
{
	char dir[1024], parent[1024];

	if (path == NULL || *path == 0)
		return;
	if (path[0] != '/') {
		report(cfg, diag, nerr, name, "\"%s\" is not an absolute path", path, NULL);
		return;
	}
	dir_of(path, dir, sizeof(dir));
	if (is_dir(dir))
		return;
	if (access(dir, F_OK) == 0) {
		report(cfg, diag, nerr, name, "%s is not a directory", dir, NULL);
		return;
	}
	dir_of(dir, parent, sizeof(parent));
	if (!is_dir(parent))
		report(cfg, diag, nerr, name,
		       "directory %.500s does not exist, nor does %.500s (the daemon creates only the last "
		       "level)",
		       dir, parent);
}

static void
check_socket_dirs(const struct rg_config *cfg, struct rg_diag *diag, int *nerr)
{
	const struct rg_params *g = &cfg->global;
	const struct {
		const char *name;
		const struct rg_endpoint *ep;
	} one[] = {{"milter_listen", g->milter_listen_ep},
		   {"milter_metrics_listen", g->milter_metrics_listen_ep},
		   {"policyd_metrics_listen", g->policyd_metrics_listen_ep}};

	for (int i = 0; i < g->policyd_listen_ep.n; i++)
		if (g->policyd_listen_ep.v[i].kind == RG_EP_UNIX)
			check_dir_of(cfg, diag, nerr, "policyd_listen", g->policyd_listen_ep.v[i].path);
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (one[i].ep && one[i].ep->kind == RG_EP_UNIX)
			check_dir_of(cfg, diag, nerr, one[i].name, one[i].ep->path);
}

/* A file named in the configuration: relative names are next to it. */
static void
conf_path(const struct rg_config *cfg, const char *name, char *buf, size_t len)
{
	char dir[1024];

	if (name[0] == '/')
		rg_strlcpy(buf, name, len);
	else
		snprintf(buf, len, "%s/%s", dir_of(cfg->path, dir, sizeof(dir)), name);
}

/* The whitelist and pattern files load (policyd reads them; the milter's -t checks them too). */
static void
check_patterns(const struct rg_config *cfg, struct rg_diag *diag, int *nerr)
{
	const struct rg_params *g = &cfg->global;
	const struct {
		const struct rg_list *files;
		enum rg_pat_kind kind;
	} lists[] = {{&g->greylist_whitelist_clients, RG_PAT_CLIENT},
		     {&g->greylist_whitelist_senders, RG_PAT_ADDRESS},
		     {&g->greylist_whitelist_recipients, RG_PAT_ADDRESS}};
	char path[1200];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (int j = 0; j < lists[i].files->argc; j++) {
			struct rg_patlist *l = rg_patlist_new(lists[i].kind);

			conf_path(cfg, lists[i].files->argv[j], path, sizeof(path));
			if (rg_patlist_load(l, path, diag) != 0)
				(*nerr)++;
			rg_patlist_free(l);
		}
	if (*g->dynamic_ip_patterns) {
		conf_path(cfg, g->dynamic_ip_patterns, path, sizeof(path));
		if (access(path, R_OK) != 0)
			report(cfg, diag, nerr, "dynamic_ip_patterns", "%.1100s: %.100s", path,
			       strerror(errno));
	}
}

/* The SPF/DKIM resolver (src/auth_dns: the milter's checks, policyd's
 * greylist_spf) takes IPv4 name servers only (res_state). */
static int
uses_auth_dns(const struct rg_params *p)
{
	return p->spf_check || p->dkim_check || p->greylist_spf;
}

static void
check_auth_dns(const struct rg_config *cfg, struct rg_diag *diag, int *nerr)
{
	const struct rg_endpoint *ep = cfg->global.dns_server_ep;
	int used = uses_auth_dns(&cfg->global), i;

	for (i = 0; i < cfg->nclasses && !used; i++)
		used = uses_auth_dns(cfg->class_params[i]);
	for (i = 0; cfg->domains && i < rg_table_count(cfg->domains) && !used; i++)
		used = uses_auth_dns(rg_table_at(cfg->domains, i)->p);
	for (i = 0; cfg->clients && i < rg_table_count(cfg->clients) && !used; i++)
		used = uses_auth_dns(rg_table_at(cfg->clients, i)->p);
	if (used && ep && strchr(ep->host, ':'))
		report(cfg, diag, nerr, "dns_server", "%s: SPF and DKIM checks need an IPv4 name server",
		       ep->host, NULL);
}

int
rg_confcheck(const struct rg_config *cfg, const char *user, struct rg_diag *diag)
{
	const struct rg_params *g = &cfg->global;
	int nerr = 0;

	if (user == NULL)
		user = g->run_user;
	if (user && *user && getpwnam(user) == NULL)
		report(cfg, diag, &nerr, "run_user", "no such user \"%s\"%s", user,
		       user == g->run_user ? "" : " (from -u)");
	if (!rg_endpoint_hostname_ok(g->myhostname, strlen(g->myhostname)))
		report(cfg, diag, &nerr, "myhostname", "\"%s\" is not a host name", g->myhostname, NULL);
	check_dir_of(cfg, diag, &nerr, "policyd_pidfile", g->policyd_pidfile);
	check_dir_of(cfg, diag, &nerr, "milter_pidfile", g->milter_pidfile);
	check_socket_dirs(cfg, diag, &nerr);
	if (!is_dir(g->milter_tmpdir))
		report(cfg, diag, &nerr, "milter_tmpdir", "directory %s does not exist", g->milter_tmpdir,
		       NULL);
	else if (access(g->milter_tmpdir, W_OK | X_OK) != 0 && geteuid() == 0)
		report(cfg, diag, &nerr, "milter_tmpdir", "directory %s is not writable", g->milter_tmpdir,
		       NULL);
	check_patterns(cfg, diag, &nerr);
	check_auth_dns(cfg, diag, &nerr);
	return nerr;
}

/* mkdir the last level of path's directory if missing. */
static int
rundir_of(const char *path, const char *user, char *err, size_t errlen)
{
	char dir[1024];

	if (path == NULL || *path != '/')
		return 0;
	dir_of(path, dir, sizeof(dir));
	return is_dir(dir) ? 0 : rg_rundir(dir, user, err, errlen);
}

int
rg_confcheck_rundirs(const struct rg_params *g, enum rg_daemon_kind who, const char *user, char *err,
		     size_t errlen)
{
	const struct rg_endpoint *m =
	    who == RG_DAEMON_MILTER ? g->milter_metrics_listen_ep : g->policyd_metrics_listen_ep;

	if (rundir_of(who == RG_DAEMON_MILTER ? g->milter_pidfile : g->policyd_pidfile, user, err, errlen) <
	    0)
		return -1;
	if (m && m->kind == RG_EP_UNIX && rundir_of(m->path, user, err, errlen) < 0)
		return -1;
	if (who == RG_DAEMON_MILTER)
		return g->milter_listen_ep->kind == RG_EP_UNIX
			   ? rundir_of(g->milter_listen_ep->path, user, err, errlen)
			   : 0;
	for (int i = 0; i < g->policyd_listen_ep.n; i++)
		if (g->policyd_listen_ep.v[i].kind == RG_EP_UNIX &&
		    rundir_of(g->policyd_listen_ep.v[i].path, user, err, errlen) < 0)
			return -1;
	return 0;
}

/* The parameter of name, "premium_greylisting" included; *cls the class index or -1. */
static const struct rg_pinfo *
lookup(const struct rg_config *cfg, const char *name, int *cls)
{
	const struct rg_pinfo *pi = rg_pinfo_find(name);
	const char *us = strchr(name, '_');

	*cls = -1;
	if (pi || us == NULL || (pi = rg_pinfo_find(us + 1)) == NULL || pi->scope != RG_PS_CLASS)
		return pi;
	if (cfg == NULL) {
		*cls = -2; /* -d: any class prefix, the default is the same */
		return pi;
	}
	for (int i = 0; i < cfg->nclasses; i++)
		if (strlen(cfg->class_names[i]) == (size_t)(us - name) &&
		    strncmp(cfg->class_names[i], name, (size_t)(us - name)) == 0)
			*cls = i;
	return *cls >= 0 ? pi : NULL;
}

int
rg_confcheck_print_names(const struct rg_config *cfg, FILE *fp, char *const *names, int n,
			 struct rg_diag *diag)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		int cls;
		const struct rg_pinfo *pi = lookup(cfg, names[i], &cls);
		char prefix[64];

		if (pi == NULL) {
			rg_diag_add(diag, NULL, 0, "unknown parameter \"%.100s\"", names[i]);
			rc = -1;
			continue;
		}
		if (cls < 0) {
			rg_conf_print_one(NULL, pi, &cfg->global, fp);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "%s", cfg->class_names[cls]);
		rg_conf_print_one(prefix, pi, cfg->class_params[cls], fp);
	}
	return rc;
}

static void
print_default(const char *label, const struct rg_pinfo *pi, FILE *fp)
{
	fprintf(fp, "%s =%s%s\n", label, *pi->def ? " " : "",
		*pi->def && rg_confcheck_secret(pi->name) ? "********" : pi->def);
}

int
rg_confcheck_print_defaults(FILE *fp, char *const *names, int n, struct rg_diag *diag)
{
	int rc = 0;

	if (n == 0)
		for (const struct rg_pinfo *pi = rg_pinfo; pi->name; pi++)
			print_default(pi->name, pi, fp);
	for (int i = 0; i < n; i++) {
		int cls;
		const struct rg_pinfo *pi = lookup(NULL, names[i], &cls);

		if (pi == NULL) {
			rg_diag_add(diag, NULL, 0, "unknown parameter \"%.100s\"", names[i]);
			rc = -1;
			continue;
		}
		print_default(names[i], pi, fp);
	}
	return rc;
}

int
rg_confcheck_cli(const char *prog, const struct rg_config *cfg, int check, int print, int defaults,
		 const char *user, char *const *names, int n)
{
	struct rg_diag diag = {0};
	int rc = 0;

	if (defaults)
		rc = rg_confcheck_print_defaults(stdout, names, n, &diag) != 0;
	else {
		if (check && rg_confcheck(cfg, user, &diag) != 0)
			rc = 1;
		if (print && n > 0)
			rc |= rg_confcheck_print_names(cfg, stdout, names, n, &diag) != 0;
		else if (print)
			rg_config_print(cfg, stdout, 1);
	}
	for (int i = 0; i < diag.count; i++)
		fprintf(stderr, "%s: error: %s\n", prog, diag.msgs[i]);
	rg_diag_free(&diag);
	return rc;
}
