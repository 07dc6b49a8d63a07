/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The four Hyper-V PV TLB flush hypercalls described by scenario: which
 * call, which form, which processors, which GVAs (TLFS layouts and KVM's
 * rules: docs/interfaces.md section 4). A description (struct hv_flush_spec)
 * is plain data, written on the host or in the guest; hv_flush_build()
 * encodes it as hyperv.h's struct hv_flush, which tests that need malformed
 * calls fill in field by field instead.
 *
 *   struct hv_flush_spec spec = { .call = HV_FLUSH_LIST_EX, .fast = true,
 *                                 .targets = HV_TARGETS_VPS, HV_VPS(7, 64) };
 *   hv_flush_spec_add_gva(&spec, gva, 3);           // gva and the 3 pages after it
 *   ... guest: uint64_t rax = hv_flush_spec_issue(input_page, &spec);
 *
 * or prepared on the host and only issued in the guest:
 *
 *   struct hv_flush_args *a = vm_alloc(vm, sizeof(*a));
 *   hv_flush_prepare(vm, a, &spec);
 *   ... guest: uint64_t rax = hv_flush_issue(a);
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
	HV_TARGETS_VPS,         /* the VPs listed: processor_mask (VP indexes 0..63),
				 * or Ex SPARSE_4K banks (an Ex call may list none) */
	HV_TARGETS_ALL_FLAG,    /* non-Ex: HV_FLUSH_ALL_PROCESSORS; the mask still
				 * names the VPs listed, if any */
	HV_TARGETS_ZERO_MASK,   /* non-Ex: processor_mask 0 (KVM: "all", WS2012 workaround) */
	HV_TARGETS_SET_ALL,     /* Ex: HV_GENERIC_SET_ALL */
};

/* VPs a description can list (any VP index, 0..4095). */
#define HV_FLUSH_SPEC_MAX_VPS 16

struct hv_flush_spec {
	enum hv_flush_call call;
	bool fast;                      /* XMM input instead of memory */
	enum hv_flush_targets targets;
	uint32_t nr_vps;
	uint32_t vps[HV_FLUSH_SPEC_MAX_VPS];    /* VP indexes (an L2's call: VP_IDs) */
	/* What the List calls flush, as GVA entries (hv_gva_entry(): page
	 * address, additional pages in bits 11:0). The Space calls flush
	 * everything and ignore them. */
	uint32_t nr_gvas;
	uint64_t gvas[HV_FLUSH_MAX_GVAS];
};

/* In an initializer: HV_VPS(7, 64) lists VP indexes 7 and 64. */
#define HV_VPS(...)                                                            \
	.nr_vps = sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t),       \
	.vps = { __VA_ARGS__ }

static inline bool hv_flush_call_is_ex(enum hv_flush_call call)
{
	return call == HV_FLUSH_SPACE_EX || call == HV_FLUSH_LIST_EX;
}

static inline bool hv_flush_call_is_list(enum hv_flush_call call)
{
	return call == HV_FLUSH_LIST || call == HV_FLUSH_LIST_EX;
}

/* Reps a successful call reports completed: its GVA entries (List calls). */
/* "All processors" in the form the call takes: the flag for the non-Ex
 * calls, HV_GENERIC_SET_ALL for the Ex ones. No GVAs yet. */
static inline struct hv_flush_spec hv_flush_spec_all(enum hv_flush_call call, bool fast)
{
	return (struct hv_flush_spec){
		.call = call, .fast = fast,
		.targets = hv_flush_call_is_ex(call) ? HV_TARGETS_SET_ALL : HV_TARGETS_ALL_FLAG,
	};
}

static inline uint32_t hv_flush_spec_reps(const struct hv_flush_spec *spec)
{
	return hv_flush_call_is_list(spec->call) ? spec->nr_gvas : 0;
}

/* ---- host or guest ---- */
/* The call's hypercall code, and its TLFS name ("HvFlushVirtualAddressListEx"). */
uint16_t hv_flush_call_code(enum hv_flush_call call);
const char *hv_flush_call_str(enum hv_flush_call call);
/* List one more VP / GVA entry (gva and additional_pages pages after it).
 * Past the capacity they are counted, and hv_flush_spec_problem() says so. */
void hv_flush_spec_add_vp(struct hv_flush_spec *spec, uint32_t vp);
void hv_flush_spec_add_gva(struct hv_flush_spec *spec, uint64_t gva, uint32_t additional_pages);
/* Does the call reach VP vp (every "all" form reaches every VP, the caller
 * included)? */
bool hv_flush_spec_targets_vp(const struct hv_flush_spec *spec, uint32_t vp);
/* NULL if spec describes a call KVM must accept, else what is wrong with it. */
const char *hv_flush_spec_problem(const struct hv_flush_spec *spec);
/* Encode spec as a request; returns hv_flush_spec_problem() (f is not to be
 * issued unless that is NULL). */
const char *hv_flush_build(struct hv_flush *f, const struct hv_flush_spec *spec);

/* ---- host side ---- */
/* "HvFlushVirtualAddressSpace (fast) to VP set 0x1", for messages. */
void hv_flush_describe(char *buf, size_t len, const struct hv_flush_spec *spec);
const char *hv_flush_targets_name(enum hv_flush_targets targets);

/* A prepared call (hyperv.h's request encoding) with the page its slow form
 * reads its input from. Lives in guest memory (vm_alloc). */
struct hv_flush_args {
	struct hv_flush f;      /* f.rep_cnt: reps the result must report completed */
	void *input_page;       /* host == guest pointer */
};
/* Encode spec into a (a well-formed spec, or the test fails); allocates
 * a->input_page if it has none. */
void hv_flush_prepare(struct vm *vm, struct hv_flush_args *a, const struct hv_flush_spec *spec);
/* Address of the VMCALL/VMMCALL instruction KVM wrote into the hypercall
 * page (valid once a guest has enabled hypercalls), or 0 if not found. */
uint64_t hv_hypercall_insn_addr(const void *hypercall_page);

/* ---- guest side ---- */
/* Issue the prepared call; returns RAX (status, reps completed). */
uint64_t hv_flush_issue(const struct hv_flush_args *a);
/* Build spec (a spec that is not well-formed fails the guest) and issue it;
 * the slow form writes its input into input_page (see hyperv_flush_tlb()).
 * Returns RAX; the _safe variant returns the vector of an exception the
 * call raised, or NO_EXCEPTION, with RAX in *result. */
uint64_t hv_flush_spec_issue(void *input_page, const struct hv_flush_spec *spec);
int hv_flush_spec_issue_safe(void *input_page, const struct hv_flush_spec *spec, uint64_t *result);

#endif
