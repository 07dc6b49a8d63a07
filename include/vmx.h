/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nested VMX with the Hyper-V enlightened VMCS (eVMCS): guest code (L1) that
 * runs its own guest (L2) the way Hyper-V-aware L1 hypervisors do on KVM.
 *
 *   host:  struct vmx_vcpu *vmx = vcpu_alloc_vmx(vcpu);   // enables eVMCS
 *   L1:    hyperv_enable_vp_assist(assist);
 *          vmx_enable(vmx);                               // VMXON
 *          vmx_init_evmcs(vmx, l2_main, arg, assist);     // eVMCS in use
 *          reason = vmx_run(vmx);                         // VMLAUNCH/VMRESUME
 *
 * L2 is a copy of L1's environment exactly as in svm.h (same CR3 behind an
 * identity EPT, same GDT/IDT, same GS base and so the same guest_cpu; I/O
 * not intercepted, so guest messages from L2 reach the host; HLT
 * intercepted: VMX_EXIT_HLT means "L2 finished"). With eVMCS, L1 reads and
 * writes the VMCS as memory (struct hv_evmcs) and marks every field dirty
 * (hv_clean_fields = 0) before each entry.
 *
 * Not runnable under QEMU TCG (no VMX): written to the SDM and the TLFS
 * eVMCS v1 layout, exercised on Intel hosts.
 */
#ifndef KVMTEST_VMX_H
#define KVMTEST_VMX_H

#include "hyperv.h"

#define VMX_EXIT_HLT    12
#define VMX_EXIT_VMCALL 18
#define KVM_EVMCS_VERSION 1
#define HV_EVMCS_ENL_NESTED_FLUSH_HYPERCALL BIT(0)
#define HV_EVMCS_ENL_MSR_BITMAP             BIT(1)
#define HV_EVMCS_CLEAN_NONE                 0
#define HV_EVMCS_CLEAN_ENLIGHTENMENTSCONTROL BIT(15)

/* Enlightened VMCS, version 1 (TLFS); offsets checked below. */
struct hv_evmcs {
	uint32_t revision_id;
	uint32_t abort;
	uint16_t host_es_selector, host_cs_selector, host_ss_selector, host_ds_selector;
	uint16_t host_fs_selector, host_gs_selector, host_tr_selector;
	uint16_t padding16_1;
	uint64_t host_ia32_pat;
	uint64_t host_ia32_efer;
	uint64_t host_cr0, host_cr3, host_cr4;
	uint64_t host_ia32_sysenter_esp, host_ia32_sysenter_eip;
	uint64_t host_rip;                      /* 0x050 */
	uint32_t host_ia32_sysenter_cs;
	uint32_t pin_based_vm_exec_control;
	uint32_t vm_exit_controls;
	uint32_t secondary_vm_exec_control;
	uint64_t io_bitmap_a, io_bitmap_b;
	uint64_t msr_bitmap;
	uint16_t guest_es_selector, guest_cs_selector, guest_ss_selector, guest_ds_selector;
	uint16_t guest_fs_selector, guest_gs_selector, guest_ldtr_selector, guest_tr_selector;
	uint32_t guest_es_limit, guest_cs_limit, guest_ss_limit, guest_ds_limit;
	uint32_t guest_fs_limit, guest_gs_limit, guest_ldtr_limit, guest_tr_limit;
	uint32_t guest_gdtr_limit, guest_idtr_limit;
	uint32_t guest_es_ar_bytes, guest_cs_ar_bytes, guest_ss_ar_bytes, guest_ds_ar_bytes;
	uint32_t guest_fs_ar_bytes, guest_gs_ar_bytes, guest_ldtr_ar_bytes, guest_tr_ar_bytes;
	uint64_t guest_es_base, guest_cs_base, guest_ss_base, guest_ds_base;
	uint64_t guest_fs_base, guest_gs_base, guest_ldtr_base, guest_tr_base;
	uint64_t guest_gdtr_base, guest_idtr_base;
	uint64_t padding64_1[3];
	uint64_t vm_exit_msr_store_addr, vm_exit_msr_load_addr, vm_entry_msr_load_addr;
	uint64_t cr3_target_value0, cr3_target_value1, cr3_target_value2, cr3_target_value3;
	uint32_t page_fault_error_code_mask, page_fault_error_code_match;
	uint32_t cr3_target_count;
	uint32_t vm_exit_msr_store_count, vm_exit_msr_load_count, vm_entry_msr_load_count;
	uint64_t tsc_offset;
	uint64_t virtual_apic_page_addr;
	uint64_t vmcs_link_pointer;             /* 0x1a0 */
	uint64_t guest_ia32_debugctl;
	uint64_t guest_ia32_pat;
	uint64_t guest_ia32_efer;
	uint64_t guest_pdptr0, guest_pdptr1, guest_pdptr2, guest_pdptr3;
	uint64_t guest_pending_dbg_exceptions;
	uint64_t guest_sysenter_esp, guest_sysenter_eip;
	uint32_t guest_activity_state;
	uint32_t guest_sysenter_cs;
	uint64_t cr0_guest_host_mask, cr4_guest_host_mask;
	uint64_t cr0_read_shadow, cr4_read_shadow;
	uint64_t guest_cr0, guest_cr3, guest_cr4;       /* 0x220 */
	uint64_t guest_dr7;
	uint64_t host_fs_base, host_gs_base, host_tr_base, host_gdtr_base, host_idtr_base;
	uint64_t host_rsp;                      /* 0x268 */
	uint64_t ept_pointer;
	uint16_t virtual_processor_id;
	uint16_t padding16_2[3];
	uint64_t padding64_2[5];
	uint64_t guest_physical_address;
	uint32_t vm_instruction_error;          /* 0x2b0 */
	uint32_t vm_exit_reason;
	uint32_t vm_exit_intr_info, vm_exit_intr_error_code;
	uint32_t idt_vectoring_info_field, idt_vectoring_error_code;
	uint32_t vm_exit_instruction_len;
	uint32_t vmx_instruction_info;
	uint64_t exit_qualification;            /* 0x2d0 */
	uint64_t exit_io_instruction_ecx, exit_io_instruction_esi;
	uint64_t exit_io_instruction_edi, exit_io_instruction_eip;
	uint64_t guest_linear_address;
	uint64_t guest_rsp;                     /* 0x300 */
	uint64_t guest_rflags;
	uint32_t guest_interruptibility_info;
	uint32_t cpu_based_vm_exec_control;
	uint32_t exception_bitmap;
	uint32_t vm_entry_controls;
	uint32_t vm_entry_intr_info_field;
	uint32_t vm_entry_exception_error_code;
	uint32_t vm_entry_instruction_len;
	uint32_t tpr_threshold;
	uint64_t guest_rip;                     /* 0x330 */
	uint32_t hv_clean_fields;               /* 0x338 */
	uint32_t padding32_1;
	uint32_t hv_synthetic_controls;
	uint32_t hv_enlightenments_control;     /* 0x344 */
	uint32_t hv_vp_id;                      /* 0x348 */
	uint32_t padding32_2;
	uint64_t hv_vm_id;                      /* 0x350 */
	uint64_t partition_assist_page;         /* 0x358 */
	uint64_t padding64_4[4];
	uint64_t guest_bndcfgs;
	uint64_t guest_ia32_perf_global_ctrl;
	uint64_t guest_ia32_s_cet, guest_ssp, guest_ia32_int_ssp_table_addr;
	uint64_t guest_ia32_lbr_ctl;
	uint64_t padding64_5[2];
	uint64_t xss_exit_bitmap;
	uint64_t encls_exiting_bitmap;
	uint64_t host_ia32_perf_global_ctrl;
	uint64_t tsc_multiplier;
	uint64_t host_ia32_s_cet, host_ssp, host_ia32_int_ssp_table_addr;
	uint64_t padding64_6;
} __attribute__((packed));

_Static_assert(__builtin_offsetof(struct hv_evmcs, host_rip) == 0x50, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, vmcs_link_pointer) == 0x1a0, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, guest_cr0) == 0x220, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, host_rsp) == 0x268, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, vm_instruction_error) == 0x2b0, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, exit_qualification) == 0x2d0, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, guest_rip) == 0x330, "eVMCS layout");
/* The enlightenment offsets of docs/interfaces.md section 4 (L2 flush). */
_Static_assert(__builtin_offsetof(struct hv_evmcs, hv_clean_fields) == 0x338, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, hv_enlightenments_control) == 0x344, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, hv_vp_id) == 0x348, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, hv_vm_id) == 0x350, "eVMCS layout");
_Static_assert(__builtin_offsetof(struct hv_evmcs, partition_assist_page) == 0x358, "eVMCS layout");

/* L2's general-purpose registers while L1 runs (RSP is in the eVMCS). */
struct vmx_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

struct vmx_vcpu {
	struct hv_evmcs *evmcs;
	uint64_t evmcs_gpa;
	uint64_t vmxon_gpa;
	void *vmxon;
	uint64_t eptp;                  /* identity EPT */
	uint64_t l2_stack_top;
	bool launched;
	struct vmx_gprs l2;
	uint64_t exits;
};

/* ---- host side ---- */
/* Skip unless KVM offers nested VMX and eVMCS. */
void require_nested_evmcs(void);
/* Everything one vCPU's L1 needs; enables KVM_CAP_HYPERV_ENLIGHTENED_VMCS. */
struct vmx_vcpu *vcpu_alloc_vmx(struct vcpu *vcpu);

/* ---- guest side (L1) ---- */
void vmx_enable(struct vmx_vcpu *vmx);
/* Point the VP assist page at the eVMCS and fill it to start l2_fn(arg). */
void vmx_init_evmcs(struct vmx_vcpu *vmx, void (*l2_fn)(void *), void *arg,
		    struct hv_vp_assist_page *assist);
/* VMLAUNCH or VMRESUME; returns the full exit reason (fails the guest if
 * the entry itself fails). */
uint32_t vmx_run(struct vmx_vcpu *vmx);
static inline void vmx_skip(struct vmx_vcpu *vmx)
{
	vmx->evmcs->guest_rip += vmx->evmcs->vm_exit_instruction_len;
}

#endif
