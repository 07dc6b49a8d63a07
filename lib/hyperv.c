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

/* ---- PV TLB flush requests ---- */

const char *hv_flush_call_name(uint16_t code)
{
	switch (code) {
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:    return "HvFlushVirtualAddressSpace";
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:     return "HvFlushVirtualAddressList";
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX: return "HvFlushVirtualAddressSpaceEx";
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:  return "HvFlushVirtualAddressListEx";
	default:                                    return "unknown hypercall";
	}
}

void hv_flush_init(struct hv_flush *f, uint16_t code, bool fast)
{
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->fast = fast;
	f->format = HV_GENERIC_SET_SPARSE_4K;
}

void hv_flush_add_vp(struct hv_flush *f, uint32_t vp_index)
{
	uint32_t bank = vp_index / HV_VPS_PER_BANK, slot, i;
	uint64_t bit = BITL(vp_index % HV_VPS_PER_BANK);

	if (!hv_flush_is_ex(f->code)) {
		GUEST_ASSERT_MSG(bank == 0, "VP index %u cannot be named in a processor_mask",
				 vp_index);
		f->processor_mask |= bit;
		return;
	}
	GUEST_ASSERT_LT(bank, HV_MAX_SPARSE_BANKS);
	/* Banks are packed in ascending bank order: bank's slot is the number
	 * of valid banks below it. */
	slot = __builtin_popcountll(f->valid_bank_mask & (BITL(bank) - 1));
	if (!(f->valid_bank_mask & BITL(bank))) {
		for (i = f->var_cnt; i > slot; i--)
			f->banks[i] = f->banks[i - 1];
		f->banks[slot] = 0;
		f->valid_bank_mask |= BITL(bank);
		f->var_cnt++;
	}
	f->banks[slot] |= bit;
}

void hv_flush_add_gva(struct hv_flush *f, uint64_t gva, uint64_t additional_pages)
{
	GUEST_ASSERT_LT(f->rep_cnt, HV_FLUSH_MAX_GVAS);
	f->gvas[f->rep_cnt++] = hv_gva_entry(gva, additional_pages);
}

uint32_t hv_flush_fast_halves(const struct hv_flush *f)
{
	/* non-Ex: processor_mask; Ex: format and valid_bank_mask, then banks. */
	uint32_t n = hv_flush_is_ex(f->code) ? 2 + f->var_cnt : 1;

	return n + f->rep_cnt;
}

uint64_t hv_flush_control(const struct hv_flush *f)
{
	return hv_control(f->code, f->fast, f->var_cnt, f->rep_cnt) | f->extra_control;
}

/* Lay out the request: in memory for the slow form, in XMM halves for the
 * fast form (only what fits; KVM rejects requests needing more). */
static uint32_t hv_flush_layout(const struct hv_flush *f, uint64_t *out, uint32_t max)
{
	uint32_t n = 0, i;

#define PUT(v) do { if (n < max) out[n] = (v); n++; } while (0)
	if (!f->fast) {
		PUT(f->address_space);
		PUT(f->flags);
	}
	if (hv_flush_is_ex(f->code)) {
		PUT(f->format);
		PUT(f->valid_bank_mask);
		for (i = 0; i < f->var_cnt && i < HV_MAX_SPARSE_BANKS; i++)
			PUT(f->banks[i]);
	} else {
		PUT(f->processor_mask);
	}
	for (i = 0; i < f->rep_cnt && i < HV_FLUSH_MAX_GVAS; i++)
		PUT(f->gvas[i]);
#undef PUT
	return n;
}

int hyperv_flush_tlb_safe(void *input_page, const struct hv_flush *f, uint64_t *result)
{
	if (f->fast) {
		uint64_t halves[HV_FAST_XMM_HALVES] = { 0 };

		hv_flush_layout(f, halves, HV_FAST_XMM_HALVES);
		return hyperv_hypercall_fast_safe(hv_flush_control(f) & ~HV_HYPERCALL_FAST_BIT,
						  f->address_space, f->flags, halves, result);
	}
	hv_flush_layout(f, input_page, PAGE_SIZE / sizeof(uint64_t));
	return hyperv_hypercall_safe(hv_flush_control(f), guest_gpa(input_page), 0, result);
}

uint64_t hyperv_flush_tlb(void *input_page, const struct hv_flush *f)
{
	uint64_t result = 0;
	int vector = hyperv_flush_tlb_safe(input_page, f, &result);

	GUEST_ASSERT_MSG(vector == NO_EXCEPTION, "%s (%s) raised %s", hv_flush_call_name(f->code),
			 f->fast ? "fast" : "slow", exception_name(vector));
	return result;
}

bool kvm_hv_has(struct vcpu *vcpu, struct cpuid_bit f)
{
	const struct kvm_cpuid2 *c;
	uint32_t i, reg;

	if (kvm_check_cap(KVM_CAP_HYPERV_CPUID) <= 0)
		return false;
	c = kvm_supported_hv_cpuid(vcpu);
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != f.function)
			continue;
		reg = f.reg == CPUID_EAX ? e->eax : f.reg == CPUID_EBX ? e->ebx :
		      f.reg == CPUID_ECX ? e->ecx : e->edx;
		return reg & BIT(f.bit);
	}
	return false;
}

void hyperv_enable_vp_assist(struct hv_vp_assist_page *page)
{
	wrmsr(HV_X64_MSR_VP_ASSIST_PAGE, guest_gpa(page) | HV_X64_MSR_VP_ASSIST_PAGE_ENABLE);
}
