/*
 * redisaddr - see redisaddr.h. A thin layer over the endpoint grammar
 * (endpoint.h): no parsing of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "msg.h"
#include "redisaddr.h"
#include "util.h"

int
rg_redis_addr_parse(const char *spec, struct rg_redis_addr *a, char *err, size_t errlen)
{
	struct rg_endpoint ep;

	memset(a, 0, sizeof(*a));
	if (rg_endpoint_parse(spec, 0, 6379, &ep, err, errlen) < 0)
		return -1;
	if (ep.kind == RG_EP_UNIX)
		rg_strlcpy(a->path, ep.path, sizeof(a->path));
	else {
		rg_strlcpy(a->host, ep.host, sizeof(a->host));
		a->port = ep.port;
	}
	return 0;
}

void
rg_redis_addr_split(const char *spec, char **host, char **path, int *port)
{
	struct rg_redis_addr a;
	char err[256];

	if (rg_redis_addr_parse(spec, &a, err, sizeof(err)) != 0) {
		msg_warn("redis_server %s; using 127.0.0.1:6379", err);
		rg_redis_addr_parse("127.0.0.1:6379", &a, err, sizeof(err));
	}
	*host = *a.path ? NULL : xstrdup(a.host);
	*path = *a.path ? xstrdup(a.path) : NULL;
	*port = a.port;
}
