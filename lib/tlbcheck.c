// SPDX-License-Identifier: GPL-2.0
/*
 * Observing guest TLB flushes through stale reads: see include/tlbcheck.h.
 */
#include <sched.h>

#include "tlbcheck.h"

/* A value no page holds by accident: tag, round and page number. */
#define TLBCHECK_VALUE_TAG 0x7e57000000000000ull
#define TLBCHECK_STEP_BITS 8
#define TLBCHECK_STEP_MASK ((1u << TLBCHECK_STEP_BITS) - 1)
/* Side 1 starts with a value that is never expected. */
#define TLBCHECK_UNUSED_VALUE 0xdeadull

static uint64_t page_value(uint64_t round, uint32_t page)
{
	return TLBCHECK_VALUE_TAG | round << TLBCHECK_STEP_BITS | page;
}

static uint64_t make_phase(uint64_t round, enum tlbcheck_step step)
{
	return round << TLBCHECK_STEP_BITS | step;
}

/* ---- host side ---- */

struct tlbcheck *tlbcheck_create(struct vm *vm, uint64_t gva, uint32_t nr_pages,
				 uint32_t nr_workers)
{
	struct tlbcheck *tc = vm_alloc(vm, sizeof(*tc));
	uint64_t ram = (uint64_t)vm->ram;
	uint32_t i;
	int s;

	TEST_ASSERT(nr_pages && nr_pages <= TLBCHECK_MAX_PAGES, "bad page count %u", nr_pages);
	TEST_ASSERT(nr_workers <= TLBCHECK_MAX_WORKERS, "bad worker count %u", nr_workers);
	TEST_ASSERT(gva + nr_pages * PAGE_SIZE <= ram || gva >= ram + vm->ram_size,
		    "test GVAs 0x%" PRIx64 ".. overlap the guest RAM mapping", gva);
	tc->gva = gva;
	tc->nr_pages = nr_pages;
	tc->nr_workers = nr_workers;
	for (i = 0; i < nr_pages; i++) {
		struct tlbcheck_page *p = &tc->pages[i];

		for (s = 0; s < 2; s++) {
			p->side[s] = vm_alloc_gpa(vm, 1);
			p->data[s] = vm_gpa_to_hva(vm, p->side[s]);
		}
		*p->data[0] = p->value = page_value(0, i);
		*p->data[1] = TLBCHECK_UNUSED_VALUE;
		vm_map_page(vm, tlbcheck_page_gva(tc, i), p->side[0], PTE_WRITE);
		p->pte = vm_pte(vm, tlbcheck_page_gva(tc, i));
	}
	return tc;
}

void tlbcheck_host_step(struct tlbcheck *tc, struct vcpu *worker, enum tlbcheck_step step)
{
	struct guest_msg *msg;
	uint64_t phase;

	TEST_ASSERT(tc->sync_steps, "tlbcheck_host_step() needs sync_steps mode");
	if (step == TLBCHECK_PREPARE && (tc->phase & TLBCHECK_STEP_MASK) != TLBCHECK_PREPARE) {
		tc->round++;
		tc->changed = 0;
	}
	phase = make_phase(tc->round, step);
	tc->phase = phase;
	msg = tlbcheck_next_msg(worker);
	if (step == TLBCHECK_STOP) {
		TEST_ASSERT(msg && msg->type == GUEST_MSG_DONE,
			    "vCPU %u: expected the worker to finish", worker->id);
		return;
	}
	TEST_ASSERT(msg && msg->type == GUEST_MSG_SYNC && msg->args[0] == TLBCHECK_SYNC_STEP &&
		    msg->args[1] == phase,
		    "vCPU %u: expected the worker to acknowledge step %d of round %" PRIu64,
		    worker->id, step, tc->round);
}

struct guest_msg *tlbcheck_next_msg(struct vcpu *vcpu)
{
	for (;;) {
		struct guest_msg *msg = vcpu_next_msg(vcpu, NULL);

		if (!msg || msg->type != GUEST_MSG_SYNC || msg->args[0] != TLBCHECK_SYNC_YIELD)
			return msg;
		sched_yield();
	}
}

void tlbcheck_run_to_done(struct vcpu *vcpu)
{
	struct guest_msg *msg = tlbcheck_next_msg(vcpu);
	char desc[256];

	if (msg && msg->type == GUEST_MSG_DONE)
		return;
	if (msg)
		test_fail("vCPU %u: expected GUEST_DONE, got GUEST_SYNC(0x%" PRIx64 ") from %s:%u",
			  vcpu->id, msg->nargs ? msg->args[0] : 0, msg->file, msg->line);
	vcpu_describe_exit(vcpu, desc, sizeof(desc));
	test_fail("expected GUEST_DONE, got %s", desc);
}

uint64_t tlbcheck_total_stale(const struct tlbcheck *tc)
{
	uint64_t sum = tc->res[TLBCHECK_SELF].stale;
	uint32_t i;

	for (i = 0; i < tc->nr_workers; i++)
		sum += tc->res[i].stale;
	return sum;
}

void tlbcheck_assert_no_stale(const struct tlbcheck *tc, const char *what,
			      const uint32_t *vp_of_worker)
{
	uint32_t i;

	for (i = 0; i <= TLBCHECK_MAX_WORKERS; i++) {
		const struct tlbcheck_result *r = &tc->res[i];
		char who[64];

		if (i >= tc->nr_workers && i != TLBCHECK_SELF)
			continue;
		if (i == TLBCHECK_SELF)
			snprintf(who, sizeof(who), "the sender itself");
		else if (vp_of_worker)
			snprintf(who, sizeof(who), "worker %u (VP %u)", i, vp_of_worker[i]);
		else
			snprintf(who, sizeof(who), "worker %u", i);
		TEST_ASSERT(!r->prepare_errors,
			    "%s read a wrong value right after flushing its own TLB (%" PRIu64
			    " times): the test pages are corrupted", who, r->prepare_errors);
		TEST_ASSERT(!r->stale,
			    "%s: %" PRIu64 " of %" PRIu64 " reads after %s returned saw the old "
			    "translation; first: round %" PRIu64 ", page %" PRIu64
			    " (GVA 0x%" PRIx64 ") expected 0x%" PRIx64 ", read 0x%" PRIx64,
			    who, r->stale, r->checks, what, r->stale_round, r->stale_page,
			    tlbcheck_page_gva(tc, r->stale_page), r->stale_expected, r->stale_got);
	}
}

void tlbcheck_diag(const struct tlbcheck *tc, const char *what)
{
	uint64_t untargeted = 0, checks = tc->res[TLBCHECK_SELF].checks;
	uint32_t i;

	for (i = 0; i < tc->nr_workers; i++) {
		untargeted += tc->res[i].untargeted_stale;
		checks += tc->res[i].checks;
	}
	test_diag("%s: %" PRIu64 " rounds, %" PRIu64 " targeted reads, %" PRIu64
		  " stale; untargeted workers kept the old translation %" PRIu64 " times",
		  what, tc->round, checks, tlbcheck_total_stale(tc), untargeted);
}

/* ---- guest side ---- */

static inline uint64_t read_page(const struct tlbcheck *tc, uint32_t page)
{
	return *(volatile uint64_t *)tlbcheck_page_gva(tc, page);
}

static void load_translations(struct tlbcheck *tc, struct tlbcheck_result *r)
{
	uint32_t i;

	flush_tlb_local();
	for (i = 0; i < tc->nr_pages; i++)
		if (read_page(tc, i) != tc->pages[i].value)
			r->prepare_errors++;
}

static void check_pages(struct tlbcheck *tc, struct tlbcheck_result *r, bool targeted)
{
	uint64_t pages = tc->changed;

	while (pages) {
		uint32_t i = __builtin_ctzll(pages);
		uint64_t got = read_page(tc, i), want = tc->pages[i].value;

		pages &= pages - 1;
		if (!targeted) {
			if (got != want)
				r->untargeted_stale++;
			continue;
		}
		r->checks++;
		if (got == want)
			continue;
		if (!r->stale++) {
			r->stale_round = tc->round;
			r->stale_page = i;
			r->stale_expected = want;
			r->stale_got = got;
		}
	}
}

void tlbcheck_worker_step(struct tlbcheck *tc, uint32_t idx, uint64_t phase)
{
	struct tlbcheck_result *r = &tc->res[idx];

	switch (phase & TLBCHECK_STEP_MASK) {
	case TLBCHECK_PREPARE:
		load_translations(tc, r);
		break;
	case TLBCHECK_CHECK:
		check_pages(tc, r, tc->targets & BITL(idx));
		break;
	}
}

static void wait_a_little(struct tlbcheck *tc, uint32_t *spins)
{
	if (tc->yield_spins && ++*spins >= tc->yield_spins) {
		*spins = 0;
		GUEST_SYNC(TLBCHECK_SYNC_YIELD);
	} else {
		cpu_relax();
	}
}

void tlbcheck_worker(struct tlbcheck *tc, uint32_t idx)
{
	uint64_t last = tc->res[idx].acked;
	uint32_t spins = 0;

	for (;;) {
		uint64_t phase = tc->phase;

		if (phase == last) {
			wait_a_little(tc, &spins);
			continue;
		}
		if ((phase & TLBCHECK_STEP_MASK) == TLBCHECK_STOP)
			return;
		tlbcheck_worker_step(tc, idx, phase);
		last = phase;
		tc->res[idx].acked = phase;
		if (tc->sync_steps)
			GUEST_SYNC(TLBCHECK_SYNC_STEP, phase);
	}
}

static void wait_for_workers(struct tlbcheck *tc, uint64_t phase)
{
	uint32_t i, spins = 0;

	for (i = 0; i < tc->nr_workers; i++)
		while (tc->res[i].acked != phase)
			wait_a_little(tc, &spins);
}

void tlbcheck_prepare(struct tlbcheck *tc, bool self)
{
	uint64_t phase;

	tc->round++;
	tc->changed = 0;
	phase = make_phase(tc->round, TLBCHECK_PREPARE);
	tc->phase = phase;
	if (self)
		load_translations(tc, &tc->res[TLBCHECK_SELF]);
	wait_for_workers(tc, phase);
}

void tlbcheck_remap(struct tlbcheck *tc, uint64_t pages)
{
	tc->changed |= pages;
	while (pages) {
		uint32_t i = __builtin_ctzll(pages);
		struct tlbcheck_page *p = &tc->pages[i];
		uint32_t next = p->cur ^ 1;
		uint64_t value = page_value(tc->round, i);

		pages &= pages - 1;
		/* New contents first, then the PTE: TSO keeps the order. */
		*(volatile uint64_t *)p->data[next] = value;
		p->value = value;
		*(volatile uint64_t *)p->pte = (*p->pte & ~PTE_ADDR_MASK) | p->side[next];
		p->cur = next;
	}
}

uint64_t tlbcheck_verify(struct tlbcheck *tc, uint64_t targets, bool self)
{
	uint64_t before = 0, after = 0, phase;
	uint32_t i;

	for (i = 0; i < tc->nr_workers; i++)
		before += tc->res[i].stale;
	before += tc->res[TLBCHECK_SELF].stale;
	tc->targets = targets;
	phase = make_phase(tc->round, TLBCHECK_CHECK);
	tc->phase = phase;
	if (self)
		check_pages(tc, &tc->res[TLBCHECK_SELF], true);
	wait_for_workers(tc, phase);
	for (i = 0; i < tc->nr_workers; i++)
		after += tc->res[i].stale;
	after += tc->res[TLBCHECK_SELF].stale;
	return after - before;
}

void tlbcheck_stop(struct tlbcheck *tc)
{
	tc->phase = make_phase(tc->round, TLBCHECK_STOP);
}
