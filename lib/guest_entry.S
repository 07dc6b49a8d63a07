/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest entry points: one 16-byte stub per interrupt vector, the common
 * save/restore path around guest_exception_dispatch(), and the trampoline
 * a guest function "returns" into.
 */
	.text


/* The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30;
 * the other stubs push a zero so every frame has the same layout. */
	.macro stub
	.balign 16
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp guest_exception_common
	.endm

	.balign 16
	.globl guest_exception_stubs
guest_exception_stubs:
	.set vec, 0
	.rept 256
	stub
	.set vec, vec + 1
	.endr

guest_exception_common:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rdi
	pushq %rsi
	pushq %rbp
	pushq %rbx
	pushq %rdx
	pushq %rcx
	pushq %rax
	movq %rsp, %rdi
	/* The frame is 8 mod 16 here: align for the C call, keep the frame. */
	movq %rsp, %rbx
	andq $-16, %rsp
	call guest_exception_dispatch
	movq %rbx, %rsp
	popq %rax
	popq %rcx
	popq %rdx
	popq %rbx
	popq %rbp
	popq %rsi
	popq %rdi
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	addq $16, %rsp          /* vector and error code */
	iretq

	.globl guest_return_trampoline
guest_return_trampoline:
	andq $-16, %rsp
	call guest_function_returned
	ud2

	.section .note.GNU-stack,"",@progbits
