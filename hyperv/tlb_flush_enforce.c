// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V PV TLB flush calls obey the CPUID bits the VMM offers once it asks
 * KVM to enforce them (KVM_CAP_HYPERV_ENFORCE_CPUID, Linux 5.14): without
 * HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED every flush call is denied, without
 * HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED the Ex forms are, and without
 * HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE a fast (XMM) call raises #UD.
 * Numbers: docs/interfaces.md section 4 (Hyper-V PV TLB flush).
 *
 * One vCPU per variant runs every call, slow and fast; the status (or the
 * exception) is the whole result, so any GVA will do. A failure means a
 * guest can use a flush the VMM did not offer it, or is refused one it did.
 *
 * Negative control 1: the host leaves every CPUID bit set, so KVM allows
 * the calls the variants expect to be denied.
 */
#include "cpuid.h"
#include "hyperv.h"
#include "hyperv_flush.h"
#include "probe.h"
#include "vm.h"

#define TEST_GVA        0x100000000000ull       /* any GVA: not flushed for real */

TEST_NEGATIVE_CONTROLS("1: the host leaves every CPUID bit set (calls the variants expect "
		       "denied are allowed)");
enum { NC_NONE, NC_BITS_KEPT };

enum enforce_variant { NO_REMOTE_FLUSH, NO_EX_MASKS, NO_XMM_INPUT, ALL_BITS, NR_VARIANTS };
static const char *const variant_name[NR_VARIANTS] = {
	"without HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED",
	"without HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED",
	"without HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE",
	"with every flush bit",
};

struct enforce_shared {
	void *input[NR_VARIANTS];
};

#define EXPECT_UD 0xffffffffu

static uint32_t enforce_expectation(enum enforce_variant v, enum hv_flush_call call, bool fast)
{
	if (v == NO_REMOTE_FLUSH)
		return HV_STATUS_ACCESS_DENIED;
	if (v == NO_EX_MASKS && hv_flush_call_is_ex(call))
		return HV_STATUS_ACCESS_DENIED;
	if (v == NO_XMM_INPUT && fast)
		return EXPECT_UD;
	return HV_STATUS_SUCCESS;
}

static void guest_enforce(void *arg)
{
	struct enforce_shared *s = arg;
	enum enforce_variant v = guest_vcpu_id();
	enum hv_flush_call call;
	uint32_t fast, expected;
	uint64_t result;
	int vector;

	hyperv_enable_hypercalls();
	for (call = 0; call < HV_FLUSH_NR_CALLS; call++)
		for (fast = 0; fast < 2; fast++) {
			struct hv_flush_spec spec = hv_flush_spec_all(call, fast);

			/* Any GVA: only the status matters. */
			hv_flush_spec_add_gva(&spec, TEST_GVA, 0);
			expected = enforce_expectation(v, call, fast);
			result = 0;
			vector = hv_flush_spec_issue_safe(s->input[v], &spec, &result);
			if (expected == EXPECT_UD) {
				GUEST_ASSERT_MSG(vector == UD_VECTOR,
						 "%s, fast %s: expected #UD, got %s (RAX 0x%llx)",
						 variant_name[v], hv_flush_call_str(call),
						 vector == NO_EXCEPTION ? "no exception" : exception_name(vector),
						 (unsigned long long)result);
				continue;
			}
			GUEST_ASSERT_MSG(vector == NO_EXCEPTION && hv_status(result) == expected,
					 "%s, %s %s: expected status %u, got %s, RAX 0x%llx",
					 variant_name[v], fast ? "fast" : "slow",
					 hv_flush_call_str(call), expected,
					 vector == NO_EXCEPTION ? "no exception" : exception_name(vector),
					 (unsigned long long)result);
		}
}

TEST_CONTROL(enforce_cpuid, 1, "passes", "-",
	     "the host leaves every CPUID bit set",
	     "without HV_X64_[A-Z_]+, (slow|fast) [A-Za-z]+: expected status 6, got no exception");
TEST_CASE(enforce_cpuid, "with KVM_CAP_HYPERV_ENFORCE_CPUID a flush call without its CPUID bit "
	  "gets ACCESS_DENIED, or #UD for XMM input", .timeout = HV_CASE_NATIVE_S)
{
	static const struct cpuid_bit cleared[NR_VARIANTS] = {
		HV_FEATURE_REMOTE_TLB_FLUSH, HV_FEATURE_EX_PROCESSOR_MASKS, HV_FEATURE_XMM_INPUT,
		{ 0 } };
	struct enforce_shared *s;
	struct vcpu *vcpus[NR_VARIANTS];
	struct vm *vm;
	int v;

	require_hyperv();
	require_kvm_cap(KVM_CAP_HYPERV_TLBFLUSH);
	require_kvm_cap(KVM_CAP_HYPERV_ENFORCE_CPUID);
	vm = vm_create(NULL);
	s = vm_alloc(vm, sizeof(*s));
	for (v = 0; v < NR_VARIANTS; v++) {
		s->input[v] = vm_alloc(vm, PAGE_SIZE);
		vcpus[v] = vcpu_add(vm, v, guest_enforce, s);
		/* Enforcement first, then the CPUID it enforces. */
		vcpu_enable_cap(vcpus[v], KVM_CAP_HYPERV_ENFORCE_CPUID, 1);
		vcpu_enable_hyperv(vcpus[v]);
		/* Control 1: KVM is not told what to deny. */
		if (cleared[v].name && test_opts.negative_control != NC_BITS_KEPT)
			vcpu_clear_cpuid_feature(vcpus[v], cleared[v]);
		vcpu_set_msg_timeout(vcpus[v], host_limit_ms(HV_MSG_NATIVE_MS));
	}
	for (v = 0; v < NR_VARIANTS; v++)
		vcpu_expect_done(vcpus[v]);
	vm_destroy(vm);
}
