#!/bin/bash
# relayguard-dnsbl-monitor against blocklists served by a DNS server on loopback
# (dnsmasq): a listed address (IPv4 and IPv6) and a listed sender domain
# are reported, logged (syslog mail.warning) and mailed to MAILTO, exit 1;
# nothing listed: exit 0, "nothing listed", no log, no mail; a zone the
# server refuses and a server that is down are DNS failures, reported as
# such and never as a listing, and so are a list's Spamhaus-style error
# answers (127.255.255.x); IPv6 addresses with "::" at the start or the end
# are nibble-reversed right; a bad configuration exits 2. And the systemd
# units: a oneshot service with its timer, daily at 05:00.
. "$(dirname "$0")/../lib/harness.sh"

rg_need dig dnsmasq

mon=$RG_SRCDIR/scripts/relayguard-dnsbl-monitor
# 2001:db8::1 nibble-reversed: 1, 23 zeros, then 8.b.d.0.1.0.0.2.
v6=1$(printf '.0%.0s' $(seq 1 23)).8.b.d.0.1.0.0.2
# 2001:db8:1:: (zeros at the end): 20 zeros, then 1.0.0.0.8.b.d.0.1.0.0.2.
v6end=0$(printf '.0%.0s' $(seq 1 19)).1.0.0.0.8.b.d.0.1.0.0.2
# ::ffff:c000:221 (zeros at the start): 1.2.2.0.0.0.0.c.f.f.f.f, then 20 zeros.
v6start=1.2.2.0.0.0.0.c.f.f.f.f$(printf '.0%.0s' $(seq 1 20))
start_dnsmasq dns $(dnsbl_record bl.test 192.0.2.99 127.0.0.2) "--host-record=$v6.bl.test,127.0.0.4" \
	"--host-record=$v6end.bl.test,127.0.0.5" "--host-record=$v6start.bl.test,127.0.0.6" \
	$(dnsbl_record err.test 192.0.2.99 127.255.255.254) $(dnsbl_record err.test 192.0.2.98 127.255.255.255) \
	$(dnsbl_record err.test 192.0.2.97 127.0.0.2) $(dnsbl_record err.test 192.0.2.96 198.51.100.1) --local=/err.test/ \
	--host-record=baddomain.example.dbl.test,127.0.1.2 --local=/bl.test/ --local=/dbl.test/ ||
	BAIL_OUT "no dnsmasq"
is "$(dns_query 99.2.0.192.bl.test)" 127.0.0.2 "the test DNS server lists 192.0.2.99 in bl.test"

# Stand-ins for logger(1) and sendmail(1) that record what they were given
# (no syslog and no mail system here).
bin=$RG_TMP/bin
mkdir -p "$bin"
cat >"$bin/logger" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$RG_TMP/logger.out"
EOF
cat >"$bin/sendmail" <<EOF
#!/bin/sh
{ echo "ARGS: \$*"; cat; } >>"$RG_TMP/sendmail.out"
EOF
chmod 755 "$bin/logger" "$bin/sendmail"

# conf NAME IPS DOMAINS [IP_ZONES]: a configuration file.
conf() {
	cat >"$RG_TMP/$1.conf" <<EOF
IPS="$2"
DOMAINS="$3"
IP_ZONES="${4:-bl.test}"
DOMAIN_ZONES="dbl.test"
MAILTO="postmaster@example.net"
DNS_SERVER=127.0.0.1
DNS_PORT=$DNS_PORT
TIMEOUT=2
EOF
}
# run NAME [ARGS]: dnsbl-monitor -c NAME.conf; sets OUT, RC, SECS.
run() {
	local t0 t1 c=$1
	shift
	rm -f "$RG_TMP/logger.out" "$RG_TMP/sendmail.out"
	t0=$(date +%s)
	OUT=$(PATH=$bin:$PATH timeout 60 "$mon" -c "$RG_TMP/$c.conf" "$@" 2>&1)
	RC=$?
	t1=$(date +%s)
	SECS=$((t1 - t0))
	LOGGED=$(cat "$RG_TMP/logger.out" 2>/dev/null)
	MAILED=$(cat "$RG_TMP/sendmail.out" 2>/dev/null)
}

# --- listed -------------------------------------------------------------------
conf listed "192.0.2.99 192.0.2.100 2001:db8::1" "baddomain.example good.example"
run listed
is "$RC" 1 "something listed: exit 1"
like "$OUT" 'LISTED: 192\.0\.2\.99 in bl\.test \(99\.2\.0\.192\.bl\.test -> 127\.0\.0\.2' "an IPv4 address listed in an IP zone is reported, with the answer"
like "$OUT" "LISTED: 2001:db8::1 in bl\\.test \\(${v6//./\\.}\\.bl\\.test -> 127\\.0\\.0\\.4" "... an IPv6 address, nibble-reversed"
like "$OUT" 'LISTED: baddomain\.example in dbl\.test \(baddomain\.example\.dbl\.test -> 127\.0\.1\.2' "... a sender domain listed in a domain zone"
unlike "$OUT" '192\.0\.2\.100|good\.example' "unlisted addresses and domains are not reported"
unlike "$OUT" 'DNS failure|nothing listed' "... and nothing else"
is "$(printf '%s\n' "$LOGGED" | grep -c 'LISTED')" 3 "each listing is logged"
like "$LOGGED" '^-t relayguard-dnsbl-monitor -p mail\.warning -- LISTED: 192\.0\.2\.99 in bl\.test' "... with tag relayguard-dnsbl-monitor, as mail.warning"
like "$MAILED" '^ARGS: -t' "a summary is mailed (sendmail -t)"
like "$MAILED" 'To: postmaster@example\.net' "... to MAILTO"
like "$MAILED" 'Subject: relayguard-dnsbl-monitor: relay listed on ' "... with a subject saying so"
is "$(printf '%s\n' "$MAILED" | grep -c ' is listed in ')" 3 "... listing all three"
run listed -q
is "$RC:$OUT" "1:" "-q: exit 1 and nothing on stdout"
like "$LOGGED" 'LISTED: baddomain\.example' "... still logged"

# --- IPv6 with "::" at either end -------------------------------------------
conf v6 "2001:db8:1:: ::ffff:c000:221" ""
run v6
is "$RC" 1 "IPv6 addresses with :: at the end and at the start: listed"
like "$OUT" "LISTED: 2001:db8:1:: in bl\\.test \\(${v6end//./\\.}\\.bl\\.test -> 127\\.0\\.0\\.5" "... 2001:db8:1:: expands to 32 nibbles, zeros at the end"
like "$OUT" "LISTED: ::ffff:c000:221 in bl\\.test \\(${v6start//./\\.}\\.bl\\.test -> 127\\.0\\.0\\.6" "... ::ffff:c000:221, zeros at the start"
conf v6bad "1::2::3 2001:db8:12345::1" ""
run v6bad
like "$OUT" 'not an IP address: 1::2::3' "an address with two :: is refused"
like "$OUT" 'not an IP address: 2001:db8:12345::1' "... and one with a five-digit group"

# --- a list's error answers ----------------------------------------------------
conf errs "192.0.2.99 192.0.2.98 192.0.2.97 192.0.2.96" "" err.test
run errs
is "$RC" 1 "one real listing among error answers: exit 1"
like "$OUT" 'LISTED: 192\.0\.2\.97 in err\.test' "... the real listing (127.0.0.2) is reported"
unlike "$OUT" 'LISTED: 192\.0\.2\.(99|98|96) ' "127.255.255.254, 127.255.255.255 and an answer outside 127/8 are not listings"
like "$OUT" 'error answer from err\.test about 192\.0\.2\.99 \(99\.2\.0\.192\.err\.test -> 127\.255\.255\.254\): not checked' "... 127.255.255.254 is reported as the list's error answer"
like "$OUT" 'error answer from err\.test about 192\.0\.2\.98 .*127\.255\.255\.255' "... and 127.255.255.255"
like "$OUT" 'error answer from err\.test about 192\.0\.2\.96 .*198\.51\.100\.1' "... and an answer outside 127.0.0.0/8"
is "$(printf '%s\n' "$MAILED" | grep -c ' is listed in ')" 1 "... the mail lists only the real listing"
conf erronly "192.0.2.99" "" err.test
run erronly
is "$RC" 0 "only an error answer: not listed (exit 0)"

# --- nothing listed -----------------------------------------------------------
conf clean "192.0.2.100 2001:db8::2" "good.example"
run clean
is "$RC" 0 "nothing listed: exit 0"
is "$OUT" "relayguard-dnsbl-monitor: nothing listed" "... says so, and only that"
is "$LOGGED$MAILED" "" "... no log line, no mail"

# --- DNS failures -------------------------------------------------------------
conf refused "192.0.2.99" "" "other.test"
run refused
isnt "$RC" 1 "a zone the server refuses (REFUSED): not a listing"
like "$OUT" 'DNS failure asking other\.test about 192\.0\.2\.99: not checked' "... reported as a DNS failure"
like "$LOGGED" 'DNS failure asking other\.test' "... and logged"
is "$MAILED" "" "... no listing mail"

stop_dnsmasq dns
run listed
isnt "$RC" 1 "DNS server down: not a listing"
is "$(printf '%s\n' "$OUT" | grep -c 'DNS failure asking')" 5 "... each of the five checks is reported as a DNS failure"
unlike "$OUT" 'LISTED' "... none as a listing"
is "$MAILED" "" "... no listing mail"
cmp_ok "$SECS" '<' 30 "... within the timeouts (${SECS}s)"

# --- configuration errors -----------------------------------------------------
run nosuchfile
is "$RC" 2 "an unreadable configuration file: exit 2"
like "$OUT" 'cannot read' "... saying why"

# --- systemd units ------------------------------------------------------------
# The units as "make install" writes them (PREFIX=/usr).
root=$RG_TMP/root
make -s -C "$RG_SRCDIR" install DESTDIR="$root" PREFIX=/usr B="$RG_BUILD" >"$RG_TMP/install.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr" || sed 's/^/# /' "$RG_TMP/install.log" | tail -n 20 >&2
u=$root/usr/lib/systemd/system/relayguard-dnsbl-monitor
check "the service unit is installed" test -s "$u.service"
check "the timer unit is installed" test -s "$u.timer"
check "... and the program, as relayguard-dnsbl-monitor" test -x "$root/usr/sbin/relayguard-dnsbl-monitor"
check "... with its man page" test -s "$root/usr/share/man/man8/relayguard-dnsbl-monitor.8"
like "$(grep -E '^(Type|ExecStart)=' "$u.service")" $'Type=oneshot\nExecStart=/usr/sbin/relayguard-dnsbl-monitor -c /etc/relayguard/dnsbl-monitor\\.conf' \
	"the service runs relayguard-dnsbl-monitor once with the installed configuration"
oc=$(sed -n 's/^OnCalendar=//p' "$u.timer")
is "$oc" '*-*-* 05:00:00' "the timer runs daily at 05:00"
like "$(grep -A3 '^\[Install\]' "$u.timer")" 'WantedBy=timers\.target' "... and is enabled through timers.target"
if command -v systemd-analyze >/dev/null 2>&1; then
	like "$(systemd-analyze calendar "$oc" 2>&1)" 'Normalized form: \*-\*-\* 05:00:00' "systemd parses the calendar spec"
	# verify wants the ExecStart program to exist: point it at the script.
	mkdir -p "$RG_TMP/units"
	sed "s#/usr/sbin/relayguard-dnsbl-monitor#$mon#" "$u.service" >"$RG_TMP/units/relayguard-dnsbl-monitor.service"
	cp "$u.timer" "$RG_TMP/units/"
	is "$(systemd-analyze verify "$RG_TMP/units/relayguard-dnsbl-monitor.service" \
		"$RG_TMP/units/relayguard-dnsbl-monitor.timer" 2>&1 | grep -v 'relayguard-dnsbl-monitor(8)')" "" \
		"systemd-analyze verify finds nothing to complain about"
else
	skip 2 "systemd-analyze is not installed"
fi

done_testing
