// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V PV TLB flush calls described by scenario (call, kind of target
 * set), prepared on the host with hyperv.h's request encoding and issued by
 * the guest.
 */
#include "hyperv_flush.h"

static const uint16_t call_codes[HV_FLUSH_NR_CALLS] = {
	[HV_FLUSH_SPACE] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	[HV_FLUSH_LIST] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
	[HV_FLUSH_SPACE_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	[HV_FLUSH_LIST_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
};

uint16_t hv_flush_call_code(enum hv_flush_call call)
{
	TEST_ASSERT(call < HV_FLUSH_NR_CALLS, "bad flush call %d", call);
	return call_codes[call];
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

void hv_flush_prepare(struct vm *vm, struct hv_flush_args *a, const struct hv_flush_spec *spec)
{
	uint16_t code = hv_flush_call_code(spec->call);
	bool ex = hv_flush_is_ex(code);
	struct hv_flush *f = &a->f;
	uint32_t vp, i;

	TEST_ASSERT(ex ? (spec->targets == HV_TARGETS_SPARSE || spec->targets == HV_TARGETS_SET_ALL)
		       : spec->targets != HV_TARGETS_SET_ALL,
		    "%s cannot express targets as %s", hv_flush_call_name(code),
		    hv_flush_targets_name(spec->targets));
	TEST_ASSERT(ex || spec->targets != HV_TARGETS_SPARSE || spec->vp_mask,
		    "an empty processor_mask means \"all\" to KVM: use HV_TARGETS_ZERO_MASK");
	if (!a->input_page)
		a->input_page = vm_alloc(vm, PAGE_SIZE);

	hv_flush_init(f, code, spec->fast);
	f->flags = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
	switch (spec->targets) {
	case HV_TARGETS_SPARSE:         /* Ex with an empty mask: an empty set */
		for (vp = 0; vp < HV_VPS_PER_BANK; vp++)
			if (spec->vp_mask & BITL(vp))
				hv_flush_add_vp(f, vp);
		break;
	case HV_TARGETS_ALL_FLAG:
		f->flags |= HV_FLUSH_ALL_PROCESSORS;
		break;
	case HV_TARGETS_ZERO_MASK:      /* processor_mask stays 0 */
		break;
	case HV_TARGETS_SET_ALL:
		f->format = HV_GENERIC_SET_ALL;
		break;
	}
	/* List calls flush the input page itself (no additional pages). */
	if (hv_flush_is_list(code))
		for (i = 0; i < HV_FLUSH_LIST_ENTRIES; i++)
			hv_flush_add_gva(f, (uint64_t)a->input_page, 0);
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
	return hyperv_flush_tlb(a->input_page, &a->f);
}
