// SPDX-License-Identifier: GPL-2.0
/*
 * An enlightened L1 hypervisor on nested SVM or nested VMX with eVMCS; see
 * include/hv_nested.h. Layouts and exit codes: docs/interfaces.md section 4.
 */
#include "hv_nested.h"

/* ---- host side ---- */

void require_hv_nested(enum hv_nested_vendor vendor)
{
	if (vendor == HV_NESTED_VMX_EVMCS)
		require_nested_evmcs();
	else
		require_nested_svm();
}

void require_hv_l2_flush(struct vcpu *probe, enum hv_nested_vendor vendor)
{
	require_hyperv();
	require_kvm_cap(KVM_CAP_HYPERV_TLBFLUSH);
	require_hv_nested(vendor);
	TEST_REQUIRE(kvm_hv_has(probe, HV_FEATURE_NESTED_DIRECT_FLUSH),
		     "KVM does not offer HV_X64_NESTED_DIRECT_FLUSH (CPUID 0x4000000A.EAX bit 17; "
		     "L2 TLB flush arrived in Linux 6.2)");
}

struct hv_nested_l1 *hv_nested_l1_create(struct vcpu *vcpu, enum hv_nested_vendor vendor)
{
	struct hv_nested_l1 *l1 = vm_alloc(vcpu->vm, sizeof(*l1));

	l1->vendor = vendor;
	/* eVMCS is enabled on the vCPU before its Hyper-V CPUID is set. */
	if (vendor == HV_NESTED_VMX_EVMCS)
		l1->vmx = vcpu_alloc_vmx(vcpu);
	else
		l1->svm = vcpu_alloc_svm(vcpu);
	vcpu_enable_hyperv(vcpu);
	l1->assist = vm_alloc(vcpu->vm, PAGE_SIZE);
	return l1;
}

/* ---- guest side (L1) ---- */

void hv_nested_l1_enable(struct hv_nested_l1 *l1, bool direct_hypercall)
{
	hyperv_enable_hypercalls();
	l1->assist->nested_features = direct_hypercall ? HV_VP_ASSIST_DIRECT_HYPERCALL : 0;
	hyperv_enable_vp_assist(l1->assist);
}

void hv_nested_l2_init(struct hv_nested_l1 *l1, void (*l2_fn)(void *), void *arg,
		       const struct hv_nested_enlightenments *enl)
{
	if (l1->vendor == HV_NESTED_VMX_EVMCS) {
		struct hv_evmcs *evmcs;

		vmx_enable(l1->vmx);
		vmx_init_evmcs(l1->vmx, l2_fn, arg, l1->assist);
		evmcs = l1->vmx->evmcs;
		evmcs->hv_enlightenments_control =
			enl->nested_flush_hypercall ? HV_EVMCS_ENL_NESTED_FLUSH_HYPERCALL : 0;
		evmcs->hv_vp_id = enl->vp_id;
		evmcs->hv_vm_id = enl->vm_id;
		evmcs->partition_assist_page = enl->partition_assist_gpa;
	} else {
		struct hv_vmcb_enlightenments *vmcb_enl;

		svm_enable(l1->svm);
		svm_init_vmcb(l1->svm, l2_fn, arg);
		vmcb_enl = svm_hv_enlightenments(l1->svm->vmcb);
		vmcb_enl->control = enl->nested_flush_hypercall ? HV_VMCB_ENL_NESTED_FLUSH_HYPERCALL : 0;
		vmcb_enl->hv_vp_id = enl->vp_id;
		vmcb_enl->hv_vm_id = enl->vm_id;
		vmcb_enl->partition_assist_page = enl->partition_assist_gpa;
	}
}

static void vmx_l2_run(struct vmx_vcpu *vmx, struct hv_nested_exit *exit)
{
	uint32_t reason = vmx_run(vmx);

	*exit = (struct hv_nested_exit){
		.code = reason, .info1 = vmx->evmcs->exit_qualification,
		.l2_rip = vmx->evmcs->guest_rip, .l2_rax = vmx->l2.rax, .l2_rcx = vmx->l2.rcx,
	};
	switch (reason) {
	case VMX_EXIT_HLT:    exit->kind = HV_NESTED_EXIT_HLT; break;
	case VMX_EXIT_VMCALL: exit->kind = HV_NESTED_EXIT_HYPERCALL; break;
	case HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH:
		exit->kind = HV_NESTED_EXIT_TRAP_AFTER_FLUSH;
		break;
	default:              exit->kind = HV_NESTED_EXIT_OTHER; break;
	}
}

static void svm_l2_run(struct svm_vcpu *svm, struct hv_nested_exit *exit)
{
	uint64_t code = svm_run(svm);

	*exit = (struct hv_nested_exit){
		.code = code, .info1 = svm->vmcb->control.exit_info_1,
		.info2 = svm->vmcb->control.exit_info_2, .l2_rip = svm->vmcb->save.rip,
		.l2_rax = svm->vmcb->save.rax, .l2_rcx = svm->l2.rcx,
	};
	switch (code) {
	case SVM_EXIT_HLT:        exit->kind = HV_NESTED_EXIT_HLT; break;
	case SVM_EXIT_VMMCALL:    exit->kind = HV_NESTED_EXIT_HYPERCALL; break;
	/* The only enlightened exit; exit_info_1 says which (callers check it). */
	case HV_SVM_EXITCODE_ENL: exit->kind = HV_NESTED_EXIT_TRAP_AFTER_FLUSH; break;
	default:                  exit->kind = HV_NESTED_EXIT_OTHER; break;
	}
}

void hv_nested_l2_run(struct hv_nested_l1 *l1, struct hv_nested_exit *exit)
{
	if (l1->vendor == HV_NESTED_VMX_EVMCS)
		vmx_l2_run(l1->vmx, exit);
	else
		svm_l2_run(l1->svm, exit);
}

void hv_nested_l2_complete_hypercall(struct hv_nested_l1 *l1, uint64_t result)
{
	if (l1->vendor == HV_NESTED_VMX_EVMCS) {
		l1->vmx->l2.rax = result;
		vmx_skip(l1->vmx);
	} else {
		l1->svm->vmcb->save.rax = result;
		svm_skip(l1->svm, VMMCALL_LEN);
	}
}

const char *hv_nested_exit_name(const struct hv_nested_l1 *l1, const struct hv_nested_exit *exit)
{
	if (l1->vendor == HV_NESTED_SVM)
		return exit->kind == HV_NESTED_EXIT_TRAP_AFTER_FLUSH ?
		       "HV_SVM_EXITCODE_ENL (0xf0000000)" : svm_exit_name(exit->code);
	switch (exit->kind) {
	case HV_NESTED_EXIT_HLT:              return "VMX exit HLT (12)";
	case HV_NESTED_EXIT_HYPERCALL:        return "VMX exit VMCALL (18)";
	case HV_NESTED_EXIT_TRAP_AFTER_FLUSH: return "VMX exit trap after flush (0x10000031)";
	default:                              return "another VMX exit reason";
	}
}

void hv_nested_l1_run_to_hlt(struct hv_nested_l1 *l1, struct hv_nested_l1_log *log,
			     uint64_t result)
{
	struct hv_nested_exit exit;

	for (;;) {
		hv_nested_l2_run(l1, &exit);
		switch (exit.kind) {
		case HV_NESTED_EXIT_HLT:
			return;
		case HV_NESTED_EXIT_HYPERCALL:
			if (!log->hypercall_exits++)
				log->first_hypercall = exit;
			hv_nested_l2_complete_hypercall(l1, result);
			break;
		case HV_NESTED_EXIT_TRAP_AFTER_FLUSH:
			if (!log->trap_exits++)
				log->first_trap = exit;
			break;          /* resume where L2 is: KVM advanced RIP */
		default:
			GUEST_FAIL("L1 (vCPU %u): unexpected %s, exit code 0x%llx, info 0x%llx/0x%llx, "
				   "L2 rip 0x%llx", guest_vcpu_id(), hv_nested_exit_name(l1, &exit),
				   (unsigned long long)exit.code, (unsigned long long)exit.info1,
				   (unsigned long long)exit.info2, (unsigned long long)exit.l2_rip);
		}
	}
}
