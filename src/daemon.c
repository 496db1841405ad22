/*
 * daemon - see daemon.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "util.h"

int
rg_daemonize(char *err, size_t errlen)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

int
rg_pidfile_lock(struct rg_pidfile *pf, const char *path, char *err, size_t errlen)
{
	struct stat st, now;

	pf->fd = -1;
	pf->path[0] = 0;
	if (path == NULL || *path == 0)
		return 0;
	if (strlen(path) >= sizeof(pf->path)) {
		snprintf(err, errlen, "%s: pid file path too long", path);
		return -1;
	}
	for (int tries = 0; tries < 10; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd < 0) {
			snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			char buf[32] = "";
			ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
			long pid = n > 0 ? strtol(buf, NULL, 10) : 0;

			if (e == EWOULDBLOCK || e == EAGAIN) {
				if (pid > 0)
					snprintf(err, errlen, "already running as pid %ld (%s is locked)",
						 pid, path);
				else
					snprintf(err, errlen, "already running (%s is locked)", path);
			} else
				snprintf(err, errlen, "lock %s: %s", path, strerror(e));
			close(fd);
			return -1;
		}
		/* A stopping instance may have removed the file between our open
		 * and our lock: the lock counts only on the file at path. */
		if (fstat(fd, &st) == 0 && stat(path, &now) == 0 && st.st_dev == now.st_dev &&
		    st.st_ino == now.st_ino) {
			pf->fd = fd;
			pf->dev = st.st_dev;
			pf->ino = st.st_ino;
			memcpy(pf->path, path, strlen(path) + 1);
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "pid file %s keeps changing", path);
	return -1;
}

int
rg_pidfile_write(struct rg_pidfile *pf, char *err, size_t errlen)
{
	char buf[32];
	int n;

	if (pf->fd < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: %s", pf->path, strerror(errno));
		return -1;
	}
	return 0;
}

void
rg_pidfile_release(struct rg_pidfile *pf)
{
	struct stat st;

	if (pf->fd < 0)
		return;
	if (stat(pf->path, &st) == 0 && st.st_dev == pf->dev && st.st_ino == pf->ino && unlink(pf->path) < 0)
		(void)ftruncate(pf->fd, 0); /* no stale pid for scripts to kill */
	close(pf->fd); /* drops the lock */
	pf->fd = -1;
}

int
rg_unix_vacant(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not replacing it", path);
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		/* EAGAIN: a full backlog is a live listener too */
		snprintf(err, errlen, "%s is in use: another process accepts connections on it", path);
		return -1;
	}
	if (e == ECONNREFUSED)
		return 0; /* stale: rg_sockfile_install replaces it */
	snprintf(err, errlen, "%s: cannot tell whether it is in use: %s", path, strerror(e));
	return -1;
}

int
rg_unix_tmpname(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	struct sockaddr_un sun;

	if (strlen(path) + 4 >= sizeof(sun.sun_path) || strlen(path) + 5 > len) {
		snprintf(err, errlen, "%s: socket path too long (at most %zu bytes)", path,
			 sizeof(sun.sun_path) - 5);
		return -1;
	}
	snprintf(buf, len, "%s.new", path);
	return 0;
}

int
rg_sockfile_install(const char *tmp, const char *path, struct rg_sockfile *id, char *err, size_t errlen)
{
	struct stat st;

	id->set = 0;
	if (strlen(path) >= sizeof(id->path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	if (rename(tmp, path) < 0 || stat(path, &st) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	id->set = 1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	memcpy(id->path, path, strlen(path) + 1);
	return 0;
}

int
rg_sockfile_ours(const struct rg_sockfile *id)
{
	struct stat st;

	return id->set && lstat(id->path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino;
}

void
rg_sockfile_remove(struct rg_sockfile *id)
{
	if (rg_sockfile_ours(id))
		(void)unlink(id->path);
	id->set = 0;
}

int
rg_sockfile_rename(struct rg_sockfile *id, const char *to)
{
	int rc = rg_sockfile_ours(id) ? rename(id->path, to) : -1;

	id->set = 0;
	return rc;
}

int
rg_unix_listen(const char *path, int mode, int backlog, struct rg_sockfile *id, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char tmp[sizeof(sun.sun_path)];
	mode_t old;
	int fd;

	if (rg_unix_vacant(path, err, errlen) != 0 ||
	    rg_unix_tmpname(path, tmp, sizeof(tmp), err, errlen) != 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(tmp); /* ours: left by a start that died half-way */
	/* No window in which the socket has wider permissions than asked. */
	old = umask(0777 & ~(mode_t)mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(tmp, (mode_t)mode) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		close(fd);
		return -1;
	}
	if (rg_sockfile_install(tmp, path, id, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

long
rg_fd_budget(long reserve, long *limit)
{
	struct rlimit rl;
	long n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	n = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 0x7fffffffL ? 0x7fffffffL : (long)rl.rlim_cur;
	if (limit)
		*limit = n;
	return n - reserve > 0 ? n - reserve : 1;
}

int
rg_drop_privileges(const char *user, int allow_root, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user == NULL || *user == 0) {
		if (geteuid() == 0 && !allow_root) {
			snprintf(err, errlen, "refusing to run as root: set run_user or -u USER");
			return -1;
		}
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user \"%s\"", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		snprintf(err, errlen, "cannot become %s: not running as root", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		snprintf(err, errlen, "privileges were not dropped: root can be regained");
		return -1;
	}
	return 0;
}

int
rg_rundir(const char *path, const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if (user && *user && geteuid() == 0 && (pw = getpwnam(user)) != NULL &&
	    chown(path, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
