/*
 * rctl - see rctl.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint.h"
#include "rcap.h"
#include "rctl.h"
#include "rcore.h"
#include "rsentinel.h"
#include "util.h"

static int rctl_nitems, rctl_nfields;

static void __attribute__((noreturn)) rctl_redis_fail(struct rctl *c, const char *what, const char *why)
{
	char buf[300];

	fprintf(stderr, "relayguardctl: redis %s: %s: %s\n", *c->server ? c->server : c->g->redis_server,
		what, rg_sanitize(buf, sizeof(buf), why, strlen(why)));
	exit(RCTL_EXIT_REDIS);
}

/*
 * The daemons' own way (src/rcore, src/rsentinel): redis_server, or the
 * master the Sentinels of redis_sentinels name (confirmed with ROLE), then
 * AUTH and SELECT as a daemon's connection sends them.
 */
void
rctl_connect(struct rctl *c)
{
	struct rcore_conf cf;
	struct rcore_setup s;
	struct rg_endpoint m;
	struct timeval ct, t;
	char err[1024];
	int start = 0;

	rcore_conf_init(&cf, c->g, "relayguardctl cannot answer");
	rg_strlcpy(c->server, cf.server, sizeof(c->server));
	if (cf.nsentinels) {
		if (rsentinel_discover(&cf, &start, &m, err, sizeof(err)) != 0)
			rctl_redis_fail(c, "Sentinel", err);
		rcore_conf_set_master(&cf, &m);
	}
	rcore_addr_text(&cf.addr, c->server, sizeof(c->server));
	ct = (struct timeval){cf.connect_ms / 1000, (cf.connect_ms % 1000) * 1000};
	t = (struct timeval){cf.timeout_ms / 1000, (cf.timeout_ms % 1000) * 1000};
	c->rc = cf.addr.kind == RG_EP_UNIX ? redisConnectUnixWithTimeout(cf.addr.path, ct)
					   : redisConnectWithTimeout(cf.addr.host, cf.addr.port, ct);
	if (c->rc == NULL || c->rc->err)
		rctl_redis_fail(c, "connect", c->rc ? c->rc->errstr : "out of memory");
	rcap_install(c->rc); /* the daemons' reply size limits: SCAN batches stay far below them */
	redisSetTimeout(c->rc, t);
	rcore_setup_build(&cf, cf.nsentinels > 0, &s);
	for (int i = 0; i < s.n; i++) {
		redisReply *r = rcap_command_argv(c->rc, s.cmd[i].argc, s.cmd[i].argv, NULL);
		int bad = rcore_setup_check(&s, i, r, err, sizeof(err));

		if (r == NULL && c->rc->errstr[0])
			snprintf(err, sizeof(err), "%s", rcap_errstr(c->rc));
		if (r)
			freeReplyObject(r);
		if (bad)
			rctl_redis_fail(c, s.cmd[i].argv[0], err);
	}
}

redisReply *
rctl_cmd(struct rctl *c, int argc, const char **argv)
{
	redisReply *r = rcap_command_argv(c->rc, argc, argv, NULL);

	if (r == NULL)
		rctl_redis_fail(c, argv[0], c->rc->errstr[0] ? rcap_errstr(c->rc) : "no reply");
	if (r->type == REDIS_REPLY_ERROR) {
		char e[256];

		rg_sanitize(e, sizeof(e), r->str, r->len);
		freeReplyObject(r);
		rctl_redis_fail(c, argv[0], e);
	}
	return r;
}

long long
rctl_now_ms(struct rctl *c)
{
	redisReply *r = rctl_cmd(c, 1, (const char *[]){"TIME"});
	long long ms = 0;

	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
	freeReplyObject(r);
	return ms;
}

long
rctl_scan(struct rctl *c, const char *pattern, void (*fn)(struct rctl *c, const char *key, void *arg),
	  void *arg)
{
	char cursor[32] = "0";
	long n = 0;

	do {
		redisReply *r =
		    rctl_cmd(c, 6, (const char *[]){"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});

		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			rctl_redis_fail(c, "SCAN", "unexpected reply");
		}
		rg_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];

			if (k->type == REDIS_REPLY_STRING && strlen(k->str) == k->len) {
				n++;
				fn(c, k->str, arg);
			}
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n;
}

char *
rctl_glob_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (strchr("*?[]\\", *s))
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o] = 0;
	return buf;
}

long long
rctl_parse_secs(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	static const struct {
		const char *u;
		long long mul;
	} units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};

	if (end == s || n <= 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].u) == 0)
			return n * units[i].mul;
	return -1;
}

static void
json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

void
rctl_begin(struct rctl *c)
{
	rctl_nitems = 0;
	if (c->json)
		printf("[");
}

void
rctl_item(struct rctl *c)
{
	rctl_nfields = 0;
	if (c->json)
		printf("%s{", rctl_nitems ? ",\n " : "\n ");
	rctl_nitems++;
}

static void
field_name(struct rctl *c, const char *name)
{
	if (c->json) {
		printf("%s", rctl_nfields ? ", " : "");
		json_string(name);
		printf(": ");
	} else {
		printf("%s%s=", rctl_nfields ? " " : "", name);
	}
	rctl_nfields++;
}

void
rctl_str(struct rctl *c, const char *name, const char *value)
{
	char buf[1024];

	field_name(c, name);
	if (c->json) {
		json_string(value);
		return;
	}
	rg_sanitize(buf, sizeof(buf), value, strlen(value));
	/* One token per field, as in the daemons' log lines. */
	if (*buf == 0 || strpbrk(buf, " \"\\")) {
		putchar('"');
		for (const char *p = buf; *p; p++)
			printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		putchar('"');
	} else {
		fputs(buf, stdout);
	}
}

void
rctl_int(struct rctl *c, const char *name, long long value)
{
	field_name(c, name);
	printf("%lld", value);
}

void
rctl_time(struct rctl *c, const char *name, long long secs)
{
	char buf[40];
	time_t t = (time_t)secs;
	struct tm tm;

	if (secs <= 0) {
		field_name(c, name);
		printf(c->json ? "null" : "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rctl_str(c, name, buf);
}

void
rctl_end_item(struct rctl *c)
{
	printf(c->json ? "}" : "\n");
}

void
rctl_end(struct rctl *c)
{
	if (c->json)
		printf("%s]\n", rctl_nitems ? "\n" : "");
	fflush(stdout);
}

void
rctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "relayguardctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(RCTL_EXIT_USAGE);
}
