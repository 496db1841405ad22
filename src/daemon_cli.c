/*
 * daemon_cli - see daemon_cli.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_cli.h"
#include "failpolicy.h"
#include "msg.h"
#include "version.h"

void
rg_cli_parse(struct rg_cli *o, const char *prog, int with_query, int argc, char **argv, void (*usage)(void))
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->prog = prog;
	o->path = RG_DEF_CONFIG;
	msg_init(prog, 1, "mail");
	while ((ch = getopt(argc, argv, with_query ? "c:dfnq:tu:vV" : "c:dfntu:vV")) != -1) {
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 'd':
			o->defaults = 1;
			break;
		case 'f':
			o->fg = 1;
			break;
		case 'n':
			o->print = 1;
			break;
		case 'q':
			o->query = optarg;
			break;
		case 't':
			o->check = 1;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'V':
			printf("%s %s\n", prog, RG_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc && !o->print && !o->defaults)
		usage();
	o->names = argv + optind;
	o->nnames = argc - optind;
}

void
rg_cli_errors(const struct rg_cli *o, struct rg_diag *diag)
{
	for (int i = 0; i < diag->count; i++)
		fprintf(stderr, "%s%s: error: %s\n", msg_stderr_prio(3), o->prog, diag->msgs[i]);
	rg_diag_free(diag);
}

int
rg_cli_load(struct rg_cli *o, struct rg_config **cfg)
{
	struct rg_diag diag = {0};

	*cfg = NULL;
	if (o->defaults)
		return rg_confcheck_cli(o->prog, NULL, 0, 0, 1, NULL, o->names, o->nnames);
	if ((*cfg = rg_config_load(o->path, &diag)) == NULL) {
		rg_cli_errors(o, &diag);
		return 1;
	}
	rg_diag_free(&diag);
	return -1;
}

int
rg_cli_check(const struct rg_cli *o, const struct rg_config *cfg)
{
	int rc = rg_confcheck_cli(o->prog, cfg, o->check, o->print, 0, o->user, o->names, o->nnames);

	if (o->check && rc == 0)
		(void)rg_failpolicy_warn(cfg, o->prog, stderr);
	return rc;
}

void
rg_cli_begin(struct rg_cli *o, const struct rg_params *g, enum rg_daemon_kind who, const char *pidfile,
	     struct rg_pidfile *pf)
{
	char err[512];

	if (o->user == NULL)
		o->user = g->run_user;
	msg_init(o->prog, o->fg, g->syslog_facility);
	signal(SIGPIPE, SIG_IGN);
	if (rg_confcheck_rundirs(g, who, o->user, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	/* Said on stderr too: whoever started it is looking there. */
	if (rg_pidfile_lock(pf, pidfile, err, sizeof(err)) != 0) {
		if (!o->fg)
			fprintf(stderr, "%s%s: fatal: %s\n", msg_stderr_prio(2), o->prog, err);
		msg_fatal("%s", err);
	}
}

void
rg_cli_detach(const struct rg_cli *o, struct rg_pidfile *pf)
{
	char err[512];

	if (!o->fg && rg_daemonize(err, sizeof(err)) != 0)
		msg_fatal("detach: %s", err);
	if (rg_pidfile_write(pf, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	if (rg_drop_privileges(o->user, 0, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
}
