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
 * SIGHUP/SIGUSR1 reload the configuration and tables; SIGTERM/SIGINT stop.
 */
#include <errno.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "confcheck.h"
#include "config.h"
#include "daemon.h"
#include "msg.h"
#include "session.h"
#include "util.h"
#include "verify.h"
#include "mmetrics.h"

#define DEF_CONFIG "/etc/relayguard/relayguard.conf"

static volatile sig_atomic_t got_hup, got_term;
static int sig_pipe[2];
static struct verify *verify; /* the recipient callout's shared state */

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-milter [-fntv] [-c config] [-u user]\n"
			"       relayguard-milter -n|-d [-c config] [name ...]\n"
			"  -c FILE  configuration (default " DEF_CONFIG ")\n"
			"  -t       check the configuration and what the daemons need, and exit\n"
			"  -n       print the settings the file changes (like postconf -n);\n"
			"           with names, those parameters' values in force\n"
			"  -d       print the built-in defaults (of the named parameters)\n"
			"  -f       stay in the foreground, log to stderr\n"
			"  -u USER  run as USER after binding the socket\n"
			"  -v       verbose logging\n");
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
	char err[512], conn[1100], pidfile[1024];

	msg_init("relayguard-milter", 1, "mail");
	while ((ch = getopt(argc, argv, "c:dfntu:v")) != -1) {
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

		rg_config_unref(cfg);
		return rc;
	}
	g = &cfg->global;
	if (user == NULL)
		user = g->run_user;
	msg_init("relayguard-milter", fg, g->syslog_facility);
	signal(SIGPIPE, SIG_IGN);

	/* Bind as root, then drop: smfi_opensocket does the bind. */
	if (rg_confcheck_rundirs(g, RG_DAEMON_MILTER, user, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	/* Any address form; libmilter gets its own spelling of it. */
	if (rg_endpoint_milter_conn(g->milter_listen_ep, conn, sizeof(conn)) != 0)
		msg_fatal("milter_listen %s: too long", g->milter_listen);
	if (smfi_setconn(conn) == MI_FAILURE || smfi_register(*session_filter()) == MI_FAILURE)
		msg_fatal("cannot register the filter on %s", conn);
	smfi_settimeout(600);
	{
		mode_t old = umask(0777 & ~(mode_t)g->milter_socket_mode);
		int orc = smfi_opensocket(1);

		umask(old);
		if (orc == MI_FAILURE)
			msg_fatal("cannot open milter socket %s", conn);
		if (strncmp(conn, "unix:", 5) == 0 || strncmp(conn, "local:", 6) == 0) {
			const char *sock = strchr(conn, ':') + 1;
			struct passwd *pw = user && *user ? getpwnam(user) : NULL;

			(void)chmod(sock, (mode_t)g->milter_socket_mode);
			/* Owned by the daemon's user: Postfix gets in through the group. */
			if (pw && geteuid() == 0 && chown(sock, pw->pw_uid, pw->pw_gid) < 0)
				msg_fatal("chown %s: %m", sock);
		}
	}
	if (!fg && rg_daemonize(err, sizeof(err)) != 0)
		msg_fatal("detach: %s", err);
	if (rg_pidfile_write(g->milter_pidfile, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	if (rg_drop_privileges(user, 0, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	rg_strlcpy(pidfile, g->milter_pidfile, sizeof(pidfile));
	/* Threads only now: rg_daemonize forks, and a fork keeps none but the caller. */
	if (g->milter_metrics_listen_ep)
		mmetrics_init("unknown");
	verify = verify_new(g);
	if (g->milter_metrics_listen_ep &&
	    mmetrics_start(g->milter_metrics_listen_ep, g, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	session_set_verify(verify);
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
	msg_info("starting: listening on %s", conn);
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
	msg_info("stopping");
	smfi_stop();
	pthread_join(tid, NULL);
	/*
	 * verify is not freed: smfi_main does not wait for the threads of
	 * sessions still open, and one of them may be inside a callout. The
	 * process ends now anyway; nothing in it needs an orderly goodbye.
	 */
	rg_pidfile_remove(pidfile);
	session_set_config(NULL);
	return mrc == MI_SUCCESS ? 0 : 1;
}
