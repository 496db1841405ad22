/*
 * soak-smtp - the SMTP clients of `make soak` (t/soak/run): sends a list
 * of one-recipient messages through a relay from several concurrent
 * clients and records, for every attempt, where the session ended, the
 * reply there and the longest wait for any one reply.
 *
 * Jobs (-j FILE, one a line, fields separated by single spaces):
 *   TOKEN KIND ADDR NAME SENDER RECIPIENT RETRIES
 * KIND is ham (a plain note) or gtube (the GTUBE test string); ADDR/NAME
 * are sent with XCLIENT (the remote client the relay sees); RETRIES is how
 * often a 4xx is retried, after -g seconds. The message carries TOKEN in
 * its Message-ID (<TOKEN@soak.rgtest.invalid>), its Subject and its body.
 *
 * Output (-o FILE): one line per attempt, tab separated:
 *   TOKEN KIND RECIPIENT ATTEMPT FINAL STAGE CODE MAXWAIT_MS START REPLY
 * START is the attempt's wall-clock start (Unix seconds.ms). FINAL is 1 on the job's last attempt. STAGE is the command whose reply
 * ended the attempt (CONNECT EHLO XCLIENT HELO2 MAIL RCPT DATA DOT): DOT
 * with a 2xx CODE means the relay took the message. CODE 000 means no
 * reply: REPLY then says why (timeout, eof, connect error). REPLY is the
 * reply's last line, made printable. MAXWAIT_MS covers every reply of the
 * attempt, QUIT's included.
 *
 * Bounded: -c clients (threads), a job is started no earlier than
 * start + index / -r per second and none after -d seconds; each reply is
 * waited for at most -T seconds. Loopback test tool: the server's replies
 * are trusted only as far as their length (bounded buffer).
 *
 * usage: soak-smtp -s HOST:PORT -j JOBS -o OUT [-c 4] [-r 10] [-d 60]
 *                  [-T 120] [-g 3]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SS_GTUBE "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
#define SS_FIELD 256

struct ss_job {
	char token[64];
	char kind[16];
	char addr[64];
	char name[SS_FIELD];
	char sender[SS_FIELD];
	char rcpt[SS_FIELD];
	int retries;
};

/* One attempt's outcome. */
struct ss_result {
	const char *stage;
	int code;
	long maxwait_ms;
	struct timespec start;
	char reply[512];
};

static struct sockaddr_in ss_sin;
static struct ss_job *ss_jobs;
static size_t ss_njobs, ss_next;
static double ss_start, ss_rate = 10, ss_duration = 60, ss_timeout = 120, ss_gap = 3;
static pthread_mutex_t ss_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *ss_out;

static double
ss_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
ss_sleep(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Copy S into DST (size N) with every non-printable byte as '?'. */
static void
ss_printable(char *dst, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != 0; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = 0;
}

/*
 * Read one reply (all its lines) within the -T timeout. Returns its code,
 * or 0 on timeout/EOF/error with the reason in r->reply. Updates
 * r->maxwait_ms with the time since T0 (when the command was sent).
 */
static int
ss_reply(int fd, struct ss_result *r, double t0)
{
	char buf[4096], *line, *nl;
	size_t n = 0;
	long ms;
	int code = 0;

	for (;;) {
		double left = t0 + ss_timeout - ss_now();
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t got;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) == 0) {
			snprintf(r->reply, sizeof(r->reply), "timeout after %.0f s", ss_timeout);
			break;
		}
		got = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (got <= 0) {
			snprintf(r->reply, sizeof(r->reply), "%s", got == 0 ? "eof" : strerror(errno));
			break;
		}
		n += (size_t)got;
		buf[n] = 0;
		/* complete when a line has "ddd " */
		for (line = buf; (nl = strstr(line, "\r\n")) != NULL; line = nl + 2) {
			if (nl - line >= 3 && line[3] != '-') {
				*nl = 0;
				ss_printable(r->reply, sizeof(r->reply), line);
				code = atoi(line);
				if (code < 100 || code > 599)
					code = 0;
				goto done;
			}
		}
		/* keep only the unfinished line (continuation lines are done) */
		n = strlen(line);
		memmove(buf, line, n + 1);
		if (n >= sizeof(buf) - 1) {
			snprintf(r->reply, sizeof(r->reply), "reply line too long");
			break;
		}
	}
done:
	ms = (long)((ss_now() - t0) * 1000 + 0.5);
	if (ms > r->maxwait_ms)
		r->maxwait_ms = ms;
	return code;
}

/* Send CMD (may be NULL: just read a reply); the reply's code or 0. */
static int
ss_cmd(int fd, struct ss_result *r, const char *stage, const char *cmd)
{
	double t0 = ss_now();
	size_t len, off = 0;

	r->stage = stage;
	if (cmd != NULL) {
		len = strlen(cmd);
		while (off < len) {
			ssize_t w = send(fd, cmd + off, len - off, MSG_NOSIGNAL);

			if (w <= 0) {
				snprintf(r->reply, sizeof(r->reply), "write: %s", strerror(errno));
				return 0;
			}
			off += (size_t)w;
		}
		/* the wait for this reply starts when the command is out */
		t0 = ss_now();
	}
	return r->code = ss_reply(fd, r, t0);
}

/* The message text, dot-stuffing not needed (no line starts with '.'). */
static void
ss_message(char *buf, size_t n, const struct ss_job *j)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(buf, n,
		 "From: <%s>\r\nTo: <%s>\r\nSubject: soak %s\r\nDate: %s\r\n"
		 "Message-ID: <%s@soak.rgtest.invalid>\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		 "Hello,\r\n\r\nthis is soak message %s.\r\n%s\r\n\r\nRegards,\r\nthe soak\r\n.\r\n",
		 j->sender, j->rcpt, j->token, date, j->token, j->token,
		 strcmp(j->kind, "gtube") == 0 ? SS_GTUBE : "Lunch on Friday at noon, as agreed?");
}

/* One SMTP session for job J. */
static void
ss_attempt(const struct ss_job *j, struct ss_result *r)
{
	char cmd[1024], msg[2048];
	double t0 = ss_now();
	int fd, c;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &r->start);
	r->stage = "CONNECT";
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (const struct sockaddr *)&ss_sin, sizeof(ss_sin)) != 0) {
		snprintf(r->reply, sizeof(r->reply), "connect: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if ((r->code = ss_reply(fd, r, t0)) != 220)
		goto quit;
	if (ss_cmd(fd, r, "EHLO", "EHLO soak-client.rgtest.invalid\r\n") != 250)
		goto quit;
	snprintf(cmd, sizeof(cmd), "XCLIENT NAME=%s ADDR=%s\r\n", j->name, j->addr);
	if (ss_cmd(fd, r, "XCLIENT", cmd) != 220)
		goto quit;
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", j->name);
	if (ss_cmd(fd, r, "HELO2", cmd) != 250)
		goto quit;
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", j->sender);
	if (ss_cmd(fd, r, "MAIL", cmd) != 250)
		goto quit;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", j->rcpt);
	if ((c = ss_cmd(fd, r, "RCPT", cmd)) < 200 || c > 299)
		goto quit;
	if (ss_cmd(fd, r, "DATA", "DATA\r\n") != 354)
		goto quit;
	ss_message(msg, sizeof(msg), j);
	ss_cmd(fd, r, "DOT", msg);
quit:
	if (r->code != 0) {
		/* QUIT's wait counts; its reply does not change the outcome */
		struct ss_result q = *r;

		ss_cmd(fd, &q, "QUIT", "QUIT\r\n");
		r->maxwait_ms = q.maxwait_ms;
	}
	close(fd);
}

static void *
ss_client(void *arg)
{
	struct ss_result r;

	(void)arg;
	for (;;) {
		struct ss_job *j;
		size_t i;
		double at;

		pthread_mutex_lock(&ss_lock);
		i = ss_next++;
		pthread_mutex_unlock(&ss_lock);
		at = ss_start + (double)i / ss_rate;
		if (i >= ss_njobs || at > ss_start + ss_duration)
			return NULL;
		ss_sleep(at - ss_now());
		j = &ss_jobs[i];
		for (int a = 1;; a++) {
			int last;

			ss_attempt(j, &r);
			last = a > j->retries || r.code < 400 || r.code > 499 ||
			       ss_now() + ss_gap > ss_start + ss_duration;
			pthread_mutex_lock(&ss_lock);
			fprintf(ss_out, "%s\t%s\t%s\t%d\t%d\t%s\t%03d\t%ld\t%lld.%03ld\t%s\n", j->token,
				j->kind, j->rcpt, a, last, r.stage, r.code, r.maxwait_ms,
				(long long)r.start.tv_sec, r.start.tv_nsec / 1000000, r.reply);
			fflush(ss_out);
			pthread_mutex_unlock(&ss_lock);
			if (last)
				break;
			ss_sleep(ss_gap);
		}
	}
}

/* Read the job file; the number of jobs, or -1 (message on stderr). */
static long
ss_read_jobs(const char *path)
{
	char line[2048];
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	long lineno = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct ss_job j;

		lineno++;
		memset(&j, 0, sizeof(j));
		if (sscanf(line, "%63s %15s %63s %255s %255s %255s %d", j.token, j.kind, j.addr, j.name,
			   j.sender, j.rcpt, &j.retries) != 7 ||
		    j.retries < 0 || j.retries > 10) {
			fprintf(stderr, "soak-smtp: %s:%ld: bad job line\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (ss_njobs == cap) {
			cap = cap ? cap * 2 : 256;
			if ((ss_jobs = realloc(ss_jobs, cap * sizeof(*ss_jobs))) == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		ss_jobs[ss_njobs++] = j;
	}
	fclose(f);
	return (long)ss_njobs;
}

int
main(int argc, char **argv)
{
	const char *server = NULL, *jobs = NULL, *out = NULL;
	char host[64], *colon;
	pthread_t tid[64];
	int ch, nclients = 4;

	while ((ch = getopt(argc, argv, "s:j:o:c:r:d:T:g:")) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'j':
			jobs = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'c':
			nclients = atoi(optarg);
			break;
		case 'r':
			ss_rate = atof(optarg);
			break;
		case 'd':
			ss_duration = atof(optarg);
			break;
		case 'T':
			ss_timeout = atof(optarg);
			break;
		case 'g':
			ss_gap = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (server == NULL || jobs == NULL || out == NULL || nclients < 1 || nclients > 64 || ss_rate <= 0 ||
	    ss_duration < 0 || ss_duration > 86400 || ss_timeout <= 0 || ss_gap < 0 ||
	    strlen(server) >= sizeof(host))
		goto usage;
	strcpy(host, server);
	if ((colon = strrchr(host, ':')) == NULL)
		goto usage;
	*colon = 0;
	memset(&ss_sin, 0, sizeof(ss_sin));
	ss_sin.sin_family = AF_INET;
	ss_sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &ss_sin.sin_addr) != 1)
		goto usage;
	if (ss_read_jobs(jobs) < 0)
		return 2;
	if ((ss_out = fopen(out, "w")) == NULL) {
		perror(out);
		return 2;
	}
	ss_start = ss_now();
	for (int i = 0; i < nclients; i++)
		if (pthread_create(&tid[i], NULL, ss_client, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nclients; i++)
		pthread_join(tid[i], NULL);
	fclose(ss_out);
	free(ss_jobs);
	return 0;
usage:
	fprintf(stderr, "usage: soak-smtp -s HOST:PORT -j JOBS -o OUT [-c clients] [-r per-second] "
			"[-d seconds] [-T reply-timeout] [-g retry-gap]\n");
	return 2;
}
