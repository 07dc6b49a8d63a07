/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMRUN from guest code (L1), see include/svm.h.
 *
 *   uint64_t __svm_vmrun(uint64_t vmcb_gpa, struct svm_gprs *l2)
 *
 * VMRUN saves and restores only RAX, RSP and RIP of L1 (and segment and
 * control state): L2's other general-purpose registers are loaded from *l2
 * before VMRUN and stored back after #VMEXIT, and L1's callee-saved ones
 * are kept on the stack. GIF is cleared around VMRUN as the APM suggests.
 */
/* offsets in struct svm_gprs */
#define RBX 0
#define RCX 8
#define RDX 16
#define RSI 24
#define RDI 32
#define RBP 40
#define R8  48
#define R9  56
#define R10 64
#define R11 72
#define R12 80
#define R13 88
#define R14 96
#define R15 104

	.text
	.globl __svm_vmrun
__svm_vmrun:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rsi                      /* the gprs pointer, found again after #VMEXIT */
	movq %rdi, %rax
	movq RBX(%rsi), %rbx
	movq RCX(%rsi), %rcx
	movq RDX(%rsi), %rdx
	movq RDI(%rsi), %rdi
	movq RBP(%rsi), %rbp
	movq R8(%rsi), %r8
	movq R9(%rsi), %r9
	movq R10(%rsi), %r10
	movq R11(%rsi), %r11
	movq R12(%rsi), %r12
	movq R13(%rsi), %r13
	movq R14(%rsi), %r14
	movq R15(%rsi), %r15
	movq RSI(%rsi), %rsi
	clgi
	vmrun %rax
	/* #VMEXIT: RAX and RSP are L1's again; the rest are L2's. */
	pushq %rsi
	movq 8(%rsp), %rsi
	movq %rbx, RBX(%rsi)
	movq %rcx, RCX(%rsi)
	movq %rdx, RDX(%rsi)
	movq %rdi, RDI(%rsi)
	movq %rbp, RBP(%rsi)
	movq %r8, R8(%rsi)
	movq %r9, R9(%rsi)
	movq %r10, R10(%rsi)
	movq %r11, R11(%rsi)
	movq %r12, R12(%rsi)
	movq %r13, R13(%rsi)
	movq %r14, R14(%rsi)
	movq %r15, R15(%rsi)
	popq %rax
	movq %rax, RSI(%rsi)
	stgi
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	xorl %eax, %eax
	ret

/* L2 starts here: call %rsi with %rdi, then halt (L1 intercepts HLT). */
	.globl svm_l2_entry
svm_l2_entry:
	call *%rsi
1:	hlt
	jmp 1b

	.section .note.GNU-stack,"",@progbits
