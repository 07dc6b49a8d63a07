// SPDX-License-Identifier: GPL-2.0
/*
 * Nested VMX with eVMCS: L1-side set-up and entry for guest code; see
 * include/vmx.h. Field values follow the SDM (vol. 3C, chapters 24-26).
 */
#include <stddef.h>

#include "cpuid.h"
#include "vmx.h"

#define MSR_IA32_FEAT_CTL          0x3a
#define FEAT_CTL_LOCKED            BITL(0)
#define FEAT_CTL_VMX_OUTSIDE_SMX   BITL(2)
#define MSR_IA32_VMX_BASIC         0x480
#define MSR_IA32_VMX_PINBASED      0x481
#define MSR_IA32_VMX_PROCBASED     0x482
#define MSR_IA32_VMX_EXIT          0x483
#define MSR_IA32_VMX_ENTRY         0x484
#define MSR_IA32_VMX_CR0_FIXED0    0x486
#define MSR_IA32_VMX_CR0_FIXED1    0x487
#define MSR_IA32_VMX_CR4_FIXED0    0x488
#define MSR_IA32_VMX_CR4_FIXED1    0x489
#define MSR_IA32_VMX_PROCBASED2    0x48b
#define MSR_IA32_VMX_TRUE_PINBASED 0x48d
#define MSR_IA32_VMX_TRUE_PROC     0x48e
#define MSR_IA32_VMX_TRUE_EXIT     0x48f
#define MSR_IA32_VMX_TRUE_ENTRY    0x490
#define VMX_BASIC_TRUE_CTLS        BITL(55)
#define VMX_BASIC_REVISION_MASK    0x7fffffffull
#define MSR_IA32_CR_PAT            0x277

#define CPU_BASED_HLT_EXITING          BIT(7)
#define CPU_BASED_ACTIVATE_SECONDARY   BIT(31)
#define SECONDARY_ENABLE_EPT           BIT(1)
#define SECONDARY_ENABLE_VPID          BIT(5)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE   BIT(9)
#define VM_EXIT_SAVE_IA32_PAT          BIT(18)
#define VM_EXIT_LOAD_IA32_PAT          BIT(19)
#define VM_EXIT_SAVE_IA32_EFER         BIT(20)
#define VM_EXIT_LOAD_IA32_EFER         BIT(21)
#define VM_ENTRY_IA32E_MODE            BIT(9)
#define VM_ENTRY_LOAD_IA32_PAT         BIT(14)
#define VM_ENTRY_LOAD_IA32_EFER        BIT(15)

/* Access rights: 64-bit code, flat data, busy 64-bit TSS, unusable LDTR. */
#define AR_CODE64   0xa09b
#define AR_DATA     0xc093
#define AR_TSS64    0x008b
#define AR_UNUSABLE 0x10000
#define EPT_RWX        7ull
#define EPT_MT_WB      (6ull << 3)
#define EPT_LARGE      BITL(7)
#define EPTP_WB        6ull
#define EPTP_WALK_4    (3ull << 3)
#define L2_VPID        1
#define L2_STACK_SIZE  (16 * 1024)
#define DR7_INIT       0x400ull
#define RFLAGS_FIXED   0x2ull

extern const char vmx_l2_entry[], vmx_exit_landing[];       /* lib/vmx_run.S */
int __vmx_run(struct hv_evmcs *evmcs, struct vmx_gprs *l2, int launched);

_Static_assert(offsetof(struct vmx_gprs, r15) == 112, "lib/vmx_run.S hard-codes struct vmx_gprs");

void require_nested_evmcs(void)
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX),
		     "nested VMX unavailable: KVM does not offer the VMX CPU feature "
		     "(not an Intel host, kvm_intel.nested=0, or QEMU TCG, which has no VMX)");
	require_kvm_cap(KVM_CAP_HYPERV_ENLIGHTENED_VMCS);
}

struct vmx_vcpu *vcpu_alloc_vmx(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vmx_vcpu *vmx = vm_alloc(vm, sizeof(*vmx));
	uint16_t evmcs_version = 0;
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_HYPERV_ENLIGHTENED_VMCS,
		.args[0] = (uintptr_t)&evmcs_version,
	};

	vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap);
	vmx->evmcs = vm_alloc(vm, PAGE_SIZE);
	vmx->evmcs_gpa = vm_hva_to_gpa(vm, vmx->evmcs);
	vmx->vmxon = vm_alloc(vm, PAGE_SIZE);
	vmx->vmxon_gpa = vm_hva_to_gpa(vm, vmx->vmxon);
	/* Identity EPT: L2 GPA == L1 GPA, write-back. */
	vmx->eptp = vm_build_identity_map_2m(vm, EPT_RWX, EPT_RWX | EPT_MT_WB | EPT_LARGE) |
		    EPTP_WALK_4 | EPTP_WB;
	vmx->l2_stack_top = (uint64_t)vm_alloc(vm, L2_STACK_SIZE) + L2_STACK_SIZE;
	return vmx;
}

/* ---- guest side ---- */

static uint32_t adjust_controls(uint32_t want, uint32_t msr)
{
	uint64_t allowed = rdmsr(msr);

	return (want | (uint32_t)allowed) & (uint32_t)(allowed >> 32);
}

static void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }
static void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory"); }

void vmx_enable(struct vmx_vcpu *vmx)
{
	uint64_t feat = rdmsr(MSR_IA32_FEAT_CTL);
	uint8_t fail;

	if (!(feat & FEAT_CTL_LOCKED))
		wrmsr(MSR_IA32_FEAT_CTL, feat | FEAT_CTL_LOCKED | FEAT_CTL_VMX_OUTSIDE_SMX);
	write_cr0((read_cr0() | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1));
	write_cr4(((read_cr4() | X86_CR4_VMXE) | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) &
		  rdmsr(MSR_IA32_VMX_CR4_FIXED1));
	*(uint32_t *)vmx->vmxon = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK;
	__asm__ volatile("vmxon %1; setna %0" : "=r"(fail) : "m"(vmx->vmxon_gpa) : "cc", "memory");
	GUEST_ASSERT_MSG(!fail, "VMXON failed");
}

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t tss_base(uint64_t gdt_base, uint16_t tr)
{
	const uint8_t *d = (const uint8_t *)(gdt_base + (tr & ~7u));

	return d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24 |
	       (uint64_t)*(const uint32_t *)(d + 8) << 32;
}

void vmx_init_evmcs(struct vmx_vcpu *vmx, void (*l2_fn)(void *), void *arg,
		    struct hv_vp_assist_page *assist)
{
	struct hv_evmcs *e = vmx->evmcs;
	bool true_ctls = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS;
	uint16_t cs, ds, tr;
	struct desc_ptr gdt, idt;

	memset(e, 0, sizeof(*e));
	e->revision_id = KVM_EVMCS_VERSION;
	assist->current_nested_vmcs = vmx->evmcs_gpa;
	assist->enlighten_vmentry = 1;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	__asm__ volatile("str %0" : "=r"(tr));
	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("sidt %0" : "=m"(idt));

	e->pin_based_vm_exec_control = adjust_controls(0, true_ctls ? MSR_IA32_VMX_TRUE_PINBASED
								    : MSR_IA32_VMX_PINBASED);
	e->cpu_based_vm_exec_control =
		adjust_controls(CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY,
				true_ctls ? MSR_IA32_VMX_TRUE_PROC : MSR_IA32_VMX_PROCBASED);
	e->secondary_vm_exec_control = adjust_controls(SECONDARY_ENABLE_EPT | SECONDARY_ENABLE_VPID,
						       MSR_IA32_VMX_PROCBASED2);
	e->vm_exit_controls = adjust_controls(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
					      VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
					      VM_EXIT_LOAD_IA32_PAT,
					      true_ctls ? MSR_IA32_VMX_TRUE_EXIT : MSR_IA32_VMX_EXIT);
	e->vm_entry_controls = adjust_controls(VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER |
					       VM_ENTRY_LOAD_IA32_PAT,
					       true_ctls ? MSR_IA32_VMX_TRUE_ENTRY : MSR_IA32_VMX_ENTRY);
	e->ept_pointer = vmx->eptp;
	e->virtual_processor_id = L2_VPID;
	e->vmcs_link_pointer = ~0ull;

	/* Host (L1) state; host_rsp and host_rip are set by __vmx_run. */
	e->host_cr0 = read_cr0();
	e->host_cr3 = read_cr3();
	e->host_cr4 = read_cr4();
	e->host_cs_selector = cs;
	e->host_ss_selector = e->host_ds_selector = e->host_es_selector = ds;
	e->host_fs_selector = e->host_gs_selector = ds;
	e->host_tr_selector = tr;
	e->host_fs_base = rdmsr(MSR_FS_BASE);
	e->host_gs_base = rdmsr(MSR_GS_BASE);
	e->host_tr_base = tss_base(gdt.base, tr);
	e->host_gdtr_base = gdt.base;
	e->host_idtr_base = idt.base;
	e->host_ia32_efer = rdmsr(MSR_EFER);
	e->host_ia32_pat = rdmsr(MSR_IA32_CR_PAT);

	/* Guest (L2) state: a copy of L1's, sharing GS base (guest_cpu). */
	e->guest_cr0 = e->cr0_read_shadow = read_cr0();
	e->guest_cr3 = read_cr3();
	e->guest_cr4 = e->cr4_read_shadow = read_cr4();
	e->guest_dr7 = DR7_INIT;
	e->guest_cs_selector = cs;
	e->guest_ss_selector = e->guest_ds_selector = e->guest_es_selector = ds;
	e->guest_fs_selector = e->guest_gs_selector = ds;
	e->guest_tr_selector = tr;
	e->guest_es_limit = e->guest_cs_limit = e->guest_ss_limit = 0xffffffff;
	e->guest_ds_limit = e->guest_fs_limit = e->guest_gs_limit = 0xffffffff;
	e->guest_tr_limit = 0x67;
	e->guest_cs_ar_bytes = AR_CODE64;
	e->guest_es_ar_bytes = e->guest_ss_ar_bytes = e->guest_ds_ar_bytes = AR_DATA;
	e->guest_fs_ar_bytes = e->guest_gs_ar_bytes = AR_DATA;
	e->guest_tr_ar_bytes = AR_TSS64;
	e->guest_ldtr_ar_bytes = AR_UNUSABLE;
	e->guest_gs_base = e->host_gs_base;
	e->guest_fs_base = e->host_fs_base;
	e->guest_tr_base = e->host_tr_base;
	e->guest_gdtr_base = gdt.base;
	e->guest_gdtr_limit = gdt.limit;
	e->guest_idtr_base = idt.base;
	e->guest_idtr_limit = idt.limit;
	e->guest_ia32_efer = e->host_ia32_efer;
	e->guest_ia32_pat = e->host_ia32_pat;
	e->guest_rflags = RFLAGS_FIXED;
	e->guest_rip = (uint64_t)vmx_l2_entry;
	e->guest_rsp = vmx->l2_stack_top;
	memset(&vmx->l2, 0, sizeof(vmx->l2));
	vmx->l2.rdi = (uint64_t)arg;
	vmx->l2.rsi = (uint64_t)l2_fn;
	vmx->launched = false;
}

uint32_t vmx_run(struct vmx_vcpu *vmx)
{
	struct hv_evmcs *e = vmx->evmcs;

	e->host_rip = (uint64_t)vmx_exit_landing;
	e->hv_clean_fields = HV_EVMCS_CLEAN_NONE;
	if (__vmx_run(e, &vmx->l2, vmx->launched))
		GUEST_FAIL("%s failed: VM-instruction error %u", vmx->launched ? "VMRESUME" : "VMLAUNCH",
			   e->vm_instruction_error);
	vmx->launched = true;
	vmx->exits++;
	return e->vm_exit_reason;
}
