/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest CPUID from the host: every vCPU starts with what KVM supports
 * (KVM_GET_SUPPORTED_CPUID); tests set or clear single bits before the
 * vCPU first runs.
 */
#ifndef KVMTEST_CPUID_H
#define KVMTEST_CPUID_H

#include "vm.h"

const struct kvm_cpuid2 *kvm_supported_cpuid(void);
/* The supported entry for function/index, or NULL. */
const struct kvm_cpuid_entry2 *kvm_supported_cpuid_entry(uint32_t function, uint32_t index);
bool kvm_cpu_has(struct cpuid_bit feature);
#define require_kvm_cpu_feature(f) \
	TEST_REQUIRE(kvm_cpu_has(f), "KVM does not offer the %s CPU feature", (f).name)

/* Called by vcpu_add(): install the supported CPUID on the vCPU. */
void vcpu_init_cpuid(struct vcpu *vcpu);
/* The vCPU's entry (creating it if absent), and pushing changes to KVM. */
struct kvm_cpuid_entry2 *vcpu_cpuid_entry(struct vcpu *vcpu, uint32_t function, uint32_t index);
void vcpu_set_cpuid_feature(struct vcpu *vcpu, struct cpuid_bit feature);
void vcpu_clear_cpuid_feature(struct vcpu *vcpu, struct cpuid_bit feature);
void vcpu_apply_cpuid(struct vcpu *vcpu);
/* Append entries (e.g. Hyper-V leaves), replacing ones with the same key. */
void vcpu_merge_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *extra);

/* Host CPU vendor, from the host's own CPUID. */
bool host_cpu_is_intel(void);
bool host_cpu_is_amd(void);

#endif
