/*
 * relayguard-import - greylisting history into relayguard's Redis data
 * (see gimport.h for the input; relayguard-import-postgrey(8) for the
 * postgrey front end that writes it). Only wiring: options, configuration,
 * the Redis connection, the input loop, the summary.
 *
 * Exit: 0 imported (every line good), 1 some lines were bad (the good ones
 * were imported), 2 usage or configuration error, 3 Redis unreachable or
 * failing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "gimport.h"
#include "rcap.h"
#include "version.h"

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-import [-c config] [-n] [-v] [file ...]\n");
	exit(2);
}

/*
 * With redis_sentinels: ask each Sentinel in turn for redis_sentinel_master's
 * address (the daemons confirm with ROLE; a one-shot import trusts the first
 * answer and fails with READONLY if it was stale). 0 with host/port, or -1.
 */
static int
sentinel_master(const struct rg_params *g, struct timeval tv, char *host, size_t hostlen, int *port)
{
	for (int i = 0; i < g->redis_sentinels_ep.n; i++) {
		const struct rg_endpoint *s = &g->redis_sentinels_ep.v[i];
		redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
		redisReply *r = NULL;
		int ok = 0;

		if (c && !c->err) {
			rcap_install(c); /* rcap.h: reply sizes bounded */
			redisSetTimeout(c, tv);
			if (*g->redis_sentinel_password)
				freeReplyObject(rcap_command(c, "AUTH %s", g->redis_sentinel_password));
			r = rcap_command(c, "SENTINEL get-master-addr-by-name %s", g->redis_sentinel_master);
			if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    r->element[1]->type == REDIS_REPLY_STRING) {
				snprintf(host, hostlen, "%s", r->element[0]->str);
				*port = atoi(r->element[1]->str);
				ok = *port > 0 && *port < 65536;
			}
		}
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (ok)
			return 0;
		fprintf(stderr, "relayguard-import: Sentinel %s:%d: no address for master \"%s\"\n", s->host,
			s->port, g->redis_sentinel_master);
	}
	return -1;
}

static redisContext *
connect_redis(const struct rg_params *g)
{
	const struct rg_endpoint *ep = g->redis_server_ep;
	struct timeval tv = {g->redis_connect_timeout / 1000, (g->redis_connect_timeout % 1000) * 1000};
	struct timeval rt = {g->redis_timeout / 1000, (g->redis_timeout % 1000) * 1000};
	redisContext *rc;
	redisReply *r;
	char host[256];
	int port;

	if (g->redis_sentinels_ep.n > 0) {
		if (sentinel_master(g, tv, host, sizeof(host), &port) < 0)
			exit(3);
		rc = redisConnectWithTimeout(host, port, tv);
	} else if (ep == NULL) {
		fprintf(stderr, "relayguard-import: redis_server is not set\n");
		exit(2);
	} else {
		snprintf(host, sizeof(host), "%s", ep->kind == RG_EP_UNIX ? ep->path : ep->host);
		rc = ep->kind == RG_EP_UNIX ? redisConnectUnixWithTimeout(ep->path, tv)
					    : redisConnectWithTimeout(ep->host, ep->port, tv);
	}
	if (rc == NULL || rc->err) {
		fprintf(stderr, "relayguard-import: redis %s: %s\n", host,
			rc ? rc->errstr : "cannot connect");
		exit(3);
	}
	/* A whole import is long; one command is not: the per-command timeout. */
	redisSetTimeout(rc, rt);
	rcap_install(rc); /* rcap.h: reply sizes bounded, as in the daemons */
	if (g->redis_password && *g->redis_password) {
		r = rcap_command(rc, "AUTH %s", g->redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "relayguard-import: redis AUTH failed\n");
			exit(3);
		}
		freeReplyObject(r);
	}
	if (g->redis_database) {
		r = rcap_command(rc, "SELECT %lld", g->redis_database);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "relayguard-import: redis SELECT %lld failed\n", g->redis_database);
			exit(3);
		}
		freeReplyObject(r);
	}
	return rc;
}

/* Returns 0, 1 (bad lines) or -1 (Redis failure, err set). */
static int
run(struct gimport *gi, FILE *fp, const char *where, char *err, size_t errlen)
{
	char line[4096];
	long lineno = 0;
	int rc = 0, r;

	while (fgets(line, sizeof(line), fp)) {
		size_t n = strlen(line);

		lineno++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			int c;

			while ((c = getc(fp)) != EOF && c != '\n')
				;
			fprintf(stderr, "relayguard-import: %s:%ld: line too long\n", where, lineno);
			gi->st.bad++;
			rc = 1;
			continue;
		}
		line[strcspn(line, "\r\n")] = 0;
		if ((r = gimport_line(gi, line, where, lineno, err, errlen)) < 0)
			return -1;
		if (r > 0)
			rc = 1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf = "/etc/relayguard/relayguard.conf";
	struct rg_diag diag = {0};
	struct rg_config *cfg;
	struct gimport gi;
	redisContext *rc = NULL;
	char err[512];
	int c, dry = 0, verbose = 0, status = 0, r;

	while ((c = getopt(argc, argv, "c:nvV")) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("relayguard-import %s\n", RG_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if ((cfg = rg_config_load(conf, &diag)) == NULL) {
		for (int i = 0; i < diag.count; i++)
			fprintf(stderr, "relayguard-import: %s\n", diag.msgs[i]);
		rg_diag_free(&diag);
		return 2;
	}
	rg_diag_free(&diag);
	if (!dry)
		rc = connect_redis(&cfg->global);
	if (gimport_init(&gi, cfg, rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "relayguard-import: %s\n", err);
		return 3;
	}
	gi.verbose = verbose;
	if (optind == argc) {
		r = run(&gi, stdin, "-", err, sizeof(err));
	} else {
		r = 0;
		for (int i = optind; i < argc && r >= 0; i++) {
			FILE *fp = fopen(argv[i], "r");

			if (fp == NULL) {
				perror(argv[i]);
				return 2;
			}
			int ri = run(&gi, fp, argv[i], err, sizeof(err));

			fclose(fp);
			if (ri != 0)
				r = ri;
		}
	}
	if (r < 0) {
		fprintf(stderr, "relayguard-import: %s (stopped; what was imported stays)\n", err);
		status = 3;
	} else if (r > 0) {
		status = 1;
	}
	printf("relayguard-import: %s%ld passed triplets, %ld pending, %ld auto-whitelisted networks; "
	       "left alone %ld (relayguard knows them); skipped %ld expired, %ld not greylisted by "
	       "relayguard, %ld too wide a network; %ld bad lines\n",
	       dry ? "(dry run) " : "", gi.st.passed, gi.st.pending, gi.st.awl, gi.st.known, gi.st.expired,
	       gi.st.foreign, gi.st.wide, gi.st.bad);
	if (rc)
		redisFree(rc);
	rg_config_unref(cfg);
	return status;
}
