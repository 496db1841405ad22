# relayguard - one build for everything.
#
#   make            build both daemons (build/relayguard-policyd, build/relayguard-milter)
#   make check      install missing dependencies, check formatting, run the Check
#                   unit suites, again under AddressSanitizer+UBSan, then the
#                   integration suite (prove t/integration)
#   make unit       unit suites only;   make integration   integration only
#   make install    PREFIX=/usr/local DESTDIR=
#   make format     apply .clang-format to every C file
#   make bench      benchmarks (not part of check)
#   make clean

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR	?=
B	?= build

CC	?= cc
PKGS	= libevent libevent_pthreads hiredis
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
PCRE_LIBS  := $(shell pkg-config --libs libpcre2-8 2>/dev/null)

OPT	?= -O2 -g
WARN	= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	  -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS	?=
CPPFLAGS ?=
LDFLAGS	?=
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(OPT) $(WARN) -Isrc -I$(B)/gen \
	  $(PKG_CFLAGS) $(SAN) $(CPPFLAGS) $(CFLAGS)
LDLIBS	= $(PKG_LIBS) $(PCRE_LIBS) -lresolv -lpthread -lm
MILTER_LIBS = -lmilter -lspf2 -lopendkim
# src/auth_spf (libspf2): the milter's SPF and policyd's SPF-aware greylisting.
SPF_LIBS = -lspf2
SAN	?=

LIB_SRC	= $(wildcard src/*.c)
POL_SRC	= $(filter-out policyd/main.c,$(wildcard policyd/*.c))
MIL_SRC	= $(filter-out milter/main.c,$(wildcard milter/*.c))
CTL_SRC	= $(wildcard ctl/*.c)
IMP_SRC	= $(wildcard import/*.c)
LUA	= $(wildcard src/lua/*.lua)
UNIT_SRC = $(wildcard t/unit/check_*.c)
UNIT_BIN = $(patsubst t/unit/%.c,$(B)/t/%,$(UNIT_SRC))
TOOL_SRC = $(wildcard t/tools/*.c)
TOOL_BIN = $(patsubst t/tools/%.c,$(B)/t/tools/%,$(TOOL_SRC))

LIB_OBJ	= $(patsubst %.c,$(B)/%.o,$(LIB_SRC)) $(B)/gen/lua_scripts.o
POL_OBJ	= $(patsubst %.c,$(B)/%.o,$(POL_SRC))
MIL_OBJ	= $(patsubst %.c,$(B)/%.o,$(MIL_SRC))
CTL_OBJ	= $(patsubst %.c,$(B)/%.o,$(CTL_SRC))
IMP_OBJ	= $(patsubst %.c,$(B)/%.o,$(IMP_SRC))

PROGS	= $(B)/relayguard-policyd $(B)/relayguard-milter $(B)/relayguardctl $(B)/relayguard-import

.PHONY: all check unit unit-bin unit-asan integration integration-asan deps format format-check install clean bench bench-quick demo tools soak
.SUFFIXES:

all: $(PROGS) $(TOOL_BIN)

# The version has one source, the first line of debian/changelog; version.h
# is generated from it (order-only here, -MMD records who includes it).
VERSION	:= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
$(B)/gen/version.h: debian/changelog
	@mkdir -p $(B)/gen
	@test -n "$(VERSION)" || { echo "no version in debian/changelog" >&2; exit 1; }
	printf '/* generated from debian/changelog - do not edit */\n#define RG_VERSION "%s"\n' \
		'$(VERSION)' >$@.tmp && mv $@.tmp $@

$(B)/%.o: %.c $(B)/gen/lua_scripts.h | $(B)/gen/version.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

# One run of lua2c writes both files: a grouped target (&:), so that make -j
# runs the recipe once, not once per file.
$(B)/gen/lua_scripts.c $(B)/gen/lua_scripts.h &: $(LUA) scripts/lua2c
	@mkdir -p $(B)/gen
	sh scripts/lua2c $(B)/gen/lua_scripts $(LUA)

$(B)/gen/lua_scripts.o: $(B)/gen/lua_scripts.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/librelayguard.a: $(LIB_OBJ)
	@rm -f $@; ar rcs $@ $^
# lua_scripts.o rides along so that no archive is ever empty.
$(B)/librgpolicyd.a: $(POL_OBJ) $(B)/gen/lua_scripts.o
	@rm -f $@; ar rcs $@ $^
$(B)/librgmilter.a: $(MIL_OBJ) $(B)/gen/lua_scripts.o
	@rm -f $@; ar rcs $@ $^

$(B)/relayguard-policyd: $(B)/policyd/main.o $(B)/librgpolicyd.a $(B)/librelayguard.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(SPF_LIBS) $(LDLIBS)
$(B)/relayguardctl: $(CTL_OBJ) $(B)/librelayguard.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# The importer builds greylist keys and arguments with the daemons' own code (src/greylist).
$(B)/relayguard-import: $(IMP_OBJ) $(B)/librelayguard.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/relayguard-milter: $(B)/milter/main.o $(B)/librgmilter.a $(B)/librelayguard.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(MILTER_LIBS) $(LDLIBS)

$(B)/t/check_%: t/unit/check_%.c $(B)/librgpolicyd.a $(B)/librgmilter.a $(B)/librelayguard.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -It/unit -Ipolicyd -Imilter -o $@ $^ $(CHECK_LIBS) $(MILTER_LIBS) $(LDLIBS)

$(B)/t/tools/%: t/tools/%.c $(B)/librelayguard.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

tools: $(TOOL_BIN)

deps:
	@scripts/install-deps --check 2>/dev/null || scripts/install-deps

# unit-bin builds the suites without running them (make -j safe, like all).
unit-bin: $(UNIT_BIN)

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		CK_DEFAULT_TIMEOUT=60 RG_SRCDIR=$(CURDIR) $$t || fail=1; \
	done; exit $$fail

# The same suites, rebuilt with AddressSanitizer + UBSan in their own tree.
unit-asan:
	$(MAKE) B=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit
	@echo "unit-asan: ok"

integration: all
	RG_BUILD=$(CURDIR)/$(B) prove -v --timer t/integration/

# The daemons themselves under AddressSanitizer+UBSan, driven by the
# integration tests that run them; any sanitizer report fails the target.
ASAN_LOGS = $(CURDIR)/build-asan/asan-logs
integration-asan:
	$(MAKE) B=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS) && chmod 1777 $(ASAN_LOGS)
	ASAN_OPTIONS=detect_leaks=1:log_path=$(ASAN_LOGS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_LOGS)/ubsan \
		RG_BUILD=$(CURDIR)/build-asan prove --timer $(wildcard t/integration/1*.t t/integration/2*.t t/integration/3*.t)
	@if ls $(ASAN_LOGS)/* >/dev/null 2>&1; then cat $(ASAN_LOGS)/*; \
		echo "integration-asan: sanitizer reports above"; exit 1; fi
	@echo "integration-asan: ok, no sanitizer reports"

check: deps
	$(MAKE) format-check
	$(MAKE) all
	CK_FORK=yes $(MAKE) unit
	ASAN_OPTIONS=detect_leaks=1 CK_FORK=no $(MAKE) unit-asan
	$(MAKE) fuzz-corpus
	$(MAKE) integration
	$(MAKE) integration-asan

CFILES	= $(wildcard src/*.c src/*.h policyd/*.c policyd/*.h milter/*.c milter/*.h ctl/*.c ctl/*.h import/*.c import/*.h t/unit/*.c t/unit/*.h t/tools/*.c)
format:
	clang-format -i $(CFILES)
format-check:
	@clang-format --dry-run -Werror $(CFILES) && echo "format-check: ok"
	@scripts/check-waits && echo "check-waits: ok"

# The systemd units are written from scripts/systemd/*.service.in with the
# install paths (SBINDIR, SYSCONFDIR), whatever PREFIX is.
# Configuration files are installed only where none exists yet: an admin's
# edited relayguard.conf or tables are never overwritten.
UNITDIR	?= $(PREFIX)/lib/systemd/system
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/relayguard $(DESTDIR)$(UNITDIR)
	install -m 755 $(PROGS) scripts/relayguard-postmap scripts/relayguard-dnsbl-monitor \
		scripts/relayguard-import-postgrey scripts/relayguard-compare-postgrey $(DESTDIR)$(SBINDIR)/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 scripts/systemd/*.timer $(DESTDIR)$(UNITDIR)/
	for f in scripts/systemd/*.service.in; do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$f \
			>$(DESTDIR)$(UNITDIR)/$$(basename $$f .in) && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$f .in) || exit 1; \
	done
	for f in conf/*; do t=$(DESTDIR)$(SYSCONFDIR)/relayguard/$$(basename $$f); \
		[ -e $$t ] || install -m 644 $$f $$t; done

bench: all
	bash t/bench/run full
bench-quick: all
	bash t/bench/run quick

demo: all
	scripts/demo

# The fault soak (t/soak/README), as root; not part of check.
SOAK_SECONDS ?= 120
soak: all
	RG_BUILD=$(CURDIR)/$(B) SOAK_SECONDS=$(SOAK_SECONDS) bash t/soak/run

clean:
	rm -rf build build-asan build-fuzz

# libFuzzer harnesses: make fuzz, fuzz-corpus (t/fuzz/README).
include t/fuzz/fuzz.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
