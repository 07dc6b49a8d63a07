/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An enlightened L1 hypervisor, on nested SVM or on nested VMX with eVMCS:
 * the set-up Hyper-V's own nested code does before it runs an L2 (VP assist
 * page, VMCB/eVMCS enlightenments with VM_ID, VP_ID and the partition assist
 * page) and one view of L2's exits for both vendors, so that a test of the
 * L2 ("direct") TLB flush is written once. Numbers: docs/interfaces.md
 * section 4 ("L2 flush", "Trap after flush").
 *
 *   host:  l1 = hv_nested_l1_create(vcpu, vendor);      // per vCPU, shared with the guest
 *   L1:    hv_nested_l1_enable(l1, true);                // hypercalls, VP assist page
 *          hv_nested_l2_init(l1, l2_fn, arg, &enl);
 *          hv_nested_l1_run_to_hlt(l1, &log, result);    // or hv_nested_l2_run() in a loop
 */
#ifndef KVMTEST_HV_NESTED_H
#define KVMTEST_HV_NESTED_H

#include "svm.h"
#include "vmx.h"

enum hv_nested_vendor {
	HV_NESTED_SVM,
	HV_NESTED_VMX_EVMCS,
};

/* One vCPU's L1 state (guest memory: the host fills it, L1 uses it). */
struct hv_nested_l1 {
	enum hv_nested_vendor vendor;
	struct svm_vcpu *svm;                   /* HV_NESTED_SVM */
	struct vmx_vcpu *vmx;                   /* HV_NESTED_VMX_EVMCS */
	struct hv_vp_assist_page *assist;
};

/* What L1 names in its VMCB (software-reserved area) or eVMCS. */
struct hv_nested_enlightenments {
	uint64_t vm_id;
	uint32_t vp_id;
	bool nested_flush_hypercall;            /* L0 handles L2's flush hypercalls */
	uint64_t partition_assist_gpa;          /* an L1 GPA */
};

enum hv_nested_exit_kind {
	HV_NESTED_EXIT_HLT,
	HV_NESTED_EXIT_HYPERCALL,               /* VMMCALL / VMCALL, RIP at the instruction */
	HV_NESTED_EXIT_TRAP_AFTER_FLUSH,        /* RIP already past the hypercall */
	HV_NESTED_EXIT_OTHER,
};

/* An L2 exit as L1 sees it. */
struct hv_nested_exit {
	enum hv_nested_exit_kind kind;
	uint64_t code;                          /* SVM exit code / VMX exit reason */
	uint64_t info1, info2;                  /* SVM exit_info_1/2; VMX qualification, 0 */
	uint64_t l2_rip, l2_rax, l2_rcx;
};

/* What hv_nested_l1_run_to_hlt() saw: counts and the first of each exit. */
struct hv_nested_l1_log {
	uint64_t hypercall_exits;
	struct hv_nested_exit first_hypercall;
	uint64_t trap_exits;
	struct hv_nested_exit first_trap;
};

/* ---- host side ---- */

/* Skips unless KVM can run an L1 of this vendor (nested SVM with NPT, or
 * nested VMX with KVM_CAP_HYPERV_ENLIGHTENED_VMCS). */
void require_hv_nested(enum hv_nested_vendor vendor);
/* Skips unless KVM implements the L2 TLB flush for this vendor (Linux 6.2):
 * Hyper-V, the flush calls, and HV_X64_NESTED_DIRECT_FLUSH offered to probe. */
void require_hv_l2_flush(struct vcpu *probe, enum hv_nested_vendor vendor);
/* Makes vcpu an L1 of this vendor: its SVM/VMX state (eVMCS is enabled on
 * the vCPU before its Hyper-V CPUID is set), its Hyper-V CPUID and hypercall
 * page (vcpu_enable_hyperv()), and a VP assist page. */
struct hv_nested_l1 *hv_nested_l1_create(struct vcpu *vcpu, enum hv_nested_vendor vendor);

/* ---- guest side (L1) ---- */

/* Enable hypercalls and the VP assist page, with or without directhypercall
 * (nested_control.features, what L0 needs to handle L2's flush calls). */
void hv_nested_l1_enable(struct hv_nested_l1 *l1, bool direct_hypercall);
/* SVM/VMX on, and a VMCB/eVMCS that starts L2 at l2_fn(arg) with these
 * enlightenments. */
void hv_nested_l2_init(struct hv_nested_l1 *l1, void (*l2_fn)(void *), void *arg,
		       const struct hv_nested_enlightenments *enl);
/* Enter (or resume) L2 until its next exit. */
void hv_nested_l2_run(struct hv_nested_l1 *l1, struct hv_nested_exit *exit);
/* Answer L2's exiting hypercall: RAX = result, RIP past the instruction. */
void hv_nested_l2_complete_hypercall(struct hv_nested_l1 *l1, uint64_t result);
/* The exit's name for messages. */
const char *hv_nested_exit_name(const struct hv_nested_l1 *l1, const struct hv_nested_exit *exit);
/* Run L2 until it halts: answer each exiting hypercall with result, resume
 * after a trap-after-flush exit, fail the guest on any other exit. */
void hv_nested_l1_run_to_hlt(struct hv_nested_l1 *l1, struct hv_nested_l1_log *log,
			     uint64_t result);

#endif
