// SPDX-License-Identifier: GPL-2.0
/*
 * The ordering stress of KVM_HYPERV_SET_TLB_FLUSH_INHIBIT: random flushes,
 * random toggles, "covered" and "owed" flushes judged. How it works:
 * include/hv_inhibit_stress.h.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "hv_inhibit_stress.h"
#include "hv_inhibit_verdict.h"
#include "hyperv.h"

#define ALL_ONE_IN 8                    /* one request in 8 targets "all" */

void inhibit_stress_init(struct inhibit_stress *st, struct inhibit_test *t,
			 const struct inhibit_layout *layout)
{
	memset(st, 0, sizeof(*st));
	st->t = t;
	st->nr_targets = layout->nr_targets;
	st->first_flusher = layout->nr_targets;
	st->nr_flushers = layout->nr_flushers;
	st->start_ns = now_ns();
}

static uint64_t inhibited_targets(struct inhibit_stress *st)
{
	uint64_t m = 0;
	unsigned int j;

	for (j = 0; j < st->nr_targets; j++)
		if (st->t->inhibited[j])
			m |= BITL(j);
	return m;
}

static void observe_flush(struct inhibit_stress *st, uint32_t id, struct inhibit_stress_obs *o)
{
	struct inhibit_stress_flusher *s = &st->sf[id];
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
	o->bound_ns = st->t->config.bound_ms * 1000000ull;
	o->owed_ns = s->owed_since ? now_ns() - s->owed_since : 0;
	o->blocking = inhibit_blocking(f);
	for (j = 0; j < st->nr_targets && n < (int)sizeof(o->clears) - 40; j++)
		if (s->targets & BITL(j))
			n += snprintf(o->clears + n, sizeof(o->clears) - n, "%svCPU %u at +%" PRIu64
				      " ms", n ? ", " : "", j,
				      (st->last_clear_ns[j] - st->start_ns) / 1000000);
}

static void judge_flusher(struct inhibit_stress *st, uint32_t id)
{
	struct inhibit_stress_obs o;

	observe_flush(st, id, &o);
	INHIBIT_CHECK(inhibit_judge_stress(&o));
	TEST_ASSERT(!atomic_load(&st->t->fl[id].foreign_returns),
		    "vCPU %u: KVM_RUN returned to userspace unexpectedly: %s", id,
		    st->t->fl[id].foreign_desc);
}

static void post_random_flush(struct inhibit_stress *st, uint32_t id, struct test_rng *rng)
{
	struct inhibit_stress_flusher *s = &st->sf[id];
	uint64_t all = BITL(st->nr_targets) - 1;
	unsigned int j;
	bool ex;

	memset(&s->spec, 0, sizeof(s->spec));
	s->spec.call = test_rng_below(rng, HV_FLUSH_NR_CALLS);
	s->spec.fast = test_rng_below(rng, 2);
	ex = hv_flush_call_is_ex(s->spec.call);
	if (!test_rng_below(rng, ALL_ONE_IN)) {
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
	s->covered = s->targets & inhibited_targets(st);
	s->had_to_wait = s->covered;
	s->waited += s->had_to_wait;
	st->waited += s->had_to_wait;
	s->owed_since = s->covered ? 0 : now_ns();
	s->posted_ns = now_ns();
	s->in_flight = true;
	s->seq = inhibit_post_flush(st->t, id, &s->spec, false);
}

/* Look at every flusher: verdict on completions, lost wakeups; repost. */
void inhibit_stress_scan(struct inhibit_stress *st, struct test_rng *rng, bool post)
{
	unsigned int i;

	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++) {
		struct inhibit_stress_flusher *s = &st->sf[i];
		struct inhibit_flusher *f = &st->t->fl[i];

		if (!s->in_flight)
			goto repost;
		judge_flusher(st, i);
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
			post_random_flush(st, i, rng);
	}
}

void inhibit_stress_set(struct inhibit_stress *st, uint32_t target)
{
	inhibit_set(st->t, target, true);
	st->toggles++;
}

void inhibit_stress_clear(struct inhibit_stress *st, uint32_t target)
{
	uint64_t inhibited;
	unsigned int i;

	/* Before the clear: no covered flusher may have completed. */
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		if (st->sf[i].in_flight)
			judge_flusher(st, i);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		st->sf[i].covered &= ~BITL(target);
	inhibit_set(st->t, target, false);
	st->last_clear_ns[target] = now_ns();
	st->toggles++;
	inhibited = inhibited_targets(st);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++) {
		struct inhibit_stress_flusher *s = &st->sf[i];

		if (s->in_flight && !s->owed_since && !(s->targets & inhibited)) {
			s->owed_since = now_ns();
			st->lost_wakeup_checks++;
		}
	}
}

/* A target is frozen while a flusher that targets it is owed a wakeup. */
bool inhibit_stress_frozen(struct inhibit_stress *st, uint32_t target)
{
	unsigned int i;

	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		if (st->sf[i].in_flight && st->sf[i].owed_since &&
		    (st->sf[i].targets & BITL(target)))
			return true;
	return false;
}

void inhibit_stress_drain(struct inhibit_stress *st, struct test_rng *rng)
{
	uint64_t bound_ms = st->t->config.bound_ms;
	unsigned int i, j;

	for (j = 0; j < st->nr_targets; j++)
		if (st->t->inhibited[j])
			inhibit_stress_clear(st, j);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++) {
		struct inhibit_stress_flusher *s = &st->sf[i];
		struct inhibit_flusher *f = &st->t->fl[i];

		INHIBIT_WAIT_UNTIL(!s->in_flight ||
				   (f->slot->done_seq == s->seq && inhibit_idle(f)) ||
				   now_ns() - s->owed_since >= bound_ms * 1000000ull, bound_ms + 1);
	}
	inhibit_stress_scan(st, rng, false);
	for (i = st->first_flusher; i < st->first_flusher + st->nr_flushers; i++)
		TEST_ASSERT(!st->sf[i].in_flight, "vCPU %u: flush #%" PRIu64 " still pending after "
			    "the drain (lost wakeup not caught by the verdict?)", i, st->sf[i].seq);
}
