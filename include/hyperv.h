/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hyper-V enlightenments as KVM emulates them (TLFS numbers; see
 * docs/interfaces.md section 4): host helpers to give a vCPU the
 * Hyper-V CPUID KVM supports, guest helpers to enable and issue hypercalls.
 */
#ifndef KVMTEST_HYPERV_H
#define KVMTEST_HYPERV_H

#include "host.h"
#include "vm.h"

/*
 * Time limits of the Hyper-V cases at native speed (include/host.h, "Time
 * limits"): a case's whole work, and the wait for one guest message. A
 * case takes milliseconds natively, and at most 0.5 s (5 s for the stress
 * case, its duration included) under QEMU's TCG in a nested VM, whose
 * measured slowness is 40-65.
 */
#define HV_CASE_NATIVE_S        2
#define HV_MSG_NATIVE_MS        2000

/* CPUID leaves. */
#define HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS 0x40000000
#define HYPERV_CPUID_FEATURES                 0x40000003
#define HYPERV_CPUID_ENLIGHTMENT_INFO         0x40000004
#define HYPERV_CPUID_NESTED_FEATURES          0x4000000A

/* 0x40000003.EAX */
#define HV_MSR_VP_INDEX_AVAILABLE             BIT(6)
#define HV_MSR_HYPERCALL_AVAILABLE            BIT(5)
/* 0x40000003.EDX */
#define HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE  BIT(4)
#define HV_FEATURE_EXT_GVA_RANGES_FLUSH       BIT(14)
/* 0x40000004.EAX */
#define HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED   BIT(2)
#define HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED BIT(11)
#define HV_X64_ENLIGHTENED_VMCS_RECOMMENDED   BIT(14)
/* 0x4000000A.EAX */
#define HV_X64_NESTED_DIRECT_FLUSH            BIT(17)

/* MSRs. */
#define HV_X64_MSR_GUEST_OS_ID      0x40000000
#define HV_X64_MSR_HYPERCALL        0x40000001
#define HV_X64_MSR_VP_INDEX         0x40000002
#define HV_X64_MSR_VP_ASSIST_PAGE   0x40000073
#define HV_X64_MSR_HYPERCALL_ENABLE BIT(0)
/* Any non-zero value enables hypercalls; this one says "open source, Linux". */
#define HV_GUEST_OS_ID_KVMTEST      0x8100000000000000ull

/* Hypercall codes and the control word. */
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE    0x0002
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST     0x0003
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX 0x0013
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX  0x0014
#define HVCALL_SEND_IPI                       0x000b
#define HV_HYPERCALL_FAST_BIT        BITL(16)
#define HV_HYPERCALL_VARHEAD_OFFSET  17
#define HV_HYPERCALL_NESTED          BITL(31)
#define HV_HYPERCALL_REP_COMP_OFFSET 32
#define HV_HYPERCALL_REP_START_OFFSET 48
static inline uint64_t hv_control(uint16_t code, bool fast, uint32_t var_cnt, uint32_t rep_cnt)
{
	return code | (fast ? HV_HYPERCALL_FAST_BIT : 0) |
	       ((uint64_t)var_cnt << HV_HYPERCALL_VARHEAD_OFFSET) |
	       ((uint64_t)rep_cnt << HV_HYPERCALL_REP_COMP_OFFSET);
}
/* Result in RAX: status in bits 15:0, reps completed in 43:32. */
#define HV_STATUS_MASK 0xffff
#define HV_STATUS_SUCCESS                0
#define HV_STATUS_INVALID_HYPERCALL_CODE 2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 3
#define HV_STATUS_ACCESS_DENIED          6
static inline uint16_t hv_status(uint64_t result) { return result & HV_STATUS_MASK; }
static inline uint32_t hv_reps_completed(uint64_t result) { return (result >> 32) & 0xfff; }

/* TLB flush flags and sparse VP sets. */
#define HV_FLUSH_ALL_PROCESSORS            BITL(0)
#define HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES BITL(1)
#define HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY  BITL(2)
#define HV_FLUSH_USE_EXTENDED_RANGE_FORMAT BITL(3)
#define HV_GENERIC_SET_SPARSE_4K 0
#define HV_GENERIC_SET_ALL       1
#define HV_FAST_XMM_HALVES       12     /* XMM0..XMM5, 64 bits each */

/* ---- host side ---- */
#define require_hyperv()                                                       \
	do {                                                                   \
		require_kvm_cap(KVM_CAP_HYPERV);                               \
		require_kvm_cap(KVM_CAP_HYPERV_CPUID);                         \
	} while (0)
/* What KVM_GET_SUPPORTED_HV_CPUID reports (system ioctl where available). */
const struct kvm_cpuid2 *kvm_supported_hv_cpuid(struct vcpu *vcpu);
/* Give the vCPU every Hyper-V CPUID leaf KVM supports, and a hypercall page
 * shared by the VM (guest: hyperv_enable_hypercalls()). */
void vcpu_enable_hyperv(struct vcpu *vcpu);
/* Set the Hyper-V VP index (host-initiated MSR write). */
void vcpu_set_vp_index(struct vcpu *vcpu, uint32_t vp_index);

/* ---- guest side ---- */
/* Write GUEST_OS_ID and point HV_X64_MSR_HYPERCALL at the hypercall page. */
void hyperv_enable_hypercalls(void);
/* Memory-input hypercall through the hypercall page; returns RAX. */
uint64_t hyperv_hypercall(uint64_t control, uint64_t input_gpa, uint64_t output_gpa);
/* Fast hypercall: RDX and R8 in registers, then up to 12 64-bit halves in
 * XMM0..XMM5 (the HV_HYPERCALL_FAST_BIT is added). Returns RAX. */
uint64_t hyperv_hypercall_fast(uint64_t control, uint64_t rdx, uint64_t r8,
			       const uint64_t xmm_halves[HV_FAST_XMM_HALVES]);

/* ---- additions for the PV TLB flush and nested (L2) flush tests ---- */

/* The Hyper-V CPUID bits as cpuid_bit values, for vcpu_clear_cpuid_feature()
 * and kvm_hv_has(). */
#define HV_FEATURE_VP_INDEX    CPUID_FEATURE(HYPERV_CPUID_FEATURES, 0, CPUID_EAX, 6, \
				      "HV_MSR_VP_INDEX_AVAILABLE")
#define HV_FEATURE_XMM_INPUT   CPUID_FEATURE(HYPERV_CPUID_FEATURES, 0, CPUID_EDX, 4, \
				      "HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE")
#define HV_FEATURE_GVA_RANGES  CPUID_FEATURE(HYPERV_CPUID_FEATURES, 0, CPUID_EDX, 14, \
				      "HV_FEATURE_EXT_GVA_RANGES_FLUSH")
#define HV_FEATURE_REMOTE_TLB_FLUSH CPUID_FEATURE(HYPERV_CPUID_ENLIGHTMENT_INFO, 0, CPUID_EAX, 2, \
					   "HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED")
#define HV_FEATURE_EX_PROCESSOR_MASKS CPUID_FEATURE(HYPERV_CPUID_ENLIGHTMENT_INFO, 0, CPUID_EAX, 11, \
					     "HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED")
#define HV_FEATURE_ENLIGHTENED_VMCS CPUID_FEATURE(HYPERV_CPUID_ENLIGHTMENT_INFO, 0, CPUID_EAX, 14, \
					   "HV_X64_ENLIGHTENED_VMCS_RECOMMENDED")
#define HV_FEATURE_NESTED_DIRECT_FLUSH CPUID_FEATURE(HYPERV_CPUID_NESTED_FEATURES, 0, CPUID_EAX, 17, \
					      "HV_X64_NESTED_DIRECT_FLUSH")

/* Reserved bits of the hypercall control word (KVM counts bit 31, "nested",
 * among them): any of them set -> HV_STATUS_INVALID_HYPERCALL_INPUT. */
#define HV_HYPERCALL_RSVD_MASK ((0x1full << 27) | (0xfull << 44) | (0xfull << 60))
#define HV_HYPERCALL_VARHEAD_MAX 0x3ff          /* bits 26:17 */
#define HV_HYPERCALL_REP_MAX     0xfff          /* bits 43:32 */

/* Sparse VP sets: bank b holds VP indexes 64b..64b+63. */
#define HV_VPS_PER_BANK      64
#define HV_MAX_SPARSE_BANKS  64
/* A GVA list entry: page address in 63:12, additional pages in 11:0. */
#define HV_GVA_ADDITIONAL_PAGES_MASK 0xfffull
#define HV_GVA_MAX_ADDITIONAL_PAGES  0xfffull
static inline uint64_t hv_gva_entry(uint64_t gva, uint64_t additional_pages)
{
	return (gva & PAGE_MASK) | (additional_pages & HV_GVA_ADDITIONAL_PAGES_MASK);
}

/* Longest GVA list hv_flush carries (the slow form's input page holds more). */
#define HV_FLUSH_MAX_GVAS 64

/*
 * One of the four flush hypercalls, described field by field so tests can
 * also build malformed ones: var_cnt and rep_cnt go into the control word as
 * given (normally var_cnt = number of banks for the Ex calls and 0 otherwise,
 * rep_cnt = number of GVA entries for the List calls and 0 otherwise).
 */
struct hv_flush {
	uint16_t code;                  /* HVCALL_FLUSH_VIRTUAL_ADDRESS_* */
	bool fast;                      /* register/XMM input instead of memory */
	uint64_t address_space;
	uint64_t flags;                 /* HV_FLUSH_* */
	uint64_t processor_mask;        /* non-Ex calls: VP indexes 0..63 */
	uint64_t format;                /* Ex calls: HV_GENERIC_SET_* */
	uint64_t valid_bank_mask;       /* Ex calls */
	uint32_t var_cnt;
	uint32_t rep_cnt;
	uint64_t extra_control;         /* OR'ed into the control word */
	uint64_t banks[HV_MAX_SPARSE_BANKS];
	uint64_t gvas[HV_FLUSH_MAX_GVAS];
};

static inline bool hv_flush_is_ex(uint16_t code)
{
	return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX ||
	       code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

static inline bool hv_flush_is_list(uint16_t code)
{
	return code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST ||
	       code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX;
}

/* Name of a flush call code ("HvFlushVirtualAddressListEx"), for messages. */
const char *hv_flush_call_name(uint16_t code);

/* Start a well-formed request: code, form, no targets, no GVAs. */
void hv_flush_init(struct hv_flush *f, uint16_t code, bool fast);
/* Target the given VP indexes: processor_mask (non-Ex; indexes >= 64 are
 * not expressible and fail the guest) or sparse banks (Ex). */
void hv_flush_add_vp(struct hv_flush *f, uint32_t vp_index);
/* Append a GVA list entry (List calls). */
void hv_flush_add_gva(struct hv_flush *f, uint64_t gva, uint64_t additional_pages);
/* Number of XMM halves the fast form needs; > HV_FAST_XMM_HALVES does not fit. */
uint32_t hv_flush_fast_halves(const struct hv_flush *f);
/* The control word for f. */
uint64_t hv_flush_control(const struct hv_flush *f);

/*
 * Issue the call (guest side). The slow form writes its input into
 * input_page (a page from vm_alloc(), which must not be shared with a
 * concurrent caller). Returns RAX. The _safe variant returns the vector of
 * an exception the call raised (e.g. #UD) or NO_EXCEPTION, with RAX in
 * *result.
 */
uint64_t hyperv_flush_tlb(void *input_page, const struct hv_flush *f);
int hyperv_flush_tlb_safe(void *input_page, const struct hv_flush *f, uint64_t *result);

/* Hypercalls that report an exception instead of dying (guest side). */
int hyperv_hypercall_safe(uint64_t control, uint64_t input_gpa, uint64_t output_gpa,
			  uint64_t *result);
int hyperv_hypercall_fast_safe(uint64_t control, uint64_t rdx, uint64_t r8,
			       const uint64_t xmm_halves[HV_FAST_XMM_HALVES], uint64_t *result);

/* Does KVM_GET_SUPPORTED_HV_CPUID report this bit? (host side) */
bool kvm_hv_has(struct vcpu *vcpu, struct cpuid_bit feature);
#define require_kvm_hv_feature(vcpu, f) \
	TEST_REQUIRE(kvm_hv_has(vcpu, f), "KVM does not offer %s", (f).name)

/*
 * The VP assist page (HV_X64_MSR_VP_ASSIST_PAGE): nested enlightenments an
 * L1 hypervisor turns on for itself. Layout per the TLFS.
 */
#define HV_X64_MSR_VP_ASSIST_PAGE_ENABLE BIT(0)
struct hv_vp_assist_page {
	uint32_t apic_assist;
	uint32_t reserved1;
	uint32_t vtl_entry_reason;
	uint32_t vtl_reserved;
	uint64_t vtl_ret_x64rax;
	uint64_t vtl_ret_x64rcx;
	uint32_t nested_features;       /* bit 0: direct hypercall (L2 flush) */
	uint32_t nested_hypercall_controls;
	uint8_t enlighten_vmentry;      /* eVMCS: use current_nested_vmcs */
	uint8_t reserved2[7];
	uint64_t current_nested_vmcs;   /* eVMCS GPA */
} __attribute__((packed));
#define HV_VP_ASSIST_DIRECT_HYPERCALL BIT(0)
_Static_assert(__builtin_offsetof(struct hv_vp_assist_page, nested_features) == 32,
	       "TLFS: nested_control at byte 32 of the VP assist page");
_Static_assert(__builtin_offsetof(struct hv_vp_assist_page, current_nested_vmcs) == 48,
	       "TLFS: current_nested_vmcs at byte 48 of the VP assist page");
/* Guest side: point this vCPU's HV_X64_MSR_VP_ASSIST_PAGE at page. */
void hyperv_enable_vp_assist(struct hv_vp_assist_page *page);

/* The partition assist page an L1 names in its VMCB/eVMCS enlightenments. */
struct hv_partition_assist_page {
	uint32_t tlb_lock_count;        /* != 0: "trap after flush" exit to L1 */
};

/* What L1 sees after an L2 flush when tlb_lock_count != 0. */
#define HV_SVM_EXITCODE_ENL                  0xf0000000u
#define HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH 1
#define HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH 0x10000031u

#endif
