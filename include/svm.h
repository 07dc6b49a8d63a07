/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nested SVM: guest code (L1) that runs its own guest (L2).
 *
 *   host:  struct svm_vcpu *svm = vcpu_alloc_svm(vcpu);   // pass to the guest
 *   L1:    svm_enable(svm);
 *          svm_init_vmcb(svm, l2_main, arg);
 *          exit = svm_run(svm);                           // one VMRUN
 *          if (exit == SVM_EXIT_VMMCALL) svm_skip(svm, VMMCALL_LEN); ...
 *
 * L2 is set up as a copy of L1's environment, so ordinary test C functions
 * run there unchanged: the same page tables (CR3) behind an identity nested
 * page table over all of guest RAM (L2 GPA == L1 GPA), the same GDT/IDT and
 * exception handlers, and, since L1 does no VMLOAD, the same GS base, hence
 * the same guest_cpu: guest messages, GUEST_ASSERT and guest_printf from L2
 * reach the host directly (L1 does not intercept I/O), and so do unexpected
 * exceptions in L2 (L1 intercepts none). L2 has its own stack. When the L2
 * function returns, L2 executes HLT, which L1 intercepts: SVM_EXIT_HLT means
 * "L2 finished". L1 always intercepts VMRUN (required), VMMCALL, HLT and
 * SHUTDOWN.
 *
 * All of it lives in guest memory allocated by the host (host pointer ==
 * guest pointer), one svm_vcpu per vCPU.
 */
#ifndef KVMTEST_SVM_H
#define KVMTEST_SVM_H

#include "vm.h"

/* Intercept vectors (APM vol. 2, VMCB control area). */
#define SVM_INTERCEPT_HLT       BIT(24)         /* misc1 */
#define SVM_INTERCEPT_IOIO      BIT(27)
#define SVM_INTERCEPT_MSR       BIT(28)
#define SVM_INTERCEPT_SHUTDOWN  BIT(31)
#define SVM_INTERCEPT_VMRUN     BIT(0)          /* misc2 */
#define SVM_INTERCEPT_VMMCALL   BIT(1)

/* Exit codes. */
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_HLT       0x078
#define SVM_EXIT_IOIO      0x07b
#define SVM_EXIT_MSR       0x07c
#define SVM_EXIT_SHUTDOWN  0x07f
#define SVM_EXIT_VMRUN     0x080
#define SVM_EXIT_VMMCALL   0x081
#define SVM_EXIT_NPF       0x400
#define SVM_EXIT_INVALID   (~0ull)              /* VMRUN refused the VMCB */

#define SVM_NESTED_CTL_NP_ENABLE BIT(0)
#define VMMCALL_LEN 3                           /* 0f 01 d9 */
#define HLT_LEN 1

struct vmcb_control {
	uint32_t intercept_cr;          /* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;          /* 0x004 */
	uint32_t intercept_exceptions;  /* 0x008 */
	uint32_t intercept_misc1;       /* 0x00c */
	uint32_t intercept_misc2;       /* 0x010 */
	uint32_t intercept_misc3;       /* 0x014 */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_threshold;
	uint16_t pause_filter_count;
	uint64_t iopm_base_pa;          /* 0x040 */
	uint64_t msrpm_base_pa;         /* 0x048 */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t asid;                  /* 0x058 */
	uint8_t tlb_control;            /* 0x05c */
	uint8_t reserved_05d[3];
	uint32_t int_ctl;               /* 0x060 */
	uint32_t int_vector;
	uint64_t int_state;             /* 0x068 */
	uint64_t exit_code;             /* 0x070 */
	uint64_t exit_info_1;           /* 0x078 */
	uint64_t exit_info_2;           /* 0x080 */
	uint64_t exit_int_info;         /* 0x088 */
	uint64_t nested_ctl;            /* 0x090 */
	uint64_t avic_vapic_bar;        /* 0x098 */
	uint64_t ghcb_gpa;              /* 0x0a0 */
	uint64_t event_inj;             /* 0x0a8 */
	uint64_t nested_cr3;            /* 0x0b0 */
	uint64_t virt_ext;              /* 0x0b8 */
	uint32_t clean;                 /* 0x0c0 */
	uint32_t reserved_0c4;
	uint64_t next_rip;              /* 0x0c8 */
	uint8_t insn_len;               /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved_0e0[0x3e0 - 0x0e0];
	uint8_t software_reserved[32];  /* 0x3e0: e.g. Hyper-V enlightenments */
} __attribute__((packed));

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;                /* type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, DB 10, G 11 */
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	uint8_t reserved_0a0[0x0cb - 0x0a0];
	uint8_t cpl;                    /* 0x0cb */
	uint32_t reserved_0cc;
	uint64_t efer;                  /* 0x0d0 */
	uint8_t reserved_0d8[0x148 - 0x0d8];
	uint64_t cr4;                   /* 0x148 */
	uint64_t cr3;
	uint64_t cr0;
	uint64_t dr7;
	uint64_t dr6;
	uint64_t rflags;
	uint64_t rip;                   /* 0x178 */
	uint8_t reserved_180[0x1d8 - 0x180];
	uint64_t rsp;                   /* 0x1d8 */
	uint64_t s_cet, ssp, isst_addr;
	uint64_t rax;                   /* 0x1f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t cr2;                   /* 0x240 */
	uint8_t reserved_248[0x268 - 0x248];
	uint64_t g_pat;                 /* 0x268 */
	uint64_t dbgctl;
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __attribute__((packed));

_Static_assert(__builtin_offsetof(struct vmcb_control, exit_code) == 0x70, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_control, nested_cr3) == 0xb0, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_control, software_reserved) == 0x3e0, "VMCB layout");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_save, efer) == 0xd0, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_save, rip) == 0x178, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_save, rax) == 0x1f8, "VMCB layout");
_Static_assert(__builtin_offsetof(struct vmcb_save, g_pat) == 0x268, "VMCB layout");

/*
 * Hyper-V's use of the software-reserved area (docs/interfaces.md section
 * 4): what an L1 hypervisor tells an enlightened L0 about its L2.
 */
struct hv_vmcb_enlightenments {
	uint32_t control;
	uint32_t hv_vp_id;
	uint64_t hv_vm_id;
	uint64_t partition_assist_page;         /* GPA */
	uint64_t reserved;
} __attribute__((packed));
#define HV_VMCB_ENL_NESTED_FLUSH_HYPERCALL BIT(0)
#define HV_VMCB_ENL_MSR_BITMAP             BIT(1)
#define HV_VMCB_ENL_ENLIGHTENED_NPT_TLB    BIT(2)
#define HV_VMCB_CLEAN_NESTED_ENLIGHTENMENTS BIT(31)

static inline struct hv_vmcb_enlightenments *svm_hv_enlightenments(struct vmcb *vmcb)
{
	return (struct hv_vmcb_enlightenments *)vmcb->control.software_reserved;
}

/* L2's general-purpose registers while L1 runs (RAX and RSP are in the VMCB). */
struct svm_gprs {
	uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_gpa;
	uint64_t hsave_gpa;
	uint64_t iopm_gpa;
	uint64_t msrpm_gpa;
	uint64_t ncr3;                  /* identity nested page table */
	uint64_t l2_stack_top;
	struct svm_gprs l2;
	uint64_t exits;                 /* VM-exits L1 has seen */
};

/* ---- host side ---- */
/* Skip the case unless KVM offers nested SVM with NPT. */
void require_nested_svm(void);
/* Everything one vCPU's L1 needs, in guest memory. */
struct svm_vcpu *vcpu_alloc_svm(struct vcpu *vcpu);

/* ---- guest side (L1) ---- */
void svm_enable(struct svm_vcpu *svm);
/* A VMCB that starts L2 in l2_fn(arg) on its own stack (see above). */
void svm_init_vmcb(struct svm_vcpu *svm, void (*l2_fn)(void *), void *arg);
/* One VMRUN; returns the exit code (also in svm->vmcb->control.exit_code). */
uint64_t svm_run(struct svm_vcpu *svm);
/* Advance L2's RIP past the intercepted instruction. */
static inline void svm_skip(struct svm_vcpu *svm, uint32_t len)
{
	svm->vmcb->save.rip += len;
}
/* "SVM_EXIT_VMMCALL (0x81)" etc., for messages. */
const char *svm_exit_name(uint64_t exit_code);

#endif
