// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V PV TLB flush hypercalls (HvFlushVirtualAddressSpace/List and their
 * Ex forms) reach exactly the vCPUs they name, flush the GVAs they list, and
 * survive the per-vCPU flush FIFO filling up.
 *
 * From: the "Fine-grained TLB flush + L2 TLB flush" series (Vitaly
 * Kuznetsov, merged for Linux 6.2) that queues flush requests in 16-entry
 * per-vCPU FIFOs, processes List entries one GVA (range) at a time and
 * falls back to a full flush when the FIFO overflows.
 * Numbers: docs/interfaces.md section 4 (Hyper-V PV TLB flush).
 *
 * Method: worker vCPUs with VP indexes in banks 0, 1 and 2 cache the
 * translations of test pages; the sender points PTEs at new pages, issues
 * the flush, and every targeted worker must then read the new value
 * (lib/tlbcheck). A failure means a Windows/Linux guest using these
 * enlightenments can keep using a stale translation after a remote flush
 * returned: memory corruption in the guest.
 *
 * Negative control: --negative-control 1 skips every flush hypercall (the
 * PTE changes stay); each flush case must then fail with a stale read (or,
 * for parked targets, an unchanged tlb_flush statistic). Add --yield-spins 0
 * so waiting vCPUs never exit: under QEMU TCG any exit flushes the emulated
 * TLB and hides staleness. In a sid (7.2) TCG VM all 13 flush cases then
 * fail. That mode also runs without Hyper-V; on a shadow-paging host (PVM)
 * staleness was never observed (guest PTE writes are trapped and flushed).
 *
 * The parked-target cases also check the target's tlb_flush statistic
 * exactly, by the model for this kernel and vendor (include/hv_flush_stat.h):
 * one per GVA entry where KVM flushes per GVA (AMD NPT up to 6.12, Intel EPT),
 * one full flush where it flushes everything (before 6.2; AMD NPT from 7.2).
 * --negative-control 2 has list_each_gva's parked List name one GVA fewer
 * than the host counts; where the count is per entry (trixie's 6.12) the
 * case then fails on the count. --negative-control 3 counts its two parked
 * bursts as one, as if KVM had flushed once more than the model says: the
 * case fails wherever the count is exact (per entry, or the one full flush
 * of bookworm's 6.1 and sid's 7.2).
 */
#include <stdatomic.h>

#include "cpuid.h"
#include "hv_flush_stat.h"
#include "hyperv_flush.h"
#include "probe.h"
#include "stats.h"
#include "threads.h"
#include "tlbcheck.h"

#define NR_WORKERS      2
#define SENDER_ID       0               /* vCPU id; workers are 1..NR_WORKERS */
/* VP indexes differ from vCPU ids on purpose (KVM's slow mapping path) and
 * cover three banks: bank 0, the first index of bank 1, and the sender at
 * the last index of bank 2 (only three vCPUs: TCG hosts have two CPUs). */
#define SENDER_VP       191
static const uint32_t worker_vp[NR_WORKERS] = { 7, 64 };

#define TEST_GVA        0x100000000000ull       /* far from RAM and the image */
#define NR_TEST_PAGES   32
#define LONG_LIST       20                      /* > 15: a "flush all" entry */
#define FIFO_SIZE       16                      /* KVM_HV_TLB_FLUSH_FIFO_SIZE */
#define ENTRIES_PER_BURST_CALL 3
#define UNKNOWN_CALL_CODE 0x0fff                /* no such hypercall */
#define MAX_SCENARIOS   8
#define MAX_BURST       8
#define DEFAULT_YIELD_SPINS 1000


static uint64_t rounds_per_scenario = 16;
TEST_OPTION("rounds", rounds_per_scenario, "flush rounds per target scenario");
static uint64_t yield_spins = DEFAULT_YIELD_SPINS;
TEST_OPTION("yield-spins", yield_spins,
	    "spins before a waiting vCPU lets its host thread yield (0: never; TCG flushes on exit)");
TEST_NEGATIVE_CONTROLS("1: change PTEs but skip the flush hypercalls (flush cases must fail); "
		       "2: a parked target's List burst names one GVA fewer than the host counts "
		       "(fails where the tlb_flush statistic is exact per entry); "
		       "3: the host counts two parked bursts as one (fails wherever the count is exact)");
enum { NC_NONE, NC_SKIP_FLUSH, NC_ONE_ENTRY_SHORT, NC_TWO_BURSTS_AS_ONE };
/* Control NC_SKIP_FLUSH, which every flushing case has: without the flush
 * hypercalls, reads see the old translation or KVM processed no flush. */
#define FLUSHES_LEFT_OUT_CONTROL(case_id, extra_args)                          \
	TEST_CONTROL(case_id, NC_SKIP_FLUSH, "passes", extra_args,             \
		     "the flush hypercalls are left out",                      \
		     "(: [0-9]+ of [0-9]+ reads after .* returned saw the old translation|" \
		     "tlb_flush statistic did not move: it processed no flush at all)")
/* Where controls 2 and 3 can be shown (include/hv_flush_stat.h). */
HV_FLUSH_STAT_PER_ENTRY_PROBE();
TEST_CONTROL_PROBE(exact_stat, "hyperv/tlb_flush", "list_each_gva", "-",
		   "pass-without ^# tlb_flush model: no exact");

struct flush_desc {
	const char *what;               /* string literal, for messages */
	struct hv_flush_spec spec;
	uint64_t pages;                 /* pages the call covers / remaps */
	/* Filled in by desc_finish(). */
	uint64_t expect_workers;        /* workers that must be flushed */
	bool expect_self;
	bool one_page_per_round;        /* remap one listed page at a time */
	uint64_t stale;                 /* result */
};

struct flush_shared {
	struct tlbcheck *tc;
	void *input;                    /* the sender's slow-call input page */
	bool negative;
	uint64_t rounds;
	uint64_t ram_size;
	bool fifo_series;               /* KVM has the 6.2 FIFO/per-GVA flush series */
	uint32_t nr_scenarios;
	struct flush_desc sc[MAX_SCENARIOS];
	/* Host-driven bursts. */
	uint32_t burst_len;
	bool stop;
	struct flush_desc burst[MAX_BURST];
	/* Stress. */
	struct test_rng rng;            /* stress: the guest's generator, seeded by --seed */
	uint64_t max_iterations;
	volatile bool time_up;
	uint64_t iterations;
	uint64_t stress_stale;
	uint64_t stress_calls[HV_FLUSH_NR_CALLS];
};

/* ---- guest side ---- */

/* Host or guest: the scenario remaps page and the additional pages after
 * it; a List call names them in one GVA entry. */
static void list_pages(struct tlbcheck *tc, struct flush_desc *d, uint32_t page,
		       uint32_t additional)
{
	d->pages |= (BITL(additional + 1) - 1) << page;
	hv_flush_spec_add_gva(&d->spec, tlbcheck_page_gva(tc, page), additional);
}

/* Host or guest: which workers (and whether the sender) the call must reach. */
static void desc_finish(struct flush_desc *d)
{
	uint32_t w;

	d->expect_self = hv_flush_spec_targets_vp(&d->spec, SENDER_VP);
	d->expect_workers = 0;
	for (w = 0; w < NR_WORKERS; w++)
		if (hv_flush_spec_targets_vp(&d->spec, worker_vp[w]))
			d->expect_workers |= BITL(w);
}

static void issue_flush(struct flush_shared *s, const struct flush_desc *d)
{
	uint64_t result, expected;

	if (s->negative)
		return;
	result = hv_flush_spec_issue(s->input, &d->spec);
	/* Success, and KVM reports every rep as completed. */
	expected = HV_STATUS_SUCCESS |
		   (uint64_t)hv_flush_spec_reps(&d->spec) << HV_HYPERCALL_REP_COMP_OFFSET;
	GUEST_ASSERT_MSG(result == expected, "%s (%s %s): expected result 0x%llx, got 0x%llx",
			 d->what, hv_flush_call_str(d->spec.call), d->spec.fast ? "fast" : "slow",
			 (unsigned long long)expected, (unsigned long long)result);
}

static void sender_setup(struct flush_shared *s)
{
	if (!s->negative)
		hyperv_enable_hypercalls();
}

static void guest_sender_scenarios(void *arg)
{
	struct flush_shared *s = arg;
	struct tlbcheck *tc = s->tc;
	uint32_t i;
	uint64_t r;

	sender_setup(s);
	for (i = 0; i < s->nr_scenarios; i++) {
		struct flush_desc *d = &s->sc[i];
		uint64_t listed = d->pages;

		for (r = 0; r < s->rounds; r++) {
			uint64_t pages = listed;

			if (d->one_page_per_round) {
				/* Rotate through the listed pages: each GVA of
				 * the list has to be flushed on its own. */
				uint32_t n = r % __builtin_popcountll(listed), k;

				for (k = 0; k < n; k++)
					pages &= pages - 1;
				pages &= -pages;
			}
			tlbcheck_prepare(tc, d->expect_self);
			tlbcheck_remap(tc, pages);
			issue_flush(s, d);
			d->stale += tlbcheck_verify(tc, d->expect_workers, d->expect_self);
		}
	}
	tlbcheck_stop(tc);
}

static void guest_worker(void *arg)
{
	struct flush_shared *s = arg;

	tlbcheck_worker(s->tc, guest_vcpu_id() - 1);
}

#define SENDER_IDLE 0x5e0d

/* Host-driven: remap the burst's pages, then issue its calls back to back. */
static void guest_sender_bursts(void *arg)
{
	struct flush_shared *s = arg;
	uint64_t pages;
	uint32_t i;

	sender_setup(s);
	for (;;) {
		GUEST_SYNC(SENDER_IDLE);
		if (s->stop)
			return;
		for (pages = 0, i = 0; i < s->burst_len; i++)
			pages |= s->burst[i].pages;
		tlbcheck_remap(s->tc, pages);
		for (i = 0; i < s->burst_len; i++)
			issue_flush(s, &s->burst[i]);
	}
}

/* ---- host side ---- */

struct flush_vm {
	struct vm *vm;
	struct vcpu *sender;
	struct vcpu *workers[NR_WORKERS];
	struct flush_shared *s;
};

/*
 * What the target's tlb_flush statistic must show after a burst: the model
 * for this kernel and vendor (include/hv_flush_stat.h). Control 1 issues no
 * flush at all, so only "it flushed" is checked (and fails).
 */
static struct hv_flush_stat flush_stat_model(struct vcpu *vcpu)
{
	if (test_opts.negative_control == NC_SKIP_FLUSH)
		return (struct hv_flush_stat){ HV_FLUSH_STAT_ANY, "the flush hypercalls are left out" };
	return hv_flush_stat_model(vcpu);
}

static void flush_vm_create(struct flush_vm *fv, void (*sender_fn)(void *))
{
	struct flush_shared *s;
	int i;

	if (test_opts.negative_control != NC_SKIP_FLUSH) {
		require_hyperv();
		require_kvm_cap(KVM_CAP_HYPERV_TLBFLUSH);
	}
	fv->vm = vm_create(NULL);
	s = fv->s = vm_alloc(fv->vm, sizeof(*s));
	s->negative = test_opts.negative_control == NC_SKIP_FLUSH;
	s->rounds = rounds_per_scenario;
	s->ram_size = fv->vm->ram_size;
	s->input = vm_alloc(fv->vm, PAGE_SIZE);
	s->tc = tlbcheck_create(fv->vm, TEST_GVA, NR_TEST_PAGES, NR_WORKERS);
	s->tc->yield_spins = yield_spins;
	fv->sender = vcpu_add(fv->vm, SENDER_ID, sender_fn, s);
	for (i = 0; i < NR_WORKERS; i++)
		fv->workers[i] = vcpu_add(fv->vm, SENDER_ID + 1 + i, guest_worker, s);
	if (test_opts.negative_control != NC_SKIP_FLUSH) {
		vcpu_enable_hyperv(fv->sender);
		vcpu_set_vp_index(fv->sender, SENDER_VP);
		for (i = 0; i < NR_WORKERS; i++) {
			vcpu_enable_hyperv(fv->workers[i]);
			vcpu_set_vp_index(fv->workers[i], worker_vp[i]);
		}
	}
	vcpu_set_msg_timeout(fv->sender, host_limit_ms(HV_MSG_NATIVE_MS));
	for (i = 0; i < NR_WORKERS; i++)
		vcpu_set_msg_timeout(fv->workers[i], host_limit_ms(HV_MSG_NATIVE_MS));
}

static void run_worker_thread(struct vcpu *vcpu)
{
	tlbcheck_run_to_done(vcpu);
}

/* Sender on this thread, workers on their own: everything races for real. */
static void run_live(struct flush_vm *fv)
{
	int i;

	for (i = 0; i < NR_WORKERS; i++)
		vcpu_thread_start(fv->workers[i], run_worker_thread);
	tlbcheck_run_to_done(fv->sender);
	for (i = 0; i < NR_WORKERS; i++)
		vcpu_thread_join(fv->workers[i]);
}

static void assert_scenarios(struct flush_vm *fv, const char *what)
{
	struct flush_shared *s = fv->s;
	uint32_t i;

	tlbcheck_diag(s->tc, what);
	for (i = 0; i < s->nr_scenarios; i++) {
		char desc[160];

		if (!s->sc[i].stale)
			continue;
		snprintf(desc, sizeof(desc), "%s (%s, %s)", s->sc[i].what,
			 hv_flush_call_str(s->sc[i].spec.call), s->sc[i].spec.fast ? "fast" : "slow");
		test_diag("%s: %" PRIu64 " stale reads", desc, s->sc[i].stale);
		tlbcheck_assert_no_stale(s->tc, desc, worker_vp);
	}
	tlbcheck_assert_no_stale(s->tc, what, worker_vp);
}

static struct flush_desc *add_scenario(struct flush_shared *s, const char *what,
				       enum hv_flush_call call, bool fast,
				       enum hv_flush_targets targets)
{
	struct flush_desc *d;

	TEST_ASSERT(s->nr_scenarios < MAX_SCENARIOS, "too many scenarios");
	d = &s->sc[s->nr_scenarios++];
	memset(d, 0, sizeof(*d));
	d->what = what;
	d->spec.call = call;
	d->spec.fast = fast;
	d->spec.targets = targets;
	return d;
}

static void add_vp(struct flush_desc *d, uint32_t vp)
{
	hv_flush_spec_add_vp(&d->spec, vp);
}

/* The usual round: two non-adjacent pages; List calls name them. */
static void list_two_pages(struct flush_shared *s, struct flush_desc *d)
{
	list_pages(s->tc, d, 1, 0);
	list_pages(s->tc, d, 5, 0);
}

/* The target scenarios every call form runs through. */
static void add_target_scenarios(struct flush_shared *s, enum hv_flush_call call, bool fast)
{
	struct flush_desc *d;
	uint32_t i;

	if (!hv_flush_call_is_ex(call)) {
		d = add_scenario(s, "one VP named in processor_mask", call, fast, HV_TARGETS_VPS);
		add_vp(d, worker_vp[0]);
		d = add_scenario(s, "HV_FLUSH_ALL_PROCESSORS with a mask naming one VP (all VPs, caller included)",
				 call, fast, HV_TARGETS_ALL_FLAG);
		add_vp(d, worker_vp[0]);
		add_scenario(s, "processor_mask == 0 (all VPs, caller included)", call, fast,
			     HV_TARGETS_ZERO_MASK);
	} else {
		d = add_scenario(s, "one VP in bank 0", call, fast, HV_TARGETS_VPS);
		add_vp(d, worker_vp[0]);
		d = add_scenario(s, "one VP in bank 1 (VP index 64)", call, fast, HV_TARGETS_VPS);
		add_vp(d, worker_vp[1]);
		d = add_scenario(s, "VPs in two adjacent banks (1, and 2: the caller)", call, fast,
				 HV_TARGETS_VPS);
		add_vp(d, worker_vp[1]);
		add_vp(d, SENDER_VP);
		d = add_scenario(s, "VPs in banks 0 and 2 (packed banks, bank 1 absent; 2: the caller)",
				 call, fast, HV_TARGETS_VPS);
		add_vp(d, worker_vp[0]);
		add_vp(d, SENDER_VP);
		add_scenario(s, "HV_GENERIC_SET_ALL (all VPs, caller included)", call, fast,
			     HV_TARGETS_SET_ALL);
	}
	for (i = 0; i < s->nr_scenarios; i++)
		list_two_pages(s, &s->sc[i]);
}

static void run_call_form(enum hv_flush_call call, bool fast)
{
	struct flush_vm fv;
	uint32_t i;

	flush_vm_create(&fv, guest_sender_scenarios);
	add_target_scenarios(fv.s, call, fast);
	for (i = 0; i < fv.s->nr_scenarios; i++)
		desc_finish(&fv.s->sc[i]);
	run_live(&fv);
	assert_scenarios(&fv, hv_flush_call_str(call));
	vm_destroy(fv.vm);
}

/* Each call in each form, through every target scenario. */
#define CALL_FORM_CASE(ident, call, fast, sentence)                            \
	FLUSHES_LEFT_OUT_CONTROL(ident, "--yield-spins 0");                    \
	TEST_CASE(ident, sentence, .timeout = HV_CASE_NATIVE_S) { run_call_form(call, fast); }

CALL_FORM_CASE(space_slow, HV_FLUSH_SPACE, false,
	       "HvFlushVirtualAddressSpace (memory input) flushes every VP it targets")
CALL_FORM_CASE(space_fast, HV_FLUSH_SPACE, true,
	       "HvFlushVirtualAddressSpace (XMM fast input) flushes every VP it targets")
CALL_FORM_CASE(list_slow, HV_FLUSH_LIST, false,
	       "HvFlushVirtualAddressList (memory input) flushes every VP it targets")
CALL_FORM_CASE(list_fast, HV_FLUSH_LIST, true,
	       "HvFlushVirtualAddressList (XMM fast input) flushes every VP it targets")
CALL_FORM_CASE(space_ex_slow, HV_FLUSH_SPACE_EX, false,
	       "HvFlushVirtualAddressSpaceEx (memory input) flushes every VP of its sparse set")
CALL_FORM_CASE(space_ex_fast, HV_FLUSH_SPACE_EX, true,
	       "HvFlushVirtualAddressSpaceEx (XMM fast input) flushes every VP of its sparse set")
CALL_FORM_CASE(list_ex_slow, HV_FLUSH_LIST_EX, false,
	       "HvFlushVirtualAddressListEx (memory input) flushes every VP of its sparse set")
CALL_FORM_CASE(list_ex_fast, HV_FLUSH_LIST_EX, true,
	       "HvFlushVirtualAddressListEx (XMM fast input) flushes every VP of its sparse set")

/* ---- host-driven bursts: the target stays out of KVM_RUN meanwhile ---- */

struct burst_check {
	const char *what;
	uint32_t worker;                /* the one target */
	uint64_t per_gva_stat;          /* tlb_flush delta when processed entry by entry */
	uint64_t carried;               /* control 3: an earlier burst's delta, counted in */
};

static void burst_vm_create(struct flush_vm *fv)
{
	flush_vm_create(fv, guest_sender_bursts);
	fv->s->tc->sync_steps = true;
	require_binary_stats();
	TEST_ASSERT_EQ(vcpu_sync(fv->sender), SENDER_IDLE);
}

static struct flush_desc *burst_add(struct flush_shared *s, enum hv_flush_call call, bool fast,
				    uint32_t worker)
{
	struct flush_desc *d;

	TEST_ASSERT(s->burst_len < MAX_BURST, "burst too long");
	d = &s->burst[s->burst_len++];
	memset(d, 0, sizeof(*d));
	d->what = "burst call";
	d->spec.call = call;
	d->spec.fast = fast;
	d->spec.targets = HV_TARGETS_VPS;
	add_vp(d, worker_vp[worker]);
	return d;
}

/*
 * Park the target after it loaded its translations, run the burst on the
 * sender, then let the target read: every remapped page must be new. The
 * target's tlb_flush statistic then tells how its FIFO was processed, as
 * exactly as the model for this kernel and vendor allows (not checked when
 * model is NULL). Returns the statistic's delta.
 */
static uint64_t run_burst(struct flush_vm *fv, const struct burst_check *bc,
			  const struct hv_flush_stat *model)
{
	struct flush_shared *s = fv->s;
	struct vcpu *w = fv->workers[bc->worker];
	uint64_t before, delta, expected;
	struct cpu_hold hold;
	uint32_t i;

	for (i = 0; i < s->burst_len; i++)
		desc_finish(&s->burst[i]);
	hv_flush_stat_hold_cpu(&hold, bc->what);
	tlbcheck_host_step(s->tc, w, TLBCHECK_PREPARE);
	before = vcpu_stat(w, "tlb_flush");
	TEST_ASSERT_EQ(vcpu_sync(fv->sender), SENDER_IDLE);
	s->tc->targets = BITL(bc->worker);
	tlbcheck_host_step(s->tc, w, TLBCHECK_CHECK);
	delta = vcpu_stat(w, "tlb_flush") - before;
	thread_release_cpu(&hold);
	test_diag("%s: target's tlb_flush statistic +%" PRIu64, bc->what, delta);
	tlbcheck_assert_no_stale(s->tc, bc->what, worker_vp);
	s->burst_len = 0;
	TEST_ASSERT(delta >= 1, "%s: the target's tlb_flush statistic did not move: it processed "
		    "no flush at all", bc->what);
	if (!model)
		return delta;
	TEST_ASSERT(hv_flush_stat_fits(model, bc->per_gva_stat, delta + bc->carried, &expected),
		    "%s: expected the target's tlb_flush statistic to move by %" PRIu64 " (%s: "
		    "%" PRIu64 " entry by entry; %s), it moved by %" PRIu64, bc->what, expected,
		    hv_flush_stat_model_name(model->model), bc->per_gva_stat, model->why,
		    delta + bc->carried);
	if (model->model == HV_FLUSH_STAT_PER_ENTRY_OR_ONE)
		test_diag("%s: the count was %s", bc->what,
			  delta == bc->per_gva_stat ? "per entry" : "one full flush");
	return delta;
}

static void burst_vm_destroy(struct flush_vm *fv)
{
	fv->s->stop = true;
	vcpu_expect_done(fv->sender);
	vm_destroy(fv->vm);
}

#define EACH_GVA_LISTED 4
static const uint32_t each_gva_pages[EACH_GVA_LISTED] = { 2, 9, 17, 30 };

FLUSHES_LEFT_OUT_CONTROL(list_each_gva, "--yield-spins 0");
TEST_CONTROL(list_each_gva, NC_ONE_ENTRY_SHORT, "per_entry_stat", "-",
	     "the parked target's List names 3 GVAs, the host counts 4",
	     "List of 4 GVAs to a parked target: expected the target's tlb_flush statistic to move by 4 .*, it moved by 3$");
TEST_CONTROL(list_each_gva, NC_TWO_BURSTS_AS_ONE, "exact_stat", "-",
	     "the host adds the first parked burst's flushes to the second's",
	     "fast List of 4 GVAs to a parked target: expected the target's tlb_flush statistic to move by ([0-9]+) .*, it moved by (2|8)$");
TEST_CASE(list_each_gva, "each GVA of a List call is flushed, one entry at a time",
	  .timeout = HV_CASE_NATIVE_S)
{
	struct hv_flush_stat model;
	struct flush_vm fv;
	struct flush_desc *d;
	uint32_t i, f, listed = EACH_GVA_LISTED;
	uint64_t carried = 0;
	bool merge;

	/* Live: rotate which listed GVA changed, so every entry must work. */
	flush_vm_create(&fv, guest_sender_scenarios);
	for (f = 0; f < 2; f++) {
		d = add_scenario(fv.s, f ? "ListEx naming 4 GVAs, one of them remapped"
					 : "List naming 4 GVAs, one of them remapped",
				 f ? HV_FLUSH_LIST_EX : HV_FLUSH_LIST, false, HV_TARGETS_VPS);
		add_vp(d, worker_vp[f ? 1 : 0]);
		for (i = 0; i < EACH_GVA_LISTED; i++)
			list_pages(fv.s->tc, d, each_gva_pages[i], 0);
		d->one_page_per_round = true;
		desc_finish(d);
	}
	fv.s->rounds = rounds_per_scenario < 2 * EACH_GVA_LISTED ? 2 * EACH_GVA_LISTED
								 : rounds_per_scenario;
	run_live(&fv);
	assert_scenarios(&fv, "List with one remapped GVA per round");
	vm_destroy(fv.vm);

	/* Parked target: one FIFO entry per listed GVA. Control 2 leaves the
	 * last GVA out of the call (and unchanged, so no read is stale) while
	 * the host still counts it; control 3 counts the first burst's flushes
	 * in the second's, as if KVM had flushed the target once more. */
	burst_vm_create(&fv);
	model = flush_stat_model(fv.sender);
	test_diag("tlb_flush model: %s (%s)", hv_flush_stat_model_name(model.model), model.why);
	if (test_negative_control(NC_ONE_ENTRY_SHORT))
		listed--;
	merge = test_negative_control(NC_TWO_BURSTS_AS_ONE);
	for (f = 0; f < 2; f++) {
		struct burst_check bc = { .what = f ? "fast List of 4 GVAs to a parked target"
						    : "List of 4 GVAs to a parked target",
					  .worker = 1, .per_gva_stat = EACH_GVA_LISTED,
					  .carried = carried };

		d = burst_add(fv.s, HV_FLUSH_LIST_EX, f, 1);
		for (i = 0; i < listed; i++)
			list_pages(fv.s->tc, d, each_gva_pages[i], 0);
		carried = run_burst(&fv, &bc, merge && !f ? NULL : &model);
		if (!merge)
			carried = 0;
	}
	burst_vm_destroy(&fv);
}

FLUSHES_LEFT_OUT_CONTROL(list_over_15, "--yield-spins 0");
TEST_CASE(list_over_15, "a List call with more than 15 GVAs (a flush-all FIFO entry) flushes all of them",
	  .timeout = HV_CASE_NATIVE_S)
{
	struct flush_vm fv;
	struct flush_desc *d;
	uint32_t i;

	flush_vm_create(&fv, guest_sender_scenarios);
	d = add_scenario(fv.s, "List naming 20 GVAs, all remapped", HV_FLUSH_LIST, false,
			 HV_TARGETS_VPS);
	add_vp(d, worker_vp[0]);
	for (i = 0; i < LONG_LIST; i++)
		list_pages(fv.s->tc, d, i, 0);
	d = add_scenario(fv.s, "ListEx naming 20 GVAs to all VPs, all remapped", HV_FLUSH_LIST_EX,
			 false, HV_TARGETS_SET_ALL);
	for (i = 0; i < LONG_LIST; i++)
		list_pages(fv.s->tc, d, NR_TEST_PAGES - 1 - i, 0);
	for (i = 0; i < fv.s->nr_scenarios; i++)
		desc_finish(&fv.s->sc[i]);
	run_live(&fv);
	assert_scenarios(&fv, "List with more than 15 GVAs");
	vm_destroy(fv.vm);

	burst_vm_create(&fv);
	{
		struct burst_check bc = { .what = "List of 20 GVAs to a parked target", .worker = 1,
					  .per_gva_stat = 1 /* one full flush */ };
		struct hv_flush_stat model = flush_stat_model(fv.sender);

		d = burst_add(fv.s, HV_FLUSH_LIST_EX, false, 1);
		for (i = 0; i < LONG_LIST; i++)
			list_pages(fv.s->tc, d, i, 0);
		run_burst(&fv, &bc, &model);
	}
	burst_vm_destroy(&fv);
}

FLUSHES_LEFT_OUT_CONTROL(fifo_overflow, "--yield-spins 0");
TEST_CASE(fifo_overflow, "back-to-back List calls that overflow a parked target's 16-entry FIFO still flush every GVA",
	  .timeout = HV_CASE_NATIVE_S)
{
	/* Calls of 3 entries: 5 fit (an entry list is queued only while it
	 * leaves a free slot), the 6th queues "flush all", later ones find the
	 * FIFO full. */
	static const uint32_t burst_calls[] = { 5, 6, MAX_BURST };
	uint32_t max_fit = (FIFO_SIZE - 1) / ENTRIES_PER_BURST_CALL;
	struct flush_vm fv;
	struct hv_flush_stat model;
	uint32_t b, c, e;

	burst_vm_create(&fv);
	model = flush_stat_model(fv.sender);
	for (b = 0; b < sizeof(burst_calls) / sizeof(burst_calls[0]); b++) {
		char what[96];
		struct burst_check bc = { .what = what, .worker = 0 };
		uint32_t fit = burst_calls[b] < max_fit ? burst_calls[b] : max_fit;

		snprintf(what, sizeof(what), "%u List calls of %u GVAs to a parked target",
			 burst_calls[b], ENTRIES_PER_BURST_CALL);
		/* Entries that fit are flushed one by one, then one full flush. */
		bc.per_gva_stat = fit * ENTRIES_PER_BURST_CALL + (burst_calls[b] > fit);
		for (c = 0; c < burst_calls[b]; c++) {
			struct flush_desc *d = burst_add(fv.s, c % 2 ? HV_FLUSH_LIST : HV_FLUSH_LIST_EX,
							 c % 3 == 2, 0);

			for (e = 0; e < ENTRIES_PER_BURST_CALL; e++)
				list_pages(fv.s->tc, d, c * ENTRIES_PER_BURST_CALL + e, 0);
		}
		run_burst(&fv, &bc, &model);
	}
	burst_vm_destroy(&fv);
}

/* Three entries: 4 pages, 1 page, 6 pages. */
#define NR_RANGE_ENTRIES 3
static void list_ranges(struct flush_shared *s, struct flush_desc *d)
{
	list_pages(s->tc, d, 8, 3);
	list_pages(s->tc, d, 13, 0);
	list_pages(s->tc, d, 20, 5);
}

FLUSHES_LEFT_OUT_CONTROL(gva_ranges, "--yield-spins 0");
TEST_CASE(gva_ranges, "List entries with additional pages flush the whole range",
	  .timeout = HV_CASE_NATIVE_S)
{
	static const enum hv_flush_call calls[] = { HV_FLUSH_LIST, HV_FLUSH_LIST_EX };
	struct flush_vm fv;
	struct flush_desc *d;
	uint32_t c, fast;

	flush_vm_create(&fv, guest_sender_scenarios);
	for (c = 0; c < 2; c++)
		for (fast = 0; fast < 2; fast++) {
			d = add_scenario(fv.s, "3 GVA ranges (4, 1 and 6 pages), every page remapped",
					 calls[c], fast, HV_TARGETS_VPS);
			add_vp(d, worker_vp[c ? 1 : 0]);
			list_ranges(fv.s, d);
			desc_finish(d);
		}
	run_live(&fv);
	assert_scenarios(&fv, "List with GVA ranges");
	vm_destroy(fv.vm);

	burst_vm_create(&fv);
	{
		struct burst_check bc = { .what = "3 GVA ranges to a parked target", .worker = 1,
					  .per_gva_stat = NR_RANGE_ENTRIES /* one per entry */ };
		struct hv_flush_stat model = flush_stat_model(fv.sender);

		d = burst_add(fv.s, HV_FLUSH_LIST_EX, false, 1);
		list_ranges(fv.s, d);
		run_burst(&fv, &bc, &model);
	}
	burst_vm_destroy(&fv);
}

/* ---- malformed input ---- */

struct bad_call {
	const char *what;
	uint16_t code;
	bool fast;
	uint64_t extra_control;
	uint32_t var_cnt, rep_cnt;
	uint64_t valid_bank_mask, format;
	uint64_t status;                /* expected RAX */
	bool since_fifo_series;         /* validated only from 6.2 (the FIFO series) */
};
#define BAD_CALL_BANKS 3                /* laid out whatever var_cnt says */

#define REP_START(n) ((uint64_t)(n) << HV_HYPERCALL_REP_START_OFFSET)
/* ListEx, one bank: 2 + 1 + GVAs halves; one GVA more than XMM0-5 hold. */
#define FAST_TOO_MANY_GVAS (HV_FAST_XMM_HALVES - 3 + 1)

#define INVALID HV_STATUS_INVALID_HYPERCALL_INPUT
static const struct bad_call bad_calls[] = {
	{ "Space with a rep count", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	  .rep_cnt = 1, .status = INVALID },
	{ "fast Space with a rep count", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, .fast = true,
	  .rep_cnt = 1, .status = INVALID },
	{ "SpaceEx with a rep count", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	  .var_cnt = 1, .valid_bank_mask = 0x1, .rep_cnt = 1, .status = INVALID },
	{ "Space with a rep start index", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	  .extra_control = REP_START(1), .status = INVALID },
	{ "List with rep count 0", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, .status = INVALID },
	{ "List with rep start index 1", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
	  .extra_control = REP_START(1), .rep_cnt = 2, .status = INVALID },
	{ "Space with a variable header", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
	  .var_cnt = 1, .status = INVALID },
	{ "List with a variable header", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST,
	  .var_cnt = 1, .rep_cnt = 1, .status = INVALID },
	{ "SpaceEx with var_cnt 1 for two valid banks", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	  .var_cnt = 1, .valid_bank_mask = 0x3, .status = INVALID },
	{ "SpaceEx with var_cnt 3 for two valid banks", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	  .var_cnt = 3, .valid_bank_mask = 0x3, .status = INVALID },
	{ "fast ListEx with var_cnt 0 for one valid bank", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX,
	  .fast = true, .valid_bank_mask = 0x1, .rep_cnt = 1, .status = INVALID },
	{ "SpaceEx HV_GENERIC_SET_ALL with var_cnt != popcount(valid_bank_mask)",
	  HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, .valid_bank_mask = 0x1,
	  .format = HV_GENERIC_SET_ALL, .status = INVALID },
	{ "fast ListEx needing 13 XMM halves", HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, .fast = true,
	  .var_cnt = 1, .valid_bank_mask = 0x1, .rep_cnt = FAST_TOO_MANY_GVAS, .status = INVALID,
	  .since_fifo_series = true },
	{ "unknown call code", UNKNOWN_CALL_CODE, .status = HV_STATUS_INVALID_HYPERCALL_CODE },
	/* Not an error: an empty sparse set flushes nothing and succeeds. */
	{ "SpaceEx with an empty sparse set", HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX,
	  .status = HV_STATUS_SUCCESS },
};
#undef INVALID
#define NR_BAD_CALLS (sizeof(bad_calls) / sizeof(bad_calls[0]))
#define INPUT_CHECK_WORDS (PAGE_SIZE / sizeof(uint64_t))

static uint64_t input_checksum(const uint64_t *p)
{
	uint64_t sum = 0, i;

	for (i = 0; i < INPUT_CHECK_WORDS; i++)
		sum = sum * 31 + p[i];
	return sum;
}

static void expect_status(const char *what, uint64_t result, uint64_t expected)
{
	GUEST_ASSERT_MSG(result == expected, "%s: expected RAX 0x%llx, got 0x%llx", what,
			 (unsigned long long)expected, (unsigned long long)result);
}

static void guest_bad_input(void *arg)
{
	struct flush_shared *s = arg;
	uint64_t sum, result, bit, rsvd = HV_HYPERCALL_RSVD_MASK;
	struct hv_flush f;
	uint32_t i, g;

	hyperv_enable_hypercalls();
	/* Every reserved bit of the control word, one at a time. */
	while (rsvd) {
		bit = rsvd & -rsvd;
		rsvd &= rsvd - 1;
		hv_flush_init(&f, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false);
		f.flags = HV_FLUSH_ALL_PROCESSORS;
		f.extra_control = bit;
		result = hyperv_flush_tlb(s->input, &f);
		GUEST_ASSERT_MSG(result == HV_STATUS_INVALID_HYPERCALL_INPUT,
				 "Space with reserved control bit %d set: expected RAX 0x%x, got 0x%llx",
				 __builtin_ctzll(bit), HV_STATUS_INVALID_HYPERCALL_INPUT,
				 (unsigned long long)result);
	}
	for (i = 0; i < NR_BAD_CALLS; i++) {
		const struct bad_call *b = &bad_calls[i];

		if (b->since_fifo_series && !s->fifo_series) {
			/* Before 6.2 KVM ignored the GVA list: nothing to check. */
			guest_printf("skipped \"%s\": KVM predates per-GVA flushing", b->what);
			continue;
		}

		hv_flush_init(&f, b->code, b->fast);
		f.flags = HV_FLUSH_ALL_PROCESSORS;
		f.extra_control = b->extra_control;
		f.valid_bank_mask = b->valid_bank_mask;
		f.format = b->format;
		f.var_cnt = b->var_cnt;
		f.rep_cnt = b->rep_cnt;
		for (g = 0; g < BAD_CALL_BANKS; g++)
			f.banks[g] = ~0ull;
		for (g = 0; g < FAST_TOO_MANY_GVAS; g++)
			f.gvas[g] = hv_gva_entry(tlbcheck_page_gva(s->tc, g), 0);
		/* Twice: the second call lays out the same input again, and the
		 * page must still hold it afterwards (KVM only reads it). */
		expect_status(b->what, hyperv_flush_tlb(s->input, &f), b->status);
		sum = input_checksum(s->input);
		expect_status(b->what, hyperv_flush_tlb(s->input, &f), b->status);
		GUEST_ASSERT_MSG(input_checksum(s->input) == sum, "%s: the input page changed",
				 b->what);
	}
	/* Input that is not guest memory, or runs off its end. */
	result = hyperv_hypercall(hv_control(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false, 0, 0),
				  s->ram_size + PAGE_SIZE, 0);
	expect_status("Space with its input GPA beyond guest memory", result,
		      HV_STATUS_INVALID_HYPERCALL_INPUT);
	result = hyperv_hypercall(hv_control(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false, 0, 0),
				  s->ram_size - sizeof(uint64_t), 0);
	expect_status("Space with its input straddling the end of guest memory", result,
		      HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Then the flush machinery must still work. */
	guest_sender_scenarios(arg);
}

TEST_CASE(bad_input, "malformed flush calls return their documented status and break nothing",
	  .timeout = HV_CASE_NATIVE_S)
{
	struct flush_vm fv;
	struct flush_desc *d;

	TEST_REQUIRE(!test_opts.negative_control, "not a flush case: no negative control");
	flush_vm_create(&fv, guest_bad_input);
	fv.s->fifo_series = kvm_hv_has(fv.sender, HV_FEATURE_GVA_RANGES);
	d = add_scenario(fv.s, "ListEx to all VPs after the malformed calls", HV_FLUSH_LIST_EX,
			 false, HV_TARGETS_SET_ALL);
	list_two_pages(fv.s, d);
	desc_finish(d);
	d = add_scenario(fv.s, "Space to one VP after the malformed calls", HV_FLUSH_SPACE, true,
			 HV_TARGETS_VPS);
	add_vp(d, worker_vp[0]);
	list_two_pages(fv.s, d);
	desc_finish(d);
	run_live(&fv);
	assert_scenarios(&fv, "flushes after malformed calls");
	vm_destroy(fv.vm);
}

/* ---- stress ---- */

static void random_desc(struct test_rng *rng, struct tlbcheck *tc, struct flush_desc *d)
{
	static const uint32_t all_vps[NR_WORKERS + 1] = { SENDER_VP, 7, 64 };
	uint64_t r = test_rng_next(rng);
	uint32_t i, n;
	bool ex;

	memset(&d->spec, 0, sizeof(d->spec));
	d->spec.call = r % HV_FLUSH_NR_CALLS;
	d->spec.fast = (r >> 2) & 1;
	ex = hv_flush_call_is_ex(d->spec.call);
	/* Targets: a random subset (non-Ex can only name VPs below 64), or one of
	 * the "all" forms now and then. */
	switch ((r >> 3) % 8) {
	case 0:
		d->spec.targets = ex ? HV_TARGETS_SET_ALL : HV_TARGETS_ZERO_MASK;
		break;
	case 1:
		d->spec.targets = ex ? HV_TARGETS_SET_ALL : HV_TARGETS_ALL_FLAG;
		if (!ex)        /* the mask still names a VP */
			add_vp(d, all_vps[1]);
		break;
	default:
		d->spec.targets = HV_TARGETS_VPS;
		for (i = 0; i < NR_WORKERS + 1; i++) {
			if (!((r >> (6 + i)) & 1))
				continue;
			if (!ex && all_vps[i] >= HV_VPS_PER_BANK)
				continue;
			add_vp(d, all_vps[i]);
		}
		if (!d->spec.nr_vps)
			add_vp(d, all_vps[1]);
	}
	desc_finish(d);
	/* 1-4 random pages, each its own List entry (ranges now and then). */
	n = 1 + (r >> 12) % 4;
	d->pages = 0;
	for (i = 0; i < n; i++) {
		uint32_t page = test_rng_below(rng, NR_TEST_PAGES - 2);
		uint32_t extra = (r >> (16 + i)) & 1 ? 2 : 0;
		uint64_t bits = (BITL(extra + 1) - 1) << page;

		if (d->pages & bits)
			continue;
		list_pages(tc, d, page, extra);
	}
}

static void guest_stress_sender(void *arg)
{
	struct flush_shared *s = arg;
	struct flush_desc *d = &s->sc[0];
	struct test_rng rng = s->rng;

	sender_setup(s);
	while (!s->time_up && s->iterations < s->max_iterations) {
		random_desc(&rng, s->tc, d);
		d->what = "random flush";
		tlbcheck_prepare(s->tc, d->expect_self);
		tlbcheck_remap(s->tc, d->pages);
		issue_flush(s, d);
		s->stress_stale += tlbcheck_verify(s->tc, d->expect_workers, d->expect_self);
		s->stress_calls[d->spec.call]++;
		s->iterations++;
	}
	tlbcheck_stop(s->tc);
}

static atomic_bool stress_done;

static void run_stress_sender(struct vcpu *vcpu)
{
	tlbcheck_run_to_done(vcpu);
	atomic_store(&stress_done, true);
}

#define STRESS_DEFAULT_SECONDS 5
#define STRESS_POLL_US 10000

FLUSHES_LEFT_OUT_CONTROL(stress, "--yield-spins 0 --duration 2");
TEST_CASE(stress, "random flush calls, forms and targets racing two workers leave no stale reads",
	  .timeout = HV_CASE_NATIVE_S, .wait_s = STRESS_DEFAULT_SECONDS, .stress = true)
{
	uint64_t duration = test_duration(STRESS_DEFAULT_SECONDS), start;
	struct flush_vm fv;
	int i;

	flush_vm_create(&fv, guest_stress_sender);
	test_rng_init(&fv.s->rng, 0);
	fv.s->max_iterations = test_iterations(UINT64_MAX);
	atomic_store(&stress_done, false);
	for (i = 0; i < NR_WORKERS; i++)
		vcpu_thread_start(fv.workers[i], run_worker_thread);
	vcpu_thread_start(fv.sender, run_stress_sender);
	start = now_ns();
	while (!atomic_load(&stress_done) && now_ns() - start < duration * 1000000000ull)
		usleep(STRESS_POLL_US);
	fv.s->time_up = true;
	vcpu_thread_join(fv.sender);
	for (i = 0; i < NR_WORKERS; i++)
		vcpu_thread_join(fv.workers[i]);
	test_diag("%" PRIu64 " flushes in %" PRIu64 " s (Space %" PRIu64 ", List %" PRIu64
		  ", SpaceEx %" PRIu64 ", ListEx %" PRIu64 ")", fv.s->iterations, duration,
		  fv.s->stress_calls[0], fv.s->stress_calls[1], fv.s->stress_calls[2],
		  fv.s->stress_calls[3]);
	test_stress_work(fv.s->iterations, fv.s->max_iterations, "flushes");
	tlbcheck_diag(fv.s->tc, "stress");
	TEST_ASSERT(fv.s->iterations > 0, "the sender issued no flush in %" PRIu64 " s", duration);
	tlbcheck_assert_no_stale(fv.s->tc, "a random flush", worker_vp);
	vm_destroy(fv.vm);
}
