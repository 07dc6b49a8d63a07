/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest workloads whose exits a test counts, for KVM_CAP_X86_DISABLE_EXITS
 * (include/exit_control.h): the guest counts the instructions it executes,
 * the host reads the vCPU's binary statistics ("halt_exits", "exits")
 * before and after, and the two are compared.
 *
 * - HLT rounds: each HLT is woken by its own one-shot LAPIC timer, so a HLT
 *   that really runs in the guest cannot hang the test. A HLT that runs in
 *   the guest may also end without an interrupt (on SVM a host interrupt's
 *   #VMEXIT completes it): the guest halts again until its timer fires and
 *   counts HLT instructions and wakeups apart. A timer interrupt taken
 *   inside STI's shadow skips its HLT (guest_sti_hlt(), include/guest.h):
 *   counted, and reported as a host anomaly.
 *
 *     struct halt_rounds *s = halt_rounds_create(vm, 32, 200);
 *     struct vcpu *v = halt_rounds_add_vcpu(vm, 0, s);
 *     expect_hlt_in_guest(v, halt_round_run(v, s, "HLT disabled"), "HLT disabled");
 *
 * - PAUSE: equal-length spin loops with and without PAUSE, exits of each.
 * - MWAIT: MONITOR/MWAIT pairs that never sleep (a store to the armed line
 *   triggers the monitor), exits over them.
 * - MSRs: whether the guest's RDMSR of each listed MSR faults, read twice.
 *
 * Each measure_*() makes its own VM with the exits in `disabled` turned off
 * before its vCPU exists (vm_with_disabled_exits()); the *_add_vcpu() /
 * *_run() pairs measure one vCPU of the caller's VM again and again, for
 * settings that change while it lives (the proposed vCPU scope). Such a
 * vCPU's test_data belongs to its workload.
 */
#ifndef KVMTEST_EXIT_WORKLOADS_H
#define KVMTEST_EXIT_WORKLOADS_H

#include "exit_control.h"
#include "vm.h"

/* Generous bound for one guest message (a QEMU TCG VM is 10-50x slower). */
#define EXIT_WORKLOAD_MSG_NATIVE_MS 500
#define HALT_ROUNDS_MAX_VCPUS        8
#define HALT_ROUNDS_WAKE_VECTOR      0xe0

/* ---- HLT rounds ---- */

/* The guest's counts, one set per vCPU. */
struct halter {
	volatile uint64_t halts;        /* HLT instructions executed */
	volatile uint64_t wakes;        /* wakeups: HLT loops ended by their timer */
	volatile uint64_t interrupts;   /* wake-timer interrupts taken */
	volatile uint64_t in_shadow;    /* ... of them inside STI's shadow */
};

/* Shared with the guest (and its timer handler, through guest_data()). */
struct halt_rounds {
	uint64_t nr_halts;              /* wakeups per round */
	uint32_t wake_ticks;
	struct halter vcpu[HALT_ROUNDS_MAX_VCPUS];
};

/* One round's deltas. */
struct halt_round {
	uint64_t halts, wakes, interrupts, in_shadow;   /* guest's counts */
	uint64_t halt_exits, exits;     /* KVM's statistics */
};

/* The VM's shared data: rounds of nr_halts wakeups, each by a timer armed
 * wake_us microseconds ahead. VM-wide guest data: one per VM. */
struct halt_rounds *halt_rounds_create(struct vm *vm, uint64_t nr_halts, uint64_t wake_us);
/* A vCPU that runs rounds, stopping after each one (GUEST_SYNC). */
struct vcpu *halt_rounds_add_vcpu(struct vm *vm, uint32_t id, struct halt_rounds *s);
/* Run one round on the vCPU and return the deltas; fails unless the guest
 * saw every timer wakeup. phase names the round in diagnostics. */
struct halt_round halt_round_run(struct vcpu *vcpu, struct halt_rounds *s, const char *phase);
/* HLT intercepted: one halt exit per HLT, and no HLT ended without its
 * timer. HLT disabled: halt_exits did not move (a vendor module other than
 * kvm_intel/kvm_amd that still exits skips, see skip_if_vendor_deviates()). */
void expect_hlt_intercepted(struct vcpu *vcpu, struct halt_round d, const char *phase);
void expect_hlt_in_guest(struct vcpu *vcpu, struct halt_round d, const char *phase);

/* ---- PAUSE ---- */

struct spin_result {
	uint64_t plain_exits, pause_exits, pauses;
};

/* Two spin_ms loops, one plain and one of PAUSEs, in a VM with the exits
 * in disabled turned off; needs KVM_CAP_GET_TSC_KHZ. what names the VM. */
struct spin_result measure_pause_spin(uint64_t disabled, uint64_t spin_ms, const char *what);
/* The same on a vCPU of the caller's VM, as often as wanted. */
struct vcpu *pause_spin_add_vcpu(struct vm *vm, uint32_t id, uint64_t spin_ms);
struct spin_result pause_spin_run(struct vcpu *vcpu, const char *what);
/* Exits the PAUSE loop made beyond the plain loop's (0 if fewer). */
uint64_t pause_extra_exits(struct spin_result r);
/* A PAUSE loop exits at least this much more than a plain one before PAUSE
 * interception counts as observable. */
#define PAUSE_EXITS_OBSERVABLE 16
/* With PAUSE intercepted: skips unless the extra exits are observable
 * (naming the vendor's PAUSE-exiting parameters); returns them. */
uint64_t require_pause_exits_observable(struct spin_result r, uint64_t spin_ms, const char *what);
/* Intercepted again: at least PAUSE_EXITS_OBSERVABLE extra exits.
 * Disabled: fewer extra exits than a quarter of the intercepted_extra seen
 * with interception. */
void expect_pause_intercepted(struct spin_result r, const char *what);
void expect_pause_in_guest(struct spin_result r, uint64_t intercepted_extra, const char *what);

/* ---- MWAIT ---- */

/* VM exits over nr_mwaits MONITOR/MWAIT pairs (the guest's CPUID has
 * MWAIT, so an intercepted MWAIT is emulated as a NOP). */
uint64_t measure_mwait_exits(uint64_t disabled, uint64_t nr_mwaits, const char *what);
/* The same on a vCPU of the caller's VM, one round per call. */
struct vcpu *mwait_add_vcpu(struct vm *vm, uint32_t id, uint64_t nr_mwaits);
uint64_t mwait_round_run(struct vcpu *vcpu, const char *what);
/* Intercepted: MONITOR and MWAIT exit, two exits a pair at least.
 * Disabled: fewer exits than half the pairs (a vendor module other than
 * kvm_intel/kvm_amd that still exits skips, see skip_if_vendor_deviates()). */
void expect_mwait_intercepted(uint64_t exits, uint64_t nr_mwaits, const char *what);
void expect_mwait_in_guest(uint64_t exits, uint64_t nr_mwaits, const char *what);

/* ---- MSRs ---- */

#define MAX_PROBE_MSRS 4

struct msr_reads {
	uint32_t nr;
	uint32_t index[MAX_PROBE_MSRS];
	int32_t vector[MAX_PROBE_MSRS];         /* NO_EXCEPTION or the fault */
	uint64_t first[MAX_PROBE_MSRS], second[MAX_PROBE_MSRS];
};

/* RDMSR each of io->index[0..nr-1] twice in the guest; fills in the rest. */
void read_msrs_in_vm(uint64_t disabled, struct msr_reads *io);

#endif
