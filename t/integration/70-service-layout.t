#!/bin/bash
# The service as the feature sheet runs it, through one real Postfix built
# from the shipped snippets (main.cf.common, -inbound-primary, -outbound,
# -classes, master.cf.snippets' cleanup-out and smtp-bad, master.cf.classes):
#   1. a server pair per class: premium mail enters on mxp01's address and
#      reaches the customer from it, leaves for the Internet from mx03's;
#      standard mail the same on mxu01's and mx04's. Loopback addresses stand
#      in for the public ones (127.0.0.11 mxp01, .13 mx03, .21 mxu01, .23
#      mx04); smtp-sink records the address each delivery came from.
#   2. TLS: STARTTLS inbound with the relay's certificate (signed by a CA the
#      test makes), and TLS to a customer's server that offers it (a second
#      Postfix with its own certificate logs the relay's TLS session).
#   3. postmaster@ the relay's name (the callout sender) is delivered to the
#      address the admin put in postfix-conf/postmaster; and a premium
#      customer's server that verifies senders (reject_unverified_sender)
#      probes that address back during relayguard-milter's recipient callout
#      and lets the callout through.
# Test-only changes to the snippets, each because the test has no DNS, no
# milter and no public addresses: the addresses, the port, the
# certificate paths, no milters, no DNS-based sender/recipient checks, and
# default_filter_nexthop / an extra transport in place of MX lookups.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server openssl
rg_need_build

pc=$RG_SRCDIR/postfix-conf
P=$(rg_free_port)
sub_addrs() {
	perl -pe 's/\b212\.59\.41\.8\b/127.0.0.11/g; s/\b212\.59\.41\.10\b/127.0.0.13/g;
		s/\b81\.14\.242\.8\b/127.0.0.21/g; s/\b81\.14\.242\.10\b/127.0.0.23/g;
		s/:smtp inet/:'"$P"' inet/' "$@"
}
# params FILE...: "name = value" lines of a main.cf snippet (continuations joined).
params() {
	awk 'function flush() { if (line != "") print line; line = "" }
	/^[ \t]*#/ || /^[ \t]*$/ { next }
	/^[ \t]/ { sub(/^[ \t]+/, " "); line = line $0; next }
	{ flush(); line = $0 } END { flush() }' "$@"
}

# --- certificates: a CA, the relay's and the customer server's -----------
tls=$RG_TMP/tls
mkdir -p "$tls"
(
	cd "$tls" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=rgtest CA" -days 2 \
		-keyout ca.key -out ca.pem
	for n in mxp01.htp-tel.de mail.premium.test; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$n.key" -out "$n.csr" &&
			printf 'subjectAltName=DNS:%s\n' "$n" >"$n.ext" &&
			openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
				-extfile "$n.ext" -out "$n.pem"
	done
	chmod 644 ./*.key
) >"$tls/openssl.log" 2>&1 || BAIL_OUT "openssl: $(tail -3 "$tls/openssl.log")"

# --- the customers' servers and "the Internet" ---------------------------
start_smtp_sink inet || BAIL_OUT "no smtp-sink (internet)"
start_smtp_sink custs || BAIL_OUT "no smtp-sink (standard customer)"
start_downstream_postfix custp alice@premium.test admin@ops.test || BAIL_OUT "no customer Postfix"
postfix_master custp "tlsmgr unix - - n 1000? 1 tlsmgr"
postfix_conf custp "smtpd_tls_chain_files = $tls/mail.premium.test.key, $tls/mail.premium.test.pem" \
	"smtpd_tls_security_level = may" "smtpd_tls_loglevel = 1" "smtpd_tls_received_header = yes" \
	"smtpd_sender_restrictions = check_sender_access inline:{ mxp01.htp-tel.de=reject_unverified_sender }" \
	"unverified_sender_reject_code = 550" \
	"transport_maps = texthash:$(rg_dir custp)/conf/probe_transport"
# It verifies senders from the relay's name (only those: there is no DNS
# here to verify any other), and reaches that name at the premium MX address.
printf 'mxp01.htp-tel.de smtp:[127.0.0.11]:%s\n' "$P" >"$(rg_dir custp)/conf/probe_transport"
rg__backdate "$(rg_dir custp)/conf/probe_transport"
postfix_reload custp

# --- relayguard-policyd ------------------------------------------------
start_redis || BAIL_OUT "no redis"
rgc=$RG_TMP/rg
mkdir -p "$rgc"
cat >"$rgc/relayguard.conf" <<CONF
policyd_listen = unix:$RG_TMP/relay/queue/relayguard/policyd.sock
policyd_socket_mode = 0666
policyd_pidfile = $rgc/policyd.pid
milter_listen = unix:$RG_TMP/relay/queue/relayguard/milter.sock
milter_socket_mode = 0666
milter_pidfile = $rgc/milter.pid
premium_recipient_callout = yes
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
myhostname = mxp01.htp-tel.de
domain_table = domains
client_table = clients
dynamic_ip_blocking = no
CONF
cat >"$rgc/domains" <<EOF
premium.test   premium   nexthop=[127.0.0.1]:$(rg_port custp)
standard.test  standard  nexthop=[127.0.0.1]:$(rg_port custs)
EOF
cat >"$rgc/clients" <<'EOF'
192.0.2.10      premium
198.51.100.0/24 standard
EOF

# --- the relay: the snippets as shipped, then the test-only changes -------
mapfile -t snip < <(params "$pc/main.cf.common" "$pc/main.cf.inbound-primary" \
	"$pc/main.cf.outbound" "$pc/main.cf.classes")
rg__postfix_create relay "${snip[@]}" \
	"smtpd_tls_chain_files = $tls/mxp01.htp-tel.de.key, $tls/mxp01.htp-tel.de.pem" \
	"relayguard_outbound_milters = \$relayguard_milter" "smtpd_recipient_restrictions =" \
	"relayguard_outbound_sender_restrictions = reject_non_fqdn_sender" \
	"smtp_bind_address = 127.0.0.1" "myhostname = mxp01.htp-tel.de" \
	"default_filter_nexthop = [127.0.0.1]:$(rg_port inet)" \
	"transport_maps = hash:\$config_directory/relayguard/transport, texthash:\$config_directory/test_transport" ||
	BAIL_OUT "cannot configure the relay"
rc=$(rg_dir relay)/conf
printf 'ops.test smtp:[127.0.0.1]:%s\n' "$(rg_port custp)" >"$rc/test_transport"
mkdir -p "$rc/relayguard" "$(rg_dir relay)/queue/relayguard"
chown nobody "$(rg_dir relay)/queue/relayguard"
chmod 755 "$RG_TMP" "$(rg_dir relay)"
cp "$pc/header_checks.spam-routing" "$pc/tls_policy" "$rc/relayguard/"
sed 's/mailrelay-admin@htp\.example/admin@ops.test/' "$pc/postmaster" >"$rc/relayguard/postmaster"
# master.cf.snippets' services without its two listeners, then master.cf.classes.
awk '/^[0-9].*:smtp inet/ { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' \
	"$pc/master.cf.snippets" >>"$rc/master.cf"
sub_addrs "$pc/master.cf.classes" >>"$rc/master.cf"
echo "tlsmgr unix - - n 1000? 1 tlsmgr" >>"$rc/master.cf"
out=$(MAIL_CONFIG=$rc sh "$RG_SRCDIR/scripts/relayguard-postmap" -C -c "$rgc/relayguard.conf" -o "$rc/relayguard" 2>&1)
like "$out" '2 domain\(s\), 2 transport entries, 2 client_class' "relayguard-postmap -C: per-class transports and client_class"
rg__backdate "$rc/main.cf" "$rc/master.cf" "$rc/test_transport" "$rc/relayguard/"*
# (the DKIM milter is unused only because the test runs no OpenDKIM)
is "$(postfix -c "$rc" check 2>&1 | grep -Ev 'unused parameter: relayguard_dkim_milter=' | sort -u)" "" \
	"postfix check: the assembled layout has no complaint"
start_policyd "$rgc/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$rgc/relayguard.conf" || BAIL_OUT "milter does not start"
rg__postfix_start relay || BAIL_OUT "the relay does not start"
for a in 127.0.0.11 127.0.0.13 127.0.0.21 127.0.0.23; do
	wait_port "$a" "$P" 10 || BAIL_OUT "no listener on $a:$P"
done
pass "listeners on the four class addresses"

# send ADDR ARGS...: swaks against one of the class listeners.
send() {
	local a=$1
	shift
	swaks_send "$P" --server "$a:$P" "$@"
}
client_addr() { sed -n 's/^X-Client-Addr: //p' "$1" | head -n 1; }

# --- 1. a server pair per class -----------------------------------------
send 127.0.0.21 --xclient-addr 203.0.113.5 --xclient-name mx.sender.test \
	--from a@sender.test --to bob@standard.test --header "Subject: standard in"
is "$SWAKS_CODE" 250 "standard inbound: accepted on mxu01's address"
check "... delivered to the standard customer's server" sink_wait custs 1 30
is "$(client_addr "$(sink_last custs)")" 127.0.0.21 "... from mxu01's address (relay_standard)"

send 127.0.0.11 --xclient-addr 203.0.113.5 --xclient-name mx.sender.test \
	--from a@sender.test --to bob@standard.test --header "Subject: standard via premium MX"
check "standard mail that reached the premium MX" sink_wait custs 2 30
is "$(client_addr "$(sink_last custs)")" 127.0.0.21 "... still leaves from the standard address (class from domain_table)"

send 127.0.0.13 --xclient-addr 192.0.2.10 --xclient-name mail.customer-p.test \
	--from carol@premium.test --to ext@internet.test --header "Subject: premium out"
is "$SWAKS_CODE" 250 "premium outbound: accepted on mx03's address"
check "... delivered to the Internet" sink_wait inet 1 30
is "$(client_addr "$(sink_last inet)")" 127.0.0.13 "... from mx03's address (smtp_premium)"

send 127.0.0.23 --xclient-addr 198.51.100.20 --xclient-name mail.customer-s.test \
	--from dave@standard.test --to ext@internet.test --header "Subject: standard out"
is "$SWAKS_CODE" 250 "standard outbound: accepted on mx04's address"
check "... delivered" sink_wait inet 2 30
is "$(client_addr "$(sink_last inet)")" 127.0.0.23 "... from mx04's address (smtp_standard)"

send 127.0.0.23 --xclient-addr 192.0.2.10 --xclient-name mail.customer-p.test \
	--from carol@premium.test --to ext2@internet.test --header "Subject: premium via mx04"
check "a premium customer that used the standard smarthost" sink_wait inet 3 30
is "$(client_addr "$(sink_last inet)")" 127.0.0.13 "... still leaves from the premium address (class from client_table)"

send 127.0.0.13 --xclient-addr 203.0.113.77 --xclient-name mx.stranger.test \
	--from x@stranger.test --to ext@internet.test
like "$(swaks_reply_to RCPT)" '^554 5\.7\.1 ' "a client in no class cannot relay through an outbound address"

# --- 2. TLS ---------------------------------------------------------------
m_relay=$(log_mark "$(postfix_log relay)")
m_cust=$(log_mark "$(postfix_log custp)")
send 127.0.0.11 --tls --xclient-addr 203.0.113.5 --xclient-name mx.sender.test \
	--from a@sender.test --to alice@premium.test --header "Subject: tls in"
is "$SWAKS_CODE" 250 "swaks --tls: STARTTLS on the premium MX, mail accepted"
like "$(grep -E '^<~ ' "$SWAKS_OUT" | head -n 1)" '^<~ ' "... the session after EHLO ran inside TLS"
check "relay logs the inbound TLS session" log_wait "$m_relay" 'TLS connection established from .*\[127\.0\.0\.1\]' 10
check "... delivered to the premium customer's server" mailbox_wait custp alice@premium.test 1 30
check "... whose Received: line says the relay got it over TLS (ESMTPS)" \
	mailbox_grep custp alice@premium.test 'by mxp01\.htp-tel\.de .*with ESMTPS'
check "the customer's server logs TLS from the relay's premium address" \
	log_wait "$m_cust" 'TLS connection established from [^ ]*\[127\.0\.0\.11\]' 10
check "... and the relay logs its TLS session to the customer" \
	log_wait "$m_relay" 'relay-premium/smtp.*TLS connection established to [^ ]*\[127\.0\.0\.1\]:'"$(rg_port custp)" 10
issuer=$(echo | timeout 10 openssl s_client -starttls smtp -connect "127.0.0.21:$P" 2>/dev/null |
	sed -n 's/^subject=//p' | head -n 1)
like "$issuer" 'CN *= *mxp01\.htp-tel\.de' "the relay presents its own certificate (openssl s_client -starttls smtp)"

# --- 3. postmaster@ the relay's name ----------------------------------------
callout_sender="postmaster@mxp01.htp-tel.de" # relayguard's default: postmaster@myhostname
send 127.0.0.11 --xclient-addr 203.0.113.9 --xclient-name mail.customer.test \
	--from verify@customer.test --to "$callout_sender" --header "Subject: to the postmaster"
is "$SWAKS_CODE" 250 "mail to the callout sender $callout_sender is accepted"
check "... and reaches the address postfix-conf/postmaster names (admin@ops.test)" \
	mailbox_wait custp admin@ops.test 1 30
check "... that very message" mailbox_grep custp admin@ops.test '^Subject: to the postmaster'
send 127.0.0.11 --xclient-addr 203.0.113.9 --xclient-name mail.customer.test \
	--from verify@customer.test --to nobody@mxp01.htp-tel.de
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 ' "any other address at the relay's name: 550 5.1.1"

# The callout to a server that verifies its senders.
check "the premium customer's server verified the callout sender by calling the relay back" \
	grep -qE 'postfix/smtp\[.*to=<postmaster@mxp01\.htp-tel\.de>, relay=127\.0\.0\.11\[127\.0\.0\.11\]:'"$P"'.*status=deliverable' \
	"$(postfix_log custp)"
check "... so the relay's callout for alice@premium.test found her (result=valid)" \
	grep -qE 'callout: .*recipient=<alice@premium\.test> .*result=valid' "$(rg_log milter)"
send 127.0.0.11 --xclient-addr 203.0.113.5 --xclient-name mx.sender.test \
	--from a@sender.test --to nobody@premium.test
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 ' "... and still finds unknown recipients (550 5.1.1 from the customer's server)"
check "... asking as postmaster@mxp01.htp-tel.de" \
	grep -qE 'from=<postmaster@mxp01\.htp-tel\.de> to=<nobody@premium\.test>' "$(postfix_log custp)"

done_testing
