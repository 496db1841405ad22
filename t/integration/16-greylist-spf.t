#!/bin/bash
# SPF-aware greylisting (greylist_spf = yes) through a real Postfix, with the
# sender domains' SPF records served by dnsmasq on loopback (dns_server): two
# client addresses in different /24s of one SPF-authorised pool share one
# triplet "spf:<domain>" (the retry from the second address after the delay
# passes without waiting again); a client the record does not authorise
# keeps its own network triplet, and so does a domain without SPF and a
# class with greylist_spf = no; the milter, which greylists after the
# callout for recipient_callout domains, keys the same triplets; with the
# DNS server stopped or hung the request is answered within
# greylist_spf_timeout with the network triplet (never a refusal), and SPF
# counts again once DNS is back.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server redis-cli dnsmasq
rg_need_build

start_dnsmasq --local=/test/ \
	"--txt-record=pool.test,v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.0/24 -all" \
	"--txt-record=other.test,v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.0/24 -all" ||
	BAIL_OUT "no dnsmasq"
like "$(dns_query pool.test TXT)" 'v=spf1 ip4:203' "the test DNS serves pool.test's SPF record"
start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
pport=$(rg_free_port)
mport=$(rg_free_port)
pmet=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
milter_listen = inet:$mport@127.0.0.1
policyd_metrics_listen = inet:127.0.0.1:$pmet
milter_pidfile = $conf/milter.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
myhostname = relay.rgtest.invalid
dns_server = 127.0.0.1:$DNS_PORT
greylist_spf_timeout = 1s
domain_table = domains
greylisting = yes
greylist_delay = 3s
dynamic_ip_blocking = no
premium_greylist_spf = yes
CONF
cat >"$conf/domains" <<TABLE
example.com   premium
plain.test    standard
callout.test  premium  recipient_callout=yes nexthop=[127.0.0.1]:$(rg_port sink)
TABLE
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
start_postfix relay \
	"smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }" \
	"smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" "milter_protocol = 6" ||
	BAIL_OUT "no relay Postfix"
for d in example.com plain.test callout.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done

send() { # client-address sender [recipient]
	swaks_send relay --from "$2" --to "${3:-alice@example.com}" --xclient-addr "$1" \
		--xclient-name mail.sender.test --header "Subject: spf greylist test"
}
keys() { redis_cli --scan --pattern "$1" | wc -l; }

# --- one pool, two networks, one triplet ------------------------------------
plog=$(log_mark policyd)
send 203.0.113.5 bob@pool.test
is "$SWAKS_CODE" 450 "an SPF-authorised client's first attempt is greylisted"
check "... its triplet is the sender domain's SPF identity" \
	log_grep "$plog" 'client=mail\.sender\.test\[203\.0\.113\.5\] sender=<bob@pool\.test> .*state=new spf=pass spf_domain=pool\.test triplet=spf:pool\.test'
is "$(keys 'rg:g:{spf:pool.test}:*')" 1 "... one triplet key under {spf:pool.test} in Redis"
is "$(keys 'rg:g:{203.0.113.0/24}:*')" 0 "... and none under the client's network"
ctl() { "$RG_BUILD/relayguardctl" -c "$conf/relayguard.conf" "$@"; }
if [ -x "$RG_BUILD/relayguardctl" ]; then
	like "$(ctl greylist list spf:Pool.Test)" 'spf:pool\.test.*bob@pool\.test.*alice@example\.com.*pending' \
		"relayguardctl greylist list spf:DOMAIN shows the triplet"
	like "$(ctl greylist list)" 'spf:pool\.test' "... and the whole listing names its network spf:pool.test"
else
	skip 2 "no relayguardctl"
fi

send 198.51.100.7 bob@pool.test
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*try again in [0-3] seconds' \
	"another address of the pool (another /24) before the delay: the same triplet, still waiting"
sleep 3.5
plog=$(log_mark policyd)
send 198.51.100.7 bob@pool.test
is "$SWAKS_CODE" 250 "... after the delay the retry from the other /24 passes without waiting again"
check "... logged as the pass of the shared triplet" \
	log_grep "$plog" 'client=mail\.sender\.test\[198\.51\.100\.7\] .*state=pass spf=pass spf_domain=pool\.test.* triplet=spf:pool\.test'
check "... and the mail arrives" sink_wait sink 1 20
send 203.0.113.200 bob@pool.test
is "$SWAKS_CODE" 250 "... and the first network is past the wait too"

# --- not authorised, no SPF, SPF off: the network -----------------------------
plog=$(log_mark policyd)
send 192.0.2.5 bob@pool.test
is "$SWAKS_CODE" 450 "a client pool.test's SPF does not authorise does not share the triplet"
check "... it is greylisted on its network (spf=fail)" \
	log_grep "$plog" 'client=mail\.sender\.test\[192\.0\.2\.5\] .*state=new spf=fail spf_domain=pool\.test'
unlike "$(log_since "$plog")" 'triplet=spf:' "... without an SPF identity"
is "$(keys 'rg:g:{192.0.2.0/24}:*')" 1 "... its triplet is under {192.0.2.0/24}"

send 203.0.113.5 carol@nospf.test
is "$SWAKS_CODE" 450 "a sender domain without SPF is greylisted"
sleep 3.5
send 198.51.100.7 carol@nospf.test
is "$SWAKS_CODE" 450 "... and its retry from another /24 is a new triplet (spf=none: the networks)"

send 203.0.113.5 dave@other.test bob@plain.test
is "$SWAKS_CODE" 450 "a class with greylist_spf = no (standard) greylists ..."
sleep 3.5
plog=$(log_mark policyd)
send 198.51.100.7 dave@other.test bob@plain.test
is "$SWAKS_CODE" 450 "... and a retry from another /24 waits again, SPF pass or not"
unlike "$(log_since "$plog")" 'spf=' "... without asking SPF"

# --- the milter greylists after the callout (recipient_callout): the same triplets ---
mlog=$(log_mark milter)
send 203.0.113.5 bob@pool.test alice@callout.test
is "$SWAKS_CODE" 450 "a callout domain (greylisted by the milter): the first attempt is greylisted"
check "... by the SPF identity" \
	log_grep "$mlog" 'milter: greylist: .*recipient=<alice@callout\.test> .*state=new spf=pass spf_domain=pool\.test triplet=spf:pool\.test'
sleep 3.5
send 198.51.100.7 bob@pool.test alice@callout.test
is "$SWAKS_CODE" 250 "... and the retry from the pool's other /24 passes without waiting again"

# --- the DNS server fails ------------------------------------------------------
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
kill -STOP "$(rg_pid dns)"
plog=$(log_mark policyd)
t0=$(date +%s.%N)
send 203.0.113.11 gina@pool.test
t1=$(date +%s.%N)
kill -CONT "$(rg_pid dns)"
is "$SWAKS_CODE" 450 "DNS server hung: greylisted as usual (never refused)"
cmp_ok "$(elapsed "$t0" "$t1")" '<' 4 "... answered within the timeout (greylist_spf_timeout = 1s)"
check "... with the network triplet, SPF logged as temperror" \
	log_grep "$plog" 'sender=<gina@pool\.test> .*state=new spf=temperror'
unlike "$(log_since "$plog")" 'triplet=spf:' "... not the SPF identity"

plog=$(log_mark policyd)
send 203.0.113.12 frank@pool.test
is "$SWAKS_CODE" 450 "DNS answers again: greylisted ..."
check "... by the SPF identity again" log_grep "$plog" 'sender=<frank@pool\.test> .*spf=pass .*triplet=spf:pool\.test'

stop_dnsmasq
nets=$(keys 'rg:g:{203.0.113.0/24}:*')
plog=$(log_mark policyd)
t0=$(date +%s.%N)
send 203.0.113.9 erin@pool.test
t1=$(date +%s.%N)
is "$SWAKS_CODE" 450 "DNS server stopped: greylisted as usual"
cmp_ok "$(elapsed "$t0" "$t1")" '<' 4 "... answered within the timeout"
check "... with the network triplet, SPF logged as temperror" \
	log_grep "$plog" 'client=mail\.sender\.test\[203\.0\.113\.9\] .*state=new spf=temperror'
is "$(keys 'rg:g:{203.0.113.0/24}:*')" $((nets + 1)) "... its triplet is under {203.0.113.0/24}"
if command -v curl >/dev/null; then
	is "$(metric "$pmet" 'relayguard_policyd_greylist_spf_total{result="pass"}')" 5 "/metrics counts policyd's five SPF passes"
	is "$(metric "$pmet" 'relayguard_policyd_greylist_spf_total{result="fail"}')" 1 "... the fail"
	# The hung server: the loop's timer or the resolver's own deadline, whichever is first.
	is "$(($(metric "$pmet" 'relayguard_policyd_greylist_spf_total{result="timeout"}') + $(metric "$pmet" 'relayguard_policyd_greylist_spf_total{result="temperror"}')))" 2 \
		"... and the two without an answer (hung, stopped)"
else
	skip 3 "no curl"
fi
check "policyd is still the same process" kill -0 "$(rg_pid policyd)"

done_testing
