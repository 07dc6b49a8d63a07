/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How KVM halts and wakes a vCPU, as a test sets it up and observes it:
 * the halt-polling window (KVM_CAP_HALT_POLL), KVM's halt statistics
 * (binary stats halt_exits, halt_successful_poll, ...), whether this host
 * may skip HLT exits, and which wakeup path this host's KVM uses for a
 * blocked vCPU.
 *
 *   vm_set_halt_poll(vm, HALT_POLL_OFF, 0);           // diagnostic names it
 *   halt_stats_read(vcpu, &before);
 *   ... the guest halts ...
 *   halt_stats_since(vcpu, &before, &delta);          // delta.exits: HLT exits
 */
#ifndef KVMTEST_HALT_H
#define KVMTEST_HALT_H

#include "vm.h"

enum halt_poll_setting {
	HALT_POLL_HOST_DEFAULT,         /* kvm.halt_poll_ns, untouched */
	HALT_POLL_OFF,                  /* KVM_CAP_HALT_POLL = 0 */
	HALT_POLL_WINDOW,               /* KVM_CAP_HALT_POLL = window_ns */
};

/* Sets the VM's halt-polling (skipping the case without KVM_CAP_HALT_POLL)
 * and says in a diagnostic what it is. */
void vm_set_halt_poll(struct vm *vm, enum halt_poll_setting setting, uint64_t window_ns);

/* KVM's per-vCPU halt statistics (and interrupt injections). */
struct halt_stats {
	uint64_t exits;                 /* halt_exits: HLTs KVM emulated */
	uint64_t poll_ok;               /* halt_successful_poll */
	uint64_t poll_tried;            /* halt_attempted_poll */
	uint64_t poll_invalid;          /* halt_poll_invalid */
	uint64_t wakeup;                /* halt_wakeup */
	uint64_t injections;            /* irq_injections */
};

void halt_stats_read(struct vcpu *vcpu, struct halt_stats *st);
/* What grew since *before. */
void halt_stats_since(struct vcpu *vcpu, const struct halt_stats *before,
		      struct halt_stats *delta);

/* AMD's Idle HLT intercept skips the HLT exit when an interrupt is already
 * pending: on such a host halt_exits may stay below the guest's HLTs. */
bool host_may_skip_hlt_exits(void);

/* One sentence: how this host's KVM wakes a blocked vCPU (posted-interrupt
 * wakeup vector, AVIC, or the generic kick), with the module parameters. */
const char *kvm_wakeup_path(char *buf, size_t len);

/*
 * Whether KVM itself ends blocked halts of this VM now and then: without a
 * master clock (KVM_GET_CLOCK lacks KVM_CLOCK_TSC_STABLE, e.g. when the
 * host's clocksource is not the TSC), a vCPU loaded on another CPU (or any
 * load while the host TSC is unstable) makes KVM update every vCPU's
 * kvmclock and kick each one. On 6.1 and 6.12 the kicks come from a work
 * item 100 ms later; where the host TSC is unstable every load asks for
 * one, so each kicked vCPU that runs again schedules the next and the kicks
 * go on while every vCPU is blocked (seen with Debian's 6.1 under QEMU TCG,
 * clocksource hpet). On 7.2 they come at once from the loading vCPU (at
 * most 10 per second), so only while some vCPU of the VM runs and moves. Such a kick also wakes a vCPU whose own
 * wakeup KVM lost, which then shows as a delay, not as a lost wakeup. On
 * such a host, says so in a diagnostic and returns true. Ask after the
 * vCPUs have run: KVM turns the master clock on when a vCPU enters after
 * they were all created with matching TSCs, so before that it is off
 * everywhere.
 */
bool vm_clock_updates_kick_vcpus(struct vm *vm);

#endif
