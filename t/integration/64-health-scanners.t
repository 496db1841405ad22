#!/bin/bash
# The milter's /health watches its content scanners, with a real clamd, a
# real spamd and redis-server: virus scanning is on for a class and both
# clamd_server addresses are closed ports, so /health turns 503 saying
# "clamd all 2 servers down" (spamd has one server of two up: that is
# healthy) and relayguard_milter_scanner_up shows each server; when a real
# clamd comes up on one of the two ports, /health is "ok" again and its
# gauge 1; clamd stopped again: 503 again. Messages' own scans count too: a
# message sent while clamd is down is answered with virus_failure_action
# and the server stays 0. A reload that switches virus scanning off makes
# the down clamd no concern of /health, and takes its servers off the gauge;
# so does a reload that removes a spamd server. No waits on the clock: each wait
# re-asks /health.
. "$(dirname "$0")/../lib/harness.sh"

rg_need redis-server curl clamd spamd spamc postfix swaks smtp-sink
rg_need_build

start_redis || BAIL_OUT "no redis"
start_spamd || BAIL_OUT "no spamd"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
c1=$(rg_free_port)
c2=$(rg_free_port)
sdown=$(rg_free_port)
mport=$(rg_free_port)
mmet=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf" "$RG_TMP/spool" && chmod 1777 "$RG_TMP/spool"
write_conf() { # premium_virus_scan [spamd_server]
	cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_metrics_listen = inet:127.0.0.1:$mmet
milter_tmpdir = $RG_TMP/spool
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$REDIS_PORT
spamd_server = ${2:-127.0.0.1:$sdown, 127.0.0.1:$SPAMD_PORT}
spamd_timeout = 20s
clamd_server = 127.0.0.1:$c1, 127.0.0.1:$c2
clamd_timeout = 3s
scanner_down_backoff = 1s
domain_table = domains
premium_virus_scan = $1
premium_spam_scan = yes
CONF
}
write_conf yes
echo "virus.test  premium" >"$conf/domains"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
wait_port 127.0.0.1 "$mmet" 10 || BAIL_OUT "milter metrics do not listen"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = accept" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
postfix_route relay virus.test "[127.0.0.1]:$(rg_port sink)"

health() { curl -s --max-time 10 -o "$RG_TMP/health.body" -w '%{http_code}' "http://127.0.0.1:$mmet/health"; }
health_is() { [ "$(health)" = "$1" ]; }
body() { cat "$RG_TMP/health.body"; }
# up SCANNER PORT: relayguard_milter_scanner_up for 127.0.0.1:PORT ("" when absent).
up() {
	curl -s --max-time 10 "http://127.0.0.1:$mmet/metrics" |
		awk -v k="relayguard_milter_scanner_up{scanner=\"$1\",server=\"inet:127.0.0.1:$2\"}" '$1 == k { print $2 }'
}
up_is() { [ "$(up "$1" "$2")" = "$3" ]; }

# --- every clamd down ----------------------------------------------------------
check "no clamd listens: milter /health turns 503" wait_until 20 health_is 503
like "$(body)" "^clamd all 2 servers down: inet:127\\.0\\.0\\.1:$c1: .*; inet:127\\.0\\.0\\.1:$c2: " \
	"... saying every clamd server is down, each with its reason"
is "$(wc -l <"$RG_TMP/health.body")" 1 "... on one line"
is "$(up clamd "$c1") $(up clamd "$c2")" "0 0" "scanner_up is 0 for both clamd servers"
check "... spamd: 1 for the one that answers" wait_until 20 up_is spamd "$SPAMD_PORT" 1
is "$(up spamd "$sdown")" 0 "... 0 for the one that does not (one spamd up is healthy)"

n=$(log_mark milter)
swaks_send relay --from a@remote.test --to alice@virus.test --xclient-addr 198.51.100.20 \
	--xclient-name mail.remote.test --header "Subject: while down"
like "$(swaks_reply_to .)" '^451 4\.7\.1' "a message while clamd is down gets virus_failure_action (tempfail)"
check "... its scan tried the clamd servers" log_wait "$n" "virus=unscanned .*clamd=inet:127\\.0\\.0\\.1:" 10
is "$(up clamd "$c2")" 0 "... which stay down"

# --- a real clamd on the second port -------------------------------------------
start_clamd clamd "$c2" || BAIL_OUT "no clamd on port $c2"
check "clamd answers on one port: /health is 200 again" wait_until 30 health_is 200
is "$(body)" ok "... ok"
is "$(up clamd "$c2")" 1 "... scanner_up of that server is 1"
is "$(up clamd "$c1")" 0 "... the other is still 0"
swaks_send relay --from a@remote.test --to alice@virus.test --xclient-addr 198.51.100.20 \
	--xclient-name mail.remote.test --header "Subject: eicar" --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 .*RG-Test\.EICAR' "... and it scans: EICAR is refused"

# --- down again, then not in use -------------------------------------------------
stop_clamd clamd
check "clamd stopped again: 503 again" wait_until 20 health_is 503
like "$(body)" '^clamd all 2 servers down' "... clamd down"
write_conf no
n=$(log_mark milter)
kill -USR1 "$(rg_pid milter)"
check "reload with virus scanning off" log_wait "$n" 'reload' 10
check "... a clamd that is down is no concern of /health when no class scans for viruses" \
	wait_until 20 health_is 200
clamd_gone() { [ -z "$(up clamd "$c1")$(up clamd "$c2")" ]; }
check "... and its servers leave relayguard_milter_scanner_up" wait_until 20 clamd_gone
is "$(up spamd "$SPAMD_PORT")" 1 "... spamd's stay"

# --- a server removed by a reload leaves the gauge ------------------------------
write_conf no "127.0.0.1:$SPAMD_PORT"
n=$(log_mark milter)
kill -USR1 "$(rg_pid milter)"
check "reload without the spamd that is down" log_wait "$n" 'reload' 10
sdown_gone() { [ -z "$(up spamd "$sdown")" ]; }
check "... it leaves relayguard_milter_scanner_up (no alert for a server nobody uses)" \
	wait_until 20 sdown_gone
is "$(up spamd "$SPAMD_PORT")" 1 "... the remaining spamd is still 1"

done_testing
