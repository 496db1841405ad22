/*
 * endpoint - see endpoint.h. The parser works on bounded copies of one
 * word; it never resolves names (rg_endpoint_getaddrinfo does, on demand).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "util.h"

#define EP_TEXT_MAX 1024 /* longest word looked at */

#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))

int
rg_endpoint_hostname_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '_' || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* Decimal 1..65535 of exactly n bytes, else 0. */
static int
ep_port(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

static int
ep_fail(struct rg_endpoint *ep, char *err, size_t errlen, const char *s, const char *why)
{
	char shown[120];

	memset(ep, 0, sizeof(*ep));
	snprintf(err, errlen, "\"%s\": %s", SHOW(shown, s), why);
	return -1;
}

static int
ep_unix(const char *s, const char *path, unsigned flags, struct rg_endpoint *ep, char *err, size_t errlen)
{
	if (flags & RG_EP_NOUNIX)
		return ep_fail(ep, err, errlen, s,
			       "a UNIX-domain socket is not allowed here (use host:port)");
	if (path[0] != '/')
		return ep_fail(ep, err, errlen, s, "a socket path must be absolute (unix:/path)");
	if (strlen(path) >= sizeof(ep->path))
		return ep_fail(ep, err, errlen, s, "socket path longer than 107 bytes");
	ep->kind = RG_EP_UNIX;
	rg_strlcpy(ep->path, path, sizeof(ep->path));
	return 0;
}

/* Check and store the host h[0..hlen) of s; "" or "*" is every address. */
static int
ep_host(const char *s, const char *h, size_t hlen, unsigned flags, struct rg_endpoint *ep, char *err,
	size_t errlen)
{
	unsigned char bin[sizeof(struct in6_addr)];
	int v6only = ep->family == AF_INET6;

	if (hlen == 0 || (hlen == 1 && *h == '*')) {
		if (!(flags & RG_EP_LISTEN))
			return ep_fail(ep, err, errlen, s, "missing host");
		if (ep->bracketed)
			return ep_fail(ep, err, errlen, s, "empty brackets");
		ep->host[0] = 0;
		return 0;
	}
	if (hlen > RG_EP_HOST_MAX)
		return ep_fail(ep, err, errlen, s, "host name too long");
	memcpy(ep->host, h, hlen);
	ep->host[hlen] = 0;
	/* "192.0.2.1." is that address, as its canonical text "inet:192.0.2.1:N" says. */
	if (hlen > 1 && ep->host[hlen - 1] == '.') {
		ep->host[hlen - 1] = 0;
		if (inet_pton(AF_INET, ep->host, bin) != 1)
			ep->host[hlen - 1] = '.';
	}
	if (inet_pton(AF_INET, ep->host, bin) == 1) {
		if (v6only)
			return ep_fail(ep, err, errlen, s, "inet6: with an IPv4 address");
		ep->family = AF_INET;
		ep->literal = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, ep->host, bin) == 1) {
		ep->family = AF_INET6;
		ep->literal = 1;
		return 0;
	}
	if (flags & RG_EP_NUMERIC)
		return ep_fail(ep, err, errlen, s, "the host must be an IP address");
	if (!rg_endpoint_hostname_ok(ep->host, hlen))
		return ep_fail(ep, err, errlen, s, "bad host name");
	if (ep->host[hlen - 1] == '.')
		ep->host[hlen - 1] = 0;
	return 0;
}

/* The port text p (NULL: none written). */
static int
ep_setport(const char *s, const char *p, int defport, struct rg_endpoint *ep, char *err, size_t errlen)
{
	char why[80], shown[16];

	if (p == NULL) {
		if (defport <= 0)
			return ep_fail(ep, err, errlen, s, "missing port (host:port)");
		ep->port = defport;
		return 0;
	}
	if ((ep->port = ep_port(p, strlen(p))) == 0) {
		snprintf(why, sizeof(why), "bad port \"%s\" (1..65535)", SHOW(shown, p));
		return ep_fail(ep, err, errlen, s, why);
	}
	return 0;
}

int
rg_endpoint_parse(const char *s, unsigned flags, int defport, struct rg_endpoint *ep, char *err,
		  size_t errlen)
{
	const char *p, *h, *port = NULL, *at;
	size_t hlen, i;
	int prefixed = 0;

	memset(ep, 0, sizeof(*ep));
	if (s == NULL || *s == 0)
		return ep_fail(ep, err, errlen, "", "empty address");
	for (i = 0; s[i]; i++)
		if (i >= EP_TEXT_MAX || !isgraph((unsigned char)s[i]))
			return ep_fail(ep, err, errlen, s,
				       i >= EP_TEXT_MAX ? "address too long"
							: "white space or control character");
	if (strncmp(s, "unix:", 5) == 0)
		return ep_unix(s, s + 5, flags, ep, err, errlen);
	if (strncmp(s, "local:", 6) == 0)
		return ep_unix(s, s + 6, flags, ep, err, errlen);
	if (s[0] == '/')
		return ep_unix(s, s, flags, ep, err, errlen);
	ep->kind = RG_EP_INET;
	p = s;
	if (strncmp(s, "inet6:", 6) == 0) {
		ep->family = AF_INET6;
		p += 6, prefixed = 1;
	} else if (strncmp(s, "inet:", 5) == 0) {
		p += 5, prefixed = 1;
	}
	if (!prefixed) {
		/* "tcp:8891" would otherwise read as host "tcp", port 8891. */
		static const char *const schemes[] = {"tcp",  "udp",  "inet4", "ipv4",
						      "ipv6", "http", "https", "smtp"};
		size_t n = strcspn(s, ":");

		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (s[n] == ':' && strlen(schemes[i]) == n && strncasecmp(s, schemes[i], n) == 0)
				return ep_fail(ep, err, errlen, s,
					       "unknown address type (use inet:, inet6: or unix:)");
	} else if (strchr(p, '@') && strspn(p, "0123456789") != (size_t)(strchr(p, '@') - p)) {
		return ep_fail(ep, err, errlen, s, "bad port before '@' (inet:port@host, port 1..65535)");
	}
	/* libmilter: "inet:port", "inet:port@host", "inet6:port@[v6]". */
	if (prefixed && (hlen = strspn(p, "0123456789")) > 0 && (p[hlen] == 0 || p[hlen] == '@')) {
		char pbuf[8];

		if (hlen >= sizeof(pbuf))
			return ep_fail(ep, err, errlen, s, "bad port (1..65535)");
		memcpy(pbuf, p, hlen);
		pbuf[hlen] = 0;
		if (p[hlen] == '@' && p[hlen + 1] == 0)
			return ep_fail(ep, err, errlen, s, "missing host after '@'");
		at = p[hlen] == '@' ? p + hlen + 1 : p + hlen;
		h = at, hlen = strlen(at);
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
			h++, hlen -= 2, ep->bracketed = 1;
		if (ep_host(s, h, hlen, flags, ep, err, errlen) < 0)
			return -1;
		return ep_setport(s, pbuf, defport, ep, err, errlen);
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (close == NULL)
			return ep_fail(ep, err, errlen, s, "missing ']'");
		h = p + 1;
		if (strncasecmp(h, "ipv6:", 5) == 0)
			h += 5;
		hlen = (size_t)(close - h);
		ep->bracketed = 1;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != 0)
			return ep_fail(ep, err, errlen, s, "junk after ']' (expected [host]:port)");
	} else {
		const char *colon = strrchr(p, ':');

		if (colon && memchr(p, ':', (size_t)(colon - p)))
			return ep_fail(ep, err, errlen, s, "an IPv6 address needs brackets: [address]:port");
		h = p;
		hlen = colon ? (size_t)(colon - p) : strlen(p);
		port = colon ? colon + 1 : NULL;
	}
	if (ep_host(s, h, hlen, flags, ep, err, errlen) < 0)
		return -1;
	if (ep->family == AF_INET6 && ep->literal && !ep->bracketed)
		return ep_fail(ep, err, errlen, s, "an IPv6 address needs brackets: [address]:port");
	return ep_setport(s, port, defport, ep, err, errlen);
}

int
rg_endpoint_parse_list(const char *s, unsigned flags, int defport, struct rg_endpoint *out, int max,
		       char *err, size_t errlen)
{
	static const char sep[] = ", \t\r\n";
	char word[EP_TEXT_MAX + 1];
	int n = 0;

	if (s == NULL)
		return 0;
	for (s += strspn(s, sep); *s; s += strspn(s, sep)) {
		size_t len = strcspn(s, sep);

		if (n == max) {
			snprintf(err, errlen, "more than %d addresses", max);
			return -1;
		}
		if (len > EP_TEXT_MAX) {
			snprintf(err, errlen, "address too long");
			return -1;
		}
		memcpy(word, s, len);
		word[len] = 0;
		if (rg_endpoint_parse(word, flags, defport, &out[n], err, errlen) < 0)
			return -1;
		n++;
		s += len;
	}
	return n;
}

/* The host as written in a URL-like "host:port": brackets around IPv6 and bracketed names. */
static const char *
ep_fmt_host(const struct rg_endpoint *ep, char *buf, size_t len)
{
	if (ep->host[0] == 0)
		snprintf(buf, len, "*");
	else if (ep->bracketed || (ep->literal && ep->family == AF_INET6))
		snprintf(buf, len, "[%s]", ep->host);
	else
		snprintf(buf, len, "%s", ep->host);
	return buf;
}

const char *
rg_endpoint_hostport(const struct rg_endpoint *ep, char *buf, size_t len)
{
	char h[RG_EP_HOST_MAX + 3];

	if (ep->kind == RG_EP_UNIX)
		snprintf(buf, len, "unix:%s", ep->path);
	else
		snprintf(buf, len, "%s:%d", ep_fmt_host(ep, h, sizeof(h)), ep->port);
	return buf;
}

/* The same with the Postfix-style "inet:" / "inet6:" in front. */
const char *
rg_endpoint_str(const struct rg_endpoint *ep, char *buf, size_t len)
{
	char hp[RG_EP_HOST_MAX + 16];

	if (ep->kind == RG_EP_UNIX)
		return rg_endpoint_hostport(ep, buf, len);
	snprintf(buf, len, "%s:%s", ep->family == AF_INET6 && !ep->literal ? "inet6" : "inet",
		 rg_endpoint_hostport(ep, hp, sizeof(hp)));
	return buf;
}

int
rg_endpoint_milter_conn(const struct rg_endpoint *ep, char *buf, size_t len)
{
	int n;

	if (ep->kind == RG_EP_UNIX)
		n = snprintf(buf, len, "unix:%s", ep->path);
	else
		n = snprintf(buf, len, "%s:%d%s%s", ep->family == AF_INET6 ? "inet6" : "inet", ep->port,
			     ep->host[0] ? "@" : "", ep->host);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
rg_endpoint_getaddrinfo(const struct rg_endpoint *ep, int passive, struct addrinfo **res, char *err,
			size_t errlen)
{
	struct addrinfo hints;
	char port[8], shown[120];
	int rc;

	*res = NULL;
	if (ep->kind != RG_EP_INET) {
		snprintf(err, errlen, "not a TCP address");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ep->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (ep->literal ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%d", ep->port);
	if ((rc = getaddrinfo(ep->host[0] ? ep->host : NULL, port, &hints, res)) != 0) {
		snprintf(err, errlen, "%s: %s", rg_endpoint_hostport(ep, shown, sizeof(shown)),
			 rc == EAI_SYSTEM ? "system error" : gai_strerror(rc));
		*res = NULL;
		return -1;
	}
	return 0;
}
