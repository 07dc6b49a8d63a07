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

	.text
	.globl hyperv_hypercall
hyperv_hypercall:
	movq %rdx, %r8
	movq %rsi, %rdx
	movq %rdi, %rcx
	jmp call_hypercall_page

	.globl hyperv_hypercall_fast
hyperv_hypercall_fast:
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

call_hypercall_page:
	movq %gs:GUEST_CPU_HYPERCALL_PAGE, %rax
	call *%rax
	ret

	.section .note.GNU-stack,"",@progbits
