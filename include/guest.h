/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What guest code can use. Guest code is ordinary C in the test binary: the
 * library copies the binary's loaded image into guest memory at the same
 * virtual addresses, so functions, string literals and constant data have the
 * same addresses in host and guest. Writable globals are NOT shared (the
 * guest has its own copy): share data through memory from vm_alloc(), which
 * is mapped at the same address on both sides.
 *
 * Guest code must not call libc (there is none in the guest), except the
 * memory/string functions this library provides, which gcc may emit.
 *
 * Code that gets no argument, exception and interrupt handlers above all,
 * reaches the test's shared data with guest_data(), never through a global
 * that guest code sets (below).
 */
#ifndef KVMTEST_GUEST_H
#define KVMTEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86.h"

/* The port guest messages use; an OUT to it exits to the host. */
#define GUEST_MSG_PORT 0x7e7

enum guest_msg_type {
	GUEST_MSG_NONE,
	GUEST_MSG_SYNC,         /* "reached this point", with up to 4 values */
	GUEST_MSG_DONE,         /* guest function returned */
	GUEST_MSG_FAIL,         /* assertion failed or unexpected exception */
	GUEST_MSG_PRINT,        /* guest_printf() text; the host prints it and resumes */
};

#define GUEST_MSG_MAX_ARGS 4
#define GUEST_MSG_TEXT_LEN 400

struct guest_msg {
	uint32_t type;
	uint32_t line;
	const char *file;       /* string literal: same address on the host */
	uint32_t nargs;
	uint64_t args[GUEST_MSG_MAX_ARGS];
	char text[GUEST_MSG_TEXT_LEN];
};

/* Saved state of an exception or interrupt, as the entry stubs push it. */
struct ex_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct ex_regs *regs);

#define NO_EXCEPTION (-1)

/*
 * Per-vCPU guest context, reached through %gs. The first fields have fixed
 * offsets because assembly uses them.
 */
struct guest_cpu {
	struct guest_cpu *self;         /* %gs:0 */
	uint64_t fixup_rip;             /* %gs:8: resume here after a fault */
	int64_t fault_vector;           /* %gs:16: vector of that fault, or NO_EXCEPTION */
	uint64_t fault_error_code;      /* %gs:24 */
	uint32_t vcpu_id;
	bool x2apic;                    /* apic.h: which interface apic_*() use */
	uint64_t ram_base;              /* GVA of guest physical address 0 */
	void *hypercall_page;           /* hyperv.h: the VM's Hyper-V hypercall page */
	struct guest_msg *msg;          /* where messages go (an L2 shares its L1's) */
	struct guest_msg own_msg;
};
#define GUEST_CPU_FIXUP_RIP    8
#define GUEST_CPU_FAULT_VECTOR 16
#define GUEST_CPU_FAULT_ERROR  24

static inline struct guest_cpu *this_cpu(void)
{
	struct guest_cpu *cpu;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(cpu));
	return cpu;
}

static inline uint32_t guest_vcpu_id(void) { return this_cpu()->vcpu_id; }

/* Guest physical address of memory from vm_alloc() (guest RAM is mapped at
 * GVA = ram_base + GPA). */
static inline uint64_t guest_gpa(const void *p)
{
	return (uint64_t)p - this_cpu()->ram_base;
}

/* Messages to the host. */
void guest_send_msg(uint32_t type, const char *file, uint32_t line,
		    const uint64_t *args, uint32_t nargs);
__attribute__((format(printf, 1, 2))) void guest_printf(const char *fmt, ...);
__attribute__((noreturn, format(printf, 3, 4)))
void __guest_fail(const char *file, uint32_t line, const char *fmt, ...);

#define __GUEST_ARGS(...) ((const uint64_t[]){ __VA_ARGS__ })
#define __GUEST_NARGS(...) (sizeof(__GUEST_ARGS(__VA_ARGS__)) / sizeof(uint64_t))

/* GUEST_SYNC(value...): up to four values, read on the host with vcpu_sync(). */
#define GUEST_SYNC(...)                                                        \
	guest_send_msg(GUEST_MSG_SYNC, __FILE__, __LINE__,                     \
		       __GUEST_ARGS(__VA_ARGS__), __GUEST_NARGS(__VA_ARGS__))
#define GUEST_DONE() guest_send_msg(GUEST_MSG_DONE, __FILE__, __LINE__, NULL, 0)
#define GUEST_FAIL(...) __guest_fail(__FILE__, __LINE__, __VA_ARGS__)

#define GUEST_ASSERT(cond)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			__guest_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)

#define GUEST_ASSERT_MSG(cond, ...)                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__guest_fail(__FILE__, __LINE__, __VA_ARGS__);         \
	} while (0)

#define __GUEST_ASSERT_CMP(a, op, b)                                           \
	do {                                                                   \
		uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);             \
		if (!(__a op __b))                                             \
			__guest_fail(__FILE__, __LINE__,                       \
				     "expected %s %s %s, got %s = %llu (0x%llx), %s = %llu (0x%llx)", \
				     #a, #op, #b, #a, (unsigned long long)__a, \
				     (unsigned long long)__a, #b,              \
				     (unsigned long long)__b, (unsigned long long)__b); \
	} while (0)
#define GUEST_ASSERT_EQ(a, b) __GUEST_ASSERT_CMP(a, ==, b)
#define GUEST_ASSERT_NE(a, b) __GUEST_ASSERT_CMP(a, !=, b)
#define GUEST_ASSERT_LT(a, b) __GUEST_ASSERT_CMP(a, <, b)
#define GUEST_ASSERT_LE(a, b) __GUEST_ASSERT_CMP(a, <=, b)
#define GUEST_ASSERT_GT(a, b) __GUEST_ASSERT_CMP(a, >, b)
#define GUEST_ASSERT_GE(a, b) __GUEST_ASSERT_CMP(a, >=, b)

/*
 * Exceptions and interrupts. Without a handler, any exception ends the test
 * with a failure naming vector, error code and RIP; an interrupt vector
 * without a handler does the same. guest_set_handler() installs a handler
 * for this VM (all vCPUs share the IDT); vm_set_handler() does it from the
 * host.
 */
void guest_set_handler(int vector, guest_handler_t handler);
const char *exception_name(int vector);

/*
 * The test's shared data, on every vCPU and in handlers, which get no
 * argument: the pointer the host gave vm_set_guest_data() for this VM (one
 * per VM, set before the vCPUs run). Reading it before then fails the test.
 *
 *   vm_set_guest_data(vm, s);                          // host
 *   struct kick_shared *s = guest_data();              // guest, e.g. a handler
 */
void *guest_data(void);

/*
 * Run one instruction and report the exception it raised instead of dying:
 * each returns NO_EXCEPTION or the vector. The handler sees fixup_rip set,
 * records the vector and resumes at the label after the instruction.
 */
#define GUEST_SAFE_PROLOGUE                                                    \
	"movq $1f, %%gs:" __stringify(GUEST_CPU_FIXUP_RIP) "\n\t"             \
	"movq $-1, %%gs:" __stringify(GUEST_CPU_FAULT_VECTOR) "\n\t"
#define GUEST_SAFE_EPILOGUE                                                    \
	"1: movq $0, %%gs:" __stringify(GUEST_CPU_FIXUP_RIP) "\n\t"           \
	"movq %%gs:" __stringify(GUEST_CPU_FAULT_VECTOR) ", %[vector]\n\t"
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

static inline int rdmsr_safe(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;
	int64_t vector;

	__asm__ volatile(GUEST_SAFE_PROLOGUE "rdmsr\n\t" GUEST_SAFE_EPILOGUE
			 : "+a"(lo), "+d"(hi), [vector] "=r"(vector)
			 : "c"(msr) : "memory");
	*value = lo | (uint64_t)hi << 32;
	return (int)vector;
}

static inline int wrmsr_safe(uint32_t msr, uint64_t value)
{
	int64_t vector;

	__asm__ volatile(GUEST_SAFE_PROLOGUE "wrmsr\n\t" GUEST_SAFE_EPILOGUE
			 : [vector] "=r"(vector)
			 : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
	return (int)vector;
}

/*
 * "sti; hlt" with the HLT at a known address. STI's interrupt shadow makes
 * the pair atomic: an interrupt pending at the STI is taken after the HLT
 * (waking it), never between the two. An interrupt taken between them would
 * leave the vCPU halted with its wakeup already handled: a lost wakeup that
 * hangs the test instead of failing it. Handlers of halting guests call
 * guest_irq_skips_shadowed_hlt(regs): when the interrupt was taken inside
 * the shadow it moves RIP past the HLT and returns true, so the guest counts
 * the violation (a failure, or a diagnostic on a host with the quirk, see
 * host.h) and goes on.
 */
void guest_sti_hlt(void);
bool guest_irq_skips_shadowed_hlt(struct ex_regs *regs);

/* Guest-side formatting (no libc in the guest). */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, __builtin_va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
