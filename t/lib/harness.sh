# harness.sh - integration-test harness for relayguard (bash; source it).
#
# Each t/integration/*.t is a bash script that sources this file and prints
# TAP for prove(1).  The harness gives it:
#   - TAP helpers (plan, ok, is, like, cmp_ok, skip, done_testing, BAIL_OUT);
#   - a private temp dir $RG_TMP (/tmp/rgtest.XXXXXX) removed at exit unless
#     RG_KEEP=1;
#   - start/stop functions for private, loopback-only instances of Postfix
#     (relay and downstream roles), smtp-sink, redis-server, spamd, dnsmasq
#     and the relayguard daemons from $RG_BUILD.
#
# Contract: every process a test starts through these functions is recorded
# (pid + kernel start time, so a recycled pid is never killed) in
# $RG_TMP/.rg/services and stopped by pid, in reverse start order, by the EXIT
# trap; Postfix instances with "postfix -c DIR stop" (abort, then SIGKILL of
# the master's process group as fallbacks).  The registry lives in files, so
# helpers that only read it may run in $(...); the start_* functions and
# swaks_send set shell variables and must not.  Nothing here touches the
# system Postfix (/etc/postfix is only read), system Redis or system DNS.
#
# The services are referred to by a NAME chosen by the test; rg_port NAME,
# rg_dir NAME and rg_log NAME give its port, private dir and log file.

# ---------------------------------------------------------------- basics

RG_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RG_BUILD=${RG_BUILD:-$RG_SRCDIR/build}
RG_TEST_TIMEOUT=${RG_TEST_TIMEOUT:-300}
export LC_ALL=C

# The user the sandboxed helpers (smtp-sink, spamd, dnsmasq, virtual(8)
# deliveries) drop to: running them as root is refused or unwise.
RG_USER=nobody
RG_GROUP=$(id -gn "$RG_USER" 2>/dev/null || echo nogroup)

. "$RG_SRCDIR/t/lib/tap.sh"

# ------------------------------------------------------------ temp + registry

RG_TMP=$(mktemp -d /tmp/rgtest.XXXXXX) || BAIL_OUT "mktemp failed"
# Postfix daemons (user postfix) and the helpers that drop to $RG_USER must
# be able to traverse it.
chmod 755 "$RG_TMP"
mkdir "$RG_TMP/.rg"
: >"$RG_TMP/.rg/services"
: >"$RG_TMP/.rg/ports"
: >"$RG_TMP/.rg/logs"

# rg__starttime PID: the kernel start time of PID (empty if gone).
rg__starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# pid_alive PID [STARTTIME]: true if PID runs (zombies count as dead) and,
# when STARTTIME is given, is still the same process.
pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- "$2" $stat
	[ "$2" != Z ] && [ "$2" != X ] && { [ -z "$1" ] || [ "$1" = "${21}" ]; }
}

# rg__register KIND NAME PID [EXTRA]: record a service for cleanup.
rg__register() {
	echo "$1 $2 $3 $(rg__starttime "$3") ${4:-}" >>"$RG_TMP/.rg/services"
}

# rg__add_log NAME PATH: a log file to show when a test fails.
rg__add_log() {
	echo "$1 $2" >>"$RG_TMP/.rg/logs"
}

rg_dir() { echo "$RG_TMP/$1"; }
rg_port() { cat "$RG_TMP/$1/port" 2>/dev/null; }
rg_log() { awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$RG_TMP/.rg/logs"; }
rg_pid() {
	awk -v n="$1" '$2 == n && $1 != "watchdog" { p = $3 } END { print p }' \
		"$RG_TMP/.rg/services"
}

# rg__newdir NAME: create the private dir of a new service NAME.
rg__newdir() {
	if [ -e "$RG_TMP/$1" ]; then
		diag "harness: service name '$1' already used"
		return 1
	fi
	mkdir -p "$RG_TMP/$1" && chmod 755 "$RG_TMP/$1"
}

# stop_pid PID [STARTTIME] [NAME]: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
	local pid=$1 st=${2:-} i
	pid_alive "$pid" "$st" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" "$st" || break
		sleep 0.1
	done
	if pid_alive "$pid" "$st"; then
		diag "harness: ${3:-pid $pid} ignored SIGTERM, killing"
		kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# rg__stop_postfix CONFDIR MASTERPID STARTTIME
rg__stop_postfix() {
	local conf=$1 pid=$2 st=$3 i
	postfix -c "$conf" stop >/dev/null 2>&1
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" "$st" || return 0
		sleep 0.1
	done
	diag "harness: postfix $conf did not stop, aborting"
	postfix -c "$conf" abort >/dev/null 2>&1
	for ((i = 0; i < 30; i++)); do
		pid_alive "$pid" "$st" || return 0
		sleep 0.1
	done
	# The master runs in its own session: its children share its group.
	pid_alive "$pid" "$st" && kill -KILL -- "-$pid" 2>/dev/null
	return 0
}

# rg__stop_entry LINE-FIELDS: stop one registry entry.
rg__stop_entry() {
	local kind=$1 name=$2 pid=$3 st=$4 extra=${5:-}
	case $kind in
	postfix) rg__stop_postfix "$extra" "$pid" "$st" ;;
	*) stop_pid "$pid" "$st" "$kind $name" ;;
	esac
}

# rg__unregister NAME: drop NAME's entries from the registry.
rg__unregister() {
	awk -v n="$1" '$2 != n' "$RG_TMP/.rg/services" >"$RG_TMP/.rg/services.new"
	mv "$RG_TMP/.rg/services.new" "$RG_TMP/.rg/services"
}

# stop_service NAME: stop one named service now (any kind).
stop_service() {
	local line
	line=$(awk -v n="$1" '$2 == n' "$RG_TMP/.rg/services" | tail -n 1)
	[ -n "$line" ] || return 0
	rg__stop_entry $line
	rg__unregister "$1"
}

# rg_dump_logs [LINES]: the tail of every service log, as TAP diagnostics.
rg_dump_logs() {
	local name path
	while read -r name path; do
		[ -s "$path" ] || continue
		diag "---- $name: $path (last ${1:-25} lines)"
		tail -n "${1:-25}" "$path" | sed 's/^/# /' >&2
	done <"$RG_TMP/.rg/logs"
}

# rg_on_exit CMD [ARGS...]: run CMD at exit, before the registered services
# are stopped (latest first): for what a test starts through something
# other than these helpers, e.g. "scripts/demo stop".
rg__on_exit=()
rg_on_exit() {
	rg__on_exit+=("$(printf '%q ' "$@")")
}

# rg_add_log NAME PATH: show the tail of PATH too when the test fails.
rg_add_log() {
	rg__add_log "$1" "$2"
}

rg__cleanup() {
	local rc=$? line i
	trap - EXIT INT TERM HUP
	[ "$rg__failed" -gt 0 ] && [ -z "$rg__bailed" ] && rg_dump_logs 25
	for ((i = ${#rg__on_exit[@]} - 1; i >= 0; i--)); do
		eval "${rg__on_exit[i]}" </dev/null >/dev/null 2>&1
	done
	if [ -s "$RG_TMP/.rg/services" ]; then
		# Not a pipe: the loop must run in this shell so that wait(1)
		# can reap the children it stops.
		while read -r line; do
			rg__stop_entry $line
		done < <(tac "$RG_TMP/.rg/services")
	fi
	if [ "${RG_KEEP:-0}" = 1 ]; then
		diag "harness: kept $RG_TMP"
	else
		rm -rf "$RG_TMP"
	fi
	if [ -n "$rg__bailed" ]; then
		exit 255
	fi
	if [ -z "$rg__done" ] && [ -z "$rg__planned" ]; then
		diag "harness: no plan and done_testing not called (exit $rc)"
		exit 254
	fi
	if [ -n "$rg__planned" ] && [ "$rg__planned" != "$rg__tests" ]; then
		diag "harness: planned $rg__planned tests but ran $rg__tests"
		[ "$rg__failed" -eq 0 ] && exit 255
	fi
	[ "$rg__failed" -gt 254 ] && rg__failed=254
	exit "$rg__failed"
}
trap rg__cleanup EXIT
trap 'diag "harness: signal received"; exit 130' INT TERM HUP

# A watchdog so that a hung test still cleans up: after RG_TEST_TIMEOUT
# seconds it sends SIGTERM to the test shell and to the shell's foreground
# child (bash runs the trap only once that child has returned); the EXIT
# trap then stops everything.  It holds no stdout, so prove never waits on it.
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "$RG_TEST_TIMEOUT" &
	sp=$!
	wait "$sp"
	echo "# harness: test timed out after ${RG_TEST_TIMEOUT}s" >&2
	kill -TERM $$
	for p in $(ps -o pid= --ppid $$); do
		[ "$p" = "$BASHPID" ] && continue
		grep -q "^[a-z-]* [^ ]* $p " "$RG_TMP/.rg/services" || kill -TERM "$p"
	done
) </dev/null >/dev/null &
rg__register watchdog watchdog $!

# rg_need CMD...: skip the whole script unless every CMD is installed.
rg_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
			skip_all "$c is not installed"
	done
}

# rg_need_build: skip the whole script unless both daemons are built.
rg_need_build() {
	if [ ! -x "$RG_BUILD/relayguard-policyd" ] || [ ! -x "$RG_BUILD/relayguard-milter" ]; then
		skip_all "relayguard binaries not built in $RG_BUILD"
	fi
}

# --------------------------------------------------------------- waiting

# rg__fixed_test CMD [ARGS...]: true if CMD is test/[ over strings or
# numbers only: its answer can never change between two tries.  File tests
# (-e, -s, -S, ...) look at the system and may.
rg__fixed_test() {
	local a
	case $1 in test | \[) ;; *) return 1 ;; esac
	shift
	for a in "$@"; do
		case $a in
		-[abcdefghkLprsStuwxOGN] | -nt | -ot | -ef) return 1 ;;
		esac
	done
	return 0
}

# wait_until TIMEOUT CMD [ARGS...]: poll CMD every 0.1 s until it succeeds
# (return 0) or TIMEOUT seconds pass (return 1).  CMD is run again on each
# try, but its arguments are not: in `wait_until 9 test -n` followed by
# "$(f)" the shell runs f once, before wait_until starts, so nothing is
# waited for.  Pass a
# function or command instead (`wait_until 9 f`).  To make that mistake
# loud, a `test`/`[` over fixed strings or numbers is refused (return 2,
# with a diagnostic), since its answer can never change.
wait_until() {
	local t=$1 i
	shift
	if rg__fixed_test "$@"; then
		diag "harness: wait_until $t $*: a test of fixed values never changes" \
			"(a \$(...) argument is expanded once, before the first try); pass a function"
		return 2
	fi
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# ------------------------------------------------------------ log cursors
#
# A check that greps a log after an action must read only what was written
# after the action, or an earlier message's line satisfies it:
#   m=$(log_mark milter)        # before the action
#   send ...
#   check "... logged" log_wait "$m" 'reason=too-large' 10
# A mark is PATH:OFFSET (the log's size when marked); it is plain text, so
# log_mark may run in $(...).  A log that shrank (rotated, truncated) since
# the mark is read from its start.

# log_mark NAME|PATH: print a cursor at the current end of the log of
# service NAME (rg_log NAME) or of the file PATH.
log_mark() {
	local p=$1 size
	if [[ $p != */* ]]; then
		p=$(rg_log "$1")
		[ -n "$p" ] || { diag "harness: log_mark: no log named '$1'"; return 1; }
	fi
	size=$(stat -c %s -- "$p" 2>/dev/null) || size=0
	echo "$p:$size"
}

# log_since MARK: print what the log got after MARK.
log_since() {
	local p=${1%:*} off=${1##*:} size
	[ -e "$p" ] || return 0
	size=$(stat -c %s -- "$p") || return 1
	[ "$size" -lt "$off" ] && off=0
	tail -c +"$((off + 1))" -- "$p"
}

# log_grep MARK ERE: true if a line written after MARK matches ERE.
log_grep() { log_since "$1" | grep -qE -- "$2"; }

# log_count MARK ERE: how many lines written after MARK match ERE.
log_count() { log_since "$1" | grep -cE -- "$2"; }

# log_wait MARK ERE SECS: wait until a line written after MARK matches.
log_wait() { wait_until "$3" log_grep "$1" "$2"; }

# port_listening HOST PORT [tcp|udp]
port_listening() {
	local flag=-Htln
	[ "${3:-tcp}" = udp ] && flag=-Hlun
	ss $flag "sport = :$2" 2>/dev/null | awk -v h="$1" -v p="$2" '
		{ a = $4 } a == h ":" p || a == "[" h "]:" p || a == "*:" p ||
		a == "0.0.0.0:" p || a == "[::]:" p { f = 1 } END { exit !f }'
}

# wait_port HOST PORT TIMEOUT [tcp|udp]: wait until something listens.
wait_port() {
	wait_until "$3" port_listening "$1" "$2" "${4:-tcp}"
}

# wait_file PATH TIMEOUT: wait until PATH exists (file, dir or socket).
wait_file() {
	wait_until "$2" test -e "$1"
}

# rg_free_port: print a free loopback port.  Ports come from 20000-32767,
# below Linux's ephemeral range (32768-60999) so that no outgoing
# connection can take one between this pick and the bind; ports handed out
# earlier in this test are not reused.
rg_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		grep -qx "$p" "$RG_TMP/.rg/ports" && continue
		port_listening 127.0.0.1 "$p" tcp && continue
		port_listening 127.0.0.1 "$p" udp && continue
		echo "$p" >>"$RG_TMP/.rg/ports"
		echo "$p"
		return 0
	done
	diag "harness: no free port found"
	return 1
}

# rg__spawn KIND NAME LOG CMD [ARGS...]: start CMD in the background with
# stdin from /dev/null and stdout+stderr to LOG; record it.  Sets RG_LASTPID.
rg__spawn() {
	local kind=$1 name=$2 log=$3
	shift 3
	"$@" </dev/null >>"$log" 2>&1 &
	RG_LASTPID=$!
	rg__register "$kind" "$name" "$RG_LASTPID"
	rg__add_log "$name" "$log"
}

# rg__started NAME PID HOST PORT TIMEOUT [tcp|udp]: wait for the port; on
# failure say why and show the log.
rg__started() {
	if wait_port "$3" "$4" "$5" "${6:-tcp}"; then
		return 0
	fi
	diag "harness: $1 did not listen on $3:$4 within ${5}s"
	pid_alive "$2" || diag "harness: $1 (pid $2) exited"
	[ -s "$(rg_log "$1")" ] && tail -n 20 "$(rg_log "$1")" | sed 's/^/# /' >&2
	return 1
}

# The modules below use the registry and waiting helpers above.
. "$RG_SRCDIR/t/lib/postfix.sh"
. "$RG_SRCDIR/t/lib/services.sh"
. "$RG_SRCDIR/t/lib/swaks.sh"
. "$RG_SRCDIR/t/lib/relayguard.sh"
