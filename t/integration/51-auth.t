#!/bin/bash
# SPF (libspf2) and DKIM (libopendkim) in relayguard-milter, through a real
# Postfix, against real DNS data served by dnsmasq on loopback (dns_server):
# one Authentication-Results header with our authserv-id for spf=pass,
# fail, softfail, none and temperror (DNS server down, answer within the
# bound); dkim=pass for a message signed with opendkim-testmsg (key made by
# opendkim-genkey, published in the test DNS), dkim=fail for the same
# message with its body changed; a forged A-R header with our authserv-id is
# removed, another host's stays; spf_fail_action = reject refuses "fail"
# (550 5.7.23) but not "softfail".
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink dnsmasq opendkim-genkey opendkim-testmsg
rg_need_build

# --- the signing domain's key, and a signed message ---------------------
kd=$RG_TMP/dkim
mkdir -p "$kd"
(cd "$kd" && opendkim-genkey -b 1024 -d signed.test -s sel) || BAIL_OUT "opendkim-genkey failed"
# opendkim-testmsg signs with rsa-sha1, which a key record limited to
# "h=sha256" refuses: publish the key without the h= tag (any hash).
key=$(sed -e 's/[^"]*"//' -e 's/".*//' "$kd/sel.txt" | tr -d '\n' | sed 's/h=sha256; //')
case $key in v=DKIM1*p=*) ;; *) BAIL_OUT "cannot read the DKIM key record" ;; esac
# dnsmasq takes a long TXT record as several strings (commas separate them).
keyrec=$(printf '%s' "$key" | fold -w 200 | paste -sd, -)
printf '%s\r\n' "From: <a@signed.test>" "To: <bob@auth.test>" "Subject: signed one" \
	"Date: Tue, 01 Dec 2026 19:00:00 +0000" "Message-ID: <s1@signed.test>" "" \
	"Hello signed world." >"$kd/msg"
opendkim-testmsg -d signed.test -k "$kd/sel.private" -s sel -C <"$kd/msg" >"$kd/signed" ||
	BAIL_OUT "opendkim-testmsg could not sign"
grep -q '^DKIM-Signature:' "$kd/signed" || BAIL_OUT "no DKIM-Signature"
sed 's/Hello signed world/Hello forged world/' "$kd/signed" >"$kd/broken"

start_dnsmasq --local=/test/ \
	"--txt-record=pass.test,v=spf1 ip4:198.51.100.20 -all" \
	"--txt-record=fail.test,v=spf1 ip4:192.0.2.99 -all" \
	"--txt-record=soft.test,v=spf1 ip4:192.0.2.99 ~all" \
	"--txt-record=signed.test,v=spf1 ip4:198.51.100.20 -all" \
	"--txt-record=sel._domainkey.signed.test,$keyrec" || BAIL_OUT "no dnsmasq"
like "$(dns_query sel._domainkey.signed.test TXT | tr -d '" \n')" "p=" "the test DNS serves the DKIM key"

start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
run_user = nobody
myhostname = relay.rgtest.invalid
dns_server = 127.0.0.1:$DNS_PORT
auth_dns_timeout = 1s
domain_table = domains
premium_spf_check = yes
premium_dkim_check = yes
CONF
cat >"$conf/domains" <<TABLE
auth.test     premium
strict.test   premium  spf_fail_action=reject
TABLE
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
for d in auth.test strict.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done

send() { # from to subject [swaks args]
	local from=$1 to=$2 subj=$3
	shift 3
	swaks_send relay --from "$from" --to "$to" --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test --xclient-helo mail.remote.test --header "Subject: $subj" "$@"
}
last_with() { # ERE: the newest sink file that matches
	grep -lE "$1" $(sink_files sink) 2>/dev/null | tail -n 1
}
delivered() { test -n "$(last_with "$1")"; }
ar_of() { # subject: the Authentication-Results header(s) of that message, unfolded
	awk '/^[^ \t]/ { if (h) print h; h = $0; next } /^[ \t]/ { sub(/^[ \t]+/, " "); h = h $0 }
	     END { if (h) print h }' "$(last_with "^Subject: $1")" | grep -i '^Authentication-Results:'
}

send a@pass.test bob@auth.test "spf pass" --body "hello"
is "$SWAKS_CODE" 250 "SPF pass: accepted"
check "... delivered" wait_until 30 delivered '^Subject: spf pass'
like "$(ar_of 'spf pass')" '^Authentication-Results: relay\.rgtest\.invalid; spf=pass smtp\.mailfrom=pass\.test; dkim=none$' \
	"... with one A-R header: spf=pass smtp.mailfrom=pass.test; dkim=none"
is "$(ar_of 'spf pass' | wc -l)" 1 "... exactly one"

send a@fail.test bob@auth.test "spf fail" --body "hello"
is "$SWAKS_CODE" 250 "SPF fail with spf_fail_action = tag: accepted"
check "... delivered" wait_until 30 delivered '^Subject: spf fail'
like "$(ar_of 'spf fail')" 'spf=fail smtp\.mailfrom=fail\.test' "... tagged spf=fail"

send a@soft.test bob@auth.test "spf softfail" --body "hello"
check "SPF softfail: delivered" wait_until 30 delivered '^Subject: spf softfail'
like "$(ar_of 'spf softfail')" 'spf=softfail smtp\.mailfrom=soft\.test' "... tagged spf=softfail"

send a@none.test bob@auth.test "spf none" --body "hello"
check "no SPF record: delivered" wait_until 30 delivered '^Subject: spf none'
like "$(ar_of 'spf none')" 'spf=none smtp\.mailfrom=none\.test' "... tagged spf=none"

send a@fail.test carol@strict.test "strict fail" --body "hello"
like "$(swaks_reply_to .)" '^550 5\.7\.23 SPF check failed: fail\.test ' \
	"spf_fail_action = reject: an SPF fail (-all) is refused with 550 5.7.23"
send a@soft.test carol@strict.test "strict softfail" --body "hello"
is "$SWAKS_CODE" 250 "... a softfail (~all) is not refused"

send a@signed.test bob@auth.test "signed one" --data "$kd/signed"
is "$SWAKS_CODE" 250 "a DKIM-signed message is accepted"
check "... delivered" wait_until 30 delivered '^Subject: signed one'
like "$(ar_of 'signed one')" 'spf=pass smtp\.mailfrom=signed\.test; dkim=pass header\.d=signed\.test header\.s=sel$' \
	"... dkim=pass header.d=signed.test header.s=sel"

sed -i 's/^Subject: signed one/Subject: broken one/' "$kd/broken"
send a@signed.test bob@auth.test "broken one" --data "$kd/broken"
check "a message whose body was changed after signing is delivered" wait_until 30 delivered '^Subject: broken one'
like "$(ar_of 'broken one')" 'dkim=fail header\.d=signed\.test header\.s=sel' "... with dkim=fail"

send a@signed.test bob@auth.test "garbled signature" --body "hello" \
	--add-header "DKIM-Signature: v=1; a=rsa-sha256; d=signed.test; s=sel; garbage"
check "a message with a garbled DKIM-Signature is delivered" wait_until 30 delivered '^Subject: garbled signature'
like "$(ar_of 'garbled signature')" 'dkim=permerror' "... with dkim=permerror (not none)"

send a@pass.test bob@auth.test "forged" --body "hello" \
	--add-header "Authentication-Results: relay.rgtest.invalid; spf=pass smtp.mailfrom=bank.test; dkim=pass header.d=bank.test" \
	--add-header "authentication-results: RELAY.RGTEST.INVALID; dkim=pass header.d=bank.test" \
	--add-header "Authentication-Results: mx.elsewhere.test; spf=pass smtp.mailfrom=x.test"
check "a message with forged A-R headers is delivered" wait_until 30 delivered '^Subject: forged'
is "$(ar_of forged | grep -ci 'relay\.rgtest\.invalid')" 1 "... with only one A-R header of our authserv-id"
like "$(ar_of forged | grep -i 'relay\.rgtest\.invalid')" 'spf=pass smtp\.mailfrom=pass\.test; dkim=none' "... ours"
unlike "$(ar_of forged)" 'bank\.test' "... the forged verdicts are gone"
like "$(ar_of forged)" 'mx\.elsewhere\.test' "... another host's A-R header stays"

stop_dnsmasq
t0=$(date +%s%N)
send a@pass.test bob@auth.test "dns down" --body "hello"
t1=$(date +%s%N)
is "$SWAKS_CODE" 250 "DNS server down: accepted"
cmp_ok "$(((t1 - t0) / 1000000))" '<' 10000 "... answered in under 10 s (auth_dns_timeout 1s)"
check "... delivered" wait_until 30 delivered '^Subject: dns down'
like "$(ar_of 'dns down')" 'spf=temperror smtp\.mailfrom=pass\.test' "... tagged spf=temperror"

done_testing
