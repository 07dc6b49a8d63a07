/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hyper-V enlightenments as KVM emulates them (TLFS numbers; see
 * ../shared/reference/abi.md topic 4): host helpers to give a vCPU the
 * Hyper-V CPUID KVM supports, guest helpers to enable and issue hypercalls.
 */
#ifndef KVMTEST_HYPERV_H
#define KVMTEST_HYPERV_H

#include "vm.h"

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

#endif
