/*
 * daemon - what both daemons do around their service loop: detach, pid
 * file, dropping root after the sockets are bound.
 *
 * Contract: called from main() before any thread or event loop runs;
 * failures are returned (err) so main can msg_fatal with context.
 */
#ifndef RG_DAEMON_H
#define RG_DAEMON_H

#include <stddef.h>

/* fork, setsid, stdio to /dev/null. Returns 0 or -1. */
int rg_daemonize(char *err, size_t errlen);

/* Write our pid to path (mode 0644, replaced atomically). "" = none. */
int rg_pidfile_write(const char *path, char *err, size_t errlen);
void rg_pidfile_remove(const char *path);

/*
 * Become user (name) with its primary group and supplementary groups, in
 * the order that cannot fail half-way (groups, gid, uid), then verify that
 * root cannot be regained. A NULL/"" user while running as root is allowed
 * only when allow_root is set. Returns 0 or -1.
 */
int rg_drop_privileges(const char *user, int allow_root, char *err, size_t errlen);

/* Create a directory for sockets/pid files if missing, owned by user. */
int rg_rundir(const char *path, const char *user, char *err, size_t errlen);

#endif
