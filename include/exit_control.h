/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which instructions exit: KVM_CAP_X86_DISABLE_EXITS at VM scope (upstream)
 * and at vCPU scope (proposed, see kvm_proposed_uapi.h), the guest-debug
 * control word (the rule for behaviour that arrived in a known release,
 * release_rule_old_behaviour(), is in probe.h).
 *
 *   uint64_t offered = kvm_disable_exits_offered();
 *   if (offered & KVM_X86_DISABLE_EXITS_HLT)
 *           TEST_ASSERT_EQ(__vm_disable_exits(vm, KVM_X86_DISABLE_EXITS_HLT), 0);
 *
 *   // on a kernel that still shows the old behaviour:
 *   release_rule_old_behaviour(6, 14, "rejecting after vCPU creation",
 *                              "KVM_ENABLE_CAP succeeded");
 */
#ifndef KVMTEST_EXIT_CONTROL_H
#define KVMTEST_EXIT_CONTROL_H

#include "kvm_proposed_uapi.h"
#include "probe.h"
#include "vm.h"

/* Every exit bit some released kernel knows (APERFMPERF: 6.17). */
#define DISABLE_EXITS_KNOWN_BITS                                               \
	(KVM_X86_DISABLE_EXITS_MWAIT | KVM_X86_DISABLE_EXITS_HLT |            \
	 KVM_X86_DISABLE_EXITS_PAUSE | KVM_X86_DISABLE_EXITS_CSTATE |         \
	 KVM_X86_DISABLE_EXITS_APERFMPERF)

/* KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS): the bits KVM offers. */
uint64_t kvm_disable_exits_offered(void);
/* KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS) on the VM / vCPU fd: 0 or -errno. */
int __vm_disable_exits(struct vm *vm, uint64_t mask);
int __vcpu_disable_exits(struct vcpu *vcpu, uint64_t mask, uint32_t flags);
/* "HLT|PAUSE", "none", unknown bits as "bit5" etc. (buf of >= 128 bytes). */
const char *disable_exits_str(uint64_t mask, char *buf, size_t len);
/* The same in one of four static buffers taken in turn: up to four masks
 * in one message. */
const char *disable_exits_names(uint64_t mask);

/* Skip, naming what is missing (and kvm.mitigate_smt_rsb where it hides HLT
 * and CSTATE), unless KVM offers disabling every exit in bits. */
void require_disable_exits_offered(uint64_t bits);
/* A VM with an in-kernel LAPIC (the timers that wake HLTs). */
struct vm *vm_create_irqchip(void);
/* KVM_ENABLE_CAP at VM scope while the VM has no vCPU: must succeed. */
void vm_disable_exits_before_vcpus(struct vm *vm, uint64_t mask);
/* vm_create_irqchip() with the exits in mask disabled before any vCPU
 * exists (none: mask 0). */
struct vm *vm_with_disabled_exits(uint64_t mask);
/* The vendor module's parameters that turn PAUSE exiting on or off, for a
 * skip reason. KVM zeroes them when the CPU lacks the feature, and then
 * runs every VM as if PAUSE exits were disabled. */
const char *pause_exiting_params(void);

/*
 * The proposed per-vCPU scope (Kechen Lu, RFC v3..v6): probed on a scratch
 * VM by KVM_ENABLE_CAP with an empty mask on a vCPU fd, which changes
 * nothing where it exists and fails with EINVAL where it does not. Returns
 * true if present; otherwise why[] says what the probe saw.
 */
bool kvm_has_vcpu_disable_exits(char *why, size_t len);
#define require_vcpu_disable_exits()                                           \
	do {                                                                   \
		char __why[160];                                               \
		if (!kvm_has_vcpu_disable_exits(__why, sizeof(__why)))        \
			test_skip("per-vCPU KVM_CAP_X86_DISABLE_EXITS (proposed, "   \
				  "Kechen Lu RFC v3-v6) not supported: %s", __why); \
	} while (0)

/* KVM_SET_GUEST_DEBUG with only a control word: 0 or -errno. */
int __vcpu_set_guest_debug(struct vcpu *vcpu, uint32_t control);


/*
 * Upstream defines what these interfaces do for kvm_intel and kvm_amd. On
 * any other vendor module (the project's development host runs kvm_pvm),
 * call this when the upstream assertion is about to fail: the case is
 * skipped with the evidence ("vendor module kvm_pvm deviates from upstream
 * KVM: ..."), so the deviation is reported without weakening the assertion
 * for the vendors it is defined for. Returns on kvm_intel/kvm_amd.
 */
__attribute__((format(printf, 1, 2))) void skip_if_vendor_deviates(const char *fmt, ...);

/* Hardware exit reasons as the vendors number them (run->hw.hardware_exit_reason). */
#define VMX_EXIT_REASON_CPUID 10
#define VMX_EXIT_REASON_HLT   12
#define VMX_EXIT_REASON_RDMSR 31
#define VMX_EXIT_REASON_WRMSR 32
#define SVM_EXIT_CPUID        0x072
#define SVM_EXIT_HLT          0x078
#define SVM_EXIT_MSR          0x07c

#endif
