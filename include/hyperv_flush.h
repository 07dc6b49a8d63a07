/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The four Hyper-V PV TLB flush hypercalls, prepared on the host and issued
 * by the guest (TLFS layouts; see docs/interfaces.md section 4):
 *
 *   struct hv_flush_args *a = vm_alloc(vm, sizeof(*a));
 *   hv_flush_prepare(vm, a, &(struct hv_flush_spec){
 *           .call = HV_FLUSH_SPACE, .fast = true,
 *           .targets = HV_TARGETS_SPARSE, .vp_mask = BITL(2) });
 *   ... guest: uint64_t rax = hv_flush_issue(a);
 *
 * A scenario-level vocabulary (which call, which kind of target set) over
 * hyperv.h's struct hv_flush encoding, for tests that prepare the call on the
 * host and only issue it in the guest. VP indexes 0..63 only.
 */
#ifndef KVMTEST_HYPERV_FLUSH_H
#define KVMTEST_HYPERV_FLUSH_H

#include "hyperv.h"

enum hv_flush_call {
	HV_FLUSH_SPACE,         /* HvFlushVirtualAddressSpace   (0x0002) */
	HV_FLUSH_LIST,          /* HvFlushVirtualAddressList    (0x0003), rep */
	HV_FLUSH_SPACE_EX,      /* HvFlushVirtualAddressSpaceEx (0x0013) */
	HV_FLUSH_LIST_EX,       /* HvFlushVirtualAddressListEx  (0x0014), rep */
	HV_FLUSH_NR_CALLS,
};

/* How the target set is expressed. */
enum hv_flush_targets {
	HV_TARGETS_SPARSE,      /* vp_mask: processor_mask, or Ex SPARSE_4K bank 0 */
	HV_TARGETS_ALL_FLAG,    /* non-Ex: HV_FLUSH_ALL_PROCESSORS */
	HV_TARGETS_ZERO_MASK,   /* non-Ex: processor_mask 0 (KVM: "all", WS2012 workaround) */
	HV_TARGETS_SET_ALL,     /* Ex: HV_GENERIC_SET_ALL */
};

struct hv_flush_spec {
	enum hv_flush_call call;
	bool fast;
	enum hv_flush_targets targets;
	uint64_t vp_mask;       /* HV_TARGETS_SPARSE; Ex with 0 = empty set */
};

/* A prepared call (hyperv.h's request encoding) with the page its slow form
 * reads its input from. Lives in guest memory (vm_alloc). */
struct hv_flush_args {
	struct hv_flush f;      /* f.rep_cnt: reps the result must report completed */
	void *input_page;       /* host == guest pointer */
};

/* Number of List entries (GVAs) the List calls flush. */
#define HV_FLUSH_LIST_ENTRIES 1

/* ---- host side ---- */
void hv_flush_prepare(struct vm *vm, struct hv_flush_args *a, const struct hv_flush_spec *spec);
/* The hypercall code of a call (hv_flush_call_name() names it). */
uint16_t hv_flush_call_code(enum hv_flush_call call);
const char *hv_flush_targets_name(enum hv_flush_targets targets);
/* Address of the VMCALL/VMMCALL instruction KVM wrote into the hypercall
 * page (valid once a guest has enabled hypercalls), or 0 if not found. */
uint64_t hv_hypercall_insn_addr(const void *hypercall_page);

/* ---- guest side ---- */
/* Issue the prepared call; returns RAX (status, reps completed). */
uint64_t hv_flush_issue(const struct hv_flush_args *a);

#endif
