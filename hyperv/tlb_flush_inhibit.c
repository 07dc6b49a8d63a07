// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance test for the PROPOSED, UNMERGED vCPU ioctl
 * KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (Nikolas Wipper, "KVM: x86: Introduce new
 * ioctl KVM_HYPERV_SET_TLB_FLUSH_INHIBIT", v1, Oct 2024; chiefly patch 2/7
 * "Implement Hyper-V's vCPU suspended state"; ABI, posted semantics and the
 * review in docs/interfaces.md section 1).
 *
 * Behaviour guarded: a vCPU whose Hyper-V PV TLB flush hypercall targets a
 * vCPU with flushes inhibited is suspended inside KVM_RUN at the VMCALL (no
 * result, RIP not advanced, invisible to userspace) until that vCPU's inhibit
 * is cleared; clearing wakes exactly the vCPUs waiting on the clearing vCPU,
 * and a woken vCPU retries and may suspend again on another inhibited target.
 * A failure means a kernel carrying (a revival of) the series breaks the
 * ordering a VSM-emulating VMM relies on: a flush that completes early lets a
 * guest see a TLB flushed under HvTranslateVirtualAddress's feet, and a lost
 * wakeup hangs a guest vCPU forever.
 *
 * No released kernel has the interface: without it every case SKIPs naming
 * it. The probe sets and clears the inhibit on a Hyper-V vCPU and requires 0
 * from both, a rejected malformed neighbour of the command (a kernel that
 * accepts unknown ioctls proves nothing), and KVM_CHECK_EXTENSION(239) == 1 on
 * this x86 VM, as the series posted it (upstream, 239 is an arm64 capability,
 * so 239 alone proves nothing, but a kernel where 0x4008aed6 means something
 * else would not report it on x86). The probe deliberately does NOT test the
 * suspension itself: that would turn a broken implementation into a SKIP;
 * observing it is what the cases do.
 *
 * How suspension is observed without sleeps: the guest writes a counter just
 * before the VMCALL and another after it; KVM's "blocking" vCPU statistic
 * (1 while the vCPU waits in kvm_vcpu_block(), readable while the vCPU thread
 * is inside KVM_RUN) then shows the vCPU parked by KVM with the call in flight.
 * Signals pull it out of KVM_RUN to read RIP, RAX and the MP state, and the
 * "exits" statistic shows whether guest code ran. The only sleeps are the
 * "nothing happens" windows (--hold-ms); every wait is bounded (--bound-ms)
 * and the bounds are printed.
 *
 * --negative-control N (1..NR_JUDGE_CONTROLS) feeds each verdict function a
 * recorded conforming observation and then one with a single fault; the case
 * must fail with the message the live check would print.
 * --negative-control 100 pretends the interface exists (the ioctl becomes a
 * no-op, as on a kernel that wrongly returns 0): on real KVM with Hyper-V the
 * cases must fail at their first check.
 *
 * --simulate-series 1 plays the posted semantics in userspace on a kernel
 * with Hyper-V but without the series, to exercise this test's own machinery
 * (runners, signals, statistics, verdicts) on its passing paths. It proves
 * nothing about a kernel.
 *
 * The flusher vCPUs, their runner threads, the ioctl and the simulation are
 * lib/hv_inhibit.c and lib/hv_inhibit_sim.c (how they work: include/hv_inhibit.h);
 * this file holds the scenarios, what they observe and the verdicts.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "apic.h"
#include "host.h"
#include "hv_inhibit.h"
#include "hyperv.h"
#include "hyperv_flush.h"
#include "kvm_proposed_uapi.h"
#include "stats.h"
#include "vm.h"

#define MAX_KICKS          4
#define LIVE_CONTROL       100
#define NR_JUDGE_CONTROLS  20
/* Case 5: at most this many toggles between checks of the flushers. */
#define STRESS_TOGGLE_GAP_US 300
#define STRESS_ALL_ONE_IN    8          /* one request in 8 targets "all" */
#define STRESS_DEFAULT_S     3
#define STRESS_DEFAULT_ITERS 1000000

static uint64_t bound_ms = 10000;
TEST_OPTION("bound-ms", bound_ms,
	    "bound for anything that must happen (reach the call, block, complete after clearing)");
static uint64_t hold_ms = 100;
TEST_OPTION("hold-ms", hold_ms, "window in which nothing may happen while suspended");
static uint64_t nr_stress_targets = 3;
TEST_OPTION("targets", nr_stress_targets, "case 5: inhibited target vCPUs (1-8)");
static uint64_t nr_stress_flushers = 3;
TEST_OPTION("flushers", nr_stress_flushers, "case 5: flusher vCPUs (1-8)");
static uint64_t simulate;
TEST_OPTION("simulate-series", simulate,
	    "1: emulate the posted semantics in userspace (tests this test, not the kernel)");
TEST_NEGATIVE_CONTROLS("1-20: feed a verdict a faulty observation; 100: pretend the ioctl works (must fail)");
/* Where the controls below can be shown (see TEST_CONTROL in ktest.h). */
TEST_CONTROL_PROBE(hyperv, "hyperv/tlb_flush", "space_slow", "--yield-spins 0",
		   "pass");

/* A test VM (include/hv_inhibit.h) run with this binary's options. */
static struct inhibit_test *create_test(const struct inhibit_layout *layout)
{
	const struct inhibit_config config = {
		.bound_ms = bound_ms,
		.simulate = simulate,
		.ioctl_no_op = test_opts.negative_control == LIVE_CONTROL,
	};

	return inhibit_test_create(layout, &config);
}

static void guest_plain(void *arg)
{
}

static const char *errno_str(long r)
{
	static char buf[64];

	if (r >= 0)
		snprintf(buf, sizeof(buf), "%ld (success)", r);
	else
		snprintf(buf, sizeof(buf), "-%s", strerrorname_np((int)-r) ?: "?");
	return buf;
}

static void require_inhibit_interface(void)
{
	struct { uint8_t bytes[16]; } wide = { { 0 } };
	struct vm *vm;
	struct vcpu *v;
	long set, clear, neighbour;
	int cap;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_HYPERV) > 0,
		     "KVM_CAP_HYPERV not supported (no Hyper-V emulation), so the proposed "
		     "KVM_HYPERV_SET_TLB_FLUSH_INHIBIT cannot be present");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_HYPERV_CPUID) > 0,
		     "KVM_CAP_HYPERV_CPUID not supported, needed to probe KVM_HYPERV_SET_TLB_FLUSH_INHIBIT");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_HYPERV_TLBFLUSH) > 0,
		     "KVM_CAP_HYPERV_TLBFLUSH not supported: no PV TLB flush hypercalls to inhibit");
	if (test_opts.negative_control == LIVE_CONTROL) {
		test_diag("NEGATIVE CONTROL: pretending KVM_HYPERV_SET_TLB_FLUSH_INHIBIT works "
			  "(every call is a no-op); the checks below must fail");
		return;
	}
	if (simulate) {
		test_diag("SIMULATION: the series' semantics are played by this test in userspace; "
			  "a pass says nothing about the kernel");
		return;
	}

	vm = vm_create(NULL);
	v = vcpu_add(vm, 0, guest_plain, NULL);
	vcpu_enable_hyperv(v);          /* the posted code needs the Hyper-V context */
	set = inhibit_ioctl(v, KVM_HYPERV_INHIBIT_TLB_FLUSH, 0, 0);
	clear = inhibit_ioctl(v, KVM_HYPERV_UNINHIBIT_TLB_FLUSH, 0, 0);
	neighbour = __vcpu_ioctl(v, _IOW(KVMIO, 0xd6, wide), &wide);
	cap = vm_check_cap(vm, KVM_CAP_HYPERV_TLB_FLUSH_INHIBIT_PROPOSED);
	vm_destroy(vm);

	TEST_REQUIRE(set != -EINVAL && set != -ENOTTY,
		     "proposed KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (vCPU ioctl 0x%lx, unmerged) not "
		     "implemented: setting the inhibit on a Hyper-V vCPU returned %s",
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, errno_str(set));
	TEST_REQUIRE(set == 0 && clear == 0,
		     "KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (0x%lx) is not the posted interface: "
		     "set returned %s, clear %s",
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, errno_str(set), errno_str(clear));
	TEST_REQUIRE(neighbour < 0,
		     "probe inconclusive: the kernel also accepted the malformed command 0x%lx "
		     "(same number, 16-byte argument), so accepting 0x%lx proves nothing",
		     (unsigned long)_IOW(KVMIO, 0xd6, wide),
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT);
	TEST_REQUIRE(cap == 1,
		     "command 0x%lx was accepted but KVM_CHECK_EXTENSION(239) = %d on x86, not 1 "
		     "as the series posted (239 is KVM_CAP_ARM_WRITABLE_IMP_ID_REGS upstream): "
		     "not KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, or a revival renumbered it (update "
		     "include/kvm_proposed_uapi.h)",
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, cap);
}

/* ------------------------------------------------------------------------
 * Observations and verdicts. Each verdict is a pure function of what was
 * observed, so --negative-control can feed it recorded faulty observations.
 */
static char verdict_buf[768];
#define VERDICT(...) (snprintf(verdict_buf, sizeof(verdict_buf), __VA_ARGS__), verdict_buf)

struct suspension_obs {
	char what[160];
	uint64_t bound_ms;
	bool reached;                   /* guest wrote started_seq */
	bool blocked;                   /* "blocking" == 1 with the call in flight */
	bool completed;                 /* guest got past the hypercall */
	uint64_t result;
	unsigned int foreign_returns;
	char foreign_desc[INHIBIT_FOREIGN_DESC_LEN];
	uint64_t vmcall_rip, untouched_rax;
	unsigned int nr_kicks;
	struct inhibit_kick_snapshot kick[MAX_KICKS];
	uint64_t hypercalls_delta;      /* diagnostic only */
};

static const char *judge_suspension(const struct suspension_obs *o)
{
	unsigned int i;

	if (o->foreign_returns)
		return VERDICT("%s: KVM_RUN returned to userspace %u time(s) while the flush was "
			       "pending (last: %s); a suspended vCPU must stay inside KVM_RUN",
			       o->what, o->foreign_returns, o->foreign_desc);
	if (o->completed)
		return VERDICT("%s: completed (RAX 0x%" PRIx64 ") while a target was inhibited; "
			       "expected the caller to stay suspended at the VMCALL", o->what,
			       o->result);
	if (!o->reached)
		return VERDICT("%s: the guest did not reach the hypercall within %" PRIu64 " ms",
			       o->what, o->bound_ms);
	if (!o->blocked)
		return VERDICT("%s: within %" PRIu64 " ms the call neither completed nor left the "
			       "vCPU blocked in KVM (statistic 'blocking' stayed 0)", o->what,
			       o->bound_ms);
	for (i = 0; i < o->nr_kicks; i++) {
		const struct inhibit_kick_snapshot *k = &o->kick[i];

		if (k->err != EINTR)
			return VERDICT("%s: signal %u: KVM_RUN returned %s, expected EINTR",
				       o->what, i + 1, k->err ? strerror(k->err) : "0");
		if (k->via_signal && k->exit_reason != KVM_EXIT_INTR)
			return VERDICT("%s: signal %u: exit reason %s, expected KVM_EXIT_INTR",
				       o->what, i + 1, exit_reason_name(k->exit_reason));
		if (k->rip != o->vmcall_rip)
			return VERDICT("%s: signal %u: RIP 0x%" PRIx64 ", expected the VMCALL at 0x%"
				       PRIx64 ": a suspended vCPU's hypercall must not be skipped",
				       o->what, i + 1, k->rip, o->vmcall_rip);
		if (k->rax != o->untouched_rax)
			return VERDICT("%s: signal %u: RAX 0x%" PRIx64 ", expected the untouched 0x%"
				       PRIx64 ": no result may be written while suspended",
				       o->what, i + 1, k->rax, o->untouched_rax);
		if (k->mp_state != KVM_MP_STATE_RUNNABLE)
			return VERDICT("%s: signal %u: MP state %u, expected RUNNABLE (%u): the "
				       "suspension must not show in the MP state", o->what, i + 1,
				       k->mp_state, KVM_MP_STATE_RUNNABLE);
		if (k->no_reentry)
			continue;
		if (k->reentry_exits)
			return VERDICT("%s: re-entering KVM_RUN after signal %u ran guest code (%"
				       PRIu64 " VM exits) although the vCPU is suspended", o->what,
				       i + 1, k->reentry_exits);
		if (!k->reblocked)
			return VERDICT("%s: after re-entering KVM_RUN following signal %u the vCPU "
				       "did not block again within %" PRIu64 " ms", o->what, i + 1,
				       o->bound_ms);
	}
	return NULL;
}

struct release_obs {
	char what[160];
	const char *context;            /* "after clearing vCPU 0" / "at once" */
	uint64_t bound_ms;
	bool completed;
	uint64_t result;
	uint32_t rep_cnt;
	unsigned int foreign_returns;
	char foreign_desc[INHIBIT_FOREIGN_DESC_LEN];
	uint64_t blocking;              /* at the end of the wait, for the message */
	uint64_t latency_ns;
};

static const char *judge_release(const struct release_obs *o)
{
	if (o->foreign_returns)
		return VERDICT("%s: KVM_RUN returned to userspace unexpectedly (%s)", o->what,
			       o->foreign_desc);
	if (!o->completed)
		return VERDICT("%s: not completed within %" PRIu64 " ms %s (statistic 'blocking' "
			       "= %" PRIu64 ")", o->what, o->bound_ms, o->context, o->blocking);
	if (hv_status(o->result) != HV_STATUS_SUCCESS)
		return VERDICT("%s: completed %s with status 0x%x, expected HV_STATUS_SUCCESS",
			       o->what, o->context, hv_status(o->result));
	if (hv_reps_completed(o->result) != o->rep_cnt)
		return VERDICT("%s: completed %s reporting %u reps, expected %u", o->what,
			       o->context, hv_reps_completed(o->result), o->rep_cnt);
	return NULL;
}

#define CHECK(judgement)                                                       \
	do {                                                                   \
		const char *__v = (judgement);                                 \
		if (__v)                                                       \
			test_fail("%s", __v);                                  \
	} while (0)

static void observe_suspension(struct inhibit_test *t, uint32_t id, uint64_t seq,
			       unsigned int nr_kicks, struct suspension_obs *o)
{
	struct inhibit_flusher *f = &t->fl[id];
	struct inhibit_flusher_slot *s = f->slot;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	snprintf(o->what, sizeof(o->what), "vCPU %u: %s", id, f->what);
	o->bound_ms = bound_ms;
	o->vmcall_rip = t->vmcall_rip;
	o->untouched_rax = t->page;
	INHIBIT_WAIT_UNTIL(s->done_seq == seq || atomic_load(&f->foreign_returns) ||
			   (s->started_seq == seq && inhibit_blocking(f)), bound_ms);
	o->reached = s->started_seq == seq;
	o->blocked = o->reached && s->done_seq != seq && inhibit_blocking(f);
	for (i = 0; o->blocked && i < nr_kicks && i < MAX_KICKS; i++) {
		uint64_t exits_before = inhibit_exits(f);
		struct inhibit_kick_snapshot *k = &o->kick[o->nr_kicks++];

		/* Known to be inside KVM_RUN (blocked): a bare signal cannot be lost. */
		*k = inhibit_kick(f, false, false);
		k->reblocked = INHIBIT_WAIT_UNTIL(s->done_seq == seq ||
						  atomic_load(&f->foreign_returns) ||
						  inhibit_blocking(f), bound_ms) &&
			       s->done_seq != seq;
		k->reentry_exits = inhibit_exits(f) - exits_before;
	}
	if (o->blocked)
		usleep(hold_ms * 1000);
	o->completed = s->done_seq == seq;
	o->result = s->result;
	o->foreign_returns = atomic_load(&f->foreign_returns);
	memcpy(o->foreign_desc, f->foreign_desc, sizeof(o->foreign_desc));
	o->hypercalls_delta = vcpu_stat(f->vcpu, "hypercalls") - f->hypercalls_at_post;
}

static void observe_release(struct inhibit_test *t, uint32_t id, uint64_t seq,
			    const char *context, struct release_obs *o)
{
	struct inhibit_flusher *f = &t->fl[id];
	uint64_t start = now_ns();

	memset(o, 0, sizeof(*o));
	snprintf(o->what, sizeof(o->what), "vCPU %u: %s", id, f->what);
	o->context = context;
	o->bound_ms = bound_ms;
	o->rep_cnt = f->slot->call.f.rep_cnt;
	o->completed = INHIBIT_WAIT_UNTIL((f->slot->done_seq == seq && inhibit_idle(f)) ||
					  atomic_load(&f->foreign_returns), bound_ms) &&
		       f->slot->done_seq == seq;
	o->latency_ns = now_ns() - start;
	o->result = f->slot->result;
	o->blocking = inhibit_blocking(f);
	o->foreign_returns = atomic_load(&f->foreign_returns);
	memcpy(o->foreign_desc, f->foreign_desc, sizeof(o->foreign_desc));
}

static void diag_bounds(void)
{
	test_diag("bounds: reach/block/complete within %" PRIu64 " ms each; nothing may happen "
		  "during %" PRIu64 " ms holds (--bound-ms, --hold-ms)", bound_ms, hold_ms);
}

/* The full cycle: inhibit target, flush, suspended, clear, released. */
static void suspend_and_release(struct inhibit_test *t, uint32_t flusher, uint32_t target,
				const struct hv_flush_spec *spec, unsigned int nr_kicks)
{
	struct suspension_obs so;
	struct release_obs ro;
	char context[64];
	uint64_t seq;

	inhibit_set(t, target, true);
	seq = inhibit_post_flush(t, flusher, spec, false);
	observe_suspension(t, flusher, seq, nr_kicks, &so);
	CHECK(judge_suspension(&so));
	inhibit_set(t, target, false);
	snprintf(context, sizeof(context), "after the inhibit of vCPU %u was cleared", target);
	observe_release(t, flusher, seq, context, &ro);
	CHECK(judge_release(&ro));
	test_diag("%s: suspended at the VMCALL (%u signal(s): EINTR, nothing written, blocked "
		  "again); completed %" PRIu64 " us after clearing; 'hypercalls' +%" PRIu64
		  " while suspended", so.what, so.nr_kicks, ro.latency_ns / 1000,
		  so.hypercalls_delta);
}

/* A flush that must complete without waiting for anybody. */
static void flush_completes(struct inhibit_test *t, uint32_t flusher,
			    const struct hv_flush_spec *spec, const char *context)
{
	struct release_obs ro;
	uint64_t seq = inhibit_post_flush(t, flusher, spec, false);

	observe_release(t, flusher, seq, context, &ro);
	CHECK(judge_release(&ro));
}

/* ------------------------------------------------------------------------
 * --negative-control 1..NR_JUDGE_CONTROLS: recorded observations.
 */
#define REC_VMCALL 0x401000ull
#define REC_PAGE   0x401000ull

static struct suspension_obs rec_suspension(void)
{
	struct suspension_obs o = {
		.what = "vCPU 1: HvFlushVirtualAddressSpace (fast) to VP set 0x1 (recorded)",
		.bound_ms = 10000, .reached = true, .blocked = true,
		.vmcall_rip = REC_VMCALL, .untouched_rax = REC_PAGE, .nr_kicks = 1,
		.kick = { { .err = EINTR, .exit_reason = KVM_EXIT_INTR, .via_signal = true,
			    .rip = REC_VMCALL, .rax = REC_PAGE, .mp_state = KVM_MP_STATE_RUNNABLE,
			    .reblocked = true } },
	};
	return o;
}

static struct release_obs rec_release(void)
{
	struct release_obs o = {
		.what = "vCPU 1: HvFlushVirtualAddressList (slow) to VP set 0x1 (recorded)",
		.context = "after the inhibit of vCPU 0 was cleared", .bound_ms = 10000,
		.completed = true, .result = 1ull << HV_HYPERCALL_REP_COMP_OFFSET, .rep_cnt = 1,
	};
	return o;
}

struct selective_obs {
	struct release_obs a_waiter[2]; /* waiting on A, A cleared */
	bool b_completed_early;
	uint64_t b_exits_delta;
	bool b_blocked;
	bool ab_completed_early;
	uint64_t ab_exits_delta;
	bool ab_reblocked;
	struct release_obs b_after[2];  /* FB and FAB after B cleared */
	uint32_t a, b, fb, fab;
};

static const char *judge_selective(const struct selective_obs *o)
{
	const char *v;
	int i;

	for (i = 0; i < 2; i++)
		if ((v = judge_release(&o->a_waiter[i])))
			return v;
	if (o->b_completed_early)
		return VERDICT("vCPU %u (waiting on vCPU %u) completed when only vCPU %u was "
			       "cleared", o->fb, o->b, o->a);
	if (o->b_exits_delta)
		return VERDICT("vCPU %u, suspended waiting on vCPU %u, re-entered the guest (%" PRIu64
			       " VM exits) when vCPU %u was cleared: clearing must wake only the "
			       "vCPUs waiting on the clearing vCPU", o->fb, o->b, o->b_exits_delta,
			       o->a);
	if (!o->b_blocked)
		return VERDICT("vCPU %u (waiting on vCPU %u) is no longer blocked after vCPU %u was "
			       "cleared", o->fb, o->b, o->a);
	if (o->ab_completed_early)
		return VERDICT("vCPU %u (targets %u and %u) completed while vCPU %u was still "
			       "inhibited", o->fab, o->a, o->b, o->b);
	if (!o->ab_exits_delta)
		return VERDICT("vCPU %u (suspended on vCPU %u, also targeting inhibited vCPU %u) "
			       "was not woken to retry when vCPU %u was cleared (no VM exit within "
			       "%" PRIu64 " ms)", o->fab, o->a, o->b, o->a, o->a_waiter[0].bound_ms);
	if (!o->ab_reblocked)
		return VERDICT("vCPU %u retried after vCPU %u was cleared but did not suspend again "
			       "on inhibited vCPU %u", o->fab, o->a, o->b);
	for (i = 0; i < 2; i++)
		if ((v = judge_release(&o->b_after[i])))
			return v;
	return NULL;
}

static struct selective_obs rec_selective(void)
{
	struct selective_obs o = {
		.b_blocked = true, .ab_exits_delta = 1, .ab_reblocked = true,
		.a = 0, .b = 1, .fb = 4, .fab = 5,
	};

	o.a_waiter[0] = o.a_waiter[1] = o.b_after[0] = o.b_after[1] = rec_release();
	return o;
}

struct irq_obs {
	uint32_t vcpu;
	int msi_ret;
	uint64_t count_while_suspended;
	bool done_while_suspended;
	bool irr_pending, isr_set;
	struct release_obs rel;
	uint64_t count_final, irq_rip, irq_rip_first, vmcall_rip, irq_done_seq_first, seq;
	bool twice_is_host_quirk;       /* host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE) */
};

static const char *judge_irq(const struct irq_obs *o)
{
	const char *v;

	if (o->msi_ret <= 0)
		return VERDICT("KVM_SIGNAL_MSI to vCPU %u returned %d: interrupt not accepted",
			       o->vcpu, o->msi_ret);
	if (o->count_while_suspended || o->done_while_suspended)
		return VERDICT("vCPU %u ran guest code while suspended: interrupt taken %" PRIu64
			       " time(s), hypercall %s", o->vcpu, o->count_while_suspended,
			       o->done_while_suspended ? "completed" : "pending");
	if (!o->irr_pending || o->isr_set)
		return VERDICT("vCPU %u: vector 0x%x is %s in the IRR and %s in the ISR while "
			       "suspended; expected pending, not in service", o->vcpu,
			       INHIBIT_IRQ_VECTOR, o->irr_pending ? "set" : "clear",
			       o->isr_set ? "set" : "clear");
	if ((v = judge_release(&o->rel)))
		return v;
	/* Twice is a known anomaly of some hosts (the caller says so); the
	 * first delivery must still be the right one. */
	if (o->count_final != 1 && !(o->count_final == 2 && o->twice_is_host_quirk))
		return VERDICT("vCPU %u took the interrupt %" PRIu64 " time(s) after resuming "
			       "(first at RIP 0x%" PRIx64 ", last at 0x%" PRIx64 "; the VMCALL is "
			       "0x%" PRIx64 "), expected exactly once", o->vcpu, o->count_final,
			       o->irq_rip_first, o->irq_rip, o->vmcall_rip);
	if (o->irq_rip_first != o->vmcall_rip || o->irq_done_seq_first == o->seq)
		return VERDICT("vCPU %u took the interrupt at RIP 0x%" PRIx64 " (hypercall %s), "
			       "expected at the VMCALL 0x%" PRIx64 " before the retried hypercall",
			       o->vcpu, o->irq_rip_first,
			       o->irq_done_seq_first == o->seq ? "done" : "pending", o->vmcall_rip);
	return NULL;
}

static struct irq_obs rec_irq(void)
{
	struct irq_obs o = {
		.vcpu = 1, .msi_ret = 1, .irr_pending = true, .count_final = 1,
		.irq_rip = REC_VMCALL, .irq_rip_first = REC_VMCALL, .vmcall_rip = REC_VMCALL,
		.irq_done_seq_first = 0, .seq = 1,
	};

	o.rel = rec_release();
	return o;
}

/* Case 5: one flush seen complete, or one still owed a wakeup. */
struct stress_obs {
	uint32_t vcpu;
	uint64_t seq;
	char what[160];
	uint64_t targets;               /* VP mask (all targets for "all") */
	uint64_t covered;               /* inhibited since before it was issued, not cleared */
	bool completed;
	uint64_t result;
	uint32_t rep_cnt;
	uint64_t owed_ns, bound_ns;     /* all targets clear for owed_ns */
	uint64_t blocking;
	char clears[160];               /* recent clears of its targets */
};

static const char *judge_stress(const struct stress_obs *o)
{
	if (o->completed && o->covered)
		return VERDICT("vCPU %u completed flush #%" PRIu64 " (%s) while target(s) 0x%"
			       PRIx64 " had been inhibited since before it was issued and were not "
			       "yet cleared", o->vcpu, o->seq, o->what, o->covered);
	if (o->completed && (hv_status(o->result) != HV_STATUS_SUCCESS ||
			     hv_reps_completed(o->result) != o->rep_cnt))
		return VERDICT("vCPU %u flush #%" PRIu64 " (%s) returned 0x%" PRIx64 ", expected "
			       "success with %u reps", o->vcpu, o->seq, o->what, o->result, o->rep_cnt);
	if (!o->completed && o->owed_ns >= o->bound_ns)
		return VERDICT("lost wakeup: vCPU %u flush #%" PRIu64 " (%s, targets 0x%" PRIx64
			       ") not completed %" PRIu64 " ms after all its targets were clear "
			       "('blocking' = %" PRIu64 "; clears: %s)", o->vcpu, o->seq, o->what,
			       o->targets, o->owed_ns / 1000000, o->blocking, o->clears);
	return NULL;
}

static struct stress_obs rec_stress(void)
{
	struct stress_obs o = {
		.vcpu = 3, .seq = 17, .what = "HvFlushVirtualAddressSpaceEx (fast) to VP set 0x5",
		.targets = 0x5, .completed = true, .bound_ns = 10000000000ull,
		.clears = "vCPU 0 at +1.2 ms, vCPU 2 at +3.4 ms",
	};
	return o;
}

struct flags_obs {
	long ret;
	bool took_effect;               /* a flush to the vCPU then suspended */
};

static const char *judge_flags(const struct flags_obs *o)
{
	if (o->ret != -EINVAL)
		return VERDICT("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with flags 0x1 returned %s; the "
			       "documented ABI rejects non-zero flags with EINVAL (posted v1 does "
			       "not check them, which blocks folding 'inhibit' into flags later)",
			       errno_str(o->ret));
	if (o->took_effect)
		return VERDICT("the rejected call (flags 0x1, inhibit 1) still inhibited flushes");
	return NULL;
}

static const char *judge_efault(long ret)
{
	if (ret != -EFAULT)
		return VERDICT("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with an unreadable argument "
			       "returned %s, expected -EFAULT", errno_str(ret));
	return NULL;
}

/* Builds a recorded observation, applies the fault if asked, judges it. */
struct judge_control {
	const char *case_ident;
	const char *fault;
	const char *(*run)(bool faulty);
};

#define CONTROL_FN(name, type, rec, judge, mutation)                          \
	static const char *name(bool faulty)                                  \
	{                                                                     \
		type o = rec();                                               \
		if (faulty) { mutation; }                                     \
		return judge(&o);                                             \
	}

CONTROL_FN(nc_completed, struct suspension_obs, rec_suspension, judge_suspension,
	   o.completed = true)
CONTROL_FN(nc_not_blocked, struct suspension_obs, rec_suspension, judge_suspension,
	   o.blocked = false)
CONTROL_FN(nc_returned, struct suspension_obs, rec_suspension, judge_suspension,
	   (o.foreign_returns = 1, strcpy(o.foreign_desc, "vCPU 1: KVM_EXIT_HYPERV (27)")))
CONTROL_FN(nc_rip, struct suspension_obs, rec_suspension, judge_suspension,
	   o.kick[0].rip = REC_VMCALL + 3)
CONTROL_FN(nc_rax, struct suspension_obs, rec_suspension, judge_suspension,
	   o.kick[0].rax = HV_STATUS_SUCCESS)
CONTROL_FN(nc_mp_state, struct suspension_obs, rec_suspension, judge_suspension,
	   o.kick[0].mp_state = KVM_MP_STATE_HALTED)
CONTROL_FN(nc_not_released, struct release_obs, rec_release, judge_release,
	   o.completed = false)
CONTROL_FN(nc_status, struct release_obs, rec_release, judge_release,
	   o.result = HV_STATUS_INVALID_HYPERCALL_INPUT)
CONTROL_FN(nc_not_at_once, struct release_obs, rec_release, judge_release,
	   (o.completed = false, o.context = "although its targets exclude the inhibited vCPU"))
CONTROL_FN(nc_b_woken, struct selective_obs, rec_selective, judge_selective,
	   o.b_exits_delta = 1)
CONTROL_FN(nc_ab_early, struct selective_obs, rec_selective, judge_selective,
	   o.ab_completed_early = true)
CONTROL_FN(nc_ab_not_woken, struct selective_obs, rec_selective, judge_selective,
	   o.ab_exits_delta = 0)
CONTROL_FN(nc_reentry_ran, struct suspension_obs, rec_suspension, judge_suspension,
	   o.kick[0].reentry_exits = 1)
CONTROL_FN(nc_irq_early, struct irq_obs, rec_irq, judge_irq, o.count_while_suspended = 1)
CONTROL_FN(nc_irq_twice, struct irq_obs, rec_irq, judge_irq, o.count_final = 2)
/* A host quirk names "twice", nothing more. */
CONTROL_FN(nc_irq_thrice_quirk_host, struct irq_obs, rec_irq, judge_irq,
	   (o.count_final = 3, o.twice_is_host_quirk = true))
CONTROL_FN(nc_irq_after_retry, struct irq_obs, rec_irq, judge_irq,
	   (o.irq_rip_first = REC_VMCALL + 4, o.irq_done_seq_first = o.seq))
CONTROL_FN(nc_stress_early, struct stress_obs, rec_stress, judge_stress, o.covered = 0x4)
CONTROL_FN(nc_stress_lost, struct stress_obs, rec_stress, judge_stress,
	   (o.completed = false, o.owed_ns = o.bound_ns, o.blocking = 1))
static struct flags_obs rec_flags(void)
{
	return (struct flags_obs){ .ret = -EINVAL };
}

CONTROL_FN(nc_flags, struct flags_obs, rec_flags, judge_flags, o.ret = 0)

static const struct judge_control judge_controls[NR_JUDGE_CONTROLS] = {
	{ "suspends_each_call", "flush completed while its target was inhibited", nc_completed },
	{ "suspends_each_call", "caller never blocked in KVM", nc_not_blocked },
	{ "suspends_each_call", "KVM_RUN returned to userspace while suspended", nc_returned },
	{ "suspends_each_call", "RIP advanced past the VMCALL", nc_rip },
	{ "suspends_each_call", "RAX written while suspended", nc_rax },
	{ "suspends_each_call", "MP state changed while suspended", nc_mp_state },
	{ "suspends_each_call", "flush not completed after the clear", nc_not_released },
	{ "suspends_each_call", "flush completed with an error status", nc_status },
	{ "only_targets_matter", "flush excluding the inhibited vCPU waited", nc_not_at_once },
	{ "selective_wake", "flusher waiting on B woken by clearing A", nc_b_woken },
	{ "selective_wake", "flusher on A and B completed while B inhibited", nc_ab_early },
	{ "selective_wake", "flusher on A and B not woken by clearing A", nc_ab_not_woken },
	{ "events_while_suspended", "re-entry after a signal ran guest code", nc_reentry_ran },
	{ "events_while_suspended", "interrupt delivered while suspended", nc_irq_early },
	{ "events_while_suspended", "interrupt delivered twice", nc_irq_twice },
	{ "events_while_suspended", "interrupt delivered after the retried hypercall",
	  nc_irq_after_retry },
	{ "ordering_stress", "flush completed while a covering target was inhibited",
	  nc_stress_early },
	{ "ordering_stress", "flush never completed after its targets were cleared",
	  nc_stress_lost },
	{ "documented_flags", "non-zero flags accepted", nc_flags },
	{ "events_while_suspended", "interrupt delivered three times where twice is a host quirk",
	  nc_irq_thrice_quirk_host },
};

/*
 * Every case starts here: the probe (SKIP without the interface), or the
 * selected recorded-observation control, after which the case returns.
 */
static bool judge_control_ran(const char *case_ident)
{
	const struct judge_control *c;
	const char *v;

	if (!test_opts.negative_control || test_opts.negative_control == LIVE_CONTROL) {
		require_inhibit_interface();
		diag_bounds();
		return false;
	}
	if (test_opts.negative_control > NR_JUDGE_CONTROLS)
		test_skip("--negative-control %" PRIu64 " does not exist (1-%d, %d)",
			  test_opts.negative_control, NR_JUDGE_CONTROLS, LIVE_CONTROL);
	c = &judge_controls[test_opts.negative_control - 1];
	if (strcmp(c->case_ident, case_ident))
		test_skip("negative control %" PRIu64 " concerns case %s", test_opts.negative_control,
			  c->case_ident);
	v = c->run(false);
	TEST_ASSERT(!v, "negative control broken: the verdict rejects the conforming "
		    "recording: %s", v);
	v = c->run(true);
	if (v)
		test_fail("NEGATIVE CONTROL %" PRIu64 " (%s): %s", test_opts.negative_control, c->fault, v);
	test_diag("NEGATIVE CONTROL %" PRIu64 " (%s) did NOT fire: the check is ineffective",
		  test_opts.negative_control, c->fault);
	return true;
}

/* ------------------------------------------------------------------------
 * The cases.
 */
#define KICKS_PER_SUSPENSION 2

TEST_CONTROL(suspends_each_call, 1, "any", "-",
	     "flush completed while its target was inhibited",
	     "NEGATIVE CONTROL 1 \\(.*\\): .*completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited; expected the caller to stay suspended at the VMCALL");
TEST_CONTROL(suspends_each_call, 2, "any", "-",
	     "caller never blocked in KVM",
	     "NEGATIVE CONTROL 2 \\(.*\\): .*within [0-9]+ ms the call neither completed nor left the vCPU blocked in KVM");
TEST_CONTROL(suspends_each_call, 3, "any", "-",
	     "KVM_RUN returned to userspace while suspended",
	     "NEGATIVE CONTROL 3 \\(.*\\): .*KVM_RUN returned to userspace [0-9]+ time\\(s\\) while the flush was pending");
TEST_CONTROL(suspends_each_call, 4, "any", "-",
	     "RIP advanced past the VMCALL",
	     "NEGATIVE CONTROL 4 \\(.*\\): .*RIP 0x[0-9a-f]+, expected the VMCALL at 0x[0-9a-f]+: a suspended vCPU's hypercall must not be skipped");
TEST_CONTROL(suspends_each_call, 5, "any", "-",
	     "RAX written while suspended",
	     "NEGATIVE CONTROL 5 \\(.*\\): .*RAX 0x[0-9a-f]+, expected the untouched 0x[0-9a-f]+: no result may be written while suspended");
TEST_CONTROL(suspends_each_call, 6, "any", "-",
	     "MP state changed while suspended",
	     "NEGATIVE CONTROL 6 \\(.*\\): .*MP state [0-9]+, expected RUNNABLE \\(0\\): the suspension must not show in the MP state");
TEST_CONTROL(suspends_each_call, 7, "any", "-",
	     "flush not completed after the clear",
	     "NEGATIVE CONTROL 7 \\(.*\\): .*not completed within [0-9]+ ms after the inhibit of vCPU [0-9]+ was cleared");
TEST_CONTROL(suspends_each_call, 8, "any", "-",
	     "flush completed with an error status",
	     "NEGATIVE CONTROL 8 \\(.*\\): .*completed after the inhibit of vCPU [0-9]+ was cleared with status 0x[0-9a-f]+, expected HV_STATUS_SUCCESS");
TEST_CONTROL(suspends_each_call, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited; expected the caller to stay suspended at the VMCALL");
TEST_CASE(suspends_each_call,
	  "a flush of each kind, slow and fast, aimed at an inhibited vCPU suspends the caller "
	  "at the VMCALL until the inhibit is cleared", .timeout = 90)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	struct inhibit_test *t;
	enum hv_flush_call call;
	int fast;

	if (judge_control_ran("suspends_each_call"))
		return;
	t = create_test(&layout);
	for (call = 0; call < HV_FLUSH_NR_CALLS; call++)
		for (fast = 0; fast <= 1; fast++) {
			struct hv_flush_spec spec = { .call = call, .fast = fast,
						      .targets = HV_TARGETS_VPS, HV_VPS(target) };

			suspend_and_release(t, flusher, target, &spec, KICKS_PER_SUSPENSION);
		}
	inhibit_test_destroy(t);
}

static const struct hv_flush_spec all_encodings[] = {
	{ .call = HV_FLUSH_SPACE, .fast = false, .targets = HV_TARGETS_ALL_FLAG },
	{ .call = HV_FLUSH_LIST, .fast = true, .targets = HV_TARGETS_ALL_FLAG },
	{ .call = HV_FLUSH_SPACE, .fast = true, .targets = HV_TARGETS_ZERO_MASK },
	{ .call = HV_FLUSH_LIST, .fast = false, .targets = HV_TARGETS_ZERO_MASK },
	{ .call = HV_FLUSH_SPACE_EX, .fast = false, .targets = HV_TARGETS_SET_ALL },
	{ .call = HV_FLUSH_LIST_EX, .fast = true, .targets = HV_TARGETS_SET_ALL },
};
#define NR_ALL_ENCODINGS (sizeof(all_encodings) / sizeof(all_encodings[0]))

TEST_CONTROL(only_targets_matter, 9, "any", "-",
	     "flush excluding the inhibited vCPU waited",
	     "NEGATIVE CONTROL 9 \\(.*\\): .*not completed within [0-9]+ ms although its targets exclude the inhibited vCPU");
TEST_CONTROL(only_targets_matter, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited");
TEST_CASE(only_targets_matter,
	  "only the target set decides: an excluded inhibited vCPU does not delay a flush, and "
	  "'all processors' includes the inhibited vCPU and the caller itself", .timeout = 120)
{
	const struct inhibit_layout layout = { .nr_targets = 2, .nr_flushers = 1 };
	const uint32_t inhibited = 0, other = 1, flusher = 2;
	struct suspension_obs so;
	struct release_obs ro;
	struct inhibit_test *t;
	enum hv_flush_call call;
	unsigned int i;
	uint64_t seq;
	int fast;

	if (judge_control_ran("only_targets_matter"))
		return;
	t = create_test(&layout);

	/* Sparse sets without the inhibited vCPU, and empty Ex sets. */
	inhibit_set(t, inhibited, true);
	for (call = 0; call < HV_FLUSH_NR_CALLS; call++)
		for (fast = 0; fast <= 1; fast++) {
			struct hv_flush_spec spec = { .call = call, .fast = fast,
						      .targets = HV_TARGETS_VPS, HV_VPS(other) };

			flush_completes(t, flusher, &spec,
					"although its targets exclude the inhibited vCPU 0");
			if (hv_flush_call_is_ex(call)) {
				spec.nr_vps = 0;
				flush_completes(t, flusher, &spec,
						"although its sparse VP set is empty");
			}
		}
	inhibit_set(t, inhibited, false);
	test_diag("8 flushes to vCPU %u and 4 Ex flushes to an empty set completed while "
		  "vCPU %u was inhibited", other, inhibited);

	/* Every "all processors" encoding includes an inhibited bystander. */
	for (i = 0; i < NR_ALL_ENCODINGS; i++)
		suspend_and_release(t, flusher, inhibited, &all_encodings[i], 0);

	/* ... and the caller itself: it waits on itself until userspace pulls
	 * it out of KVM_RUN (the ioctl needs the vCPU mutex) and clears it. */
	inhibit_set(t, flusher, true);
	{
		struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS,
					      HV_VPS(other) };

		flush_completes(t, flusher, &spec,
				"although only the caller itself, not a target, is inhibited");
	}
	for (i = 0; i < NR_ALL_ENCODINGS; i++) {
		struct inhibit_flusher *f = &t->fl[flusher];

		if (i)
			inhibit_set(t, flusher, true);
		seq = inhibit_post_flush(t, flusher, &all_encodings[i], false);
		observe_suspension(t, flusher, seq, 0, &so);
		CHECK(judge_suspension(&so));
		so.kick[so.nr_kicks++] = inhibit_kick(f, false, true);
		CHECK(judge_suspension(&so));
		inhibit_set(t, flusher, false);         /* runner is parked */
		inhibit_resume(f);
		observe_release(t, flusher, seq, "after the caller's own inhibit was cleared", &ro);
		CHECK(judge_release(&ro));
		test_diag("%s: the inhibited caller suspended on itself; released by clearing "
			  "its own inhibit", so.what);
	}
	inhibit_test_destroy(t);
}

TEST_CONTROL(selective_wake, 10, "any", "-",
	     "flusher waiting on B woken by clearing A",
	     "NEGATIVE CONTROL 10 \\(.*\\): vCPU [0-9]+, suspended waiting on vCPU [0-9]+, re-entered the guest \\([0-9]+ VM exits\\) when vCPU [0-9]+ was cleared");
TEST_CONTROL(selective_wake, 11, "any", "-",
	     "flusher on A and B completed while B inhibited",
	     "NEGATIVE CONTROL 11 \\(.*\\): vCPU [0-9]+ \\(targets [0-9]+ and [0-9]+\\) completed while vCPU [0-9]+ was still inhibited");
TEST_CONTROL(selective_wake, 12, "any", "-",
	     "flusher on A and B not woken by clearing A",
	     "NEGATIVE CONTROL 12 \\(.*\\): vCPU [0-9]+ \\(suspended on vCPU [0-9]+, also targeting inhibited vCPU [0-9]+\\) was not woken to retry");
TEST_CONTROL(selective_wake, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited");
TEST_CASE(selective_wake,
	  "clearing one inhibit wakes exactly the flushers waiting on that vCPU, and a flusher "
	  "that also targets another inhibited vCPU suspends again", .timeout = 60)
{
	const struct inhibit_layout layout = { .nr_targets = 2, .nr_flushers = 4 };
	const uint32_t a = 0, b = 1, fa[2] = { 2, 3 }, fb = 4, fab = 5;
	const struct hv_flush_spec spec_a1 = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS,
					       HV_VPS(a) };
	const struct hv_flush_spec spec_a2 = { .call = HV_FLUSH_LIST_EX, .fast = true,
					       .targets = HV_TARGETS_VPS, HV_VPS(a) };
	const struct hv_flush_spec spec_b = { .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_VPS,
					      HV_VPS(b) };
	const struct hv_flush_spec spec_ab = { .call = HV_FLUSH_LIST, .fast = true,
					       .targets = HV_TARGETS_VPS, HV_VPS(a, b) };
	struct selective_obs o = { .a = a, .b = b, .fb = fb, .fab = fab };
	uint64_t seq_a[2], seq_b, seq_ab, exits_b, exits_ab;
	struct inhibit_flusher *on_b, *on_ab;
	struct suspension_obs so;
	struct inhibit_test *t;
	int i;

	if (judge_control_ran("selective_wake"))
		return;
	t = create_test(&layout);
	on_b = &t->fl[fb];
	on_ab = &t->fl[fab];

	/* vCPU fab suspends while only A is inhibited, so it waits on A
	 * whatever order KVM scans its targets in. */
	inhibit_set(t, a, true);
	seq_a[0] = inhibit_post_flush(t, fa[0], &spec_a1, false);
	seq_a[1] = inhibit_post_flush(t, fa[1], &spec_a2, false);
	seq_ab = inhibit_post_flush(t, fab, &spec_ab, false);
	for (i = 0; i < 2; i++) {
		observe_suspension(t, fa[i], seq_a[i], 0, &so);
		CHECK(judge_suspension(&so));
	}
	observe_suspension(t, fab, seq_ab, 0, &so);
	CHECK(judge_suspension(&so));
	inhibit_set(t, b, true);
	seq_b = inhibit_post_flush(t, fb, &spec_b, false);
	observe_suspension(t, fb, seq_b, 0, &so);
	CHECK(judge_suspension(&so));

	exits_b = inhibit_exits(on_b);
	exits_ab = inhibit_exits(on_ab);
	inhibit_set(t, a, false);
	for (i = 0; i < 2; i++)
		observe_release(t, fa[i], seq_a[i], "after the inhibit of vCPU 0 (A) was cleared",
				&o.a_waiter[i]);
	/* fab: woken (it re-executes the VMCALL: a VM exit), then blocked on B. */
	INHIBIT_WAIT_UNTIL(on_ab->slot->done_seq == seq_ab || inhibit_exits(on_ab) != exits_ab,
			   bound_ms);
	o.ab_exits_delta = inhibit_exits(on_ab) - exits_ab;
	o.ab_reblocked = INHIBIT_WAIT_UNTIL(on_ab->slot->done_seq == seq_ab ||
					    inhibit_blocking(on_ab), bound_ms);
	usleep(hold_ms * 1000);
	o.ab_completed_early = on_ab->slot->done_seq == seq_ab;
	o.ab_reblocked = o.ab_reblocked && !o.ab_completed_early && inhibit_blocking(on_ab);
	o.b_completed_early = on_b->slot->done_seq == seq_b;
	o.b_exits_delta = inhibit_exits(on_b) - exits_b;
	o.b_blocked = inhibit_blocking(on_b);

	if (!o.b_completed_early && !o.ab_completed_early)
		inhibit_set(t, b, false);
	observe_release(t, fb, seq_b, "after the inhibit of vCPU 1 (B) was cleared", &o.b_after[0]);
	observe_release(t, fab, seq_ab, "after the inhibit of vCPU 1 (B) was cleared", &o.b_after[1]);
	CHECK(judge_selective(&o));
	test_diag("clearing A released vCPUs %u and %u; vCPU %u (A and B) retried (%" PRIu64
		  " exit(s)) and suspended on B; vCPU %u (B) stayed blocked with no VM exit; "
		  "clearing B released both", fa[0], fa[1], fab, o.ab_exits_delta, fb);
	inhibit_test_destroy(t);
}

TEST_CONTROL(events_while_suspended, 13, "any", "-",
	     "re-entry after a signal ran guest code",
	     "NEGATIVE CONTROL 13 \\(.*\\): .*re-entering KVM_RUN after signal [0-9]+ ran guest code \\([0-9]+ VM exits\\) although the vCPU is suspended");
TEST_CONTROL(events_while_suspended, 14, "any", "-",
	     "interrupt delivered while suspended",
	     "NEGATIVE CONTROL 14 \\(.*\\): vCPU [0-9]+ ran guest code while suspended: interrupt taken [0-9]+ time\\(s\\)");
TEST_CONTROL(events_while_suspended, 15, "any", "-",
	     "interrupt delivered twice",
	     "NEGATIVE CONTROL 15 \\(.*\\): vCPU [0-9]+ took the interrupt 2 time\\(s\\) after resuming .*expected exactly once");
TEST_CONTROL(events_while_suspended, 16, "any", "-",
	     "interrupt delivered after the retried hypercall",
	     "NEGATIVE CONTROL 16 \\(.*\\): vCPU [0-9]+ took the interrupt at RIP 0x[0-9a-f]+ \\(hypercall done\\), expected at the VMCALL");
TEST_CONTROL(events_while_suspended, 20, "any", "-",
	     "interrupt delivered three times where twice is a host quirk",
	     "NEGATIVE CONTROL 20 \\(.*\\): vCPU [0-9]+ took the interrupt 3 time\\(s\\) after resuming .*expected exactly once");
TEST_CONTROL(events_while_suspended, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited");
TEST_CASE(events_while_suspended,
	  "a suspended vCPU returns EINTR on a signal and stays suspended, and takes a pending "
	  "interrupt exactly once after it resumes, before the retried hypercall", .timeout = 60)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1, .apic = true };
	const uint32_t target = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .fast = true,
					    .targets = HV_TARGETS_VPS, HV_VPS(target) };
	struct irq_obs o = { .vcpu = flusher };
	struct suspension_obs so;
	struct inhibit_kick_snapshot k;
	struct inhibit_test *t;
	struct inhibit_flusher *f;
	uint32_t irr, isr;

	if (judge_control_ran("events_while_suspended"))
		return;
	t = create_test(&layout);
	f = &t->fl[flusher];

	/* Signals: EINTR with KVM_EXIT_INTR, RIP at the VMCALL, and each
	 * re-entry blocks again without running guest code. */
	inhibit_set(t, target, true);
	o.seq = inhibit_post_flush(t, flusher, &spec, true);    /* RFLAGS.IF = 1 at the VMCALL */
	observe_suspension(t, flusher, o.seq, MAX_KICKS, &so);
	CHECK(judge_suspension(&so));
	test_diag("%s: %u signals each returned EINTR/KVM_EXIT_INTR at the VMCALL; every re-entry "
		  "blocked again with no VM exit", so.what, so.nr_kicks);

	/* An interrupt: pending, not delivered, while suspended. */
	o.msi_ret = vm_signal_msi(t->vm, flusher, INHIBIT_IRQ_VECTOR);
	usleep(hold_ms * 1000);
	o.count_while_suspended = f->slot->irq_count;
	o.done_while_suspended = f->slot->done_seq == o.seq;
	if (!o.done_while_suspended && !atomic_load(&f->foreign_returns)) {
		/* The vCPU may be spinning in KVM with the event pending: a
		 * bare signal could land between two KVM_RUNs. */
		k = inhibit_kick(f, true, false);
		irr = lapic_state_reg(&f->lapic, APIC_IRR + (INHIBIT_IRQ_VECTOR / 32) * 0x10);
		isr = lapic_state_reg(&f->lapic, APIC_ISR + (INHIBIT_IRQ_VECTOR / 32) * 0x10);
		o.irr_pending = irr & BIT(INHIBIT_IRQ_VECTOR % 32);
		o.isr_set = isr & BIT(INHIBIT_IRQ_VECTOR % 32);
		so.nr_kicks = 1;
		so.kick[0] = k;
		so.kick[0].reblocked = true;    /* may spin, not block, with an IRQ pending */
		CHECK(judge_suspension(&so));
	}
	inhibit_set(t, target, false);
	observe_release(t, flusher, o.seq, "after the inhibit of vCPU 0 was cleared", &o.rel);
	o.count_final = f->slot->irq_count;
	o.irq_rip = f->slot->irq_rip;
	o.irq_rip_first = f->slot->irq_rip_first;
	o.irq_done_seq_first = f->slot->irq_done_seq_first;
	o.vmcall_rip = t->vmcall_rip;
	o.twice_is_host_quirk = host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE);
	CHECK(judge_irq(&o));
	if (o.count_final == 2)
		test_diag("vector 0x%x was taken twice after resuming (again at RIP 0x%" PRIx64
			  "): %s", INHIBIT_IRQ_VECTOR, o.irq_rip,
			  host_quirk_note(HOST_QUIRK_IRQ_DELIVERED_TWICE));
	test_diag("vector 0x%x stayed pending in the IRR for the %" PRIu64 " ms hold, then was "
		  "taken at the VMCALL (0x%" PRIx64 ") before the retried flush completed",
		  INHIBIT_IRQ_VECTOR, hold_ms, o.irq_rip_first);
	inhibit_test_destroy(t);
}

/*
 * Case 5. One host thread toggles the targets' inhibits in seeded random
 * order and watches the flushers; the flushers' runner threads only run them.
 *
 * "covered": targets whose inhibit had returned before the request was
 * posted and that have not been cleared since. If the flusher is seen
 * complete while covered is non-empty, the flush completed while a target was
 * inhibited (its hypercall ran after the inhibit ioctl returned). Covered
 * targets are checked just before each clear.
 * "owed": all targets are clear. From then on the toggler leaves its targets
 * alone until it completes; if it does not within --bound-ms, a wakeup was lost.
 */
struct stress_flusher {
	bool in_flight, had_to_wait;
	uint64_t seq, targets, covered, owed_since, posted_ns;
	struct hv_flush_spec spec;
	uint64_t completed, waited;
};

struct stress_state {
	struct inhibit_test *t;
	unsigned int nr_targets, first_flusher, nr_flushers;
	struct stress_flusher sf[INHIBIT_MAX_VCPUS];
	uint64_t start_ns, last_clear_ns[INHIBIT_MAX_VCPUS];
	uint64_t toggles, completions, waited, lost_wakeup_checks, max_wait_ns;
};

static uint64_t stress_inhibited(struct stress_state *st)
{
	uint64_t m = 0;
	unsigned int j;

	for (j = 0; j < st->nr_targets; j++)
		if (st->t->inhibited[j])
			m |= BITL(j);
	return m;
}

static void stress_fill_obs(struct stress_state *st, uint32_t id, struct stress_obs *o)
{
	struct stress_flusher *s = &st->sf[id];
	struct inhibit_flusher *f = &st->t->fl[id];
	unsigned int j;
	int n = 0;

	memset(o, 0, sizeof(*o));
	o->vcpu = id;
	o->seq = s->seq;
	hv_flush_describe(o->what, sizeof(o->what), &s->spec);
	o->targets = s->targets;
	o->covered = s->covered;
	o->completed = f->slot->done_seq == s->seq;
	o->result = f->slot->result;
	o->rep_cnt = f->slot->call.f.rep_cnt;
	o->bound_ns = bound_ms * 1000000ull;
	o->owed_ns = s->owed_since ? now_ns() - s->owed_since : 0;
	o->blocking = inhibit_blocking(f);
	for (j = 0; j < st->nr_targets && n < (int)sizeof(o->clears) - 40; j++)
		if (s->targets & BITL(j))
			n += snprintf(o->clears + n, sizeof(o->clears) - n, "%svCPU %u at +%" PRIu64
				      " ms", n ? ", " : "", j,
				      (st->last_clear_ns[j] - st->start_ns) / 1000000);
}

static void stress_check(struct stress_state *st, uint32_t id)
{
	struct stress_obs o;

	stress_fill_obs(st, id, &o);
	CHECK(judge_stress(&o));
	TEST_ASSERT(!atomic_load(&st->t->fl[id].foreign_returns),
		    "vCPU %u: KVM_RUN returned to userspace unexpectedly: %s", id,
		    st->t->fl[id].foreign_desc);
}

static void stress_post(struct stress_state *st, uint32_t id, struct test_rng *rng)
{
	struct stress_flusher *s = &st->sf[id];
	uint64_t all = BITL(st->nr_targets) - 1;
	unsigned int j;
	bool ex;

	memset(&s->spec, 0, sizeof(s->spec));
	s->spec.call = test_rng_below(rng, HV_FLUSH_NR_CALLS);
	s->spec.fast = test_rng_below(rng, 2);
	ex = hv_flush_call_is_ex(s->spec.call);
	if (!test_rng_below(rng, STRESS_ALL_ONE_IN)) {
		/* Also covers the caller and the other flushers, never inhibited. */
		s->spec.targets = ex ? HV_TARGETS_SET_ALL :
				  test_rng_below(rng, 2) ? HV_TARGETS_ALL_FLAG : HV_TARGETS_ZERO_MASK;
		s->targets = all;
	} else {
		s->spec.targets = HV_TARGETS_VPS;
		s->targets = 1 + test_rng_below(rng, all);      /* non-empty subset */
		for (j = 0; j < st->nr_targets; j++)    /* VP index == vCPU id */
			if (s->targets & BITL(j))
				hv_flush_spec_add_vp(&s->spec, j);
	}
	s->covered = s->targets & stress_inhibited(st);
	s->had_to_wait = s->covered;
	s->waited += s->had_to_wait;
	st->waited += s->had_to_wait;
	s->owed_since = s->covered ? 0 : now_ns();
	s->posted_ns = now_ns();
	s->in_flight = true;
	s->seq = inhibit_post_flush(st->t, id, &s->spec, false);
}

/* Look at every flusher: verdict on completions, lost wakeups; repost. */
static void stress_scan(struct stress_state *st, struct test_rng *rng, bool post)
{
	unsigned int i;

	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++) {
		struct stress_flusher *s = &st->sf[i];
		struct inhibit_flusher *f = &st->t->fl[i];

		if (!s->in_flight)
			goto repost;
		stress_check(st, i);
		if (f->slot->done_seq == s->seq && inhibit_idle(f)) {
			uint64_t wait = now_ns() - s->posted_ns;

			s->in_flight = false;
			s->completed++;
			st->completions++;
			if (s->had_to_wait && wait > st->max_wait_ns)
				st->max_wait_ns = wait;
		}
repost:
		if (!s->in_flight && post)
			stress_post(st, i, rng);
	}
}

static void stress_clear(struct stress_state *st, uint32_t target)
{
	uint64_t inhibited;
	unsigned int i;

	/* Before the clear: no covered flusher may have completed. */
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		if (st->sf[i].in_flight)
			stress_check(st, i);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		st->sf[i].covered &= ~BITL(target);
	inhibit_set(st->t, target, false);
	st->last_clear_ns[target] = now_ns();
	st->toggles++;
	inhibited = stress_inhibited(st);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++) {
		struct stress_flusher *s = &st->sf[i];

		if (s->in_flight && !s->owed_since && !(s->targets & inhibited)) {
			s->owed_since = now_ns();
			st->lost_wakeup_checks++;
		}
	}
}

/* A target is frozen while a flusher that targets it is owed a wakeup. */
static bool stress_frozen(struct stress_state *st, uint32_t target)
{
	unsigned int i;

	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		if (st->sf[i].in_flight && st->sf[i].owed_since &&
		    (st->sf[i].targets & BITL(target)))
			return true;
	return false;
}

TEST_CONTROL(ordering_stress, 17, "any", "-",
	     "flush completed while a covering target was inhibited",
	     "NEGATIVE CONTROL 17 \\(.*\\): vCPU [0-9]+ completed flush #[0-9]+ \\(.*\\) while target\\(s\\) 0x[0-9a-f]+ had been inhibited since before it was issued");
TEST_CONTROL(ordering_stress, 18, "any", "-",
	     "flush never completed after its targets were cleared",
	     "NEGATIVE CONTROL 18 \\(.*\\): lost wakeup: vCPU [0-9]+ flush #[0-9]+ .* not completed [0-9]+ ms after all its targets were clear");
TEST_CONTROL(ordering_stress, 100, "hyperv", "--duration 1",
	     "every inhibit is a no-op",
	     "completed flush #[0-9]+ \\(.*\\) while target\\(s\\) 0x[0-9a-f]+ had been inhibited since before it was issued");
TEST_CASE(ordering_stress,
	  "inhibits toggled in random order never let a flush complete while a target is "
	  "inhibited and never lose a wakeup", .timeout = 60, .stress = true)
{
	struct inhibit_layout layout;
	struct stress_state st = { 0 };
	uint64_t deadline, max_completions;
	struct test_rng rng;
	unsigned int i, j;

	if (judge_control_ran("ordering_stress"))
		return;
	TEST_ASSERT(nr_stress_targets >= 1 && nr_stress_targets <= 8 &&
		    nr_stress_flushers >= 1 && nr_stress_flushers <= 8,
		    "--targets and --flushers must be 1-8");
	layout = (struct inhibit_layout){ .nr_targets = nr_stress_targets,
				       .nr_flushers = nr_stress_flushers };
	st.nr_targets = layout.nr_targets;
	st.first_flusher = layout.nr_targets;
	st.nr_flushers = layout.nr_flushers;
	st.t = create_test(&layout);
	test_rng_init(&rng, 5);
	st.start_ns = now_ns();
	deadline = st.start_ns + test_duration(STRESS_DEFAULT_S) * 1000000000ull;
	max_completions = test_iterations(STRESS_DEFAULT_ITERS);
	test_diag("%u flushers, %u targets, %" PRIu64 " s or %" PRIu64 " flushes (seed %" PRIu64
		  "); lost-wakeup bound %" PRIu64 " ms", st.nr_flushers, st.nr_targets,
		  test_duration(STRESS_DEFAULT_S), max_completions, test_opts.seed, bound_ms);

	while (now_ns() < deadline && st.completions < max_completions) {
		stress_scan(&st, &rng, true);
		j = test_rng_below(&rng, st.nr_targets);
		if (st.t->inhibited[j]) {
			stress_clear(&st, j);
		} else if (!stress_frozen(&st, j)) {
			inhibit_set(st.t, j, true);
			st.toggles++;
		}
		usleep(test_rng_below(&rng, STRESS_TOGGLE_GAP_US));
	}

	/* Drain: clear everything; every flush must then complete. */
	for (j = 0; j < st.nr_targets; j++)
		if (st.t->inhibited[j])
			stress_clear(&st, j);
	for (i = st.first_flusher; i < st.first_flusher + st.nr_flushers; i++) {
		struct stress_flusher *s = &st.sf[i];
		struct inhibit_flusher *f = &st.t->fl[i];

		INHIBIT_WAIT_UNTIL(!s->in_flight ||
				   (f->slot->done_seq == s->seq && inhibit_idle(f)) ||
				   now_ns() - s->owed_since >= bound_ms * 1000000ull, bound_ms + 1);
	}
	stress_scan(&st, &rng, false);
	for (i = st.first_flusher; i < st.first_flusher + st.nr_flushers; i++)
		TEST_ASSERT(!st.sf[i].in_flight, "vCPU %u: flush #%" PRIu64 " still pending after "
			    "the drain (lost wakeup not caught by the verdict?)", i, st.sf[i].seq);
	test_diag("%" PRIu64 " flushes completed, %" PRIu64 " of them issued while a target was "
		  "inhibited (longest wait %" PRIu64 " ms); %" PRIu64 " toggles; %" PRIu64
		  " wakeups checked", st.completions, st.waited, st.max_wait_ns / 1000000,
		  st.toggles, st.lost_wakeup_checks);
	TEST_ASSERT(st.completions && st.waited,
		    "the stress did not exercise suspension (%" PRIu64 " flushes, %" PRIu64
		    " waited): raise --duration", st.completions, st.waited);
	inhibit_test_destroy(st.t);
}

/* Case 6/7 helper: does a flush to the target suspend now? Releases it. */
static bool flush_suspends(struct inhibit_test *t, uint32_t flusher, uint32_t target)
{
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS,
					    HV_VPS(target) };
	struct inhibit_flusher *f = &t->fl[flusher];
	uint64_t seq = inhibit_post_flush(t, flusher, &spec, false);
	struct release_obs ro;
	bool blocked;

	INHIBIT_WAIT_UNTIL(f->slot->done_seq == seq || atomic_load(&f->foreign_returns) ||
			   (f->slot->started_seq == seq && inhibit_blocking(f)), bound_ms);
	blocked = f->slot->done_seq != seq && inhibit_blocking(f);
	if (blocked)
		inhibit_set(t, target, false);
	observe_release(t, flusher, seq, blocked ? "after clearing the inhibit" : "at once", &ro);
	CHECK(judge_release(&ro));
	return blocked;
}

TEST_CONTROL(documented_flags, 19, "any", "-",
	     "non-zero flags accepted",
	     "NEGATIVE CONTROL 19 \\(.*\\): KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with flags 0x1 returned 0 \\(success\\); the documented ABI rejects non-zero flags with EINVAL");
TEST_CONTROL(documented_flags, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with flags 0x1 returned 0 \\(success\\); the documented ABI rejects non-zero flags with EINVAL");
TEST_CASE(documented_flags,
	  "non-zero flags are rejected with EINVAL and change nothing, as the documented ABI says",
	  .timeout = 60)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	struct inhibit_test *t;
	struct flags_obs o;

	if (judge_control_ran("documented_flags"))
		return;
	t = create_test(&layout);
	o.ret = inhibit_set_raw(t, target, KVM_HYPERV_INHIBIT_TLB_FLUSH, 1, 0);
	if (o.ret == 0)
		t->inhibited[target] = true;    /* so flush_suspends() can release it */
	o.took_effect = flush_suspends(t, flusher, target);
	CHECK(judge_flags(&o));
	inhibit_test_destroy(t);
}

TEST_CONTROL(repeated_and_odd_input, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited");
TEST_CASE(repeated_and_odd_input,
	  "setting a value twice, non-zero reserved bytes, other inhibit values and an "
	  "unreadable argument behave coherently", .timeout = 60)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_LIST_EX, .fast = true,
					    .targets = HV_TARGETS_VPS, HV_VPS(target) };
	struct inhibit_test *t;
	long r;

	if (judge_control_ran("repeated_and_odd_input"))
		return;
	t = create_test(&layout);

	/* A flag, not a count: two sets are undone by one clear. */
	inhibit_set(t, target, true);
	inhibit_set(t, target, true);
	suspend_and_release(t, flusher, target, &spec, 0);  /* sets again, one clear */
	inhibit_set(t, target, false);                      /* clearing twice: no-op */
	flush_completes(t, flusher, &spec, "after the inhibit was cleared twice");

	CHECK(judge_efault(test_opts.negative_control == LIVE_CONTROL ? 0 : simulate ? -EFAULT :
			   __vcpu_ioctl(t->vcpu[target], KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, NULL)));

	/* Undocumented inputs: either rejected without effect, or accepted
	 * and doing exactly what an inhibit or a clear does. */
	r = inhibit_set_raw(t, target, KVM_HYPERV_INHIBIT_TLB_FLUSH, 0, 0xff);
	TEST_ASSERT(r == 0 || r == -EINVAL, "inhibit with reserved bytes 0xff returned %s, "
		    "expected 0 or -EINVAL", errno_str(r));
	t->inhibited[target] = r == 0;
	TEST_ASSERT(flush_suspends(t, flusher, target) == (r == 0),
		    "inhibit with reserved bytes 0xff returned %s but a flush to the vCPU %s",
		    errno_str(r), r ? "suspended" : "did not suspend");
	test_diag("non-zero reserved bytes: %s", r ? "rejected (EINVAL), no effect"
						    : "ignored, the inhibit took effect");

	r = inhibit_set_raw(t, target, 2, 0, 0);
	TEST_ASSERT(r == 0 || r == -EINVAL, "inhibit value 2 returned %s, expected 0 or -EINVAL",
		    errno_str(r));
	t->inhibited[target] = r == 0;
	test_diag("inhibit value 2: %s", r ? "rejected (EINVAL)" :
		  flush_suspends(t, flusher, target) ? "accepted as an inhibit (posted v1 behaviour)"
						     : "accepted, no inhibit");
	inhibit_set(t, target, false);
	flush_completes(t, flusher, &spec, "after inhibit value 2 and a clear");
	inhibit_test_destroy(t);
}

TEST_CASE(no_hyperv_context,
	  "on a vCPU without Hyper-V context the ioctl fails cleanly or does no harm, and an "
	  "all-processors flush in a VM holding such a vCPU completes", .timeout = 60)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1,
					       .no_hv_mask = BIT(0) };
	const uint32_t plain = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_ALL_FLAG };
	struct inhibit_test *t;
	long set, clear;

	if (judge_control_ran("no_hyperv_context"))
		return;
	TEST_REQUIRE(test_opts.negative_control != LIVE_CONTROL && !simulate, "needs the real ioctl");
	t = create_test(&layout);
	test_progress("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT on vCPU %u, which has no Hyper-V context: "
		      "posted v1 dereferences the context unchecked, so a crash here is that bug "
		      "(see the kernel log)", plain);
	set = inhibit_set_raw(t, plain, KVM_HYPERV_INHIBIT_TLB_FLUSH, 0, 0);
	clear = inhibit_set_raw(t, plain, KVM_HYPERV_UNINHIBIT_TLB_FLUSH, 0, 0);
	test_diag("on a vCPU without Hyper-V context: set returned %s, clear %s", errno_str(set),
		  errno_str(clear));
	TEST_ASSERT(set == clear, "set returned %s but clear %s: expected both to fail the same "
		    "way or both to succeed", errno_str(set), errno_str(clear));
	vcpu_set_entry(t->vcpu[plain], guest_plain, NULL);
	vcpu_expect_done(t->vcpu[plain]);

	test_progress("all-processors flush in a VM with vCPU %u lacking Hyper-V context: the "
		      "posted flush scan reads every vCPU's context unchecked", plain);
	flush_completes(t, flusher, &spec, "in a VM with a vCPU lacking Hyper-V context");
	inhibit_test_destroy(t);
}
