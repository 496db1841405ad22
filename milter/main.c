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

#include "confcheck.h"
#include "config.h"
#include "daemon.h"
#include "failpolicy.h"
#include "main_drain.h"
#include "msg.h"
#include "session.h"
#include "util.h"
#include "ratelimit_commit.h"
#include "version.h"
#include "callout_verify.h"
#include "metrics_milter.h"

#define DEF_CONFIG "/etc/relayguard/relayguard.conf"

static volatile sig_atomic_t got_hup, got_term;
static atomic_int milter_done; /* smfi_main returned */
static int sig_pipe[2];
static struct verify *verify; /* the recipient callout's shared state */

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-milter [-fntvV] [-c config] [-u user]\n"
			"       relayguard-milter -n|-d [-c config] [name ...]\n"
			"  -c FILE  configuration (default " DEF_CONFIG ")\n"
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
	const char *path = DEF_CONFIG, *user = NULL;
	int ch, check = 0, print = 0, defaults = 0, fg = 0, mrc = 0;
	struct rg_diag diag = {0};
	struct rg_config *cfg;
	const struct rg_params *g;
	struct sigaction sa;
	pthread_t tid;
	struct rg_pidfile pidfile;
	struct rg_sockfile sockid = {0};
	struct mdrain_fds fds;
	const char *sockpath = NULL;
	char err[512], conn[1100], bindconn[1100], spath[108], tmp[108];
	long long drain_ms, t0;
	int lfd;

	msg_init("relayguard-milter", 1, "mail");
	while ((ch = getopt(argc, argv, "c:dfntu:vV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			defaults = 1;
			break;
		case 'f':
			fg = 1;
			break;
		case 'n':
			print = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'V':
			printf("relayguard-milter %s\n", RG_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc && !print && !defaults)
		usage();
	if (defaults)
		return rg_confcheck_cli("relayguard-milter", NULL, 0, 0, 1, NULL, argv + optind,
					argc - optind);
	if ((cfg = rg_config_load(path, &diag)) == NULL) {
		for (int i = 0; i < diag.count; i++)
			fprintf(stderr, "%srelayguard-milter: error: %s\n", msg_stderr_prio(3), diag.msgs[i]);
		rg_diag_free(&diag);
		return 1;
	}
	rg_diag_free(&diag);
	if (check || print) {
		int rc = rg_confcheck_cli("relayguard-milter", cfg, check, print, 0, user, argv + optind,
					  argc - optind);

		if (check && rc == 0)
			(void)rg_failpolicy_warn(cfg, "relayguard-milter", stderr);
		rg_config_unref(cfg);
		return rc;
	}
	g = &cfg->global;
	if (user == NULL)
		user = g->run_user;
	msg_init("relayguard-milter", fg, g->syslog_facility);
	signal(SIGPIPE, SIG_IGN);
	drain_ms = g->drain_timeout;

	/* Bind as root, then drop: smfi_opensocket does the bind. */
	if (rg_confcheck_rundirs(g, RG_DAEMON_MILTER, user, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	/* Before binding: a second instance stops here, its socket untouched
	 * (said on stderr too: whoever started it is looking there). */
	if (rg_pidfile_lock(&pidfile, g->milter_pidfile, err, sizeof(err)) != 0) {
		if (!fg)
			fprintf(stderr, "%srelayguard-milter: fatal: %s\n", msg_stderr_prio(2), err);
		msg_fatal("%s", err);
	}
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
			struct passwd *pw = user && *user ? getpwnam(user) : NULL;

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
	if (!fg && rg_daemonize(err, sizeof(err)) != 0)
		msg_fatal("detach: %s", err);
	if (rg_pidfile_write(&pidfile, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	if (rg_drop_privileges(user, 0, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
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
			reload(path);
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
	if (sockpath && rg_sockfile_rename(&sockid, tmp) != 0)
		sockpath = NULL; /* not ours any more: wake by lfd's address */
	while (mdrain_open() > 0 && rg_mono_ms() - t0 < drain_ms)
		usleep(20000);
	if (mdrain_open() > 0)
		msg_warn("stop: %d session(s) still open after drain_timeout; Postfix applies "
			 "milter_default_action to them",
			 mdrain_open());
	(void)mdrain_stop(lfd, sockpath ? tmp : NULL, &milter_done, 6000);
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
