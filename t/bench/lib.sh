# lib.sh - helpers of the benchmarks (bash; sourced by t/bench/run after
# t/lib/harness.sh, whose registry stops every process started here by pid).
#
# Measuring: proc_tree, rss_kb, cpu_ticks read /proc of a server and all its
# descendants (postfwd, spamd and Postfix fork).  Recording: bench_row
# appends one result row (tab-separated) to $BENCH_ROWS; bench_table turns
# them into the Markdown table.  Starting: bench_* start the peers and the
# helpers the integration harness does not have, each on its own loopback
# port, registered for cleanup.

BENCH_HZ=$(getconf CLK_TCK)
TOOLS=$RG_BUILD/t/tools

# proc_tree PID: PID and all its descendants, one per line.
proc_tree() {
	local p
	[ -d "/proc/$1" ] || return 0
	echo "$1"
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		proc_tree "$p"
	done
}

# rss_kb PID: resident memory of PID and its descendants, in kB.
rss_kb() {
	local p t=0 v
	for p in $(proc_tree "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# cpu_ticks PID: user+system clock ticks of PID and its live descendants,
# plus those of its reaped children.
cpu_ticks() {
	local p t=0 st
	for p in $(proc_tree "$1"); do
		st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		set -- $st
		# fields 14-17 of stat are $12-$15 here (pid and comm removed)
		t=$((t + ${12} + ${13} + ${14} + ${15}))
	done
	echo "$t"
}

# kv KEY "k=v k=v ...": the value of KEY.
kv() {
	local w
	for w in $2; do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

# fmt NUMBER [DECIMALS]
fmt() { awk -v n="$1" -v d="${2:-0}" 'BEGIN { if (n == "") print "-"; else printf "%.*f\n", d, n }'; }

# bench_row SECTION SERVER CONC RATE P50 P99 P999 RSS_MB CPU100K NOTE
bench_row() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_ROWS"
	printf '  %-10s %-34s %5s  %9s/s  p50 %s p99 %s p99.9 %s  rss %s MB  cpu %s s/100k  %s\n' "$@" >&2
}

# bench_table: the Markdown table of every row.
bench_table() {
	echo "| Test | Server | Conc. | Rate (/s) | p50 ms | p99 ms | p99.9 ms | RSS MB | CPU s/100k | Notes |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$BENCH_ROWS"
}

# rate_of SECTION SERVER CONC: the Rate column of a row ("" if none).
rate_of() {
	awk -F'\t' -v s="$1" -v v="$2" -v c="$3" '$1 == s && $2 == v && $3 == c { r = $4 } END { print r }' "$BENCH_ROWS"
}
col_of() { # SECTION SERVER CONC COLUMN
	awk -F'\t' -v s="$1" -v v="$2" -v c="$3" -v k="$4" '$1 == s && $2 == v && $3 == c { r = $k } END { print r }' "$BENCH_ROWS"
}

# ------------------------------------------------------------ policy load

# policy_point SECTION LABEL PID ADDR WORKLOAD CONC SEED [REDIS_PID]: one
# bounded policy-load run; records rate, latency, the server's RSS after the
# run and its CPU seconds per 100k requests (Redis's separately in the note).
policy_point() {
	local sec=$1 label=$2 pid=$3 addr=$4 wl=$5 conc=$6 seed=$7 rpid=${8:-}
	local c0 c1 r0 r1 out n rps note="" rss
	c0=$(cpu_ticks "$pid")
	[ -n "$rpid" ] && r0=$(cpu_ticks "$rpid")
	out=$(timeout $((BENCH_SECS + 30)) "$TOOLS/policy-load" -s "$addr" -w "$wl" -c "$conc" \
		-n 5000000 -T "$BENCH_SECS" -k 80 -K 1000 -S "$seed" -q 2>>"$RG_TMP/policy-load.err")
	c1=$(cpu_ticks "$pid")
	[ -n "$rpid" ] && r1=$(cpu_ticks "$rpid")
	rss=$(rss_kb "$pid")
	n=$(kv requests "$out")
	rps=$(kv rps "$out")
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		bench_row "$sec" "$label" "$conc" - - - - - - "no answers (see policy-load.err)"
		return 1
	fi
	[ "$(kv errors "$out")" != 0 ] && note="errors=$(kv errors "$out") "
	note="${note}deferred $(awk -v d="$(kv deferred "$out")" -v n="$n" 'BEGIN { printf "%.0f%%", 100 * d / n }')"
	[ -n "$rpid" ] && note="$note; redis $(awk -v t=$((r1 - r0)) -v n="$n" -v hz="$BENCH_HZ" \
		'BEGIN { printf "%.2f", t / hz / n * 100000 }') s/100k"
	bench_row "$sec" "$label" "$conc" "$(fmt "$rps")" "$(fmt "$(kv p50_ms "$out")" 2)" \
		"$(fmt "$(kv p99_ms "$out")" 2)" "$(fmt "$(kv p999_ms "$out")" 2)" \
		"$(fmt "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" 1)" \
		"$(awk -v t=$((c1 - c0)) -v n="$n" -v hz="$BENCH_HZ" 'BEGIN { printf "%.2f", t / hz / n * 100000 }')" \
		"$note"
}

# policy_warm ADDR: teach a greylisting server the 1000 known triplets: one
# pass (new), a pause longer than the 1 s delay, a second pass (passed).
policy_warm() {
	"$TOOLS/policy-load" -s "$1" -c 8 -W -n 1000 -K 1000 -T 60 -q >/dev/null 2>&1
	sleep 2.2
	"$TOOLS/policy-load" -s "$1" -c 8 -W -n 1000 -K 1000 -T 60 -q >/dev/null 2>&1
}

# --------------------------------------------------------------- servers

# bench_spawn NAME CMD...: start CMD in the background as service NAME.
bench_spawn() {
	local name=$1
	shift
	rg__newdir "$name" || return 1
	rg__spawn "$name" "$name" "$RG_TMP/$name/log" "$@"
}

# bench_pidfile_service NAME PIDFILE: register a self-daemonising server
# by its pid file (so that the EXIT trap stops it).
bench_pidfile_service() {
	local pid
	wait_until 15 test -s "$2" || return 1
	pid=$(tr -dc 0-9 <"$2")
	[ -n "$pid" ] || return 1
	rg__register "$1" "$1" "$pid"
	echo "$pid"
}

# start_dunno NAME: t/tools/dunno-server on a loopback port.
start_dunno() {
	local port
	port=$(rg_free_port) || return 1
	bench_spawn "$1" "$TOOLS/dunno-server" -l "inet:127.0.0.1:$port" -T 3600 || return 1
	echo "$port" >"$RG_TMP/$1/port"
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 10
}

# start_postgrey NAME: Debian's postgrey, delay 1 s (0 means its default of
# 300), database in its own dir, as nobody, in the foreground.
start_postgrey() {
	local port d
	port=$(rg_free_port) || return 1
	rg__newdir "$1" || return 1
	d=$RG_TMP/$1
	mkdir "$d/db" && chown nobody "$d/db"
	echo "$port" >"$d/port"
	rg__spawn postgrey "$1" "$d/log" /usr/sbin/postgrey --inet="127.0.0.1:$port" \
		--dbdir="$d/db" --delay=1 --user=nobody --group="$RG_GROUP" --pidfile="$d/pid"
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 20
}

# start_postfwd NAME RULE: postfwd1 (same Debian package; see README for why
# not postfwd2) as a daemon with one rule; registered by its pid file.
start_postfwd() {
	local port d pid
	port=$(rg_free_port) || return 1
	rg__newdir "$1" || return 1
	d=$RG_TMP/$1
	echo "$port" >"$d/port"
	printf '%s\n' "$2" >"$d/rules"
	rg__add_log "$1" "$d/log"
	/usr/sbin/postfwd1 -d -f "$d/rules" --interface 127.0.0.1 --port "$port" --proto tcp \
		--user nobody --group "$RG_GROUP" --pidfile "$d/pid" >"$d/log" 2>&1 || return 1
	pid=$(bench_pidfile_service "$1" "$d/pid") || return 1
	rg__started "$1" "$pid" 127.0.0.1 "$port" 20
}

# start_bench_spamd NAME CHILDREN: spamd as the harness starts it
# (start_spamd), but with CHILDREN children preforked and kept.
start_bench_spamd() {
	local name=$1 n=$2 d port i
	rg__newdir "$name" || return 1
	d=$RG_TMP/$name
	mkdir "$d/etc" "$d/home"
	cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$d/etc/" 2>/dev/null
	printf 'use_bayes 0\nbayes_auto_learn 0\ndns_available no\n' >"$d/etc/zz_bench.cf"
	chown -R "$RG_USER" "$d/home"
	port=$(rg_free_port) || return 1
	echo "$port" >"$d/port"
	rg__spawn spamd "$name" "$d/log" spamd -x -L -u "$RG_USER" -H "$d/home" \
		--siteconfigpath="$d/etc" --listen="127.0.0.1:$port" -s stderr \
		--pidfile="$d/pid" --min-children="$n" --max-children="$n" \
		--min-spare=1 --max-spare="$n"
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 90 || return 1
	SPAMD_PORT=$port
	for ((i = 0; i < 900; i++)); do
		spamc -d 127.0.0.1 -p "$port" -t 5 -K >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_fast_sink NAME: smtp-sink that saves nothing (the harness's one
# writes every message to a file).
start_fast_sink() {
	local port
	port=$(rg_free_port) || return 1
	bench_spawn "$1" smtp-sink -u "$RG_USER" -h "$1.bench.invalid" "127.0.0.1:$port" 256 || return 1
	echo "$port" >"$RG_TMP/$1/port"
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 10
}

# start_spamass NAME: Debian's spamass-milter on inet:PORT@127.0.0.1 using
# the bench spamd.  -m: no Subject/body rewriting (relayguard only adds
# headers too).
start_spamass() {
	local port
	port=$(rg_free_port) || return 1
	bench_spawn "$1" /usr/sbin/spamass-milter -p "inet:$port@127.0.0.1" -m \
		-- -d 127.0.0.1 -p "$SPAMD_PORT" -t 30 || return 1
	echo "$port" >"$RG_TMP/$1/port"
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 15
}

# start_rg NAME policyd|milter CONF: a relayguard daemon in the foreground
# (drops to run_user from CONF); waits for its inet listener (port file).
start_rg() {
	local port
	port=$(cat "$RG_TMP/$1.port")
	bench_spawn "$1" "$RG_BUILD/relayguard-$2" -f -c "$3" || return 1
	echo "$port" >"$RG_TMP/$1/port"
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 15
}

# ------------------------------------------------------------------ SMTP

# smtp_point SECTION LABEL PID SESSIONS MESSAGES [NOTE]: smtp-source sends
# MESSAGES copies of $BENCH_MSG over SESSIONS sessions to the bench Postfix;
# rate = messages accepted per second (end of DATA answered, milter done).
# Waits (bounded) for the queue to drain afterwards so runs do not overlap.
smtp_point() {
	local sec=$1 label=$2 pid=$3 s=$4 m=$5 note=${6:-} t0 t1 err c0 c1 rss="-" cpu="-"
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	timeout $((BENCH_SMTP_SECS + 30)) smtp-source -s "$s" -m "$m" -F "$BENCH_MSG" \
		-f sender@sender.example -t user@customer.example "127.0.0.1:$(rg_port mta)" \
		2>"$RG_TMP/smtp-source.err"
	t1=$(date +%s.%N)
	err=$(grep -c . "$RG_TMP/smtp-source.err")
	if [ -n "$pid" ]; then
		c1=$(cpu_ticks "$pid")
		rss=$(fmt "$(awk -v k="$(rss_kb "$pid")" 'BEGIN { print k / 1024 }')" 1)
		cpu=$(awk -v t=$((c1 - c0)) -v n="$m" -v hz="$BENCH_HZ" 'BEGIN { printf "%.1f", t / hz / n * 100000 }')
	fi
	[ "$err" != 0 ] && note="$note smtp-source errors: $err ($(head -c 80 "$RG_TMP/smtp-source.err" | tr '\n' ' '))"
	bench_row "$sec" "$label" "$s" "$(awk -v m="$m" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", m / (b - a) }')" \
		- - - "$rss" "$cpu" "$m msgs${note:+; $note}"
	wait_until 120 queue_empty
}

queue_empty() { [ "$(postfix_queue_count mta)" = 0 ]; }

# spamc_point SECTION PARALLEL MESSAGES: raw spamc -> spamd, PARALLEL
# workers, each spamc run a new process as spamass-milter does it.
spamc_point() {
	local p=$2 m=$3 t0 t1 i j per=$(($3 / $2)) dl pids=""
	dl=$(($(date +%s) + BENCH_SMTP_SECS))
	: >"$RG_TMP/spamc.count"
	t0=$(date +%s.%N)
	for ((i = 0; i < p; i++)); do
		(
			for ((j = 0; j < per; j++)); do
				[ "$(date +%s)" -lt "$dl" ] || break
				spamc -d 127.0.0.1 -p "$SPAMD_PORT" -t 30 <"$BENCH_MSG" >/dev/null &&
					echo >>"$RG_TMP/spamc.count"
			done
		) &
		pids="$pids $!"
	done
	# only these: a bare wait would wait for the services too
	wait $pids
	t1=$(date +%s.%N)
	m=$(wc -l <"$RG_TMP/spamc.count")
	bench_row "$1" "spamc -> spamd (limit)" "$p" \
		"$(awk -v m="$m" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", m / (b - a) }')" \
		- - - "$(fmt "$(awk -v k="$(rss_kb "$(rg_pid spamd)")" 'BEGIN { print k / 1024 }')" 0)" - \
		"$m msgs; RSS = spamd and its children"
}
