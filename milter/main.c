/*
 * relayguard-milter - Postfix milter for the relay service: the recipient
 * callout (unknown recipients refused at RCPT, answers cached in Redis)
 * and SpamAssassin scanning with X-Spam-* tagging and high-spam
 * rejection, per customer class.
 *
 * main() wires things together. Signals: libmilter's own signal thread
 * sigwaits for SIGHUP/SIGTERM/SIGINT and stops the filter on any of them,
 * which would make SIGHUP a stop, not a reload. So the main thread keeps
 * them unblocked with handlers and runs smfi_main() in a second thread, in
 * which libmilter blocks them for all of its threads. Linux delivers a
 * process-directed signal to the main thread when it does not block it -
 * unless that thread already has a signal pending, when another thread may
 * get it: a second SIGHUP sent within the same instant could stop the
 * milter. SIGUSR1, which libmilter ignores, reloads as well and is the
 * race-free choice for scripts (OpenDKIM uses it the same way).
 * SIGHUP/SIGUSR1 reload the configuration and tables; SIGTERM/SIGINT stop:
 * the unix socket leaves its path at once, the sessions open are given up
 * to drain_timeout to finish, then the listener stops (mdrain.h) and the
 * process exits.
 * A unix socket is bound under a temporary name and renamed into place
 * (daemon.h): a live one is never replaced, and libmilter, which at exit
 * removes whatever socket is at the path it bound, removes only the
 * temporary name.
 */
#include <errno.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "config.h"
#include "daemon_cli.h"
#include "main_drain.h"
#include "msg.h"
#include "session.h"
#include "util.h"
#include "ratelimit_commit.h"
#include "version.h"
#include "callout_verify.h"
#include "metrics_milter.h"

static volatile sig_atomic_t got_hup, got_term;
static atomic_int milter_done; /* smfi_main returned */
static int sig_pipe[2];
static struct verify *verify; /* the recipient callout's shared state */

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-milter [-fntvV] [-c config] [-u user]\n"
			"       relayguard-milter -n|-d [-c config] [name ...]\n"
			"  -c FILE  configuration (default " RG_DEF_CONFIG ")\n"
			"  -t       check the configuration and what the daemons need, and exit\n"
			"  -n       print the settings the file changes (like postconf -n);\n"
			"           with names, those parameters' values in force\n"
			"  -d       print the built-in defaults (of the named parameters)\n"
			"  -f       stay in the foreground, log to stderr\n"
			"  -u USER  run as USER after binding the socket\n"
			"  -v       verbose logging\n"
			"  -V       print the version and exit\n");
	exit(2);
}

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP || sig == SIGUSR1)
		got_hup = 1;
	else
		got_term = 1;
	(void)write(sig_pipe[1], "x", 1);
	errno = saved;
}

static void *
milter_thread(void *arg)
{
	int *rc = arg;

	*rc = smfi_main();
	atomic_store(&milter_done, 1);
	got_term = 1;
	(void)write(sig_pipe[1], "x", 1);
	return NULL;
}

static void
reload(const char *path)
{
	struct rg_diag diag = {0};
	struct rg_config *cfg = rg_config_load(path, &diag);

	rgm_reloaded(cfg != NULL);
	if (cfg == NULL) {
		for (int i = 0; i < diag.count; i++)
			msg_error("%s", diag.msgs[i]);
		msg_warn("reload failed: keeping the previous configuration");
	} else {
		verify_reload(verify, &cfg->global);
		mlimit_reload(&cfg->global);
		session_set_config(cfg);
		msg_info("reload: configuration %s loaded", path);
	}
	rg_diag_free(&diag);
}

int
main(int argc, char **argv)
{
	struct rg_cli o;
	int rc, mrc = 0;
	struct rg_config *cfg;
	const struct rg_params *g;
	struct sigaction sa;
	pthread_t tid;
	struct rg_pidfile pidfile;
	struct rg_sockfile sockid = {0};
	struct mdrain_fds fds;
	const char *sockpath = NULL, *wake = NULL;
	char err[512], conn[1100], bindconn[1100], spath[108], tmp[108];
	long long drain_ms, t0;
	int lfd;

	rg_cli_parse(&o, "relayguard-milter", 0, argc, argv, usage);
	if ((rc = rg_cli_load(&o, &cfg)) >= 0)
		return rc;
	if (o.check || o.print) {
		rc = rg_cli_check(&o, cfg);
		rg_config_unref(cfg);
		return rc;
	}
	g = &cfg->global;
	drain_ms = g->drain_timeout;

	/* Bind as root, then drop: smfi_opensocket does the bind. */
	rg_cli_begin(&o, g, RG_DAEMON_MILTER, g->milter_pidfile, &pidfile);
	/* Any address form; libmilter gets its own spelling of it. */
	if (rg_endpoint_milter_conn(g->milter_listen_ep, conn, sizeof(conn)) != 0)
		msg_fatal("milter_listen %s: too long", g->milter_listen);
	rg_strlcpy(bindconn, conn, sizeof(bindconn));
	if (g->milter_listen_ep->kind == RG_EP_UNIX) {
		rg_strlcpy(spath, g->milter_listen_ep->path, sizeof(spath));
		sockpath = spath;
		if (rg_unix_vacant(spath, err, sizeof(err)) != 0 ||
		    rg_unix_tmpname(spath, tmp, sizeof(tmp), err, sizeof(err)) != 0)
			msg_fatal("%s", err);
		snprintf(bindconn, sizeof(bindconn), "unix:%s", tmp);
	}
	if (smfi_setconn(bindconn) == MI_FAILURE ||
	    smfi_register(*mdrain_filter(session_filter())) == MI_FAILURE)
		msg_fatal("cannot register the filter on %s", conn);
	smfi_settimeout(600);
	mdrain_fds_before(&fds);
	{
		mode_t old = umask(0777 & ~(mode_t)g->milter_socket_mode);
		int orc = smfi_opensocket(1); /* 1: removes a stale temporary name */

		umask(old);
		if (orc == MI_FAILURE)
			msg_fatal("cannot open milter socket %s", conn);
		if (sockpath) {
			struct passwd *pw = o.user && *o.user ? getpwnam(o.user) : NULL;

			(void)chmod(tmp, (mode_t)g->milter_socket_mode);
			/* Owned by the daemon's user: Postfix gets in through the group. */
			if (pw && geteuid() == 0 && chown(tmp, pw->pw_uid, pw->pw_gid) < 0)
				msg_fatal("chown %s: %m", tmp);
			if (rg_sockfile_install(tmp, spath, &sockid, err, sizeof(err)) != 0)
				msg_fatal("%s", err);
		}
	}
	lfd = mdrain_listener(&fds);
	mdrain_nodelay(lfd);
	rg_cli_detach(&o, &pidfile);
	/* Threads only now: rg_daemonize forks, and a fork keeps none but the caller. */
	if (g->milter_metrics_listen_ep)
		mmetrics_init(RG_VERSION);
	verify = verify_new(g);
	if (g->milter_metrics_listen_ep &&
	    mmetrics_start(g->milter_metrics_listen_ep, verify_redis(verify), err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	session_set_verify(verify);
	mlimit_start(g);
	session_set_config(cfg); /* from here on, g may go with a reload */

	if (pipe(sig_pipe) != 0)
		msg_fatal("pipe: %m");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((errno = pthread_create(&tid, NULL, milter_thread, &mrc)) != 0)
		msg_fatal("pthread_create: %m");
	msg_info("starting: version %s, listening on %s", RG_VERSION, conn);
	while (!got_term) {
		char b[16];
		ssize_t n = read(sig_pipe[0], b, sizeof(b));

		if (n < 0 && errno != EINTR)
			break;
		if (got_hup) {
			got_hup = 0;
			reload(o.path);
		}
	}
	t0 = rg_mono_ms();
	msg_info("stopping: %d session(s) open, draining for up to %lld ms", mdrain_open(), drain_ms);
	/*
	 * Debian's libmilter runs sessions in a worker pool that smfi_stop
	 * abandons: so first let the sessions end, with the unix socket moved
	 * back to its temporary name (Postfix, connecting by path, gets its
	 * milter_default_action at once; libmilter removes that name when it
	 * stops), then stop the listener (mdrain.h).
	 */
	if (sockpath) {
		struct rg_sockfile held = sockid;

		if (rg_sockfile_rename(&sockid, tmp) == 0)
			wake = tmp;
		else if (rg_sockfile_ours(&held))
			wake = spath; /* a directory run_user cannot write: still ours at its path */
	}
	while (mdrain_open() > 0 && rg_mono_ms() - t0 < drain_ms)
		usleep(20000);
	if (mdrain_open() > 0)
		msg_warn("stop: %d session(s) still open after drain_timeout; Postfix applies "
			 "milter_default_action to them",
			 mdrain_open());
	(void)mdrain_stop(lfd, wake, &milter_done, 6000); /* wake NULL: by lfd's address */
	pthread_join(tid, NULL);
	/*
	 * verify is not freed: smfi_main does not wait for the threads of
	 * sessions still open, and one of them may be inside a callout. The
	 * process ends now anyway; nothing in it needs an orderly goodbye.
	 */
	rg_sockfile_remove(&sockid);
	msg_info("stopped after %lld ms", rg_mono_ms() - t0);
	rg_pidfile_release(&pidfile);
	session_set_config(NULL);
	return mrc == MI_SUCCESS ? 0 : 1;
}
