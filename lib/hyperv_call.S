/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hyper-V hypercalls through the hypercall page (guest side). Written in
 * assembly because the fast form loads XMM registers, which C compiled
 * with -mgeneral-regs-only may neither use nor declare as clobbered.
 *
 *   uint64_t hyperv_hypercall(control, input_gpa, output_gpa)
 *   uint64_t hyperv_hypercall_fast(control, rdx, r8, const uint64_t halves[12])
 *
 * Hyper-V convention: RCX = control, RDX = input, R8 = output, result in RAX.
 */
/* offsetof(struct guest_cpu, hypercall_page), checked in lib/hyperv.c */
#define GUEST_CPU_HYPERCALL_PAGE 48

/* Fast form: XMM0..XMM5 from halves[] (arg 4, RCX), then the registers
 * as for the memory form, with HV_HYPERCALL_FAST_BIT in the control word. */
	.macro load_fast_hypercall_args
	movdqu 0(%rcx), %xmm0
	movdqu 16(%rcx), %xmm1
	movdqu 32(%rcx), %xmm2
	movdqu 48(%rcx), %xmm3
	movdqu 64(%rcx), %xmm4
	movdqu 80(%rcx), %xmm5
	movq %rdx, %r8
	movq %rsi, %rdx
	movq %rdi, %rcx
	orq $(1 << 16), %rcx            /* HV_HYPERCALL_FAST_BIT */
	.endm

	.text
	.globl hyperv_hypercall
hyperv_hypercall:
	movq %rdx, %r8
	movq %rsi, %rdx
	movq %rdi, %rcx
	jmp call_hypercall_page

	.globl hyperv_hypercall_fast
hyperv_hypercall_fast:
	load_fast_hypercall_args

call_hypercall_page:
	movq %gs:GUEST_CPU_HYPERCALL_PAGE, %rax
	call *%rax
	ret

/*
 * The _safe variants report an exception raised by the hypercall (e.g. #UD
 * for a fast call without XMM input under KVM_CAP_HYPERV_ENFORCE_CPUID)
 * instead of failing: they arm the guest's fixup (guest.h GUEST_SAFE_*),
 * and because the fault happens inside the hypercall page, below a pushed
 * return address, the stack pointer is restored from %rbx afterwards.
 *
 *   int hyperv_hypercall_safe(control, input_gpa, output_gpa, uint64_t *result)
 *   int hyperv_hypercall_fast_safe(control, rdx, r8, halves, uint64_t *result)
 *
 * Return the vector or -1 (NO_EXCEPTION); RAX of the call in *result.
 */
#define GUEST_CPU_FIXUP_RIP    8
#define GUEST_CPU_FAULT_VECTOR 16

	.globl hyperv_hypercall_safe
hyperv_hypercall_safe:
	pushq %rbx
	pushq %rcx                      /* result pointer */
	movq %rdx, %r8
	movq %rsi, %rdx
	movq %rdi, %rcx
	jmp call_hypercall_page_safe

	.globl hyperv_hypercall_fast_safe
hyperv_hypercall_fast_safe:
	pushq %rbx
	pushq %r8                       /* result pointer */
	load_fast_hypercall_args

call_hypercall_page_safe:
	movq %rsp, %rbx
	movq $1f, %gs:GUEST_CPU_FIXUP_RIP
	movq $-1, %gs:GUEST_CPU_FAULT_VECTOR
	movq %gs:GUEST_CPU_HYPERCALL_PAGE, %rax
	call *%rax
1:	movq $0, %gs:GUEST_CPU_FIXUP_RIP
	movq %rbx, %rsp
	popq %rcx
	movq %rax, (%rcx)
	movq %gs:GUEST_CPU_FAULT_VECTOR, %rax
	popq %rbx
	ret

	.section .note.GNU-stack,"",@progbits
