/*
 * greyspf - see greyspf.h.
 */
#include <stdio.h>
#include <string.h>

#include "auth_dns.h"
#include "greyspf.h"
#include "rkeys.h"
#include "util.h"

void
greyspf_eval(const struct rg_endpoint *dns, long long timeout_ms, const char *client_addr, const char *helo,
	     const char *sender, const char *myhostname, struct auth_spf_out *out, char *err, size_t errlen)
{
	struct auth_dns d;
	char e[256];
	const char *at = strrchr(sender, '@');

	if (auth_dns_open(&d, dns, timeout_ms, timeout_ms, e, sizeof(e)) < 0) {
		memset(out, 0, sizeof(*out));
		rg_strlcpy(out->result, "temperror", sizeof(out->result));
		rg_strlcpy(out->ptype, "smtp.mailfrom", sizeof(out->ptype));
		auth_spf_safe_domain(out->domain, sizeof(out->domain), at ? at + 1 : sender);
		if (err)
			rg_strlcpy(err, e, errlen);
		return;
	}
	auth_spf_check(&d, client_addr, helo ? helo : "", sender, myhostname, out);
	auth_dns_close(&d);
	if (err && errlen)
		err[0] = 0;
}

int
greyspf_identity(const struct auth_spf_out *out, char *buf, size_t len)
{
	buf[0] = 0;
	if (strcmp(out->result, "pass") != 0 || strcmp(out->ptype, "smtp.mailfrom") != 0 ||
	    strcmp(out->domain, "invalid") == 0 || out->domain[0] == 0 || strlen(out->domain) + 5 > len)
		return 0;
	/* auth_spf_safe_domain left [A-Za-z0-9._-] only: no brace, no glob, no space. */
	snprintf(buf, len, "spf:%s", out->domain);
	rg_lowercase(buf);
	return 1;
}

void
greyspf_note(const struct auth_spf_out *out, const char *failure, long long ms, char *buf, size_t len)
{
	if (failure)
		snprintf(buf, len, "spf=temperror spf_domain=%s spf_error=%s spf_ms=%lld", out->domain,
			 failure, ms);
	else
		snprintf(buf, len, "spf=%s spf_domain=%s", out->result, out->domain);
}

int
greyspf_rekey(const struct rg_params *g, const char *ident, struct greylist_triplet *t)
{
	struct rkeys k;
	char tkey[RKEYS_MAX], nkey[RKEYS_MAX];

	rkeys_from_params(&k, g);
	if (rkeys_greylist(&k, ident, t->sender, t->rcpt, tkey, sizeof(tkey)) < 0 ||
	    rkeys_awl(&k, ident, nkey, sizeof(nkey)) < 0)
		return -1;
	memcpy(t->tkey, tkey, sizeof(tkey));
	memcpy(t->nkey, nkey, sizeof(nkey));
	return 0;
}
