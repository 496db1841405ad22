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

#include "config.h"
#include "daemon_cli.h"
#include "msg.h"
#include "pmetrics.h"
#include "policy.h"
#include "server.h"
#include "util.h"
#include "version.h"

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-policyd [-fntvV] [-c config] [-u user] [-q address|domain]\n"
			"       relayguard-policyd -n|-d [-c config] [name ...]\n"
			"  -c FILE  configuration (default " RG_DEF_CONFIG ")\n"
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
	struct rg_cli o;
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
	int rc;

	rg_cli_parse(&o, "relayguard-policyd", 1, argc, argv, usage);
	if ((rc = rg_cli_load(&o, &cfg)) >= 0)
		return rc;
	if ((snap = policy_snap_new(rg_config_ref(cfg), &diag)) == NULL) {
		rg_cli_errors(&o, &diag);
		rg_config_unref(cfg);
		return 1;
	}
	rg_diag_free(&diag);
	if (o.check || o.print || o.query) {
		rc = rg_cli_check(&o, cfg);
		if (o.query && rc == 0)
			rc = query(cfg, o.query);
		policy_snap_unref(snap);
		rg_config_unref(cfg);
		return rc;
	}
	rg_config_unref(cfg); /* the snapshot holds its own reference */
	g = &cfg->global;

	rg_cli_begin(&o, g, RG_DAEMON_POLICYD, g->policyd_pidfile, &pidfile);
	if ((base = psrv_base_new()) == NULL)
		msg_fatal("cannot create event loop");
	srv = psrv_new(base, policy_handle, NULL);
	psrv_set_limits(srv, g);
	for (int i = 0; i < g->policyd_listen_ep.n; i++)
		if (psrv_listen(srv, &g->policyd_listen_ep.v[i], (int)g->policyd_socket_mode, err,
				sizeof(err)) != 0)
			msg_fatal("%s", err);
	if (o.user && *o.user) {
		struct passwd *pw = getpwnam(o.user);

		if (pw == NULL)
			msg_fatal("unknown user \"%s\"", o.user);
		if (geteuid() == 0 && psrv_chown(srv, pw->pw_uid, pw->pw_gid, err, sizeof(err)) != 0)
			msg_fatal("%s", err);
	}
	rg_cli_detach(&o, &pidfile);
	if (!o.fg && event_reinit(base) != 0) /* the epoll descriptor is the parent's */
		msg_fatal("detach: event_reinit failed");

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
	sc.path = o.path;
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
