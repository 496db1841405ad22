# fuzz.mk - libFuzzer harnesses (t/fuzz/fuzz_<target>.c), included by the
# Makefile. Owned by the fuzz work; see t/fuzz/README.
#
#   make fuzz-bin                  build every harness (clang, ASan+UBSan+libFuzzer) in build-fuzz/
#   make fuzz-corpus               run each harness once over its checked-in corpus (part of make check)
#   make fuzz FUZZ_SECONDS=N       fuzz each target for N seconds; fails on any crash, leak or timeout
#   make fuzz FUZZ_TARGETS=policy  only some targets
#
# Everything is built by a sub-make with B=build-fuzz and CC=clang, so fuzz
# objects never mix with the gcc objects in build/ (and make -j is safe: one
# sub-make owns build-fuzz/).

FUZZ_B		= build-fuzz
FUZZ_CC		?= clang
FUZZ_SAN	= -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OPT	= -O1 -g -fno-omit-frame-pointer
FUZZ_SECONDS	?= 60
FUZZ_TIMEOUT	?= 10
FUZZ_RSS_MB	?= 1024
FUZZ_ALL	= $(patsubst t/fuzz/fuzz_%.c,%,$(filter-out t/fuzz/fuzz_msg.c,$(wildcard t/fuzz/fuzz_*.c)))
FUZZ_TARGETS	?= $(FUZZ_ALL)
FUZZ_BINS	= $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_ALL))

.PHONY: fuzz fuzz-bin fuzz-bin-inner fuzz-corpus fuzz-clean

# The harnesses are formatted and format-checked with everything else.
CFILES += $(wildcard t/fuzz/*.c t/fuzz/*.h)

# Does clang link a libFuzzer program here? (libclang-rt-*-dev)
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)(n & 0); }\n' | \
	$(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1

fuzz-bin:
	@mkdir -p $(FUZZ_B)
	$(MAKE) B=$(FUZZ_B) CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" SAN="$(FUZZ_SAN)" fuzz-bin-inner

fuzz-bin-inner: $(FUZZ_BINS)

.PRECIOUS: $(B)/fuzz/%.o

$(B)/fuzz/%.o: t/fuzz/%.c t/fuzz/fuzz.h $(B)/gen/lua_scripts.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -It/fuzz -Ipolicyd -Imilter -MMD -MP -c -o $@ $<

# fuzz_msg.o first: it replaces src/msg.c (see t/fuzz/fuzz.h).
$(B)/fuzz/fuzz_%: $(B)/fuzz/fuzz_%.o $(B)/fuzz/fuzz_msg.o $(B)/librgpolicyd.a $(B)/librgmilter.a $(B)/librelayguard.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(MILTER_LIBS) $(LDLIBS)

# Each harness once over its corpus: every seed and every regression file.
fuzz-corpus:
	@if ! $(FUZZ_PROBE); then \
		echo "fuzz-corpus: skipped: $(FUZZ_CC) cannot link -fsanitize=fuzzer (install clang and libclang-rt-dev)"; \
		exit 0; fi; \
	$(MAKE) --no-print-directory fuzz-bin >/dev/null || exit 1; \
	fail=0; for t in $(FUZZ_ALL); do \
		mkdir -p $(FUZZ_B)/artifacts/$$t; \
		if $(FUZZ_B)/fuzz/fuzz_$$t -runs=0 -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) \
			-artifact_prefix=$(FUZZ_B)/artifacts/$$t/ t/fuzz/corpus/$$t >$(FUZZ_B)/fuzz/$$t.corpus.log 2>&1; then \
			echo "fuzz-corpus: $$t ok ($$(ls t/fuzz/corpus/$$t | wc -l) files)"; \
		else cat $(FUZZ_B)/fuzz/$$t.corpus.log; echo "fuzz-corpus: $$t FAILED"; fail=1; fi; \
	done; exit $$fail

# Fuzz each target for FUZZ_SECONDS. New inputs go to build-fuzz/corpus/<t>
# (the checked-in corpus is only read); crashes to build-fuzz/artifacts/<t>/.
fuzz:
	@if ! $(FUZZ_PROBE); then echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer"; exit 1; fi
	$(MAKE) --no-print-directory fuzz-bin
	@fail=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/artifacts/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		if $(FUZZ_B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
			-rss_limit_mb=$(FUZZ_RSS_MB) -dict=t/fuzz/$$t.dict -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_B)/artifacts/$$t/ \
			$(FUZZ_B)/corpus/$$t t/fuzz/corpus/$$t >$(FUZZ_B)/fuzz/$$t.log 2>&1; then \
			echo "fuzz: $$t ok: $$(grep -E '^#[0-9]+' $(FUZZ_B)/fuzz/$$t.log | tail -1)"; \
		else tail -60 $(FUZZ_B)/fuzz/$$t.log; ls $(FUZZ_B)/artifacts/$$t/; \
			echo "fuzz: $$t FAILED (log $(FUZZ_B)/fuzz/$$t.log)"; fail=1; fi; \
	done; exit $$fail

fuzz-clean:
	rm -rf $(FUZZ_B)
