/*
 * daemon - what both daemons do around their service loop, in one place:
 * the locked pid file, unix sockets that never disturb a live instance,
 * detaching, dropping root after the sockets are bound, and the
 * descriptor budget.
 *
 * Start-up order (both daemons):
 *   rg_pidfile_lock      before binding: a second start stops here, naming
 *                        the pid that holds the lock
 *   rg_unix_listen / rg_unix_vacant + rg_sockfile_install   bind
 *   rg_daemonize         unless -f (the flock survives the fork)
 *   rg_pidfile_write     our pid, into the file we hold locked
 *   rg_drop_privileges
 * and at exit rg_sockfile_remove for each socket, rg_pidfile_release.
 *
 * Contract: called from main() before any thread or event loop runs
 * (rg_sockfile_remove and rg_pidfile_release also at exit); failures are
 * returned (err) so main can msg_fatal with context. The structures are the
 * caller's; nothing here keeps static state.
 */
#ifndef RG_DAEMON_H
#define RG_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/* fork, setsid, stdio to /dev/null. Returns 0 or -1. */
int rg_daemonize(char *err, size_t errlen);

/* A pid file held locked (flock) for the life of the process. */
struct rg_pidfile {
	int fd; /* -1: none */
	dev_t dev;
	ino_t ino;
	char path[1024];
};

/*
 * Open (create, mode 0644, no symlinks) and lock path. When another
 * process holds the lock, fails with "already running as pid N". path ""
 * or NULL: no pid file (pf->fd = -1, returns 0). Returns 0 or -1.
 */
int rg_pidfile_lock(struct rg_pidfile *pf, const char *path, char *err, size_t errlen);
/* Write getpid() into the locked file (call after rg_daemonize). */
int rg_pidfile_write(struct rg_pidfile *pf, char *err, size_t errlen);
/*
 * At exit: remove the file if the path is still ours; if the directory
 * does not let us (root's directory, we run as run_user), empty it, so no
 * stale pid is left behind. Then drop the lock.
 */
void rg_pidfile_release(struct rg_pidfile *pf);

/* A unix socket this process created, to be removed only while it is still
 * the one at path (same st_dev/st_ino). */
struct rg_sockfile {
	int set;
	dev_t dev;
	ino_t ino;
	char path[108];
};

/*
 * May a new socket be put at path? 0: nothing there, or a stale socket that
 * nobody accepts on (connect refused). -1 with err: a process serves it
 * (connect succeeded), it is not a socket, or it cannot be tested.
 */
int rg_unix_vacant(const char *path, char *err, size_t errlen);
/* The temporary name to bind before rg_sockfile_install: path + ".new". */
int rg_unix_tmpname(const char *path, char *buf, size_t len, char *err, size_t errlen);
/* rename(tmp, path) - atomically replacing a stale socket - and remember
 * the socket's identity in id. Returns 0 or -1. */
int rg_sockfile_install(const char *tmp, const char *path, struct rg_sockfile *id, char *err, size_t errlen);
/* Is id->path still the socket we installed (same st_dev/st_ino)? */
int rg_sockfile_ours(const struct rg_sockfile *id);
/* Unlink id->path if it is still our socket; clears id. */
void rg_sockfile_remove(struct rg_sockfile *id);
/* Move our socket from id->path to to (e.g. back to its temporary name:
 * clients by path are refused, the listener still works); clears id.
 * Returns 0, or -1 when the path is no longer ours or rename fails. */
int rg_sockfile_rename(struct rg_sockfile *id, const char *to);

/*
 * A listening unix socket at path (SOCK_STREAM, close-on-exec, mode), via
 * rg_unix_vacant, a bind of the temporary name and rg_sockfile_install.
 * Returns the fd or -1 with err.
 */
int rg_unix_listen(const char *path, int mode, int backlog, struct rg_sockfile *id, char *err, size_t errlen);

/*
 * Descriptors available: raises the soft RLIMIT_NOFILE to the hard limit
 * (as Postfix's master does) and returns the soft limit minus reserve
 * (at least 1). *limit, when not NULL, receives the soft limit.
 */
long rg_fd_budget(long reserve, long *limit);

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
