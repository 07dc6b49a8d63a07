/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Observing guest TLB flushes through stale reads.
 *
 * A set of test pages at consecutive GVAs, each backed by two guest pages
 * ("sides") holding distinct values. Worker vCPUs cache the translations
 * (they flush locally and read every test GVA: the "prepare" step); a sender
 * then points some PTEs at the other side, which it has just filled with a
 * new value ("remap"), flushes remote TLBs by whatever means is under test,
 * and asks the workers to read again ("check"). A worker that still reads
 * the old value used a stale translation: the flush did not reach it.
 *
 *   host:  tc = tlbcheck_create(vm, gva, nr_pages, nr_workers);
 *   guest worker i:  tlbcheck_worker(tc, i);            // until tlbcheck_stop()
 *   guest sender:    tlbcheck_prepare(tc);
 *                    tlbcheck_remap(tc, pages);
 *                    ... flush ...
 *                    stale = tlbcheck_verify(tc, workers, self);
 *
 * The protocol runs in guest memory with no exits, so vCPUs on their own
 * threads can race for real. With tc->sync_steps set, a worker instead sends
 * GUEST_SYNC(TLBCHECK_SYNC_STEP, step) after each step and the host drives
 * the order (e.g. to keep a target out of KVM_RUN while flushes queue up):
 * tlbcheck_host_step() sets the phase for one worker and runs it through it.
 *
 * When vCPU threads outnumber host CPUs, spinning waits starve the vCPU
 * being waited for; with yield_spins set, waits exit now and then with
 * GUEST_SYNC(TLBCHECK_SYNC_YIELD) and tlbcheck_next_msg() yields the CPU.
 *
 * Nothing here asserts that a TLB *keeps* an old translation: hardware may
 * drop entries at any time, so only "the new value must be seen" is a check.
 * Stale reads by workers that were not targeted are counted (untargeted_stale)
 * as evidence that staleness is observable on the host at all.
 */
#ifndef KVMTEST_TLBCHECK_H
#define KVMTEST_TLBCHECK_H

#include "vm.h"

#define TLBCHECK_MAX_PAGES   64         /* pages are named by a u64 bitmap */
#define TLBCHECK_MAX_WORKERS 16
#define TLBCHECK_SELF        TLBCHECK_MAX_WORKERS  /* result slot of the sender */
#define TLBCHECK_SYNC_STEP   0x7c3c       /* GUEST_SYNC tag in sync_steps mode */
#define TLBCHECK_SYNC_YIELD  0x7c3d       /* GUEST_SYNC tag: "let another thread run" */

enum tlbcheck_step {
	TLBCHECK_IDLE,
	TLBCHECK_PREPARE,       /* flush locally, load every translation */
	TLBCHECK_CHECK,         /* read the remapped pages */
	TLBCHECK_STOP,
};

struct tlbcheck_page {
	uint64_t *pte;          /* the guest PTE (same pointer in host and guest) */
	uint64_t side[2];       /* GPAs of the two backing pages */
	uint64_t *data[2];      /* their contents (GVA == HVA of guest RAM) */
	uint32_t cur;           /* side the PTE points at */
	uint64_t value;         /* what the current side holds */
};

struct tlbcheck_result {
	volatile uint64_t acked;        /* phase value last acknowledged */
	uint64_t checks;                /* pages checked while targeted */
	uint64_t stale;                 /* ... of which read the old value */
	uint64_t untargeted_stale;      /* old values seen while not targeted */
	uint64_t prepare_errors;        /* wrong value right after a local flush */
	/* The first stale read. */
	uint64_t stale_round, stale_page, stale_expected, stale_got;
};

struct tlbcheck {
	uint64_t gva;                   /* GVA of page 0; page i at gva + i * 4 KiB */
	uint32_t nr_pages;
	uint32_t nr_workers;
	bool sync_steps;                /* workers GUEST_SYNC after each step */
	/* Waiting vCPUs spin this many times, then exit so the host thread can
	 * yield its CPU (vCPUs outnumbering host CPUs); 0: spin only. An exit
	 * may flush the TLB on some hosts (TCG does), which hides staleness. */
	uint32_t yield_spins;
	volatile uint64_t phase;        /* round << 8 | step */
	uint64_t round;
	uint64_t changed;               /* pages remapped this round */
	uint64_t targets;               /* workers that must see the new values */
	struct tlbcheck_page pages[TLBCHECK_MAX_PAGES];
	struct tlbcheck_result res[TLBCHECK_MAX_WORKERS + 1];
};

static inline uint64_t tlbcheck_page_gva(const struct tlbcheck *tc, uint32_t page)
{
	return tc->gva + (uint64_t)page * PAGE_SIZE;
}

static inline uint64_t tlbcheck_all_pages(const struct tlbcheck *tc)
{
	return tc->nr_pages == 64 ? ~0ull : BITL(tc->nr_pages) - 1;
}

/* ---- host side ---- */
/* Map nr_pages test pages at gva (4 KiB pages, side 0 mapped). */
struct tlbcheck *tlbcheck_create(struct vm *vm, uint64_t gva, uint32_t nr_pages,
				 uint32_t nr_workers);
/* sync_steps mode: set the next step for worker vcpu and run it until it
 * acknowledges it (fails the test on anything else). */
void tlbcheck_host_step(struct tlbcheck *tc, struct vcpu *worker, enum tlbcheck_step step);
/* vcpu_next_msg(), yielding on TLBCHECK_SYNC_YIELD; and until GUEST_DONE. */
struct guest_msg *tlbcheck_next_msg(struct vcpu *vcpu);
void tlbcheck_run_to_done(struct vcpu *vcpu);
/* Sum of stale reads by targeted workers (and the sender's self-checks). */
uint64_t tlbcheck_total_stale(const struct tlbcheck *tc);
/* Fail the test naming the first stale read, if any; what = the flush. */
void tlbcheck_assert_no_stale(const struct tlbcheck *tc, const char *what,
			      const uint32_t *vp_of_worker);
/* "# untargeted stale reads ..." diagnostics. */
void tlbcheck_diag(const struct tlbcheck *tc, const char *what);

/* ---- guest side ---- */
/* Worker idx: follow the phases until TLBCHECK_STOP. */
void tlbcheck_worker(struct tlbcheck *tc, uint32_t idx);
/* Sender: start a round, wait until every worker has loaded its
 * translations; with self, load the sender's own too. */
void tlbcheck_prepare(struct tlbcheck *tc, bool self);
/* Sender: point the given pages at their other side, holding a new value. */
void tlbcheck_remap(struct tlbcheck *tc, uint64_t pages);
/* Sender: have the workers re-read; workers in `targets` (bitmap of worker
 * indexes) must see the new values, and so must the sender with self.
 * Returns the number of stale reads among those. */
uint64_t tlbcheck_verify(struct tlbcheck *tc, uint64_t targets, bool self);
/* Sender: end the workers' loops. */
void tlbcheck_stop(struct tlbcheck *tc);
/* One step for worker idx (what tlbcheck_worker runs on each phase). */
void tlbcheck_worker_step(struct tlbcheck *tc, uint32_t idx, uint64_t phase);

#endif
