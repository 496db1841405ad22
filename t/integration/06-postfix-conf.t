#!/bin/bash
# 06-postfix-conf.t - the Postfix snippets in postfix-conf/ load as shipped,
# and relayguard-postmap builds Postfix maps from a domain_table.
#
# An admin pastes the snippets into main.cf/master.cf for each role; here each
# combination of roles goes into a private Postfix configuration directory
# under mktemp -d, and must pass "postfix check" and "postconf -n/-M/-P"
# without a single warning. smtpd is started in stand-alone mode (-S, the
# mode "sendmail -bs" uses: one SMTP session on stdin/stdout, no master, no
# listening socket) so that it parses its restriction lists, including the
# check_policy_service { ... } attributes (without STARTTLS: TLS needs
# tlsmgr, which only a running master provides). Postfix itself is never started
# and /etc/postfix is never written. Needs root (postfix check does).
# TAP output; standalone.
set -u
# shellcheck disable=SC2015 # ok() never fails: "test && ok || notok" is safe
top=$(cd "$(dirname "$0")/../.." && pwd)
conf=$top/postfix-conf
postmap_sh=$top/scripts/relayguard-postmap

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP postfix check needs root"
	exit 0
fi
for p in postfix postconf postmap perl; do
	command -v "$p" >/dev/null || {
		echo "1..0 # SKIP $p not installed"
		exit 0
	}
done

T=$(mktemp -d /tmp/rgpf.XXXXXX) || exit 1
listener=""
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); fail=1
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
}
# check "description" command...: ok when it exits 0 and prints nothing on stderr.
check() {
	local what=$1 err rc
	shift
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$err" ]; then
		ok "$what"
	else
		notok "$what (exit $rc)" "$err"
	fi
}

# A sample customer list, as relayguard.conf and domain_table.
mkdir -p "$T/rg"
cat >"$T/rg/relayguard.conf" <<'EOF'
classes = premium, standard
domain_table = domains
EOF
cat >"$T/rg/domains" <<'EOF'
# premium customer, relay is primary MX: deliver to the customer's server
example.com     premium  nexthop=[mail.example.com]:25
.example.com    premium  nexthop=[mail.example.com]:25
# fallback MX customer: no nexthop, delivery by MX
example.net     standard greylisting=no
EOF

# One private Postfix configuration: $1 = name, rest = main.cf snippets.
# master.cf.snippets is added when main.cf.outbound is among them (it uses
# the outbound parameters), with the edits its comments tell the admin to make.
instance() {
	local name=$1 dir=$T/$1 s
	shift
	mkdir -p "$dir/etc/relayguard" "$dir/spool" "$dir/data"
	chown postfix "$dir/data"
	cat >"$dir/etc/main.cf" <<EOF
# private test instance: nothing of /etc/postfix, /var/spool/postfix
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
inet_interfaces = loopback-only
EOF
	for s in "$@"; do
		printf '\n' >>"$dir/etc/main.cf"
		cat "$conf/$s" >>"$dir/etc/main.cf"
	done
	cp /usr/share/postfix/master.cf.dist "$dir/etc/master.cf"
	case " $* " in
	*" main.cf.outbound "*)
		case " $* " in
		*" main.cf.inbound-primary "*) ;;
		*) postconf -c "$dir/etc" -M# smtp/inet ;;
		esac
		printf '\n' >>"$dir/etc/master.cf"
		cat "$conf/master.cf.snippets" >>"$dir/etc/master.cf"
		;;
	esac
	case " $* " in
	*" main.cf.classes "*)
		# master.cf.classes replaces master.cf.snippets' two listeners.
		postconf -c "$dir/etc" -M# '198.51.100.25:smtp/inet' '203.0.113.25:smtp/inet'
		printf '\n' >>"$dir/etc/master.cf"
		cat "$conf/master.cf.classes" >>"$dir/etc/master.cf"
		: >"$dir/etc/relayguard/client_class"
		;;
	esac
	# The shipped support files where $config_directory/relayguard/...
	# points. Copied at test time: postfix check warns about symlinks that
	# leave the configuration directory, as it would for an admin.
	for s in header_checks.spam-routing tls_policy opendkim postmaster; do
		cp -R "$conf/$s" "$dir/etc/relayguard/$s"
	done
	# The admin's certificate in place of Debian's snakeoil pair.
	postconf -c "$dir/etc" -e "smtpd_tls_chain_files = $T/tls.key, $T/tls.pem"
}
# A certificate like an admin's (the snakeoil pair may be missing).
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.rgtest.invalid -days 2 \
	-keyout "$T/tls.key" -out "$T/tls.pem" >/dev/null 2>&1 || echo "# openssl failed"
chmod 600 "$T/tls.key"


# Run smtpd stand-alone for one EHLO/QUIT session; its log lines (it logs to
# the postlog socket because maillog_file is set) are caught by a small
# listener. Prints the log.
smtpd_session() {
	local dir=$T/$1 sock log
	sock=$dir/spool/public/postlog
	log=$dir/smtpd.log
	mkdir -p "$dir/spool/public"
	: >"$log"
	perl -MIO::Socket::UNIX -e '
		my $p = shift; unlink $p;
		my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $p) or die "$p: $!";
		chmod 0666, $p; $| = 1;
		$SIG{TERM} = sub { exit 0 };
		while (defined $s->recv(my $b, 65536)) { print "$b\n" }
	' "$sock" >>"$log" &
	listener=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$sock" ] && break; sleep 0.1; done
	printf 'EHLO test.example.com\r\nQUIT\r\n' |
		MAIL_CONFIG=$dir/etc timeout 20 /usr/lib/postfix/sbin/smtpd -S \
			-o smtpd_tls_security_level=none >"$dir/smtpd.out" 2>&1
	sleep 0.2
	kill "$listener" 2>/dev/null
	wait "$listener" 2>/dev/null
	listener=""
	cat "$log"
}

role_checks() {
	local name=$1 dir=$T/$1 log
	check "$name: postfix check" postfix -c "$dir/etc" check
	if [ -s "$dir/maillog" ] && grep -Ei 'warning|error|fatal' "$dir/maillog" >/dev/null; then
		notok "$name: postfix check logs no warnings" "$(cat "$dir/maillog")"
	else
		ok "$name: postfix check logs no warnings"
	fi
	check "$name: postconf -n (no unused or unknown parameters)" postconf -c "$dir/etc" -n
	check "$name: postconf -M (master.cf)" postconf -c "$dir/etc" -M
	check "$name: postconf -P (master.cf -o parameters)" postconf -c "$dir/etc" -P
	log=$(smtpd_session "$name")
	# "disconnect from" proves the log was caught, so "no warning" means something.
	if grep -q '^250' "$dir/smtpd.out" && printf '%s' "$log" | grep -q 'disconnect from' &&
		! printf '%s' "$log" | grep -Ei 'warning|error|fatal|panic' >/dev/null; then
		ok "$name: smtpd starts with these restrictions and answers EHLO"
	else
		notok "$name: smtpd starts with these restrictions and answers EHLO" \
			"$(cat "$dir/smtpd.out"; printf '%s\n' "$log")"
	fi
}

# --- relayguard-postmap -----------------------------------------------------

instance inbound main.cf.common main.cf.inbound-primary
export MAIL_CONFIG=$T/inbound/etc
out=$T/inbound/etc/relayguard

if msg=$(sh "$postmap_sh" -c "$T/rg/relayguard.conf" -o "$out" 2>&1) &&
	[ -f "$out/transport.db" ] && [ -f "$out/relay_domains.db" ]; then
	ok "relayguard-postmap builds relay_domains and transport"
else
	notok "relayguard-postmap builds relay_domains and transport" "$msg"
fi
got=$(postmap -q example.com "hash:$out/transport")
[ "$got" = "relay:[mail.example.com]:25" ] &&
	ok "transport: example.com -> relay:[mail.example.com]:25" ||
	notok "transport: example.com -> relay:[mail.example.com]:25" "got: $got"
got=$(postmap -q .example.com "hash:$out/transport")
[ "$got" = "relay:[mail.example.com]:25" ] &&
	ok "transport: .example.com (subdomains) has the same next hop" ||
	notok "transport: .example.com (subdomains) has the same next hop" "got: $got"
got=$(postmap -q example.net "hash:$out/transport")
[ -z "$got" ] && ok "transport: example.net (no nexthop) has no entry: delivery by MX" ||
	notok "transport: example.net (no nexthop) has no entry" "got: $got"
got=$(for d in example.com .example.com example.net example.org; do
	postmap -q "$d" "hash:$out/relay_domains" >/dev/null && echo "$d"
done | tr '\n' ' ')
[ "$got" = "example.com .example.com example.net " ] &&
	ok "relay_domains: exactly the domain_table entries" ||
	notok "relay_domains: exactly the domain_table entries" "got: $got"

sums() { (cd "$out" && cat relay_domains relay_domains.db transport transport.db | cksum); }
before=$(sums)
sleep 1 # a rewritten file would get a new mtime
cp "$T/rg/domains" "$T/rg/domains.good"
cat >>"$T/rg/domains" <<'EOF'
example.org     gold
bad..example    premium
example.edu     premium nexthop=smtp:[mail.example.edu]
EOF
msg=$(sh "$postmap_sh" -c "$T/rg/relayguard.conf" -o "$out" 2>&1)
rc=$?
[ $rc -eq 1 ] && ok "a bad domain_table: exit 1" || notok "a bad domain_table: exit 1" "exit $rc: $msg"
want="$T/rg/domains:6: unknown class \"gold\"
$T/rg/domains:7: bad domain \"bad..example\"
$T/rg/domains:8: bad nexthop"
miss=""
while IFS= read -r w; do
	printf '%s\n' "$msg" | grep -F -- "$w" >/dev/null || miss="$miss
$w"
done <<<"$want"
[ -z "$miss" ] && ok "every bad line is reported as file:line" ||
	notok "every bad line is reported as file:line" "missing:$miss
output:
$msg"
[ "$(sums)" = "$before" ] && ok "the old maps are untouched" || notok "the old maps are untouched"
left=$(find "$out" -name '.*' -printf '%f ')
[ -z "$left" ] && ok "no temporary files left behind" || notok "no temporary files left behind" "$left"
cp "$T/rg/domains.good" "$T/rg/domains"

# The override names relayguard-postmap accepts are params.def's CLASS ones.
def=$(perl -ne 'print "$1\n" if /^RG_PARAM\(\s*(\w+)\s*,.*,\s*CLASS\s*,/' "$top/src/params.def" | sort)
scr=$(sed -n '/^class_params="/,/"$/p' "$postmap_sh" | tr -d '"' | sed 's/^class_params=//' |
	tr ' ' '\n' | grep . | sort)
[ -n "$def" ] && [ "$def" = "$scr" ] &&
	ok "relayguard-postmap's class parameter list matches params.def" ||
	notok "relayguard-postmap's class parameter list matches params.def" \
		"$(diff <(printf '%s\n' "$def") <(printf '%s\n' "$scr"))"
unset MAIL_CONFIG

# --- the roles ----------------------------------------------------------------

role_checks inbound

instance inbound-fallback main.cf.common main.cf.inbound-primary main.cf.inbound-fallback
MAIL_CONFIG=$T/inbound-fallback/etc sh "$postmap_sh" -c "$T/rg/relayguard.conf" \
	-o "$T/inbound-fallback/etc/relayguard" >/dev/null
role_checks inbound-fallback

instance outbound main.cf.common main.cf.outbound
role_checks outbound

instance all-in-one main.cf.common main.cf.inbound-primary main.cf.inbound-fallback main.cf.outbound
MAIL_CONFIG=$T/all-in-one/etc sh "$postmap_sh" -c "$T/rg/relayguard.conf" \
	-o "$T/all-in-one/etc/relayguard" >/dev/null
role_checks all-in-one

instance classes main.cf.common main.cf.inbound-primary main.cf.inbound-fallback main.cf.outbound main.cf.classes
MAIL_CONFIG=$T/classes/etc sh "$postmap_sh" -C -c "$T/rg/relayguard.conf" \
	-o "$T/classes/etc/relayguard" >/dev/null
role_checks classes
got=$(postmap -c "$T/classes/etc" -q example.net "hash:$T/classes/etc/relayguard/transport")
[ "$got" = "relay_standard:" ] && ok "relayguard-postmap -C: a standard domain goes by MX through relay_standard" ||
	notok "relayguard-postmap -C: a standard domain goes by MX through relay_standard" "got: $got"
got=$(postconf -c "$T/classes/etc" -P '212.59.41.10:smtp/inet/smtpd_relay_restrictions' \
	'smtp_premium/unix/smtp_bind_address' 'relay_standard/unix/smtp_bind_address')
want="212.59.41.10:smtp/inet/smtpd_relay_restrictions = \$relayguard_class_relay_restrictions
smtp_premium/unix/smtp_bind_address = 212.59.41.10
relay_standard/unix/smtp_bind_address = 81.14.242.8"
[ "$got" = "$want" ] && ok "classes: per-class listeners and transports with their own addresses" ||
	notok "classes: per-class listeners and transports with their own addresses" "got: $got"

# What the shipped settings resolve to, in the instance that has them all.
e=$T/all-in-one/etc
got=$(postconf -c "$e" -h minimal_backoff_time maximal_backoff_time queue_run_delay \
	maximal_queue_lifetime bounce_queue_lifetime delay_warning_time message_size_limit | tr '\n' ' ')
[ "$got" = "30m 30m 5m 5d 5d 4h 209715200 " ] &&
	ok "queue policy: retry every 30m (scan 5m), 5d lifetime, warn after 4h, 200M" ||
	notok "queue policy values" "got: $got"
got=$(postconf -c "$e" -x -h smtpd_relay_restrictions | tr -s ' \n' ' ')
case $got in
*"check_policy_service { unix:relayguard/policyd.sock,"*"reject_unauth_destination"*)
	ok "smtpd_relay_restrictions: the policy service before reject_unauth_destination" ;;
*) notok "smtpd_relay_restrictions: the policy service before reject_unauth_destination" "got: $got" ;;
esac
got=$(postconf -c "$e" -P '203.0.113.25:smtp/inet/cleanup_service_name' 'cleanup-out/unix/milter_header_checks')
case $got in
*"cleanup_service_name = cleanup-out"*"milter_header_checks = \$relayguard_outbound_milter_header_checks"*)
	ok "outbound listener uses cleanup-out with the spam-routing table" ;;
*) notok "outbound listener uses cleanup-out with the spam-routing table" "got: $got" ;;
esac

# The spam-routing table and the TLS policy answer as the comments say.
hc="regexp:$e/relayguard/header_checks.spam-routing"
got=$(postmap -c "$e" -q "X-Spam-Flag: YES" "$hc")
[ "$got" = "FILTER smtp-bad:" ] && ok "X-Spam-Flag: YES -> FILTER smtp-bad:" ||
	notok "X-Spam-Flag: YES -> FILTER smtp-bad:" "got: $got"
got=$(postmap -c "$e" -q "X-Spam-Flag: NO" "$hc")
[ -z "$got" ] && ok "X-Spam-Flag: NO is not rerouted" || notok "X-Spam-Flag: NO is not rerouted" "got: $got"
got=$(postmap -c "$e" -q example.org "texthash:$e/relayguard/tls_policy")
[ "$got" = "encrypt" ] && ok "tls_policy: example.org encrypt" || notok "tls_policy: example.org encrypt" "got: $got"

# OpenDKIM accepts the shipped configuration (table paths pointed at the
# shipped tables; everything else as shipped).
if command -v opendkim >/dev/null; then
	sed "s#/etc/postfix/relayguard/opendkim#$conf/opendkim#" "$conf/opendkim/opendkim.conf" >"$T/opendkim.conf"
	check "opendkim -n accepts opendkim.conf" opendkim -n -x "$T/opendkim.conf"
else
	ok "opendkim -n accepts opendkim.conf # SKIP opendkim not installed"
fi

echo "1..$n"
exit $fail
