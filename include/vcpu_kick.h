/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Getting a vCPU's thread out of KVM_RUN, the way VMMs do it.
 *
 * A kick is the signal KICK_SIGNAL sent with pthread_kill (threads.h:
 * vcpu_kick). A thread inside KVM_RUN returns with EINTR; the problem is a
 * kick that lands just before KVM_RUN, which a plain handler swallows. The
 * two race-free patterns of api.rst are provided here:
 *
 *  - KVM_SET_SIGNAL_MASK: the vCPU thread blocks the kick, and KVM unblocks
 *    it only while inside KVM_RUN. A kick outside KVM_RUN stays pending and
 *    makes the next KVM_RUN return EINTR at once; after every EINTR the kick
 *    is still pending (the thread's mask is back) and the thread takes it
 *    with kick_consume().
 *
 *      vcpu_thread_mask_kick_outside_run(vcpu);    // on the vCPU thread
 *      if (vcpu_run(vcpu) == -EINTR)
 *              TEST_ASSERT(kick_consume(), "EINTR without a pending kick");
 *
 *  - immediate_exit: the kick handler sets kvm_run->immediate_exit for the
 *    thread's vCPU, so the next KVM_RUN returns EINTR without entering the
 *    guest. The thread clears immediate_exit once it has seen the kick.
 *
 *      kick_handler_install();                      // once, any thread
 *      kick_handler_attach(&state);                 // on the vCPU thread
 *
 * vcpu_kick_and_wait() kicks and waits until the KVM_RUN that was in
 * progress has returned; a timeout there is a lost kick or a hung vCPU.
 *
 * The proposed KVM_KICK_ALL_RUNNING_VCPUS / KVM_RESUME_ALL_KICKED_VCPUS VM
 * ioctls (kvm_proposed_uapi.h) are reached through vm_kick_all() and
 * vm_resume_all_kicked() (or their raw __ forms) after kick_all_unsupported()
 * said they exist.
 */
#ifndef KVMTEST_VCPU_KICK_H
#define KVMTEST_VCPU_KICK_H

#include <signal.h>
#include <stdatomic.h>

#include "threads.h"
#include "vm.h"

/* KVM compares kvm_signal_mask.len with the kernel's sigset_t, 8 bytes on
 * x86-64 (glibc's sigset_t is 128 bytes). */
#define KVM_SIGSET_BYTES 8

/* KVM_SET_SIGNAL_MASK: the set blocked while this vCPU is inside KVM_RUN;
 * NULL removes the mask (the thread's own mask applies inside KVM_RUN). */
void vcpu_set_signal_mask(struct vcpu *vcpu, const sigset_t *blocked);
/* Raw form with any len (error tests); 0 or -errno. */
int __vcpu_set_signal_mask(struct vcpu *vcpu, uint32_t len, const sigset_t *blocked);

/* On the vCPU's thread: block KICK_SIGNAL in the thread and give KVM the
 * thread's mask without KICK_SIGNAL, so kicks act only inside KVM_RUN. */
void vcpu_thread_mask_kick_outside_run(struct vcpu *vcpu);
/* On the calling thread: block KICK_SIGNAL there only, without a KVM signal
 * mask: a kick then never ends KVM_RUN, it stays pending. */
void thread_block_kick(void);
/* On the calling thread: is a kick pending; take one if so (no waiting). */
bool kick_pending(void);
bool kick_consume(void);

/* The immediate_exit pattern. The handler replaces the harness's (same
 * signal, no SA_RESTART) and counts every kick a thread receives. */
struct kick_handler_state {
	struct vcpu *vcpu;
	bool set_immediate_exit;        /* false: count only (plain handler) */
	_Atomic uint64_t handled;       /* kicks delivered to the handler */
};
void kick_handler_install(void);
void kick_handler_attach(struct kick_handler_state *state);  /* calling thread */

/* Whether the vCPU's thread is inside KVM_RUN (a snapshot). */
static inline bool vcpu_in_run(struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->run_count, __ATOMIC_SEQ_CST) & 1;
}

/* Kick once and wait until the KVM_RUN in progress at the kick has returned
 * (0 at once if none was). -ETIMEDOUT if it did not return in timeout_ms:
 * a hung vCPU, or a lost kick when the thread uses neither pattern above. */
int vcpu_kick_and_wait(struct vcpu *vcpu, uint64_t timeout_ms);
/* Checked form: the test fails naming the vCPU and how long it has been in
 * KVM_RUN since the kick. */
void vcpu_kick_out(struct vcpu *vcpu, uint64_t timeout_ms);

/* Proposed KICK_ALL: NULL if both ioctls are implemented, else the reason
 * (for test_skip). Probes a VM without vCPUs; see vcpu_kick.c for why the
 * probe cannot be answered by KVM_SET_MEMORY_ATTRIBUTES. */
const char *kick_all_unsupported(void);
int __vm_kick_all(struct vm *vm);               /* 0 or -errno */
int __vm_resume_all_kicked(struct vm *vm);      /* 0 or -errno */
/* Checked forms. KICK_ALL is bounded: one that has not returned within
 * timeout_ms fails the test naming which of vcpus[0..n-1] (NULL entries
 * skipped) are still inside KVM_RUN; what says which step of the test. */
void vm_kick_all(struct vm *vm, struct vcpu **vcpus, unsigned int n, uint64_t timeout_ms,
		 const char *what);
void vm_resume_all_kicked(struct vm *vm);

#endif
