// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>

#include "cpuid.h"
#include "hyperv.h"

_Static_assert(offsetof(struct guest_cpu, hypercall_page) == 48,
	       "lib/hyperv_call.S hard-codes the hypercall_page offset");

#define MAX_HV_CPUID_ENTRIES 64

const struct kvm_cpuid2 *kvm_supported_hv_cpuid(struct vcpu *vcpu)
{
	static struct kvm_cpuid2 *supported;

	if (!supported) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
					      MAX_HV_CPUID_ENTRIES * sizeof(c->entries[0]));

		TEST_ASSERT(c, "out of memory");
		c->nent = MAX_HV_CPUID_ENTRIES;
		/* The system ioctl arrived in 5.11 (KVM_CAP_SYS_HYPERV_CPUID);
		 * the vCPU one is older. */
		if (kvm_check_cap(KVM_CAP_SYS_HYPERV_CPUID) > 0)
			TEST_ASSERT(!__sys_ioctl(kvm_dev_fd(), KVM_GET_SUPPORTED_HV_CPUID, c),
				    "KVM_GET_SUPPORTED_HV_CPUID (system) failed");
		else
			vcpu_ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID, c);
		supported = c;
	}
	return supported;
}

void vcpu_enable_hyperv(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int i;

	vcpu_merge_cpuid(vcpu, kvm_supported_hv_cpuid(vcpu));
	/* One hypercall page per VM: every vCPU's MSR may point at it. */
	for (i = 0; i < KVM_MAX_TEST_VCPUS; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->cpu->hypercall_page) {
			vcpu->cpu->hypercall_page = vm->vcpus[i]->cpu->hypercall_page;
			return;
		}
	vcpu->cpu->hypercall_page = vm_alloc(vm, PAGE_SIZE);
}

void vcpu_set_vp_index(struct vcpu *vcpu, uint32_t vp_index)
{
	vcpu_set_msr(vcpu, HV_X64_MSR_VP_INDEX, vp_index);
}

/* ---- guest side ---- */

void hyperv_enable_hypercalls(void)
{
	void *page = this_cpu()->hypercall_page;

	GUEST_ASSERT_MSG(page, "vcpu_enable_hyperv() was not called for vCPU %u",
			 guest_vcpu_id());
	wrmsr(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_ID_KVMTEST);
	wrmsr(HV_X64_MSR_HYPERCALL, guest_gpa(page) | HV_X64_MSR_HYPERCALL_ENABLE);
}
