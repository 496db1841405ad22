/*
 * request - see request.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "util.h"

/* Each name with its length, known at compile time: matching is per line, hot. */
#define PREQ_NAME(e, n) [e] = {n, sizeof(n) - 1}
static const struct {
	const char *name;
	size_t len;
} preq_names[PREQ_NATTR] = {
    PREQ_NAME(PREQ_REQUEST, "request"),
    PREQ_NAME(PREQ_PROTOCOL_STATE, "protocol_state"),
    PREQ_NAME(PREQ_PROTOCOL_NAME, "protocol_name"),
    PREQ_NAME(PREQ_HELO_NAME, "helo_name"),
    PREQ_NAME(PREQ_QUEUE_ID, "queue_id"),
    PREQ_NAME(PREQ_SENDER, "sender"),
    PREQ_NAME(PREQ_RECIPIENT, "recipient"),
    PREQ_NAME(PREQ_RECIPIENT_COUNT, "recipient_count"),
    PREQ_NAME(PREQ_CLIENT_ADDRESS, "client_address"),
    PREQ_NAME(PREQ_CLIENT_NAME, "client_name"),
    PREQ_NAME(PREQ_REVERSE_CLIENT_NAME, "reverse_client_name"),
    PREQ_NAME(PREQ_INSTANCE, "instance"),
    PREQ_NAME(PREQ_SASL_METHOD, "sasl_method"),
    PREQ_NAME(PREQ_SASL_USERNAME, "sasl_username"),
    PREQ_NAME(PREQ_SIZE, "size"),
    PREQ_NAME(PREQ_ENCRYPTION_PROTOCOL, "encryption_protocol"),
    PREQ_NAME(PREQ_CLIENT_PORT, "client_port"),
    PREQ_NAME(PREQ_SERVER_ADDRESS, "server_address"),
    PREQ_NAME(PREQ_SERVER_PORT, "server_port"),
};

/*
 * Lookup tables, filled once (preq_tables): which bytes a name may hold
 * ([A-Za-z0-9_.-]), and the known names by length as chains. Names are
 * checked per byte and looked up per line: the hottest code in policyd
 * (issue 16 profile).
 */
static unsigned char preq_namech[256];
static signed char preq_bylen[65], preq_samelen[PREQ_NATTR];

static void
preq_tables(void)
{
	static int done;
	const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	if (done)
		return;
	for (const char *p = ok; *p; p++)
		preq_namech[(unsigned char)*p] = 1;
	memset(preq_bylen, -1, sizeof(preq_bylen));
	for (int i = PREQ_NATTR - 1; i >= 0; i--) {
		preq_samelen[i] = preq_bylen[preq_names[i].len];
		preq_bylen[preq_names[i].len] = (signed char)i;
	}
	done = 1;
}

/* The known attribute of this name (nlen <= 64), or -1. */
static int
preq_lookup(const char *name, size_t nlen)
{
	for (int i = preq_bylen[nlen]; i >= 0; i = preq_samelen[i])
		if (preq_names[i].name[0] == name[0] && memcmp(preq_names[i].name, name, nlen) == 0)
			return i;
	return -1;
}

void
preq_init(struct preq *r, int max_attr, size_t max_bytes)
{
	preq_tables();
	memset(r, 0, sizeof(*r));
	r->max_attr = max_attr;
	r->max_bytes = max_bytes;
}

void
preq_reset(struct preq *r)
{
	for (int i = 0; i < PREQ_NATTR; i++) {
		if (r->heap & (1u << i))
			free(r->val[i]);
		r->val[i] = NULL;
	}
	r->heap = 0;
	r->inl_used = 0;
	r->nattr = 0;
	r->bytes = 0;
}

/* val[i] = a copy of v (n bytes): in inl while it has room, else malloc'd. */
static void
preq_set(struct preq *r, int i, const char *v, size_t n)
{
	if (r->heap & (1u << i))
		free(r->val[i]);
	r->heap &= ~(1u << i);
	if (n < sizeof(r->inl) - r->inl_used) {
		r->val[i] = r->inl + r->inl_used;
		memcpy(r->val[i], v, n);
		r->val[i][n] = 0;
		r->inl_used += n + 1;
	} else {
		r->val[i] = xstrndup(v, n);
		r->heap |= 1u << i;
	}
}

int
preq_add_line(struct preq *r, const char *line, size_t len, char *err, size_t errlen)
{
	const char *eq;
	size_t nlen;
	int i;

	preq_tables(); /* one test once filled: a request made without preq_init still works */
	r->bytes += len + 1;
	if (r->bytes > r->max_bytes) {
		snprintf(err, errlen, "request larger than %zu bytes", r->max_bytes);
		return -1;
	}
	if (++r->nattr > r->max_attr) {
		snprintf(err, errlen, "more than %d attributes", r->max_attr);
		return -1;
	}
	if (len && line[len - 1] == '\r')
		len--;
	if (memchr(line, 0, len) != NULL) {
		snprintf(err, errlen, "NUL byte in request");
		return -1;
	}
	eq = memchr(line, '=', len);
	if (eq == NULL || eq == line) {
		snprintf(err, errlen, "malformed line (not name=value)");
		return -1;
	}
	nlen = (size_t)(eq - line);
	if (nlen > 64) {
		snprintf(err, errlen, "attribute name too long");
		return -1;
	}
	{
		unsigned bad = 0;

		for (size_t k = 0; k < nlen; k++)
			bad |= preq_namech[(unsigned char)line[k]] ^ 1u;
		if (bad) {
			snprintf(err, errlen, "malformed attribute name");
			return -1;
		}
	}
	if ((i = preq_lookup(line, nlen)) >= 0)
		preq_set(r, i, eq + 1, len - nlen - 1);
	return 0;
}

const char *
preq_get(const struct preq *r, enum preq_attr a)
{
	return r->val[a] ? r->val[a] : "";
}
