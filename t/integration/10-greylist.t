#!/bin/bash
# Greylisting through a real Postfix: a first attempt gets 450 4.7.1, a retry
# before the delay 450 again, a retry after the delay 250 and the mail
# arrives with X-Greylist; another sender is greylisted on its own; a /24
# neighbour shares the triplet; with Redis stopped mail is accepted (fail
# open) within the timeout, and greylisting works again once Redis is back.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server redis-cli
rg_need_build

start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
pport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
# greylisting test
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
redis_timeout = 500ms
redis_connect_timeout = 500ms
redis_reconnect_max_backoff = 1s
myhostname = relay.rgtest.invalid
domain_table = domains
premium_greylisting = yes
premium_greylist_delay = 3s
premium_dynamic_ip_blocking = no
# the shipped whitelists
greylist_whitelist_clients = $RG_SRCDIR/conf/greylist_whitelist_clients
greylist_whitelist_recipients = $RG_SRCDIR/conf/greylist_whitelist_recipients
CONF
printf 'example.com premium\ndry.test premium dry_run=yes\n' >"$conf/domains"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_postfix relay \
	"smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }" ||
	BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"
postfix_route relay dry.test "[127.0.0.1]:$(rg_port sink)"

send() { # client-address sender
	swaks_send relay --from "$2" --to alice@example.com --xclient-addr "$1" \
		--xclient-name mail.sender.test --header "Subject: greylist test"
}

send 203.0.113.5 bob@sender.test
is "$SWAKS_CODE" 450 "first attempt is deferred"
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*Greylisted, try again in 3 seconds' "... with 450 4.7.1 and the delay"
send 203.0.113.5 bob@sender.test
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*Greylisted, try again in [0-3] seconds' "a retry before the delay is deferred again"
send 203.0.113.5 Bob+News@Sender.TEST
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*try again in [0-3] seconds' "... an address extension and letter case do not make a new triplet"
send 203.0.113.5 carol@sender.test
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*try again in 3 seconds' "another sender is greylisted on its own"

sleep 3.5
send 203.0.113.5 bob@sender.test
is "$SWAKS_CODE" 250 "a retry after the delay is accepted"
check "... and the mail arrives" sink_wait sink 1 20
msg=$(sink_last sink)
check "... with an X-Greylist header" grep -qE '^X-Greylist: delayed [3-9] seconds by relayguard-policyd at relay\.rgtest\.invalid; ' "$msg"

send 203.0.113.77 bob@sender.test
is "$SWAKS_CODE" 250 "a /24 neighbour shares the triplet"
send 203.0.114.5 bob@sender.test
is "$SWAKS_CODE" 450 "... a client in another /24 does not"

swaks_send relay --from bob@sender.test --to alice@example.com --xclient-addr 209.85.218.41 \
	--xclient-name mail-ej1-f41.google.com
is "$SWAKS_CODE" 250 "a big provider's pool (shipped whitelist) is not greylisted"
swaks_send relay --from bob@sender.test --to postmaster@example.com --xclient-addr 203.0.113.5 \
	--xclient-name mail.sender.test
is "$SWAKS_CODE" 250 "... nor is postmaster@"
plog=$(log_mark policyd)
swaks_send relay --from bob@sender.test --to alice@dry.test --xclient-addr 203.0.113.5 \
	--xclient-name mail.sender.test
is "$SWAKS_CODE" 250 "dry_run = yes: the mail is accepted ..."
check "... and the decision is logged as it would be" log_grep "$plog" 'recipient=<alice@dry\.test> .*action=defer_if_permit code=450 dsn=4\.7\.1 .* dry_run=yes'
check "policyd logged the decisions" grep -qE 'NOQUEUE: greylist: client=mail\.sender\.test\[203\.0\.113\.5\] sender=<bob@sender\.test> recipient=<alice@example\.com> class=premium action=defer_if_permit code=450 dsn=4\.7\.1 text="Greylisted, try again in 3 seconds" delay=3 state=new' "$(rg_log policyd)"

# --- Redis goes away --------------------------------------------------------
rport=$REDIS_PORT
plog=$(log_mark policyd)
stop_redis
t0=$(date +%s.%N)
send 198.51.100.9 dave@sender.test
t1=$(date +%s.%N)
is "$SWAKS_CODE" 250 "Redis stopped: mail is accepted (policy_failure_action = dunno)"
cmp_ok "$(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\", b - a }")" '<' 5 "... within the timeout"
send 198.51.100.10 erin@sender.test
is "$SWAKS_CODE" 250 "... and the next one too"
check "the outage is logged" log_grep "$plog" 'redis: server 127\.0\.0\.1:'"$rport"' unavailable'
is "$(log_count "$plog" 'unavailable')" 1 "... once, not per request"

plog=$(log_mark policyd)
start_redis redis2 "$rport" || BAIL_OUT "redis does not restart"
back() { # wait until greylisting answers again (a new triplet each try)
	local i
	for i in $(seq 1 40); do
		send 198.51.100.11 "frank$1.$i@sender.test"
		[ "$SWAKS_CODE" = 450 ] && return 0
		sleep 0.25
	done
	return 1
}
check "policyd reconnects by itself: greylisting works again" back a
check "... and logs the end of the outage" log_grep "$plog" 'is back after'

# --- Redis hangs (SIGSTOP): every answer still within redis_timeout -----------
kill -STOP "$(rg_pid redis2)"
t0=$(date +%s.%N)
send 198.51.100.13 gina@sender.test
t1=$(date +%s.%N)
is "$SWAKS_CODE" 250 "Redis hung: mail is accepted"
cmp_ok "$(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\", b - a }")" '<' 5 "... within the timeout"
kill -CONT "$(rg_pid redis2)"
check "Redis resumes: greylisting works again" back b
check "policyd is still the same process" kill -0 "$(rg_pid policyd)"

done_testing
