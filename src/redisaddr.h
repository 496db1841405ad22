/*
 * redisaddr - the redis_server setting: "unix:/path", "/path", "host:port",
 * "[v6addr]:port", "inet:host:port" or "host" (port 6379): the endpoint
 * grammar (endpoint.h) with Redis's default port, split the way the two
 * Redis clients want it. New code should use endpoint.h directly.
 * Pure, thread-safe; the result is in caller storage.
 */
#ifndef RG_REDISADDR_H
#define RG_REDISADDR_H

#include <stddef.h>

struct rg_redis_addr {
	char path[108]; /* unix socket, or "" */
	char host[256]; /* or "" */
	int port;
};

/* Returns 0, or -1 with a message in err. */
int rg_redis_addr_parse(const char *spec, struct rg_redis_addr *a, char *err, size_t errlen);

/*
 * For the clients: split a vetted redis_server into *host or *path (one
 * of them set, xstrdup'ed, caller frees) and *port. A value the check
 * would refuse falls back to 127.0.0.1:6379 with a warning.
 */
void rg_redis_addr_split(const char *spec, char **host, char **path, int *port);

#endif
