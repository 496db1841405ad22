/*
 * session - relayguard-milter's libmilter callbacks, with the connection
 * context (client, one per SMTP connection) kept apart from the message
 * context (sender, recipients, settings, buffered message; one per
 * transaction).
 *
 * Settings: a message takes the configuration snapshot current at MAIL
 * FROM and keeps it to the end, whatever a reload does meanwhile.
 * Outbound (client in client_table): the client's entry decides.
 * Inbound: the first recipient in domain_table decides; a later recipient
 * whose filtering settings differ is tempfailed with 452 4.5.3, so one
 * customer's settings never decide another customer's mail.
 *
 * Recipient callout (recipient_callout = yes for the recipient's domain):
 * callout_verify.h decides at RCPT, before that recipient may decide the message's
 * settings; the message's callout session closes at DATA (or at the first
 * header, end of message, abort).
 *
 * X-Spam-* (and X-Relayguard-Scan) headers a message brought are deleted
 * for every message with a customer's settings -- inbound whether or not
 * its class scans, outbound when it scans -- since only ours may be
 * trusted. dry_run (of the deciding class) turns every refusal here into
 * a "dry_run: would ..." log line and lets the message go on.
 *
 * Addresses are taken whole (up to SESS_ADDR_MAX, far over what Postfix
 * passes); a longer one, or a domain over DNS's limits, is refused with
 * 501 5.1.3 rather than cut into something no check recognises.
 *
 * Contract: libmilter calls one context from one thread at a time; the
 * snapshot pointer is shared and swapped under a mutex (session_set_config).
 */
#ifndef RG_MILTER_SESSION_H
#define RG_MILTER_SESSION_H

#include <libmilter/mfapi.h>

#include "config.h"

/* Install a new configuration snapshot (takes over the reference). */
void session_set_config(struct rg_config *cfg);
struct verify;
/* The recipient callout's process-wide state (NULL: no callouts); set it before smfi_main. */
void session_set_verify(struct verify *v);
/* A referenced snapshot (release with rg_config_unref), NULL before session_set_config. */
struct rg_config *session_config(void);
/* The filter description for smfi_register. */
struct smfiDesc *session_filter(void);

#endif
