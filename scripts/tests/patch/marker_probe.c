// SPDX-License-Identifier: GPL-2.0
/*
 * Sees the self-test patch series (scripts/tests/patch/good/) in the running
 * KVM: the check for `make vm_run_tests PATCHES=DIR` (scripts/kvm-modules/kvm-modules).
 *
 * The series makes kvm.ko answer KVM_CHECK_EXTENSION(KVM_CAP_CHECK_EXTENSION_VM)
 * with a marker instead of 1, and gives kvm-amd.ko a read-only parameter
 * kvm_regress_marker holding the same marker. Both are visible only when the
 * modules rebuilt from the patched source are the ones loaded.
 *
 * Not part of the suite (no collection holds it): scripts/tests/patch-selftest.sh
 * builds it and runs it in a VM booted with the rebuilt modules, where both
 * cases pass, and on this host's stock KVM, where the first must fail (the
 * negative control). A failure in the VM means the patched modules were not
 * built, not put into the initramfs, or not loaded instead of the stock ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

/* Must match the series in scripts/tests/patch/good/ ("kvm" in ASCII). */
#define SELFTEST_MARKER         0x6b766d
/* What an unpatched kernel reports for KVM_CAP_CHECK_EXTENSION_VM. */
#define STOCK_CHECK_EXTENSION_VM 1
#define KVM_AMD_MARKER_PARAM    "/sys/module/kvm_amd/parameters/kvm_regress_marker"
#define KVM_AMD_SYSFS           "/sys/module/kvm_amd"

static const char *explain(int value)
{
	return value == STOCK_CHECK_EXTENSION_VM ?
		" (the stock value: this KVM is not the patched kvm.ko)" : "";
}

TEST_CASE(check_extension_marker,
	  "KVM_CHECK_EXTENSION(KVM_CAP_CHECK_EXTENSION_VM) answers with the patch's marker on /dev/kvm and on a VM")
{
	int sys_value = kvm_check_cap(KVM_CAP_CHECK_EXTENSION_VM);
	struct vm *vm;
	int vm_value;

	test_diag("/dev/kvm: KVM_CHECK_EXTENSION(KVM_CAP_CHECK_EXTENSION_VM) = %#x", sys_value);
	TEST_ASSERT(sys_value == SELFTEST_MARKER,
		    "/dev/kvm reports %#x for KVM_CAP_CHECK_EXTENSION_VM, expected the marker %#x%s",
		    sys_value, SELFTEST_MARKER, explain(sys_value));

	vm = vm_create(NULL);
	vm_value = vm_check_cap(vm, KVM_CAP_CHECK_EXTENSION_VM);
	test_diag("VM fd: KVM_CHECK_EXTENSION(KVM_CAP_CHECK_EXTENSION_VM) = %#x", vm_value);
	TEST_ASSERT(vm_value == SELFTEST_MARKER,
		    "the VM fd reports %#x for KVM_CAP_CHECK_EXTENSION_VM, expected the marker %#x%s",
		    vm_value, SELFTEST_MARKER, explain(vm_value));
	vm_destroy(vm);
}

TEST_CASE(kvm_amd_marker_parameter,
	  "kvm_amd has the patch's read-only parameter kvm_regress_marker, holding the marker")
{
	FILE *f;
	long value;
	int n;

	if (access(KVM_AMD_SYSFS, F_OK))
		test_skip("kvm_amd is not loaded (not an AMD SVM host)");
	f = fopen(KVM_AMD_MARKER_PARAM, "r");
	TEST_ASSERT(f, "kvm_amd has no parameter kvm_regress_marker (%s: %s): the loaded kvm-amd.ko is not the patched one",
		    KVM_AMD_MARKER_PARAM, strerror(errno));
	n = fscanf(f, "%ld", &value);
	fclose(f);
	TEST_ASSERT(n == 1, "%s does not hold a number", KVM_AMD_MARKER_PARAM);
	test_diag("kvm_amd.kvm_regress_marker = %#lx", value);
	TEST_ASSERT(value == SELFTEST_MARKER, "kvm_amd.kvm_regress_marker is %#lx, expected %#x",
		    value, SELFTEST_MARKER);
}
