# faults.sh - the faults of `make soak`: kill (SIGKILL, then a restart),
# restart (SIGTERM, then a start) or hang (SIGSTOP, then SIGCONT) one of
# the services the relay depends on
# (sourced by t/soak/run, after t/lib/harness.sh).
#
# Targets: redis, spamd (the parent and its children), cust (the
# customer's Postfix: the whole process group of its master, i.e. master,
# smtpd, qmgr, virtual ...), policyd, milter.  A killed service is started
# again through the harness (same port / socket path, a new service name
# NAME.N, so every instance is registered and stopped by pid at exit).
# Processes are only ever signalled by the pid the harness recorded.
#
# Every fault is one line in $SOAK_DIR/faults:
#   START END ACTION TARGET HOLD_S RESULT PIDS [exit_ms=N]
# (START/END: Unix seconds.ms; RESULT ok, or what went wrong).
#
# The caller sets: SOAK_DIR, SOAK_CONF (relayguard.conf), SOAK_RUN (the
# socket directory), SOAK_REDIS_PORT, SOAK_SPAMD_PORT, and the current
# service names SOAK_REDIS, SOAK_SPAMD, SOAK_POLICYD, SOAK_MILTER (cust is
# always "cust").

soak__gen=0

soak_now() { date +%s.%3N; }

# soak_unix_listening PATH: true when a connect to unix socket PATH succeeds
# (the file alone proves nothing: a killed daemon leaves it behind; ss
# shows the name a socket was bound to, which need not be PATH).
soak_unix_listening() {
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => $ARGV[0], Type => SOCK_STREAM) or exit 1' "$1"
}

# soak_pids TARGET: the pids to signal, one a line; for cust the negative
# process-group id of its master.
soak_pids() {
	local p
	case $1 in
	redis) rg_pid "$SOAK_REDIS" ;;
	spamd)
		p=$(rg_pid "$SOAK_SPAMD")
		[ -n "$p" ] || return 0
		echo "$p"
		ps -o pid= --ppid "$p" | tr -d ' '
		;;
	cust)
		p=$(rg_pid cust)
		[ -n "$p" ] && echo "-$p"
		;;
	policyd) rg_pid "$SOAK_POLICYD" ;;
	milter) rg_pid "$SOAK_MILTER" ;;
	esac
}

# soak_signal SIG PIDS...: signal each (a negative one is a process group).
soak_signal() {
	local sig=$1 p
	shift
	for p in "$@"; do
		kill "-$sig" -- "$p" 2>/dev/null
	done
}

# soak__gone PIDS...: true when none of PIDS (groups: their leader) runs.
soak__gone() {
	local p
	for p in "$@"; do
		pid_alive "${p#-}" && return 1
	done
	return 0
}

# soak_restart TARGET: start a killed service again; 0 when it serves.
soak_restart() {
	soak__gen=$((soak__gen + 1))
	case $1 in
	redis)
		SOAK_REDIS=redis.$soak__gen
		start_redis "$SOAK_REDIS" "$SOAK_REDIS_PORT" >/dev/null
		;;
	spamd)
		SOAK_SPAMD=spamd.$soak__gen
		RG_SPAMD_PORT=$SOAK_SPAMD_PORT start_spamd "$SOAK_SPAMD" >/dev/null
		;;
	cust)
		start_postfix_again cust >/dev/null
		;;
	policyd)
		SOAK_POLICYD=policyd.$soak__gen
		start_policyd "$SOAK_CONF" "$SOAK_POLICYD" >/dev/null &&
			wait_until 15 soak_unix_listening "$SOAK_RUN/policyd.sock"
		;;
	milter)
		SOAK_MILTER=milter.$soak__gen
		start_milter "$SOAK_CONF" "$SOAK_MILTER" >/dev/null &&
			wait_until 15 soak_unix_listening "$SOAK_RUN/milter.sock"
		;;
	esac
}

# soak_fault kill|term|stop TARGET HOLD: one fault.  kill: SIGKILL, wait
# until the processes are gone, HOLD seconds down, restart (a second try
# after 2 s if the first fails).  term: SIGTERM, wait (15 s at most) until
# it has exited, restart at once (HOLD unused); the line ends in
# exit_ms=N, the time it took to exit.  stop: SIGSTOP, HOLD seconds hung,
# SIGCONT.
# Returns non-zero if the service could not be brought back.
soak_fault() {
	local action=$1 target=$2 hold=$3 t0 pids result=ok p extra=""
	t0=$(soak_now)
	# shellcheck disable=SC2207 # pids, one a line
	pids=($(soak_pids "$target"))
	if [ ${#pids[@]} -eq 0 ]; then
		echo "$t0 $(soak_now) $action $target $hold no-process -" >>"$SOAK_DIR/faults"
		return 1
	fi
	case $action in
	kill)
		# (bash's "Killed" notice for its own children goes to /dev/null)
		{
			soak_signal KILL "${pids[@]}"
			wait_until 10 soak__gone "${pids[@]}" || result=still-running
			# reap what this shell started
			for p in "${pids[@]}"; do
				[ "${p#-}" = "$p" ] && wait "$p"
			done
		} 2>/dev/null
		sleep "$hold"
		if ! soak_restart "$target"; then
			sleep 2
			soak_restart "$target" || result=restart-failed
		fi
		;;
	term)
		# A restart as an admin does it: SIGTERM, the daemon drains and
		# exits (up to 15 s, else SIGKILL), started again at once.
		{
			soak_signal TERM "${pids[@]}"
			wait_until 15 soak__gone "${pids[@]}" || {
				result=ignored-sigterm
				soak_signal KILL "${pids[@]}"
			}
			for p in "${pids[@]}"; do
				[ "${p#-}" = "$p" ] && wait "$p"
			done
		} 2>/dev/null
		extra="exit_ms=$(awk -v a="$t0" -v b="$(soak_now)" 'BEGIN { printf "%d", (b - a) * 1000 }')"
		if ! soak_restart "$target"; then
			sleep 2
			soak_restart "$target" || result=restart-failed
		fi
		;;
	stop)
		soak_signal STOP "${pids[@]}"
		sleep "$hold"
		soak_signal CONT "${pids[@]}"
		;;
	esac
	echo "$t0 $(soak_now) $action $target $hold $result ${pids[*]}${extra:+ $extra}" >>"$SOAK_DIR/faults"
	[ "$result" = ok ]
}

# soak_resume: SIGCONT to every target (at exit, so that nothing stays
# stopped while the harness stops it).
soak_resume() {
	local t
	for t in redis spamd cust policyd milter; do
		# shellcheck disable=SC2046 # pids, one a line
		soak_signal CONT $(soak_pids "$t")
	done
}
