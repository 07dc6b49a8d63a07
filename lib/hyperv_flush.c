// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V PV TLB flush calls described by scenario (call, form, target set,
 * GVAs), encoded with hyperv.h's request encoding. Everything above the
 * "host side" line runs on either side: no libc, no assertions.
 */
#include "hyperv_flush.h"

static const uint16_t call_codes[HV_FLUSH_NR_CALLS] = {
	[HV_FLUSH_SPACE] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	[HV_FLUSH_LIST] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
	[HV_FLUSH_SPACE_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	[HV_FLUSH_LIST_EX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
};

/* Out of range: a code no flush call has (hv_flush_call_name() says so). */
uint16_t hv_flush_call_code(enum hv_flush_call call)
{
	return call < HV_FLUSH_NR_CALLS ? call_codes[call] : 0;
}

const char *hv_flush_call_str(enum hv_flush_call call)
{
	return hv_flush_call_name(hv_flush_call_code(call));
}

void hv_flush_spec_add_vp(struct hv_flush_spec *spec, uint32_t vp)
{
	if (spec->nr_vps < HV_FLUSH_SPEC_MAX_VPS)
		spec->vps[spec->nr_vps] = vp;
	spec->nr_vps++;
}

void hv_flush_spec_add_gva(struct hv_flush_spec *spec, uint64_t gva, uint32_t additional_pages)
{
	if (spec->nr_gvas < HV_FLUSH_MAX_GVAS)
		spec->gvas[spec->nr_gvas] = hv_gva_entry(gva, additional_pages);
	spec->nr_gvas++;
}

bool hv_flush_spec_targets_vp(const struct hv_flush_spec *spec, uint32_t vp)
{
	uint32_t i;

	if (spec->targets != HV_TARGETS_VPS)
		return true;
	for (i = 0; i < spec->nr_vps && i < HV_FLUSH_SPEC_MAX_VPS; i++)
		if (spec->vps[i] == vp)
			return true;
	return false;
}

const char *hv_flush_spec_problem(const struct hv_flush_spec *spec)
{
	bool ex = hv_flush_call_is_ex(spec->call);
	uint32_t max_vp = ex ? HV_MAX_SPARSE_BANKS * HV_VPS_PER_BANK : HV_VPS_PER_BANK;
	uint64_t banks = 0;
	uint32_t halves, i;

	if (spec->call >= HV_FLUSH_NR_CALLS)
		return "not one of the four flush calls";
	if (spec->nr_vps > HV_FLUSH_SPEC_MAX_VPS)
		return "lists more VPs than HV_FLUSH_SPEC_MAX_VPS";
	if (spec->nr_gvas > HV_FLUSH_MAX_GVAS)
		return "lists more GVA entries than HV_FLUSH_MAX_GVAS";
	for (i = 0; i < spec->nr_vps; i++) {
		if (spec->vps[i] >= max_vp)
			return ex ? "a VP index beyond the 64 sparse banks"
				  : "a processor_mask names VP indexes 0..63 only: use an Ex call";
		banks |= BITL(spec->vps[i] / HV_VPS_PER_BANK);
	}
	switch (spec->targets) {
	case HV_TARGETS_VPS:
		if (!ex && !spec->nr_vps)
			return "an empty processor_mask means \"all\" to KVM: use HV_TARGETS_ZERO_MASK";
		break;
	case HV_TARGETS_ALL_FLAG:
		if (ex)
			return "the Ex calls have no HV_FLUSH_ALL_PROCESSORS: use HV_TARGETS_SET_ALL";
		break;
	case HV_TARGETS_ZERO_MASK:
		if (ex)
			return "the Ex calls have no processor_mask: use HV_TARGETS_SET_ALL";
		if (spec->nr_vps)
			return "HV_TARGETS_ZERO_MASK lists no VPs";
		break;
	case HV_TARGETS_SET_ALL:
		if (!ex)
			return "only the Ex calls have HV_GENERIC_SET_ALL";
		if (spec->nr_vps)
			return "HV_TARGETS_SET_ALL lists no VPs";
		break;
	default:
		return "not one of the target forms";
	}
	if (hv_flush_call_is_list(spec->call) && !spec->nr_gvas)
		return "a List call names at least one GVA entry";
	/* non-Ex: processor_mask; Ex: format and valid_bank_mask, then banks. */
	halves = (ex ? 2 + __builtin_popcountll(banks) : 1) + hv_flush_spec_reps(spec);
	if (spec->fast && halves > HV_FAST_XMM_HALVES)
		return "the fast form needs more than the 12 halves of XMM0..XMM5";
	return NULL;
}

const char *hv_flush_build(struct hv_flush *f, const struct hv_flush_spec *spec)
{
	const char *problem = hv_flush_spec_problem(spec);
	uint32_t i;

	if (problem)
		return problem;
	hv_flush_init(f, hv_flush_call_code(spec->call), spec->fast);
	if (spec->targets == HV_TARGETS_ALL_FLAG)
		f->flags |= HV_FLUSH_ALL_PROCESSORS;
	if (spec->targets == HV_TARGETS_SET_ALL)
		f->format = HV_GENERIC_SET_ALL;
	/* HV_TARGETS_ZERO_MASK and HV_TARGETS_SET_ALL list none. */
	for (i = 0; i < spec->nr_vps; i++)
		hv_flush_add_vp(f, spec->vps[i]);
	if (hv_flush_call_is_list(spec->call))
		for (i = 0; i < spec->nr_gvas; i++)
			hv_flush_add_gva(f, spec->gvas[i] & PAGE_MASK,
					 spec->gvas[i] & HV_GVA_ADDITIONAL_PAGES_MASK);
	return NULL;
}

/* ---- host side ---- */

const char *hv_flush_targets_name(enum hv_flush_targets targets)
{
	switch (targets) {
	case HV_TARGETS_VPS: return "VP set";
	case HV_TARGETS_ALL_FLAG: return "HV_FLUSH_ALL_PROCESSORS";
	case HV_TARGETS_ZERO_MASK: return "processor_mask 0";
	case HV_TARGETS_SET_ALL: return "HV_GENERIC_SET_ALL";
	}
	return "?";
}

/* "VP set 0x81" within bank 0, else "VP set 0x80 (bank 0), 0x1 (bank 1)". */
static int describe_vps(char *buf, size_t len, const struct hv_flush_spec *spec)
{
	uint64_t bank_vps[HV_MAX_SPARSE_BANKS] = { 0 }, banks = 0;
	const char *sep = " ";
	uint32_t i, b;
	int n;

	for (i = 0; i < spec->nr_vps && i < HV_FLUSH_SPEC_MAX_VPS; i++) {
		b = spec->vps[i] / HV_VPS_PER_BANK % HV_MAX_SPARSE_BANKS;
		bank_vps[b] |= BITL(spec->vps[i] % HV_VPS_PER_BANK);
		banks |= BITL(b);
	}
	if (banks <= BITL(0))
		return snprintf(buf, len, "VP set 0x%" PRIx64, bank_vps[0]);
	n = snprintf(buf, len, "VP set");
	for (b = 0; b < HV_MAX_SPARSE_BANKS && (size_t)n < len; b++) {
		if (!(banks & BITL(b)))
			continue;
		n += snprintf(buf + n, len - n, "%s0x%" PRIx64 " (bank %u)", sep, bank_vps[b], b);
		sep = ", ";
	}
	return n;
}

void hv_flush_describe(char *buf, size_t len, const struct hv_flush_spec *spec)
{
	int n = snprintf(buf, len, "%s (%s) to ", hv_flush_call_str(spec->call),
			 spec->fast ? "fast" : "slow");
	uint32_t i, pages = 0;

	if ((size_t)n >= len)
		return;
	if (spec->targets == HV_TARGETS_VPS) {
		n += describe_vps(buf + n, len - n, spec);
	} else {
		n += snprintf(buf + n, len - n, "all processors (%s",
			      hv_flush_targets_name(spec->targets));
		if ((size_t)n < len && spec->nr_vps) {
			n += snprintf(buf + n, len - n, ", the mask naming ");
			if ((size_t)n < len)
				n += describe_vps(buf + n, len - n, spec);
		}
		if ((size_t)n < len)
			n += snprintf(buf + n, len - n, ")");
	}
	if ((size_t)n >= len || !hv_flush_call_is_list(spec->call) || !spec->nr_gvas)
		return;
	for (i = 0; i < spec->nr_gvas && i < HV_FLUSH_MAX_GVAS; i++)
		pages += 1 + (spec->gvas[i] & HV_GVA_ADDITIONAL_PAGES_MASK);
	snprintf(buf + n, len - n, ", %u GVA entr%s (%u page%s)", spec->nr_gvas,
		 spec->nr_gvas == 1 ? "y" : "ies", pages, pages == 1 ? "" : "s");
}

void hv_flush_prepare(struct vm *vm, struct hv_flush_args *a, const struct hv_flush_spec *spec)
{
	const char *problem = hv_flush_spec_problem(spec);

	TEST_ASSERT(!problem, "%s (%s) with targets as %s: %s", hv_flush_call_str(spec->call),
		    spec->fast ? "fast" : "slow", hv_flush_targets_name(spec->targets), problem);
	if (!a->input_page)
		a->input_page = vm_alloc(vm, PAGE_SIZE);
	hv_flush_build(&a->f, spec);
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

int hv_flush_spec_issue_safe(void *input_page, const struct hv_flush_spec *spec, uint64_t *result)
{
	struct hv_flush f;
	const char *problem = hv_flush_build(&f, spec);

	GUEST_ASSERT_MSG(!problem, "%s (%s): %s", hv_flush_call_str(spec->call),
			 spec->fast ? "fast" : "slow", problem);
	return hyperv_flush_tlb_safe(input_page, &f, result);
}

uint64_t hv_flush_spec_issue(void *input_page, const struct hv_flush_spec *spec)
{
	struct hv_flush f;
	const char *problem = hv_flush_build(&f, spec);

	GUEST_ASSERT_MSG(!problem, "%s (%s): %s", hv_flush_call_str(spec->call),
			 spec->fast ? "fast" : "slow", problem);
	return hyperv_flush_tlb(input_page, &f);
}
