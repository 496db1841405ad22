/*
 * daemon_cli - the command line both daemons share, and the steps of their
 * start-up before and after they bind their sockets (daemon.h has the
 * pieces):
 *
 *   relayguard-NAME [-fntvV] [-c config] [-u user]   (policyd: also -q WHAT)
 *   relayguard-NAME -n|-d [-c config] [name ...]
 *
 * main() of either daemon:
 *   rg_cli_parse     the options; the caller's usage() on a bad one
 *   rg_cli_load      -d answered, or the configuration loaded (its errors
 *                    on stderr); then the caller's own checks, if any
 *   rg_cli_check     -t / -n answered (fail-open choices warned about)
 *   rg_cli_begin     logging, the run directories, the pid file locked:
 *                    a second instance stops here, before binding
 *   ... the daemon binds its sockets ...
 *   rg_cli_detach    detach unless -f, write the pid, drop root
 *
 * Contract: main()'s thread, before any other thread runs; a failure in
 * rg_cli_begin or rg_cli_detach is fatal (msg_fatal), as a daemon that
 * cannot start has nothing else to do.
 */
#ifndef RG_DAEMON_CLI_H
#define RG_DAEMON_CLI_H

#include "confcheck.h"
#include "config.h"
#include "daemon.h"

#define RG_DEF_CONFIG "/etc/relayguard/relayguard.conf"

struct rg_cli {
	const char *prog; /* "relayguard-policyd": messages and -V */
	const char *path; /* -c (RG_DEF_CONFIG) */
	const char *user; /* -u; after rg_cli_begin, run_user when not given */
	const char *query; /* -q (only where rg_cli_parse allowed it) */
	int check, print, defaults, fg;
	char **names; /* the parameter names after the options (-n, -d) */
	int nnames;
};

/* Parse argv. with_query: accept -q WHAT. -V prints the version and exits 0. */
void rg_cli_parse(struct rg_cli *o, const char *prog, int with_query, int argc, char **argv,
		  void (*usage)(void));

/*
 * -d: print the defaults and return the exit status. Otherwise load o->path
 * into *cfg and return -1; on errors print them (rg_cli_errors) and return 1.
 */
int rg_cli_load(struct rg_cli *o, struct rg_config **cfg);

/* Print diag's messages as "prog: error: ..." on stderr and free them. */
void rg_cli_errors(const struct rg_cli *o, struct rg_diag *diag);

/* -t and -n: the exit status (0 or 1); -t also warns about fail-open choices. */
int rg_cli_check(const struct rg_cli *o, const struct rg_config *cfg);

/*
 * Logging to syslog (stderr with -f), SIGPIPE ignored, the daemon's run
 * directories, and pidfile locked (path "" or NULL: none). A pid file held
 * by a running instance ends the start: "already running as pid N", on
 * stderr too.
 */
void rg_cli_begin(struct rg_cli *o, const struct rg_params *g, enum rg_daemon_kind who, const char *pidfile,
		  struct rg_pidfile *pf);

/* After binding: detach unless -f, our pid into the locked file, then run as o->user. */
void rg_cli_detach(const struct rg_cli *o, struct rg_pidfile *pf);

#endif
