// SPDX-License-Identifier: GPL-2.0
/*
 * Kicking vCPUs out of KVM_RUN.
 *
 * Every VMM stops its vCPUs this way (pause, memory-map changes, migration):
 * a signal sent to the vCPU thread makes KVM_RUN return EINTR with
 * KVM_EXIT_INTR, from guest mode or from a blocked HLT, with the guest
 * untouched; kvm_run.immediate_exit and KVM_SET_SIGNAL_MASK close the race
 * of a kick that lands just before KVM_RUN; a pending I/O exit is completed
 * before KVM_RUN gives up. From: E. G. Esposito, "KVM: use signals to
 * abort enter_guest/blocking and retry" (4/4 of a series, Oct 2022). Its
 * kick storm is x86_64/kick_storm, its proposed KVM_KICK_ALL_RUNNING_VCPUS
 * ioctls are x86_64/kick_all.
 *
 * A failure means a VMM can no longer reliably stop a vCPU: a kick lost or
 * answered twice, a halted guest woken by a kick, guest state changed by
 * the exit, or an I/O result dropped on the way to migration.
 *
 * What else could produce each result, and why it cannot here:
 * - EINTR with KVM_EXIT_INTR comes only from a pending signal or
 *   immediate_exit; the test's kick is the only signal its vCPU threads
 *   get, and immediate_exit is set only where a case names it.
 * - spin_signal: a spinning guest has no exits of its own to userspace, so
 *   the return is the signal's, taken from guest mode (the guest's counter
 *   moved up to the kick). halt_signal and unstarted_signal: the vCPU is
 *   seen blocked inside KVM_RUN (KVM's "blocking" statistic where the
 *   kernel has it) before the kick, so the exit is taken from
 *   kvm_vcpu_block(), not from guest mode; nothing else is sent to those
 *   vCPUs, so the re-entered vCPU can only stay put (halt: no interrupt for
 *   STAY_HALTED_MS; unstarted: no INIT/SIPI). unstarted_signal's count is
 *   the UNINITIALIZED path's own (shown with KVM broken on purpose,
 *   lib/tests/broken-kvm/unstarted-signal-exit-uncounted.patch: only that
 *   case fails; spin_signal, halt_signal and signal_exits_stat pass).
 * - immediate_exit: no signal is sent around those KVM_RUNs, and the guest
 *   spins, so an EINTR without guest progress is immediate_exit's.
 * - handler_sets_immediate_exit: the kick lands while the thread is outside
 *   KVM_RUN; without the handler's immediate_exit the next KVM_RUN would run
 *   the spinning guest until the bound (control 5).
 *
 * Negative controls (--negative-control N; each must make its case fail):
 *   1  spin_signal: the host puts the vCPU back at its entry point while it
 *      is out (as if its state were lost); the guest's own check reports it.
 *   2  halt_signal: an interrupt is queued while the vCPU is out, so it
 *      does not stay halted on re-entry.
 *   3  immediate_exit: immediate_exit is left 0; the guest runs.
 *   4  immediate_exit_completes_io: guest state is read without the
 *      immediate-exit KVM_RUN; the OUT is not completed.
 *   5  handler_sets_immediate_exit: the handler only counts; the kick that
 *      landed outside KVM_RUN is lost and the wait for the exit times out.
 *   6  mask_kick_inside_run: the thread blocks the kick but no KVM signal
 *      mask is set; the kick never reaches KVM_RUN and the bounded wait
 *      reports the hung vCPU (the hang is caught, not waited out).
 *   7  mask_bad_len: the correct len is among the "wrong" ones.
 *   8  signal_exits_stat: one kick too many is expected.
 *   9  unstarted_signal: the immediate exit is expected in signal_exits too.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "apic.h"
#include "host.h"
#include "probe.h"
#include "stats.h"
#include "threads.h"
#include "vcpu_kick.h"
#include "vcpu_runner.h"
#include "vm.h"

/* Bounds for waiting on the host; generous for TCG, never a timing assert. */
#define GUEST_PROGRESS_NATIVE_MS 200
#define BLOCKED_NATIVE_MS       200
#define POLL_US                 100
/* After KVM_RUN returned, the guest must not move for this long. */
#define QUIET_CHECK_US          10000
/* A re-entered halted vCPU must stay in KVM_RUN at least this long. */
#define STAY_HALTED_MS          200
/* A kick blocked without the KVM mask must not interrupt for this long. */
#define NO_INTERRUPT_MS         200

#define SPIN_KICK_ROUNDS        20
#define SPIN_PROGRESS_STEPS     1000    /* guest iterations between kicks */
#define HALT_ROUNDS             5
#define IMMEDIATE_EXIT_REPEATS  3
#define SIGNAL_EXIT_ROUNDS      10
#define UNSTARTED_ROUNDS        3

#define WAKE_VECTOR             0x50
#define KICK_TEST_PORT          0x99
#define OUT_VALUE               0x5a
#define IN_VALUE                0xa5


enum {
	NC_NONE,
	NC_SPIN_STATE,
	NC_HALT_WAKES,
	NC_IMMEDIATE_RUNS_GUEST,
	NC_IO_NOT_COMPLETED,
	NC_HANDLER_LOSES_KICK,
	NC_NO_SIGNAL_MASK,
	NC_MASK_LEN,
	NC_SIGNAL_EXITS_MISCOUNT,
	NC_UNSTARTED_MISCOUNT,
};

TEST_NEGATIVE_CONTROLS("1-9, see the file header");
static uint64_t kick_bound_ms = 2000;
TEST_OPTION("kick-bound-ms", kick_bound_ms,
	    "longest a kick may take to end KVM_RUN before it counts as lost");

/* ---- what host and guest share ---- */

struct kick_shared {
	volatile uint64_t counter;      /* spin_guest: iterations */
	volatile uint64_t stop;         /* spin_guest: finish and report */
	volatile uint64_t wakeups;      /* halt_guest: interrupts taken */
	volatile uint64_t halts;        /* halt_guest: HLTs started */
	volatile uint64_t in_shadow;    /* halt_guest: interrupts taken inside STI's shadow */
	struct {
		volatile uint64_t stage;        /* 0 before the OUT, 1 after it, 2 after the IN */
		volatile uint64_t in_value;
	} io;
	volatile uint64_t started;      /* started_guest: ran */
};

static void spin_guest(void *arg)
{
	struct kick_shared *s = arg;
	uint64_t local = 0;

	while (!s->stop) {
		/* The register copy and the memory copy move together; a kick
		 * that changed either would show here. */
		if (s->counter != local)
			GUEST_FAIL("counter in memory is %llu, the guest's register copy %llu: "
				   "guest state changed while the vCPU was out of KVM_RUN",
				   (unsigned long long)s->counter, (unsigned long long)local);
		local++;
		s->counter = local;
	}
	GUEST_SYNC(local);
}

static void halt_wake(struct ex_regs *regs)
{
	struct kick_shared *s = guest_data();

	s->wakeups++;
	if (guest_irq_skips_shadowed_hlt(regs))
		s->in_shadow++;
	apic_eoi();
}

static void halt_guest(void *arg)
{
	struct kick_shared *s = arg;
	uint64_t round;

	xapic_enable();
	for (round = 1;; round++) {
		s->halts = round;
		guest_sti_hlt();
		cli();
		GUEST_SYNC(s->wakeups);
	}
}

/*
 * An OUT and an IN to a test port, with labels at each instruction and
 * after it, so the host can see whether KVM completed the I/O (RIP moved
 * past it, RAX loaded) and whether any later guest instruction ran (the
 * stage stores). %rdi = &s->io.
 */
void guest_io_sequence(void *io);
extern const char io_out_insn[], io_after_out[], io_in_insn[], io_after_in[];
__asm__(".pushsection .text\n"
	".globl guest_io_sequence\n"
	"guest_io_sequence:\n"
	"	movb $" __stringify(OUT_VALUE) ", %al\n"
	".globl io_out_insn\n"
	"io_out_insn:\n"
	"	outb %al, $" __stringify(KICK_TEST_PORT) "\n"
	".globl io_after_out\n"
	"io_after_out:\n"
	"	movq $1, (%rdi)\n"
	"	xorl %eax, %eax\n"
	".globl io_in_insn\n"
	"io_in_insn:\n"
	"	inb $" __stringify(KICK_TEST_PORT) ", %al\n"
	".globl io_after_in\n"
	"io_after_in:\n"
	"	movzbq %al, %rax\n"
	"	movq %rax, 8(%rdi)\n"
	"	movq $2, (%rdi)\n"
	"	ret\n"
	".popsection\n");

static void io_guest(void *arg)
{
	struct kick_shared *s = arg;

	guest_io_sequence((void *)&s->io);
	GUEST_SYNC(s->io.in_value);
}

/* ---- the host's side: each vCPU on a vcpu_runner, every wait bounded ---- */

/* Wait until *p > value; fail naming what did not move. */
static void wait_beyond(volatile uint64_t *p, uint64_t value, const char *what)
{
	wait_guest_progress(p, value, host_limit_ms(GUEST_PROGRESS_NATIVE_MS), what);
}

/* Wait until the vCPU is blocked inside KVM_RUN, having reached HLT value. */
static void wait_blocked(struct vcpu *vcpu, volatile uint64_t *reached, uint64_t value,
			 bool have_blocking)
{
	vcpu_wait_blocked(vcpu, reached, value, have_blocking, host_limit_ms(BLOCKED_NATIVE_MS));
}

/* The KVM_RUN in progress must end within the kick bound. */
static void wait_exit(struct vcpu_runner *r, const char *what)
{
	vcpu_runner_wait_exit(r, kick_bound_ms, what);
}

/* Kick the vCPU out of KVM_RUN: EINTR with KVM_EXIT_INTR, within the bound. */
static void kick_out(struct vcpu_runner *r, const char *what)
{
	vcpu_kick_out(r->vcpu, kick_bound_ms);
	wait_exit(r, what);
	vcpu_runner_expect_signal_exit(r, what);
}

/* One KVM_RUN with immediate_exit set on the runner's thread: EINTR at once. */
static void immediate_exit_out(struct vcpu_runner *r)
{
	r->vcpu->run->immediate_exit = 1;
	vcpu_runner_run(r);
	wait_exit(r, "immediate exit");
	r->vcpu->run->immediate_exit = 0;
	vcpu_runner_expect_eintr(r, "immediate exit");
}

/* spin_guest reports its count when told to stop. */
static void stop_spinner(struct vcpu_runner *r, struct kick_shared *s)
{
	s->stop = 1;
	vcpu_runner_run(r);
	wait_exit(r, "stopping the spin loop");
	TEST_ASSERT_EQ(vcpu_runner_expect_sync(r, "stopping the spin loop")->args[0], s->counter);
}

/* ---- 1, 2: signals ---- */

TEST_CONTROL(spin_signal, 1, "passes", "-",
	     "the host resets the vCPU to its entry point while it is out",
	     "guest \\(vCPU 0\\): counter in memory is [0-9]+, the guest's register copy [0-9]+: guest state changed while the vCPU was out of KVM_RUN");
TEST_CASE(spin_signal, "a signal takes a spinning vCPU out of KVM_RUN with EINTR and "
	  "KVM_EXIT_INTR, and it resumes where it stopped")
{
	struct vm *vm = vm_create(NULL);
	struct kick_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, spin_guest, s);
	struct vcpu_runner *r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);
	uint64_t resumed_from = 0, at_kick, at_exit;
	int round;

	for (round = 0; round < SPIN_KICK_ROUNDS; round++) {
		test_progress("kick round %d", round);
		vcpu_runner_run(r);
		wait_beyond(&s->counter, resumed_from + SPIN_PROGRESS_STEPS,
			    "spinning vCPU after (re-)entering KVM_RUN");
		at_kick = s->counter;
		kick_out(r, "kicked spinning vCPU");
		at_exit = s->counter;
		TEST_ASSERT(at_exit >= at_kick, "counter went back from %" PRIu64 " to %" PRIu64
			    " across the kick", at_kick, at_exit);
		expect_guest_quiet(&s->counter, QUIET_CHECK_US, "kicked spinning vCPU");
		/* As if KVM lost the vCPU's state: back to the entry point. */
		if (test_opts.negative_control == NC_SPIN_STATE && round == 1)
			vcpu_set_entry(vcpu, spin_guest, s);
		resumed_from = at_exit;
	}
	stop_spinner(r, s);
	test_diag("%d kicks; guest counted %" PRIu64 " iterations", SPIN_KICK_ROUNDS, s->counter);
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

TEST_CONTROL(halt_signal, 2, "passes", "-",
	     "an interrupt is queued while the halted vCPU is out",
	     "re-entered halted vCPU left KVM_RUN within [0-9]+ ms without an interrupt being sent");
TEST_CASE(halt_signal, "a signal takes a vCPU blocked in HLT out of KVM_RUN with EINTR and "
	  "KVM_EXIT_INTR, and on re-entry it stays halted until an interrupt")
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm = vm_create(&opts);
	struct kick_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, halt_guest, s);
	bool have_blocking = vcpu_open_blocking_stat(vcpu);
	struct vcpu_runner *r;
	uint64_t round, twice = 0, got;        /* twice: interrupts a quirk host delivered twice */
	uint32_t mp;

	vm_set_handler(vm, WAKE_VECTOR, halt_wake);
	vm_set_guest_data(vm, s);
	r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);
	vcpu_runner_run(r);
	for (round = 1; round <= HALT_ROUNDS; round++) {
		test_progress("halt round %" PRIu64, round);
		wait_blocked(vcpu, &s->halts, round, have_blocking);
		kick_out(r, "kicked halted vCPU");
		mp = vcpu_mp_state(vcpu);
		TEST_ASSERT(mp == KVM_MP_STATE_HALTED, "after the kick the vCPU's mp_state is %u, "
			    "expected KVM_MP_STATE_HALTED (%u)", mp, KVM_MP_STATE_HALTED);
		TEST_ASSERT_EQ(s->wakeups, round - 1 + twice);

		if (test_opts.negative_control == NC_HALT_WAKES)
			vm_signal_msi(vm, 0, WAKE_VECTOR);
		vcpu_runner_run(r);
		usleep(STAY_HALTED_MS * 1000);
		TEST_ASSERT(!vcpu_runner_done(r), "re-entered halted vCPU left KVM_RUN within %u ms "
			    "without an interrupt being sent: %s", STAY_HALTED_MS, vcpu_runner_result(r));
		TEST_ASSERT(vcpu_in_run(vcpu), "vCPU thread not in KVM_RUN");

		TEST_ASSERT_GT(vm_signal_msi(vm, 0, WAKE_VECTOR), 0);
		wait_exit(r, "halted vCPU sent an interrupt");
		got = vcpu_runner_expect_sync(r, "halted vCPU sent an interrupt")->args[0];
		if (got == round + twice + 1 && host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE)) {
			test_diag("round %" PRIu64 ": the interrupt was handled twice: %s", round,
				  host_quirk_note(HOST_QUIRK_IRQ_DELIVERED_TWICE));
			twice++;
		}
		TEST_ASSERT(got == round + twice, "round %" PRIu64 ": the guest counted %" PRIu64
			    " wakeup interrupts, expected %" PRIu64 " (one per interrupt sent)",
			    round, got, round + twice);
		vcpu_runner_run(r);
	}
	wait_blocked(vcpu, &s->halts, HALT_ROUNDS + 1, have_blocking);
	vcpu_kick_out(vcpu, kick_bound_ms);
	wait_exit(r, "final kick");
	expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, s->in_shadow, "wakeup interrupts taken "
			  "between STI and HLT, inside STI's interrupt shadow");
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

/* ---- a vCPU that was never started ---- */

static void started_guest(void *arg)
{
	struct kick_shared *s = arg;

	s->started = 1;
}

static const struct {
	uint32_t state;
	const char *name;
} unstarted_states[] = {
	{ KVM_MP_STATE_UNINITIALIZED, "UNINITIALIZED (an AP never started)" },
	{ KVM_MP_STATE_INIT_RECEIVED, "INIT_RECEIVED (an AP waiting for its SIPI)" },
};

/*
 * An AP that waits for INIT/SIPI blocks inside KVM_RUN before any guest
 * entry (UNINITIALIZED: kvm_arch_vcpu_ioctl_run's own wait for an APIC
 * event; INIT_RECEIVED: the vCPU is not runnable). Only a signal can end
 * that wait here: nothing else is sent to the vCPU, so a KVM_RUN that
 * returns for another reason is -EAGAIN or a guest message, both failures.
 */
static void kick_unstarted(uint32_t state, const char *name)
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm = vm_create(&opts);
	struct kick_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 1, started_guest, s);
	bool have_blocking = vcpu_open_blocking_stat(vcpu);
	uint64_t exits_before, exits, expected, waiting = 1;
	struct kvm_regs before, after;
	struct vcpu_runner *r;
	unsigned int round;

	vcpu_set_mp_state(vcpu, state);
	vcpu_get_regs(vcpu, &before);
	exits_before = vcpu_stat(vcpu, "signal_exits");
	r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);
	for (round = 1; round <= UNSTARTED_ROUNDS; round++) {
		test_progress("%s: kick %u", name, round);
		vcpu_runner_run(r);
		wait_blocked(vcpu, &waiting, 1, have_blocking);
		kick_out(r, name);
		TEST_ASSERT(vcpu_mp_state(vcpu) == state, "%s: after kick %u the MP state is %u, "
			    "expected %u", name, round, vcpu_mp_state(vcpu), state);
		TEST_ASSERT(!s->started, "%s: the guest ran after kick %u", name, round);
	}
	expected = UNSTARTED_ROUNDS;
	if (kvm_check_cap(KVM_CAP_IMMEDIATE_EXIT) > 0) {
		immediate_exit_out(r);
		TEST_ASSERT(vcpu_mp_state(vcpu) == state, "%s: after an immediate exit the MP state "
			    "is %u, expected %u", name, vcpu_mp_state(vcpu), state);
		if (test_negative_control(NC_UNSTARTED_MISCOUNT))
			expected++;
	}
	exits = vcpu_stat(vcpu, "signal_exits") - exits_before;
	TEST_ASSERT(exits == expected, "%s: signal_exits grew by %" PRIu64 ", expected %" PRIu64
		    " (one per signal exit; immediate exits do not count)", name, exits, expected);
	vcpu_get_regs(vcpu, &after);
	TEST_ASSERT(after.rip == before.rip && after.rsp == before.rsp && after.rdi == before.rdi,
		    "%s: the kicks changed the vCPU's registers (RIP 0x%llx -> 0x%llx)", name,
		    before.rip, after.rip);

	/* Started by the host, it runs from its entry point. */
	vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE);
	vcpu_runner_run(r);
	TEST_ASSERT(vcpu_runner_wait(r, host_limit_ms(GUEST_PROGRESS_NATIVE_MS)),
		    "%s: once RUNNABLE the vCPU did not finish within %" PRIu64 " ms", name,
		    host_limit_ms(GUEST_PROGRESS_NATIVE_MS));
	TEST_ASSERT(r->msg && r->msg->type == GUEST_MSG_DONE && s->started,
		    "%s: once RUNNABLE the guest should run to its end, got %s", name,
		    vcpu_runner_result(r));
	test_diag("%s: %u signals each ended KVM_RUN with EINTR/KVM_EXIT_INTR, signal_exits +%"
		  PRIu64 ", the wait resumed every time", name, UNSTARTED_ROUNDS, exits);
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

TEST_CONTROL(unstarted_signal, 9, "passes", "-",
	     "the immediate exit is expected in signal_exits too",
	     "UNINITIALIZED \\(an AP never started\\): signal_exits grew by 3, expected 4");
TEST_CASE(unstarted_signal, "a signal takes a vCPU waiting for INIT/SIPI out of KVM_RUN with EINTR "
	  "and KVM_EXIT_INTR, counted in signal_exits; it keeps waiting and its state is intact")
{
	unsigned int i;

	require_binary_stats();
	for (i = 0; i < sizeof(unstarted_states) / sizeof(unstarted_states[0]); i++)
		kick_unstarted(unstarted_states[i].state, unstarted_states[i].name);
}

/* ---- 3: immediate_exit ---- */

static void immediate_exit_run(struct vcpu_runner *r, struct kick_shared *s, const char *what)
{
	struct vcpu *vcpu = r->vcpu;
	struct kvm_regs before, after;
	uint64_t counter = s->counter;

	vcpu_get_regs(vcpu, &before);
	vcpu->run->immediate_exit = test_opts.negative_control == NC_IMMEDIATE_RUNS_GUEST ? 0 : 1;
	vcpu_runner_run(r);
	if (!vcpu_runner_wait(r, kick_bound_ms)) {
		vcpu_kick_out(vcpu, kick_bound_ms);
		wait_exit(r, what);
		test_fail("%s: KVM_RUN with immediate_exit = 1 did not return within %" PRIu64
			  " ms; the guest ran (counter %" PRIu64 " -> %" PRIu64 ")", what,
			  kick_bound_ms, counter, s->counter);
	}
	vcpu->run->immediate_exit = 0;
	vcpu_runner_expect_eintr(r, what);
	vcpu_get_regs(vcpu, &after);
	TEST_ASSERT(s->counter == counter && after.rip == before.rip,
		    "%s: guest code ran during the immediate-exit KVM_RUN (counter %" PRIu64 " -> %"
		    PRIu64 ", rip 0x%llx -> 0x%llx)", what, counter, s->counter, before.rip, after.rip);
}

TEST_CONTROL(immediate_exit, 3, "passes", "-",
	     "immediate_exit is left 0",
	     "KVM_RUN with immediate_exit = 1 did not return within [0-9]+ ms; the guest ran");
TEST_CASE(immediate_exit, "KVM_RUN with immediate_exit set returns EINTR without running "
	  "guest code")
{
	struct vm *vm;
	struct kick_shared *s;
	struct vcpu *vcpu;
	struct vcpu_runner *r;
	int i;

	require_kvm_cap(KVM_CAP_IMMEDIATE_EXIT);
	vm = vm_create(NULL);
	s = vm_alloc(vm, sizeof(*s));
	vcpu = vcpu_add(vm, 0, spin_guest, s);
	r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);

	immediate_exit_run(r, s, "before the first entry");
	vcpu_runner_run(r);
	wait_beyond(&s->counter, SPIN_PROGRESS_STEPS, "spinning vCPU");
	kick_out(r, "kicked spinning vCPU");
	for (i = 0; i < IMMEDIATE_EXIT_REPEATS; i++)
		immediate_exit_run(r, s, "after a kick");

	/* immediate_exit back to 0: the guest runs again. */
	stop_spinner(r, s);
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

static void expect_test_port_exit(struct vcpu *vcpu, uint8_t direction, const char *what)
{
	struct kvm_run *run = vcpu->run;
	char desc[256];

	vcpu_describe_exit(vcpu, desc, sizeof(desc));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO && run->io.port == KICK_TEST_PORT &&
		    run->io.direction == direction && run->io.size == 1 && run->io.count == 1,
		    "%s: expected KVM_EXIT_IO %s port 0x%x, got %s", what,
		    direction == KVM_EXIT_IO_OUT ? "out to" : "in from", KICK_TEST_PORT, desc);
}

/* Negative control 4 leaves out the immediate-exit KVM_RUN. */
static void immediate_exit_after_io(struct vcpu *vcpu, const char *what)
{
	int ret;

	if (test_opts.negative_control == NC_IO_NOT_COMPLETED)
		return;
	vcpu->run->immediate_exit = 1;
	ret = vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
	TEST_ASSERT(ret == -EINTR, "KVM_RUN with immediate_exit %s: expected EINTR, got %s", what,
		    ret ? strerrorname_np(-ret) : "success");
}

TEST_CONTROL(immediate_exit_completes_io, 4, "passes", "-",
	     "the immediate-exit KVM_RUN after the I/O exit is left out",
	     "after the immediate exit RIP is 0x[0-9a-f]+.*: the pending (OUT|IN) was not completed");
TEST_CASE(immediate_exit_completes_io, "immediate_exit completes a pending OUT and IN before "
	  "returning EINTR, and runs no further guest code")
{
	struct vm *vm;
	struct kick_shared *s;
	struct vcpu *vcpu;
	struct kvm_regs regs;
	bool out_observable;
	uint8_t *data;

	require_kvm_cap(KVM_CAP_IMMEDIATE_EXIT);
	vm = vm_create(NULL);
	s = vm_alloc(vm, sizeof(*s));
	vcpu = vcpu_add(vm, 0, io_guest, s);

	/*
	 * OUT: completing it moves RIP past the instruction. Some hosts move
	 * RIP before the exit already (KVM did so before 5.1; this machine's
	 * kvm_pvm does): then only the IN below can show the completion.
	 */
	TEST_ASSERT_EQ(vcpu_run(vcpu), 0);
	expect_test_port_exit(vcpu, KVM_EXIT_IO_OUT, "guest OUT");
	data = (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
	TEST_ASSERT_EQ(*data, OUT_VALUE);
	vcpu_get_regs(vcpu, &regs);
	out_observable = regs.rip == (uint64_t)io_out_insn;
	TEST_ASSERT(out_observable || regs.rip == (uint64_t)io_after_out, "at the OUT exit RIP is "
		    "0x%llx, expected the OUT at %p or just past it at %p", regs.rip, io_out_insn,
		    io_after_out);
	if (!out_observable)
		test_diag("RIP is already past the OUT at its exit (vendor module %s): completing "
			  "the OUT changes no guest state here, the IN carries the check",
			  kvm_vendor_module() ?: "unknown");
	immediate_exit_after_io(vcpu, "after the OUT");
	vcpu_get_regs(vcpu, &regs);
	TEST_ASSERT(regs.rip == (uint64_t)io_after_out, "after the immediate exit RIP is 0x%llx, "
		    "expected %p just past the OUT: the pending OUT was not completed",
		    regs.rip, io_after_out);
	TEST_ASSERT(s->io.stage == 0, "the guest ran past the OUT during the immediate exit "
		    "(stage %" PRIu64 ")", s->io.stage);

	/* IN: completing it loads the host's byte into AL and moves RIP. */
	TEST_ASSERT_EQ(vcpu_run(vcpu), 0);
	expect_test_port_exit(vcpu, KVM_EXIT_IO_IN, "guest IN");
	TEST_ASSERT_EQ(s->io.stage, 1);
	vcpu_get_regs(vcpu, &regs);
	TEST_ASSERT(regs.rip == (uint64_t)io_in_insn, "at the IN exit RIP is 0x%llx, expected %p",
		    regs.rip, io_in_insn);
	data = (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
	*data = IN_VALUE;
	immediate_exit_after_io(vcpu, "after the IN");
	vcpu_get_regs(vcpu, &regs);
	TEST_ASSERT(regs.rip == (uint64_t)io_after_in && (regs.rax & 0xff) == IN_VALUE,
		    "after the immediate exit RIP is 0x%llx and AL 0x%llx, expected %p and 0x%x: "
		    "the pending IN was not completed", regs.rip, regs.rax & 0xff, io_after_in,
		    IN_VALUE);
	TEST_ASSERT(s->io.stage == 1, "the guest ran past the IN during the immediate exit "
		    "(stage %" PRIu64 ")", s->io.stage);

	/* Resuming goes on after the IN: no second exit for it. */
	TEST_ASSERT_EQ(vcpu_sync(vcpu), IN_VALUE);
	TEST_ASSERT_EQ(s->io.stage, 2);
	vm_destroy(vm);
}

TEST_CONTROL(handler_sets_immediate_exit, 5, "passes", "-",
	     "the signal handler only counts, it does not set immediate_exit",
	     "the kick that landed outside KVM_RUN was lost: the next KVM_RUN entered the guest and did not return within [0-9]+ ms");
TEST_CASE(handler_sets_immediate_exit, "a kick landing outside KVM_RUN is not lost when the "
	  "signal handler sets immediate_exit")
{
	struct vm *vm;
	struct kick_shared *s;
	struct vcpu *vcpu;
	struct vcpu_runner *r;
	uint64_t counter, deadline;

	require_kvm_cap(KVM_CAP_IMMEDIATE_EXIT);
	kick_handler_install();
	vm = vm_create(NULL);
	s = vm_alloc(vm, sizeof(*s));
	vcpu = vcpu_add(vm, 0, spin_guest, s);
	r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);
	r->handler.set_immediate_exit = test_opts.negative_control != NC_HANDLER_LOSES_KICK;

	/* Inside KVM_RUN: EINTR from the signal itself; the handler then runs
	 * on the way out and sets immediate_exit, which the VMM clears. */
	vcpu_runner_run(r);
	wait_beyond(&s->counter, SPIN_PROGRESS_STEPS, "spinning vCPU");
	kick_out(r, "kick inside KVM_RUN");
	TEST_ASSERT_EQ(atomic_load(&r->handler.handled), 1);
	vcpu->run->immediate_exit = 0;

	/* Outside KVM_RUN: only the handler sees it. */
	vcpu_kick(vcpu);
	deadline = now_ns() + kick_bound_ms * 1000000ull;
	while (atomic_load(&r->handler.handled) < 2) {
		TEST_ASSERT(now_ns() < deadline, "the kick did not reach the idle vCPU thread's "
			    "handler within %" PRIu64 " ms", kick_bound_ms);
		usleep(POLL_US);
	}
	counter = s->counter;
	vcpu_runner_run(r);
	if (!vcpu_runner_wait(r, kick_bound_ms))
		test_fail("the kick that landed outside KVM_RUN was lost: the next KVM_RUN entered "
			  "the guest and did not return within %" PRIu64 " ms (counter %" PRIu64
			  " -> %" PRIu64 ")", kick_bound_ms, counter, s->counter);
	vcpu_runner_expect_eintr(r, "KVM_RUN after a kick outside KVM_RUN");
	TEST_ASSERT(s->counter == counter, "guest code ran before the kick took effect (counter %"
		    PRIu64 " -> %" PRIu64 ")", counter, s->counter);
	vcpu->run->immediate_exit = 0;

	stop_spinner(r, s);
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

/* ---- 4: KVM_SET_SIGNAL_MASK ---- */

static struct vcpu_runner *masked_spinner(struct vm **vmp, struct kick_shared **sp, bool mask)
{
	struct vm *vm = vm_create(NULL);
	struct kick_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, spin_guest, s);

	/* Count handler runs: with the signal blocked there must be none. */
	kick_handler_install();
	*vmp = vm;
	*sp = s;
	return vcpu_runner_create(vcpu, mask ? VCPU_RUNNER_KICK_MASKED_OUTSIDE_RUN :
				  VCPU_RUNNER_KICK_BLOCKED);
}

static void finish_spinner(struct vcpu_runner *r, struct kick_shared *s)
{
	stop_spinner(r, s);
	TEST_ASSERT_EQ(atomic_load(&r->handler.handled), 0);
	vcpu_runner_stop(r);
}

TEST_CONTROL(mask_kick_inside_run, 6, "passes", "-",
	     "the thread blocks the kick without a KVM signal mask",
	     "vCPU 0 did not leave KVM_RUN within [0-9]+ ms of a kick");
TEST_CASE(mask_kick_inside_run, "with KVM_SET_SIGNAL_MASK a kick blocked in the thread still "
	  "ends KVM_RUN, and stays pending for the VMM to take")
{
	struct kick_shared *s;
	struct vm *vm;
	struct vcpu_runner *r = masked_spinner(&vm, &s,
					       test_opts.negative_control != NC_NO_SIGNAL_MASK);

	vcpu_runner_run(r);
	wait_beyond(&s->counter, SPIN_PROGRESS_STEPS, "spinning vCPU");
	/* Negative control 6 ends here: the hang is reported, not waited out. */
	kick_out(r, "kick inside KVM_RUN");
	TEST_ASSERT(vcpu_runner_kick_pending(r), "after the EINTR the kick is no longer "
		    "pending in the vCPU thread: KVM_RUN should restore the thread's mask with the "
		    "signal still queued");
	TEST_ASSERT_EQ(atomic_load(&r->handler.handled), 0);
	TEST_ASSERT(vcpu_runner_kick_consume(r), "sigtimedwait found no pending kick");
	TEST_ASSERT(!vcpu_runner_kick_pending(r), "a second kick is pending after one "
		    "was sent and taken");
	finish_spinner(r, s);
	vm_destroy(vm);
}

TEST_CASE(mask_kick_outside_run, "with KVM_SET_SIGNAL_MASK a kick sent outside KVM_RUN stays "
	  "pending and ends the next KVM_RUN at once")
{
	struct kick_shared *s;
	struct vm *vm;
	struct vcpu_runner *r = masked_spinner(&vm, &s, true);
	uint64_t counter;

	vcpu_runner_run(r);
	wait_beyond(&s->counter, SPIN_PROGRESS_STEPS, "spinning vCPU");
	kick_out(r, "first kick");
	TEST_ASSERT(vcpu_runner_kick_consume(r), "sigtimedwait found no pending kick");

	/* The thread is idle, outside KVM_RUN, with the kick blocked. */
	vcpu_kick(r->vcpu);
	TEST_ASSERT(vcpu_runner_kick_pending(r), "a kick sent to the idle vCPU thread is "
		    "not pending");
	TEST_ASSERT_EQ(atomic_load(&r->handler.handled), 0);
	counter = s->counter;
	vcpu_runner_run(r);
	wait_exit(r, "KVM_RUN with a kick pending");
	vcpu_runner_expect_signal_exit(r, "KVM_RUN with a kick pending");
	TEST_ASSERT(s->counter == counter, "guest code ran before the pending kick ended KVM_RUN "
		    "(counter %" PRIu64 " -> %" PRIu64 ")", counter, s->counter);
	TEST_ASSERT(vcpu_runner_kick_consume(r), "sigtimedwait found no pending kick");
	finish_spinner(r, s);
	vm_destroy(vm);
}

TEST_CONTROL(mask_bad_len, 7, "passes", "-",
	     "the correct sigset size is among the \"bad\" lengths",
	     "KVM_SET_SIGNAL_MASK with len 8: expected EINVAL, got success");
TEST_CASE(mask_bad_len, "KVM_SET_SIGNAL_MASK rejects a len other than the kernel's sigset size "
	  "with EINVAL and unreadable memory with EFAULT")
{
	static const uint32_t bad_lens[] = { 0, 1, 4, 7, 9, 16, sizeof(sigset_t), UINT32_MAX,
					     KVM_SIGSET_BYTES /* only for negative control 7 */ };
	unsigned int nr = sizeof(bad_lens) / sizeof(bad_lens[0]) -
			  (test_opts.negative_control == NC_MASK_LEN ? 0 : 1);
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, spin_guest, NULL);
	struct kvm_signal_mask *edge;
	sigset_t set;
	uint8_t *pages;
	unsigned int i;

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	for (i = 0; i < nr; i++) {
		int r = __vcpu_set_signal_mask(vcpu, bad_lens[i], &set);

		TEST_ASSERT(r == -EINVAL, "KVM_SET_SIGNAL_MASK with len %u: expected EINVAL, got %s",
			    bad_lens[i], r ? strerrorname_np(-r) : "success");
	}
	TEST_ASSERT_EQ(__vcpu_set_signal_mask(vcpu, KVM_SIGSET_BYTES, &set), 0);
	TEST_ASSERT_EQ(__vcpu_set_signal_mask(vcpu, KVM_SIGSET_BYTES, NULL), 0);

	/* len readable, the set itself on an inaccessible page. */
	pages = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(pages != MAP_FAILED, "mmap: %s", strerror(errno));
	TEST_ASSERT(!mprotect(pages + PAGE_SIZE, PAGE_SIZE, PROT_NONE), "mprotect: %s",
		    strerror(errno));
	edge = (struct kvm_signal_mask *)(pages + PAGE_SIZE - sizeof(*edge));
	edge->len = KVM_SIGSET_BYTES;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, edge), EFAULT);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, pages + PAGE_SIZE), EFAULT);
	munmap(pages, 2 * PAGE_SIZE);
	vm_destroy(vm);
}

static bool call_remove_mask(struct vcpu_runner *r)
{
	vcpu_set_signal_mask(r->vcpu, NULL);
	return true;
}

TEST_CASE(mask_removed, "after KVM_SET_SIGNAL_MASK(NULL) a kick blocked in the thread no "
	  "longer ends KVM_RUN")
{
	struct kick_shared *s;
	struct vm *vm;
	struct vcpu_runner *r = masked_spinner(&vm, &s, true);
	uint64_t counter;

	vcpu_runner_call(r, call_remove_mask);
	vcpu_runner_run(r);
	wait_beyond(&s->counter, SPIN_PROGRESS_STEPS, "spinning vCPU");
	vcpu_kick(r->vcpu);
	usleep(NO_INTERRUPT_MS * 1000);
	counter = s->counter;
	TEST_ASSERT(!vcpu_runner_done(r), "a kick blocked in the thread ended KVM_RUN without a KVM "
		    "signal mask: %s", vcpu_runner_result(r));
	wait_beyond(&s->counter, counter, "spinning vCPU with a blocked kick");
	/* Let the guest leave on its own; the kick is still queued. */
	s->stop = 1;
	wait_exit(r, "stopping the spin loop");
	TEST_ASSERT_EQ(vcpu_runner_expect_sync(r, "stopping the spin loop")->args[0], s->counter);
	TEST_ASSERT(vcpu_runner_kick_pending(r), "the blocked kick is not pending");
	TEST_ASSERT(vcpu_runner_kick_consume(r), "sigtimedwait found no pending kick");
	vcpu_runner_stop(r);
	vm_destroy(vm);
}

/* ---- 5: the signal_exits statistic ---- */

TEST_CONTROL(signal_exits_stat, 8, "passes", "-",
	     "one signal exit too many is expected",
	     "spinning vCPU: signal_exits rose by [0-9]+, expected [0-9]+ \\(one per kick");
TEST_CASE(signal_exits_stat, "the signal_exits statistic counts each signal exit, from guest "
	  "mode and from HLT, and not immediate exits")
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm;
	struct kick_shared *s;
	struct vcpu *spinner, *halter;
	struct vcpu_runner *rs, *rh;
	uint64_t spin_before, halt_before, spin_exits = 0, halt_exits = 0, immediate = 0;
	uint64_t spin_delta, halt_delta, v;
	bool have_blocking;
	int round;

	require_binary_stats();
	vm = vm_create(&opts);
	s = vm_alloc(vm, sizeof(*s));
	spinner = vcpu_add(vm, 0, spin_guest, s);
	halter = vcpu_add(vm, 1, halt_guest, s);
	TEST_REQUIRE(__vcpu_stat(spinner, "signal_exits", &v), "no 'signal_exits' vCPU statistic");
	have_blocking = vcpu_open_blocking_stat(halter);
	vm_set_handler(vm, WAKE_VECTOR, halt_wake);
	vm_set_guest_data(vm, s);
	spin_before = vcpu_stat(spinner, "signal_exits");
	halt_before = vcpu_stat(halter, "signal_exits");
	rs = vcpu_runner_create(spinner, VCPU_RUNNER_KICK_HANDLED);
	rh = vcpu_runner_create(halter, VCPU_RUNNER_KICK_HANDLED);

	for (round = 1; round <= SIGNAL_EXIT_ROUNDS; round++) {
		uint64_t from = s->counter;

		vcpu_runner_run(rs);
		wait_beyond(&s->counter, from + SPIN_PROGRESS_STEPS, "spinning vCPU");
		kick_out(rs, "kicked spinning vCPU");
		spin_exits++;
		if (kvm_check_cap(KVM_CAP_IMMEDIATE_EXIT) > 0) {
			immediate_exit_out(rs);
			immediate++;
		}

		vcpu_runner_run(rh);
		wait_blocked(halter, &s->halts, round, have_blocking);
		kick_out(rh, "kicked halted vCPU");
		halt_exits++;
		vcpu_runner_run(rh);
		vm_signal_msi(vm, 1, WAKE_VECTOR);
		wait_exit(rh, "woken halted vCPU");
		vcpu_runner_expect_sync(rh, "woken halted vCPU");
	}
	if (test_opts.negative_control == NC_SIGNAL_EXITS_MISCOUNT)
		spin_exits++;
	spin_delta = vcpu_stat(spinner, "signal_exits") - spin_before;
	halt_delta = vcpu_stat(halter, "signal_exits") - halt_before;
	TEST_ASSERT(spin_delta == spin_exits, "spinning vCPU: signal_exits rose by %" PRIu64
		    ", expected %" PRIu64 " (one per kick; %" PRIu64 " immediate exits must not count)",
		    spin_delta, spin_exits, immediate);
	TEST_ASSERT(halt_delta == halt_exits, "halted vCPU: signal_exits rose by %" PRIu64
		    ", expected %" PRIu64 " (one per kick)", halt_delta, halt_exits);
	test_diag("signal_exits: +%" PRIu64 " spinning, +%" PRIu64 " halted; %" PRIu64
		  " immediate exits not counted", spin_delta, halt_delta, immediate);
	s->stop = 1;
	vcpu_runner_run(rs);
	wait_exit(rs, "stopping the spin loop");
	vcpu_runner_stop(rs);
	vcpu_runner_stop(rh);
	vm_destroy(vm);
}
