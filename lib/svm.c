// SPDX-License-Identifier: GPL-2.0
/*
 * Nested SVM: L1-side VMCB set-up and VMRUN for guest code; see include/svm.h.
 */
#include "cpuid.h"
#include "svm.h"

#define IOPM_PAGES  3                   /* 12 KiB I/O permission map */
#define MSRPM_PAGES 2                   /* 8 KiB MSR permission map */
#define L2_STACK_SIZE (16 * 1024)
/* NPT walks are user accesses: every level needs U (APM 15.25.5). */
#define NPT_TABLE_FLAGS (PTE_PRESENT | PTE_WRITE | PTE_USER)
#define DEFAULT_PAT 0x0007040600070406ull
#define MSR_IA32_CR_PAT 0x277
#define DR6_INIT 0xffff0ff0ull
#define DR7_INIT 0x400ull
#define RFLAGS_FIXED 0x2ull
#define L2_ASID 1
/* VMCB segment attributes: 64-bit code (type 0xb, S, P, L, G) and flat
 * data (type 3, S, P, DB, G). */
#define VMCB_ATTR_CODE64 0xa9b
#define VMCB_ATTR_DATA   0xc93
#define VMCB_ATTR_TSS64  0x08b

extern const char svm_l2_entry[];       /* lib/svm_run.S */
uint64_t __svm_vmrun(uint64_t vmcb_gpa, struct svm_gprs *l2);

_Static_assert(__builtin_offsetof(struct svm_gprs, r15) == 104,
	       "lib/svm_run.S hard-codes struct svm_gprs");

void require_nested_svm(void)
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM),
		     "nested SVM unavailable: KVM does not offer the SVM CPU feature "
		     "(not an AMD host, or kvm_amd.nested=0)");
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_NPT),
		     "nested SVM without NPT: KVM does not offer the NPT CPU feature");
}

struct svm_vcpu *vcpu_alloc_svm(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct svm_vcpu *svm = vm_alloc(vm, sizeof(*svm));

	svm->vmcb = vm_alloc(vm, PAGE_SIZE);
	svm->vmcb_gpa = vm_hva_to_gpa(vm, svm->vmcb);
	svm->hsave_gpa = vm_alloc_gpa(vm, 1);
	svm->iopm_gpa = vm_alloc_gpa(vm, IOPM_PAGES);
	svm->msrpm_gpa = vm_alloc_gpa(vm, MSRPM_PAGES);
	/* Identity NPT: L2 GPA == L1 GPA. */
	svm->ncr3 = vm_build_identity_map_2m(vm, NPT_TABLE_FLAGS, NPT_TABLE_FLAGS | PTE_LARGE);
	svm->l2_stack_top = (uint64_t)vm_alloc(vm, L2_STACK_SIZE) + L2_STACK_SIZE;
	return svm;
}

/* ---- guest side ---- */

void svm_enable(struct svm_vcpu *svm)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, svm->hsave_gpa);
}

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint16_t read_sel(int which)
{
	uint16_t sel = 0;

	switch (which) {
	case 0: __asm__ volatile("mov %%cs, %0" : "=r"(sel)); break;
	case 1: __asm__ volatile("mov %%ds, %0" : "=r"(sel)); break;
	default: __asm__ volatile("str %0" : "=r"(sel)); break;
	}
	return sel;
}

static struct vmcb_seg flat_seg(uint16_t sel, uint16_t attrib)
{
	return (struct vmcb_seg){ .selector = sel, .attrib = attrib, .limit = 0xffffffff };
}

void svm_init_vmcb(struct svm_vcpu *svm, void (*l2_fn)(void *), void *arg)
{
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control *c = &vmcb->control;
	struct vmcb_save *s = &vmcb->save;
	struct desc_ptr gdt, idt;
	uint16_t data = read_sel(1);

	memset(vmcb, 0, sizeof(*vmcb));
	c->intercept_misc1 = SVM_INTERCEPT_HLT | SVM_INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL;
	c->iopm_base_pa = svm->iopm_gpa;
	c->msrpm_base_pa = svm->msrpm_gpa;
	c->asid = L2_ASID;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = svm->ncr3;

	__asm__ volatile("sgdt %0" : "=m"(gdt));
	__asm__ volatile("sidt %0" : "=m"(idt));
	s->cs = flat_seg(read_sel(0), VMCB_ATTR_CODE64);
	s->ds = s->es = s->ss = s->fs = s->gs = flat_seg(data, VMCB_ATTR_DATA);
	s->tr = (struct vmcb_seg){ .selector = read_sel(2), .attrib = VMCB_ATTR_TSS64,
				   .limit = 0x67 };
	s->gdtr = (struct vmcb_seg){ .limit = gdt.limit, .base = gdt.base };
	s->idtr = (struct vmcb_seg){ .limit = idt.limit, .base = idt.base };
	s->efer = rdmsr(MSR_EFER);
	s->cr0 = read_cr0();
	s->cr3 = read_cr3();
	s->cr4 = read_cr4();
	s->dr6 = DR6_INIT;
	s->dr7 = DR7_INIT;
	s->rflags = RFLAGS_FIXED;
	s->g_pat = DEFAULT_PAT;
	/* svm_l2_entry calls %rsi(%rdi), then halts. */
	s->rip = (uint64_t)svm_l2_entry;
	s->rsp = svm->l2_stack_top;
	memset(&svm->l2, 0, sizeof(svm->l2));
	svm->l2.rdi = (uint64_t)arg;
	svm->l2.rsi = (uint64_t)l2_fn;
}

uint64_t svm_run(struct svm_vcpu *svm)
{
	__svm_vmrun(svm->vmcb_gpa, &svm->l2);
	svm->exits++;
	return svm->vmcb->control.exit_code;
}

const char *svm_exit_name(uint64_t exit_code)
{
	switch (exit_code) {
	case SVM_EXIT_HLT:      return "SVM_EXIT_HLT (0x78)";
	case SVM_EXIT_IOIO:     return "SVM_EXIT_IOIO (0x7b)";
	case SVM_EXIT_MSR:      return "SVM_EXIT_MSR (0x7c)";
	case SVM_EXIT_SHUTDOWN: return "SVM_EXIT_SHUTDOWN (0x7f)";
	case SVM_EXIT_VMRUN:    return "SVM_EXIT_VMRUN (0x80)";
	case SVM_EXIT_VMMCALL:  return "SVM_EXIT_VMMCALL (0x81)";
	case SVM_EXIT_NPF:      return "SVM_EXIT_NPF (0x400)";
	case SVM_EXIT_INVALID:  return "SVM_EXIT_INVALID (-1: VMRUN refused the VMCB)";
	default:
		if (exit_code >= SVM_EXIT_EXCP_BASE && exit_code < SVM_EXIT_EXCP_BASE + 32)
			return "an exception intercept (0x40 + vector)";
		return "another SVM exit code";
	}
}
