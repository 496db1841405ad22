/*
 * rcap - see rcap.h.
 *
 * hiredis 0.14's reader (read.c) calls createArray when it has read an
 * array's header, before any element, and createString only once the
 * whole bulk string is in its buffer; so arrays and the running total are
 * refused in the reply functions, a huge bulk string by rcap_check on the
 * buffer between reads. A reply function that returns NULL makes the
 * reader fail with "Out of memory" (rcap_errstr says what it was).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sds.h>

#include "rcap.h"

#define RCAP_OBJ 64 /* what one reply object costs, with its allocation */

/* The text of rcap_errstr; keep the figures in step with rcap.h. */
#define RCAP_TEXT "a reply over the size limits (strings 16MB, arrays 1048576 elements, 64MB in all)"

/* The array at the root of the reply t belongs to (it keeps the tally),
 * or NULL when t is the root itself. */
static redisReply *
rcap_root(const redisReadTask *t)
{
	if (t->parent == NULL)
		return NULL;
	while (t->parent)
		t = t->parent;
	return t->obj;
}

/* Count n more bytes for t's reply; -1 when that goes over RCAP_REPLY_MAX. */
static int
rcap_count(const redisReadTask *t, size_t n)
{
	redisReply *root = rcap_root(t);

	if (n > RCAP_REPLY_MAX)
		return -1;
	if (root == NULL)
		return 0;
	if ((unsigned long long)root->integer + n > RCAP_REPLY_MAX)
		return -1;
	root->integer += (long long)n;
	return 0;
}

/* hiredis' own functions, which rcap_install left in the reader's privdata. */
static const redisReplyObjectFunctions *
rcap_def(const redisReadTask *t)
{
	return t->privdata;
}

static void *
rcap_string(const redisReadTask *t, char *str, size_t len)
{
	if (len > RCAP_STRING_MAX || rcap_count(t, len + RCAP_OBJ) < 0)
		return NULL;
	return rcap_def(t)->createString(t, str, len);
}

static void *
rcap_array(const redisReadTask *t, int elements)
{
	size_t n = (size_t)(elements < 0 ? 0 : elements) * sizeof(redisReply *) + RCAP_OBJ;
	redisReply *r;

	if (elements > RCAP_ARRAY_MAX || rcap_count(t, n) < 0)
		return NULL;
	if ((r = rcap_def(t)->createArray(t, elements)) != NULL && t->parent == NULL)
		r->integer = (long long)n; /* the root: the tally starts */
	return r;
}

static void *
rcap_integer(const redisReadTask *t, long long value)
{
	if (rcap_count(t, RCAP_OBJ) < 0)
		return NULL;
	return rcap_def(t)->createInteger(t, value);
}

static void *
rcap_nil(const redisReadTask *t)
{
	if (rcap_count(t, RCAP_OBJ) < 0)
		return NULL;
	return rcap_def(t)->createNil(t);
}

/* Read by hiredis only; not const because redisReader's fn is not. */
static redisReplyObjectFunctions rcap_fns = {rcap_string, rcap_array, rcap_integer, rcap_nil,
					     freeReplyObject};

void
rcap_install_reader(redisReader *r)
{
	if (r == NULL || r->fn == NULL || r->fn == &rcap_fns)
		return;
	r->privdata = r->fn;
	r->fn = &rcap_fns;
}

void
rcap_install(redisContext *c)
{
	rcap_install_reader(c->reader);
}

int
rcap_check(redisContext *c)
{
	redisReader *r = c->reader;
	char why[sizeof(r->errstr)];

	if (r == NULL || r->err)
		return r == NULL ? 0 : -1;
	if (r->len - r->pos <= RCAP_PENDING_MAX)
		return 0;
	/* What hiredis does on a protocol error: the partial reply, the
	 * buffer and the task stack go; the reader stays in error. */
	if (r->reply != NULL && r->fn && r->fn->freeObject)
		r->fn->freeObject(r->reply);
	r->reply = NULL;
	sdsfree(r->buf);
	r->buf = NULL;
	r->pos = r->len = 0;
	r->ridx = -1;
	snprintf(why, sizeof(why), "a reply over %lu bytes (a bulk string over %lu bytes)",
		 (unsigned long)RCAP_PENDING_MAX, RCAP_STRING_MAX);
	r->err = REDIS_ERR_PROTOCOL;
	memcpy(r->errstr, why, sizeof(r->errstr));
	c->err = r->err;
	memcpy(c->errstr, why, sizeof(c->errstr) < sizeof(why) ? sizeof(c->errstr) : sizeof(why));
	c->errstr[sizeof(c->errstr) - 1] = 0;
	return -1;
}

/* redisGetReply of a blocking context, with rcap_check after every read. */
static redisReply *
rcap_block_reply(redisContext *c)
{
	void *rep = NULL;
	int done = 0;

	if (redisGetReplyFromReader(c, &rep) != REDIS_OK)
		return NULL;
	if (rep != NULL || !(c->flags & REDIS_BLOCK))
		return rep;
	do {
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return NULL;
	} while (!done);
	do {
		if (redisBufferRead(c) != REDIS_OK || rcap_check(c) != 0 ||
		    redisGetReplyFromReader(c, &rep) != REDIS_OK)
			return NULL;
	} while (rep == NULL);
	return rep;
}

redisReply *
rcap_command_argv(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
	if (redisAppendCommandArgv(c, argc, argv, argvlen) != REDIS_OK)
		return NULL;
	return rcap_block_reply(c);
}

redisReply *
rcap_command(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = redisvAppendCommand(c, fmt, ap);
	va_end(ap);
	return rc == REDIS_OK ? rcap_block_reply(c) : NULL;
}

const char *
rcap_errstr(const redisContext *c)
{
	if (c->err == REDIS_ERR_OOM && c->reader && c->reader->fn == &rcap_fns)
		return RCAP_TEXT " or out of memory";
	return c->errstr;
}
