// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V L2 ("direct") TLB flush: with the enlightenment on, KVM (L0)
 * handles an L2 guest's flush hypercalls itself, targets the vCPUs that run
 * an L2 with the same VM_ID whose VP_ID is in the set, queues the entries on
 * their separate L2 FIFO, and traps to L1 after the flush when L1's
 * partition assist page says its TLB is locked.
 *
 * From: "KVM: x86: hyper-v: Fine-grained TLB flush + L2 TLB flush features"
 * (Vitaly Kuznetsov, Linux 6.2; its second per-vCPU ring for requests from
 * L2 and VM_ID/VP_ID targeting).
 * Numbers: docs/interfaces.md section 4 (Hyper-V PV TLB flush, L2 flush).
 *
 * L1 here is a small enlightened hypervisor (lib/hv_nested, on nested SVM or
 * on nested VMX with eVMCS) whose L2 runs ordinary test functions; each
 * scenario is one function, run on each vendor by the table of cases at the
 * end. A failure means an L1 hypervisor such as Hyper-V's own nested setup
 * gets spurious VMMCALL/VMCALL exits, misses the "trap after flush" it asked
 * for, or - worst - its L2 keeps a stale translation after a flush that KVM
 * claimed to perform, or a flush leaks into another L2 VM.
 *
 * Observability: the stale-read method (lib/tlbcheck) runs inside the L2s.
 * Under TCG every VM exit flushes the emulated TLB, so a target that was
 * kicked out of L2 is flushed anyway; the tlb_flush statistic of a parked
 * target (host-driven mode) is what shows which FIFO got the entries on every
 * host. "A different VM_ID is not flushed" is only checked through that
 * statistic: an old translation surviving is never guaranteed by hardware.
 *
 * Negative control: --negative-control 1 has the sender's L2 change PTEs
 * without flushing; the live targeting case then fails with stale reads in
 * the worker's L2 and the parked "VP_ID named" check with an unchanged
 * statistic (seen in a sid TCG VM). The VM_ID/VP_ID exclusions are the
 * mirror images of those checks (+1 vs +0 on the same statistic).
 *
 * The two rings (see "the two rings" below): a worker parked in L1 must not
 * process L2 flushes queued for it, one parked in L2 not L1 flushes, and an
 * L2 ring overflowed from L2 falls back to one flush-all without touching
 * the L1 ring; all judged by the worker's tlb_flush statistic. Negative
 * controls (seen in sid 7.2 and trixie 6.12 TCG VMs): --negative-control 2
 * issues the L1 flushes from L2 and the L2 flushes from L1, and every one of
 * those checks fails; --negative-control 1 fails the "own ring processed"
 * controls in L2; --negative-control 3 (one L2 call short of overflowing)
 * fails the overflow count (15, not 16) where KVM counts per entry (6.12;
 * 7.2 on AMD turns any non-empty ring into one full flush, so not there):
 * the counts follow the same model as hyperv/tlb_flush's
 * (include/hv_flush_stat.h).
 *
 * Nested VMX (eVMCS) cases are built but skip without VMX (QEMU TCG has
 * none); they run on Intel hosts with KVM_CAP_HYPERV_ENLIGHTENED_VMCS and
 * in a Bochs VM (scripts/vm/vm-run --emulator bochs), where kvm_intel with
 * EPT counts the statistic per GVA entry: all six vmx_ controls fail as
 * declared there (sid 7.2, Bochs 3.0).
 */

#include "cpuid.h"
#include "hv_flush_stat.h"
#include "hv_nested.h"
#include "hyperv_flush.h"
#include "probe.h"
#include "stats.h"
#include "threads.h"
#include "tlbcheck.h"

#define NR_L1           2               /* vCPU 0 runs the sender L2, vCPU 1 the worker L2 */
#define SENDER          0
#define WORKER          1
/* VP_IDs (what L2 targeting uses) differ from the VP indexes on purpose. */
#define SENDER_VP_ID    1
#define WORKER_VP_ID    69              /* bank 1 of a sparse set */
#define WORKER_VP_INDEX 2
#define VM_ID           0x1234
#define OTHER_VM_ID     0x5678

#define TEST_GVA        0x100000000000ull
#define NR_TEST_PAGES   32
#define L1_VMMCALL_RESULT 0x4c31c0deull /* what L1 answers an exiting hypercall with */
#define NOT_A_FLUSH_CALL HVCALL_SEND_IPI /* an L2 hypercall L0 must leave to L1 */
#define NR_FLUSH_FORMS  (HV_FLUSH_NR_CALLS * 2) /* slow and fast */
/* The two-ring cases: an L1 sender, the worker, an L2 sender. */
#define L1_SENDER       0
#define L2_SENDER       2
#define NR_RING_VCPUS   3
#define L2_SENDER_VP_INDEX 3            /* not the worker's VP index */
#define HV_TLB_FLUSH_FIFO_SIZE 16       /* KVM_HV_TLB_FLUSH_FIFO_SIZE, per ring */
#define L1_FLUSH_GVAS   2               /* GVAs per L1 List call ... */
#define L2_FLUSH_GVAS   3               /* ... and per L2 call: the counts tell the rings apart */
/* L2 calls of L2_FLUSH_GVAS that no longer fit in one ring. */
#define L2_OVERFLOW_CALLS (HV_TLB_FLUSH_FIFO_SIZE / L2_FLUSH_GVAS + 1)
#define MAX_DESCS       8

static uint64_t rounds_per_scenario = 16;
TEST_OPTION("rounds", rounds_per_scenario, "flush rounds per target scenario");
TEST_NEGATIVE_CONTROLS("1: L2 changes PTEs but skips the flush hypercalls (flush cases must fail); "
	    "2: two-ring cases issue the L1 flushes from L2 and the L2 flushes from L1 (each "
	    "lands on the other ring); "
	    "3: ring overflow cases send one L2 call fewer (no overflow)");
enum { NEG_NONE, NEG_SKIP_L2_FLUSH, NEG_SWAP_LEVELS, NEG_NO_OVERFLOW };
/* Where control 3 can be shown (include/hv_flush_stat.h). */
HV_FLUSH_STAT_PER_ENTRY_PROBE();

enum l2_program {
	L2_FLUSH_FORMS,         /* each flush form once, then a non-flush call */
	L2_TRAP_AFTER_FLUSH,    /* flush with the TLB "locked", then unlocked */
	L2_SENDER_ROUNDS,       /* live stale-read rounds */
	L2_SENDER_BURSTS,       /* host-driven flushes */
	L2_WORKER,              /* tlbcheck worker */
	L2_SCRIPT,              /* host-driven steps in L1 and L2 (the two-ring cases) */
};

struct l2_desc {
	const char *what;
	struct hv_flush_spec spec;      /* from L2 it names VP_IDs, from L1 VP indexes;
					 * the GVAs are added per call */
	bool worker_targeted;           /* filled by the host */
	bool self_targeted;
	uint64_t stale;
};

struct l1_cfg {
	uint64_t vm_id;
	uint32_t vp_id;
	bool nested_flush;              /* VMCB/eVMCS enlightenment bit */
	bool direct_hypercall;          /* VP assist page bit */
	enum l2_program program;
};

struct l1_result {
	struct hv_nested_l1_log log;    /* L2's exits to L1 */
	uint64_t l2_results[NR_FLUSH_FORMS + 1];
};

struct l2_shared {
	struct tlbcheck *tc;
	struct hv_nested_l1 *l1[NR_L1 + 2];
	struct hv_partition_assist_page *pa;
	void *input[NR_L1 + 2];
	struct l1_cfg cfg[NR_L1 + 2];
	struct l1_result res[NR_L1 + 2];
	bool negative;
	uint64_t rounds;
	uint32_t nr_descs;
	struct l2_desc desc[MAX_DESCS];
	bool stop;
	uint32_t burst;                 /* host-driven: desc to issue next */
	/* L2_SCRIPT: the next step of each vCPU and its flush arguments */
	volatile uint32_t op[NR_L1 + 2];
	uint32_t op_desc[NR_L1 + 2];
	uint64_t op_pages[NR_L1 + 2];
};

/* ---- L2 ---- */

/* Flush as spec says, naming each page of pages in a GVA entry of its own
 * (List calls). */
static uint64_t l2_flush(struct l2_shared *s, const struct hv_flush_spec *spec, uint64_t pages)
{
	struct hv_flush_spec call = *spec;

	for (; pages; pages &= pages - 1)
		hv_flush_spec_add_gva(&call, tlbcheck_page_gva(s->tc, __builtin_ctzll(pages)), 0);
	return hv_flush_spec_issue(s->input[guest_vcpu_id()], &call);
}

static void l2_flush_forms(struct l2_shared *s)
{
	struct l1_result *r = &s->res[guest_vcpu_id()];
	enum hv_flush_call call;
	uint32_t fast;

	for (call = 0; call < HV_FLUSH_NR_CALLS; call++)
		for (fast = 0; fast < 2; fast++) {
			struct hv_flush_spec spec = hv_flush_spec_all(call, fast);

			r->l2_results[call * 2 + fast] = l2_flush(s, &spec, BITL(0));
		}
	r->l2_results[NR_FLUSH_FORMS] = hyperv_hypercall(hv_control(NOT_A_FLUSH_CALL, false, 0, 0),
							 0, 0);
}

static void l2_trap_after_flush(struct l2_shared *s)
{
	struct l1_result *r = &s->res[guest_vcpu_id()];
	const struct hv_flush_spec spec = { .call = HV_FLUSH_SPACE, .fast = true,
					    .targets = HV_TARGETS_ALL_FLAG };

	/* Locked (set by the host): KVM flushes, then exits to L1. */
	r->l2_results[0] = l2_flush(s, &spec, 0);
	/* Unlocked: no exit. */
	s->pa->tlb_lock_count = 0;
	r->l2_results[1] = l2_flush(s, &spec, 0);
	r->l2_results[NR_FLUSH_FORMS] = hyperv_hypercall(hv_control(NOT_A_FLUSH_CALL, false, 0, 0),
							 0, 0);
}

static void l2_sender_rounds(struct l2_shared *s)
{
	struct tlbcheck *tc = s->tc;
	uint64_t pages = BITL(1) | BITL(6), r, result;
	uint32_t i;

	for (i = 0; i < s->nr_descs; i++) {
		struct l2_desc *d = &s->desc[i];

		for (r = 0; r < s->rounds; r++) {
			tlbcheck_prepare(tc, d->self_targeted);
			tlbcheck_remap(tc, pages);
			if (!s->negative) {
				result = l2_flush(s, &d->spec, pages);
				GUEST_ASSERT_MSG(hv_status(result) == HV_STATUS_SUCCESS,
						 "L2 %s (%s): status 0x%llx", d->what,
						 hv_flush_call_str(d->spec.call), (unsigned long long)result);
			}
			d->stale += tlbcheck_verify(tc, d->worker_targeted ? BITL(0) : 0,
						    d->self_targeted);
		}
	}
	tlbcheck_stop(tc);
}

#define SENDER_IDLE 0x1d1e

static void l2_sender_bursts(struct l2_shared *s)
{
	uint64_t pages = BITL(2) | BITL(3) | BITL(9), result;

	for (;;) {
		GUEST_SYNC(SENDER_IDLE);
		if (s->stop)
			return;
		tlbcheck_remap(s->tc, pages);
		if (s->negative)
			continue;
		result = l2_flush(s, &s->desc[s->burst].spec, pages);
		GUEST_ASSERT_MSG(hv_status(result) == HV_STATUS_SUCCESS, "L2 %s: status 0x%llx",
				 s->desc[s->burst].what, (unsigned long long)result);
	}
}

/*
 * L2_SCRIPT: each vCPU reports "ready" with the level it is at and runs the
 * step the host then sets, in L1 or in L2. Only the worker loads and checks
 * translations (tlbcheck result slot 0).
 */
enum script_op {
	OP_NONE,
	OP_LOAD,                /* flush locally, load every test translation */
	OP_CHECK,               /* read the pages the host names in tc->changed */
	OP_FLUSH,               /* remap op_pages, flush them with desc op_desc */
	OP_ENTER_L2,            /* L1: (first) VMRUN / resume L2 until it yields */
	OP_EXIT_TO_L1,          /* L2: yield to L1 (a hypercall L1 intercepts) */
};
#define SCRIPT_READY_L1 0x5c01
#define SCRIPT_READY_L2 0x5c02
#define SCRIPT_WORKER_SLOT 0
#define L2_YIELD_CONTROL hv_control(NOT_A_FLUSH_CALL, false, 0, 0)

/* The steps both levels run; false for the level-specific ones. */
static bool script_step(struct l2_shared *s, uint32_t id, bool in_l2)
{
	struct l2_desc *d = &s->desc[s->op_desc[id]];
	uint64_t result;

	switch (s->op[id]) {
	case OP_LOAD:
		tlbcheck_worker_step(s->tc, SCRIPT_WORKER_SLOT, TLBCHECK_PREPARE);
		return true;
	case OP_CHECK:
		tlbcheck_worker_step(s->tc, SCRIPT_WORKER_SLOT, TLBCHECK_CHECK);
		return true;
	case OP_FLUSH:
		tlbcheck_remap(s->tc, s->op_pages[id]);
		if (in_l2 && s->negative)
			return true;
		result = l2_flush(s, &d->spec, s->op_pages[id]);
		GUEST_ASSERT_MSG(hv_status(result) == HV_STATUS_SUCCESS, "%s: %s (%s) returned 0x%llx",
				 in_l2 ? "L2" : "L1", d->what, hv_flush_call_str(d->spec.call),
				 (unsigned long long)result);
		return true;
	default:
		return false;
	}
}

static void l2_script(struct l2_shared *s)
{
	uint32_t id = guest_vcpu_id();

	for (;;) {
		GUEST_SYNC(SCRIPT_READY_L2);
		if (script_step(s, id, true))
			continue;
		GUEST_ASSERT_MSG(s->op[id] == OP_EXIT_TO_L1, "L2 (vCPU %u): step %u is not an L2 step",
				 id, s->op[id]);
		hyperv_hypercall(L2_YIELD_CONTROL, 0, 0);
	}
}

static void l2_main(void *arg)
{
	struct l2_shared *s = arg;

	switch (s->cfg[guest_vcpu_id()].program) {
	case L2_FLUSH_FORMS:      l2_flush_forms(s); break;
	case L2_TRAP_AFTER_FLUSH: l2_trap_after_flush(s); break;
	case L2_SENDER_ROUNDS:    l2_sender_rounds(s); break;
	case L2_SENDER_BURSTS:    l2_sender_bursts(s); break;
	case L2_WORKER:           tlbcheck_worker(s->tc, 0); break;
	case L2_SCRIPT:           l2_script(s); break;
	}
}

/* ---- L1 ---- */

/* This vCPU's VMCB/eVMCS for l2_main with its enlightenments (VM_ID, VP_ID, ...). */
static void l1_init_l2(struct l2_shared *s, uint32_t id)
{
	const struct l1_cfg *cfg = &s->cfg[id];
	const struct hv_nested_enlightenments enl = {
		.vm_id = cfg->vm_id, .vp_id = cfg->vp_id, .nested_flush_hypercall = cfg->nested_flush,
		.partition_assist_gpa = guest_gpa(s->pa),
	};

	hv_nested_l2_init(s->l1[id], l2_main, s, &enl);
}

/* L2_SCRIPT, L1 side: run L2 until it yields back (OP_EXIT_TO_L1). */
static void l1_script_run_l2(struct l2_shared *s, uint32_t id)
{
	struct hv_nested_exit exit;

	hv_nested_l2_run(s->l1[id], &exit);
	GUEST_ASSERT_MSG(exit.kind == HV_NESTED_EXIT_HYPERCALL && exit.l2_rcx == L2_YIELD_CONTROL,
			 "L1 (vCPU %u): expected L2 to yield with a hypercall, got %s, L2 rcx 0x%llx",
			 id, hv_nested_exit_name(s->l1[id], &exit), (unsigned long long)exit.l2_rcx);
	hv_nested_l2_complete_hypercall(s->l1[id], L1_VMMCALL_RESULT);
}

static void l1_script(struct l2_shared *s, uint32_t id)
{
	bool l2_set_up = false;

	for (;;) {
		GUEST_SYNC(SCRIPT_READY_L1);
		if (script_step(s, id, false))
			continue;
		GUEST_ASSERT_MSG(s->op[id] == OP_ENTER_L2, "L1 (vCPU %u): step %u is not an L1 step",
				 id, s->op[id]);
		if (!l2_set_up) {
			l1_init_l2(s, id);
			l2_set_up = true;
		}
		l1_script_run_l2(s, id);
	}
}

static void l1_main(void *arg)
{
	struct l2_shared *s = arg;
	uint32_t id = guest_vcpu_id();

	hv_nested_l1_enable(s->l1[id], s->cfg[id].direct_hypercall);
	if (s->cfg[id].program == L2_SCRIPT) {
		l1_script(s, id);
	} else {
		l1_init_l2(s, id);
		hv_nested_l1_run_to_hlt(s->l1[id], &s->res[id].log, L1_VMMCALL_RESULT);
	}
}

/* ---- host side ---- */

struct l2_vm {
	struct vm *vm;
	struct vcpu *vcpus[NR_L1 + 2];
	struct l2_shared *s;
	uint32_t nr;
};

/* nr vCPUs, each an L1 with its own cfg (defaults: enlightened, same VM_ID). */
static void l2_vm_create(struct l2_vm *lv, uint32_t nr, enum hv_nested_vendor vendor)
{
	struct l2_shared *s;
	uint32_t i;

	lv->vm = vm_create(NULL);
	lv->nr = nr;
	s = lv->s = vm_alloc(lv->vm, sizeof(*s));
	s->negative = test_opts.negative_control == NEG_SKIP_L2_FLUSH;
	s->rounds = rounds_per_scenario;
	s->pa = vm_alloc(lv->vm, PAGE_SIZE);
	s->tc = tlbcheck_create(lv->vm, TEST_GVA, NR_TEST_PAGES, 1);
	for (i = 0; i < nr; i++) {
		lv->vcpus[i] = vcpu_add(lv->vm, i, l1_main, s);
		if (i == 0)
			require_hv_l2_flush(lv->vcpus[0], vendor);
		s->l1[i] = hv_nested_l1_create(lv->vcpus[i], vendor);
		s->input[i] = vm_alloc(lv->vm, PAGE_SIZE);
		s->cfg[i] = (struct l1_cfg){ .vm_id = VM_ID, .vp_id = i == WORKER ? WORKER_VP_ID : SENDER_VP_ID,
					     .nested_flush = true, .direct_hypercall = true };
		vcpu_set_msg_timeout(lv->vcpus[i], host_limit_ms(HV_MSG_NATIVE_MS));
	}
	if (nr > WORKER)
		vcpu_set_vp_index(lv->vcpus[WORKER], WORKER_VP_INDEX);
}

/* Form f of L2_FLUSH_FORMS: call f / 2, fast if odd. */
static enum hv_flush_call form_call(uint32_t f)
{
	return f / 2;
}

static uint64_t expected_flush_result(uint32_t form)
{
	/* List calls name one GVA: one rep completed. */
	return hv_flush_call_is_list(form_call(form)) ? 1ull << HV_HYPERCALL_REP_COMP_OFFSET : 0;
}

static void check_handled_by_l0(struct l2_shared *s, uint32_t id, const char *who)
{
	struct l1_result *r = &s->res[id];
	uint32_t f;

	for (f = 0; f < NR_FLUSH_FORMS; f++)
		TEST_ASSERT(r->l2_results[f] == expected_flush_result(f),
			    "%s: L2's %s %s hypercall returned RAX 0x%" PRIx64 ", expected 0x%" PRIx64
			    "%s", who, f % 2 ? "fast" : "slow", hv_flush_call_str(form_call(f)),
			    r->l2_results[f], expected_flush_result(f),
			    r->l2_results[f] == L1_VMMCALL_RESULT ? " (L1's answer: the call exited to L1)" : "");
	TEST_ASSERT_EQ(r->l2_results[NR_FLUSH_FORMS], L1_VMMCALL_RESULT);
	TEST_ASSERT(r->log.hypercall_exits == 1,
		    "%s: L1 saw %" PRIu64 " VMMCALL/VMCALL exits; expected exactly 1, for the "
		    "non-flush hypercall", who, r->log.hypercall_exits);
	TEST_ASSERT(hv_control(NOT_A_FLUSH_CALL, false, 0, 0) == r->log.first_hypercall.l2_rcx,
		    "%s: the exit L1 saw was for control 0x%" PRIx64 ", not the non-flush call", who,
		    r->log.first_hypercall.l2_rcx);
}

static void check_exits_to_l1(struct l2_shared *s, uint32_t id, const char *who,
			      uint64_t hypercall_page)
{
	struct l1_result *r = &s->res[id];
	uint32_t f;

	for (f = 0; f < NR_FLUSH_FORMS; f++)
		TEST_ASSERT(r->l2_results[f] == L1_VMMCALL_RESULT,
			    "%s: L2's %s %s hypercall returned RAX 0x%" PRIx64 ": L0 handled it, "
			    "expected an exit to L1", who, f % 2 ? "fast" : "slow",
			    hv_flush_call_str(form_call(f)), r->l2_results[f]);
	TEST_ASSERT(r->log.hypercall_exits == NR_FLUSH_FORMS + 1,
		    "%s: L1 saw %" PRIu64 " VMMCALL/VMCALL exits, expected %d", who,
		    r->log.hypercall_exits, NR_FLUSH_FORMS + 1);
	/* The exit is for the instruction itself: RIP not advanced. */
	TEST_ASSERT(r->log.first_hypercall.l2_rip == hypercall_page,
		    "%s: first exit at L2 rip 0x%" PRIx64 ", expected the hypercall instruction at 0x%"
		    PRIx64, who, r->log.first_hypercall.l2_rip, hypercall_page);
	TEST_ASSERT_EQ(r->log.first_hypercall.l2_rcx & 0xffff, hv_flush_call_code(HV_FLUSH_SPACE));
}

enum variant { ENLIGHTENED, NO_VMCB_BIT, NO_ASSIST_BIT, NO_CPUID_BIT, NR_VARIANTS };
static const char *const variant_what[NR_VARIANTS] = {
	"with the enlightenment on",
	"without nested_flush_hypercall in the VMCB/eVMCS",
	"without directhypercall in the VP assist page",
	"without HV_X64_NESTED_DIRECT_FLUSH in CPUID",
};

static void run_flush_forms(enum hv_nested_vendor vendor)
{
	struct l2_vm lv;
	uint64_t page;
	uint32_t v;

	l2_vm_create(&lv, NR_VARIANTS, vendor);
	for (v = 0; v < NR_VARIANTS; v++)
		lv.s->cfg[v].program = L2_FLUSH_FORMS;
	lv.s->cfg[NO_VMCB_BIT].nested_flush = false;
	lv.s->cfg[NO_ASSIST_BIT].direct_hypercall = false;
	vcpu_clear_cpuid_feature(lv.vcpus[NO_CPUID_BIT], HV_FEATURE_NESTED_DIRECT_FLUSH);
	for (v = 0; v < NR_VARIANTS; v++)
		vcpu_expect_done(lv.vcpus[v]);
	page = (uint64_t)lv.vcpus[0]->cpu->hypercall_page;
	check_handled_by_l0(lv.s, ENLIGHTENED, variant_what[ENLIGHTENED]);
	for (v = NO_VMCB_BIT; v < NR_VARIANTS; v++)
		check_exits_to_l1(lv.s, v, variant_what[v], page);
	vm_destroy(lv.vm);
}

static void run_trap_after_flush(enum hv_nested_vendor vendor)
{
	const struct hv_nested_exit *trap;
	struct l2_vm lv;
	struct l1_result *r;
	uint64_t page;

	l2_vm_create(&lv, 1, vendor);
	lv.s->cfg[0].program = L2_TRAP_AFTER_FLUSH;
	lv.s->pa->tlb_lock_count = 1;
	vcpu_expect_done(lv.vcpus[0]);
	r = &lv.s->res[0];
	trap = &r->log.first_trap;
	page = (uint64_t)lv.vcpus[0]->cpu->hypercall_page;
	TEST_ASSERT(r->log.trap_exits == 1, "L1 saw %" PRIu64 " trap-after-flush exits, expected 1 "
		    "(one flush with tlb_lock_count = 1, one with 0)", r->log.trap_exits);
	if (vendor == HV_NESTED_VMX_EVMCS) {
		TEST_ASSERT_EQ(trap->info1, 0);         /* exit qualification */
	} else {
		TEST_ASSERT_EQ(trap->info1, HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH);
		TEST_ASSERT_EQ(trap->info2, 0);
	}
	TEST_ASSERT(trap->l2_rip == page + VMMCALL_LEN,
		    "at the trap L2's rip was 0x%" PRIx64 ", expected 0x%" PRIx64
		    " (past the hypercall instruction)", trap->l2_rip, page + VMMCALL_LEN);
	TEST_ASSERT(hv_status(trap->l2_rax) == HV_STATUS_SUCCESS,
		    "at the trap L2's RAX was 0x%" PRIx64 ", expected success", trap->l2_rax);
	TEST_ASSERT_EQ(r->l2_results[0], HV_STATUS_SUCCESS);
	TEST_ASSERT_EQ(r->l2_results[1], HV_STATUS_SUCCESS);
	TEST_ASSERT_EQ(r->log.hypercall_exits, 1);
	vm_destroy(lv.vm);
}

/* ---- targeting ---- */

static struct l2_desc *add_desc(struct l2_shared *s, const char *what, enum hv_flush_call call,
				bool fast, enum hv_flush_targets targets)
{
	struct l2_desc *d = &s->desc[s->nr_descs++];

	*d = (struct l2_desc){ .what = what,
			       .spec = { .call = call, .fast = fast, .targets = targets } };
	return d;
}

static void add_vp_id(struct l2_desc *d, uint32_t vp_id)
{
	hv_flush_spec_add_vp(&d->spec, vp_id);
}

/* Which of the two L2s a description reaches, given each L1's VM_ID/VP_ID. */
static void desc_finish(struct l2_shared *s, struct l2_desc *d)
{
	bool same_vm = s->cfg[WORKER].vm_id == s->cfg[SENDER].vm_id;

	d->self_targeted = hv_flush_spec_targets_vp(&d->spec, s->cfg[SENDER].vp_id);
	d->worker_targeted = same_vm && hv_flush_spec_targets_vp(&d->spec, s->cfg[WORKER].vp_id);
}

static void run_l1_thread(struct vcpu *vcpu)
{
	tlbcheck_run_to_done(vcpu);
}

static void run_live_targeting(enum hv_nested_vendor vendor)
{
	struct l2_vm lv;
	struct l2_desc *d;
	uint32_t i;

	l2_vm_create(&lv, NR_L1, vendor);
	lv.s->cfg[SENDER].program = L2_SENDER_ROUNDS;
	lv.s->cfg[WORKER].program = L2_WORKER;
	d = add_desc(lv.s, "ListEx naming the other L2's VP_ID (bank 1)", HV_FLUSH_LIST_EX, false,
		     HV_TARGETS_VPS);
	add_vp_id(d, WORKER_VP_ID);
	d = add_desc(lv.s, "fast SpaceEx naming both VP_IDs (banks 0 and 1)", HV_FLUSH_SPACE_EX, true,
		     HV_TARGETS_VPS);
	add_vp_id(d, SENDER_VP_ID);
	add_vp_id(d, WORKER_VP_ID);
	add_desc(lv.s, "List with HV_FLUSH_ALL_PROCESSORS", HV_FLUSH_LIST, false,
		 HV_TARGETS_ALL_FLAG);
	add_desc(lv.s, "fast ListEx HV_GENERIC_SET_ALL", HV_FLUSH_LIST_EX, true, HV_TARGETS_SET_ALL);
	for (i = 0; i < lv.s->nr_descs; i++)
		desc_finish(lv.s, &lv.s->desc[i]);
	vcpu_thread_start(lv.vcpus[WORKER], run_l1_thread);
	tlbcheck_run_to_done(lv.vcpus[SENDER]);
	vcpu_thread_join(lv.vcpus[WORKER]);
	tlbcheck_diag(lv.s->tc, "L2 flushes between two L2s");
	for (i = 0; i < lv.s->nr_descs; i++)
		if (lv.s->desc[i].stale) {
			test_diag("%s: %" PRIu64 " stale reads", lv.s->desc[i].what, lv.s->desc[i].stale);
			tlbcheck_assert_no_stale(lv.s->tc, lv.s->desc[i].what, NULL);
		}
	vm_destroy(lv.vm);
}

/*
 * Host-driven: the worker's L2 has loaded its translations and sits outside
 * KVM_RUN; the sender's L2 issues one flush; the worker's tlb_flush statistic
 * moves only if KVM queued entries on its L2 FIFO.
 */
struct parked_check {
	const char *what;
	uint64_t worker_vm_id;
	enum hv_flush_targets targets;
	uint32_t id;                    /* VP_ID named (HV_TARGETS_VPS) */
	bool expect_flush;
};

static const struct parked_check parked_checks[] = {
	{ "same VM_ID, the worker's VP_ID named", VM_ID, HV_TARGETS_VPS, WORKER_VP_ID, true },
	{ "same VM_ID, HV_GENERIC_SET_ALL", VM_ID, HV_TARGETS_SET_ALL, 0, true },
	{ "same VM_ID, only the worker's VP *index* named (not its VP_ID)", VM_ID, HV_TARGETS_VPS,
	  WORKER_VP_INDEX, false },
	{ "same VM_ID, only the sender's VP_ID named", VM_ID, HV_TARGETS_VPS, SENDER_VP_ID, false },
	{ "different VM_ID, the worker's VP_ID named", OTHER_VM_ID, HV_TARGETS_VPS, WORKER_VP_ID,
	  false },
	{ "different VM_ID, HV_GENERIC_SET_ALL", OTHER_VM_ID, HV_TARGETS_SET_ALL, 0, false },
};
#define NR_PARKED_CHECKS (sizeof(parked_checks) / sizeof(parked_checks[0]))

static void run_parked(enum hv_nested_vendor vendor, bool same_vm)
{
	uint32_t i;

	require_binary_stats();
	for (i = 0; i < NR_PARKED_CHECKS; i++) {
		const struct parked_check *pc = &parked_checks[i];
		struct l2_vm lv;
		struct l2_desc *d;
		struct vcpu *w;
		uint64_t before, delta;
		struct cpu_hold hold;

		if ((pc->worker_vm_id == VM_ID) != same_vm)
			continue;
		hv_flush_stat_hold_cpu(&hold, pc->what);
		l2_vm_create(&lv, NR_L1, vendor);
		w = lv.vcpus[WORKER];
		lv.s->tc->sync_steps = true;
		lv.s->cfg[WORKER].vm_id = pc->worker_vm_id;
		lv.s->cfg[SENDER].program = L2_SENDER_BURSTS;
		lv.s->cfg[WORKER].program = L2_WORKER;
		d = add_desc(lv.s, pc->what, HV_FLUSH_LIST_EX, false, pc->targets);
		if (pc->targets == HV_TARGETS_VPS)
			add_vp_id(d, pc->id);
		desc_finish(lv.s, d);
		TEST_ASSERT_EQ(d->worker_targeted, pc->expect_flush);
		TEST_ASSERT_EQ(vcpu_sync(lv.vcpus[SENDER]), SENDER_IDLE);
		tlbcheck_host_step(lv.s->tc, w, TLBCHECK_PREPARE);      /* worker now in L2 */
		before = vcpu_stat(w, "tlb_flush");
		TEST_ASSERT_EQ(vcpu_sync(lv.vcpus[SENDER]), SENDER_IDLE);
		lv.s->tc->targets = pc->expect_flush ? BITL(0) : 0;
		tlbcheck_host_step(lv.s->tc, w, TLBCHECK_CHECK);
		delta = vcpu_stat(w, "tlb_flush") - before;
		test_diag("%s: worker's tlb_flush statistic +%" PRIu64, pc->what, delta);
		tlbcheck_assert_no_stale(lv.s->tc, pc->what, NULL);
		if (pc->expect_flush)
			TEST_ASSERT(delta >= 1, "%s: the worker's L2 processed no flush "
				    "(tlb_flush statistic unchanged)", pc->what);
		else
			TEST_ASSERT(delta == 0, "%s: the worker's L2 must not be flushed, but its "
				    "tlb_flush statistic moved by %" PRIu64, pc->what, delta);
		lv.s->stop = true;
		vcpu_expect_done(lv.vcpus[SENDER]);
		tlbcheck_host_step(lv.s->tc, w, TLBCHECK_STOP);
		vm_destroy(lv.vm);
		thread_release_cpu(&hold);
	}
}

static void run_parked_same_vm_id(enum hv_nested_vendor vendor)
{
	run_parked(vendor, true);
}

static void run_parked_other_vm_id(enum hv_nested_vendor vendor)
{
	run_parked(vendor, false);
}

/* ---- the two rings: L1 flushes vs L2 flushes on the same target ---- */

/*
 * Every vCPU keeps two FIFOs ("rings"): flushes issued by L1 go to the
 * targets' L1 ring, flushes issued by an L2 to their L2 ring, and a vCPU
 * processes (and counts in tlb_flush) only the ring of the level it is about
 * to run. Each scenario parks the worker in L1 or in L2, queues L1 List
 * flushes (L1_FLUSH_GVAS entries, by VP index, from an L1 sender) and/or L2
 * flushes (L2_FLUSH_GVAS entries each, by VP_ID, from another vCPU's L2),
 * resumes the worker at the same level and compares its tlb_flush statistic
 * with what that level's ring must give: +0 when only the other ring got
 * entries (the separation check), and when its own ring did (the control
 * that processing is visible at all) the exact count that include/
 * hv_flush_stat.h's model gives for this kernel and vendor: one per entry,
 * or 1 where KVM flushes everything instead.
 *
 * What KVM does and what can be seen of it (seen on 6.12 and 7.2, nSVM
 * under QEMU TCG):
 * - A target parked in L2 cannot be made to run L1 before it services its
 *   L2 ring: on the next KVM_RUN, pending requests (the flush among them) are
 *   serviced before any event that could force an exit to L1. So "L2 entries
 *   are not consumed while the target runs L1" is set up with the worker
 *   already back in L1 (its L2's VM_ID/VP_ID stay latched from its VMRUN).
 * - Every L1<->L2 transition re-raises the flush request, but each
 *   transition also counted exactly +1 by itself (a full flush of the entered
 *   context, which supersedes and discards that level's ring), with or
 *   without queued entries. So whether L2 entries queued for a worker in L1
 *   are still pending when it re-enters L2 (and L1 entries when it returns
 *   to L1) is not observable; after the transition only "at most that ring's
 *   entries plus one full flush" is checked.
 * - The per-entry count holds on AMD up to 6.12; 7.2 on AMD turns the first
 *   entry into a full flush (+1 for any non-empty ring), so the overflow
 *   fallback (15 entries + 1 flush-all = 16) is only told apart from a plain
 *   flush on kernels that count per entry (trixie's 6.12 does).
 * - The stale reads checked along the way cannot fail under TCG (every exit
 *   flushes QEMU's TLB) nor after a transition (its full flush); they guard
 *   the same-level steps on hardware.
 */
struct ring_scenario {
	const char *what;
	bool worker_in_l2;      /* where the worker is while the flushes queue up */
	uint32_t l1_calls;      /* L1 List calls, L1_FLUSH_GVAS pages each */
	uint32_t l2_calls;      /* L2 ListEx calls, L2_FLUSH_GVAS pages each */
};

enum { DESC_L1, DESC_L2 };

/*
 * What a target's tlb_flush statistic gains when it processes a ring fed
 * `calls` List calls of `gvas` entries each (docs/interfaces.md section 4):
 * a call's entries are queued only if fewer than the free slots (one is
 * always kept for "flush all"), otherwise one flush-all entry is; processing
 * counts each GVA entry before the first flush-all, and the flush-all
 * fallback once.
 */
static uint64_t ring_expected(uint32_t calls, uint32_t gvas, bool *overflowed)
{
	uint32_t used = 0, counted = 0, i;
	bool flush_all = false;

	for (i = 0; i < calls; i++) {
		uint32_t avail = HV_TLB_FLUSH_FIFO_SIZE - used;

		if (gvas < avail) {
			used += gvas;
			if (!flush_all)
				counted += gvas;
		} else if (avail) {
			used++;
			flush_all = true;
		}
	}
	if (overflowed)
		*overflowed = flush_all;
	return counted + flush_all;
}

/* A check that reports its failure and lets the other scenarios run. */
#define RING_CHECK(failed, cond, fmt, ...)					\
	do {									\
		if (!(cond)) {							\
			test_diag("FAILED: " fmt, ##__VA_ARGS__);		\
			(failed)++;						\
		}								\
	} while (0)

/* Set vCPU id's next step, run it to its next "ready", check the level. */
static void script(struct l2_vm *lv, uint32_t id, enum script_op op, uint64_t ready)
{
	uint64_t got;

	lv->s->op[id] = op;
	got = vcpu_sync(lv->vcpus[id]);
	TEST_ASSERT(got == ready, "vCPU %u: after step %u expected it ready in %s, got "
		    "GUEST_SYNC(0x%" PRIx64 ")", id, op, ready == SCRIPT_READY_L2 ? "L2" : "L1", got);
}

static void script_flush(struct l2_vm *lv, uint32_t id, uint32_t desc, uint64_t pages,
			 uint64_t ready)
{
	lv->s->op_desc[id] = desc;
	lv->s->op_pages[id] = pages;
	script(lv, id, OP_FLUSH, ready);
}

/* The next n test pages. */
static uint64_t take_pages(uint32_t *next, uint32_t n)
{
	uint64_t pages = (BITL(n) - 1) << *next;

	*next += n;
	TEST_ASSERT(*next <= NR_TEST_PAGES, "scenario needs %u test pages, have %u", *next,
		    NR_TEST_PAGES);
	return pages;
}

/* Runs one scenario; returns how many of its statistic checks failed (each
 * is reported as it fails, so a case shows every scenario's verdict). */
static uint32_t run_ring_scenario(enum hv_nested_vendor vendor, const struct ring_scenario *sc)
{
	uint32_t l2_calls = sc->l2_calls, next_page = 0, failed = 0, i;
	bool in_l2 = sc->worker_in_l2, l1_overflow, l2_overflow;
	uint64_t here_ready = in_l2 ? SCRIPT_READY_L2 : SCRIPT_READY_L1;
	uint64_t there_ready = in_l2 ? SCRIPT_READY_L1 : SCRIPT_READY_L2;
	uint64_t l1_pages = 0, l2_pages = 0, pages, base, mid, end, want_here, want_there;
	uint64_t want_l1 = ring_expected(sc->l1_calls, L1_FLUSH_GVAS, &l1_overflow);
	uint64_t want_l2 = ring_expected(sc->l2_calls, L2_FLUSH_GVAS, &l2_overflow);
	const char *here = in_l2 ? "L2" : "L1", *there = in_l2 ? "L1" : "L2";
	struct hv_flush_stat model;
	struct l2_shared *s;
	struct l2_desc *d;
	struct l2_vm lv;
	struct vcpu *w;
	uint64_t expected;
	struct cpu_hold hold;

	hv_flush_stat_hold_cpu(&hold, sc->what);
	if (test_opts.negative_control == NEG_NO_OVERFLOW && l2_overflow)
		l2_calls--;
	want_here = in_l2 ? want_l2 : want_l1;
	want_there = in_l2 ? want_l1 : want_l2;

	l2_vm_create(&lv, NR_RING_VCPUS, vendor);
	s = lv.s;
	w = lv.vcpus[WORKER];
	model = hv_flush_stat_model(w);
	vcpu_set_vp_index(lv.vcpus[L2_SENDER], L2_SENDER_VP_INDEX);
	for (i = 0; i < NR_RING_VCPUS; i++)
		s->cfg[i].program = L2_SCRIPT;
	d = add_desc(s, "List naming the worker's VP index", HV_FLUSH_LIST, false, HV_TARGETS_VPS);
	add_vp_id(d, WORKER_VP_INDEX);
	d = add_desc(s, "fast ListEx naming the worker's VP_ID", HV_FLUSH_LIST_EX, true,
		     HV_TARGETS_VPS);
	add_vp_id(d, WORKER_VP_ID);

	for (i = 0; i < NR_RING_VCPUS; i++)
		TEST_ASSERT_EQ(vcpu_sync(lv.vcpus[i]), SCRIPT_READY_L1);
	/* The L2 sender runs its L2 and the worker has run its L2 (VM_ID and
	 * VP_ID latched, nested page tables built) before counting starts. */
	script(&lv, L2_SENDER, OP_ENTER_L2, SCRIPT_READY_L2);
	script(&lv, WORKER, OP_ENTER_L2, SCRIPT_READY_L2);
	script(&lv, WORKER, OP_LOAD, SCRIPT_READY_L2);
	if (!in_l2) {
		script(&lv, WORKER, OP_EXIT_TO_L1, SCRIPT_READY_L1);
		script(&lv, WORKER, OP_LOAD, SCRIPT_READY_L1);
	}

	base = vcpu_stat(w, "tlb_flush");
	for (i = 0; i < sc->l1_calls; i++) {
		pages = take_pages(&next_page, L1_FLUSH_GVAS);
		l1_pages |= pages;
		if (test_opts.negative_control == NEG_SWAP_LEVELS)
			script_flush(&lv, L2_SENDER, DESC_L2, pages, SCRIPT_READY_L2);
		else
			script_flush(&lv, L1_SENDER, DESC_L1, pages, SCRIPT_READY_L1);
	}
	for (i = 0; i < l2_calls; i++) {
		pages = take_pages(&next_page, L2_FLUSH_GVAS);
		l2_pages |= pages;
		if (test_opts.negative_control == NEG_SWAP_LEVELS)
			script_flush(&lv, L1_SENDER, DESC_L1, pages, SCRIPT_READY_L1);
		else
			script_flush(&lv, L2_SENDER, DESC_L2, pages, SCRIPT_READY_L2);
	}

	/* Resume the worker where it was; it reads the pages its ring covers. */
	s->tc->targets = BITL(SCRIPT_WORKER_SLOT);
	s->tc->changed = in_l2 ? l2_pages : l1_pages;
	script(&lv, WORKER, OP_CHECK, here_ready);
	mid = vcpu_stat(w, "tlb_flush");
	/* Then to the other level, which reads the pages of the other ring. */
	script(&lv, WORKER, in_l2 ? OP_EXIT_TO_L1 : OP_ENTER_L2, there_ready);
	s->tc->changed = in_l2 ? l1_pages : l2_pages;
	script(&lv, WORKER, OP_CHECK, there_ready);
	end = vcpu_stat(w, "tlb_flush");

	test_diag("%s: %u L1 call(s) x %u GVAs (ring: %" PRIu64 "%s), %u L2 call(s) x %u GVAs "
		  "(ring: %" PRIu64 "%s); worker's tlb_flush back in %s +%" PRIu64 ", after "
		  "moving to %s +%" PRIu64, sc->what, sc->l1_calls, L1_FLUSH_GVAS, want_l1,
		  l1_overflow ? ", overflowed" : "", l2_calls, L2_FLUSH_GVAS, want_l2,
		  l2_overflow ? ", overflowed" : "", here, mid - base, there, end - mid);
	if (want_here)
		RING_CHECK(failed, hv_flush_stat_fits(&model, want_here, mid - base, &expected),
			   "%s: the worker resumed in %s and its tlb_flush statistic moved by %"
			   PRIu64 "; expected %" PRIu64 " (%s: %" PRIu64 " entry by entry from its %s "
			   "ring; %s)", sc->what, here, mid - base, expected,
			   hv_flush_stat_model_name(model.model), want_here, here, model.why);
	else
		RING_CHECK(failed, mid - base == 0,
			   "%s: the worker resumed in %s and its tlb_flush statistic moved by %"
			   PRIu64 "; expected 0: its %s ring is empty, the entries queued for it "
			   "(%" PRIu64 " on its %s ring) are not for this level", sc->what, here,
			   mid - base, here, want_there, there);
	RING_CHECK(failed, end - mid <= want_there + 1,
		    "%s: moving the worker to %s moved tlb_flush by %" PRIu64 "; expected at most "
		    "the %" PRIu64 " entries of its %s ring plus one full flush", sc->what, there,
		    end - mid, want_there, there);
	tlbcheck_assert_no_stale(s->tc, sc->what, NULL);
	vm_destroy(lv.vm);
	thread_release_cpu(&hold);
	return failed;
}

static void run_ring_scenarios(enum hv_nested_vendor vendor, const struct ring_scenario *sc,
			       uint32_t n)
{
	uint32_t failed = 0, i;

	require_binary_stats();
	for (i = 0; i < n; i++)
		failed += run_ring_scenario(vendor, &sc[i]);
	TEST_ASSERT(!failed, "%u tlb_flush check(s) failed, see the lines above", failed);
}
#define RUN_RING_SCENARIOS(vendor, table) \
	run_ring_scenarios(vendor, table, sizeof(table) / sizeof(table[0]))

/* Worker in L1: L2 entries must not be processed there (the check), L1
 * entries must (the control that processing in L1 is visible at all). */
static const struct ring_scenario ring_worker_in_l1[] = {
	{ "worker in L1, an L2 flush queued", false, 0, 1 },
	{ "worker in L1, an L1 flush queued", false, 1, 0 },
};
/* Worker in L2: the mirror image. */
static const struct ring_scenario ring_worker_in_l2[] = {
	{ "worker in L2, an L1 flush queued", true, 1, 0 },
	{ "worker in L2, an L2 flush queued", true, 0, 1 },
};
static const struct ring_scenario ring_overflow[] = {
	{ "worker in L2, its L2 ring overflowed by L2 calls", true, 0, L2_OVERFLOW_CALLS },
	{ "worker in L1, its L2 ring overflowed by L2 calls", false, 0, L2_OVERFLOW_CALLS },
};

static void run_ring_in_l1(enum hv_nested_vendor vendor)
{
	RUN_RING_SCENARIOS(vendor, ring_worker_in_l1);
}

static void run_ring_in_l2(enum hv_nested_vendor vendor)
{
	RUN_RING_SCENARIOS(vendor, ring_worker_in_l2);
}

static void run_ring_overflow(enum hv_nested_vendor vendor)
{
	bool overflowed;

	require_binary_stats();
	ring_expected(L2_OVERFLOW_CALLS, L2_FLUSH_GVAS, &overflowed);
	TEST_ASSERT(overflowed, "%d calls of %d GVAs do not overflow a %d-entry ring",
		    L2_OVERFLOW_CALLS, L2_FLUSH_GVAS, HV_TLB_FLUSH_FIFO_SIZE);
	RUN_RING_SCENARIOS(vendor, ring_overflow);
}

/* ---- the cases: each scenario on nested SVM, then on nested VMX with eVMCS ---- */

/* The negative controls, each with the failure it must produce in its case. */
#define SKIPPED_FLUSH_CONTROL(ident, regex)                                     \
	TEST_CONTROL(ident, NEG_SKIP_L2_FLUSH, "passes", "-",                   \
		     "the sender's L2 changes PTEs without flushing", regex)
#define SWAPPED_LEVELS_CONTROL(ident, regex)                                    \
	TEST_CONTROL(ident, NEG_SWAP_LEVELS, "passes", "-",                     \
		     "L1 flushes are sent from L2 and L2 flushes from L1", regex)
#define STALE_IN_WORKER "worker [0-9]+: [0-9]+ of [0-9]+ reads after .* returned saw the old translation"
#define WORKER_NOT_FLUSHED "same VM_ID, the worker's VP_ID named: the worker's L2 processed no flush \\(tlb_flush statistic unchanged\\)"
#define OTHER_RING_CONSUMED(scenario) "FAILED: " scenario ": .* moved by [1-9][0-9]*; expected 0"
#define NO_OVERFLOW_CONTROL(ident)                                              \
	TEST_CONTROL(ident, NEG_NO_OVERFLOW, "passes per_entry_stat", "-",      \
		     "the L2 sender stops one call short of overflowing the ring", \
		     "FAILED: worker in L2, its L2 ring overflowed by L2 calls: the worker resumed in L2 and its tlb_flush statistic moved by 15; expected 16 \\(")

SKIPPED_FLUSH_CONTROL(svm_l2_flush_reaches_same_vm_id, STALE_IN_WORKER)
SKIPPED_FLUSH_CONTROL(svm_l2_flush_fifo_targets, WORKER_NOT_FLUSHED)
SWAPPED_LEVELS_CONTROL(svm_l1_ring_in_l1, OTHER_RING_CONSUMED("worker in L1, an L2 flush queued"))
SWAPPED_LEVELS_CONTROL(svm_l2_ring_in_l2, OTHER_RING_CONSUMED("worker in L2, an L1 flush queued"))
SWAPPED_LEVELS_CONTROL(svm_l2_ring_overflow, OTHER_RING_CONSUMED("worker in L1, its L2 ring overflowed by L2 calls"))
NO_OVERFLOW_CONTROL(svm_l2_ring_overflow)
SKIPPED_FLUSH_CONTROL(vmx_l2_flush_reaches_same_vm_id, STALE_IN_WORKER)
SKIPPED_FLUSH_CONTROL(vmx_l2_flush_fifo_targets, WORKER_NOT_FLUSHED)
SWAPPED_LEVELS_CONTROL(vmx_l1_ring_in_l1, OTHER_RING_CONSUMED("worker in L1, an L2 flush queued"))
SWAPPED_LEVELS_CONTROL(vmx_l2_ring_in_l2, OTHER_RING_CONSUMED("worker in L2, an L1 flush queued"))
SWAPPED_LEVELS_CONTROL(vmx_l2_ring_overflow, OTHER_RING_CONSUMED("worker in L1, its L2 ring overflowed by L2 calls"))
NO_OVERFLOW_CONTROL(vmx_l2_ring_overflow)

/* One case: a scenario run on one vendor's nested virtualization. */
#define L2_FLUSH_CASE(ident, scenario, vendor, sentence)                        \
	TEST_CASE(ident, sentence, .timeout = HV_CASE_NATIVE_S) { scenario(vendor); }

L2_FLUSH_CASE(svm_l0_handles_l2_flush, run_flush_forms, HV_NESTED_SVM, "nSVM: L0 handles an enlightened L2's flush hypercalls (no VMMCALL exit, RIP advanced, success in RAX)")
L2_FLUSH_CASE(svm_trap_after_flush, run_trap_after_flush, HV_NESTED_SVM, "nSVM: with tlb_lock_count != 0 L1 gets the synthetic trap-after-flush exit (0xF0000000, info1 1)")
L2_FLUSH_CASE(svm_l2_flush_reaches_same_vm_id, run_live_targeting, HV_NESTED_SVM, "nSVM: an L2 flush reaches another vCPU's L2 with the same VM_ID and its VP_ID in the set")
L2_FLUSH_CASE(svm_l2_flush_fifo_targets, run_parked_same_vm_id, HV_NESTED_SVM, "nSVM: an L2 flush queues entries only for L2s with the same VM_ID whose VP_ID is named")
L2_FLUSH_CASE(svm_l2_flush_skips_other_vm_id, run_parked_other_vm_id, HV_NESTED_SVM, "nSVM: an L2 flush does not reach an L2 running with a different VM_ID")
L2_FLUSH_CASE(svm_l1_ring_in_l1, run_ring_in_l1, HV_NESTED_SVM, "nSVM: a vCPU resuming in L1 processes only its L1 ring; L2 flushes queued meanwhile are not consumed as L1 flushes")
L2_FLUSH_CASE(svm_l2_ring_in_l2, run_ring_in_l2, HV_NESTED_SVM, "nSVM: a vCPU resuming in L2 processes only its L2 ring; an L1 flush aimed at it is not consumed as an L2 flush")
L2_FLUSH_CASE(svm_l2_ring_overflow, run_ring_overflow, HV_NESTED_SVM, "nSVM: L2 calls overflowing a vCPU's L2 ring fall back to one flush-all and leave its L1 ring alone")
L2_FLUSH_CASE(vmx_l0_handles_l2_flush, run_flush_forms, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: L0 handles an enlightened L2's flush hypercalls (no VMCALL exit, RIP advanced, success in RAX)")
L2_FLUSH_CASE(vmx_trap_after_flush, run_trap_after_flush, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: with tlb_lock_count != 0 L1 gets the synthetic exit reason 0x10000031")
L2_FLUSH_CASE(vmx_l2_flush_reaches_same_vm_id, run_live_targeting, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: an L2 flush reaches another vCPU's L2 with the same VM_ID and its VP_ID in the set")
L2_FLUSH_CASE(vmx_l2_flush_fifo_targets, run_parked_same_vm_id, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: an L2 flush queues entries only for L2s with the same VM_ID whose VP_ID is named")
L2_FLUSH_CASE(vmx_l2_flush_skips_other_vm_id, run_parked_other_vm_id, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: an L2 flush does not reach an L2 running with a different VM_ID")
L2_FLUSH_CASE(vmx_l1_ring_in_l1, run_ring_in_l1, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: a vCPU resuming in L1 processes only its L1 ring; L2 flushes queued meanwhile are not consumed as L1 flushes")
L2_FLUSH_CASE(vmx_l2_ring_in_l2, run_ring_in_l2, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: a vCPU resuming in L2 processes only its L2 ring; an L1 flush aimed at it is not consumed as an L2 flush")
L2_FLUSH_CASE(vmx_l2_ring_overflow, run_ring_overflow, HV_NESTED_VMX_EVMCS, "nVMX/eVMCS: L2 calls overflowing a vCPU's L2 ring fall back to one flush-all and leave its L1 ring alone")
