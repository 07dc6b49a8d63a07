# VM runner targets (included by the Makefile). See README.md, "Running in a VM".
#
#   make vm_run_tests [KERNEL=sid|bookworm|trixie|/path/bzImage [MODULES=DIR]]
#                     [EMULATOR=qemu|bochs (Bochs: Intel VMX, kvm_intel in the VM)]
#                     [PATCHES=DIR (KVM patch series, with a Debian KERNEL)]
#                     [TESTS="coll/bin[:case] ..."] [ARGS="..."] [VM_FLAGS="--mem 4096 --numa"]
#                     [VM_JOBS=auto|1|2 (VMs side by side, see scripts/vm/vm-shard; QEMU only)]
#   make matrix [KERNELS="bookworm trixie sid"] [TESTS=...] [ARGS=...] [VM_FLAGS=...]
#               (KERNELS="... sid-bochs": that kernel under Bochs, the Intel column)
#   make vm_selftest   the VM runner's own tests (one real boot of $(KERNEL))
#   make vm_deps       install the Debian packages the VM runner needs
#   make vm_negative_controls   the negative-control checker in a VM (below)
#   make vm_kvm_selftests       all self-tests that need a KVM, in a VM (below)
#   make vm_mwait_restricted    exits/ in a VM booted with clearcpuid=monitor (below)

KERNEL   ?= sid
KERNELS  ?= bookworm trixie sid
EMULATOR ?= qemu
MODULES  ?=
PATCHES  ?=
VM_FLAGS ?=

vm_deps:
	@scripts/deps.sh build vm $(if $(PATCHES),patches) $(if $(filter bochs,$(EMULATOR)),bochs)

# VM_JOBS: VMs side by side for one run (scripts/vm/vm-shard: the suite split
# by measured time, one merged report); auto = 2 where there are 2 cores and
# the memory, 1 = one VM (scripts/vm/vm-run).
VM_JOBS ?= auto

vm_run_tests: vm_deps
	@$(if $(filter bochs,$(EMULATOR)),scripts/vm/vm-run --emulator bochs,scripts/vm/vm-shard --jobs $(VM_JOBS)) --kernel $(KERNEL) $(if $(MODULES),--modules $(MODULES)) $(if $(PATCHES),--patches $(PATCHES)) $(VM_FLAGS) -- $(TESTS) -- $(ARGS)

matrix: vm_deps
	@$(if $(filter %-bochs,$(KERNELS)),scripts/deps.sh bochs &&) scripts/vm/vm-matrix --kernels "$(KERNELS)" --jobs $(VM_JOBS) $(VM_FLAGS) -- $(TESTS) -- $(ARGS)

# lava-dispatcher (about 150 packages) is installed when possible, so the
# LAVA test runs a real job; where it cannot be, that test skips saying so.
# VM_SELFTESTS="vm-boot lava ..." runs those of scripts/tests/test-*.sh only.
VM_SELFTESTS ?=
vm_selftest_wants = $(if $(VM_SELFTESTS),$(filter $(1),$(VM_SELFTESTS)),$(1))
vm_selftest: vm_deps
	@$(if $(call vm_selftest_wants,lava),scripts/deps.sh lava || echo "vm_selftest: lava-dispatcher not installed: test-lava.sh will skip" >&2)
	@$(if $(call vm_selftest_wants,bochs-boot bochs-verdict),scripts/deps.sh bochs || echo "vm_selftest: Bochs's packages not installed: test-bochs-boot.sh and test-bochs-verdict.sh will skip" >&2)
	@KERNEL=$(KERNEL) scripts/tests/run.sh $(VM_SELFTESTS)

.PHONY: vm_deps vm_run_tests matrix vm_selftest

# The negative controls (TEST_CONTROL declarations, --list-controls) in a VM, where the
# Hyper-V and nested rows can fail as they must:
#   make vm_negative_controls [KERNEL=sid] [TESTS="hyperv/tlb_flush ..."] [VM_FLAGS=...]
vm_negative_controls: vm_deps
	@scripts/vm/vm-run --kernel $(KERNEL) --emulator $(EMULATOR) $(if $(MODULES),--modules $(MODULES)) --run check_negative_controls.sh $(VM_FLAGS) -- $(TESTS)

.PHONY: vm_negative_controls

# The self-tests that need a KVM (lib/tests/check_kvm.sh: harness controls,
# the command-line contract's KVM part, the negative-control table) in a VM;
# make check runs this on every machine, with or without /dev/kvm.
vm_kvm_selftests: vm_deps
	@scripts/vm/vm-run --kernel $(KERNEL) --emulator $(EMULATOR) $(if $(MODULES),--modules $(MODULES)) --run check_kvm.sh $(VM_FLAGS) -- $(TESTS)

.PHONY: vm_kvm_selftests

# The exits/ binaries in a VM whose kernel may not pass MWAIT through
# (clearcpuid=monitor), so KVM_CAP_X86_DISABLE_EXITS lacks MWAIT there;
# results in results/mwait-restricted/ (scripts/vm/vm-mwait-restricted).
#   make vm_mwait_restricted [KERNEL=sid] [VM_FLAGS=...]
vm_mwait_restricted: vm_deps
	@scripts/vm/vm-mwait-restricted --kernel $(KERNEL) $(if $(MODULES),--modules $(MODULES)) $(if $(PATCHES),--patches $(PATCHES)) $(VM_FLAGS)

.PHONY: vm_mwait_restricted

# Flaky cases: the suite and the negative-control table in a VM, again and
# again, then each case's failure rate (scripts/vm/soak; about 100 s a run).
#   make soak [KERNEL=sid] [SOAK_RUNS=10] [SOAK_CONTROL_RUNS=5] [TESTS=...] [ARGS=...]
SOAK_RUNS         ?= 10
SOAK_CONTROL_RUNS ?= 5
soak: vm_deps
	@scripts/vm/soak --kernel $(KERNEL) --runs $(SOAK_RUNS) --control-runs $(SOAK_CONTROL_RUNS) -- $(TESTS) -- $(ARGS)

.PHONY: soak
