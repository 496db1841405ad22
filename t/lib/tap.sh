# tap.sh - TAP output for the integration tests (sourced by harness.sh).
#
# Test::More-like helpers writing TAP to stdout and diagnostics to stderr.
# State: rg__tests (count), rg__failed, rg__planned, rg__done, rg__bailed;
# harness.sh's EXIT trap turns them into the exit status (number of failed
# tests, 255 after BAIL_OUT or a plan mismatch).

rg__tests=0
rg__failed=0
rg__planned=
rg__done=
rg__bailed=

# -------------------------------------------------------------------- TAP

# plan N | plan no_plan
plan() {
	if [ "$1" != no_plan ]; then
		rg__planned=$1
		echo "1..$1"
	fi
}

# skip_all REASON: the whole script is skipped (exit 0).
skip_all() {
	echo "1..0 # SKIP $*"
	rg__planned=0
	rg__done=1
	exit 0
}

# BAIL_OUT REASON: abort the whole prove run.
BAIL_OUT() {
	echo "Bail out! $*"
	rg__bailed=1
	exit 255
}

diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }
note() { printf '# %s\n' "$*"; }

# rg__result STATUS NAME: print one TAP line (STATUS 0 = pass).
rg__result() {
	rg__tests=$((rg__tests + 1))
	local name=${2//#/\\#}
	if [ "$1" -eq 0 ]; then
		echo "ok $rg__tests - $name"
		return 0
	fi
	echo "not ok $rg__tests - $name"
	rg__failed=$((rg__failed + 1))
	local caller=${BASH_SOURCE[2]:-?}:${BASH_LINENO[1]:-?}
	diag "  Failed test '$2'" "  at $caller"
	return 1
}

pass() { rg__result 0 "$1"; }
fail() { rg__result 1 "$1"; }

# ok STATUS NAME: passes when STATUS (usually $?) is 0.
ok() { rg__result "$1" "$2"; }

# check NAME CMD [ARGS...]: runs CMD, passes when it exits 0.
check() {
	local name=$1
	shift
	"$@"
	rg__result $? "$name"
}

# is GOT EXPECTED NAME
is() {
	[ "$1" = "$2" ] && { rg__result 0 "$3"; return; }
	rg__result 1 "$3"
	diag "         got: '$1'" "    expected: '$2'"
	return 1
}

# isnt GOT UNEXPECTED NAME
isnt() {
	[ "$1" != "$2" ] && { rg__result 0 "$3"; return; }
	rg__result 1 "$3"
	diag "         got: '$1'" "    expected: anything else"
	return 1
}

# like GOT ERE NAME / unlike GOT ERE NAME  (bash =~ extended regex)
like() {
	[[ $1 =~ $2 ]] && { rg__result 0 "$3"; return; }
	rg__result 1 "$3"
	diag "                  '$1'" "    doesn't match '$2'"
	return 1
}
unlike() {
	! [[ $1 =~ $2 ]] && { rg__result 0 "$3"; return; }
	rg__result 1 "$3"
	diag "                  '$1'" "          matches '$2'"
	return 1
}

# cmp_ok GOT OP EXPECTED NAME: numeric (decimals allowed) comparison,
# OP one of < <= > >= == !=.
cmp_ok() {
	if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (a !~ /^-?[0-9]+(\.[0-9]+)?$/ || b !~ /^-?[0-9]+(\.[0-9]+)?$/) exit 1
		a += 0; b += 0
		if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b)
		if (op == ">") exit !(a > b); if (op == ">=") exit !(a >= b)
		if (op == "==") exit !(a == b); if (op == "!=") exit !(a != b)
		exit 1 }'; then
		rg__result 0 "$4"
		return
	fi
	rg__result 1 "$4"
	diag "    '$1'" "        $2" "    '$3'"
	return 1
}

# skip N REASON: N skipped tests.
skip() {
	local i
	for ((i = 0; i < $1; i++)); do
		rg__tests=$((rg__tests + 1))
		echo "ok $rg__tests # skip $2"
	done
}

# done_testing: print the plan after the fact (when plan was not called).
done_testing() {
	[ -z "$rg__planned" ] && echo "1..$rg__tests"
	rg__done=1
}
