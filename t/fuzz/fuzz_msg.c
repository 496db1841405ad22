/*
 * fuzz_msg - the msg module for the fuzz harnesses (see fuzz.h): the same
 * functions as src/msg.c, but each line is formatted, checked for control
 * characters, counted and dropped (printed when FUZZ_LOG is set).
 * msg_fatal() and msg_panic() are failures: the code under test must map bad
 * input to an error, never end the process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "msg.h"

/* Declared by newer msg.h versions; defined here so msg.o is never pulled in. */
const char *msg_stderr_prio(int prio);

int msg_verbose;
unsigned long fuzz_log_lines;

int
fuzz_has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 1;
	return 0;
}

static void
fuzz_vlog(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n;

	fuzz_log_lines++;
	if (getenv("FUZZ_LOG"))
		fprintf(stderr, "log %s: %s\n", level, buf);
	FUZZ_ASSERT(!fuzz_has_ctl(buf, len), "control character in a %s log line: \"%.200s\"", level, buf);
}

void
msg_init(const char *progname, int to_stderr, const char *facility)
{
	(void)progname, (void)to_stderr, (void)facility;
}

void
msg_set_stderr(int to_stderr)
{
	(void)to_stderr;
}

const char *
msg_stderr_prio(int prio)
{
	(void)prio;
	return "";
}

/* Lines are checked and dropped as they come: nothing is ever held. */
void
msg_hold(void (*kick)(void *), void *arg)
{
	(void)kick, (void)arg;
}

void
msg_flush(void)
{
}

#define FUZZ_MSG_FN(fn, level)                                                                               \
	void fn(const char *fmt, ...)                                                                        \
	{                                                                                                    \
		va_list ap;                                                                                  \
		va_start(ap, fmt);                                                                           \
		fuzz_vlog(level, fmt, ap);                                                                   \
		va_end(ap);                                                                                  \
	}
FUZZ_MSG_FN(msg_debug, "debug")
FUZZ_MSG_FN(msg_info, "info")
FUZZ_MSG_FN(msg_warn, "warning")
FUZZ_MSG_FN(msg_error, "error")

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vlog("fatal", fmt, ap);
	va_end(ap);
	FUZZ_ASSERT(0, "msg_fatal called on bad input");
	abort();
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vlog("panic", fmt, ap);
	va_end(ap);
	FUZZ_ASSERT(0, "msg_panic called");
	abort();
}
