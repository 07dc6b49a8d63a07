// SPDX-License-Identifier: GPL-2.0
/*
 * Observations, verdicts and the recorded-observation negative controls of
 * the KVM_HYPERV_SET_TLB_FLUSH_INHIBIT tests. What a verdict is, and how the
 * recordings feed the controls: include/hv_inhibit_verdict.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hv_inhibit_verdict.h"
#include "hyperv.h"
#include "stats.h"

/* A few rotating buffers: one message may name two results. */
const char *ioctl_result_str(long r)
{
	static char bufs[4][64];
	static unsigned int next;
	char *buf = bufs[next++ % 4];

	if (r >= 0)
		snprintf(buf, sizeof(bufs[0]), "%ld (success)", r);
	else
		snprintf(buf, sizeof(bufs[0]), "-%s", strerrorname_np((int)-r) ?: "?");
	return buf;
}

/* ------------------------------------------------------------------------
 * Verdicts.
 */
static char verdict_buf[768];
#define VERDICT(...) (snprintf(verdict_buf, sizeof(verdict_buf), __VA_ARGS__), verdict_buf)

const char *inhibit_judge_suspension(const struct inhibit_suspension_obs *o)
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

const char *inhibit_judge_release(const struct inhibit_release_obs *o)
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

/* ------------------------------------------------------------------------
 * Observers.
 */
void inhibit_observe_suspension(struct inhibit_test *t, uint32_t id, uint64_t seq,
				unsigned int nr_kicks, uint64_t hold_ms,
				struct inhibit_suspension_obs *o)
{
	uint64_t bound_ms = t->config.bound_ms;
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
	for (i = 0; o->blocked && i < nr_kicks && i < INHIBIT_MAX_KICKS; i++) {
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

void inhibit_observe_release(struct inhibit_test *t, uint32_t id, uint64_t seq,
			     const char *context, struct inhibit_release_obs *o)
{
	uint64_t bound_ms = t->config.bound_ms;
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

/* ------------------------------------------------------------------------
 * Recorded observations of the conforming behaviour, and the controls that
 * plant one fault in them. The VMCALL is the first instruction of the
 * hypercall page, whose address RAX holds at the call (lib/hyperv_call.S).
 */
#define REC_VMCALL 0x401000ull
#define REC_PAGE   0x401000ull

static struct inhibit_suspension_obs recorded_suspension(void)
{
	struct inhibit_suspension_obs o = {
		.what = "vCPU 1: HvFlushVirtualAddressSpace (fast) to VP set 0x1 (recorded)",
		.bound_ms = 10000, .reached = true, .blocked = true,
		.vmcall_rip = REC_VMCALL, .untouched_rax = REC_PAGE, .nr_kicks = 1,
		.kick = { { .err = EINTR, .exit_reason = KVM_EXIT_INTR, .via_signal = true,
			    .rip = REC_VMCALL, .rax = REC_PAGE, .mp_state = KVM_MP_STATE_RUNNABLE,
			    .reblocked = true } },
	};
	return o;
}

static struct inhibit_release_obs recorded_release(void)
{
	struct inhibit_release_obs o = {
		.what = "vCPU 1: HvFlushVirtualAddressList (slow) to VP set 0x1 (recorded)",
		.context = "after the inhibit of vCPU 0 was cleared", .bound_ms = 10000,
		.completed = true, .result = 1ull << HV_HYPERCALL_REP_COMP_OFFSET, .rep_cnt = 1,
	};
	return o;
}

const char *inhibit_judge_selective(const struct inhibit_selective_obs *o)
{
	const char *v;
	int i;

	for (i = 0; i < 2; i++)
		if ((v = inhibit_judge_release(&o->a_waiter[i])))
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
		if ((v = inhibit_judge_release(&o->b_after[i])))
			return v;
	return NULL;
}

static struct inhibit_selective_obs recorded_selective(void)
{
	struct inhibit_selective_obs o = {
		.b_blocked = true, .ab_exits_delta = 1, .ab_reblocked = true,
		.a = 0, .b = 1, .fb = 4, .fab = 5,
	};

	o.a_waiter[0] = o.a_waiter[1] = o.b_after[0] = o.b_after[1] = recorded_release();
	return o;
}

const char *inhibit_judge_irq(const struct inhibit_irq_obs *o)
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
	if ((v = inhibit_judge_release(&o->rel)))
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

static struct inhibit_irq_obs recorded_irq(void)
{
	struct inhibit_irq_obs o = {
		.vcpu = 1, .msi_ret = 1, .irr_pending = true, .count_final = 1,
		.irq_rip = REC_VMCALL, .irq_rip_first = REC_VMCALL, .vmcall_rip = REC_VMCALL,
		.irq_done_seq_first = 0, .seq = 1,
	};

	o.rel = recorded_release();
	return o;
}

const char *inhibit_judge_stress(const struct inhibit_stress_obs *o)
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

static struct inhibit_stress_obs recorded_stress(void)
{
	struct inhibit_stress_obs o = {
		.vcpu = 3, .seq = 17, .what = "HvFlushVirtualAddressSpaceEx (fast) to VP set 0x5",
		.targets = 0x5, .completed = true, .bound_ns = 10000000000ull,
		.clears = "vCPU 0 at +1.2 ms, vCPU 2 at +3.4 ms",
	};
	return o;
}

const char *inhibit_judge_flags(const struct inhibit_flags_obs *o)
{
	if (o->ret != -EINVAL)
		return VERDICT("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with flags 0x1 returned %s; the "
			       "documented ABI rejects non-zero flags with EINVAL (posted v1 does "
			       "not check them, which blocks folding 'inhibit' into flags later)",
			       ioctl_result_str(o->ret));
	if (o->took_effect)
		return VERDICT("the rejected call (flags 0x1, inhibit 1) still inhibited flushes");
	return NULL;
}

static struct inhibit_flags_obs recorded_flags(void)
{
	return (struct inhibit_flags_obs){ .ret = -EINVAL };
}

const char *inhibit_judge_efault(long ret)
{
	if (ret != -EFAULT)
		return VERDICT("KVM_HYPERV_SET_TLB_FLUSH_INHIBIT with an unreadable argument "
			       "returned %s, expected -EFAULT", ioctl_result_str(ret));
	return NULL;
}

/* Builds a recorded observation, applies the fault if asked, judges it. */
struct recorded_control {
	const char *case_ident;
	const char *fault;
	const char *(*run)(bool faulty);
};

#define RECORDED_CONTROL(name, kind, fault)                                    \
	static const char *name(bool faulty)                                   \
	{                                                                      \
		struct inhibit_##kind##_obs o = recorded_##kind();             \
		if (faulty) { fault; }                                         \
		return inhibit_judge_##kind(&o);                               \
	}

RECORDED_CONTROL(nc_completed, suspension, o.completed = true)
RECORDED_CONTROL(nc_not_blocked, suspension, o.blocked = false)
RECORDED_CONTROL(nc_returned, suspension,
		 (o.foreign_returns = 1, strcpy(o.foreign_desc, "vCPU 1: KVM_EXIT_HYPERV (27)")))
RECORDED_CONTROL(nc_rip, suspension, o.kick[0].rip = REC_VMCALL + 3)
RECORDED_CONTROL(nc_rax, suspension, o.kick[0].rax = HV_STATUS_SUCCESS)
RECORDED_CONTROL(nc_mp_state, suspension, o.kick[0].mp_state = KVM_MP_STATE_HALTED)
RECORDED_CONTROL(nc_not_released, release, o.completed = false)
RECORDED_CONTROL(nc_status, release, o.result = HV_STATUS_INVALID_HYPERCALL_INPUT)
RECORDED_CONTROL(nc_not_at_once, release,
		 (o.completed = false,
		  o.context = "although its targets exclude the inhibited vCPU"))
RECORDED_CONTROL(nc_b_woken, selective, o.b_exits_delta = 1)
RECORDED_CONTROL(nc_ab_early, selective, o.ab_completed_early = true)
RECORDED_CONTROL(nc_ab_not_woken, selective, o.ab_exits_delta = 0)
RECORDED_CONTROL(nc_reentry_ran, suspension, o.kick[0].reentry_exits = 1)
RECORDED_CONTROL(nc_irq_early, irq, o.count_while_suspended = 1)
RECORDED_CONTROL(nc_irq_twice, irq, o.count_final = 2)
/* A host quirk names "twice", nothing more. */
RECORDED_CONTROL(nc_irq_thrice_quirk_host, irq,
		 (o.count_final = 3, o.twice_is_host_quirk = true))
RECORDED_CONTROL(nc_irq_after_retry, irq,
		 (o.irq_rip_first = REC_VMCALL + 4, o.irq_done_seq_first = o.seq))
RECORDED_CONTROL(nc_stress_early, stress, o.covered = 0x4)
RECORDED_CONTROL(nc_stress_lost, stress,
		 (o.completed = false, o.owed_ns = o.bound_ns, o.blocking = 1))
RECORDED_CONTROL(nc_flags, flags, o.ret = 0)

static const struct recorded_control recorded_controls[INHIBIT_NR_RECORDED_CONTROLS] = {
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

bool inhibit_recorded_control_ran(const char *case_ident)
{
	const struct recorded_control *c;
	const char *v;

	if (!test_opts.negative_control || test_opts.negative_control == INHIBIT_LIVE_CONTROL)
		return false;
	if (test_opts.negative_control > INHIBIT_NR_RECORDED_CONTROLS)
		test_skip("--negative-control %" PRIu64 " does not exist (1-%d, %d)",
			  test_opts.negative_control, INHIBIT_NR_RECORDED_CONTROLS,
			  INHIBIT_LIVE_CONTROL);
	c = &recorded_controls[test_opts.negative_control - 1];
	if (strcmp(c->case_ident, case_ident))
		test_skip("negative control %" PRIu64 " concerns case %s", test_opts.negative_control,
			  c->case_ident);
	v = c->run(false);
	TEST_ASSERT(!v, "negative control broken: the verdict rejects the conforming "
		    "recording: %s", v);
	v = c->run(true);
	if (v)
		test_fail("NEGATIVE CONTROL %" PRIu64 " (%s): %s", test_opts.negative_control,
			  c->fault, v);
	test_diag("NEGATIVE CONTROL %" PRIu64 " (%s) did NOT fire: the check is ineffective",
		  test_opts.negative_control, c->fault);
	return true;
}
