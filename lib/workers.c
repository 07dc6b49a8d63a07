// SPDX-License-Identifier: GPL-2.0
/* Spinning and halting worker vCPUs. See include/workers.h. */
#include "apic.h"
#include "guest.h"
#include "workers.h"
#include "x86.h"

#define SPIN_SYNC_EVERY         (1u << 16)      /* spinner: a normal exit now and then */
#define HALT_SYNC_EVERY         8               /* halter: a normal exit every 8 wakeups */

void worker_wake(struct ex_regs *regs)
{
	struct workers_shared *s = guest_data();
	struct worker *w = &s->w[guest_vcpu_id()];

	w->wakeups++;
	if (guest_irq_skips_shadowed_hlt(regs))
		w->in_shadow++;
	apic_eoi();
}

void worker_guest(void *arg)
{
	struct workers_shared *s = arg;
	struct worker *w = &s->w[guest_vcpu_id()];
	uint64_t local = 0;

	xapic_enable();
	while (!s->finish) {
		if (w->stall) {
			cpu_relax();
			continue;
		}
		if (w->halter) {
			uint64_t seen = w->wakeups;

			w->halted = 1;
			guest_sti_hlt();
			cli();
			w->halted = 0;
			if (w->wakeups == seen && s->causeless_allowed)
				w->causeless++;
			else
				GUEST_ASSERT_MSG(w->wakeups != seen, "vCPU %u: HLT completed without "
						 "an interrupt (woken by a kick?)", guest_vcpu_id());
			w->progress++;
			if (!(w->progress % HALT_SYNC_EVERY))
				GUEST_SYNC(w->progress);
		} else {
			GUEST_ASSERT_MSG(w->progress == local, "vCPU %u: progress %llu in memory, "
					 "%llu in a register: state changed across a kick",
					 guest_vcpu_id(), (unsigned long long)w->progress,
					 (unsigned long long)local);
			w->progress = ++local;
			if (!(local % SPIN_SYNC_EVERY))
				GUEST_SYNC(local);
		}
	}
}
