# Testing a KVM patch series on a stock Debian kernel (included by the Makefile).
# See README.md, "Testing a KVM patch series".
#
#   make vm_run_tests KERNEL=sid PATCHES=DIR    (the target is in scripts/vm/vm.mk)
#   make kvm_modules KERNEL=sid [PATCHES=DIR]   only build the modules (kvm-modules, beside this file)
#   make patch_selftest [KERNEL=sid]            tests of the above, two short VM boots;
#                                               a few minutes from a cold cache, ~1-2 min warm
#   make broken_kvm_controls [KERNEL=sid]       the suite against KVM broken on purpose
#                                               (lib/tests/broken-kvm/) and against the
#                                               suite's port of the proposed exits
#                                               interfaces (lib/tests/proposed-kvm/);
#                                               series with the same kernel
#                                               options share one VM
#   make proposed_kvm [KERNEL=sid]              the latter alone, with the posted MWAIT slip

patch_deps:
	@scripts/deps.sh build vm patches

kvm_modules: patch_deps
	@scripts/kvm-modules/kvm-modules $(KERNEL) $(PATCHES)

patch_selftest: patch_deps
	@KERNEL=$(KERNEL) scripts/tests/patch-selftest.sh

# The suite's cases against KVM broken on purpose (lib/tests/broken-kvm/):
# each must fail exactly where its path is broken; and against the proposed
# interfaces (lib/tests/proposed-kvm/): their cases must run and pass.
broken_kvm_controls: patch_deps
	@lib/tests/check_patched_kvm.sh --kernel $(KERNEL) $(BROKEN_KVM_FLAGS)

proposed_kvm: patch_deps
	@lib/tests/check_patched_kvm.sh --kernel $(KERNEL) $(BROKEN_KVM_FLAGS) \
		lib/tests/proposed-kvm lib/tests/broken-kvm/posted-mwait-slip.patch

.PHONY: patch_deps kvm_modules patch_selftest broken_kvm_controls proposed_kvm
