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
#   make install    install into $(DESTDIR)$(PREFIX)

PREFIX   ?= /usr/local
SIGDIR    = $(PREFIX)/share/portsplit/signatures
PKGS      = libpcre2-8 inih
DEB_PKGS  = build-essential pkg-config libpcre2-dev libinih-dev python3
# What the integration tests run: real clients and servers.
TEST_PKGS = openssh-server openssh-client curl openssl socat netcat-openbsd procps strace \
            bind9-dnsutils postgresql-client ldap-utils nginx openvpn stunnel4
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

all: $(BIN)
asan: $(BIN)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBOBJS) | $(BUILD)/tests
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
# for FUZZ_SECONDS and fails on any crash, leak or disagreement.
FUZZ_CC      = clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     = build/fuzz
FUZZ_CFLAGS  = -std=gnu11 $(WARN) -g -O1 -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
               -DSIGNATURE_DIR='"$(CURDIR)/signatures"' -DPORTSPLIT_VERSION='"$(VERSION)"'
FUZZ_OBJS   := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h) | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJS) $(LIBS) -ldl

$(FUZZ_DIR)/obj:
	mkdir -p $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-deps
	$(MAKE) fuzz-build
	FUZZ_DIR=$(abspath $(FUZZ_DIR)) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

install: $(BIN)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/portsplit
	install -d $(DESTDIR)$(SIGDIR)
	install -m 644 signatures/*.ini $(DESTDIR)$(SIGDIR)/
	install -D -m 644 man/portsplit.1 $(DESTDIR)$(PREFIX)/share/man/man1/portsplit.1
	install -D -m 644 man/portsplit.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/portsplit.ini.5

clean:
	rm -rf build
