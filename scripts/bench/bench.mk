# make bench: what the suite costs, next to the raw-ioctl floor (see
# scripts/bench/bench.c and scripts/bench/bench.sh).
#
#   make bench [BENCH_ARGS="--iterations N --duration S"] [BENCH_SUITE=0]
#       on this host's /dev/kvm: prints a table, writes results/bench.json
#       and results/bench.md. BENCH_SUITE=0 leaves out the whole-suite
#       figures (a clean build and make run_tests), which take longest.
#   make bench_wall    the wall time of vm_run_tests, check (warm and cold) and matrix (below)
#   make vm_bench [KERNEL=sid|bookworm|trixie|PATH] [BENCH_ARGS=...] [VM_BENCH_FLAGS=--with-suite]
#       the same binary inside a QEMU VM through scripts/vm/vm-run: writes
#       results/bench-vm-<kernel>-<version>.json and .md.

BENCH_BIN      := $(O)/scripts/bench/bench
BENCH_SUITE    ?= 1
BENCH_ARGS     ?=
VM_BENCH_FLAGS ?=

# Built with everything else, so a library change that breaks it shows at once.
all: $(BENCH_BIN)

# Without a usable /dev/kvm the benchmark skips (status 4): not a failure of
# make; it says where the same figures come from.
bench: all
	@scripts/bench/bench.sh -d $(O) -s $(BENCH_SUITE) -- $(BENCH_ARGS); rc=$$?; \
	if [ $$rc -eq 4 ]; then $(call NO_KVM_HINT,make vm_bench); exit 0; fi; exit $$rc

vm_bench:
	@scripts/bench/vm-bench --kernel $(or $(KERNEL),sid) $(VM_BENCH_FLAGS) -- $(BENCH_ARGS)

.PHONY: bench vm_bench

# The wall time of make vm_run_tests (one VM, VMs side by side, a one-line
# KVM patch), make check (warm, and cold: a fresh clone with empty caches)
# and make matrix, one after another in one run:
#   make bench_wall [KERNEL=sid] [BENCH_WALL_ARGS="--only single,sharded"]
# results/bench-wall.md (scripts/bench/wall-times). About 25 minutes, the
# cold make check 12-15 of them.
BENCH_WALL_ARGS ?=
bench_wall:
	@scripts/bench/wall-times --kernel $(or $(KERNEL),sid) $(BENCH_WALL_ARGS)

.PHONY: bench_wall
