/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The system's <linux/kvm.h> (Debian bookworm ships 6.1 headers), plus
 * fallbacks for merged constants that older headers lack. Only upstream,
 * released interfaces belong here; proposed ones are in kvm_proposed_uapi.h.
 */
#ifndef KVMTEST_KVM_COMPAT_H
#define KVMTEST_KVM_COMPAT_H

#include <linux/kvm.h>

/* Added after 6.1. */
#ifndef KVM_X86_DISABLE_EXITS_APERFMPERF
#define KVM_X86_DISABLE_EXITS_APERFMPERF (1 << 4)       /* 6.17 */
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233                   /* 6.8 */
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235                            /* 6.8 */
#endif

/* Binary statistics descriptor fields (5.14 headers have them; keep the
 * names stable for older ones). */
#ifndef KVM_STATS_TYPE_MASK
#define KVM_STATS_TYPE_SHIFT 0
#define KVM_STATS_TYPE_MASK (0xF << KVM_STATS_TYPE_SHIFT)
#endif

#endif
