/*
 * redisaddr - see redisaddr.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "redisaddr.h"
#include "util.h"

static int
redisaddr_port(const char *s, int *port, char *err, size_t errlen)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end != 0 || v < 1 || v > 65535) {
		snprintf(err, errlen, "bad port \"%.20s\"", s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

int
rg_redis_addr_parse(const char *spec, struct rg_redis_addr *a, char *err, size_t errlen)
{
	const char *colon, *e;
	size_t n;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(spec, "unix:", 5) == 0)
		spec += 5;
	if (*spec == '/') {
		if (strlen(spec) >= sizeof(a->path)) {
			snprintf(err, errlen, "socket path too long");
			return -1;
		}
		rg_strlcpy(a->path, spec, sizeof(a->path));
		return 0;
	}
	if (*spec == '[') {
		if ((e = strchr(spec, ']')) == NULL || (n = (size_t)(e - spec - 1)) == 0 ||
		    n >= sizeof(a->host) || (e[1] != 0 && e[1] != ':')) {
			snprintf(err, errlen, "expected [address]:port");
			return -1;
		}
		memcpy(a->host, spec + 1, n);
		a->host[n] = 0;
		return e[1] == ':' ? redisaddr_port(e + 2, &a->port, err, errlen) : 0;
	}
	colon = strrchr(spec, ':');
	if (colon && strchr(spec, ':') != colon) {
		snprintf(err, errlen, "an IPv6 address needs brackets: [address]:port");
		return -1;
	}
	n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 0 || n >= sizeof(a->host)) {
		snprintf(err, errlen, "expected unix:/path, host:port or [address]:port");
		return -1;
	}
	memcpy(a->host, spec, n);
	a->host[n] = 0;
	return colon ? redisaddr_port(colon + 1, &a->port, err, errlen) : 0;
}

void
rg_redis_addr_split(const char *spec, char **host, char **path, int *port)
{
	struct rg_redis_addr a;
	char err[128];

	if (rg_redis_addr_parse(spec, &a, err, sizeof(err)) != 0) {
		msg_warn("redis_server \"%s\": %s; using 127.0.0.1:6379", spec, err);
		rg_redis_addr_parse("127.0.0.1:6379", &a, err, sizeof(err));
	}
	*host = *a.path ? NULL : xstrdup(a.host);
	*path = *a.path ? xstrdup(a.path) : NULL;
	*port = a.port;
}
