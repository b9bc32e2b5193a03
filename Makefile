# SPDX-License-Identifier: ISC
# portsplit — build, test and run.
#
#   make            build build/portsplit
#   make check      unit + integration tests; closes with "N passed, N failed"
#   make asan check the same, with the binary built under ASan + UBSan
#   make run        build (installing Debian packages when root) and start the demo
#   make bench      the benchmark against a direct connection and the peers
#   make lint       clang-format check
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (60) with clang
#   make install    install into $(DESTDIR)$(PREFIX) (and the sample
#                   configuration into $(DESTDIR)$(SYSCONFDIR)/portsplit)
#   make uninstall  remove what make install put there (not the configuration)
#   make deb        build the Debian package (dpkg-buildpackage) into ../

PREFIX   ?= /usr/local
# Where make install puts things; the paths the program and the units use
# are compiled or substituted in from these, so a changed PREFIX rebuilds
# them (see $(BUILD)/paths.stamp).
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share
SIGDIR    = $(DATADIR)/portsplit/signatures
MANDIR   ?= $(DATADIR)/man
DOCDIR   ?= $(DATADIR)/doc/portsplit
EXAMPLEDIR = $(DOCDIR)/examples
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
PKGS      = libpcre2-8 inih
DEB_PKGS  = build-essential pkg-config libpcre2-dev libinih-dev python3
# What the integration tests run: real clients and servers.
TEST_PKGS = openssh-server openssh-client curl openssl socat netcat-openbsd procps strace \
            bind9-dnsutils postgresql-client ldap-utils openvpn stunnel4
TEST_PKGS += nginx haproxy iproute2 nftables iptables
# What `make fuzz` builds with: clang, libFuzzer and the sanitizer runtimes.
FUZZ_PKGS = clang libclang-rt-14-dev llvm

CC       ?= cc
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
             -DSIGNATURE_DIR='"$(SIGDIR)"' -DPORTSPLIT_VERSION='"$(VERSION)"'
LIBS      = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcre2-8 -linih)
VERSION   = 0.1.0

# "make asan check" builds and tests the sanitizer binary in one go.
ifneq ($(filter asan,$(MAKECMDGOALS)),)
BUILD     = build/asan
ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
BUILD     = build
endif

SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BIN       = $(BUILD)/portsplit

.PHONY: all asan check unit integration hostile run bench bench-full lint format install clean deps test-deps fuzz-deps fuzz fuzz-build
.PHONY: uninstall deb deb-check FORCE

# examples/vpn-behind-https end to end; socket activation and sd_notify;
# the man pages' lint.
TEST_PKGS += nginx openvpn iproute2 iputils-ping systemd mandoc
# make deb-check: build the Debian package and check it (installed in a
# throwaway root: a real client, a backend in Python, ip for loopback,
# strace to see what the maintainer scripts run).
DEB_TEST_PKGS = dpkg-dev debhelper lintian curl python3 iproute2 strace

# What make install writes that has the installed paths substituted in.
GEN_MAN   = $(BUILD)/man/portsplit.1 $(BUILD)/man/portsplit.ini.5
GEN_UNITS = $(BUILD)/dist/portsplit.service $(BUILD)/dist/portsplit.socket $(BUILD)/dist/portsplit.ini
EXAMPLES  = $(wildcard examples/*.ini)
EXAMPLE_DIRS = $(sort $(patsubst %/,%,$(dir $(wildcard examples/*/*))))

all: $(BIN)
asan: $(BIN)

# Rewritten only when an installed path changed, so that whatever embeds
# one (paths.o, the man pages, the units) is rebuilt then and only then.
PATHS_TEXT = $(BINDIR) $(SIGDIR) $(MANDIR) $(DOCDIR) $(SYSCONFDIR) $(SYSTEMDUNITDIR)
$(BUILD)/paths.stamp: FORCE | $(BUILD)/obj
	@echo '$(PATHS_TEXT)' | cmp -s - $@ || echo '$(PATHS_TEXT)' >$@
$(BUILD)/obj/paths.o: $(BUILD)/paths.stamp

# The tree's man pages and units name the default /usr/local paths; the
# installed copies name the installed ones.
SUBST = sed -e 's|/usr/local/share/portsplit/signatures|$(SIGDIR)|g' \
	-e 's|/usr/local/share/doc/portsplit|$(DOCDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' \
	-e 's|/usr/local/bin/portsplit|$(BINDIR)/portsplit|g' \
	-e 's|/etc/portsplit/|$(SYSCONFDIR)/portsplit/|g'
$(BUILD)/man/%: man/% $(BUILD)/paths.stamp
	@mkdir -p $(@D)
	$(SUBST) $< >$@
$(BUILD)/dist/%: dist/% $(BUILD)/paths.stamp
	@mkdir -p $(@D)
	$(SUBST) $< >$@

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBOBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

check: test-deps $(BIN) $(UNIT_BINS)
	PORTSPLIT=$(abspath $(BIN)) UNIT_DIR=$(abspath $(BUILD)/tests) tests/run

unit: $(UNIT_BINS)
	PORTSPLIT=$(abspath $(BIN)) UNIT_DIR=$(abspath $(BUILD)/tests) tests/run unit

integration: test-deps $(BIN)
	PORTSPLIT=$(abspath $(BIN)) tests/run integration

hostile: test-deps $(BIN)
	PORTSPLIT=$(abspath $(BIN)) tests/run hostile

# Installs the Debian packages the build (deps), the tests (test-deps) or
# the fuzzers (fuzz-deps) need, when run as root and missing; otherwise
# says what to install.
deps test-deps fuzz-deps:
	@pkgs="$(if $(filter test-deps,$@),$(DEB_PKGS) $(TEST_PKGS),$(if $(filter fuzz-deps,$@),$(DEB_PKGS) $(FUZZ_PKGS),$(DEB_PKGS)))"; \
	missing=""; for p in $$pkgs; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# The demo: loopback backends from tools/demo-backends, then portsplit in
# the foreground; Ctrl-C stops both.
run: deps
	$(MAKE) all
	@tools/demo-backends & backends=$$!; \
	trap 'kill $$backends 2>/dev/null' EXIT INT TERM; \
	sleep 0.3; echo "portsplit on 127.0.0.1:8443 -- see README.md, 'Try it'"; \
	$(BIN) portsplit.ini

bench: $(BIN)
	PORTSPLIT=$(abspath $(BIN)) bench/run --short

bench-full: $(BIN)
	PORTSPLIT=$(abspath $(BIN)) bench/run --full

lint:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h

# Fuzzing: libFuzzer harnesses (tests/fuzz/fuzz_*.c) linked with the
# program's objects rebuilt by clang under ASan + UBSan in build/fuzz, with
# the source tree's signature library compiled in. tests/fuzz/run runs each
# for FUZZ_SECONDS, FUZZ_JOBS at a time, and fails on any crash, leak or
# disagreement; FUZZ_SEED fixes libFuzzer's seed (CI sets it).
FUZZ_CC      = clang
FUZZ_SECONDS ?= 60
FUZZ_SEED    ?=
FUZZ_JOBS    ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_DIR     = build/fuzz
FUZZ_CFLAGS  = -std=gnu11 $(WARN) -g -O1 -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
               -DSIGNATURE_DIR='"$(CURDIR)/signatures"' -DPORTSPLIT_VERSION='"$(VERSION)"'
FUZZ_OBJS   := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h) | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) tests/unit/sigargs.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJS) $(LIBS) -ldl

$(FUZZ_DIR)/obj:
	mkdir -p $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-deps
	$(MAKE) fuzz-build
	FUZZ_DIR=$(abspath $(FUZZ_DIR)) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    FUZZ_SEED=$(FUZZ_SEED) FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/run

# The sample configuration is installed only where none exists: an
# administrator's file is never overwritten.
install: $(BIN) $(GEN_MAN) $(GEN_UNITS)
	install -D -m 755 $(BIN) $(DESTDIR)$(BINDIR)/portsplit
	install -d $(DESTDIR)$(SIGDIR)
	install -m 644 signatures/*.ini $(DESTDIR)$(SIGDIR)/
	install -D -m 644 $(BUILD)/man/portsplit.1 $(DESTDIR)$(MANDIR)/man1/portsplit.1
	install -D -m 644 $(BUILD)/man/portsplit.ini.5 $(DESTDIR)$(MANDIR)/man5/portsplit.ini.5
	install -d $(DESTDIR)$(EXAMPLEDIR)
	install -m 644 $(EXAMPLES) $(DESTDIR)$(EXAMPLEDIR)/
	for d in $(EXAMPLE_DIRS); do \
	  install -d $(DESTDIR)$(DOCDIR)/$$d && install -m 644 $$d/* $(DESTDIR)$(DOCDIR)/$$d/ || exit 1; \
	done
	install -D -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 644 $(BUILD)/dist/portsplit.service $(DESTDIR)$(SYSTEMDUNITDIR)/portsplit.service
	install -D -m 644 $(BUILD)/dist/portsplit.socket $(DESTDIR)$(SYSTEMDUNITDIR)/portsplit.socket
	install -D -m 644 dist/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/portsplit.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/portsplit
	[ -e $(DESTDIR)$(SYSCONFDIR)/portsplit/portsplit.ini ] || \
	  install -m 644 $(BUILD)/dist/portsplit.ini $(DESTDIR)$(SYSCONFDIR)/portsplit/portsplit.ini

# Removes exactly what install wrote, except the configuration in
# $(SYSCONFDIR)/portsplit, which may hold the administrator's changes.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/portsplit
	rm -rf $(DESTDIR)$(DATADIR)/portsplit $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/portsplit.1 $(DESTDIR)$(MANDIR)/man5/portsplit.ini.5
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/portsplit.service $(DESTDIR)$(SYSTEMDUNITDIR)/portsplit.socket
	rm -f $(DESTDIR)$(SYSUSERSDIR)/portsplit.conf
	@[ ! -e $(DESTDIR)$(SYSCONFDIR)/portsplit/portsplit.ini ] || \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/portsplit/portsplit.ini (remove it by hand if unwanted)"

# The Debian package, unsigned, into the parent folder (dpkg-buildpackage's
# place); needs the packages in debian/control's Build-Depends. It starts
# with `make clean` (debian/rules clean): build/ is rebuilt afterwards.
deb:
	dpkg-buildpackage -us -uc -b

# Builds the package from a copy of the tree and checks its contents and
# lintian, then (as root) installs, serves from, removes and purges it in a
# throwaway copy of the machine (slow: not part of make check).
deb-check:
	@missing=""; for p in $(DEB_TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] || { echo "missing Debian packages:$$missing"; exit 1; }
	bash tests/deb.sh

clean:
	rm -rf build
