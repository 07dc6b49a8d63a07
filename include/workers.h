/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Worker vCPUs for tests that interrupt running guests from the host: each
 * worker either spins (progress counts loop iterations, checked against a
 * register copy) or halts with "sti; hlt" until an interrupt on
 * WORKER_WAKE_VECTOR (progress counts completed halts; a HLT that returns
 * without one fails the guest, or is counted where the host allows it).
 * Both exit to the host now and then with a sync message, and return once
 * the host sets finish.
 *
 *   struct workers_shared *s = vm_alloc(vm, sizeof(*s));     // irqchip VM
 *   vm_set_handler(vm, WORKER_WAKE_VECTOR, worker_wake);
 *   vm_set_guest_data(vm, s);
 *   s->w[i].halter = 1;                                     // before it runs
 *   vcpu_add(vm, i, worker_guest, s);                        // vCPU id = index
 *   ... vm_signal_msi(vm, i, WORKER_WAKE_VECTOR) wakes a halter ...
 */
#ifndef KVMTEST_WORKERS_H
#define KVMTEST_WORKERS_H

#include <stdint.h>

#include "guest.h"

#define WORKERS_MAX             16
#define WORKER_WAKE_VECTOR      0x50

struct worker {
	volatile uint64_t halter;       /* role: 1 halts waiting for wakeups, 0 spins */
	volatile uint64_t progress;     /* spinner: iterations; halter: completed halts */
	volatile uint64_t wakeups;      /* interrupts taken */
	volatile uint64_t halted;       /* 1 from just before HLT until it completes */
	volatile uint64_t stall;        /* stop making progress (negative controls) */
	volatile uint64_t in_shadow;    /* interrupts taken inside STI's shadow */
	volatile uint64_t causeless;    /* HLTs that returned with no interrupt taken,
					 * counted where causeless_allowed */
	uint64_t pad[1];                /* one cache line each */
};

struct workers_shared {
	volatile uint64_t finish;       /* every worker returns */
	/* A HLT that returns with no interrupt taken is counted, not failed
	 * in the guest: set where the host has that quirk (include/host.h,
	 * HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE), and the host then reports the
	 * count with expect_no_anomaly(). */
	volatile uint64_t causeless_allowed;
	struct worker w[WORKERS_MAX];   /* indexed by vCPU id */
};

/* Guest side: the vCPU's loop (arg: the struct workers_shared) and the
 * WORKER_WAKE_VECTOR handler (reaches it through guest_data()). */
void worker_guest(void *arg);
void worker_wake(struct ex_regs *regs);

#endif
