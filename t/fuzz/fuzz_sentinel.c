/*
 * fuzz_sentinel - what a Sentinel (or a Redis claiming to be the master)
 * answers, through the same hiredis reader the daemons use, into
 * rcore_parse_master_addr (SENTINEL get-master-addr-by-name),
 * rcore_parse_role (ROLE) and rcore_parse_switch_master (+switch-master).
 *
 * Input: byte 0 even: RESP bytes, every reply read from them (by a reader
 * with rcap's size limits, as in the daemons) is given to the first two
 * parsers; odd: a +switch-master message (for the master
 * named by its first word, and for "mymaster").
 *
 * Properties:
 *   - an accepted master address is a TCP endpoint with a host and a port
 *     1..65535 whose canonical text parses back to it (the grammar's own);
 *   - a refusal has a printable reason (it is logged);
 *   - ROLE says master only for an array whose first element is "master";
 *   - a switch is taken only for a message about our master's name.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "endpoint.h"
#include "fuzz.h"
#include "rcap.h"
#include "rcore.h"

static void
fz_master_ok(const struct rg_endpoint *a)
{
	struct rg_endpoint b;
	char text[400], err[256];

	FUZZ_ASSERT(a->kind == RG_EP_INET && a->port >= 1 && a->port <= 65535 && a->host[0], "master %s:%d",
		    a->host, a->port);
	rg_endpoint_str(a, text, sizeof(text));
	FUZZ_ASSERT(rg_endpoint_parse(text, 0, 0, &b, err, sizeof(err)) == 0,
		    "master \"%s\" does not parse: %s", text, err);
	FUZZ_ASSERT(strcmp(a->host, b.host) == 0 && a->port == b.port, "master \"%s\" parses to %s:%d", text,
		    b.host, b.port);
}

static void
fz_reply(const redisReply *rep)
{
	struct rg_endpoint a;
	char err[256];
	int role;

	err[0] = 0;
	if (rcore_parse_master_addr(rep, &a, err, sizeof(err)) == 0)
		fz_master_ok(&a);
	else
		FUZZ_ASSERT(err[0] && !fuzz_has_ctl(err, strlen(err)), "refusal \"%s\"", err);
	err[0] = 0;
	role = rcore_parse_role(rep, err, sizeof(err));
	FUZZ_ASSERT(role == 0 || role == 1, "ROLE gave %d", role);
	FUZZ_ASSERT(!fuzz_has_ctl(err, strnlen(err, sizeof(err))), "role text \"%s\"", err);
	if (role == 1)
		FUZZ_ASSERT(rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
				(rep->element[0]->type == REDIS_REPLY_STRING ||
				 rep->element[0]->type == REDIS_REPLY_STATUS) &&
				rep->element[0]->len == 6 && memcmp(rep->element[0]->str, "master", 6) == 0,
			    "ROLE master for another reply (type %d)", rep->type);
}

static void
fz_switch(const char *d, size_t n, const char *name)
{
	struct rg_endpoint a;
	size_t nl = strlen(name), sp = 0;

	if (rcore_parse_switch_master(d, n, name, &a) == 0) {
		while (sp < n && d[sp] == ' ')
			sp++; /* leading blanks are tolerated */
		FUZZ_ASSERT(n - sp > nl && memcmp(d + sp, name, nl) == 0 && d[sp + nl] == ' ',
			    "a switch of \"%s\" taken from another master's message", name);
		fz_master_ok(&a);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data + 1;
	size_t n;

	if (size < 1 || size > 65536)
		return 0;
	n = size - 1;
	if (data[0] & 1) {
		char name[64];
		const char *sp = memchr(d, ' ', n);
		size_t w = sp ? (size_t)(sp - d) : n;

		if (w >= sizeof(name))
			w = sizeof(name) - 1;
		memcpy(name, d, w);
		name[w] = 0;
		fz_switch(d, n, "mymaster");
		if (w > 0 && memchr(name, 0, w) == NULL)
			fz_switch(d, n, name);
		return 0;
	}
	/* hiredis 0.14 (Debian 12) bounds neither array counts nor bulk
	 * lengths ("*2111111111" would malloc 17 GB); the daemons' readers have
	 * rcap's limits (src/rcap.h), and so has this one. */
	{
		redisReader *r = redisReaderCreate();
		void *rep;
		int k = 0;

		FUZZ_ASSERT(r != NULL, "redisReaderCreate");
		rcap_install_reader(r);
		redisReaderFeed(r, d, n);
		while (k++ < 64 && redisReaderGetReply(r, &rep) == REDIS_OK && rep != NULL) {
			fz_reply(rep);
			freeReplyObject(rep);
		}
		redisReaderFree(r);
	}
	return 0;
}
