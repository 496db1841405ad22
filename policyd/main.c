/*
 * relayguard-policyd - Postfix SMTPD policy delegation server: greylisting,
 * dynamic-IP blocking, rate limits and size limits per customer class, with
 * state in Redis shared by every relay node.
 *
 * main() only wires things together: options, configuration, sockets,
 * privileges, signals, the event loop.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "confcheck.h"
#include "config.h"
#include "daemon.h"
#include "failpolicy.h"
#include "msg.h"
#include "pmetrics.h"
#include "policy.h"
#include "server.h"
#include "util.h"
#include "version.h"

#define DEF_CONFIG "/etc/relayguard/relayguard.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-policyd [-fntvV] [-c config] [-u user] [-q address|domain]\n"
			"       relayguard-policyd -n|-d [-c config] [name ...]\n"
			"  -c FILE  configuration (default " DEF_CONFIG ")\n"
			"  -t       check the configuration and what the daemons need, and exit\n"
			"  -n       print the settings the file changes (like postconf -n);\n"
			"           with names, those parameters' values in force\n"
			"  -d       print the built-in defaults (of the named parameters)\n"
			"  -q WHAT  show the class and settings a client address or domain resolves to\n"
			"  -f       stay in the foreground, log to stderr\n"
			"  -u USER  run as USER after binding sockets\n"
			"  -v       verbose logging\n"
			"  -V       print the version and exit\n");
	exit(2);
}

struct sigctx {
	struct event_base *base;
	struct policy *pol;
	struct psrv *srv;
	const char *path;
	struct event *drain; /* the drain_timeout timer */
	long long stop_ms;
};

static void
on_drained(void *arg)
{
	event_base_loopbreak(((struct sigctx *)arg)->base);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(((struct sigctx *)arg)->base);
}

/* SIGHUP and SIGUSR1 reload (the milter's reload signals too); SIGTERM and
 * SIGINT stop: no new connections, the decisions in flight are answered
 * within drain_timeout, then exit. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sigctx *sc = arg;
	const struct rg_params *g = policy_globals(sc->pol);
	struct timeval tv;

	(void)what;
	if (sig == SIGHUP || sig == SIGUSR1) {
		int ok = policy_reload(sc->pol, sc->path) == 0;

		rgm_reloaded(ok);
		if (ok)
			psrv_set_limits(sc->srv, policy_globals(sc->pol));
		return;
	}
	if (sc->stop_ms) {
		msg_info("signal %d: already stopping", (int)sig);
		return;
	}
	sc->stop_ms = rg_mono_ms();
	msg_info("terminating on signal %d: %d connection(s) open, draining for up to %lld ms", (int)sig,
		 psrv_nconn(sc->srv), g->drain_timeout);
	tv.tv_sec = g->drain_timeout / 1000;
	tv.tv_usec = (g->drain_timeout % 1000) * 1000;
	evtimer_add(sc->drain, &tv);
	psrv_drain(sc->srv, on_drained, sc);
}

/* -q: what a client address or a recipient domain resolves to. */
static int
query(const struct rg_config *cfg, const char *what)
{
	const struct rg_entry *e;
	const char *at = strrchr(what, '@');

	if ((e = rg_config_client(cfg, what)) != NULL)
		printf("%s: outbound client, entry %s (%s:%d), class %s\n", what, e->key, e->file, e->line,
		       e->class_name);
	else if ((e = rg_config_domain(cfg, at ? at + 1 : what)) != NULL)
		printf("%s: inbound domain, entry %s (%s:%d), class %s\n", what, e->key, e->file, e->line,
		       e->class_name);
	else {
		printf("%s: not in client_table or domain_table: DUNNO (Postfix's own restrictions decide)\n",
		       what);
		return 1;
	}
	rg_params_print(e->p, stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = DEF_CONFIG, *user = NULL, *q = NULL;
	int ch, check = 0, print = 0, defaults = 0, fg = 0;
	struct rg_diag diag = {0};
	struct rg_config *cfg;
	struct policy_snap *snap;
	const struct rg_params *g;
	struct event_base *base;
	struct psrv *srv;
	struct policy *pol;
	struct event *ev[4];
	struct sigctx sc = {0};
	struct rg_pidfile pidfile;
	struct pmetrics_srv *mon = NULL;
	char err[512];

	msg_init("relayguard-policyd", 1, "mail");
	while ((ch = getopt(argc, argv, "c:dfnq:tu:vV")) != -1) {
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
		case 'q':
			q = optarg;
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
			printf("relayguard-policyd %s\n", RG_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc && !print && !defaults)
		usage();
	if (defaults)
		return rg_confcheck_cli("relayguard-policyd", NULL, 0, 0, 1, NULL, argv + optind,
					argc - optind);

	cfg = rg_config_load(path, &diag);
	snap = cfg ? policy_snap_new(rg_config_ref(cfg), &diag) : NULL;
	if (snap == NULL) {
		for (int i = 0; i < diag.count; i++)
			fprintf(stderr, "%srelayguard-policyd: error: %s\n", msg_stderr_prio(3),
				diag.msgs[i]);
		rg_diag_free(&diag);
		if (cfg)
			rg_config_unref(cfg);
		return 1;
	}
	rg_diag_free(&diag);
	if (check || print || q) {
		int rc = rg_confcheck_cli("relayguard-policyd", cfg, check, print, 0, user, argv + optind,
					  argc - optind);

		if (check && rc == 0)
			(void)rg_failpolicy_warn(cfg, "relayguard-policyd", stderr);
		if (q && rc == 0)
			rc = query(cfg, q);
		policy_snap_unref(snap);
		rg_config_unref(cfg);
		return rc;
	}
	rg_config_unref(cfg); /* the snapshot holds its own reference */
	g = &cfg->global;
	if (user == NULL)
		user = g->run_user;

	msg_init("relayguard-policyd", fg, g->syslog_facility);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		msg_fatal("cannot create event loop");
	if (rg_confcheck_rundirs(g, RG_DAEMON_POLICYD, user, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	/* Before binding: a second instance stops here, its socket untouched
	 * (said on stderr too: whoever started it is looking there). */
	if (rg_pidfile_lock(&pidfile, g->policyd_pidfile, err, sizeof(err)) != 0) {
		if (!fg)
			fprintf(stderr, "%srelayguard-policyd: fatal: %s\n", msg_stderr_prio(2), err);
		msg_fatal("%s", err);
	}
	srv = psrv_new(base, policy_handle, NULL);
	psrv_set_limits(srv, g);
	for (int i = 0; i < g->policyd_listen_ep.n; i++)
		if (psrv_listen(srv, &g->policyd_listen_ep.v[i], (int)g->policyd_socket_mode, err,
				sizeof(err)) != 0)
			msg_fatal("%s", err);
	if (user && *user) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL)
			msg_fatal("unknown user \"%s\"", user);
		if (geteuid() == 0 && psrv_chown(srv, pw->pw_uid, pw->pw_gid, err, sizeof(err)) != 0)
			msg_fatal("%s", err);
	}
	if (!fg && (rg_daemonize(err, sizeof(err)) != 0 || event_reinit(base) != 0))
		msg_fatal("detach: %s", err);
	if (rg_pidfile_write(&pidfile, err, sizeof(err)) != 0)
		msg_fatal("%s", err);
	if (rg_drop_privileges(user, 0, err, sizeof(err)) != 0)
		msg_fatal("%s", err);

	if (g->policyd_metrics_listen_ep)
		pmetrics_init(RG_VERSION);
	pol = policy_new(base, snap);
	psrv_set_arg(srv, pol);
	if (g->policyd_metrics_listen_ep &&
	    (mon = pmetrics_start(base, g->policyd_metrics_listen_ep, policy_redis(pol), err, sizeof(err))) ==
		NULL)
		msg_fatal("%s", err);
	sc.base = base;
	sc.pol = pol;
	sc.srv = srv;
	sc.path = path;
	sc.drain = evtimer_new(base, on_drain_timeout, &sc);
	ev[0] = evsignal_new(base, SIGTERM, on_signal, &sc);
	ev[1] = evsignal_new(base, SIGINT, on_signal, &sc);
	ev[2] = evsignal_new(base, SIGHUP, on_signal, &sc);
	ev[3] = evsignal_new(base, SIGUSR1, on_signal, &sc);
	for (int i = 0; i < 4; i++)
		event_add(ev[i], NULL);
	msg_info("starting: version %s, %d listener(s), redis %s%s", RG_VERSION, g->policyd_listen.argc,
		 g->redis_sentinels.argc ? "through Sentinel, master " : "",
		 g->redis_sentinels.argc ? g->redis_sentinel_master : g->redis_server);

	event_base_dispatch(base);

	if (psrv_nconn(srv) > 0)
		msg_warn("stop: %d connection(s) still waiting after drain_timeout; answering with "
			 "policy_failure_action",
			 psrv_nconn(srv));
	psrv_close(srv);
	policy_free(pol); /* answers what is pending */
	psrv_flush(srv, 1000);
	pmetrics_free(mon);
	psrv_free(srv);
	msg_info("stopped after %lld ms", sc.stop_ms ? rg_mono_ms() - sc.stop_ms : 0LL);
	rg_pidfile_release(&pidfile);
	for (int i = 0; i < 4; i++)
		event_free(ev[i]);
	event_free(sc.drain);
	event_base_free(base);
	return 0;
}
