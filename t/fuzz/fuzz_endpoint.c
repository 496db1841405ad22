/*
 * fuzz_endpoint - the one address grammar (src/endpoint.c) that every
 * socket parameter goes through, at -t and at run time.
 *
 * Input: byte 0 picks the flags (RG_EP_LISTEN/NOUNIX/NUMERIC) and the
 * default port; the rest is the parameter's text.
 *
 * Properties:
 *   - parse either fills a sane endpoint (a kind, a port 1..65535 for TCP,
 *     an absolute path that fits, a host that fits and has no brackets) or
 *     fails with a printable message and a zeroed endpoint;
 *   - the canonical text (rg_endpoint_str) parses back, with the same
 *     flags, to the same endpoint, and formats to the same text;
 *   - the libmilter spelling (rg_endpoint_milter_conn) parses back to the
 *     same socket, as does "host:port" (rg_endpoint_hostport) for an IP
 *     address (what it is used for: evdns);
 *   - a list parses to at most max entries, each as a single word would.
 */
#include <string.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "fuzz.h"

static void
fe_sane(const struct rg_endpoint *ep, unsigned flags)
{
	if (ep->kind == RG_EP_UNIX) {
		FUZZ_ASSERT(!(flags & RG_EP_NOUNIX), "a unix socket with NOUNIX");
		FUZZ_ASSERT(ep->path[0] == '/' && strnlen(ep->path, sizeof(ep->path)) < sizeof(ep->path),
			    "path");
		return;
	}
	FUZZ_ASSERT(ep->kind == RG_EP_INET, "kind %d", (int)ep->kind);
	FUZZ_ASSERT(ep->port >= 1 && ep->port <= 65535, "port %d", ep->port);
	FUZZ_ASSERT(strnlen(ep->host, sizeof(ep->host)) < sizeof(ep->host), "host not terminated");
	FUZZ_ASSERT(strchr(ep->host, '[') == NULL && strchr(ep->host, ']') == NULL, "brackets in host %s",
		    ep->host);
	FUZZ_ASSERT(!fuzz_has_ctl(ep->host, strlen(ep->host)) && strchr(ep->host, ' ') == NULL, "host \"%s\"",
		    ep->host);
	FUZZ_ASSERT(ep->host[0] || (flags & RG_EP_LISTEN), "every address without LISTEN");
	FUZZ_ASSERT(!(flags & RG_EP_NUMERIC) || ep->literal || !ep->host[0], "a name with NUMERIC: %s",
		    ep->host);
	FUZZ_ASSERT(ep->family == AF_UNSPEC || ep->family == AF_INET || ep->family == AF_INET6, "family %d",
		    ep->family);
}

/* Same socket: kind, path or host, port, family where it was given. */
static int
fe_same(const struct rg_endpoint *a, const struct rg_endpoint *b, int brackets)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == RG_EP_UNIX)
		return strcmp(a->path, b->path) == 0;
	/* An IPv6 literal is always written in brackets, so its "bracketed" is a spelling. */
	return strcmp(a->host, b->host) == 0 && a->port == b->port && a->family == b->family &&
	       a->literal == b->literal &&
	       (!brackets || (a->bracketed || (a->literal && a->family == AF_INET6)) ==
				 (b->bracketed || (b->literal && b->family == AF_INET6)));
}

static void
fe_reparse(const char *text, unsigned flags, int defport, const struct rg_endpoint *ep, const char *how,
	   int brackets)
{
	struct rg_endpoint ep2;
	char err[256];

	FUZZ_ASSERT(rg_endpoint_parse(text, flags, defport, &ep2, err, sizeof(err)) == 0,
		    "%s \"%s\" does not parse: %s", how, text, err);
	fe_sane(&ep2, flags);
	FUZZ_ASSERT(fe_same(ep, &ep2, brackets), "%s \"%s\" parses to another socket (%s %d fam %d br %d)",
		    how, text, ep2.host, ep2.port, ep2.family, ep2.bracketed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ports[8] = {0, 25, 783, 6379, 10040, 8891, 65535, 1};
	struct rg_endpoint ep, list[4];
	char text[2100], err[256], c1[400], c2[400], mc[400], hp[400];
	unsigned flags;
	int defport, n;

	if (size < 1 || size > sizeof(text))
		return 0;
	flags = data[0] & 7;
	defport = ports[(data[0] >> 3) & 7];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;

	memset(&ep, 0x5a, sizeof(ep));
	err[0] = 0;
	if (rg_endpoint_parse(text, flags, defport, &ep, err, sizeof(err)) != 0) {
		static const struct rg_endpoint zero;

		FUZZ_ASSERT(err[0] && !fuzz_has_ctl(err, strlen(err)), "error \"%s\"", err);
		FUZZ_ASSERT(memcmp(&ep, &zero, sizeof(ep)) == 0, "endpoint not zeroed after an error");
	} else {
		fe_sane(&ep, flags);
		rg_endpoint_str(&ep, c1, sizeof(c1));
		fe_reparse(c1, flags, defport, &ep, "canonical", 1);
		{
			struct rg_endpoint ep2;

			rg_endpoint_parse(c1, flags, defport, &ep2, err, sizeof(err));
			rg_endpoint_str(&ep2, c2, sizeof(c2));
			FUZZ_ASSERT(strcmp(c1, c2) == 0, "canonical text not stable: %s / %s", c1, c2);
		}
		FUZZ_ASSERT(rg_endpoint_milter_conn(&ep, mc, sizeof(mc)) == 0,
			    "milter spelling does not fit");
		/* libmilter's "inet:port" means every IPv4 address: a listener form. */
		fe_reparse(mc, flags | (ep.host[0] ? 0 : RG_EP_LISTEN), defport, &ep, "milter spelling", 0);
		rg_endpoint_hostport(&ep, hp, sizeof(hp));
		/* "host:port" is for evdns (dns_server: an IP address); a name such as
		 * "inet" or "smtp" would read as an address type there. */
		if (ep.kind == RG_EP_INET && ep.literal)
			fe_reparse(hp, flags, defport, &ep, "host:port", 1);
	}
	n = rg_endpoint_parse_list(text, flags, defport, list, 4, err, sizeof(err));
	FUZZ_ASSERT(n >= -1 && n <= 4, "list of %d", n);
	for (int i = 0; i < n; i++)
		fe_sane(&list[i], flags);
	if (n < 0)
		FUZZ_ASSERT(!fuzz_has_ctl(err, strlen(err)), "list error \"%s\"", err);
	return 0;
}
