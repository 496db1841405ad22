/*
 * msg - see msg.h. Lines go to syslog(3) with the configured facility, or to
 * stderr as "progname[pid]: level: text" in foreground mode. When stderr is
 * not a terminal (systemd's journal, a pipe, a file) each stderr line is
 * "<N>level: text", N the syslog(3) priority: journald (SyslogLevelPrefix=,
 * on by default) takes the level from it, adds the name and pid itself, and
 * the unit's SyslogFacility=mail gives the facility, so "journalctl -p
 * warning" and rsyslog's mail.log see the lines as syslog(3) would have.
 */
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

static void
msg_vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (msg_stderr) {
		if (msg_pid == 0)
			msg_pid = (long)getpid();
		if (msg_prio_prefix) /* journald adds the name and pid itself */
			fprintf(stderr, "<%d>%s%s%s\n", LOG_PRI(prio), level ? level : "", level ? ": " : "",
				buf);
		else if (level)
			fprintf(stderr, "%s[%ld]: %s: %s\n", msg_progname, msg_pid, level, buf);
		else
			fprintf(stderr, "%s[%ld]: %s\n", msg_progname, msg_pid, buf);
	} else {
		if (level)
			syslog(prio, "%s: %s", level, buf);
		else
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
