/*
 * main_drain (prefix mdrain_) - how relayguard-milter stops: promptly, and without cutting the
 * SMTP sessions it is filtering.
 *
 * libmilter's listener polls its socket with a 5 s timeout (MI_CHK_TIME)
 * holding a lock, and smfi_stop() sets its flag and then waits for that
 * lock to close the socket: a stop used to take 0-5 s (about 4 s measured)
 * for no reason. mdrain_stop calls smfi_stop in a helper thread and
 * meanwhile connects to the milter's own socket (mdrain_wake) until
 * smfi_main has returned: each connection ends one poll, the listener sees
 * the flag, the socket is closed and smfi_main returns at once. Sessions already open go on in their threads; mdrain_open() counts
 * them (wrapped callbacks: a connection counts from the callback that gave
 * it a private context to the one that cleared it) so main can wait for
 * them for up to drain_timeout.
 *
 * Contract: mdrain_filter, mdrain_fds_before and mdrain_listener are called
 * once from main before smfi_main; mdrain_open and mdrain_wake from any
 * thread. The wrapped description and the counter are process-wide (libmilter
 * callbacks carry no argument), written only before smfi_main starts.
 */
#ifndef RG_MILTER_MDRAIN_H
#define RG_MILTER_MDRAIN_H

#include <stdatomic.h>

#include <libmilter/mfapi.h>

/* The description to register: inner's, with session counting. */
struct smfiDesc *mdrain_filter(const struct smfiDesc *inner);
/* Sessions open now. */
int mdrain_open(void);

/* Finding libmilter's listening socket (it does not say): the descriptors
 * open before smfi_opensocket, then the new one that accepts. */
#define MDRAIN_MAXFD 1024
struct mdrain_fds {
	unsigned char open[MDRAIN_MAXFD / 8];
};
void mdrain_fds_before(struct mdrain_fds *f);
/* The listening socket opened since f, or -1. */
int mdrain_listener(const struct mdrain_fds *f);
/*
 * TCP_NODELAY on a TCP listener (accepted sessions inherit it): at the end
 * of a message libmilter writes each header change as its own small write
 * before the reply, and with Nagle the second one waits for Postfix's
 * delayed ACK, 40 ms a message. Nothing for a unix socket or lfd < 0.
 */
void mdrain_nodelay(int lfd);
/* smfi_stop() and wake the listener until *done (smfi_main returned) or
 * max_ms. Returns the number of wake-up connections made. */
int mdrain_stop(int lfd, const char *unix_path, const atomic_int *done, long long max_ms);
/* Connect once to the listener (unix_path when it is a unix socket, else
 * lfd's address, a wildcard one as loopback) and close. Returns 0 or -1. */
int mdrain_wake(int lfd, const char *unix_path);

#endif
