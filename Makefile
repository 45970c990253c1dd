# irhost build. `make` builds ./irhost; see README.md for the other targets.
.DEFAULT_GOAL := all
SHELL := /bin/bash

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR  := /usr/lib/$(MULTIARCH)
LUA_INC := /usr/include/lua5.4

WARN    := -Wall -Wextra -Werror
# BUILD lets several people build one tree at once without sharing object files.
BUILD   ?= build
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE -I$(LUA_INC) -Ihost -Ibindings -Itests/unit
OPT_rel  := -O2 -g
OPT_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Static Lua and lua-cjson are linked into the binary; curl, OpenSSL, expat and libseccomp stay shared.
LIBS    := $(LIBDIR)/liblua5.4-cjson.a $(LIBDIR)/liblua5.4.a -lcurl -lssl -lcrypto -lexpat -lseccomp -lm -ldl

HOST_SRC  := $(sort $(wildcard host/*.c bindings/*.c))
LIB_SRC   := $(filter-out host/main.c,$(HOST_SRC))
EMBED_SRC := $(sort $(shell find bindings/lua vendor/models -type f \( -name '*.lua' -o -name '*.json' \) 2>/dev/null))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
HEADERS   := $(wildcard host/*.h bindings/*.h)

.PHONY: all deps test test-only demo bench install clean models asan
all: irhost

deps:
	@scripts/deps.sh

$(BUILD)/embed: scripts/embed.c
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/embedded.c: $(BUILD)/embed $(EMBED_SRC)
	@mkdir -p $(BUILD)/gen
	$(BUILD)/embed $@ $(EMBED_SRC)

define variant
$(BUILD)/$(1)/%.o: %.c $(HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS_ALL) $$(OPT_$(1)) $$(WARN) $$(CFLAGS) -c -o $$@ $$<
$(BUILD)/$(1)/gen/embedded.o: $(BUILD)/gen/embedded.c host/embedded.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS_ALL) $$(OPT_$(1)) $$(WARN) -c -o $$@ $$<
$(BUILD)/$(1)/libirhost.a: $$(LIB_SRC:%.c=$(BUILD)/$(1)/%.o) $(BUILD)/$(1)/gen/embedded.o
	@rm -f $$@
	ar rcs $$@ $$^
$(BUILD)/$(1)/irhost: $(BUILD)/$(1)/host/main.o $(BUILD)/$(1)/libirhost.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(OPT_$(1)) -o $$@ $$^ $$(LIBS) $$(LDFLAGS)
$(BUILD)/$(1)/irhost-lua: $(BUILD)/$(1)/tests/lua_host.o $(BUILD)/$(1)/libirhost.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(OPT_$(1)) -o $$@ $$^ $$(LIBS) $$(LDFLAGS)
$(BUILD)/$(1)/unit/%: $(BUILD)/$(1)/tests/unit/%.o $(BUILD)/$(1)/tests/unit/unit.o $(BUILD)/$(1)/libirhost.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(OPT_$(1)) -o $$@ $$^ $$(LIBS) $$(LDFLAGS)
endef
$(eval $(call variant,rel))
$(eval $(call variant,asan))
.SECONDARY:

UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/$(1)/unit/%,$(filter-out tests/unit/unit.c,$(UNIT_SRC)))

irhost: $(BUILD)/rel/irhost
	cp $< $@

asan: $(BUILD)/asan/irhost $(BUILD)/asan/irhost-lua $(call UNIT_BINS,asan)

# Everything the test suite needs: both builds, the trusted-Lua test host and the C unit tests.
test-build: $(BUILD)/rel/irhost $(BUILD)/rel/irhost-lua asan

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) irhost test-build
	@tests/run.sh

test-only: test-build
	@BUILD=$(BUILD) tests/run.sh $(T)

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) irhost
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory irhost $(BUILD)/rel/irhost-lua
	@scripts/bench.sh

models:
	/usr/bin/python3 scripts/genmodels.py

install: irhost
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/irhost/runbooks/lib $(DESTDIR)$(PREFIX)/share/doc/irhost
	install -m 0755 irhost $(DESTDIR)$(PREFIX)/bin/irhost
	install -m 0644 runbooks/*.lua $(DESTDIR)$(PREFIX)/share/irhost/runbooks/
	-install -m 0644 runbooks/lib/*.lua $(DESTDIR)$(PREFIX)/share/irhost/runbooks/lib/ 2>/dev/null
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/irhost/

clean:
	rm -rf $(BUILD) irhost
