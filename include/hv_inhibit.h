/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flusher vCPUs for testing the proposed KVM_HYPERV_SET_TLB_FLUSH_INHIBIT
 * (kvm_proposed_uapi.h; ABI and semantics in docs/interfaces.md section 1),
 * and a userspace simulation of the series for testing such tests.
 *
 * What it provides: a VM whose vCPUs 0..nr_targets-1 are inhibit targets
 * (never run) and whose other vCPUs are flushers. Each flusher runs on its
 * own runner thread, issues the Hyper-V PV TLB flush the test posts to it,
 * then waits for the next one. The runner parks the thread whenever the
 * guest is idle, records every KVM_RUN return the test did not cause (a
 * "foreign return": a suspended vCPU must stay inside KVM_RUN), and on
 * inhibit_kick() pulls the vCPU out of KVM_RUN with a signal and snapshots
 * RIP, RAX and the MP state. Every vCPU has the full supported Hyper-V CPUID
 * (the posted flush scan dereferences every vCPU's Hyper-V context) unless
 * listed in no_hv_mask, and VP index == vCPU id.
 *
 * How a test uses it: it observes, this file only gives the means.
 *
 *   const struct inhibit_config config = { .bound_ms = 10000 };
 *   const struct inhibit_layout layout = { .nr_targets = 1, .nr_flushers = 1 };
 *   struct inhibit_test *t = inhibit_test_create(&layout, &config);
 *   struct inhibit_flusher *f = &t->fl[1];
 *
 *   inhibit_set(t, 0, true);                        // flushes to vCPU 0 must wait
 *   seq = inhibit_post_flush(t, 1, &spec, false);   // vCPU 1 issues spec
 *   INHIBIT_WAIT_UNTIL(f->slot->started_seq == seq && inhibit_blocking(f), config.bound_ms);
 *   snap = inhibit_kick(f, false, false);           // snap.rip: still at t->vmcall_rip?
 *   inhibit_set(t, 0, false);
 *   INHIBIT_WAIT_UNTIL(f->slot->done_seq == seq && inhibit_idle(f), config.bound_ms);
 *   inhibit_test_destroy(t);
 *
 * KVM's "blocking" vCPU statistic (1 while the vCPU waits in
 * kvm_vcpu_block(), readable while its thread is inside KVM_RUN) shows a
 * flusher parked by KVM; "exits" shows whether guest code ran. Every wait
 * here is bounded by inhibit_config.bound_ms; a bound that passes ends the
 * test naming the vCPU.
 *
 * The simulation (inhibit_config.simulate; lib/hv_inhibit_sim.c) plays the
 * series' posted semantics in userspace on a kernel with Hyper-V but without
 * the series, so that a test's own machinery (runners, signals, statistics,
 * verdicts) runs its passing paths although no kernel has the interface. The
 * flusher is single-stepped (KVM_GUESTDBG_SINGLESTEP) up to the VMCALL; if a
 * target is "inhibited" the runner parks the vCPU in MP state UNINITIALIZED,
 * where KVM_RUN blocks in kvm_vcpu_block() like a suspended vCPU; a "clear"
 * wakes exactly the vCPUs waiting on that vCPU. A woken vCPU whose other
 * targets are still inhibited re-enters through a one-instruction stub (a VM
 * exit, as the real retry of the VMCALL would be) and parks again; otherwise
 * it resumes at the VMCALL. The debug exits and the MP state are hidden from
 * what the test sees. Its limit: it tests the test, not the kernel. A pass
 * under the simulation says nothing about any kernel.
 */
#ifndef KVMTEST_HV_INHIBIT_H
#define KVMTEST_HV_INHIBIT_H

#include <stdatomic.h>

#include "hyperv_flush.h"
#include "vm.h"

#define INHIBIT_MAX_VCPUS        16     /* targets + flushers, VP indexes < 64 */
#define INHIBIT_IRQ_VECTOR       0x50   /* handled by flushers of an apic layout */
#define INHIBIT_FOREIGN_DESC_LEN 200
#define INHIBIT_WHAT_LEN         128

/* Run-wide settings, from the test's options. */
struct inhibit_config {
	uint64_t bound_ms;              /* bound for anything that must happen */
	bool simulate;                  /* play the series in userspace (see above) */
	bool ioctl_no_op;               /* the ioctl does nothing and returns 0, as on a
					 * kernel that wrongly accepts it (a negative control) */
};

struct inhibit_layout {
	unsigned int nr_targets, nr_flushers;
	bool apic;                      /* in-kernel LAPIC; flushers take INHIBIT_IRQ_VECTOR */
	uint32_t no_hv_mask;            /* targets created without Hyper-V */
};

/* Shared with the guest: one slot per flusher vCPU. */
struct inhibit_flusher_slot {
	struct hv_flush_args call;      /* host -> guest: the prepared flush */
	volatile uint64_t req_seq;      /* host -> guest: number of the request */
	volatile bool stop;
	volatile bool irqs_on;          /* issue the call with RFLAGS.IF = 1 */
	volatile uint64_t started_seq;  /* guest: about to execute the VMCALL */
	volatile uint64_t done_seq;     /* guest: the hypercall returned */
	volatile uint64_t result;       /* guest: RAX it returned */
	volatile uint64_t irq_count;    /* guest: INHIBIT_IRQ_VECTOR taken */
	volatile uint64_t irq_rip;      /* guest: where the last one interrupted */
	volatile uint64_t irq_rip_first;
	volatile uint64_t irq_done_seq_first;
};

/* The vCPU as inhibit_kick() found it outside KVM_RUN. */
struct inhibit_kick_snapshot {
	int err;                        /* errno of KVM_RUN */
	uint32_t exit_reason;
	bool via_signal;                /* no immediate_exit: KVM_EXIT_INTR expected */
	bool no_reentry;                /* parked afterwards: no re-entry to judge */
	uint64_t rip, rax;
	uint32_t mp_state;
	bool reblocked;                 /* the caller's: blocked again after re-entering */
	uint64_t reentry_exits;         /* the caller's: VM exits across the re-entry */
};

/* A flusher's state in the simulation (lib/hv_inhibit_sim.c). */
struct inhibit_sim_flusher {
	uint64_t targets;               /* vCPU mask of the current request */
	int waiting_on;                 /* under inhibit_sim_vm.lock; -1: none */
	atomic_bool wake;               /* leave the MP state UNINITIALIZED */
	atomic_uint wakes_sent;         /* signals the simulation sent */
	unsigned int wakes_handled;     /* runner only */
	bool suspended;                 /* runner only */
};

struct inhibit_test;

struct inhibit_flusher {
	/* For the test to read. */
	struct vcpu *vcpu;
	struct inhibit_flusher_slot *slot;
	char what[INHIBIT_WHAT_LEN];    /* the posted flush, described */
	uint64_t hypercalls_at_post;    /* the 'hypercalls' statistic when it was posted */
	atomic_uint foreign_returns;    /* KVM_RUN returns the test did not cause */
	char foreign_desc[INHIBIT_FOREIGN_DESC_LEN];   /* the last one */
	struct kvm_lapic_state lapic;   /* at the last kick (apic layouts) */
	/* The runner's. */
	struct inhibit_test *test;
	atomic_int allow_run;
	atomic_uint idle_syncs;
	atomic_uint kicks_sent, kicks_seen;
	unsigned int kicks_handled;     /* runner only */
	atomic_int finished;
	atomic_bool park_after_kick;
	bool want_lapic;
	struct inhibit_kick_snapshot snap;
	unsigned int posts;
	uint64_t seq;
	struct inhibit_sim_flusher sim;
};

/* The simulation's view of the VM. */
struct inhibit_sim_vm {
	pthread_mutex_t lock;
	uint8_t inhibit[INHIBIT_MAX_VCPUS];
};

struct inhibit_shared;                  /* the guest's part, lib/hv_inhibit.c */

struct inhibit_test {
	struct inhibit_config config;
	struct vm *vm;
	struct inhibit_shared *sh;
	unsigned int nr_vcpus;
	struct vcpu *vcpu[INHIBIT_MAX_VCPUS];
	struct inhibit_flusher fl[INHIBIT_MAX_VCPUS];  /* flushers: fl[i].vcpu set */
	bool inhibited[INHIBIT_MAX_VCPUS];      /* as set by the test: KVM cannot be asked */
	uint64_t vmcall_rip;            /* the VMCALL in the hypercall page */
	uint64_t page;                  /* RAX at the VMCALL (lib/hyperv_call.S) */
	struct inhibit_sim_vm sim;
};

/* A VM laid out as above with every flusher idle on its runner thread. */
struct inhibit_test *inhibit_test_create(const struct inhibit_layout *layout,
					 const struct inhibit_config *config);
/* Stops the runners (each flusher must be idle) and destroys the VM. */
void inhibit_test_destroy(struct inhibit_test *t);

/* Hand idle flusher vCPU id its next flush; returns the request number
 * (slot->started_seq and slot->done_seq reach it). irqs_on: RFLAGS.IF = 1. */
uint64_t inhibit_post_flush(struct inhibit_test *t, uint32_t id, const struct hv_flush_spec *spec,
			    bool irqs_on);

/* The kernel's ioctl on one vCPU: 0 or -errno. */
long inhibit_ioctl(struct vcpu *v, uint8_t inhibit, uint16_t flags, uint8_t reserved);
/* The ioctl as this run provides it (the kernel's, the simulation, or the
 * no-op of inhibit_config.ioctl_no_op) on vCPU id: 0 or -errno. Leaves
 * t->inhibited alone. */
long inhibit_set_raw(struct inhibit_test *t, uint32_t id, uint8_t inhibit, uint16_t flags,
		     uint8_t reserved);
/* Set or clear the inhibit of vCPU id (must succeed), tracked in t->inhibited. */
void inhibit_set(struct inhibit_test *t, uint32_t id, bool on);

/* Signal the runner out of KVM_RUN and wait for its snapshot. immediate also
 * sets immediate_exit (the thread may be between runs); park leaves the
 * runner parked afterwards, until inhibit_resume(). */
struct inhibit_kick_snapshot inhibit_kick(struct inhibit_flusher *f, bool immediate, bool park);
void inhibit_resume(struct inhibit_flusher *f);
/* KVM's 'blocking' and 'exits' statistics of the flusher's vCPU. */
uint64_t inhibit_blocking(struct inhibit_flusher *f);
uint64_t inhibit_exits(struct inhibit_flusher *f);
/* The guest finished the last posted flush and waits for the next. */
bool inhibit_idle(struct inhibit_flusher *f);

/* One pause of a polling loop: yield for the first polls, then sleep. */
void inhibit_poll_pause(unsigned int polls);
/* Poll cond for up to ms milliseconds; the value of cond at the end. */
#define INHIBIT_WAIT_UNTIL(cond, ms)                                           \
	({                                                                     \
		uint64_t __deadline = now_ns() + (uint64_t)(ms) * 1000000ull;  \
		unsigned int __polls = 0;                                      \
		while (!(cond) && now_ns() < __deadline)                       \
			inhibit_poll_pause(__polls++);                         \
		(bool)(cond);                                                  \
	})

/* ---- Between lib/hv_inhibit.c and lib/hv_inhibit_sim.c; not for tests ---- */
/* inhibit_set_raw() in the simulation. */
long inhibit_sim_set(struct inhibit_test *t, uint32_t id, uint8_t inhibit, uint16_t flags);
/* A flush is being posted to the (parked) flusher: step it to the VMCALL. */
void inhibit_sim_post(struct inhibit_test *t, struct inhibit_flusher *f,
		      const struct hv_flush_spec *spec);
/* The runner, around each KVM_RUN: leave a suspension the simulation woke;
 * after: true if the exit was the simulation's own business. */
void inhibit_sim_before_run(struct inhibit_flusher *f);
bool inhibit_sim_after_run(struct inhibit_flusher *f, struct guest_msg *msg, int err);
/* An EINTR the simulation's wakeup signal may have caused. */
bool inhibit_sim_eintr(struct inhibit_flusher *f);

#endif
