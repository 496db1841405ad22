/*
 * endpoint - the one address grammar of relayguard: every parameter that
 * names a socket (policyd_listen, milter_listen, the metrics listeners,
 * redis_server, spamd_server, nexthop, dns_server, and lists such as
 * Sentinels or redundant scanners) is read by rg_endpoint_parse, both by
 * the configuration check (-t) and by the daemons at run time.
 *
 * Grammar (one word, no white space):
 *   unix:/abs/path  local:/abs/path  /abs/path     a UNIX-domain socket
 *   inet:host:port  host:port                     TCP; host a name or IPv4
 *   inet:[v6addr]:port  [v6addr]:port  [host]     brackets around IPv6
 *   inet6:host:port                               TCP over IPv6 only
 *   inet:port@host  inet6:port@host  inet:port    libmilter's smfi_setconn form
 *   *:port  :port  inet:*:port                    every address (listeners only)
 * A missing port takes the caller's default, or is an error when there is
 * none. "[ipv6:addr]" (Postfix's spelling) is accepted; an IPv6 address
 * without brackets is an error (its last ':' would be read as the port).
 * A bracketed host records "bracketed" (for nexthop: no MX lookup).
 *
 * Contract: pure functions on caller storage; no hidden state; thread-safe
 * (rg_endpoint_getaddrinfo calls getaddrinfo, which is). Trust boundary:
 * the text is admin input; every byte of it echoed in err is sanitised.
 */
#ifndef RG_ENDPOINT_H
#define RG_ENDPOINT_H

#include <stddef.h>

struct addrinfo;

/* Parse flags. */
#define RG_EP_LISTEN 0x01 /* host "*" or empty means every address */
#define RG_EP_NOUNIX 0x02 /* refuse UNIX-domain forms (nexthop, dns_server) */
#define RG_EP_NUMERIC 0x04 /* host must be an IP address (dns_server) */

#define RG_EP_PATH_MAX 108 /* sizeof(sun_path) */
#define RG_EP_HOST_MAX 255

enum rg_ep_kind { RG_EP_INET = 1, RG_EP_UNIX = 2 };

struct rg_endpoint {
	enum rg_ep_kind kind;
	int family; /* AF_UNSPEC, or AF_INET/AF_INET6 (a literal, or "inet6:") */
	int port; /* RG_EP_INET: 1..65535 */
	int bracketed; /* the host was written in [] */
	int literal; /* the host is an IP address */
	char host[RG_EP_HOST_MAX + 1]; /* no brackets, no trailing dot; "" = every address */
	char path[RG_EP_PATH_MAX]; /* RG_EP_UNIX: absolute path */
};

/*
 * Parse one address. defport (1..65535) is used when the text has no port;
 * 0 makes the port mandatory. Returns 0, or -1 with a message in err (the
 * text shown, sanitised) and *ep zeroed.
 */
int rg_endpoint_parse(const char *s, unsigned flags, int defport, struct rg_endpoint *ep, char *err,
		      size_t errlen);

/*
 * Parse a list: words separated by commas and/or white space, each as
 * rg_endpoint_parse. Fills at most max entries of out. Returns the count
 * (0 for an empty list), or -1 with err (more than max, or a bad word).
 */
int rg_endpoint_parse_list(const char *s, unsigned flags, int defport, struct rg_endpoint *out, int max,
			   char *err, size_t errlen);

/* Canonical text: "unix:/path", "inet:host:port", "inet:[v6]:port", "inet:*:port". Returns buf. */
const char *rg_endpoint_str(const struct rg_endpoint *ep, char *buf, size_t len);

/* "host:port" or "[v6]:port" (for evdns and log lines); "unix:/path" for a socket. Returns buf. */
const char *rg_endpoint_hostport(const struct rg_endpoint *ep, char *buf, size_t len);

/*
 * The libmilter smfi_setconn spelling of ep: "unix:/path", "inet:port@host",
 * "inet6:port@host", "inet:port" (every IPv4 address). Returns 0, or -1
 * when it does not fit in len.
 */
int rg_endpoint_milter_conn(const struct rg_endpoint *ep, char *buf, size_t len);

/*
 * getaddrinfo for an RG_EP_INET endpoint, SOCK_STREAM, numeric port;
 * passive != 0 for a listener (an empty host is then every address).
 * Returns 0 with *res (caller frees with freeaddrinfo), or -1 with err.
 */
int rg_endpoint_getaddrinfo(const struct rg_endpoint *ep, int passive, struct addrinfo **res, char *err,
			    size_t errlen);

/* A DNS host name of n bytes: labels of letters, digits, '_' and inner '-'; one trailing dot allowed. */
int rg_endpoint_hostname_ok(const char *s, size_t n);

#endif
