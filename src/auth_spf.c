/*
 * auth_spf - see auth_spf.h.
 */
#define HAVE_NS_TYPE 1 /* arpa/nameser.h has ns_type; libspf2 must not redefine it */
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "auth_spf.h"
#include "msg.h"
#include "util.h"

#define AUTH_SPF_ANS_MAX 8192 /* bytes of one DNS response we look at */

static void
auth_spf_log_warn(const char *file, int line, const char *text)
{
	(void)file;
	(void)line;
	msg_warn("spf: libspf2: %s", text);
}

static void
auth_spf_log_quiet(const char *file, int line, const char *text)
{
	(void)file;
	(void)line;
	(void)text;
}

static void
auth_spf_init_once(void)
{
	/* SPF_error_handler stays (libspf2 aborts on its own internal bugs). */
	SPF_warning_handler = auth_spf_log_warn;
	SPF_info_handler = auth_spf_log_quiet;
	SPF_debug_handler = auth_spf_log_quiet;
}

void
auth_spf_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, auth_spf_init_once);
}

void
auth_spf_safe_domain(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src), i;

	if (n == 0 || n >= size || n > 253) {
		rg_strlcpy(dst, "invalid", size);
		return;
	}
	for (i = 0; i < n; i++) {
		char c = src[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_')) {
			rg_strlcpy(dst, "invalid", size);
			return;
		}
	}
	memcpy(dst, src, n + 1);
}

/* One record's data into slot cnt of rr; 0, or -1 to skip the record. */
static int
auth_spf_rr_add(SPF_dns_rr_t *rr, int cnt, const ns_msg *msg, const ns_rr *r)
{
	const unsigned char *rd = ns_rr_rdata(*r);
	size_t len = ns_rr_rdlen(*r);
	char name[NS_MAXDNAME];

	switch (rr->rr_type) {
	case ns_t_a:
		if (len != 4 || SPF_dns_rr_buf_realloc(rr, cnt, sizeof(struct in_addr)) != SPF_E_SUCCESS)
			return -1;
		memcpy(&rr->rr[cnt]->a, rd, 4);
		return 0;
	case ns_t_aaaa:
		if (len != 16 || SPF_dns_rr_buf_realloc(rr, cnt, sizeof(struct in6_addr)) != SPF_E_SUCCESS)
			return -1;
		memcpy(&rr->rr[cnt]->aaaa, rd, 16);
		return 0;
	case ns_t_txt: {
		/* The character-strings of one TXT record, concatenated. */
		size_t i = 0, o = 0;
		char *t;

		if (SPF_dns_rr_buf_realloc(rr, cnt, len + 1) != SPF_E_SUCCESS)
			return -1;
		t = rr->rr[cnt]->txt;
		while (i < len) {
			size_t sl = rd[i++];

			if (sl > len - i)
				return -1;
			memcpy(t + o, rd + i, sl);
			o += sl, i += sl;
		}
		t[o] = 0;
		return 0;
	}
	case ns_t_mx:
	case ns_t_ptr: {
		const unsigned char *p = rr->rr_type == ns_t_mx ? rd + 2 : rd;

		if ((rr->rr_type == ns_t_mx && len < 3) ||
		    dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), p, name, sizeof(name)) < 0)
			return -1;
		if (SPF_dns_rr_buf_realloc(rr, cnt, strlen(name) + 1) != SPF_E_SUCCESS)
			return -1;
		memcpy(rr->rr_type == ns_t_mx ? rr->rr[cnt]->mx : rr->rr[cnt]->ptr, name, strlen(name) + 1);
		return 0;
	}
	default:
		return -1;
	}
}

/* libspf2's DNS layer: every question goes to auth_dns. */
static SPF_dns_rr_t *
auth_spf_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	struct auth_dns *dns = srv->hook;
	unsigned char *ans = xmalloc(AUTH_SPF_ANS_MAX);
	int n = auth_dns_query(dns, domain, type, ans, AUTH_SPF_ANS_MAX);
	int st = auth_dns_status(ans, n), cnt = 0;
	SPF_dns_rr_t *rr;
	ns_msg msg;

	(void)should_cache;
	rr = SPF_dns_rr_new_init(srv, domain, type, 0, st == NETDB_SUCCESS ? NETDB_SUCCESS : st);
	if (rr == NULL || st != NETDB_SUCCESS || ns_initparse(ans, n, &msg) < 0) {
		free(ans);
		return rr;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr r;

		if (ns_parserr(&msg, ns_s_an, i, &r) < 0)
			break;
		if (ns_rr_type(r) != type || ns_rr_class(r) != ns_c_in)
			continue; /* e.g. the CNAME that led there */
		if (auth_spf_rr_add(rr, cnt, &msg, &r) == 0)
			cnt++;
	}
	rr->num_rr = cnt;
	if (cnt == 0)
		rr->herrno = NO_DATA;
	free(ans);
	return rr;
}

static const char *
auth_spf_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return "pass";
	case SPF_RESULT_FAIL:
		return "fail";
	case SPF_RESULT_SOFTFAIL:
		return "softfail";
	case SPF_RESULT_NEUTRAL:
		return "neutral";
	case SPF_RESULT_NONE:
		return "none";
	case SPF_RESULT_TEMPERROR:
		return "temperror";
	default:
		return "permerror";
	}
}

void
auth_spf_check(struct auth_dns *dns, const char *client_addr, const char *helo, const char *sender,
	       const char *myhostname, struct auth_spf_out *out)
{
	SPF_dns_server_t layer = {.lookup = auth_spf_lookup, .name = "relayguard", .hook = dns};
	SPF_server_t *srv;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	const char *at = strrchr(sender, '@');
	int bad, lost = dns->timeouts;

	auth_spf_init();
	memset(out, 0, sizeof(*out));
	rg_strlcpy(out->ptype, *sender ? "smtp.mailfrom" : "smtp.helo", sizeof(out->ptype));
	auth_spf_safe_domain(out->domain, sizeof(out->domain), *sender ? (at ? at + 1 : sender) : helo);
	rg_strlcpy(out->result, "none", sizeof(out->result));
	if ((srv = SPF_server_new_dns(&layer, 0)) == NULL)
		return;
	if (myhostname && *myhostname)
		SPF_server_set_rec_dom(srv, myhostname);
	req = SPF_request_new(srv);
	bad = strchr(client_addr, ':') ? SPF_request_set_ipv6_str(req, client_addr)
				       : SPF_request_set_ipv4_str(req, client_addr);
	if (bad == SPF_E_SUCCESS && helo && *helo)
		SPF_request_set_helo_dom(req, helo);
	if (bad == SPF_E_SUCCESS && *sender)
		bad = SPF_request_set_env_from(req, sender);
	if (bad == SPF_E_SUCCESS) {
		SPF_request_query_mailfrom(req, &resp);
		if (resp)
			rg_strlcpy(out->result, auth_spf_result(SPF_response_result(resp)),
				   sizeof(out->result));
	} else {
		/* No usable client address or a sender libspf2 cannot parse. */
		rg_strlcpy(out->result, *client_addr ? "permerror" : "none", sizeof(out->result));
	}
	/* RFC 7208 4.4: a lookup that got no answer makes the result
	 * temperror; libspf2 reports some of those as permerror or none. */
	if (dns->timeouts > lost && strcmp(out->result, "pass") != 0 && strcmp(out->result, "fail") != 0)
		rg_strlcpy(out->result, "temperror", sizeof(out->result));
	if (resp)
		SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(srv);
}
