/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lost-wakeup monitor: a host thread that watches streams of wake
 * events to halting vCPUs and fails the test as soon as one has been
 * pending for longer than a bound without progress on that vCPU.
 *
 * A channel is one stream of wake events to one vCPU with at most one in
 * flight: the sender increments *sent before it sends, the guest's handler
 * increments *handled; handled <= sent always, equal when idle. The guest
 * also counts its HLTs (*halts) and the HLTs that returned (*wakes), so the
 * report can say whether the vCPU was halted and since when.
 *
 * The report names the vCPU and the event (the channel's describe()), what
 * KVM's "blocking" statistic says, where the host thread is, and where it
 * was moved from and to, and when, relative to the send (from the
 * migrator, migrate.h), or that it shares its CPU with a competitor, and
 * how many rounds that competitor ran while the event was pending.
 *
 * The bound counts only time the monitor watched: when its own scans stop
 * for a quarter of the bound or more (the whole process or VM was not run:
 * its host stopped it, say), it restarts the clock of every pending event,
 * since the threads that would handle them stopped with it and may not
 * have had their turn yet when it runs again. A wakeup that is really lost
 * stays pending and is reported one bound of watching later; the pauses
 * are counted in a diagnostic when the monitor stops.
 *
 * Nor does it blame KVM for time in which a CPU the event needs ran
 * nothing. Where a vCPU is pinned with a competitor, the competitor's rounds
 * show whether its CPU ran: when the last one ended less than the bound
 * after the event was first seen pending, the CPU stalled (neither KVM's
 * timers nor its wakeups could run there). Where a migrator moves the
 * threads, its own sleeps between moves show it: a migrator overdue by half
 * the bound slept on a CPU that ran nothing, and nothing moved the threads
 * meanwhile (a vCPU timer left on that CPU waits with it). Where the
 * platform is known to stall its CPUs
 * (include/host.h, HOST_QUIRK_CPU_STALL) the event's clock starts again and
 * a diagnostic names the quirk when the monitor stops; anywhere else the
 * test fails with "a stalled CPU, not a wakeup KVM lost".
 *
 *   struct wake_channel ch[] = { { .sent = &h->sent, .handled = &h->handled,
 *           .halts = &h->halts, .wakes = &h->wakes, .vcpu = vcpu,
 *           .describe = describe_wake, .ctx = h } };
 *   m = wake_monitor_start(ch, 1, &(struct wake_monitor_opts){
 *           .bound_ms = 3000, .period_us = 1000, .migrator = migrator });
 *   ...
 *   wake_monitor_stop(m);
 */
#ifndef KVMTEST_WAKE_MONITOR_H
#define KVMTEST_WAKE_MONITOR_H

#include "migrate.h"
#include "vm.h"

#define WAKE_MONITOR_MAX_CHANNELS 64
#define WAKE_MONITOR_MAX_COMPETITORS 8

struct wake_channel {
	volatile uint64_t *sent, *handled;      /* wake events sent to the vCPU, handled */
	volatile uint64_t *halts, *wakes;       /* its guest's HLTs, and those that returned */
	struct vcpu *vcpu;                      /* the receiving vCPU */
	/* The pending event, for the report ("IPI (physical) #12"). */
	void (*describe)(const struct wake_channel *c, char *buf, size_t len);
	const void *ctx;                        /* the test's, for describe() */
};

struct wake_monitor_opts {
	uint64_t bound_ms;              /* pending this long without progress: lost */
	uint64_t period_us;             /* between scans */
	struct migrator *migrator;      /* moves the vCPU threads, or NULL */
	/* The competitors the vCPU threads are pinned with (competitors_start();
	 * NULLs skipped), or none: the report says whether the one on the
	 * vCPU thread's CPU kept running while the event was pending. */
	struct competitor *const *competitors;
	unsigned int nr_competitors;    /* at most WAKE_MONITOR_MAX_COMPETITORS */
};

struct wake_monitor;
/* The channels are copied; the counters they point to must outlive the
 * monitor. */
struct wake_monitor *wake_monitor_start(const struct wake_channel *ch, unsigned int n,
					const struct wake_monitor_opts *opts);
/* How often the clocks of pending events started again so far (pauses of
 * the monitor, stalled CPUs): a caller's own bound on the same events
 * should start again too. */
unsigned int wake_monitor_restarts(struct wake_monitor *m);
/* Stop and join. */
void wake_monitor_stop(struct wake_monitor *m);

#endif
