/*
 * ratetx - see ratetx.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ratetx.h"
#include "util.h"

/* Copy an id part, or -1 if it is empty or has a byte outside allowed. */
static int
id_part(const char *s, const char *allowed)
{
	size_t len = strlen(s);

	return len > 0 && len <= 255 && strspn(s, allowed) == len ? 0 : -1;
}

int
ratetx_id(char *buf, size_t size, const char *node, const char *server_addr, const char *server_port,
	  const char *client_addr, const char *client_port)
{
	static const char hex[] = "0123456789abcdefABCDEF:.";
	static const char digits[] = "0123456789";
	static const char host[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
	struct rg_sb b;
	int n;

	if (strncasecmp(server_addr, "IPv6:", 5) == 0)
		server_addr += 5;
	if (strncasecmp(client_addr, "IPv6:", 5) == 0)
		client_addr += 5;
	if (id_part(node, host) || id_part(server_addr, hex) || id_part(server_port, digits) ||
	    id_part(client_addr, hex) || id_part(client_port, digits))
		return -1;
	rg_sb_init(&b, buf, size);
	rg_sb_str(&b, node);
	rg_sb_mem(&b, "|", 1);
	rg_sb_str(&b, server_addr);
	rg_sb_mem(&b, ":", 1);
	rg_sb_str(&b, server_port);
	rg_sb_mem(&b, "|", 1);
	rg_sb_str(&b, client_addr);
	rg_sb_mem(&b, ":", 1);
	rg_sb_str(&b, client_port);
	if ((n = rg_sb_done(&b)) < 0)
		return -1;
	rg_lowercase(buf);
	return 0;
}

int
ratetx_per_rcpt(const struct rg_params *p)
{
	return p->rate_limit_unit == RG_RATE_UNIT_RECIPIENT;
}

/* Append one subject when its list has limits. */
static int
add(struct ratetx_subject *subj, int n, int max, const struct rg_params *p, const struct rg_rates *spec,
    const char *kind, const char *what, const char *subject)
{
	struct ratetx_subject *s;

	if (n >= max || spec->n <= 0 || spec->n > RG_RATE_MAX || subject == NULL || *subject == 0)
		return n;
	s = &subj[n];
	/* parsed once at load (struct rg_rates, config.h) */
	memcpy(s->rates, spec->v, (size_t)spec->n * sizeof(s->rates[0]));
	s->nrates = spec->n;
	s->kind = kind;
	s->what = what;
	s->per_rcpt = ratetx_per_rcpt(p);
	if (strlen(subject) < sizeof(s->subject)) {
		rg_strlcpy(s->subject, subject, sizeof(s->subject));
		rg_lowercase(s->subject);
	} else {
		/* Never cut: two long subjects sharing a prefix are two counters. */
		char *t = rg_lowercase(xstrdup(subject));

		snprintf(s->subject, sizeof(s->subject), "%.200s...#%016llx", t,
			 rg_hash64(t, strlen(t), RG_HASH64_SEED));
		free(t);
	}
	return n + 1;
}

int
ratetx_outbound(const struct rg_params *p, const char *client_addr, const char *sasl_user, const char *sender,
		struct ratetx_subject *subj, int n, int max)
{
	const char *sdom = rg_addr_domain(sender);

	n = add(subj, n, max, p, &p->rate_limits_rates, "client", "client", client_addr);
	n = add(subj, n, max, p, &p->sasl_rate_limits_rates, "sasl", "SASL user", sasl_user);
	return add(subj, n, max, p, &p->sender_domain_rate_limits_rates, "sender", "sender domain", sdom);
}

int
ratetx_inbound(const struct rg_params *p, const char *dom, struct ratetx_subject *subj, int n, int max)
{
	return add(subj, n, max, p, &p->inbound_rate_limits_rates, "domain", "recipient domain", dom);
}
