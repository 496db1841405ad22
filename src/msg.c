/*
 * msg - see msg.h. Lines go to syslog(3) with the configured facility, or to
 * stderr as "progname[pid]: level: text" in foreground mode. When stderr is
 * not a terminal (systemd's journal, a pipe, a file) each stderr line is
 * "<N>level: text", N the syslog(3) priority: journald (SyslogLevelPrefix=,
 * on by default) takes the level from it, adds the name and pid itself, and
 * the unit's SyslogFacility=mail gives the facility, so "journalctl -p
 * warning" and rsyslog's mail.log see the lines as syslog(3) would have.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "msg.h"

int msg_verbose;

static char msg_progname[64] = "relayguard";
static int msg_stderr = 1;
static long msg_pid; /* cached: one getpid() per process, not per line */
static int msg_prio_prefix; /* stderr is not a terminal: "<N>" before each line */

/* msg_hold: the holding thread's stderr lines, written by msg_flush(). */
static int msg_holding;
static pthread_t msg_hold_thread;
static void (*msg_hold_kick)(void *);
static void *msg_hold_arg;
static char msg_hold_buf[65536];
static size_t msg_hold_len;
static int msg_hold_atexit;

static void
msg_write(const char *buf, size_t len)
{
	fflush(stderr); /* anything stdio still holds goes first */
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

void
msg_flush(void)
{
	size_t len = msg_hold_len;

	if (len == 0 || !pthread_equal(pthread_self(), msg_hold_thread))
		return;
	msg_hold_len = 0;
	msg_write(msg_hold_buf, len);
}

void
msg_hold(void (*kick)(void *), void *arg)
{
	if (msg_holding)
		msg_flush();
	msg_holding = kick != NULL;
	msg_hold_thread = pthread_self();
	msg_hold_kick = kick;
	msg_hold_arg = arg;
	if (kick && !msg_hold_atexit) {
		msg_hold_atexit = 1;
		atexit(msg_flush);
	}
}

static int
msg_facility(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} map[] = {
	    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; name && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(name, map[i].name) == 0)
			return map[i].fac;
	return LOG_MAIL;
}

void
msg_init(const char *progname, int to_stderr, const char *facility)
{
	snprintf(msg_progname, sizeof(msg_progname), "%s", progname);
	msg_pid = 0;
	msg_stderr = to_stderr;
	msg_prio_prefix = !isatty(STDERR_FILENO);
	closelog();
	openlog(msg_progname, LOG_PID | LOG_NDELAY, msg_facility(facility));
}

void
msg_set_stderr(int to_stderr)
{
	msg_stderr = to_stderr;
}

const char *
msg_stderr_prio(int prio)
{
	static const char *const pfx[] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};

	return isatty(STDERR_FILENO) ? "" : pfx[LOG_PRI(prio)];
}

/*
 * The line is formatted once, into one buffer: "level: text" (and for
 * stderr the "prog[pid]: " or journald's "<N>" prefix and the newline),
 * then handed over in one write(2) or one syslog("%s") call.
 */
static void
msg_vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char buf[2200];
	size_t o = 0;
	int n;

	if (msg_stderr) {
		if (msg_pid == 0)
			msg_pid = (long)getpid();
		if (msg_prio_prefix) /* journald adds the name and pid itself */
			n = snprintf(buf, sizeof(buf), "<%d>", LOG_PRI(prio));
		else
			n = snprintf(buf, sizeof(buf), "%s[%ld]: ", msg_progname, msg_pid);
		o = n > 0 ? (size_t)n : 0;
	}
	if (level) {
		n = snprintf(buf + o, sizeof(buf) - o, "%s: ", level);
		o += n > 0 ? (size_t)n : 0;
	}
	/* the text itself: at most 2047 bytes, as before */
	n = vsnprintf(buf + o, 2048, fmt, ap);
	o += n < 0 ? 0 : n >= 2048 ? 2047 : (size_t)n;
	if (msg_stderr) {
		buf[o++] = '\n';
		if (msg_holding && prio > LOG_CRIT && pthread_equal(pthread_self(), msg_hold_thread)) {
			int first = msg_hold_len == 0;

			if (msg_hold_len + o > sizeof(msg_hold_buf))
				msg_flush();
			memcpy(msg_hold_buf + msg_hold_len, buf, o);
			msg_hold_len += o;
			if (first)
				msg_hold_kick(msg_hold_arg);
			return;
		}
		if (msg_holding && pthread_equal(pthread_self(), msg_hold_thread))
			msg_flush(); /* fatal, panic: what came before them goes first */
		msg_write(buf, o);
	} else {
		buf[o] = 0;
		syslog(prio, "%s", buf);
	}
}

#define MSG_FN(fn, prio, level)                                                                              \
	void fn(const char *fmt, ...)                                                                        \
	{                                                                                                    \
		va_list ap;                                                                                  \
		va_start(ap, fmt);                                                                           \
		msg_vlog(prio, level, fmt, ap);                                                              \
		va_end(ap);                                                                                  \
	}

void
msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (!msg_verbose)
		return;
	va_start(ap, fmt);
	msg_vlog(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

MSG_FN(msg_info, LOG_INFO, NULL)
MSG_FN(msg_warn, LOG_WARNING, "warning")
MSG_FN(msg_error, LOG_ERR, "error")

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_CRIT, "fatal", fmt, ap);
	va_end(ap);
	exit(1);
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_CRIT, "panic", fmt, ap);
	va_end(ap);
	abort();
}
