/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PROPOSED, NOT MERGED interfaces, with the numbers their series posted.
 *
 * No released kernel implements any of these, and some numbers have since
 * been given to other interfaces upstream. Never trust a capability number
 * from this file alone: probe the ioctl itself (see the tests that use them).
 * Every value, its series and its collisions: docs/interfaces.md sections 1-3.
 */
#ifndef KVMTEST_KVM_PROPOSED_UAPI_H
#define KVMTEST_KVM_PROPOSED_UAPI_H

#include <linux/types.h>
#include "kvm_compat.h"

/*
 * KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (Nikolas Wipper, Oct 2024, v1).
 * Capability 239 is KVM_CAP_ARM_WRITABLE_IMP_ID_REGS upstream.
 */
#define KVM_CAP_HYPERV_TLB_FLUSH_INHIBIT_PROPOSED 239
struct kvm_hyperv_tlb_flush_inhibit {
	__u16 flags;            /* documented "must be 0"; v1 code does not check */
	__u8  inhibit;
	__u8  reserved[5];
};
#define KVM_HYPERV_UNINHIBIT_TLB_FLUSH 0
#define KVM_HYPERV_INHIBIT_TLB_FLUSH   1
#define KVM_HYPERV_SET_TLB_FLUSH_INHIBIT \
	_IOW(KVMIO, 0xd6, struct kvm_hyperv_tlb_flush_inhibit)

/*
 * KVM_KICK_ALL_RUNNING_VCPUS / KVM_RESUME_ALL_KICKED_VCPUS (E. G. Esposito,
 * Oct 2022). Number 0xd2 is KVM_SET_MEMORY_ATTRIBUTES upstream (6.8+), with a
 * different full command value (_IOW vs _IO).
 */
#define KVM_KICK_ALL_RUNNING_VCPUS  _IO(KVMIO, 0xd2)
#define KVM_RESUME_ALL_KICKED_VCPUS _IO(KVMIO, 0xd3)

/* Per-vCPU KVM_CAP_X86_DISABLE_EXITS and OVERRIDE (Kechen Lu, RFC v3..v6). */
#define KVM_X86_DISABLE_EXITS_OVERRIDE (1ull << 63)

/* KVM_GUESTDBG_EXIT_USERSPACE (Kechen Lu, RFC v3/v4 patch 6). */
#define KVM_GUESTDBG_EXIT_USERSPACE 0x00000004

#endif
