#!/bin/bash
# A clean tree builds with make -j8: the daemons and tools (all), the unit
# suites (unit-bin) and the sanitizer build, each into a fresh build dir
# (B=...), twice in a row, so a rule that makes two files in one recipe or
# forgets a dependency shows up as a failed or racing parallel build.
. "$(dirname "$0")/../lib/harness.sh"

rg_need make cc
for run in 1 2; do
	b=$RG_TMP/build$run
	make -s -C "$RG_SRCDIR" -j8 B="$b" all >"$RG_TMP/all$run.log" 2>&1
	ok $? "run $run: make -j8 all into a clean B= builds" ||
		tail -n 20 "$RG_TMP/all$run.log" | sed 's/^/# /' >&2
	check "... both daemons" test -x "$b/relayguard-policyd" -a -x "$b/relayguard-milter"
	make -s -C "$RG_SRCDIR" -j8 B="$b" unit-bin >"$RG_TMP/unit$run.log" 2>&1
	ok $? "run $run: make -j8 unit-bin builds every unit suite" ||
		tail -n 20 "$RG_TMP/unit$run.log" | sed 's/^/# /' >&2
	n=$(find "$b/t" -maxdepth 1 -name 'check_*' -type f -perm -u+x | wc -l)
	is "$n" "$(ls "$RG_SRCDIR"/t/unit/check_*.c | wc -l)" "... one binary per t/unit/check_*.c"
done
make -s -C "$RG_SRCDIR" -j8 B="$RG_TMP/asan" OPT="-O1 -g" \
	SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" all >"$RG_TMP/asan.log" 2>&1
ok $? "make -j8 all with the sanitizers (the unit-asan/integration-asan flags) builds" ||
	tail -n 20 "$RG_TMP/asan.log" | sed 's/^/# /' >&2

done_testing
