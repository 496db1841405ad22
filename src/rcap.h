/*
 * rcap - limits on the size of a Redis reply, for every hiredis context of
 * the daemons (policyd's asynchronous client, the milter's pool, the
 * Sentinel agent) and of the tools (relayguardctl, relayguard-import).
 * hiredis 0.14 has none: a broken or hostile server, or a redis_server
 * that points at something else, could make a daemon allocate without
 * bound with a "$2000000000" or "*2000000000" header.
 *
 *   a bulk string   at most RCAP_STRING_MAX bytes
 *   an array        at most RCAP_ARRAY_MAX elements
 *   a whole reply   at most RCAP_REPLY_MAX bytes (strings + reply objects)
 *   unparsed input  at most RCAP_PENDING_MAX bytes (hiredis buffers a bulk
 *                   string whole before it builds it: the only place a
 *                   huge one can be stopped)
 *
 * All far above anything relayguard asks for (its scripts answer a few
 * short values; relayguardctl SCANs in batches of 1000). A reply over a
 * limit is a reader error: hiredis drops the connection, every pending
 * command gets its NULL reply, and the caller treats it as any other
 * Redis failure (the failure action, an outage logged once, reconnect
 * with backoff).
 *
 * Contract: no state of its own, nothing to free. rcap_install keeps
 * hiredis' default reply functions in the reader's privdata, so the reader
 * must not be given another privdata. While an array reply is read, its
 * `integer` (unused by hiredis for arrays) holds the bytes counted so far;
 * it stays set on the finished reply. Thread-safe: each context is used by
 * one thread at a time, as hiredis requires.
 */
#ifndef RG_RCAP_H
#define RG_RCAP_H

#include <stddef.h>

#include <hiredis.h>

#define RCAP_STRING_MAX (16UL * 1024 * 1024)
#define RCAP_ARRAY_MAX (1024L * 1024)
#define RCAP_REPLY_MAX (64UL * 1024 * 1024)
#define RCAP_PENDING_MAX (RCAP_STRING_MAX + 64 * 1024)

/* Make c's reader refuse strings, arrays and replies over the limits. */
void rcap_install(redisContext *c);

/* The same for a bare reader (redisReaderCreate). */
void rcap_install_reader(redisReader *r);

/*
 * After a read, before the reader parses on: more than RCAP_PENDING_MAX
 * bytes of a reply not yet complete put the reader in error (the text
 * says which limit). Returns 0, or -1 when the reader is (now) in error.
 */
int rcap_check(redisContext *c);

/*
 * redisCommandArgv for a blocking context, with rcap_check after every
 * read. NULL on failure, with c->err and c->errstr set as hiredis does.
 */
redisReply *rcap_command_argv(redisContext *c, int argc, const char **argv, const size_t *argvlen);

/* The same for redisCommand's format (hiredis's %s %b ..., not printf's). */
redisReply *rcap_command(redisContext *c, const char *fmt, ...);

/* c->errstr, or a text naming the limits when the reader refused a reply
 * (hiredis reports that as "Out of memory"). */
const char *rcap_errstr(const redisContext *c);

#endif
