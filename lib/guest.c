// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of the library: messages to the host, failures, exception and
 * interrupt dispatch. Runs inside the guest only.
 */
#include <stdarg.h>

#include "guest.h"

/* The guest's copy of this table is the one that counts (see guest.h). */
guest_handler_t guest_vector_handlers[NR_VECTORS];
/* Likewise: vm_set_guest_data() writes the guest's copy; the host's stays NULL. */
void *guest_data_of_vm;

static inline void outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" :: "a"(value), "Nd"(port) : "memory");
}

void guest_send_msg(uint32_t type, const char *file, uint32_t line,
		    const uint64_t *args, uint32_t nargs)
{
	struct guest_msg *msg = this_cpu()->msg;
	uint32_t i;

	msg->type = type;
	msg->file = file;
	msg->line = line;
	msg->nargs = nargs;
	for (i = 0; i < nargs && i < GUEST_MSG_MAX_ARGS; i++)
		msg->args[i] = args[i];
	outb(GUEST_MSG_PORT, 0);
}

void guest_printf(const char *fmt, ...)
{
	struct guest_msg *msg = this_cpu()->msg;
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
	va_end(ap);
	guest_send_msg(GUEST_MSG_PRINT, __FILE__, __LINE__, NULL, 0);
}

void __guest_fail(const char *file, uint32_t line, const char *fmt, ...)
{
	struct guest_msg *msg = this_cpu()->msg;
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
	va_end(ap);
	for (;;)        /* the host ends the test; never resume past a failure */
		guest_send_msg(GUEST_MSG_FAIL, file, line, NULL, 0);
}

void guest_function_returned(void)
{
	for (;;) {
		guest_send_msg(GUEST_MSG_DONE, __FILE__, __LINE__, NULL, 0);
		__guest_fail(__FILE__, __LINE__, "vCPU resumed after its guest function returned");
	}
}

void *guest_data(void)
{
	GUEST_ASSERT_MSG(guest_data_of_vm, "guest_data() read before the host called "
			 "vm_set_guest_data() for this VM");
	return guest_data_of_vm;
}

void guest_set_handler(int vector, guest_handler_t handler)
{
	guest_vector_handlers[vector] = handler;
}

const char *exception_name(int vector)
{
	static const char *const names[NR_EXCEPTION_VECTORS] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9",
		"#TS", "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM",
		"#VE", "#CP", "vector 22", "vector 23", "vector 24", "vector 25", "vector 26",
		"vector 27", "#HV", "#VC", "#SX", "vector 31",
	};

	if (vector >= 0 && vector < NR_EXCEPTION_VECTORS)
		return names[vector];
	return "interrupt";
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

void guest_exception_dispatch(struct ex_regs *regs)
{
	struct guest_cpu *cpu = this_cpu();
	guest_handler_t handler;

	/* An instruction run through rdmsr_safe() and friends. */
	if (cpu->fixup_rip && regs->vector < NR_EXCEPTION_VECTORS) {
		cpu->fault_vector = regs->vector;
		cpu->fault_error_code = regs->error_code;
		regs->rip = cpu->fixup_rip;
		cpu->fixup_rip = 0;
		return;
	}
	handler = guest_vector_handlers[regs->vector];
	if (handler) {
		handler(regs);
		return;
	}
	if (regs->vector == PF_VECTOR)
		__guest_fail(__FILE__, __LINE__,
			     "unexpected #PF (vector 14), error code 0x%llx, at rip 0x%llx, cr2 0x%llx",
			     (unsigned long long)regs->error_code, (unsigned long long)regs->rip,
			     (unsigned long long)read_cr2());
	__guest_fail(__FILE__, __LINE__,
		     "unexpected %s (vector %llu), error code 0x%llx, at rip 0x%llx",
		     exception_name(regs->vector), (unsigned long long)regs->vector,
		     (unsigned long long)regs->error_code, (unsigned long long)regs->rip);
}

extern const char guest_sti_hlt_insn[];

__attribute__((noinline, noclone)) void guest_sti_hlt(void)
{
	__asm__ volatile("sti\n\t"
			 ".global guest_sti_hlt_insn\n"
			 "guest_sti_hlt_insn: hlt" ::: "memory");
}

bool guest_irq_skips_shadowed_hlt(struct ex_regs *regs)
{
	if (regs->rip != (uint64_t)guest_sti_hlt_insn)
		return false;
	regs->rip++;    /* HLT is one byte */
	return true;
}
