# kvm-regress: out-of-tree KVM regression suite.
#
#   make               build every test binary into $(O)/<collection>/<name>
#   make run_tests     run the suite on this host's /dev/kvm (KTAP on stdout)
#   make check         the project's own tests (see README.md)
#   make install INSTALL_PATH=DIR   kselftest-style install (binaries + runner)
#   make STATIC=1 ...  link the test binaries statically (used by the VM runner)

O          ?= build
# The objects' tree. How they are linked does not change them, so a static
# build can take the ordinary build's (the VM runner's: STATIC=1
# O=build/vm-static OBJ=build) instead of compiling everything again.
OBJ        ?= $(O)
STATIC     ?= 0
CC         ?= gcc
NPROC      := $(shell nproc 2>/dev/null || echo 1)

# Guest code is ordinary C in the test binaries, loaded into the guest at its
# link address: no PIE, no stack protector (it reads %fs), no SSE anywhere
# (some hosts' instruction emulators stop on SSE in exception paths, and
# general-regs-only keeps gcc from spilling into XMM registers).
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
              -fno-pie -no-pie -fno-stack-protector -fno-omit-frame-pointer \
              -mgeneral-regs-only -mno-red-zone -fno-builtin-memcpy \
              -D_GNU_SOURCE -Iinclude
LDFLAGS    += -no-pie
LDLIBS     += -lnuma -lpthread -lrt
LINK       :=
ifeq ($(STATIC),1)
LDFLAGS    += -static
# Drops libnuma's getaddrinfo note, which every static link prints (see there).
LINK       := scripts/link-notes
endif

COLLECTIONS := x86_64 hyperv pi exits
LIB_SRCS    := $(wildcard lib/*.c) $(wildcard lib/*.S)
LIB_OBJS    := $(patsubst lib/%,$(OBJ)/lib/%.o,$(LIB_SRCS))
TEST_SRCS   := $(foreach c,$(COLLECTIONS),$(wildcard $(c)/*.c))
TEST_BINS   := $(patsubst %.c,$(O)/%,$(TEST_SRCS))
SELFTEST_SRCS := $(wildcard lib/tests/*.c)
SELFTEST_BINS := $(patsubst lib/tests/%.c,$(O)/lib/tests/%,$(SELFTEST_SRCS))
HEADERS     := $(wildcard include/*.h)

# keep_stamp FILE,TEXT: FILE holds TEXT, rewritten (under a temporary name,
# then renamed) only when TEXT changed; run as the Makefile is read, so that
# make -q sees it too.
keep_stamp = $(shell mkdir -p $(dir $(1)) && { [ "$$(cat $(1) 2>/dev/null)" = '$(2)' ] || \
	{ printf '%s\n' '$(2)' >$(1).$$$$ && mv -f $(1).$$$$ $(1); }; })

# A build that shares OBJ must not link objects compiled another way: the
# compile command is kept in OBJ/.compile, rewritten when it changes, and
# every object depends on it.
COMPILE     := $(CC) $(CFLAGS)
$(call keep_stamp,$(OBJ)/.compile,$(COMPILE))

all: $(O)/.deps-build $(TEST_BINS) $(SELFTEST_BINS)

# Fresh machines: install (as root) or name the missing packages first.
$(O)/.deps-build: scripts/deps.sh
	@scripts/deps.sh build
	@mkdir -p $(O) && touch $@

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @echo
endif

# Compiles wait for the dependency check (order-only), also under make -j.
# Objects and binaries are written under a temporary name and renamed: two
# makes sharing OBJ (a build and a VM run's static build, say) may make the
# same file at once, and neither may read the other's half-written one.
$(OBJ)/%.c.o: %.c $(HEADERS) $(OBJ)/.compile | $(O)/.deps-build
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@.$$$$.tmp $< && mv -f $@.$$$$.tmp $@

$(OBJ)/%.S.o: %.S $(HEADERS) $(OBJ)/.compile | $(O)/.deps-build
	@mkdir -p $(dir $@)
	$(quiet) "  AS      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@.$$$$.tmp $< && mv -f $@.$$$$.tmp $@

# Likewise the link: binaries linked another way are linked again, so that
# "make STATIC=1 install" after a plain build installs static binaries
# (the VM runner refuses dynamic ones) instead of the up-to-date dynamic ones.
LINK_CMD    := $(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
$(call keep_stamp,$(O)/.link,$(LINK_CMD))

# The library is linked as whole objects, not pulled from the archive on
# demand: guest entry stubs and the libc overrides must always be present.
$(O)/%: $(OBJ)/%.c.o $(LIB_OBJS) $(O)/.link | $(O)/.deps-build
	@mkdir -p $(dir $@)
	$(quiet) "  CCLD    $@"
	$(Q)$(LINK) $(CC) $(CFLAGS) $(LDFLAGS) -o $@.$$$$.tmp $< $(LIB_OBJS) $(LDLIBS) && mv -f $@.$$$$.tmp $@

# TESTS="collection/binary[:case] ..." selects; ARGS="--duration 5" passes through;
# RESULTS=DIR also writes DIR/host.ktap, DIR/host.xml (JUnit) and DIR/host.json,
# and says on stderr how much stress the stress cases applied.
RUN_SUITE = scripts/runner/run_tests.sh -d $(O) $(TESTS) $(if $(ARGS),-- $(ARGS))
# Where this machine has no /dev/kvm it can open, every binary skips: say
# where the same run happens (on stderr, after the KTAP). The open is tried
# on a device node only: "<>" would create a missing file.
NO_KVM_HINT = [ -c /dev/kvm ] && { : <>/dev/kvm; } 2>/dev/null || \
	echo "note: no usable /dev/kvm on this machine, so every binary skipped; $(1) runs the same in a QEMU VM" >&2
run_tests: all
ifeq ($(RESULTS),)
	@$(RUN_SUITE); rc=$$?; $(call NO_KVM_HINT,make vm_run_tests); exit $$rc
else
	@mkdir -p $(RESULTS)
	@{ $(RUN_SUITE); echo $$? >$(RESULTS)/.rc; } | tee $(RESULTS)/host.ktap
	@scripts/runner/ktap-results --junit $(RESULTS)/host.xml --json $(RESULTS)/host.json \
		--stress-work $(RESULTS)/host.ktap >$(RESULTS)/.stress-work
	@sed 's/^/run_tests: stress work: /' $(RESULTS)/.stress-work >&2; rm -f $(RESULTS)/.stress-work
	@exit $$(cat $(RESULTS)/.rc)
endif

# The project's own tests, the suite on this host, and the suite in a VM.
# The build uses every CPU (about 20 s serial, 10 s on 2 cores).
check:
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@scripts/deps.sh check
	@scripts/check.sh $(O)

install: all
	@test -n "$(INSTALL_PATH)" || { echo "make install: set INSTALL_PATH=DIR" >&2; exit 2; }
	scripts/runner/install.sh $(O) $(INSTALL_PATH) $(patsubst $(O)/%,%,$(TEST_BINS))

clean:
	rm -rf $(O) build results

# Each product under scripts/ brings its own targets (vm/vm.mk: the VM runner,
# kvm-modules/kvm-modules.mk: patch series, bench/bench.mk: make bench).
-include scripts/*/*.mk

.PHONY: all run_tests check install clean
.SECONDARY:
