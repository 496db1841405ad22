/*
 * plog - the fields of policyd's log lines, in the manner of Postfix's own:
 * a line about a request starts with Postfix's queue id ("4XyZ1abc: ",
 * "NOQUEUE: " when Postfix sent none), so that grepping mail.log for a queue
 * id shows relayguard's decisions next to Postfix's lines; every field is
 * one token (name=value, a value with spaces or quotes is "quoted", with
 * \" and \\ escaped), so that a program can split a line on white space.
 *
 * Contract: no state, thread-safe; output always NUL-terminated and cut to
 * the buffer given. Trust boundary: every input may be client text; output
 * holds printable ASCII only.
 */
#ifndef RG_POLICYD_PLOG_H
#define RG_POLICYD_PLOG_H

#include <stddef.h>

#include "request.h"

/* The queue id of the request (letters and digits only), or "NOQUEUE". Returns buf. */
const char *plog_qid(const struct preq *q, char *buf, size_t len);

/* s as one token: "..." with \" and \\ escaped, bytes outside ASCII 0x20-0x7e as '?'. Returns buf. */
char *plog_quote(const char *s, char *buf, size_t len);

/*
 * A policy answer (the text after "action=") as fields:
 *   DUNNO                      action=dunno
 *   OK                         action=ok
 *   DEFER_IF_PERMIT 4.7.1 t    action=defer_if_permit code=450 dsn=4.7.1 text="t"
 *   DEFER 4.3.0 t              action=defer code=450 dsn=4.3.0 text="t"
 *   550 5.7.1 t                action=reject code=550 dsn=5.7.1 text="t"
 *   450 4.7.25 t               action=defer code=450 dsn=4.7.25 text="t"
 *   PREPEND X-H: v             action=prepend header="X-H: v"
 * Returns buf.
 */
char *plog_action(const char *action, char *buf, size_t len);

/* The action's first word for a metric label: dunno, ok, defer_if_permit, defer, reject, prepend, other. */
const char *plog_action_name(const char *action);

#endif
