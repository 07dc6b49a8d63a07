/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMLAUNCH/VMRESUME from guest code (L1) with an enlightened VMCS, see
 * include/vmx.h.
 *
 *   int __vmx_run(struct hv_evmcs *evmcs, struct vmx_gprs *l2, int launched)
 *
 * Returns 0 after a VM-exit (L2's registers stored in *l2), 1 if the entry
 * instruction itself failed. VM-exit lands at vmx_exit_landing with RSP =
 * host_rsp, which this function stores in the eVMCS just before entering.
 */
#define EVMCS_HOST_RSP 0x268
/* offsets in struct vmx_gprs */
#define RAX 0
#define RBX 8
#define RCX 16
#define RDX 24
#define RSI 32
#define RDI 40
#define RBP 48
#define R8  56
#define R9  64
#define R10 72
#define R11 80
#define R12 88
#define R13 96
#define R14 104
#define R15 112

	.text
	.globl __vmx_run
__vmx_run:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rsi                      /* the gprs pointer, found again after the exit */
	movq %rsp, EVMCS_HOST_RSP(%rdi)
	testl %edx, %edx                /* flags survive the movs below */
	movq RAX(%rsi), %rax
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
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* The entry failed: nothing of L2 ran. */
	movl $1, %eax
	jmp 3f

	.globl vmx_exit_landing
vmx_exit_landing:
	pushq %rsi
	movq 8(%rsp), %rsi
	movq %rax, RAX(%rsi)
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
	xorl %eax, %eax
3:	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* L2 starts here: call %rsi with %rdi, then halt (L1 intercepts HLT). */
	.globl vmx_l2_entry
vmx_l2_entry:
	call *%rsi
1:	hlt
	jmp 1b

	.section .note.GNU-stack,"",@progbits
