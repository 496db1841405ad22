#!/bin/bash
# relayguard-policyd's dry_run changes nothing Postfix sees: a registered
# outbound client over its limit is still answered OK (DUNNO would make
# Postfix answer "554 Relay access denied"), an inbound recipient that would
# be greylisted gets DUNNO, and the log says what would have been answered.
# With -v, CR and ESC in any request attribute never reach the log raw: no
# control byte in the log, no forged log line.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server nc
rg_need_build

start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
port=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$port
policyd_pidfile = $conf/policyd.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
client_table = clients
premium_greylisting = yes
premium_dynamic_ip_blocking = no
CONF
cat >"$conf/domains" <<TABLE
dry.test  premium  dry_run=yes
TABLE
cat >"$conf/clients" <<TABLE
192.0.2.20  premium  rate_limits=1/1h dry_run=yes
192.0.2.21  premium  rate_limits=1/1h
TABLE
RG_POLICYD_ARGS=-v start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
log=$(rg_log policyd)
start_postfix relay \
	"smtpd_relay_restrictions = check_policy_service { inet:127.0.0.1:$port, default_action=DUNNO, timeout=10s }, reject_unauth_destination" \
	"smtpd_end_of_data_restrictions = check_policy_service { inet:127.0.0.1:$port, default_action=DUNNO, timeout=10s }" \
	"relayhost = [127.0.0.1]:$(rg_port sink)" || BAIL_OUT "no Postfix"
postfix_route relay dry.test "[127.0.0.1]:$(rg_port sink)"

out() { # client
	swaks_send relay --from info@customer.test --to someone@remote.test --xclient-addr "$1" \
		--xclient-name mail.customer.test --header "Subject: outbound"
}

# --- dry_run, outbound -------------------------------------------------------
out 192.0.2.20
is "$SWAKS_CODE" 250 "dry_run: an outbound client within its limit relays"
before=$(wc -c <"$log")
out 192.0.2.20
is "$SWAKS_CODE" 250 "dry_run: over its limit it still relays (OK, not DUNNO -> 554)"
check "... and the log says it would have answered 450, and sent OK" \
	grep -qE 'ratelimit: client=.*\[192\.0\.2\.20\] .*action=defer code=450 dsn=4\.7\.1 .*dry_run=yes sent=ok' \
	<(tail -c +$((before + 1)) "$log")
out 192.0.2.21
out 192.0.2.21
is "$SWAKS_CODE" 450 "without dry_run the same limit defers the second message"

# --- dry_run, inbound --------------------------------------------------------
swaks_send relay --from a@remote.test --to bob@dry.test --xclient-addr 198.51.100.7 \
	--xclient-name mx.remote.test
is "$SWAKS_CODE" 250 "dry_run: an inbound recipient that would be greylisted is accepted"
check "... logged with dry_run=yes sent=dunno" \
	grep -qE 'recipient=<bob@dry\.test> .*action=defer_if_permit .*dry_run=yes sent=dunno' "$log"

# --- a recipient domain no lookup can match is refused, not waved through -----
label=$(printf 'a%.0s' {1..70})
got=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.100.9\nclient_name=mx.remote.test\nsender=a@remote.test\nrecipient=x@%s.dry.test\n\n' \
	"$label" | timeout 5 nc -q 1 127.0.0.1 "$port")
like "$got" '^action=501 5\.1\.3 ' "a recipient domain with a 70-byte label gets 501 5.1.3 from the policy service"

# --- -v: control bytes in every attribute -----------------------------------
attrs="request protocol_state protocol_name client_address client_name reverse_client_name helo_name
sender recipient instance size sasl_username sasl_method ccert_subject queue_id"
forge=$'x\rFORGED: policy: client=evil\x1b[2Ky'
before=$(wc -c <"$log")
for a in $attrs; do
	{
		for b in request protocol_state client_address client_name reverse_client_name sender recipient instance size; do
			[ "$b" = "$a" ] && continue
			case $b in
			request) v=smtpd_access_policy ;;
			protocol_state) v=RCPT ;;
			client_address) v=198.51.100.9 ;;
			client_name | reverse_client_name) v=mx.remote.test ;;
			sender) v=a@remote.test ;;
			recipient) v=bob@dry.test ;;
			instance) v=1.2.3 ;;
			size) v=10 ;;
			esac
			printf '%s=%s\n' "$b" "$v"
		done
		printf '%s=%s\n\n' "$a" "$forge"
	} | timeout 5 nc -q 1 127.0.0.1 "$port" >/dev/null
done
# one END-OF-MESSAGE request too (the other path through the debug lines)
printf 'request=smtpd_access_policy\nprotocol_state=END-OF-%s\ninstance=%s\nsize=%s\nclient_address=192.0.2.20\n\n' \
	"$forge" "$forge" "$forge" | timeout 5 nc -q 1 127.0.0.1 "$port" >/dev/null
printf 'request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\ninstance=%s\nsize=%s\nclient_address=192.0.2.20\n\n' \
	"$forge" "$forge" | timeout 5 nc -q 1 127.0.0.1 "$port" >/dev/null
kill -0 "$(rg_pid policyd)"
is $? 0 "policyd survives control bytes in every attribute"
new=$(tail -c +$((before + 1)) "$log" | od -An -c | tr -s ' \n' ' ')
cmp_ok "$(tail -c +$((before + 1)) "$log" | wc -l)" ">" 10 "-v logged those requests"
is "$(tail -c +$((before + 1)) "$log" | tr -cd '\r\033' | wc -c)" 0 "... without a raw CR or ESC byte in the log"
is "$(tail -c +$((before + 1)) "$log" | grep -c '^FORGED')" 0 "... and without a forged line"
[ -n "${RG_VERBOSE:-}" ] && diag "$new"

done_testing
