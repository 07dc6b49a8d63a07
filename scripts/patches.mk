# Testing a KVM patch series on a stock Debian kernel (included by the Makefile).
# See README.md, "Testing a KVM patch series".
#
#   make vm_run_tests KERNEL=sid PATCHES=DIR    (the target is in scripts/vm.mk)
#   make kvm_modules KERNEL=sid [PATCHES=DIR]   only build the modules (scripts/kvm-modules)
#   make patch_selftest [KERNEL=sid]            tests of the above, one real VM boot;
#                                               slow once (download, clean build), then ~minutes

kvm_modules:
	@scripts/kvm-modules $(KERNEL) $(PATCHES)

patch_selftest: vm_deps
	@KERNEL=$(KERNEL) scripts/tests/patch-selftest.sh

.PHONY: kvm_modules patch_selftest
