// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GUESTDBG_EXIT_USERSPACE: a guest-debug flag that makes every
 * instruction KVM completes by skipping it (HLT, CPUID, RDMSR, WRMSR, ...)
 * return to userspace, RIP already past it, with the vendor's hardware exit
 * reason in run->hw.hardware_exit_reason.
 *
 * Proposed in Kechen Lu's per-vCPU exits-disable series (RFC v3/v4 patch 6,
 * 2022; docs/interfaces.md section 2) and dropped from v5: never merged.
 * Upstream x86 KVM_SET_GUEST_DEBUG does not validate the control word, so
 * 0x4 is accepted and ignored, and KVM_CAP_SET_GUEST_DEBUG2 does not list
 * it. The flag is therefore probed by behaviour (does an intercepted HLT
 * come back to userspace?) and by that mask; without it the flag's cases
 * skip. The agreement check runs everywhere.
 *
 * A failure means a kernel that claims the flag does not stop where it
 * should, stops twice, reports the wrong RIP or exit reason, keeps stopping
 * after the flag is cleared, or stops on a HLT that runs in the guest.
 */
#include <errno.h>

#include "apic.h"
#include "cpuid.h"
#include "exit_control.h"
#include "probe.h"
#include "stats.h"

#define WAKE_VECTOR     0xe0
/* KVM's LAPIC timer counts at 1 GHz with divide-by-1. */
#define APIC_TICKS_PER_US 1000
#define WAKE_US         200
#define MSG_TIMEOUT_MS  30000

/* Synchronisation points of the guest (GUEST_SYNC values). */
enum { SYNC_READY = 1, SYNC_DONE, SYNC_ROUND };

static uint64_t nr_halts = 16;
TEST_OPTION("halts", nr_halts, "HLTs per round in the HLT-disabled case");

enum negative_control {
	NC_NONE,
	NC_ASSUME_FLAG = 1,             /* run the flag's cases although it is absent */
	NC_MASK_CLAIMS_FLAG,            /* pretend KVM_CAP_SET_GUEST_DEBUG2 lists the flag */
	NC_WRONG_RIP,                   /* expect RIP at, not past, the instruction */
};
TEST_NEGATIVE_CONTROLS("see the negative_control enum in the source");
/* Where the controls below can be shown (see TEST_CONTROL in ktest.h). */
TEST_CONTROL_PROBE(no_exit_userspace, "exits/guest_debug_exit", "exits_after_skipped_instructions", "-",
		   "skip KVM_GUESTDBG_EXIT_USERSPACE .* is absent");

struct dbg_shared {
	uint32_t wake_ticks;
	uint64_t nr_halts;
	volatile uint64_t halts, wakes, interrupts;     /* HLTs, wakeups, timer interrupts */
	uint64_t apic_base;
};

static void on_wake_timer(struct ex_regs *regs)
{
	struct dbg_shared *s = guest_data();

	s->interrupts++;
	apic_eoi();
}

/* Addresses right after each instruction (defined in the asm below). */
extern const char after_hlt[], after_cpuid[], after_rdmsr[], after_wrmsr[];

/*
 * After SYNC_READY: a HLT (woken by its timer where it blocks), CPUID,
 * RDMSR and WRMSR of the APIC base, each followed by a global label.
 */
static void __attribute__((noinline)) guest_skipped_instructions(void *arg)
{
	struct dbg_shared *s = arg;
	uint32_t eax = 0, ebx, ecx = 0, edx;

	xapic_enable();
	guest_set_handler(WAKE_VECTOR, on_wake_timer);
	s->apic_base = rdmsr(MSR_IA32_APICBASE);
	GUEST_SYNC(SYNC_READY);

	apic_timer_oneshot(WAKE_VECTOR, s->wake_ticks);
	__asm__ volatile("sti; hlt\n"
			 ".global after_hlt\n"
			 "after_hlt:\n\t"
			 "cli" ::: "memory");
	__asm__ volatile("cpuid\n"
			 ".global after_cpuid\n"
			 "after_cpuid:"
			 : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx) :: "memory");
	__asm__ volatile("rdmsr\n"
			 ".global after_rdmsr\n"
			 "after_rdmsr:"
			 : "=a"(eax), "=d"(edx) : "c"(MSR_IA32_APICBASE) : "memory");
	__asm__ volatile("wrmsr\n"
			 ".global after_wrmsr\n"
			 "after_wrmsr:"
			 :: "c"(MSR_IA32_APICBASE), "a"((uint32_t)s->apic_base),
			    "d"((uint32_t)(s->apic_base >> 32)) : "memory");
	GUEST_SYNC(SYNC_DONE);
}

/* Rounds of timer-woken HLTs (for the HLT-disabled case). */
static void guest_halt_rounds(void *arg)
{
	struct dbg_shared *s = arg;
	uint64_t i;

	xapic_enable();
	guest_set_handler(WAKE_VECTOR, on_wake_timer);
	GUEST_SYNC(SYNC_READY);
	for (;;) {
		for (i = 0; i < s->nr_halts; i++) {
			uint64_t seen = s->interrupts;

			apic_timer_oneshot(WAKE_VECTOR, s->wake_ticks);
			/* A HLT in the guest can end without an interrupt (a
			 * host interrupt's #VMEXIT on SVM): halt until the timer. */
			do {
				s->halts++;
				__asm__ volatile("sti; hlt\n"
						 ".global after_round_hlt\n"
						 "after_round_hlt:\n\t"
						 "cli" ::: "memory");
			} while (s->interrupts == seen);
			s->wakes++;
		}
		GUEST_SYNC(SYNC_ROUND);
	}
}
extern const char after_round_hlt[];

/* ---- host side ---- */


static struct vm *irqchip_vm(void)
{
	struct vm_options opts = { .irqchip = true };

	return vm_create(&opts);
}

static struct dbg_shared *dbg_shared(struct vm *vm)
{
	struct dbg_shared *s = vm_alloc(vm, sizeof(*s));

	s->wake_ticks = WAKE_US * APIC_TICKS_PER_US;
	s->nr_halts = nr_halts;
	vm_set_guest_data(vm, s);      /* for the wake-timer handler */
	return s;
}

static void set_guest_debug(struct vcpu *vcpu, uint32_t control)
{
	int r = __vcpu_set_guest_debug(vcpu, control);

	TEST_ASSERT(!r, "KVM_SET_GUEST_DEBUG(control 0x%x): %s", control, strerror(-r));
}

/* KVM_CAP_SET_GUEST_DEBUG2: the control bits KVM declares valid (0 = no such cap). */
static uint32_t guest_debug_valid_mask(void)
{
	uint32_t mask = kvm_check_cap(KVM_CAP_SET_GUEST_DEBUG2);

	if (test_opts.negative_control == NC_MASK_CLAIMS_FLAG)
		mask |= KVM_GUESTDBG_EXIT_USERSPACE;
	return mask;
}

/* One KVM_RUN; run->exit_reason is cleared first, because the flag's exit
 * path does not set it (the series left it as it was). */
static void run_once(struct vcpu *vcpu)
{
	int r;

	vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;
	r = vcpu_run(vcpu);
	TEST_ASSERT(!r, "KVM_RUN: %s", strerror(-r));
}

static bool is_guest_msg(struct vcpu *vcpu)
{
	return vcpu->run->exit_reason == KVM_EXIT_IO && vcpu->run->io.port == GUEST_MSG_PORT;
}

static uint64_t vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	return regs.rip;
}

enum flag_probe { FLAG_ABSENT, FLAG_PRESENT };

/*
 * Behaviour probe: with the flag set, an intercepted HLT either comes back
 * to userspace (flag present) or blocks in KVM until its timer fires and
 * the guest's next message arrives (flag ignored). why[] gets the evidence.
 */
static enum flag_probe probe_exit_userspace(char *why, size_t len)
{
	struct vm *vm = irqchip_vm();
	struct dbg_shared *s = dbg_shared(vm);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_skipped_instructions, s);
	uint32_t mask = guest_debug_valid_mask();
	enum flag_probe result;
	int r;

	vcpu_set_msg_timeout(vcpu, MSG_TIMEOUT_MS);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_READY);
	r = __vcpu_set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	if (r) {
		snprintf(why, len, "KVM_SET_GUEST_DEBUG(ENABLE|EXIT_USERSPACE) failed with %s",
			 strerror(-r));
		vm_destroy(vm);
		return FLAG_ABSENT;
	}
	run_once(vcpu);
	if (is_guest_msg(vcpu)) {
		snprintf(why, len, "KVM accepted the flag and ignored it: an intercepted HLT with it "
			 "set did not return to userspace; KVM_CAP_SET_GUEST_DEBUG2 mask 0x%x %s 0x%x",
			 mask, mask & KVM_GUESTDBG_EXIT_USERSPACE ? "lists" : "lacks",
			 KVM_GUESTDBG_EXIT_USERSPACE);
		result = FLAG_ABSENT;
	} else {
		snprintf(why, len, "first exit after setting the flag: %s at rip 0x%" PRIx64
			 " (HLT ends at %p)", exit_reason_name(vcpu->run->exit_reason),
			 vcpu_rip(vcpu), (void *)after_hlt);
		result = FLAG_PRESENT;
	}
	vm_destroy(vm);
	return result;
}

static void require_exit_userspace(void)
{
	char why[320];

	if (test_negative_control(NC_ASSUME_FLAG))
		return;
	if (probe_exit_userspace(why, sizeof(why)) == FLAG_ABSENT)
		test_skip("KVM_GUESTDBG_EXIT_USERSPACE (proposed, Kechen Lu RFC v3/v4, not merged) "
			  "is absent: %s", why);
	test_diag("KVM_GUESTDBG_EXIT_USERSPACE present: %s", why);
}

TEST_CONTROL(mask_matches_behaviour, 2, "passes no_exit_userspace", "-",
	     "KVM_CAP_SET_GUEST_DEBUG2 is made to list the flag",
	     "KVM_CAP_SET_GUEST_DEBUG2 \\(0x[0-9a-f]+\\) lists KVM_GUESTDBG_EXIT_USERSPACE \\(0x4\\), but the flag does nothing");
TEST_CASE(mask_matches_behaviour,
	  "KVM_CAP_SET_GUEST_DEBUG2 lists KVM_GUESTDBG_EXIT_USERSPACE only if a HLT with the flag returns to userspace")
{
	uint32_t mask = guest_debug_valid_mask();
	enum flag_probe probe;
	char why[320];

	require_kvm_cap(KVM_CAP_SET_GUEST_DEBUG);
	test_negative_control(NC_MASK_CLAIMS_FLAG);
	probe = probe_exit_userspace(why, sizeof(why));
	test_diag("KVM_CAP_SET_GUEST_DEBUG2 = 0x%x; behaviour probe: %s", mask, why);
	TEST_ASSERT(!(mask & KVM_GUESTDBG_EXIT_USERSPACE) || probe == FLAG_PRESENT,
		    "KVM_CAP_SET_GUEST_DEBUG2 (0x%x) lists KVM_GUESTDBG_EXIT_USERSPACE (0x%x), but "
		    "the flag does nothing: %s", mask, KVM_GUESTDBG_EXIT_USERSPACE, why);
	if (probe == FLAG_PRESENT && !(mask & KVM_GUESTDBG_EXIT_USERSPACE))
		test_diag("the flag works but KVM_CAP_SET_GUEST_DEBUG2 does not list it "
			  "(as in the RFC, which did not extend the valid mask)");
}

struct skipped_insn {
	const char *name;
	const char *after;              /* RIP expected at the exit */
	uint32_t vmx_reason, svm_reason;
};

/* The hardware exit reason for this vendor, or -1 where no vendor numbering applies. */
static int64_t expected_hw_reason(const struct skipped_insn *insn)
{
	const char *vendor = kvm_vendor_module();

	if (vendor && !strcmp(vendor, "kvm_intel"))
		return insn->vmx_reason;
	if (vendor && !strcmp(vendor, "kvm_amd"))
		return insn->svm_reason;
	return -1;
}

TEST_CONTROL(exits_after_skipped_instructions, 1, "no_exit_userspace", "-",
	     "the flag's cases run although the flag is absent",
	     "HLT with KVM_GUESTDBG_EXIT_USERSPACE: expected KVM_RUN to return with exit_reason left at KVM_EXIT_UNKNOWN, got KVM_EXIT_IO");
TEST_CONTROL(exits_after_skipped_instructions, 3, "passes", "-",
	     "RIP is expected at, not past, the instruction",
	     "HLT: expected RIP already past the instruction \\(0x[0-9a-f]+\\), got 0x[0-9a-f]+");
TEST_CASE(exits_after_skipped_instructions,
	  "with KVM_GUESTDBG_EXIT_USERSPACE, HLT, CPUID, RDMSR and WRMSR each return to userspace once, RIP past them")
{
	const struct skipped_insn insns[] = {
		{ "HLT", after_hlt, VMX_EXIT_REASON_HLT, SVM_EXIT_HLT },
		{ "CPUID", after_cpuid, VMX_EXIT_REASON_CPUID, SVM_EXIT_CPUID },
		{ "RDMSR", after_rdmsr, VMX_EXIT_REASON_RDMSR, SVM_EXIT_MSR },
		{ "WRMSR", after_wrmsr, VMX_EXIT_REASON_WRMSR, SVM_EXIT_MSR },
	};
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits;
	size_t i;

	require_exit_userspace();
	vm = irqchip_vm();
	s = dbg_shared(vm);
	vcpu = vcpu_add(vm, 0, guest_skipped_instructions, s);
	vcpu_set_msg_timeout(vcpu, MSG_TIMEOUT_MS);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_READY);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");
	for (i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		const struct skipped_insn *insn = &insns[i];
		uint64_t rip, expected_rip = (uint64_t)insn->after;
		int64_t hw = expected_hw_reason(insn);

		if (test_negative_control(NC_WRONG_RIP))
			expected_rip -= 1;
		run_once(vcpu);
		rip = vcpu_rip(vcpu);
		TEST_ASSERT(!is_guest_msg(vcpu) && vcpu->run->exit_reason == KVM_EXIT_UNKNOWN,
			    "%s with KVM_GUESTDBG_EXIT_USERSPACE: expected KVM_RUN to return with "
			    "exit_reason left at KVM_EXIT_UNKNOWN, got %s at rip 0x%" PRIx64, insn->name,
			    exit_reason_name(vcpu->run->exit_reason), rip);
		TEST_ASSERT(rip == expected_rip,
			    "%s: expected RIP already past the instruction (0x%" PRIx64 "), got 0x%"
			    PRIx64, insn->name, expected_rip, rip);
		test_diag("%s: returned with rip 0x%" PRIx64 ", hardware exit reason 0x%llx", insn->name,
			  rip, vcpu->run->hw.hardware_exit_reason);
		if (hw >= 0)
			TEST_ASSERT(vcpu->run->hw.hardware_exit_reason == (uint64_t)hw,
				    "%s: expected hardware exit reason 0x%" PRIx64 " (%s), got 0x%llx",
				    insn->name, hw, kvm_vendor_module(),
				    vcpu->run->hw.hardware_exit_reason);
	}
	/* The HLT was skipped, not executed: no halt and no halt exit counted. */
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 0);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_DONE);
	vm_destroy(vm);
}

TEST_CASE(clearing_flag_restores,
	  "after KVM_GUESTDBG_EXIT_USERSPACE is cleared, HLT blocks in KVM again and the guest's next message is the next exit")
{
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits;

	require_exit_userspace();
	vm = irqchip_vm();
	s = dbg_shared(vm);
	vcpu = vcpu_add(vm, 0, guest_skipped_instructions, s);
	vcpu_set_msg_timeout(vcpu, MSG_TIMEOUT_MS);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_READY);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");
	/* HLT (timer-woken), CPUID, RDMSR, WRMSR all stay in KVM. */
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_DONE);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 1);
	TEST_ASSERT_GE(s->interrupts, 1);       /* its timer woke it */
	vm_destroy(vm);
}

TEST_CASE(no_exit_for_hlt_in_guest,
	  "with HLT exits disabled, HLT never returns to userspace even with KVM_GUESTDBG_EXIT_USERSPACE")
{
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits, hlt_stops = 0;

	require_binary_stats();
	require_exit_userspace();
	TEST_REQUIRE(kvm_disable_exits_offered() & KVM_X86_DISABLE_EXITS_HLT,
		     "KVM does not offer disabling HLT exits (KVM_CAP_X86_DISABLE_EXITS = 0x%" PRIx64 ")",
		     kvm_disable_exits_offered());
	vm = irqchip_vm();
	TEST_ASSERT_EQ(__vm_disable_exits(vm, KVM_X86_DISABLE_EXITS_HLT), 0);
	s = dbg_shared(vm);
	vcpu = vcpu_add(vm, 0, guest_halt_rounds, s);
	vcpu_set_msg_timeout(vcpu, MSG_TIMEOUT_MS);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_READY);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");
	for (;;) {
		struct guest_msg *msg;

		vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;
		msg = vcpu_next_msg(vcpu, NULL);
		if (msg) {
			TEST_ASSERT_EQ(msg->args[0], SYNC_ROUND);
			break;
		}
		/* Other skipped instructions may stop here; a HLT must not. */
		if (vcpu_rip(vcpu) == (uint64_t)after_round_hlt)
			hlt_stops++;
	}
	test_diag("%" PRIu64 " HLTs, %" PRIu64 " wakeups, %" PRIu64 " returns to userspace at a HLT, "
		  "halt_exits +%" PRIu64, s->halts, s->wakes, hlt_stops,
		  vcpu_stat(vcpu, "halt_exits") - halt_exits);
	if (vcpu_stat(vcpu, "halt_exits") != halt_exits && !test_negative_control_active)
		skip_if_vendor_deviates("HLT exits disabled, yet %" PRIu64 " HLTs made %" PRIu64
					" halt exits", s->halts,
					vcpu_stat(vcpu, "halt_exits") - halt_exits);
	TEST_ASSERT(hlt_stops == 0, "HLT runs in the guest, so it cannot return to userspace: "
		    "%" PRIu64 " of %" PRIu64 " HLTs did", hlt_stops, s->halts);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 0);
	TEST_ASSERT_EQ(s->wakes, nr_halts);
	vm_destroy(vm);
}
