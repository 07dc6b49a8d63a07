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
 * --negative-control N (1..20) feeds each verdict function a recorded
 * conforming observation and then one with a single fault; the case must
 * fail with the message the live check would print.
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
 * the observations, the verdicts and the recordings the controls plant faults
 * in are lib/hv_inhibit_verdict.c (include/hv_inhibit_verdict.h), the
 * ordering stress lib/hv_inhibit_stress.c. This file holds the scenarios.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "apic.h"
#include "host.h"
#include "hv_inhibit.h"
#include "hv_inhibit_stress.h"
#include "hv_inhibit_verdict.h"
#include "hyperv.h"
#include "hyperv_flush.h"
#include "kvm_proposed_uapi.h"
#include "stats.h"
#include "vm.h"

/* Case 5: the toggler sleeps up to this long between two toggles. */
#define STRESS_TOGGLE_GAP_US 300
#define STRESS_DEFAULT_S     3
#define STRESS_DEFAULT_ITERS 1000000

#define DEFAULT_BOUND_MS     10000
/* A case's limit: its work at native speed, scaled, and a bound or two that
 * a failing case waits out (as they are: the bound is the check). */
#define CASE_WAIT_S          (2 * DEFAULT_BOUND_MS / 1000)
#define CASE_LIMITS          .timeout = HV_CASE_NATIVE_S, .wait_s = CASE_WAIT_S

static uint64_t bound_ms = DEFAULT_BOUND_MS;
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
		.ioctl_no_op = test_opts.negative_control == INHIBIT_LIVE_CONTROL,
	};

	return inhibit_test_create(layout, &config);
}

static void guest_plain(void *arg)
{
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
	if (test_opts.negative_control == INHIBIT_LIVE_CONTROL) {
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
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, ioctl_result_str(set));
	TEST_REQUIRE(set == 0 && clear == 0,
		     "KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (0x%lx) is not the posted interface: "
		     "set returned %s, clear %s",
		     (unsigned long)KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, ioctl_result_str(set),
		     ioctl_result_str(clear));
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

static void diag_bounds(void)
{
	test_diag("bounds: reach/block/complete within %" PRIu64 " ms each; nothing may happen "
		  "during %" PRIu64 " ms holds (--bound-ms, --hold-ms)", bound_ms, hold_ms);
}

/* The full cycle: inhibit target, flush, suspended, clear, released. */
static void suspend_and_release(struct inhibit_test *t, uint32_t flusher, uint32_t target,
				const struct hv_flush_spec *spec, unsigned int nr_kicks)
{
	struct inhibit_suspension_obs so;
	struct inhibit_release_obs ro;
	char context[64];
	uint64_t seq;

	inhibit_set(t, target, true);
	seq = inhibit_post_flush(t, flusher, spec, false);
	inhibit_observe_suspension(t, flusher, seq, nr_kicks, hold_ms, &so);
	INHIBIT_CHECK(inhibit_judge_suspension(&so));
	inhibit_set(t, target, false);
	snprintf(context, sizeof(context), "after the inhibit of vCPU %u was cleared", target);
	inhibit_observe_release(t, flusher, seq, context, &ro);
	INHIBIT_CHECK(inhibit_judge_release(&ro));
	test_diag("%s: suspended at the VMCALL (%u signal(s): EINTR, nothing written, blocked "
		  "again); completed %" PRIu64 " us after clearing; 'hypercalls' +%" PRIu64
		  " while suspended", so.what, so.nr_kicks, ro.latency_ns / 1000,
		  so.hypercalls_delta);
}

/* A flush that must complete without waiting for anybody. */
static void flush_completes(struct inhibit_test *t, uint32_t flusher,
			    const struct hv_flush_spec *spec, const char *context)
{
	struct inhibit_release_obs ro;
	uint64_t seq = inhibit_post_flush(t, flusher, spec, false);

	inhibit_observe_release(t, flusher, seq, context, &ro);
	INHIBIT_CHECK(inhibit_judge_release(&ro));
}

/*
 * Every case starts here: the selected recorded-observation control, after
 * which the case returns, or the probe (SKIP without the interface).
 */
static bool recorded_control_ran(const char *case_ident)
{
	if (inhibit_recorded_control_ran(case_ident))
		return true;
	require_inhibit_interface();
	diag_bounds();
	return false;
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
	  "at the VMCALL until the inhibit is cleared", CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	struct inhibit_test *t;
	enum hv_flush_call call;
	int fast;

	if (recorded_control_ran("suspends_each_call"))
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
	  "'all processors' includes the inhibited vCPU and the caller itself", CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 2, .nr_flushers = 1 };
	const uint32_t inhibited = 0, other = 1, flusher = 2;
	struct inhibit_suspension_obs so;
	struct inhibit_release_obs ro;
	struct inhibit_test *t;
	enum hv_flush_call call;
	unsigned int i;
	uint64_t seq;
	int fast;

	if (recorded_control_ran("only_targets_matter"))
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
		inhibit_observe_suspension(t, flusher, seq, 0, hold_ms, &so);
		INHIBIT_CHECK(inhibit_judge_suspension(&so));
		so.kick[so.nr_kicks++] = inhibit_kick(f, false, true);
		INHIBIT_CHECK(inhibit_judge_suspension(&so));
		inhibit_set(t, flusher, false);         /* runner is parked */
		inhibit_resume(f);
		inhibit_observe_release(t, flusher, seq, "after the caller's own inhibit was cleared", &ro);
		INHIBIT_CHECK(inhibit_judge_release(&ro));
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
	  "that also targets another inhibited vCPU suspends again", CASE_LIMITS)
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
	struct inhibit_selective_obs o = { .a = a, .b = b, .fb = fb, .fab = fab };
	uint64_t seq_a[2], seq_b, seq_ab, exits_b, exits_ab;
	struct inhibit_flusher *on_b, *on_ab;
	struct inhibit_suspension_obs so;
	struct inhibit_test *t;
	int i;

	if (recorded_control_ran("selective_wake"))
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
		inhibit_observe_suspension(t, fa[i], seq_a[i], 0, hold_ms, &so);
		INHIBIT_CHECK(inhibit_judge_suspension(&so));
	}
	inhibit_observe_suspension(t, fab, seq_ab, 0, hold_ms, &so);
	INHIBIT_CHECK(inhibit_judge_suspension(&so));
	inhibit_set(t, b, true);
	seq_b = inhibit_post_flush(t, fb, &spec_b, false);
	inhibit_observe_suspension(t, fb, seq_b, 0, hold_ms, &so);
	INHIBIT_CHECK(inhibit_judge_suspension(&so));

	exits_b = inhibit_exits(on_b);
	exits_ab = inhibit_exits(on_ab);
	inhibit_set(t, a, false);
	for (i = 0; i < 2; i++)
		inhibit_observe_release(t, fa[i], seq_a[i],
					"after the inhibit of vCPU 0 (A) was cleared", &o.a_waiter[i]);
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
	inhibit_observe_release(t, fb, seq_b, "after the inhibit of vCPU 1 (B) was cleared",
				&o.b_after[0]);
	inhibit_observe_release(t, fab, seq_ab, "after the inhibit of vCPU 1 (B) was cleared",
				&o.b_after[1]);
	INHIBIT_CHECK(inhibit_judge_selective(&o));
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
	  "interrupt exactly once after it resumes, before the retried hypercall", CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1, .apic = true };
	const uint32_t target = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .fast = true,
					    .targets = HV_TARGETS_VPS, HV_VPS(target) };
	struct inhibit_irq_obs o = { .vcpu = flusher };
	struct inhibit_suspension_obs so;
	struct inhibit_kick_snapshot k;
	struct inhibit_test *t;
	struct inhibit_flusher *f;
	uint32_t irr, isr;

	if (recorded_control_ran("events_while_suspended"))
		return;
	t = create_test(&layout);
	f = &t->fl[flusher];

	/* Signals: EINTR with KVM_EXIT_INTR, RIP at the VMCALL, and each
	 * re-entry blocks again without running guest code. */
	inhibit_set(t, target, true);
	o.seq = inhibit_post_flush(t, flusher, &spec, true);    /* RFLAGS.IF = 1 at the VMCALL */
	inhibit_observe_suspension(t, flusher, o.seq, INHIBIT_MAX_KICKS, hold_ms, &so);
	INHIBIT_CHECK(inhibit_judge_suspension(&so));
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
		INHIBIT_CHECK(inhibit_judge_suspension(&so));
	}
	inhibit_set(t, target, false);
	inhibit_observe_release(t, flusher, o.seq, "after the inhibit of vCPU 0 was cleared", &o.rel);
	o.count_final = f->slot->irq_count;
	o.irq_rip = f->slot->irq_rip;
	o.irq_rip_first = f->slot->irq_rip_first;
	o.irq_done_seq_first = f->slot->irq_done_seq_first;
	o.vmcall_rip = t->vmcall_rip;
	o.twice_is_host_quirk = host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE);
	INHIBIT_CHECK(inhibit_judge_irq(&o));
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
 * Case 5: one host thread toggles the targets' inhibits in seeded random
 * order while every flusher issues random flushes; a flush must not complete
 * while a target inhibited before it was issued is still inhibited, and must
 * complete once all its targets are clear (include/hv_inhibit_stress.h).
 */
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
	  "inhibited and never lose a wakeup", .timeout = HV_CASE_NATIVE_S,
	  .wait_s = CASE_WAIT_S + STRESS_DEFAULT_S, .stress = true)
{
	struct inhibit_layout layout;
	struct inhibit_stress st;
	struct inhibit_test *t;
	uint64_t deadline, max_completions;
	struct test_rng rng;
	unsigned int j;

	if (recorded_control_ran("ordering_stress"))
		return;
	TEST_ASSERT(nr_stress_targets >= 1 && nr_stress_targets <= 8 &&
		    nr_stress_flushers >= 1 && nr_stress_flushers <= 8,
		    "--targets and --flushers must be 1-8");
	layout = (struct inhibit_layout){ .nr_targets = nr_stress_targets,
				       .nr_flushers = nr_stress_flushers };
	t = create_test(&layout);
	test_rng_init(&rng, 5);
	inhibit_stress_init(&st, t, &layout);
	deadline = st.start_ns + test_duration(STRESS_DEFAULT_S) * 1000000000ull;
	max_completions = test_iterations(STRESS_DEFAULT_ITERS);
	test_diag("%u flushers, %u targets, %" PRIu64 " s or %" PRIu64 " flushes (seed %" PRIu64
		  "); lost-wakeup bound %" PRIu64 " ms", st.nr_flushers, st.nr_targets,
		  test_duration(STRESS_DEFAULT_S), max_completions, test_opts.seed, bound_ms);

	while (now_ns() < deadline && st.completions < max_completions) {
		inhibit_stress_scan(&st, &rng, true);
		j = test_rng_below(&rng, st.nr_targets);
		if (t->inhibited[j])
			inhibit_stress_clear(&st, j);
		else if (!inhibit_stress_frozen(&st, j))
			inhibit_stress_set(&st, j);
		usleep(test_rng_below(&rng, STRESS_TOGGLE_GAP_US));
	}
	inhibit_stress_drain(&st, &rng);        /* clear all: every flush must complete */
	test_diag("%" PRIu64 " flushes completed, %" PRIu64 " of them issued while a target was "
		  "inhibited (longest wait %" PRIu64 " ms); %" PRIu64 " toggles; %" PRIu64
		  " wakeups checked", st.completions, st.waited, st.max_wait_ns / 1000000,
		  st.toggles, st.lost_wakeup_checks);
	test_stress_work(st.completions, max_completions, "flushes");
	TEST_ASSERT(st.completions && st.waited,
		    "the stress did not exercise suspension (%" PRIu64 " flushes, %" PRIu64
		    " waited): raise --duration", st.completions, st.waited);
	inhibit_test_destroy(t);
}

/* Case 6/7 helper: does a flush to the target suspend now? Releases it. */
static bool flush_suspends(struct inhibit_test *t, uint32_t flusher, uint32_t target)
{
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS,
					    HV_VPS(target) };
	struct inhibit_flusher *f = &t->fl[flusher];
	uint64_t seq = inhibit_post_flush(t, flusher, &spec, false);
	struct inhibit_release_obs ro;
	bool blocked;

	INHIBIT_WAIT_UNTIL(f->slot->done_seq == seq || atomic_load(&f->foreign_returns) ||
			   (f->slot->started_seq == seq && inhibit_blocking(f)), bound_ms);
	blocked = f->slot->done_seq != seq && inhibit_blocking(f);
	if (blocked)
		inhibit_set(t, target, false);
	inhibit_observe_release(t, flusher, seq, blocked ? "after clearing the inhibit" : "at once", &ro);
	INHIBIT_CHECK(inhibit_judge_release(&ro));
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
	  CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	struct inhibit_test *t;
	struct inhibit_flags_obs o;

	if (recorded_control_ran("documented_flags"))
		return;
	t = create_test(&layout);
	o.ret = inhibit_set_raw(t, target, KVM_HYPERV_INHIBIT_TLB_FLUSH, 1, 0);
	if (o.ret == 0)
		t->inhibited[target] = true;    /* so flush_suspends() can release it */
	o.took_effect = flush_suspends(t, flusher, target);
	INHIBIT_CHECK(inhibit_judge_flags(&o));
	inhibit_test_destroy(t);
}

TEST_CONTROL(repeated_and_odd_input, 100, "hyperv", "-",
	     "every inhibit is a no-op",
	     "completed \\(RAX 0x[0-9a-f]+\\) while a target was inhibited");
TEST_CASE(repeated_and_odd_input,
	  "setting a value twice, non-zero reserved bytes, other inhibit values and an "
	  "unreadable argument behave coherently", CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
	const uint32_t target = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_LIST_EX, .fast = true,
					    .targets = HV_TARGETS_VPS, HV_VPS(target) };
	struct inhibit_test *t;
	long r;

	if (recorded_control_ran("repeated_and_odd_input"))
		return;
	t = create_test(&layout);

	/* A flag, not a count: two sets are undone by one clear. */
	inhibit_set(t, target, true);
	inhibit_set(t, target, true);
	suspend_and_release(t, flusher, target, &spec, 0);  /* sets again, one clear */
	inhibit_set(t, target, false);                      /* clearing twice: no-op */
	flush_completes(t, flusher, &spec, "after the inhibit was cleared twice");

	r = test_opts.negative_control == INHIBIT_LIVE_CONTROL ? 0 : simulate ? -EFAULT :
	    __vcpu_ioctl(t->vcpu[target], KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, NULL);
	INHIBIT_CHECK(inhibit_judge_efault(r));

	/* Undocumented inputs: either rejected without effect, or accepted
	 * and doing exactly what an inhibit or a clear does. */
	r = inhibit_set_raw(t, target, KVM_HYPERV_INHIBIT_TLB_FLUSH, 0, 0xff);
	TEST_ASSERT(r == 0 || r == -EINVAL, "inhibit with reserved bytes 0xff returned %s, "
		    "expected 0 or -EINVAL", ioctl_result_str(r));
	t->inhibited[target] = r == 0;
	TEST_ASSERT(flush_suspends(t, flusher, target) == (r == 0),
		    "inhibit with reserved bytes 0xff returned %s but a flush to the vCPU %s",
		    ioctl_result_str(r), r ? "suspended" : "did not suspend");
	test_diag("non-zero reserved bytes: %s", r ? "rejected (EINVAL), no effect"
						    : "ignored, the inhibit took effect");

	r = inhibit_set_raw(t, target, 2, 0, 0);
	TEST_ASSERT(r == 0 || r == -EINVAL, "inhibit value 2 returned %s, expected 0 or -EINVAL",
		    ioctl_result_str(r));
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
	  "all-processors flush in a VM holding such a vCPU completes", CASE_LIMITS)
{
	const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1,
					       .no_hv_mask = BIT(0) };
	const uint32_t plain = 0, flusher = 1;
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_ALL_FLAG };
	struct inhibit_test *t;
	long set, clear;

	if (recorded_control_ran("no_hyperv_context"))
		return;
	TEST_REQUIRE(test_opts.negative_control != INHIBIT_LIVE_CONTROL && !simulate,
		     "needs the real ioctl");
	t = create_test(&layout);
	test_progress("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT on vCPU %u, which has no Hyper-V context: "
		      "posted v1 dereferences the context unchecked, so a crash here is that bug "
		      "(see the kernel log)", plain);
	set = inhibit_set_raw(t, plain, KVM_HYPERV_INHIBIT_TLB_FLUSH, 0, 0);
	clear = inhibit_set_raw(t, plain, KVM_HYPERV_UNINHIBIT_TLB_FLUSH, 0, 0);
	test_diag("on a vCPU without Hyper-V context: set returned %s, clear %s", ioctl_result_str(set),
		  ioctl_result_str(clear));
	TEST_ASSERT(set == clear, "set returned %s but clear %s: expected both to fail the same "
		    "way or both to succeed", ioctl_result_str(set), ioctl_result_str(clear));
	vcpu_set_entry(t->vcpu[plain], guest_plain, NULL);
	vcpu_expect_done(t->vcpu[plain]);

	test_progress("all-processors flush in a VM with vCPU %u lacking Hyper-V context: the "
		      "posted flush scan reads every vCPU's context unchecked", plain);
	flush_completes(t, flusher, &spec, "in a VM with a vCPU lacking Hyper-V context");
	inhibit_test_destroy(t);
}
