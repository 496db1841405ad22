/*
 * msg - diagnostics in the Postfix manner: one line per event, to syslog
 * (facility mail by default) or, in foreground mode, to stderr.
 *
 * Contract: thread-safe (syslog(3) and one write(2) per line; msg_hold
 * batches one thread's lines). Callers pass
 * untrusted text through printable()/rg_sanitize() before it reaches a format
 * argument. msg_fatal() is for start-up only; once a service loop runs,
 * failures map to a protocol outcome, never an exit.
 */
#ifndef RG_MSG_H
#define RG_MSG_H

#include <stdarg.h>

#define RG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RG_NORETURN __attribute__((noreturn))

/* Set the program name and where lines go. facility: syslog name, e.g. "mail". */
void msg_init(const char *progname, int to_stderr, const char *facility);
/* Switch between syslog and stderr after start-up (e.g. after -f is parsed). */
void msg_set_stderr(int to_stderr);
/*
 * "<N>" (N = LOG_PRI(prio)) when stderr is not a terminal, else "": for
 * the few lines written to stderr directly (start-up errors before msg_init
 * applies), so that journald files them at their level too.
 */
const char *msg_stderr_prio(int prio); /* prio: LOG_ERR etc. (3 = error) */
/*
 * Batch the calling thread's stderr lines (syslog lines are never held):
 * from now on they collect in a buffer and leave, in order, in one
 * write(2) at msg_flush() (also when the buffer fills, before a fatal or
 * panic line, and at exit). kick(arg) is called when a held line arrives
 * in an empty buffer: the event loop schedules msg_flush() at the end of
 * its turn. Other threads' lines are written at once, as before. kick =
 * NULL flushes and stops holding. For the single-threaded event loop of
 * relayguard-policyd: one write per loop turn instead of one per line.
 */
void msg_hold(void (*kick)(void *), void *arg);
void msg_flush(void);
/* Non-zero: msg_debug() lines are emitted. */
extern int msg_verbose;

void msg_debug(const char *fmt, ...) RG_PRINTF(1, 2);
void msg_info(const char *fmt, ...) RG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) RG_PRINTF(1, 2);
void msg_error(const char *fmt, ...) RG_PRINTF(1, 2);
void msg_fatal(const char *fmt, ...) RG_PRINTF(1, 2) RG_NORETURN;
void msg_panic(const char *fmt, ...) RG_PRINTF(1, 2) RG_NORETURN;

#endif
