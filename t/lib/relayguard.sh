# relayguard.sh - start the relayguard daemons built in $RG_BUILD for the
# integration tests (sourced by harness.sh).

# ------------------------------------------------------------- relayguard

# rg__listen_of CONF KEY: the first address of KEY (e.g. policyd_listen).
rg__listen_of() {
	sed -nE "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*([^[:space:],]+).*/\1/p" "$1" |
		tail -n 1
}

# unix_serving PATH: something accepts connections on the unix socket PATH
# (a socket file alone proves nothing: a killed daemon leaves its file, and
# the daemons bind PATH.new and rename it into place).
unix_serving() {
	perl -MIO::Socket::UNIX -e 'exit(IO::Socket::UNIX->new(Peer => $ARGV[0], Type => SOCK_STREAM()) ? 0 : 1)' "$1" 2>/dev/null
}

# rg__wait_listen NAME PID SPEC: wait for "unix:PATH", "inet:HOST:PORT" or
# "HOST:PORT" to be served.
rg__wait_listen() {
	local spec=$3 hp
	case $spec in
	"") sleep 0.5; pid_alive "$2" ;;
	unix:* | /*)
		spec=${spec#unix:}
		wait_until 15 unix_serving "$spec" || {
			diag "harness: $1 does not serve $spec"
			tail -n 20 "$(rg_log "$1")" | sed 's/^/# /' >&2
			return 1
		}
		;;
	inet:*@* | inet6:*@*)
		# libmilter's form: inet:PORT@HOST
		hp=${spec#*:}
		rg__started "$1" "$2" "${hp#*@}" "${hp%%@*}" 15
		;;
	*)
		hp=${spec#inet:}
		hp=${hp#inet6:}
		rg__started "$1" "$2" "${hp%:*}" "${hp##*:}" 15
		;;
	esac
}

# start_policyd CONF [NAME]: $RG_BUILD/relayguard-policyd -f -c CONF in the
# background (stderr to rg_log NAME), waits for its policyd_listen socket.
start_policyd() {
	local name=${2:-policyd}
	rg__newdir "$name" || return 1
	rg__spawn policyd "$name" "$RG_TMP/$name/log" \
		"$RG_BUILD/relayguard-policyd" -f ${RG_POLICYD_ARGS:-} -c "$1"
	rg__wait_listen "$name" "$RG_LASTPID" "$(rg__listen_of "$1" policyd_listen)"
}

# start_milter CONF [NAME]: the same for relayguard-milter (milter_listen).
start_milter() {
	local name=${2:-milter}
	rg__newdir "$name" || return 1
	rg__spawn milter "$name" "$RG_TMP/$name/log" \
		"$RG_BUILD/relayguard-milter" -f -c "$1"
	rg__wait_listen "$name" "$RG_LASTPID" "$(rg__listen_of "$1" milter_listen)"
}

stop_policyd() { stop_service "${1:-policyd}"; }
stop_milter() { stop_service "${1:-milter}"; }

# ------------------------------------------------------------------ metrics

# metrics_scrape PORT [SECS]: GET /metrics from 127.0.0.1:PORT.
metrics_scrape() { curl -s --max-time "${2:-10}" "http://127.0.0.1:$1/metrics"; }

# metric PORT 'name{labels}': the sample's value, 0 when absent.
metric() {
	metrics_scrape "$1" | awk -v k="$2" '$1 == k { v = $2 } END { print v == "" ? 0 : v }'
}

# metric_family PORT name: the sum of every sample of a family.
metric_family() {
	metrics_scrape "$1" | awk -v n="$2" 'index($1, n "{") == 1 || $1 == n { s += $2 } END { print s + 0 }'
}
