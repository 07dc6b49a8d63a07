// SPDX-License-Identifier: GPL-2.0
/*
 * A blocked vCPU is always woken, wherever its thread runs.
 *
 * Guards the wakeup of halted vCPUs (HLT with interrupts enabled) against
 * lost wakeups when the vCPU's host thread is migrated between CPUs and NUMA
 * nodes, or preempted, at arbitrary moments: around KVM's block/unblock,
 * vcpu_put/vcpu_load, halt-polling and the timer migration on load.
 * Seed: "KVM: VMX: Handle PI wakeup shenanigans during vcpu_put/load"
 * (d76fb40637fc, 5.17), which moved the posted-interrupt wakeup handling of
 * a blocking vCPU into vcpu_put/vcpu_load (wakeup vector on the CPU it left,
 * descriptor retargeted on load, self-IPI for an IRQ posted in the window),
 * and the fixes around it (lost wakeup for irqfd when target == current
 * vCPU, no unblock with IRQs disabled, raw spinlock, SN on every put).
 *
 * The scenarios below run on lib/wake_scenario.c (include/wake_scenario.h).
 * Halter vCPUs loop on "sti; hlt" while interrupts come from a sender vCPU
 * (xAPIC/x2APIC IPIs, physical and logical; the sender itself halts until
 * each halter acknowledges with an IPI), from the host (KVM_SIGNAL_MSI,
 * irqfd) or from their own LAPIC timer; host threads move the vCPU threads
 * between CPUs and nodes (including while blocked) or compete for their
 * CPU. Every interrupt is sent only after the previous one to that vCPU was
 * handled, so none can merge. A host monitor fails the case as soon as an
 * interrupt has been pending for longer than --lost-wakeup-ms without
 * progress on that vCPU.
 *
 * What else could end a halt, and why it cannot stand in for the path a
 * case names (each case's wake must come from the interrupt's own kick of
 * the blocked vCPU, kvm_vcpu_kick() -> kvm_vcpu_wake_up()):
 * - Signals into KVM_RUN end a halt by themselves: only ipi_signal_exits
 *   sends them, and it claims nothing about the wakeup path.
 * - Moving a blocked thread to another CPU does not wake it; a competitor
 *   preempts a runnable thread, it does not make a blocked one runnable.
 * - Halt-polling sees an interrupt that arrives while KVM polls, without a
 *   kick: the *_poll_off and *_preempted cases have no poll window at all,
 *   the others are checked to have woken blocked vCPUs (halt_wakeup > 0),
 *   and only *_poll_large is about the poll itself.
 * - An interrupt pending before HLT never blocks the vCPU: counted the same
 *   way (control 6 makes every interrupt arrive before HLT).
 * - Another interrupt to the same vCPU: halters have one interrupt in
 *   flight at a time, so none rescues another. The sender vCPU, halting for
 *   acknowledgements from several halters, can be woken by a later ack, so
 *   a lost wake of one ack is found through the halters it stalls.
 * - The timers: the hrtimer callback's kick is the path; with polling off
 *   nothing else reaches a halter that sleeps on its own timer.
 * - The case's own end: the interrupt that tells halters to stop would end
 *   a halt whose wakeup KVM lost less than --lost-wakeup-ms before it. It
 *   goes only to halters whose every interrupt was handled; halters on
 *   their own timers arm no more and finish on their last one, without it.
 *   (Before 2026-12-05 the timer halters got it at once: a KVM losing one
 *   wakeup in 300 passed two of three timer cases, the loss in their last
 *   3 s.)
 * - KVM's own clock updates: where KVM keeps no master clock for the VM,
 *   a vCPU loaded on another CPU makes it kick all vCPUs (include/halt.h:
 *   vm_clock_updates_kick_vcpus), which can end a blocked halt whose own
 *   kick was lost. Each case says so in a diagnostic there. Where the host
 *   TSC is also unstable, 6.1 and 6.12 keep those kicks going while every
 *   vCPU is blocked: seen on Debian's 6.1 under QEMU TCG (clocksource
 *   hpet), where the timer cases passed on a KVM whose timer no longer
 *   kicks. The VM runner therefore boots its kernels with tsc=reliable
 *   under TCG; with it they fail there too, as on sid's 7.2 and trixie's
 *   6.12. The IPI and MSI cases fail on a KVM that loses remote
 *   wakeups on all three, because those kicks go through the same wakeup.
 * Shown with KVM builds broken on purpose (lib/tests/broken-kvm/): with a
 * kvm_vcpu_wake_up() that only works from the CPU the vCPU last ran on,
 * every IPI, MSI and NMI case fails with a lost wakeup (and ipi_signal_exits
 * passes, as it should); with an expiring LAPIC timer that no longer kicks,
 * every timer case fails and the others pass.
 *
 * A failure means: "lost wakeup" - KVM left a vCPU blocked with a pending
 * interrupt (the report names the vCPU, where its thread was moved from and
 * to, and for how long it had been blocked); "wake without cause" - HLT
 * returned with no interrupt, NMI or timer handled; "taken inside STI's
 * shadow" - an interrupt arrived between STI and HLT, so "sti; hlt" lost its
 * atomicity; a count mismatch - an interrupt was lost or delivered twice,
 * or a KVM halt statistic disagrees with what the guest did. On a host
 * whose profile lists these anomalies as known quirks (include/host.h: QEMU
 * 7.2's software CPU shows duplicate deliveries, interrupts inside STI's
 * shadow, and now and then a HLT that returns with no handler run), they
 * are counted and reported as diagnostics naming the quirk instead.
 * Latencies are diagnostics only.
 *
 * Hidden option --negative-control N shows each check firing:
 *   1 the sender "forgets" one interrupt, or a halter its timer (the
 *     lost-wakeup detector fires),
 *   2 the IF=0 halter halts with IF=1 (a fixed interrupt wakes it),
 *   3 one wake is not accounted by its handler (wake without cause),
 *   4 the guest miscounts its HLTs by one (halt_exits disagrees),
 *   5 a second fixed vector is sent while IF=0 (delivered "twice" after STI),
 *   6 every vCPU waits with IF=0 until an interrupt is pending before its
 *     HLT, so KVM never blocks it (the wakeup path is never used).
 */
#include "host.h"
#include "probe.h"
#include "wake_scenario.h"

/* Defaults, per case; --duration / --iterations override. A case stops at
 * whichever comes first. */
#define DEFAULT_CASE_SECONDS  4
#define DEFAULT_CASE_WAKEUPS  12000
#define DEFAULT_LOST_WAKEUP_MS 3000
/* Time limit: set-up work at native speed, scaled; the default run and the
 * stop (bounded by two lost-wakeup limits) as they are. */
#define CASE_NATIVE_S         1
#define CASE_WAIT_S           (DEFAULT_CASE_SECONDS + 2 * DEFAULT_LOST_WAKEUP_MS / 1000)

static uint64_t migrate_interval_us = 200;
static uint64_t lost_wakeup_ms = DEFAULT_LOST_WAKEUP_MS;
static uint64_t max_delay_us = 300;
static uint64_t nr_halters_opt = 3;
static uint64_t kick_percent = 10;
TEST_OPTION("migrate-interval", migrate_interval_us, "mean microseconds between thread migrations");
TEST_OPTION("lost-wakeup-ms", lost_wakeup_ms, "an interrupt pending this long is a lost wakeup");
TEST_OPTION("max-delay-us", max_delay_us, "longest random delay before a send");
TEST_OPTION("halters", nr_halters_opt, "halting vCPUs per case (1-4)");
TEST_OPTION("kick-percent", kick_percent, "ipi_signal_exits: migrations that also signal the "
	    "thread out of KVM_RUN");
TEST_NEGATIVE_CONTROLS("1-6, see the file header");
/* Where the controls below can be shown (see TEST_CONTROL in ktest.h). */
TEST_CONTROL_PROBE(no_interrupt_quirks, "pi/wakeup", "if0_nmi", "--duration 1",
		   "pass-without ^# host profile: .*; quirks of .*(interrupts delivered twice|HLT returning with no handler run)");

static void run_scenario(const struct wake_scenario *sc)
{
	const struct wake_options opts = {
		.default_seconds = DEFAULT_CASE_SECONDS, .default_wakeups = DEFAULT_CASE_WAKEUPS,
		.migrate_interval_us = migrate_interval_us, .lost_wakeup_ms = lost_wakeup_ms,
		.max_delay_us = max_delay_us, .halters = nr_halters_opt, .kick_percent = kick_percent,
	};

	wake_scenario_run(sc, &opts);
}

#define IPI_PATHS   (PATH_BIT(PATH_IPI_PHYSICAL) | PATH_BIT(PATH_IPI_LOGICAL))
#define MSI_PATHS   (PATH_BIT(PATH_MSI) | PATH_BIT(PATH_IRQFD))

TEST_CONTROL(ipi_xapic_migrate, 1, "passes", "--duration 1",
	     "the sender forgets one IPI",
	     "lost wakeup: vCPU [0-9]+ did not handle IPI \\((physical|logical)\\) #[0-9]+ within [0-9]+ ms");
TEST_CASE(ipi_xapic_migrate, "xAPIC IPIs (physical and logical) wake halted vCPUs whose threads "
	  "migrate between CPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .migrate = true });
}

TEST_CASE(ipi_x2apic_migrate, "x2APIC IPIs (physical and logical) wake halted vCPUs whose "
	  "threads migrate between CPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .x2apic = true, .migrate = true });
}

TEST_CASE(ipi_preempted, "IPIs wake halted vCPUs whose threads are preempted by competitors "
	  "on their CPU while blocking", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	/* Polling off: every HLT goes straight to blocking, where the
	 * competitor's wakeups preempt it. */
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .compete = true, .poll = HALT_POLL_OFF });
}

TEST_CONTROL(msi_fixed, 1, "passes", "--duration 1",
	     "the host forgets one MSI",
	     "lost wakeup: vCPU [0-9]+ did not handle MSI \\((KVM_SIGNAL_MSI|irqfd)\\) #[0-9]+ within [0-9]+ ms");
TEST_CONTROL(msi_fixed, 3, "passes no_interrupt_quirks", "--duration 1",
	     "one wake is not accounted by its handler",
	     "vCPU [0-9]+: HLT #[0-9]+ returned although no interrupt, NMI or timer handler ran \\(a wake without cause");
TEST_CASE(msi_fixed, "MSIs from KVM_SIGNAL_MSI and irqfd wake halted vCPUs",
	  .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .host_paths = MSI_PATHS });
}

TEST_CASE(msi_migrate, "MSIs from KVM_SIGNAL_MSI and irqfd wake halted vCPUs whose threads "
	  "migrate between CPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .host_paths = MSI_PATHS,
					      .migrate = true });
}

TEST_CONTROL(timer_oneshot_migrate, 1, "passes", "--duration 1",
	     "a halter forgets to arm its timer",
	     "lost wakeup: vCPU [0-9]+ did not handle LAPIC timer \\(one-shot\\) #[0-9]+ within [0-9]+ ms");
TEST_CASE(timer_oneshot_migrate, "the one-shot LAPIC timer wakes halted vCPUs whose threads "
	  "migrate between CPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_ON_TIMER,
					      .timer_paths = PATH_BIT(PATH_TIMER_ONESHOT),
					      .migrate = true });
}

TEST_CASE(timer_tsc_deadline_migrate, "the TSC-deadline LAPIC timer wakes halted vCPUs whose "
	  "threads migrate between CPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_ON_TIMER,
					      .timer_paths = PATH_BIT(PATH_TIMER_TSC_DEADLINE),
					      .x2apic = true, .migrate = true });
}

/*
 * With halt-polling off every HLT that finds nothing pending blocks at
 * once, so each of those wakes needs the kick of the interrupt's sender.
 */
TEST_CONTROL(ipi_poll_off, 4, "passes", "--duration 1",
	     "the guest miscounts its HLTs by one",
	     "vCPU [0-9]+: KVM halt_exits grew by [0-9]+, expected one per guest HLT: [0-9]+");
TEST_CONTROL(ipi_poll_off, 6, "passes", "--duration 1",
	     "every interrupt is pending before its HLT",
	     "no halted vCPU was ever woken from blocking \\(halt_wakeup did not move\\)");
TEST_CASE(ipi_poll_off, "with halt-polling off, IPIs wake migrating halted vCPUs and KVM "
	  "never polls", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .migrate = true, .poll = HALT_POLL_OFF });
}

TEST_CASE(ipi_poll_large, "with a large halt-polling window, IPIs wake migrating halted vCPUs "
	  "that KVM polls for", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .migrate = true, .poll = HALT_POLL_WINDOW });
}

TEST_CASE(msi_poll_off, "with halt-polling off, MSIs wake migrating halted vCPUs and KVM "
	  "never polls", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .host_paths = MSI_PATHS,
					      .migrate = true, .poll = HALT_POLL_OFF });
}

TEST_CASE(msi_poll_large, "with a large halt-polling window, MSIs wake migrating halted vCPUs "
	  "that KVM polls for", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .host_paths = MSI_PATHS,
					      .migrate = true, .poll = HALT_POLL_WINDOW });
}

/*
 * The expiring timer's own kick (from its hrtimer callback) is the only
 * thing that can end these halts: no poll window, no signals, no other
 * interrupt source.
 */
TEST_CASE(timer_oneshot_poll_off, "with halt-polling off, the one-shot LAPIC timer wakes "
	  "migrating halted vCPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_ON_TIMER,
					      .timer_paths = PATH_BIT(PATH_TIMER_ONESHOT),
					      .migrate = true, .poll = HALT_POLL_OFF });
}

TEST_CASE(timer_tsc_deadline_poll_off, "with halt-polling off, the TSC-deadline LAPIC timer "
	  "wakes migrating halted vCPUs", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_ON_TIMER,
					      .timer_paths = PATH_BIT(PATH_TIMER_TSC_DEADLINE),
					      .x2apic = true, .migrate = true, .poll = HALT_POLL_OFF });
}

TEST_CASE(timer_preempted, "with halt-polling off, LAPIC timers (one-shot and TSC-deadline) "
	  "wake halted vCPUs whose threads are preempted by competitors on their CPU",
	  .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_ON_TIMER,
					      .timer_paths = PATH_BIT(PATH_TIMER_ONESHOT) |
							     PATH_BIT(PATH_TIMER_TSC_DEADLINE),
					      .x2apic = true, .compete = true, .poll = HALT_POLL_OFF });
}

/*
 * Signals end halts themselves, so this case says nothing about the wakeup
 * path: it shows that an interrupt pending when a signal takes the vCPU
 * out of KVM_RUN (vcpu_put with the interrupt posted or in the IRR) is
 * handled exactly once after re-entry.
 */
TEST_CASE(ipi_signal_exits, "IPIs to migrating halted vCPUs that signals take out of KVM_RUN "
	  "are each handled once after re-entry", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER, .guest_paths = IPI_PATHS,
					      .migrate = true, .signal_exits = true });
}

TEST_CONTROL(if0_nmi, 2, "passes", "--duration 1",
	     "the IF=0 halter halts with IF=1",
	     "vCPU [0-9]+: a fixed interrupt was delivered while halted with IF=0");
TEST_CONTROL(if0_nmi, 5, "passes no_interrupt_quirks", "--duration 1",
	     "a second fixed vector is sent while IF=0",
	     "expected the pending fixed interrupt to be delivered exactly once after STI, got 2 deliveries|vector 0x[0-9a-f]+ still pending/in service after its delivery");
TEST_CASE(if0_nmi, "a vCPU halted with IF=0 ignores a fixed IPI, wakes for an NMI and takes "
	  "the IPI exactly once after STI", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	run_scenario(&(struct wake_scenario){ .mode = HALT_WITH_IF0, .migrate = true });
}

TEST_CASE(posted_path, "on Intel with APICv and IPI virtualization, IPIs to halted vCPUs are "
	  "posted, not trapped", .timeout = CASE_NATIVE_S, .wait_s = CASE_WAIT_S,
	  .stress = true)
{
	const char *mod = kvm_vendor_module();

	TEST_REQUIRE(mod && !strcmp(mod, "kvm_intel"), "posted-interrupt wakeups need kvm_intel "
		     "(APICv); /dev/kvm here is backed by %s", mod ? mod : "an unknown module");
	require_module_param("kvm_intel", "enable_apicv");
	require_module_param("kvm_intel", "enable_ipiv");
	run_scenario(&(struct wake_scenario){ .mode = HALT_FOR_SENDER,
					      .guest_paths = PATH_BIT(PATH_IPI_PHYSICAL),
					      .x2apic = true, .migrate = true, .require_posted = true });
}
