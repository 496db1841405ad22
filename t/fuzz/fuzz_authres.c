/*
 * fuzz_authres - which Authentication-Results headers a message brought
 * are "ours" (auth_msg_authserv_is, milter/auth_msg.c): those are deleted
 * so that no sender can forge our verdict.
 *
 * Input: a header value as the sender wrote it.
 *
 * Property, against a reference reading of RFC 8601 2.2 (authserv-id =
 * value, i.e. a token or a quoted-string, after optional CFWS: white space
 * and nested comments with quoted-pairs): whenever a consumer reading the
 * RFC would take the header's authserv-id to be ours, auth_msg says ours
 * too, for the host name we run as and for a name taken from the input.
 */
#include <string.h>
#include <strings.h>

#include "auth_msg.h"
#include "fuzz.h"

/* Past white space and (nested (comments)); NULL if a comment does not end. */
static const char *
fa_cfws(const char *s)
{
	for (;;) {
		int depth = 0;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			return s;
		for (; *s; s++) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0)
				break;
		}
		if (*s == 0)
			return NULL;
		s++;
	}
}

/* The authserv-id of value into id (unquoted), or 0 if there is none. */
static int
fa_authserv(const char *v, char *id, size_t size)
{
	size_t o = 0;

	if ((v = fa_cfws(v)) == NULL)
		return 0;
	if (*v == '"') {
		for (v++; *v && *v != '"'; v++) {
			if (*v == '\\' && v[1])
				v++;
			if (o + 1 >= size)
				return 0;
			id[o++] = *v;
		}
		if (*v != '"')
			return 0;
	} else {
		/* token: CHARs but SPACE, CTLs and tspecials (RFC 2045) */
		while (*v && (unsigned char)*v > 0x20 && (unsigned char)*v < 0x7f &&
		       !strchr("()<>@,;:\\\"/[]?=", *v)) {
			if (o + 1 >= size)
				return 0;
			id[o++] = *v++;
		}
	}
	id[o] = 0;
	return o > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char v[2048], id[300];

	if (size >= sizeof(v))
		return 0;
	memcpy(v, data, size);
	v[size] = 0;
	if (!fa_authserv(v, id, sizeof(id)))
		return 0;
	if (strcasecmp(id, "mx1.example.net") == 0)
		FUZZ_ASSERT(auth_msg_authserv_is("mx1.example.net", v),
			    "a header a reader takes as mx1.example.net's is not deleted: \"%.200s\"", v);
	/* Our id is myhostname: a host name of at most 253 bytes. */
	if (strlen(id) <= 253)
		FUZZ_ASSERT(auth_msg_authserv_is(id, v),
			    "a header a reader takes as %s's is not deleted: \"%.200s\"", id, v);
	return 0;
}
