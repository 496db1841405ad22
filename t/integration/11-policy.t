#!/bin/bash
# The policy side through a real Postfix: an outbound client over a lowered
# limit gets 450 while another does not, and is accepted again once the
# window slides; an unregistered IP cannot relay; two policyd processes on
# one Redis share one counter; a dynamic-looking client is refused with 550
# while a static-looking one passes; a DNSBL hit from a DNS server on
# loopback; a message over the class size gets 552 while the other class
# accepts it; -t reports a broken file with file:line; -q resolves classes.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server dnsmasq
rg_need_build

start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
start_dnsmasq dns $(dnsbl_record pbl.test 203.0.113.7 127.0.0.11) --local=/pbl.test/ ||
	BAIL_OUT "no dnsmasq"
p1=$(rg_free_port)
p2=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
mkconf() { # port pidfile
	cat <<CONF
policyd_listen = inet:127.0.0.1:$1
policyd_pidfile = $2
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
client_table = clients
dns_server = 127.0.0.1:$DNS_PORT
dynamic_ip_dnsbl_timeout = 2s
# the service's classes, with small numbers for a test
premium_rate_limits = 500/1h, 5000/1d
premium_message_size_limit = 20k
standard_message_size_limit = 10k
premium_dynamic_ip_dnsbl = pbl.test=127.0.0.10|127.0.0.11
dynamic_ip_patterns = dynamic_ip_patterns
# no relayguard-milter in these relays: policyd counts at END-OF-MESSAGE,
# and a session that quits after RCPT holds its place for the lifetime
rate_limit_commit = policyd
rate_limit_reservation_lifetime = 10s
CONF
}
mkconf "$p1" "$conf/p1.pid" >"$conf/relayguard.conf"
mkconf "$p2" "$conf/p2.pid" >"$conf/relayguard2.conf"
cat >"$conf/dynamic_ip_patterns" <<PATTERNS
# a customer's real mail server on a DSL-looking name: an admin's exception
!/^dsl-203-0-113-9\.dyn\.example\.net\$/  customer server, ticket 4711
/^gw[0-9]+\.home\.example\.org\$/  end-user routers of a local ISP
PATTERNS
cat >"$conf/domains" <<TABLE
example.com  premium
std.test     standard
TABLE
cat >"$conf/clients" <<TABLE
# a customer with a lowered limit, and one with the class's limits
192.0.2.10   premium  rate_limits=3/10s
192.0.2.11   premium
TABLE

"$RG_BUILD/relayguard-policyd" -t -c "$conf/relayguard.conf"
is $? 0 "-t accepts the configuration"
q=$("$RG_BUILD/relayguard-policyd" -q 192.0.2.10 -c "$conf/relayguard.conf")
like "$q" 'outbound client.*class premium' "-q shows a client's class"
like "$q" 'rate_limits = 3/10s' "... and its entry override"
like "$("$RG_BUILD/relayguard-policyd" -q std.test -c "$conf/relayguard.conf")" 'message_size_limit = 10k' \
	"-q shows a domain's class settings"
printf 'bad.test  nosuchclass\n' >>"$conf/domains"
out=$("$RG_BUILD/relayguard-policyd" -t -c "$conf/relayguard.conf" 2>&1)
isnt $? 0 "-t fails on a broken table"
like "$out" 'domains:3: .*nosuchclass' "... naming file:line"
sed -i '$d' "$conf/domains"

start_policyd "$conf/relayguard.conf" p1 || BAIL_OUT "policyd does not start"
start_policyd "$conf/relayguard2.conf" p2 || BAIL_OUT "second policyd does not start"
for r in relay relay2; do
	port=$p1
	[ $r = relay2 ] && port=$p2
	start_postfix $r \
		"smtpd_relay_restrictions = check_policy_service { inet:127.0.0.1:$port, default_action=DUNNO, timeout=10s }, reject_unauth_destination" \
		"smtpd_end_of_data_restrictions = check_policy_service { inet:127.0.0.1:$port, default_action=DUNNO, timeout=10s }" \
		"relayhost = [127.0.0.1]:$(rg_port sink)" || BAIL_OUT "no Postfix $r"
	postfix_route $r example.com "[127.0.0.1]:$(rg_port sink)"
	postfix_route $r std.test "[127.0.0.1]:$(rg_port sink)"
done

out() { # relay client
	swaks_send "$1" --from info@customer.test --to someone@remote.test --xclient-addr "$2" \
		--xclient-name mail.customer.test --header "Subject: outbound"
}

# --- outbound: relay permission and rate limits ------------------------------
for i in 1 2 3; do
	out relay 192.0.2.10
	codes="$codes $SWAKS_CODE"
done
is "$codes" " 250 250 250" "a registered client relays up to its limit (3 per 10s)"
out relay 192.0.2.10
is "$SWAKS_CODE" 450 "... the next one gets 450"
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*Rate limit exceeded: 3 messages per 10s for client 192\.0\.2\.10, try again in ' \
	"... before DATA, naming the limit and when to retry"
out relay 192.0.2.11
is "$SWAKS_CODE" 250 "another client is not affected"
out relay 203.0.113.50
like "$SWAKS_CODE" '^(454|554)$' "an unregistered IP cannot relay"
like "$(swaks_reply_to RCPT)" 'Relay access denied' "... Postfix's own relay restrictions refuse it"
check "after the window slides the client is accepted again" \
	wait_until 15 sh -c "swaks --server 127.0.0.1:$(rg_port relay) --from a@customer.test --to b@remote.test --xclient-addr 192.0.2.10 --quit-after RCPT 2>&1 | grep -q '^<- *250 2.1.5'"

# Two policyd processes, one Redis: one counter (limit 3 per 10 s).
# (its counted buckets, and the reservation the --quit-after RCPT session
# above left behind, a field of the same hash)
check "wait for a fresh window" wait_until 25 sh -c "test -z \"\$(redis-cli -p $REDIS_PORT --scan --pattern 'rg:r*:*192.0.2.10*' | xargs -r redis-cli -p $REDIS_PORT hvals 2>/dev/null | grep -v '^0$')\""
out relay 192.0.2.10
c1=$SWAKS_CODE
out relay2 192.0.2.10
c2=$SWAKS_CODE
out relay 192.0.2.10
c3=$SWAKS_CODE
out relay2 192.0.2.10
is "$c1 $c2 $c3 $SWAKS_CODE" "250 250 250 450" "two relay nodes share one counter"

# --- inbound: dynamic IPs and DNSBL ------------------------------------------
inbound() { # client-addr client-name [to [swaks args]]
	local a=$1 n=$2 to=${3:-alice@example.com}
	shift $(($# < 3 ? $# : 3))
	swaks_send relay --from someone@remote.test --to "$to" --xclient-addr "$a" \
		--xclient-name "$n" --header "Subject: inbound" "$@"
}
inbound 203.0.113.5 dsl-203-0-113-5.dyn.example.net
is "$SWAKS_CODE" 550 "a dynamic-looking client is refused"
like "$(swaks_reply_to RCPT)" '^550 5\.7\.1 .*dynamic' "... with 550 5.7.1 naming the reason"
inbound 203.0.113.6 mail.example.org
is "$SWAKS_CODE" 250 "a static-looking client passes"
inbound 203.0.113.9 dsl-203-0-113-9.dyn.example.net
is "$SWAKS_CODE" 250 "an exception in dynamic_ip_patterns lets a dynamic-looking customer server through"
inbound 203.0.113.10 gw17.home.example.org
is "$SWAKS_CODE" 550 "an admin's /regex/ in dynamic_ip_patterns refuses a name the heuristics pass"
inbound 203.0.113.11 '[UNAVAILABLE]'
is "$SWAKS_CODE" 450 "a client without reverse DNS gets 450 (it may be a DNS timeout), not 550"
like "$(swaks_reply_to RCPT)" '^450 4\.7\.25 ' "... 4.7.25"
inbound 203.0.113.7 mx.listed.example
is "$SWAKS_CODE" 550 "a client listed in the DNSBL is refused"
like "$(swaks_reply_to RCPT)" '^550 5\.7\.1 .*pbl\.test' "... naming the zone"
inbound 203.0.113.8 mx.unlisted.example
is "$SWAKS_CODE" 250 "an unlisted client passes"

# --- message size per class --------------------------------------------------
big=$(head -c 15000 /dev/zero | tr '\0' 'x' | fold -w 70)
p1log=$(log_mark p1)
inbound 203.0.113.6 mail.example.org bob@std.test --body "$big"
like "$(swaks_reply_to .)" '^552 5\.3\.4 ' "15k to the standard class (10k) gets 552 5.3.4 at end of data"
inbound 203.0.113.6 mail.example.org alice@example.com --body "$big"
is "$SWAKS_CODE" 250 "... while the premium class (20k) accepts it"
check "policyd logged one line per decision" log_grep "$p1log" 'size: client=.* class=standard action=reject code=552 dsn=5\.3\.4 text="[^"]*" size=[0-9]+ limit=10240'

# --- Redis down: outbound customers still relay (never 554) ----------------
stop_redis
out relay 192.0.2.11
is "$SWAKS_CODE" 250 "Redis down: a registered client still relays (policy_failure_action = dunno means OK outbound)"
inbound 203.0.113.6 mail.example.org
is "$SWAKS_CODE" 250 "... and inbound mail is accepted"

done_testing
