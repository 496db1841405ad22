/*
 * request - see request.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "util.h"

static const char *const preq_names[PREQ_NATTR] = {
    [PREQ_REQUEST] = "request",
    [PREQ_PROTOCOL_STATE] = "protocol_state",
    [PREQ_PROTOCOL_NAME] = "protocol_name",
    [PREQ_HELO_NAME] = "helo_name",
    [PREQ_QUEUE_ID] = "queue_id",
    [PREQ_SENDER] = "sender",
    [PREQ_RECIPIENT] = "recipient",
    [PREQ_RECIPIENT_COUNT] = "recipient_count",
    [PREQ_CLIENT_ADDRESS] = "client_address",
    [PREQ_CLIENT_NAME] = "client_name",
    [PREQ_REVERSE_CLIENT_NAME] = "reverse_client_name",
    [PREQ_INSTANCE] = "instance",
    [PREQ_SASL_METHOD] = "sasl_method",
    [PREQ_SASL_USERNAME] = "sasl_username",
    [PREQ_SIZE] = "size",
    [PREQ_ENCRYPTION_PROTOCOL] = "encryption_protocol",
    [PREQ_CLIENT_PORT] = "client_port",
    [PREQ_SERVER_ADDRESS] = "server_address",
    [PREQ_SERVER_PORT] = "server_port",
};

void
preq_init(struct preq *r, int max_attr, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_attr = max_attr;
	r->max_bytes = max_bytes;
}

void
preq_reset(struct preq *r)
{
	for (int i = 0; i < PREQ_NATTR; i++)
		r->val[i] = xfree(r->val[i]);
	r->nattr = 0;
	r->bytes = 0;
}

int
preq_add_line(struct preq *r, const char *line, size_t len, char *err, size_t errlen)
{
	const char *eq;
	size_t nlen;

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
	for (size_t i = 0; i < nlen; i++) {
		char c = line[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.')) {
			snprintf(err, errlen, "malformed attribute name");
			return -1;
		}
	}
	for (int i = 0; i < PREQ_NATTR; i++) {
		if (strlen(preq_names[i]) == nlen && memcmp(preq_names[i], line, nlen) == 0) {
			free(r->val[i]);
			r->val[i] = xstrndup(eq + 1, len - nlen - 1);
			break;
		}
	}
	return 0;
}

const char *
preq_get(const struct preq *r, enum preq_attr a)
{
	return r->val[a] ? r->val[a] : "";
}
