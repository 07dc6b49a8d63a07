/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wake-up scenarios: halting vCPUs, the interrupts that must wake them, and
 * the host activity around them, run to a verdict. The engine behind
 * pi/wakeup; a test describes each case as a struct wake_scenario.
 *
 * Halter vCPUs loop on "sti; hlt" (or halt with IF=0 and wait for an NMI);
 * each wake comes from one path: IPIs from a sender vCPU (which itself
 * halts until each halter acknowledges with an IPI of its own vector),
 * MSIs from a host thread (KVM_SIGNAL_MSI or irqfd), or the halter's own
 * LAPIC timer. Only one interrupt is in flight per halter, sent after the
 * previous one was handled, so none can merge and none can wake a halt
 * meant for another. Around them the host migrates the vCPU threads
 * (lib/migrate.c: migrator), makes competitors preempt them, sets the
 * halt-polling window, and signals them out of KVM_RUN only where the
 * scenario says so (a signal ends a halt by itself).
 *
 * Checked: a lost wakeup (lib/wake_monitor.c: an interrupt pending longer
 * than lost_wakeup_ms with no progress), every interrupt handled once per
 * path, HLTs that return without a cause, interrupts inside STI's shadow
 * and duplicates (diagnostics only where the host profile lists them as
 * quirks), KVM's halt statistics against the guest's HLT count, that KVM
 * woke blocked vCPUs at all (halt_wakeup) unless the scenario is about
 * polling, and with require_posted that IPIs did not trap.
 *
 *   static const struct wake_options opts = { .default_seconds = 4, ... };
 *   wake_scenario_run(&(struct wake_scenario){ .mode = HALT_FOR_SENDER,
 *           .guest_paths = PATH_BIT(PATH_IPI_PHYSICAL), .migrate = true }, &opts);
 *
 * The negative controls (test_opts.negative_control) are the engine's:
 * enum wake_negative_control says what each one breaks.
 */
#ifndef KVMTEST_WAKE_SCENARIO_H
#define KVMTEST_WAKE_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "halt.h"

#define WAKE_MAX_HALTERS   4

/* One vector per wake path: the handler knows what woke it. */
enum wake_path {
	PATH_IPI_PHYSICAL,
	PATH_IPI_LOGICAL,
	PATH_MSI,
	PATH_IRQFD,
	PATH_TIMER_ONESHOT,
	PATH_TIMER_TSC_DEADLINE,
	PATH_NMI,
	PATH_ACK,               /* halter -> sender acknowledgement IPI */
	NR_PATHS
};
#define PATH_BIT(p)        (1u << (p))

enum halter_mode {
	HALT_FOR_SENDER,        /* "sti; hlt" until the sender's IPI or a host MSI */
	HALT_ON_TIMER,          /* arm the own LAPIC timer, then "sti; hlt" */
	HALT_WITH_IF0,          /* HLT with IF=0: a fixed IPI stays pending, an NMI wakes */
};

struct wake_scenario {
	enum halter_mode mode;
	uint32_t guest_paths;           /* IPIs from the sender vCPU (PATH_BIT()s) */
	uint32_t host_paths;            /* MSIs from a host thread */
	uint32_t timer_paths;
	bool x2apic;
	bool migrate;                   /* move the vCPU threads between CPUs */
	bool compete;                   /* pin the halters, each with a competitor */
	enum halt_poll_setting poll;    /* HALT_POLL_WINDOW: a 5 ms window */
	/* The migrator also signals the threads out of KVM_RUN. A signal ends
	 * a halt too, so only a case about signal exits has them. */
	bool signal_exits;
	bool require_posted;            /* IPIs must not trap (IPI virtualization) */
};

/* The test's options and defaults (--duration / --iterations override the
 * defaults; a case stops at whichever comes first). */
struct wake_options {
	uint64_t default_seconds;
	uint64_t default_wakeups;
	uint64_t migrate_interval_us;   /* mean time between thread migrations */
	uint64_t lost_wakeup_ms;        /* an interrupt pending this long is lost */
	uint64_t max_delay_us;          /* longest random delay before a send */
	uint64_t halters;               /* halting vCPUs, 1..WAKE_MAX_HALTERS */
	uint64_t kick_percent;          /* signal_exits: migrations that also signal */
};

/* What --negative-control N breaks (each must make its check fire). */
enum wake_negative_control {
	WAKE_NC_NONE,
	WAKE_NC_FORGET_SEND,            /* 1: one send (or timer) forgotten: lost wakeup */
	WAKE_NC_IF1_HALT,               /* 2: the IF=0 halter halts with IF=1 */
	WAKE_NC_UNCOUNTED_WAKE,         /* 3: one wake not accounted: wake without cause */
	WAKE_NC_MISCOUNT_HALT,          /* 4: the guest miscounts its HLTs by one */
	WAKE_NC_SECOND_VECTOR,          /* 5: a second fixed vector while IF=0 */
	WAKE_NC_PENDING_BEFORE_HLT,     /* 6: every interrupt pending before HLT */
};

/* Runs the scenario to its verdict (fails or skips the case from inside). */
void wake_scenario_run(const struct wake_scenario *sc, const struct wake_options *opts);

#endif
