// SPDX-License-Identifier: GPL-2.0
/*
 * Flusher vCPUs on runner threads for KVM_HYPERV_SET_TLB_FLUSH_INHIBIT
 * tests. See include/hv_inhibit.h; the simulation is lib/hv_inhibit_sim.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>

#include "apic.h"
#include "hv_inhibit.h"
#include "hyperv.h"
#include "kvm_proposed_uapi.h"
#include "stats.h"
#include "threads.h"

#define FLUSHER_IDLE    0x1d1e          /* GUEST_SYNC tag: waiting for a request */
#define POLL_SPINS      64              /* sched_yield() polls before sleeping */
#define POLL_SLEEP_US   200

/* ------------------------------------------------------------------------
 * Guest side. A flusher announces it is idle, then issues the request the
 * host posted in its slot, recording when it starts and ends.
 */
struct inhibit_shared {
	struct inhibit_flusher_slot slot[INHIBIT_MAX_VCPUS];
	bool use_apic;
};

static void guest_irq(struct ex_regs *regs)
{
	struct inhibit_shared *sh = guest_data();
	struct inhibit_flusher_slot *s = &sh->slot[guest_vcpu_id()];

	s->irq_count++;
	/*
	 * The first delivery that interrupted code running with IF=1. One
	 * taken with IF clear interrupted the entry path of an earlier
	 * delivery (a host delivering it twice): a duplicate, never the one
	 * whose RIP says where the vCPU resumed.
	 */
	if (!s->irq_rip_first && (regs->rflags & X86_EFLAGS_IF)) {
		s->irq_rip_first = regs->rip;
		s->irq_done_seq_first = s->done_seq;
	}
	s->irq_rip = regs->rip;
	apic_eoi();
}

static void guest_flusher(void *arg)
{
	struct inhibit_shared *sh = arg;
	struct inhibit_flusher_slot *s = &sh->slot[guest_vcpu_id()];
	uint64_t seq, rax;

	hyperv_enable_hypercalls();
	if (sh->use_apic) {
		xapic_enable();
		guest_set_handler(INHIBIT_IRQ_VECTOR, guest_irq);
	}
	for (;;) {
		GUEST_SYNC(FLUSHER_IDLE, s->done_seq);
		if (s->stop)
			return;
		seq = s->req_seq;
		s->started_seq = seq;
		if (s->irqs_on)
			sti();
		rax = hv_flush_issue(&s->call);
		cli();
		s->result = rax;
		s->done_seq = seq;
	}
}

static void guest_target(void *arg)
{
	GUEST_FAIL("inhibited target vCPUs are never run by this test");
}

/* ------------------------------------------------------------------------
 * Host side: one runner thread per flusher vCPU. It parks whenever the guest
 * is idle, snapshots the vCPU after each signal the test sends, and records
 * every KVM_RUN return the test did not cause.
 */
void inhibit_poll_pause(unsigned int polls)
{
	if (polls < POLL_SPINS)
		sched_yield();
	else
		usleep(POLL_SLEEP_US);
}

static void note_foreign_return(struct inhibit_flusher *f)
{
	atomic_fetch_add(&f->foreign_returns, 1);
}

/* KVM_RUN returned EINTR: a kick of the test's (snapshot it), the
 * simulation's wakeup, or nobody's. */
static void runner_eintr(struct inhibit_flusher *f, int err)
{
	struct vcpu *vcpu = f->vcpu;
	bool by_simulation = inhibit_sim_eintr(f);
	unsigned int sent = atomic_load(&f->kicks_sent);
	struct kvm_regs regs;

	vcpu->run->immediate_exit = 0;
	if (sent == f->kicks_handled && by_simulation)
		return;
	if (sent == f->kicks_handled) {
		snprintf(f->foreign_desc, sizeof(f->foreign_desc),
			 "KVM_RUN returned EINTR without a signal from the test");
		note_foreign_return(f);
		return;
	}
	vcpu_get_regs(vcpu, &regs);
	f->snap = (struct inhibit_kick_snapshot){
		.err = err, .exit_reason = vcpu->run->exit_reason,
		.rip = regs.rip, .rax = regs.rax,
		/* The simulation's parking MP state is not the vCPU's. */
		.mp_state = f->sim.suspended ? KVM_MP_STATE_RUNNABLE : vcpu_mp_state(vcpu),
	};
	if (f->want_lapic)
		vcpu_get_lapic(vcpu, &f->lapic);
	f->kicks_handled = sent;
	if (atomic_load(&f->park_after_kick))
		atomic_store(&f->allow_run, 0);
	atomic_store(&f->kicks_seen, sent);
}

static void runner(struct vcpu *vcpu)
{
	struct inhibit_flusher *f = vcpu->test_data;
	bool simulate = f->test->config.simulate;
	struct guest_msg *msg;
	unsigned int polls;
	int err;

	for (;;) {
		for (polls = 0; !atomic_load(&f->allow_run); polls++)
			inhibit_poll_pause(polls);
		if (simulate)
			inhibit_sim_before_run(f);
		msg = vcpu_next_msg(vcpu, &err);
		if (simulate && inhibit_sim_after_run(f, msg, err))
			continue;
		if (!msg && err == EINTR) {
			runner_eintr(f, err);
			continue;
		}
		if (!msg) {
			if (err)
				snprintf(f->foreign_desc, sizeof(f->foreign_desc),
					 "KVM_RUN failed: %s", strerror(err));
			else
				vcpu_describe_exit(vcpu, f->foreign_desc, sizeof(f->foreign_desc));
			note_foreign_return(f);
			atomic_store(&f->allow_run, 0);
			continue;
		}
		if (msg->type == GUEST_MSG_DONE) {
			atomic_store(&f->finished, 1);
			return;
		}
		TEST_ASSERT(msg->nargs == 2 && msg->args[0] == FLUSHER_IDLE,
			    "vCPU %u: unexpected GUEST_SYNC from %s:%u", vcpu->id, msg->file, msg->line);
		atomic_store(&f->allow_run, 0);
		atomic_fetch_add(&f->idle_syncs, 1);
	}
}

uint64_t inhibit_blocking(struct inhibit_flusher *f)
{
	return vcpu_stat(f->vcpu, "blocking");
}

uint64_t inhibit_exits(struct inhibit_flusher *f)
{
	return vcpu_stat(f->vcpu, "exits");
}

struct inhibit_kick_snapshot inhibit_kick(struct inhibit_flusher *f, bool immediate, bool park)
{
	uint64_t bound_ms = f->test->config.bound_ms;
	unsigned int n = atomic_load(&f->kicks_sent) + 1;

	atomic_store(&f->park_after_kick, park);
	atomic_store(&f->kicks_sent, n);
	if (immediate)
		f->vcpu->run->immediate_exit = 1;
	vcpu_kick(f->vcpu);
	TEST_ASSERT(INHIBIT_WAIT_UNTIL(atomic_load(&f->kicks_seen) == n, bound_ms),
		    "vCPU %u did not leave KVM_RUN within %" PRIu64 " ms of a signal",
		    f->vcpu->id, bound_ms);
	f->snap.via_signal = !immediate;
	f->snap.no_reentry = park;
	return f->snap;
}

void inhibit_resume(struct inhibit_flusher *f)
{
	atomic_store(&f->allow_run, 1);
}

bool inhibit_idle(struct inhibit_flusher *f)
{
	return atomic_load(&f->idle_syncs) == f->posts + 1;
}

/* ------------------------------------------------------------------------
 * The interface: the kernel's, the simulation's, or a no-op stand-in.
 */
long inhibit_ioctl(struct vcpu *v, uint8_t inhibit, uint16_t flags, uint8_t reserved)
{
	struct kvm_hyperv_tlb_flush_inhibit arg = { .flags = flags, .inhibit = inhibit };

	memset(arg.reserved, reserved, sizeof(arg.reserved));
	return __vcpu_ioctl(v, KVM_HYPERV_SET_TLB_FLUSH_INHIBIT, &arg);
}

long inhibit_set_raw(struct inhibit_test *t, uint32_t id, uint8_t inhibit, uint16_t flags,
		     uint8_t reserved)
{
	if (t->config.ioctl_no_op)
		return 0;
	if (t->config.simulate)
		return inhibit_sim_set(t, id, inhibit, flags);
	return inhibit_ioctl(t->vcpu[id], inhibit, flags, reserved);
}

void inhibit_set(struct inhibit_test *t, uint32_t id, bool on)
{
	long r = inhibit_set_raw(t, id, on ? KVM_HYPERV_INHIBIT_TLB_FLUSH
					   : KVM_HYPERV_UNINHIBIT_TLB_FLUSH, 0, 0);

	TEST_ASSERT(r == 0, "%s the TLB flush inhibit of vCPU %u failed: %s (the posted ABI "
		    "says this ioctl cannot fail)", on ? "setting" : "clearing", id,
		    strerror((int)-r));
	t->inhibited[id] = on;
}

/* ------------------------------------------------------------------------
 * Test VMs.
 */
static void flusher_init(struct inhibit_test *t, uint32_t id, bool want_lapic)
{
	struct inhibit_flusher *f = &t->fl[id];
	struct vcpu *v = t->vcpu[id];
	uint64_t dummy;

	/* The stats fd must exist before the thread holds vcpu->mutex. */
	TEST_REQUIRE(__vcpu_stat(v, "blocking", &dummy),
		     "KVM has no 'blocking' vCPU statistic (Linux 5.17+), which this "
		     "test uses to see a suspended vCPU");
	f->test = t;
	f->vcpu = v;
	f->slot = &t->sh->slot[id];
	f->want_lapic = want_lapic;
	f->sim.waiting_on = -1;
	v->test_data = f;
}

struct inhibit_test *inhibit_test_create(const struct inhibit_layout *l,
					 const struct inhibit_config *config)
{
	/* The simulation parks vCPUs in an MP state, which needs a LAPIC. */
	struct vm_options opts = { .irqchip = l->apic || config->simulate };
	struct inhibit_test *t = calloc(1, sizeof(*t));
	uint64_t bound_ms = config->bound_ms;
	unsigned int i;

	TEST_ASSERT(t, "out of memory");
	TEST_ASSERT(l->nr_targets + l->nr_flushers <= INHIBIT_MAX_VCPUS, "at most %d vCPUs",
		    INHIBIT_MAX_VCPUS);
	t->config = *config;
	pthread_mutex_init(&t->sim.lock, NULL);
	t->vm = vm_create(&opts);
	t->sh = vm_alloc(t->vm, sizeof(*t->sh));
	t->sh->use_apic = l->apic;
	vm_set_guest_data(t->vm, t->sh);        /* for guest_irq() */
	t->nr_vcpus = l->nr_targets + l->nr_flushers;
	for (i = 0; i < t->nr_vcpus; i++) {
		bool target = i < l->nr_targets;
		struct vcpu *v = vcpu_add(t->vm, i, target ? guest_target : guest_flusher, t->sh);

		t->vcpu[i] = v;
		if (l->no_hv_mask & BIT(i))
			continue;
		vcpu_enable_hyperv(v);
		vcpu_set_vp_index(v, i);
		if (!target)
			flusher_init(t, i, l->apic);
	}
	for (i = l->nr_targets; i < t->nr_vcpus; i++) {
		inhibit_resume(&t->fl[i]);
		vcpu_thread_start(t->vcpu[i], runner);
	}
	for (i = l->nr_targets; i < t->nr_vcpus; i++)
		TEST_ASSERT(INHIBIT_WAIT_UNTIL(inhibit_idle(&t->fl[i]), bound_ms),
			    "flusher vCPU %u did not set up hypercalls within %" PRIu64 " ms", i,
			    bound_ms);
	if (l->nr_flushers) {
		t->page = (uint64_t)t->vcpu[l->nr_targets]->cpu->hypercall_page;
		t->vmcall_rip = hv_hypercall_insn_addr((void *)t->page);
		TEST_ASSERT(t->vmcall_rip, "no VMCALL/VMMCALL in the hypercall page KVM wrote");
	}
	return t;
}

void inhibit_test_destroy(struct inhibit_test *t)
{
	uint64_t bound_ms = t->config.bound_ms;
	unsigned int i;

	for (i = 0; i < t->nr_vcpus; i++) {
		struct inhibit_flusher *f = &t->fl[i];

		if (!f->vcpu)
			continue;
		TEST_ASSERT(INHIBIT_WAIT_UNTIL(inhibit_idle(f), bound_ms),
			    "flusher vCPU %u is not idle", i);
		f->slot->stop = true;
		inhibit_resume(f);
		TEST_ASSERT(INHIBIT_WAIT_UNTIL(atomic_load(&f->finished), bound_ms),
			    "flusher vCPU %u did not stop within %" PRIu64 " ms", i, bound_ms);
		vcpu_thread_join(f->vcpu);
	}
	vm_destroy(t->vm);
	pthread_mutex_destroy(&t->sim.lock);
	free(t);
}

uint64_t inhibit_post_flush(struct inhibit_test *t, uint32_t id, const struct hv_flush_spec *spec,
			    bool irqs_on)
{
	struct inhibit_flusher *f = &t->fl[id];
	struct inhibit_flusher_slot *s = f->slot;
	uint64_t bound_ms = t->config.bound_ms;
	struct hv_flush_spec call;

	TEST_ASSERT(INHIBIT_WAIT_UNTIL(inhibit_idle(f), bound_ms), "flusher vCPU %u not idle "
		    "within %" PRIu64 " ms", id, bound_ms);
	hv_flush_describe(f->what, sizeof(f->what), spec);
	call = *spec;
	/* What a List call flushes does not matter here: the flusher's own
	 * input page, unless the test names GVAs. */
	if (!s->call.input_page)
		s->call.input_page = vm_alloc(t->vm, PAGE_SIZE);
	if (hv_flush_call_is_list(call.call) && !call.nr_gvas)
		hv_flush_spec_add_gva(&call, (uint64_t)s->call.input_page, 0);
	hv_flush_prepare(t->vm, &s->call, &call);
	s->irqs_on = irqs_on;
	f->hypercalls_at_post = vcpu_stat(f->vcpu, "hypercalls");
	if (t->config.simulate)
		inhibit_sim_post(t, f, spec);
	f->seq++;
	f->posts++;
	s->req_seq = f->seq;
	test_progress("vCPU %u: flush #%" PRIu64 ": %s", id, f->seq, f->what);
	inhibit_resume(f);
	return f->seq;
}
