/*
 * addr - see addr.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "util.h"

const char *
rg_addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : NULL;
}

int
rg_addr_domain_overlong(const char *domain)
{
	size_t n = strlen(domain), label = 0;

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n > 253)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (domain[i] == '.')
			label = 0;
		else if (++label > 63)
			return 1;
	}
	return 0;
}

/* Strip a BATV tag from a local part in place; returns the new start. */
static char *
addr_unbatv(char *local)
{
	char *p;

	if (strncmp(local, "prvs=", 5) == 0 || strncmp(local, "msprvs1=", 8) == 0) {
		p = strchr(local, '=');
		if (p && (p = strchr(p + 1, '=')) != NULL && p[1])
			return p + 1;
	} else if (strncmp(local, "btv1==", 6) == 0) {
		p = strstr(local + 6, "==");
		if (p && p[2])
			return p + 2;
	}
	return local;
}

/*
 * Undo SRS in place on a full lower-cased address. SRS0's fields after the
 * tag are HASH=TT=domain=local; SRS1 carries "fwd==" before an SRS0-like
 * tail. Returns 1 and writes "local@domain" into buf when it was SRS.
 */
static int
addr_unsrs(const char *addr, char *buf, size_t buflen)
{
	const char *at = strrchr(addr, '@');
	const char *p, *f[4];
	int n = 0;

	if (at == NULL || strlen(addr) < 5 || strncmp(addr, "srs", 3) != 0)
		return 0;
	if (addr[3] == '1') {
		p = strstr(addr, "==");
		if (p == NULL || p > at)
			return 0;
		p += 2; /* now HASH=TT=domain=local */
	} else if (addr[3] == '0' && strchr("=+-", addr[4])) {
		p = addr + 5;
	} else {
		return 0;
	}
	/* Fields: hash, timestamp, domain, local (local may hold '='). */
	f[n++] = p;
	for (const char *q = p; q < at && n < 4; q++)
		if (*q == '=')
			f[n++] = q + 1;
	if (n < 4 || f[3] >= at || f[2] >= f[3] - 1)
		return 0;
	{
		size_t llen = (size_t)(at - f[3]);
		size_t dlen = (size_t)(f[3] - 1 - f[2]);

		if (llen + dlen + 2 > buflen)
			return 0;
		memcpy(buf, f[3], llen);
		buf[llen] = '@';
		memcpy(buf + llen + 1, f[2], dlen);
		buf[llen + 1 + dlen] = 0;
	}
	return 1;
}

char *
rg_addr_greynorm(const char *sender, const char *delims, char *out, size_t outlen)
{
	char *tmp, *srs, *local, *at, *cut;
	size_t n;

	if (outlen == 0)
		return out;
	if (sender == NULL || *sender == 0) {
		rg_strlcpy(out, "<>", outlen);
		return out;
	}
	/* The whole address: a cut one would merge two long senders. */
	n = strlen(sender) + 1;
	tmp = rg_lowercase(xstrdup(sender));
	srs = xmalloc(n);
	if (addr_unsrs(tmp, srs, n))
		rg_strlcpy(tmp, srs, n);
	free(srs);
	at = strrchr(tmp, '@');
	if (at)
		*at = 0;
	local = addr_unbatv(tmp);
	if (delims && *delims && (cut = strpbrk(local, delims)) != NULL && cut != local)
		*cut = 0;
	if (at)
		snprintf(out, outlen, "%s@%s", local, at + 1);
	else
		rg_strlcpy(out, local, outlen);
	free(tmp);
	return out;
}
