# services.sh - the helper servers of the integration tests: redis-server,
# smtp-sink, spamd and dnsmasq, each on its own loopback port (sourced by
# harness.sh).  Each is started in the background with its output in
# $RG_TMP/NAME/log and registered so that the EXIT trap stops it by pid.

# ------------------------------------------------------------------ redis

# start_redis [NAME]: redis-server on a loopback port, no persistence.
# Sets REDIS_PORT (used by redis_cli without @NAME).
start_redis() {
	local name=${1:-redis} d port
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	# A second argument restarts Redis on a known port (an outage test).
	port=${2:-$(rg_free_port)} || return 1
	echo "$port" >"$d/port"
	rg__spawn redis "$name" "$d/log" redis-server --port "$port" \
		--bind 127.0.0.1 --save "" --appendonly no --daemonize no \
		--dir "$d" --pidfile "" --logfile "" --databases 16
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 10 || return 1
	REDIS_PORT=$port
}

# redis_cli [@NAME] ARGS...: redis-cli against the last started (or NAME)
# instance.
redis_cli() {
	local port=${REDIS_PORT:-}
	case ${1:-} in @*)
		port=$(rg_port "${1#@}")
		shift
		;;
	esac
	redis-cli -h 127.0.0.1 -p "$port" "$@"
}

stop_redis() { stop_service "${1:-redis}"; }

# -------------------------------------------------------------- smtp-sink

# start_smtp_sink NAME [SMTP-SINK-OPTIONS...]: smtp-sink on a loopback port
# that saves every message (with X-Client-Addr/X-Mail-Args/X-Rcpt-Args
# pseudo-headers, then the received headers and body) as one file under
# rg_dir NAME/mail.
start_smtp_sink() {
	local name=$1 d port
	shift
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	mkdir "$d/mail" && chown "$RG_USER" "$d/mail"
	port=$(rg_free_port) || return 1
	echo "$port" >"$d/port"
	# smtp-sink refuses to run as root without -u.
	rg__spawn smtp-sink "$name" "$d/log" smtp-sink -u "$RG_USER" \
		-h "$name.rgtest.invalid" -d "$d/mail/%Y%m%d%H%M%S." "$@" \
		"127.0.0.1:$port" 64
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 10
}

# sink_files NAME: the message files, oldest first.
sink_files() {
	ls -1tr "$RG_TMP/$1/mail" 2>/dev/null | sed "s|^|$RG_TMP/$1/mail/|"
}

# sink_count NAME: how many messages the sink has saved.
sink_count() {
	sink_files "$1" | wc -l
}

# rg__sink_busy NAME: true while smtp-sink still holds a message file open.
rg__sink_busy() {
	local pid fd
	pid=$(rg_pid "$1")
	[ -n "$pid" ] || return 1
	for fd in "/proc/$pid/fd/"*; do
		case $(readlink "$fd" 2>/dev/null) in "$RG_TMP/$1/mail/"*) return 0 ;; esac
	done
	return 1
}

sink_has() {
	[ "$(sink_count "$1")" -ge "$2" ] && ! rg__sink_busy "$1"
}

# sink_wait NAME N TIMEOUT: wait until at least N complete messages arrived.
sink_wait() {
	wait_until "$3" sink_has "$1" "$2"
}

# sink_grep NAME ERE: true if some saved message matches (grep -E, quiet).
sink_grep() {
	local f
	f=$(sink_files "$1")
	[ -n "$f" ] || return 1
	grep -qE -- "$2" $f
}

# sink_last NAME: the newest message file.
sink_last() {
	sink_files "$1" | tail -n 1
}

stop_smtp_sink() { stop_service "$1"; }

# ------------------------------------------------------------------ spamd

RG_GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# start_spamd [NAME] [CF-LINES...]: a real spamd on a loopback port, local
# tests only, no Bayes, with the rule RG_TEST_SIX (body "rgtestsixpoints",
# 6 points) plus any extra config lines.  Debian's shipped rules in
# /usr/share/spamassassin are used (no sa-update needed); the site config
# is a private copy of /etc/spamassassin.  Sets SPAMD_PORT.  Waits until a
# child answers PING (rule compilation takes seconds).
start_spamd() {
	local name=spamd d port i
	case ${1:-} in "" | *" "* | *=*) ;; *) name=$1; shift ;; esac
	command -v spamd >/dev/null || { diag "harness: spamd not installed"; return 1; }
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	mkdir "$d/etc" "$d/home"
	cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$d/etc/" 2>/dev/null
	{
		echo "# relayguard test rules"
		echo "use_bayes 0"
		echo "bayes_auto_learn 0"
		echo "dns_available no"
		echo "body RG_TEST_SIX /rgtestsixpoints/"
		echo "describe RG_TEST_SIX relayguard test rule worth six points"
		echo "score RG_TEST_SIX 6.0"
		printf '%s\n' "$@"
	} >"$d/etc/zz_rgtest.cf"
	chown -R "$RG_USER" "$d/home"
	# RG_SPAMD_PORT restarts spamd on a known port (an outage test).
	port=${RG_SPAMD_PORT:-$(rg_free_port)} || return 1
	echo "$port" >"$d/port"
	# As root spamd must drop to a user (-u) and needs a helper home (-H).
	rg__spawn spamd "$name" "$d/log" spamd -x -L -u "$RG_USER" -H "$d/home" \
		--siteconfigpath="$d/etc" --listen="127.0.0.1:$port" -s stderr \
		--pidfile="$d/pid" --min-children=1 --max-children=3
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 60 || return 1
	SPAMD_PORT=$port
	for ((i = 0; i < 600; i++)); do
		spamc -d 127.0.0.1 -p "$port" -t 5 -K >/dev/null 2>&1 && return 0
		pid_alive "$RG_LASTPID" || break
		sleep 0.1
	done
	diag "harness: spamd $name does not answer PING"
	tail -n 20 "$d/log" | sed 's/^/# /' >&2
	return 1
}

# spamc_score [@NAME] < MESSAGE: print spamd's score (e.g. "6.0").
spamc_score() {
	local port=${SPAMD_PORT:-} out
	case ${1:-} in @*) port=$(rg_port "${1#@}") ;; esac
	out=$(spamc -d 127.0.0.1 -p "$port" -t 30 -x -c)
	case $out in
	*/*) [ "$out" != 0/0 ] || return 1; echo "${out%/*}" ;;
	*) return 1 ;;
	esac
}

stop_spamd() { stop_service "${1:-spamd}"; }

# ---------------------------------------------------------------- dnsmasq

# start_dnsmasq [NAME] DNSMASQ-OPTIONS...: an authoritative-only test DNS
# server on 127.0.0.1:(rg_port NAME) (UDP+TCP), no upstream, no
# /etc/hosts.  Records are dnsmasq options, e.g.
#   --host-record=5.113.0.203.pbl.test,127.0.0.11   (or: dnsbl_record ...)
#   --txt-record=5.113.0.203.pbl.test,"listed"
#   --mx-host=customer.test,mx.customer.test,10
#   --ptr-record=5.113.0.203.in-addr.arpa,dsl-203-0-113-5.dyn.example.net
#   --local=/pbl.test/     (names not listed under pbl.test -> NXDOMAIN)
# Names outside any --local domain get REFUSED.  Sets DNS_PORT.
start_dnsmasq() {
	local name=dns d port
	case ${1:-} in "" | -*) ;; *) name=$1; shift ;; esac
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	port=$(rg_free_port) || return 1
	echo "$port" >"$d/port"
	rg__spawn dnsmasq "$name" "$d/log" dnsmasq -k -C /dev/null \
		--port="$port" --listen-address=127.0.0.1 --bind-interfaces \
		--no-resolv --no-hosts --no-negcache --pid-file= \
		--user="$RG_USER" --group="$RG_GROUP" --log-facility=- \
		--log-queries "$@"
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 10 udp || return 1
	DNS_PORT=$port
}

# dnsbl_record ZONE IPV4 [RESULT]: the dnsmasq option listing IPV4 in the
# DNSBL ZONE (reversed octets), answering RESULT (default 127.0.0.2).
dnsbl_record() {
	local IFS=.
	set -- "$1" $2 "${3:-127.0.0.2}"
	echo "--host-record=$5.$4.$3.$2.$1,$6"
}

# dns_query [@NAME] QNAME [TYPE]: dig +short against the test DNS server.
dns_query() {
	local port=${DNS_PORT:-}
	case ${1:-} in @*) port=$(rg_port "${1#@}"); shift ;; esac
	dig @127.0.0.1 -p "$port" +short +time=2 +tries=1 "$1" "${2:-A}"
}

stop_dnsmasq() { stop_service "${1:-dns}"; }

# ------------------------------------------------------------------ clamd

# The EICAR test string (not a virus; every scanner knows it as one).
RG_EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# start_clamd [NAME]: a real clamd with a private configuration and a
# signature database the harness writes itself (freshclam cannot reach its
# mirrors here): rgtest.ndb holds one signature, "RG-Test.EICAR", matching
# the EICAR string anywhere in any file type.  Listens on a unix socket
# (CLAMD_SOCK, mode 0666 so the milter's run_user can use it) and on
# 127.0.0.1:CLAMD_PORT (a second argument: that port, e.g. one a milter
# was first given while nothing listened there).  With one signature it is
# ready in well under a second.
start_clamd() {
	local name=${1:-clamd} d port hex
	command -v clamd >/dev/null || { diag "harness: clamd not installed"; return 1; }
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	mkdir "$d/db" "$d/tmp"
	chmod 755 "$d"
	hex=$(printf '%s' "$RG_EICAR" | od -An -tx1 | tr -d ' \n')
	echo "RG-Test.EICAR:0:*:$hex" >"$d/db/rgtest.ndb"
	port=${2:-$(rg_free_port)} || return 1
	echo "$port" >"$d/port"
	cat >"$d/clamd.conf" <<CLAMD
LocalSocket $d/clamd.sock
LocalSocketMode 666
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $d/db
TemporaryDirectory $d/tmp
Foreground true
LogFile $d/clamd.log
LogTime yes
LogClean yes
ScanMail true
StreamMaxLength 25M
SelfCheck 0
CLAMD
	rg__spawn clamd "$name" "$d/log" clamd -c "$d/clamd.conf"
	rg__add_log "$name.log" "$d/clamd.log"
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 30 || return 1
	wait_until 10 test -S "$d/clamd.sock" || { diag "harness: clamd made no socket"; return 1; }
	CLAMD_PORT=$port
	CLAMD_SOCK=$d/clamd.sock
}

stop_clamd() { stop_service "${1:-clamd}"; }
