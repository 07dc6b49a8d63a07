/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ordering stress of KVM_HYPERV_SET_TLB_FLUSH_INHIBIT: one host thread
 * toggles the targets' inhibits in seeded random order and watches the
 * flushers (include/hv_inhibit.h), whose runner threads only run them. Each
 * idle flusher is handed a random flush (any call, slow or fast, to a
 * random non-empty set of targets, or one time in eight to all of them) as
 * soon as its last one completed.
 *
 * What is judged (inhibit_judge_stress(), include/hv_inhibit_verdict.h),
 * from two sets kept per flush:
 * - "covered": the targets whose inhibit had returned before the request
 *   was posted and that have not been cleared since. A flusher seen
 *   complete while covered is non-empty completed while a target was
 *   inhibited (its hypercall ran after the inhibit ioctl returned). Covered
 *   flushers are checked just before each clear, when it is still true.
 * - "owed": all of its targets are clear. From then on the toggler leaves
 *   those targets alone (they are "frozen") until the flush completes; if
 *   it does not within inhibit_config.bound_ms, a wakeup was lost.
 *
 *   struct inhibit_stress st;
 *
 *   inhibit_stress_init(&st, t, &layout);
 *   while (time is left) {
 *           inhibit_stress_scan(&st, &rng, true);   // judge, and post anew
 *           j = test_rng_below(&rng, st.nr_targets);
 *           if (t->inhibited[j])
 *                   inhibit_stress_clear(&st, j);
 *           else if (!inhibit_stress_frozen(&st, j))
 *                   inhibit_stress_set(&st, j);
 *   }
 *   inhibit_stress_drain(&st, &rng);                // every flush completes
 */
#ifndef KVMTEST_HV_INHIBIT_STRESS_H
#define KVMTEST_HV_INHIBIT_STRESS_H

#include "hv_inhibit.h"
#include "ktest.h"

/* One flusher's request in flight, and its totals. */
struct inhibit_stress_flusher {
	bool in_flight, had_to_wait;
	uint64_t seq, targets, covered, owed_since, posted_ns;
	struct hv_flush_spec spec;
	uint64_t completed, waited;
};

struct inhibit_stress {
	struct inhibit_test *t;
	unsigned int nr_targets, first_flusher, nr_flushers;
	struct inhibit_stress_flusher sf[INHIBIT_MAX_VCPUS];
	uint64_t start_ns, last_clear_ns[INHIBIT_MAX_VCPUS];
	/* For the summary: inhibit toggles, flushes completed, flushes issued
	 * while a target was inhibited, lost-wakeup windows opened, the
	 * longest such flush's wait. */
	uint64_t toggles, completions, waited, lost_wakeup_checks, max_wait_ns;
};

/* Targets and flushers as laid out in t (layout: the one it was made with). */
void inhibit_stress_init(struct inhibit_stress *st, struct inhibit_test *t,
			 const struct inhibit_layout *layout);
/* Look at every flusher: judge completions and lost wakeups; with post,
 * hand each idle flusher its next random flush. */
void inhibit_stress_scan(struct inhibit_stress *st, struct test_rng *rng, bool post);
/* Inhibit target, or clear it (judging the covered flushers first). */
void inhibit_stress_set(struct inhibit_stress *st, uint32_t target);
void inhibit_stress_clear(struct inhibit_stress *st, uint32_t target);
/* A flusher that targets it is owed a wakeup: leave its inhibit alone. */
bool inhibit_stress_frozen(struct inhibit_stress *st, uint32_t target);
/* Clear every inhibit; every flush must then complete within the bound. */
void inhibit_stress_drain(struct inhibit_stress *st, struct test_rng *rng);

#endif
