// SPDX-License-Identifier: GPL-2.0
/*
 * Guest workloads whose exits a test counts: timer-woken HLT rounds, PAUSE
 * and plain spin loops, MONITOR/MWAIT pairs, MSR reads. See
 * include/exit_workloads.h.
 */
#include <stdio.h>
#include <string.h>

#include "apic.h"
#include "cpuid.h"
#include "exit_workloads.h"
#include "host.h"
#include "stats.h"

/* KVM's LAPIC timer counts at 1 GHz with divide-by-1. */
#define APIC_TICKS_PER_US 1000

/* ---- HLT rounds ---- */

static void on_wake_timer(struct ex_regs *regs)
{
	struct halt_rounds *s = guest_data();
	struct halter *h = &s->vcpu[guest_vcpu_id()];

	h->interrupts++;
	if (guest_irq_skips_shadowed_hlt(regs))
		h->in_shadow++;
	apic_eoi();
}

/*
 * Rounds of nr_halts wakeups: each arms a one-shot LAPIC timer and halts
 * until that timer's interrupt arrives; GUEST_SYNC(round) after each round.
 * A HLT that runs in the guest may also end without an interrupt (on SVM a
 * host interrupt's #VMEXIT completes it), so the guest halts again until
 * its timer fires and counts HLT instructions and wakeups separately.
 */
static void guest_halt_rounds(void *arg)
{
	struct halt_rounds *s = arg;
	struct halter *h = &s->vcpu[guest_vcpu_id()];
	uint64_t round, i;

	xapic_enable();
	guest_set_handler(HALT_ROUNDS_WAKE_VECTOR, on_wake_timer);
	for (round = 0;; round++) {
		for (i = 0; i < s->nr_halts; i++) {
			uint64_t seen = h->interrupts;

			apic_timer_oneshot(HALT_ROUNDS_WAKE_VECTOR, s->wake_ticks);
			do {
				h->halts++;
				guest_sti_hlt();
				cli();
			} while (h->interrupts == seen);
			h->wakes++;
		}
		GUEST_SYNC(round);
	}
}

struct halt_rounds *halt_rounds_create(struct vm *vm, uint64_t nr_halts, uint64_t wake_us)
{
	struct halt_rounds *s = vm_alloc(vm, sizeof(*s));

	s->nr_halts = nr_halts;
	s->wake_ticks = wake_us * APIC_TICKS_PER_US;
	vm_set_guest_data(vm, s);      /* for the wake-timer handler */
	return s;
}

struct vcpu *halt_rounds_add_vcpu(struct vm *vm, uint32_t id, struct halt_rounds *s)
{
	struct vcpu *vcpu;

	TEST_ASSERT(id < HALT_ROUNDS_MAX_VCPUS, "vCPU %u: halt rounds count for vCPUs 0-%d",
		    id, HALT_ROUNDS_MAX_VCPUS - 1);
	vcpu = vcpu_add(vm, id, guest_halt_rounds, s);
	vcpu_set_msg_timeout(vcpu, host_limit_ms(EXIT_WORKLOAD_MSG_NATIVE_MS));
	return vcpu;
}

/* Run one round of HLTs on this vCPU and return the deltas. */
struct halt_round halt_round_run(struct vcpu *vcpu, struct halt_rounds *s, const char *phase)
{
	struct halter *h = &s->vcpu[vcpu->id];
	struct halt_round b = { h->halts, h->wakes, h->interrupts, h->in_shadow,
				vcpu_stat(vcpu, "halt_exits"), vcpu_stat(vcpu, "exits") };
	struct halt_round d;

	test_progress("vCPU %u: round of %" PRIu64 " HLTs (%s)", vcpu->id, s->nr_halts, phase);
	vcpu_expect_sync(vcpu);
	d.halts = h->halts - b.halts;
	d.wakes = h->wakes - b.wakes;
	d.interrupts = h->interrupts - b.interrupts;
	d.in_shadow = h->in_shadow - b.in_shadow;
	d.halt_exits = vcpu_stat(vcpu, "halt_exits") - b.halt_exits;
	d.exits = vcpu_stat(vcpu, "exits") - b.exits;
	test_diag("vCPU %u, %s: %" PRIu64 " HLTs, %" PRIu64 " timer wakeups (%" PRIu64
		  " HLTs ended without one); halt_exits +%" PRIu64 ", exits +%" PRIu64, vcpu->id, phase,
		  d.halts, d.wakes, d.halts - d.wakes, d.halt_exits, d.exits);
	/* One one-shot timer, one interrupt. A surplus is a delivery bug
	 * somewhere below the guest, but not the subject here: reported. */
	if (d.interrupts != d.wakes)
		test_diag("vCPU %u, %s: %" PRIu64 " wake-timer interrupts for %" PRIu64 " one-shot "
			  "timers (%s)", vcpu->id, phase, d.interrupts, d.wakes,
			  host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE)
				  ? host_quirk_note(HOST_QUIRK_IRQ_DELIVERED_TWICE)
				  : "an interrupt delivered twice: not this test's subject, see pi/wakeup");
	/* Such a HLT was skipped (it would have waited forever): counted by
	 * the guest, never executed, and its wake came in the shadow. From
	 * here d.halts counts the HLTs that really ran. */
	expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, d.in_shadow, "vCPU %u (%s): timer "
			  "interrupts taken between STI and HLT, inside STI's interrupt shadow "
			  "('sti; hlt' not atomic: each such wakeup is lost)", vcpu->id, phase);
	d.halts -= d.in_shadow;
	TEST_ASSERT(d.wakes == s->nr_halts && d.halts + d.in_shadow >= d.wakes,
		    "vCPU %u (%s): expected %" PRIu64 " timer wakeups from at least as many HLTs, "
		    "the guest counted %" PRIu64 " wakeups and %" PRIu64 " HLTs (%" PRIu64 " more "
		    "skipped inside STI's shadow)", vcpu->id, phase, s->nr_halts, d.wakes, d.halts,
		    d.in_shadow);
	return d;
}

void expect_hlt_intercepted(struct vcpu *vcpu, struct halt_round d, const char *phase)
{
	/* A HLT skipped inside STI's shadow (halt_round_run()) had its wake
	 * there: every HLT that ran must account for the other wakes. */
	TEST_ASSERT(d.halts + d.in_shadow == d.wakes,
		    "vCPU %u (%s): KVM emulates an intercepted HLT and ends it only for a wake "
		    "event, yet %" PRIu64 " of %" PRIu64 " HLTs ended without the timer interrupt",
		    vcpu->id, phase, d.halts + d.in_shadow - d.wakes, d.halts);
	TEST_ASSERT(d.halt_exits == d.halts,
		    "vCPU %u (%s): HLT exits are intercepted, so halt_exits should grow by one per "
		    "HLT (%" PRIu64 "); it grew by %" PRIu64, vcpu->id, phase, d.halts, d.halt_exits);
}

void expect_hlt_in_guest(struct vcpu *vcpu, struct halt_round d, const char *phase)
{
	if (d.halt_exits && !test_negative_control_active)
		skip_if_vendor_deviates("KVM_CHECK_EXTENSION offers disabling HLT exits and "
				 "KVM_ENABLE_CAP accepts it, but %" PRIu64 " HLTs still made %"
				 PRIu64 " halt exits", d.halts, d.halt_exits);
	TEST_ASSERT(d.halt_exits == 0,
		    "vCPU %u (%s): HLT exits are disabled, so halt_exits should not move over %"
		    PRIu64 " HLTs; it grew by %" PRIu64, vcpu->id, phase, d.halts, d.halt_exits);
}

/* ---- PAUSE: spin loops of equal length with and without PAUSE ---- */

/* Check the TSC every this many loop iterations (PAUSEs stay back to back,
 * well inside a PAUSE-loop-exiting gap). */
#define SPIN_BATCH 64

struct spin_shared {
	uint64_t spin_tsc;              /* loop length in TSC cycles */
	volatile bool use_pause;
};

static void guest_spin(void *arg)
{
	struct spin_shared *s = arg;

	for (;;) {
		uint64_t end, iterations = 0;
		int i;

		GUEST_SYNC(0);          /* host reads the statistics here */
		end = rdtsc() + s->spin_tsc;
		while (rdtsc() < end) {
			if (s->use_pause)
				for (i = 0; i < SPIN_BATCH; i++)
					__asm__ volatile("pause" ::: "memory");
			else
				for (i = 0; i < SPIN_BATCH; i++)
					__asm__ volatile("" ::: "memory");
			iterations += SPIN_BATCH;
		}
		GUEST_SYNC(iterations);
	}
}

static uint64_t spin_round(struct vcpu *vcpu, struct spin_shared *s, bool use_pause,
			   uint64_t *iterations)
{
	uint64_t before;

	s->use_pause = use_pause;
	vcpu_expect_sync(vcpu);
	before = vcpu_stat(vcpu, "exits");
	*iterations = vcpu_sync(vcpu);
	return vcpu_stat(vcpu, "exits") - before;
}

/* The spin loops' data lives in guest memory; one vCPU runs them. */
struct vcpu *pause_spin_add_vcpu(struct vm *vm, uint32_t id, uint64_t spin_ms)
{
	struct spin_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, id, guest_spin, s);

	vcpu_set_msg_timeout(vcpu, host_limit_ms(EXIT_WORKLOAD_MSG_NATIVE_MS) + spin_ms);
	s->spin_tsc = (uint64_t)vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0) * spin_ms;
	vcpu->test_data = s;
	return vcpu;
}

struct spin_result pause_spin_run(struct vcpu *vcpu, const char *what)
{
	struct spin_shared *s = vcpu->test_data;
	struct spin_result r;
	uint64_t plain_iters;

	r.plain_exits = spin_round(vcpu, s, false, &plain_iters);
	r.pause_exits = spin_round(vcpu, s, true, &r.pauses);
	test_diag("%s: plain loop exits +%" PRIu64 " (%" PRIu64 " iterations), PAUSE loop exits +%"
		  PRIu64 " (%" PRIu64 " PAUSEs)", what, r.plain_exits, plain_iters, r.pause_exits,
		  r.pauses);
	return r;
}

struct spin_result measure_pause_spin(uint64_t disabled, uint64_t spin_ms, const char *what)
{
	struct vm *vm = vm_with_disabled_exits(disabled);
	struct spin_result r = pause_spin_run(pause_spin_add_vcpu(vm, 0, spin_ms), what);

	vm_destroy(vm);
	return r;
}

uint64_t pause_extra_exits(struct spin_result r)
{
	return r.pause_exits > r.plain_exits ? r.pause_exits - r.plain_exits : 0;
}

uint64_t require_pause_exits_observable(struct spin_result r, uint64_t spin_ms, const char *what)
{
	uint64_t extra = pause_extra_exits(r);

	TEST_REQUIRE(extra >= PAUSE_EXITS_OBSERVABLE,
		     "PAUSE interception is not observable on this host: %s, a %" PRIu64 " ms PAUSE "
		     "loop caused %" PRIu64 " exits vs %" PRIu64 " for a plain loop (%s)", what,
		     spin_ms, r.pause_exits, r.plain_exits, pause_exiting_params());
	return extra;
}

void expect_pause_intercepted(struct spin_result r, const char *what)
{
	TEST_ASSERT(pause_extra_exits(r) >= PAUSE_EXITS_OBSERVABLE,
		    "%s: PAUSE is intercepted: expected at least %d extra exits for the PAUSE loop, "
		    "got %" PRIu64 " (%" PRIu64 " vs %" PRIu64 ")", what, PAUSE_EXITS_OBSERVABLE,
		    pause_extra_exits(r), r.pause_exits, r.plain_exits);
}

void expect_pause_in_guest(struct spin_result r, uint64_t intercepted_extra, const char *what)
{
	TEST_ASSERT(pause_extra_exits(r) < intercepted_extra / 4,
		    "%s: PAUSE exits are disabled, so a PAUSE loop should exit about as often as a "
		    "plain loop: expected fewer than %" PRIu64 " extra exits (a quarter of the %" PRIu64
		    " seen with interception), got %" PRIu64 " (%" PRIu64 " vs %" PRIu64 ")", what,
		    intercepted_extra / 4, intercepted_extra, pause_extra_exits(r), r.pause_exits,
		    r.plain_exits);
}

/* ---- MWAIT: MONITOR/MWAIT pairs that never sleep ---- */

struct mwait_shared {
	uint64_t nr_mwaits;
	volatile uint64_t line[8];      /* the monitored cache line */
};

static void guest_mwait(void *arg)
{
	struct mwait_shared *s = arg;
	uint64_t i;

	for (;;) {
		GUEST_SYNC(0);          /* host reads the statistics here */
		for (i = 0; i < s->nr_mwaits; i++) {
			__asm__ volatile("monitor" :: "a"(s->line), "c"(0), "d"(0) : "memory");
			/* A store to the armed line triggers the monitor, so
			 * MWAIT returns at once; interrupts (IF=0 here, but
			 * host interrupts still end a guest MWAIT) are the
			 * backstop. */
			s->line[0]++;
			__asm__ volatile("mwait" :: "a"(0), "c"(0) : "memory");
		}
		GUEST_SYNC(i);
	}
}

struct vcpu *mwait_add_vcpu(struct vm *vm, uint32_t id, uint64_t nr_mwaits)
{
	struct mwait_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, id, guest_mwait, s);

	/* Where MWAIT is intercepted, KVM emulates it as a NOP only if the
	 * guest's CPUID has it (or the MWAIT_NEVER_UD_FAULTS quirk is on). */
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_MWAIT);
	vcpu_set_msg_timeout(vcpu, host_limit_ms(EXIT_WORKLOAD_MSG_NATIVE_MS));
	s->nr_mwaits = nr_mwaits;
	vcpu->test_data = s;
	return vcpu;
}

uint64_t mwait_round_run(struct vcpu *vcpu, const char *what)
{
	struct mwait_shared *s = vcpu->test_data;
	uint64_t before, exits, done;

	vcpu_expect_sync(vcpu);
	before = vcpu_stat(vcpu, "exits");
	done = vcpu_sync(vcpu);
	exits = vcpu_stat(vcpu, "exits") - before;
	test_diag("%s: %" PRIu64 " MONITOR/MWAIT pairs, exits +%" PRIu64, what, done, exits);
	TEST_ASSERT_EQ(done, s->nr_mwaits);
	return exits;
}

uint64_t measure_mwait_exits(uint64_t disabled, uint64_t nr_mwaits, const char *what)
{
	struct vm *vm = vm_with_disabled_exits(disabled);
	uint64_t exits = mwait_round_run(mwait_add_vcpu(vm, 0, nr_mwaits), what);

	vm_destroy(vm);
	return exits;
}

void expect_mwait_intercepted(uint64_t exits, uint64_t nr_mwaits, const char *what)
{
	TEST_ASSERT(exits >= 2 * nr_mwaits,
		    "%s: MONITOR and MWAIT are intercepted: expected at least %" PRIu64 " exits for %"
		    PRIu64 " pairs, got %" PRIu64, what, 2 * nr_mwaits, nr_mwaits, exits);
}

void expect_mwait_in_guest(uint64_t exits, uint64_t nr_mwaits, const char *what)
{
	if (exits >= nr_mwaits / 2 && !test_negative_control_active)
		skip_if_vendor_deviates("MWAIT exits disabled, yet %" PRIu64 " MONITOR/MWAIT pairs made %"
					PRIu64 " exits", nr_mwaits, exits);
	TEST_ASSERT(exits < nr_mwaits / 2,
		    "%s: MWAIT exits are disabled: expected far fewer exits than the %" PRIu64
		    " MONITOR/MWAIT pairs (under %" PRIu64 "), got %" PRIu64, what, nr_mwaits,
		    nr_mwaits / 2, exits);
}

/* ---- MSRs that stop being intercepted ---- */

static void guest_read_msrs(void *arg)
{
	struct msr_reads *s = arg;
	uint32_t i;

	for (i = 0; i < s->nr; i++) {
		s->vector[i] = rdmsr_safe(s->index[i], &s->first[i]);
		if (s->vector[i] == NO_EXCEPTION)
			rdmsr_safe(s->index[i], &s->second[i]);
	}
}

void read_msrs_in_vm(uint64_t disabled, struct msr_reads *io)
{
	struct vm *vm = vm_with_disabled_exits(disabled);
	struct msr_reads *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_read_msrs, s);
	uint32_t i;

	memcpy(s, io, sizeof(*s));
	vcpu_set_msg_timeout(vcpu, host_limit_ms(EXIT_WORKLOAD_MSG_NATIVE_MS));
	vcpu_expect_done(vcpu);
	memcpy(io, s, sizeof(*s));
	for (i = 0; i < s->nr; i++)
		test_diag("exits disabled: %s: RDMSR 0x%x -> %s (0x%" PRIx64 ", then 0x%" PRIx64 ")",
			  disable_exits_names(disabled), s->index[i],
			  s->vector[i] == NO_EXCEPTION ? "no fault" : exception_name(s->vector[i]),
			  s->first[i], s->second[i]);
	vm_destroy(vm);
}
