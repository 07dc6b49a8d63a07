/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Observations and verdicts for tests of the proposed
 * KVM_HYPERV_SET_TLB_FLUSH_INHIBIT (the flusher vCPUs they observe:
 * include/hv_inhibit.h).
 *
 * A test does not check what it sees on the spot. It first fills an
 * observation, a plain struct of what happened (did the caller reach the
 * VMCALL, block in KVM, complete; RIP, RAX and the MP state at each signal;
 * VM exits across each re-entry; ...), and then asks a verdict about it.
 * A verdict is a pure function of one observation: NULL when the
 * observation is what the series specifies, otherwise the failure, as one
 * sentence that says what was expected and what happened. INHIBIT_CHECK()
 * turns a verdict into a failed case.
 *
 * Why pure functions: a verdict that reads nothing but its argument can be
 * shown to work without a kernel that has the interface (none has). Each
 * verdict has a recorded observation beside it: what the observers fill in
 * when the series behaves as posted, written down by hand. And
 * --negative-control 1..INHIBIT_NR_RECORDED_CONTROLS picks one fault to
 * plant in it: inhibit_recorded_control_ran() first feeds the verdict the
 * recording as it is (it must pass, or the control itself is broken), then
 * with the fault (it must fail with the message the live check would
 * print). The case declares the control, with the failure it must produce,
 * by TEST_CONTROL() next to itself; the table of faults is here, numbered
 * as those declarations are. --negative-control INHIBIT_LIVE_CONTROL is the
 * live control instead: the ioctl becomes a no-op (inhibit_config.
 * ioctl_no_op) and the observations of a real run must fail the verdicts.
 *
 *   struct inhibit_suspension_obs so;
 *
 *   if (inhibit_recorded_control_ran("suspends_each_call"))
 *           return;                         // a control ran instead
 *   ...
 *   inhibit_observe_suspension(t, flusher, seq, 2, hold_ms, &so);
 *   INHIBIT_CHECK(inhibit_judge_suspension(&so));
 *
 * What the observers trust: the guest's started_seq/done_seq counters, KVM's
 * 'blocking' and 'exits' statistics and the runner's snapshots
 * (include/hv_inhibit.h). Every wait is bounded by the test's
 * inhibit_config.bound_ms, which each observation carries for its message.
 */
#ifndef KVMTEST_HV_INHIBIT_VERDICT_H
#define KVMTEST_HV_INHIBIT_VERDICT_H

#include "hv_inhibit.h"
#include "ktest.h"

#define INHIBIT_MAX_KICKS            4  /* signals one suspension observes */
#define INHIBIT_NR_RECORDED_CONTROLS 20 /* --negative-control 1..20 */
#define INHIBIT_LIVE_CONTROL         100

/* A flush that must stay suspended while a target is inhibited. */
struct inhibit_suspension_obs {
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
	struct inhibit_kick_snapshot kick[INHIBIT_MAX_KICKS];
	uint64_t hypercalls_delta;      /* diagnostic only */
};

/* A flush that must complete: after a clear, or at once. */
struct inhibit_release_obs {
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

/* Clearing vCPU a wakes exactly its waiters: a_waiter[] waited on a alone,
 * vCPU fb on b alone, vCPU fab on both (suspended while only a was set). */
struct inhibit_selective_obs {
	struct inhibit_release_obs a_waiter[2]; /* waiting on A, A cleared */
	bool b_completed_early;
	uint64_t b_exits_delta;
	bool b_blocked;
	bool ab_completed_early;
	uint64_t ab_exits_delta;
	bool ab_reblocked;
	struct inhibit_release_obs b_after[2];  /* FB and FAB after B cleared */
	uint32_t a, b, fb, fab;
};

/* An interrupt sent to a suspended vCPU: pending until it resumes, then
 * taken once at the VMCALL, before the retried hypercall. */
struct inhibit_irq_obs {
	uint32_t vcpu;
	int msi_ret;
	uint64_t count_while_suspended;
	bool done_while_suspended;
	bool irr_pending, isr_set;
	struct inhibit_release_obs rel;
	uint64_t count_final, irq_rip, irq_rip_first, vmcall_rip, irq_done_seq_first, seq;
	bool twice_is_host_quirk;       /* host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE) */
};

/* The ordering stress (include/hv_inhibit_stress.h): one flush seen
 * complete, or one still owed a wakeup. */
struct inhibit_stress_obs {
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

/* The ioctl with flags 0x1: refused, and without effect. */
struct inhibit_flags_obs {
	long ret;
	bool took_effect;               /* a flush to the vCPU then suspended */
};

/* The verdicts: NULL, or the failure (valid until the next verdict). */
const char *inhibit_judge_suspension(const struct inhibit_suspension_obs *o);
const char *inhibit_judge_release(const struct inhibit_release_obs *o);
const char *inhibit_judge_selective(const struct inhibit_selective_obs *o);
const char *inhibit_judge_irq(const struct inhibit_irq_obs *o);
const char *inhibit_judge_stress(const struct inhibit_stress_obs *o);
const char *inhibit_judge_flags(const struct inhibit_flags_obs *o);
/* The ioctl with an unreadable argument returned ret. */
const char *inhibit_judge_efault(long ret);

/* Fail the case with the verdict's sentence, if there is one. */
#define INHIBIT_CHECK(verdict)                                                 \
	do {                                                                   \
		const char *__v = (verdict);                                   \
		if (__v)                                                       \
			test_fail("%s", __v);                                  \
	} while (0)

/*
 * The observers. Flusher id was posted request seq. Suspension: wait until
 * the call is in flight and the vCPU blocked (or it completed, or KVM_RUN
 * returned), then pull it out of KVM_RUN nr_kicks times (at most
 * INHIBIT_MAX_KICKS) to see that each re-entry blocks again without a VM
 * exit, then hold for hold_ms, in which nothing may happen. Release: wait
 * until the call completed and the flusher is idle again; context says
 * when ("after the inhibit of vCPU 0 was cleared").
 */
void inhibit_observe_suspension(struct inhibit_test *t, uint32_t id, uint64_t seq,
				unsigned int nr_kicks, uint64_t hold_ms,
				struct inhibit_suspension_obs *o);
void inhibit_observe_release(struct inhibit_test *t, uint32_t id, uint64_t seq,
			     const char *context, struct inhibit_release_obs *o);

/*
 * Every case starts with this. Without --negative-control, or with
 * INHIBIT_LIVE_CONTROL, it returns false and the case goes on (its probe
 * next). With 1..INHIBIT_NR_RECORDED_CONTROLS it skips unless that control
 * concerns case_ident; otherwise it judges the recording, conforming and
 * then faulty, fails the case with "NEGATIVE CONTROL N (fault): verdict"
 * and, should the faulty one pass, says the check is ineffective and
 * returns true: the case must return.
 */
bool inhibit_recorded_control_ran(const char *case_ident);

/* An ioctl's result for a message: "0 (success)" or "-EINVAL", in one
 * static buffer that the next call overwrites. */
const char *ioctl_result_str(long r);

#endif
