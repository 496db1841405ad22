/*
 * redisaddr - the redis_server setting: "unix:/path", "/path", "host:port",
 * "[v6addr]:port" or "host" (port 6379). One parser for the configuration
 * check, the policyd's async client and the milter's pool.
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

#endif
