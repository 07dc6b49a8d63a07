// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V PV TLB flush hypercalls: input encoding (host) and issue (guest).
 * Layouts per TLFS as KVM parses them (arch/x86/kvm/hyperv.c):
 *   non-Ex: address_space, flags, processor_mask [, GVA list]
 *   Ex:     address_space, flags, vp_set{format, valid_bank_mask, banks[]} [, GVA list]
 * Fast calls: address_space in RDX, flags in R8, the rest in XMM halves.
 */
#include "hyperv_flush.h"

static const uint16_t call_codes[HV_FLUSH_NR_CALLS] = {
	[HV_FLUSH_SPACE] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	[HV_FLUSH_LIST] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
	[HV_FLUSH_SPACE_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	[HV_FLUSH_LIST_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
};

static const char *const call_names[HV_FLUSH_NR_CALLS] = {
	[HV_FLUSH_SPACE] = "HvFlushVirtualAddressSpace",
	[HV_FLUSH_LIST] = "HvFlushVirtualAddressList",
	[HV_FLUSH_SPACE_EX] = "HvFlushVirtualAddressSpaceEx",
	[HV_FLUSH_LIST_EX] = "HvFlushVirtualAddressListEx",
};

const char *hv_flush_call_name(enum hv_flush_call call)
{
	return call < HV_FLUSH_NR_CALLS ? call_names[call] : "?";
}

const char *hv_flush_targets_name(enum hv_flush_targets targets)
{
	switch (targets) {
	case HV_TARGETS_SPARSE: return "sparse set";
	case HV_TARGETS_ALL_FLAG: return "HV_FLUSH_ALL_PROCESSORS";
	case HV_TARGETS_ZERO_MASK: return "processor_mask 0";
	case HV_TARGETS_SET_ALL: return "HV_GENERIC_SET_ALL";
	}
	return "?";
}

static bool is_ex(enum hv_flush_call call)
{
	return call == HV_FLUSH_SPACE_EX || call == HV_FLUSH_LIST_EX;
}

static bool is_list(enum hv_flush_call call)
{
	return call == HV_FLUSH_LIST || call == HV_FLUSH_LIST_EX;
}

void hv_flush_prepare(struct vm *vm, struct hv_flush_args *a, const struct hv_flush_spec *spec)
{
	/* Everything after address_space and flags, as 64-bit words. */
	uint64_t words[HV_FAST_XMM_HALVES] = { 0 }, flags = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
	uint32_t n = 0, var_cnt = 0, i;
	uint64_t *in;
	bool ex = is_ex(spec->call);

	TEST_ASSERT(spec->call < HV_FLUSH_NR_CALLS, "bad flush call %d", spec->call);
	TEST_ASSERT(ex ? (spec->targets == HV_TARGETS_SPARSE || spec->targets == HV_TARGETS_SET_ALL)
		       : spec->targets != HV_TARGETS_SET_ALL,
		    "%s cannot express targets as %s", hv_flush_call_name(spec->call),
		    hv_flush_targets_name(spec->targets));
	if (!a->input_page)
		a->input_page = (uint64_t)vm_alloc(vm, 2 * PAGE_SIZE);

	if (!ex) {
		if (spec->targets == HV_TARGETS_ALL_FLAG)
			flags |= HV_FLUSH_ALL_PROCESSORS;
		TEST_ASSERT(spec->targets != HV_TARGETS_SPARSE || spec->vp_mask,
			    "an empty processor_mask means \"all\" to KVM: use HV_TARGETS_ZERO_MASK");
		words[n++] = spec->targets == HV_TARGETS_SPARSE ? spec->vp_mask : 0;
	} else if (spec->targets == HV_TARGETS_SET_ALL) {
		words[n++] = HV_GENERIC_SET_ALL;
		words[n++] = 0;                         /* valid_bank_mask, var_cnt 0 */
	} else {
		words[n++] = HV_GENERIC_SET_SPARSE_4K;
		words[n++] = spec->vp_mask ? 1 : 0;     /* bank 0 = VPs 0..63 */
		if (spec->vp_mask) {
			words[n++] = spec->vp_mask;
			var_cnt = 1;
		}
	}
	a->rep_cnt = 0;
	if (is_list(spec->call)) {
		/* One page, the input page itself (count of extra pages 0). */
		for (i = 0; i < HV_FLUSH_LIST_ENTRIES; i++)
			words[n++] = a->input_page;
		a->rep_cnt = HV_FLUSH_LIST_ENTRIES;
	}

	a->fast = spec->fast;
	a->control = hv_control(call_codes[spec->call], spec->fast, var_cnt, a->rep_cnt);
	if (spec->fast) {
		a->rdx = 0;                             /* address_space */
		a->r8 = flags;
		memset(a->xmm, 0, sizeof(a->xmm));
		memcpy(a->xmm, words, n * sizeof(words[0]));
	} else {
		in = (uint64_t *)a->input_page;
		memset(in, 0, PAGE_SIZE);
		in[0] = 0;                              /* address_space */
		in[1] = flags;
		memcpy(&in[2], words, n * sizeof(words[0]));
		a->rdx = vm_hva_to_gpa(vm, in);
		a->r8 = vm_hva_to_gpa(vm, (uint8_t *)in + PAGE_SIZE);
	}
}

uint64_t hv_hypercall_insn_addr(const void *hypercall_page)
{
	const uint8_t *p = hypercall_page;
	int i;

	/* VMCALL 0f 01 c1 (Intel) or VMMCALL 0f 01 d9 (AMD), near the start. */
	for (i = 0; i < 32; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x01 && (p[i + 2] == 0xc1 || p[i + 2] == 0xd9))
			return (uint64_t)(p + i);
	return 0;
}

/* ---- guest side ---- */

uint64_t hv_flush_issue(const struct hv_flush_args *a)
{
	if (a->fast)
		return hyperv_hypercall_fast(a->control, a->rdx, a->r8, a->xmm);
	return hyperv_hypercall(a->control, a->rdx, a->r8);
}
