/*
 * confcheck - what "-t" checks beyond the file's own syntax, and the
 * command-line printing (-n, -d, parameter names), shared by both daemons:
 * relayguard-milter -t checks everything relayguard-policyd -t checks, so
 * either catches what either daemon would fail on at start: run_user
 * exists, the pid-file and socket directories exist or can be created (the
 * daemons create the last level, rg_confcheck_rundirs), milter_tmpdir
 * exists, myhostname is a host name, the whitelist and pattern files load.
 * Every address and table-entry override was already parsed by
 * rg_config_load with the same grammar the daemons use.
 *
 * Contract: called from main() before the service runs; no hidden state.
 * Output goes to the FILE given; messages name "file:line" where a setting
 * made the problem (the line that set it, or the file when it is a default).
 */
#ifndef RG_CONFCHECK_H
#define RG_CONFCHECK_H

#include <stdio.h>

#include "config.h"

/*
 * Check cfg for what the daemons need at run time. user overrides run_user
 * (-u), NULL = run_user. Appends one message per problem to diag. Returns 0
 * when all is well, else the number of problems.
 */
int rg_confcheck(const struct rg_config *cfg, const char *user, struct rg_diag *diag);

/* Which daemon's directories rg_confcheck_rundirs creates. */
enum rg_daemon_kind { RG_DAEMON_POLICYD, RG_DAEMON_MILTER };

/*
 * Before binding: create the missing last level of the pid file's and the
 * UNIX listeners' directories (mode 0755, owned by user when running as
 * root). Returns 0, or -1 with err.
 */
int rg_confcheck_rundirs(const struct rg_params *g, enum rg_daemon_kind who, const char *user, char *err,
			 size_t errlen);

/*
 * Print each named parameter as in force ("redis_server",
 * "premium_greylisting"), in "name = value" form. Returns 0, or -1 with
 * an unknown name reported to diag.
 */
int rg_confcheck_print_names(const struct rg_config *cfg, FILE *fp, char *const *names, int n,
			     struct rg_diag *diag);

/* -d: the built-in defaults, of every parameter or of the named ones. Same returns. */
int rg_confcheck_print_defaults(FILE *fp, char *const *names, int n, struct rg_diag *diag);

/*
 * The daemons' -t / -n / -d handling in one place: with defaults set,
 * print them (cfg may be NULL); else with check, run rg_confcheck; then
 * with print, print the named parameters or, without names, the settings
 * the file changes. Messages go to stderr as "prog: error: ...". Returns
 * the exit status (0 or 1).
 */
int rg_confcheck_cli(const char *prog, const struct rg_config *cfg, int check, int print, int defaults,
		     const char *user, char *const *names, int n);

/* Is name a parameter whose value is a secret (any *_password, redis_key_secret)? */
int rg_confcheck_secret(const char *name);

#endif
