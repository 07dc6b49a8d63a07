// SPDX-License-Identifier: GPL-2.0
/*
 * The simulation: KVM_HYPERV_SET_TLB_FLUSH_INHIBIT's posted semantics (v1,
 * with the documented flags check) played by userspace, so that a test of
 * the interface can exercise its own machinery on a kernel with Hyper-V but
 * without the series. It tests the test, not the kernel. How it works:
 * include/hv_inhibit.h.
 *
 * The runner (lib/hv_inhibit.c) calls in before and after each KVM_RUN and on
 * each EINTR; inhibit_set_raw() and inhibit_post_flush() call in when the
 * test sets an inhibit or posts a flush. Which vCPU waits on which is kept
 * under inhibit_test.sim.lock; the rest belongs to the flusher's runner.
 */
#include <errno.h>

#include "hv_inhibit.h"
#include "threads.h"

/* Single-step the flusher (to stop it at the VMCALL), or stop doing so. */
static void single_step(struct vcpu *v, bool on)
{
	struct kvm_guest_debug dbg = { 0 };

	if (on)
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	vcpu_ioctl(v, KVM_SET_GUEST_DEBUG, &dbg);
}

/* A woken vCPU retries through this: "jmp *%rax" lands on the VMCALL
 * (RAX holds the hypercall page, whose first instruction it is). */
void sim_retry_stub(void);
__asm__(".pushsection .text\n"
	"sim_retry_stub: jmp *%rax\n"
	".popsection");

/* Under the lock: the first inhibited vCPU of a target mask, or -1. */
static int first_inhibited(struct inhibit_test *t, uint64_t targets)
{
	unsigned int i;

	for (i = 0; i < t->nr_vcpus; i++)
		if ((targets & BITL(i)) && t->sim.inhibit[i])
			return i;
	return -1;
}

/* The ioctl: flags checked as documented; otherwise as posted v1. A clear
 * wakes exactly the flushers waiting on the clearing vCPU. */
long inhibit_sim_set(struct inhibit_test *t, uint32_t id, uint8_t inhibit, uint16_t flags)
{
	unsigned int i;

	if (flags)
		return -EINVAL;
	pthread_mutex_lock(&t->sim.lock);
	t->sim.inhibit[id] = inhibit;
	for (i = 0; !inhibit && i < t->nr_vcpus; i++) {
		struct inhibit_flusher *f = &t->fl[i];

		if (!f->vcpu || f->sim.waiting_on != (int)id)
			continue;
		f->sim.waiting_on = -1;
		atomic_store(&f->sim.wake, true);
		atomic_fetch_add(&f->sim.wakes_sent, 1);
		f->vcpu->run->immediate_exit = 1;       /* no lost wakeup between runs */
		vcpu_kick(f->vcpu);
	}
	pthread_mutex_unlock(&t->sim.lock);
	return 0;
}

void inhibit_sim_post(struct inhibit_test *t, struct inhibit_flusher *f,
		      const struct hv_flush_spec *spec)
{
	unsigned int i;

	f->sim.targets = 0;
	for (i = 0; i < t->nr_vcpus; i++)        /* VP index == vCPU id */
		if (hv_flush_spec_targets_vp(spec, i))
			f->sim.targets |= BITL(i);
	single_step(f->vcpu, true);     /* the runner is parked */
}

void inhibit_sim_before_run(struct inhibit_flusher *f)
{
	struct inhibit_test *t = f->test;
	struct kvm_regs regs;
	bool again;

	if (!atomic_exchange(&f->sim.wake, false) || !f->sim.suspended)
		return;
	f->sim.suspended = false;
	vcpu_set_mp_state(f->vcpu, KVM_MP_STATE_RUNNABLE);
	pthread_mutex_lock(&t->sim.lock);
	again = first_inhibited(t, f->sim.targets) >= 0;
	pthread_mutex_unlock(&t->sim.lock);
	if (again) {
		/* Retry through the guest: one stepped instruction, then the
		 * VMCALL is judged again in inhibit_sim_after_run(). */
		vcpu_get_regs(f->vcpu, &regs);
		regs.rip = (uint64_t)sim_retry_stub;
		vcpu_set_regs(f->vcpu, &regs);
		/* KVM keeps TF only at the RIP where stepping began: re-arm. */
		single_step(f->vcpu, true);
	} else {
		single_step(f->vcpu, false);    /* resume at the VMCALL */
	}
}

bool inhibit_sim_eintr(struct inhibit_flusher *f)
{
	unsigned int sent = atomic_load(&f->sim.wakes_sent);

	if (!f->test->config.simulate || sent == f->sim.wakes_handled)
		return false;
	f->sim.wakes_handled = sent;
	return true;
}

bool inhibit_sim_after_run(struct inhibit_flusher *f, struct guest_msg *msg, int err)
{
	struct inhibit_test *t = f->test;
	struct vcpu *v = f->vcpu;
	int i;

	if (!msg && err == EAGAIN && f->sim.suspended)
		return true;    /* event pending while "suspended": KVM_RUN spins */
	if (msg || err || v->run->exit_reason != KVM_EXIT_DEBUG)
		return false;
	if (v->run->debug.arch.pc != t->vmcall_rip)
		return true;    /* still stepping towards the VMCALL */
	pthread_mutex_lock(&t->sim.lock);
	i = first_inhibited(t, f->sim.targets);
	if (i >= 0) {
		f->sim.waiting_on = i;
		f->sim.suspended = true;
		vcpu_set_mp_state(v, KVM_MP_STATE_UNINITIALIZED);
	} else {
		single_step(v, false);
	}
	pthread_mutex_unlock(&t->sim.lock);
	return true;
}
