// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GUESTDBG_EXIT_USERSPACE: a guest-debug flag that makes KVM_RUN return
 * to userspace (0, run->exit_reason left as it was) after every instruction
 * KVM completes by skipping it, RIP already past it, with the vendor's
 * hardware exit reason in run->hw.hardware_exit_reason where a VM exit led
 * there. "Every" includes the completion of a port-I/O exit: after the
 * guest's own OUT to the message port (KVM_EXIT_IO), the next KVM_RUN
 * completes the OUT by skipping it and returns at once, RIP right after
 * the OUT, with no VM exit in between. A HLT is emulated before the return
 * (kvm_emulate_halt() is "halt emulated && skip result"): halt_exits +1,
 * the vCPU HALTED unless a wake event was already pending, and the next
 * KVM_RUN blocks until its wake event.
 *
 * Proposed in Kechen Lu's per-vCPU exits-disable series (RFC v3/v4 patch 6,
 * 2022; docs/interfaces.md section 2) and dropped from v5: never merged.
 * Upstream x86 KVM_SET_GUEST_DEBUG does not validate the control word, so
 * 0x4 is accepted and ignored, and KVM_CAP_SET_GUEST_DEBUG2 does not list
 * it. The flag is therefore probed by behaviour (does KVM_RUN return before
 * the guest's next message?) and by that mask; without it the flag's cases
 * skip. The agreement check runs everywhere.
 *
 * Every return to userspace is identified by its RIP and exit reasons and
 * compared with the expected sequence; none is assumed. Seen where: with
 * the flag absent (stock 6.1, 6.12, 7.2) and present (the suite's port of
 * the posted semantics to 7.2, lib/tests/proposed-kvm), both under QEMU TCG
 * with kvm_amd, nrips=0, and under Bochs with kvm_intel (no APICv): there
 * the HLT stop's hardware reason was 0x30, an earlier exit's, as the VMX
 * fastpath leaves it. The EOI pass-over is read from 7.2's handlers and
 * has not been needed yet.
 *
 * A failure means a kernel that claims the flag does not stop where it
 * should, stops elsewhere or twice, reports the wrong RIP or exit reason,
 * does not emulate the HLT it stops after, keeps stopping after the flag
 * is cleared, or stops on a HLT that runs in the guest.
 */
#include <errno.h>

#include "apic.h"
#include "cpuid.h"
#include "exit_control.h"
#include "host.h"
#include "probe.h"
#include "stats.h"
#include "symbols.h"

#define WAKE_VECTOR     0xe0
/* KVM's LAPIC timer counts at 1 GHz with divide-by-1. */
#define APIC_TICKS_PER_US 1000
#define WAKE_US         200
/* The single HLT of the stop sequence: long enough that its timer has not
 * fired when the HLT exits, so KVM leaves the vCPU HALTED. */
#define HLT_WAKE_US     20000
#define MSG_NATIVE_MS   500

/* Synchronisation points of the guest (GUEST_SYNC values). */
enum { SYNC_READY = 1, SYNC_DONE, SYNC_ROUND };

static uint64_t nr_halts = 16;
TEST_OPTION("halts", nr_halts, "HLTs per round in the HLT-disabled case");

enum negative_control {
	NC_NONE,
	NC_ASSUME_FLAG = 1,             /* run the flag's cases although it is absent */
	NC_MASK_CLAIMS_FLAG,            /* pretend KVM_CAP_SET_GUEST_DEBUG2 lists the flag */
	NC_WRONG_RIP,                   /* expect RIP at, not past, the instruction */
	NC_NO_PIO_STOP,                 /* expect no stop for the OUT's completion */
	NC_HLT_NOT_EMULATED,            /* expect the HLT stop without a halt exit */
};
TEST_NEGATIVE_CONTROLS("see the negative_control enum in the source");
/* Where the controls below can be shown (see TEST_CONTROL in ktest.h). */
TEST_CONTROL_PROBE(no_exit_userspace, "exits/guest_debug_exit", "exits_after_skipped_instructions", "-",
		   "skip KVM_GUESTDBG_EXIT_USERSPACE .* is absent");

struct dbg_shared {
	uint32_t wake_ticks, hlt_wake_ticks;
	uint64_t nr_halts;
	volatile uint64_t halts, wakes, interrupts;     /* HLTs, wakeups, timer interrupts */
	volatile uint64_t shadowed;     /* of them, taken between STI and HLT */
	uint64_t apic_base;
};

/* Addresses right after each instruction (defined in the asm below). */
extern const char after_hlt[], after_cpuid[], after_rdmsr[], after_wrmsr[], after_round_hlt[];

static void on_wake_timer(struct ex_regs *regs)
{
	struct dbg_shared *s = guest_data();

	/* Taken inside STI's shadow, with RIP at the HLT (a host quirk; a
	 * timer that expires before the STI makes it likely on a slow host):
	 * the HLT would wait for a wake that has come already, and the case
	 * would hang. Skip the one-byte HLT and count it (expect_no_anomaly). */
	if (regs->rip == (uint64_t)after_hlt - 1 || regs->rip == (uint64_t)after_round_hlt - 1) {
		regs->rip++;
		s->shadowed++;
	}
	s->interrupts++;
	apic_eoi();
}

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

	apic_timer_oneshot(WAKE_VECTOR, s->hlt_wake_ticks);
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
	s->hlt_wake_ticks = HLT_WAKE_US * APIC_TICKS_PER_US;
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

/*
 * Length of the OUT instruction at p, 0 if there is none (guest code sits
 * at the same address in the host). While a guest message's KVM_EXIT_IO is
 * pending, RIP still points at its OUT: KVM advances it only when the next
 * KVM_RUN completes the port I/O.
 */
static unsigned int out_insn_len(const uint8_t *p)
{
	unsigned int prefix = 0;

	if (p[0] == 0x66)
		prefix = 1;
	switch (p[prefix]) {
	case 0xee: case 0xef:           /* out %al/%eax, (%dx) */
		return prefix + 1;
	case 0xe6: case 0xe7:           /* out %al/%eax, $imm8 */
		return prefix + 2;
	}
	return 0;
}

/* Where the guest's pending message OUT ends: the RIP of the stop that
 * completes it. */
static uint64_t msg_out_end(struct vcpu *vcpu)
{
	uint64_t rip = vcpu_rip(vcpu);
	unsigned int len = out_insn_len((const uint8_t *)rip);

	TEST_ASSERT(is_guest_msg(vcpu) && len,
		    "expected a guest message pending at an OUT, got exit %s at rip 0x%" PRIx64,
		    exit_reason_name(vcpu->run->exit_reason), rip);
	return rip + len;
}

/* vCPU 0 running GUEST_FN, stopped at its first message (SYNC_READY); *out_end
 * is where that message's OUT ends. */
static struct vcpu *vcpu_at_ready(struct vm *vm, void (*guest_fn)(void *), struct dbg_shared *s,
				  uint64_t *out_end)
{
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_fn, s);

	vcpu_set_msg_timeout(vcpu, host_limit_ms(MSG_NATIVE_MS));
	TEST_ASSERT_EQ(vcpu_sync(vcpu), SYNC_READY);
	*out_end = msg_out_end(vcpu);
	return vcpu;
}

/* One return from KVM_RUN, as userspace sees it. */
struct stop {
	struct guest_msg *msg;          /* the guest's message, or NULL */
	uint32_t exit_reason;           /* run->exit_reason, KVM_EXIT_UNKNOWN before the run */
	uint64_t rip;
	uint64_t hw;                    /* run->hw.hardware_exit_reason */
	char desc[224];
};

static struct stop next_stop(struct vcpu *vcpu)
{
	struct stop st;
	char sym[128];
	int err;

	vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;
	st.msg = vcpu_next_msg(vcpu, &err);
	TEST_ASSERT(!err, "KVM_RUN: %s", strerror(err));
	st.exit_reason = vcpu->run->exit_reason;
	st.rip = vcpu_rip(vcpu);
	st.hw = vcpu->run->hw.hardware_exit_reason;
	if (!symbolize(st.rip, sym, sizeof(sym)))
		snprintf(sym, sizeof(sym), "?");
	if (st.msg)
		snprintf(st.desc, sizeof(st.desc), "the guest's %s message (%s) at rip 0x%" PRIx64
			 " (%s)", st.msg->type == GUEST_MSG_DONE ? "GUEST_DONE" : "GUEST_SYNC",
			 exit_reason_name(st.exit_reason), st.rip, sym);
	else
		snprintf(st.desc, sizeof(st.desc), "%s at rip 0x%" PRIx64 " (%s), hardware exit "
			 "reason 0x%" PRIx64, exit_reason_name(st.exit_reason), st.rip, sym, st.hw);
	return st;
}

/*
 * Without APICv, VMX completes a guest's xAPIC EOI write in its APIC-access
 * handler by skipping it: with the flag that is one more stop, inside the
 * wake-timer handler. Identified by its exit reason and passed over.
 */
#define VMX_EXIT_REASON_APIC_ACCESS 44
static bool is_vmx_eoi_stop(const struct stop *st)
{
	const char *vendor = kvm_vendor_module();

	return !st->msg && vendor && !strcmp(vendor, "kvm_intel") &&
	       st->hw == VMX_EXIT_REASON_APIC_ACCESS;
}

static struct stop next_stop_but_eoi(struct vcpu *vcpu)
{
	struct stop st = next_stop(vcpu);

	while (is_vmx_eoi_stop(&st)) {
		test_diag("passed over: %s (an EOI write completed by skipping it)", st.desc);
		st = next_stop(vcpu);
	}
	return st;
}

struct expected_stop {
	const char *name;
	uint64_t rip;                   /* right after the instruction */
	int64_t hw;                     /* vendor exit reason; -1: no VM exit led here */
};

/* The hardware exit reason for this vendor, or -1 where no vendor numbering applies. */
static int64_t hw_reason(uint32_t vmx_reason, uint32_t svm_reason)
{
	const char *vendor = kvm_vendor_module();

	if (vendor && !strcmp(vendor, "kvm_intel"))
		return vmx_reason;
	if (vendor && !strcmp(vendor, "kvm_amd"))
		return svm_reason;
	return -1;
}

/*
 * The series records the hardware exit reason in the vendor's full exit
 * handler. 7.2 handles HLT before that, in its fastpath, on VMX and on SVM
 * with NRIPS, so there the field would be stale at the HLT stop: trusted
 * only on SVM without NRIPS (e.g. QEMU TCG's AMD, nrips=0).
 */
static int64_t hlt_hw_reason(void)
{
	const char *vendor = kvm_vendor_module();

	if (vendor && !strcmp(vendor, "kvm_amd") && !module_param_enabled("kvm_amd", "nrips"))
		return SVM_EXIT_HLT;
	test_diag("HLT's hardware exit reason not checked: %s handles HLT in a fastpath that "
		  "returns before the series records it", vendor ? vendor : "this vendor module");
	return -1;
}

static void expect_stop(struct vcpu *vcpu, struct expected_stop e)
{
	struct stop st = next_stop_but_eoi(vcpu);

	if (test_negative_control(NC_WRONG_RIP))
		e.rip -= 1;
	TEST_ASSERT(!st.msg && st.exit_reason == KVM_EXIT_UNKNOWN,
		    "%s with KVM_GUESTDBG_EXIT_USERSPACE: expected KVM_RUN to return with exit_reason "
		    "left at KVM_EXIT_UNKNOWN, got %s", e.name, st.desc);
	TEST_ASSERT(st.rip == e.rip, "%s: expected RIP already past the instruction (0x%" PRIx64
		    "), got %s", e.name, e.rip, st.desc);
	if (e.hw >= 0)
		TEST_ASSERT(st.hw == (uint64_t)e.hw, "%s: expected hardware exit reason 0x%" PRIx64
			    " (%s), got %s", e.name, e.hw, kvm_vendor_module(), st.desc);
	test_diag("%s: %s", e.name, st.desc);
}

/* The stop that completes the guest's pending message OUT: no VM exit led
 * there, so the hardware exit reason is not KVM's to set (run->hw shares
 * its bytes with run->io of the message exit) and is not checked. */
static void expect_out_completion(struct vcpu *vcpu, uint64_t out_end)
{
	if (test_negative_control(NC_NO_PIO_STOP))
		return;
	expect_stop(vcpu, (struct expected_stop){ "the message OUT's completion", out_end, -1 });
}

static void expect_msg(struct vcpu *vcpu, uint64_t sync_value)
{
	struct stop st = next_stop_but_eoi(vcpu);

	TEST_ASSERT(st.msg && st.msg->type == GUEST_MSG_SYNC && st.msg->args[0] == sync_value,
		    "expected the guest's GUEST_SYNC(%" PRIu64 "), got %s", sync_value, st.desc);
}

enum flag_probe { FLAG_ABSENT, FLAG_PRESENT };

/*
 * Behaviour probe: after the guest's message, set the flag and run once.
 * Where the flag is ignored the guest runs on to its next message (its HLT
 * blocks in KVM until the timer); where it works KVM_RUN returns before
 * that, and why[] says where.
 */
static enum flag_probe probe_exit_userspace(char *why, size_t len)
{
	struct vm *vm = irqchip_vm();
	struct dbg_shared *s = dbg_shared(vm);
	uint32_t mask = guest_debug_valid_mask();
	enum flag_probe result;
	struct vcpu *vcpu;
	uint64_t out_end;
	struct stop st;
	int r;

	s->hlt_wake_ticks = s->wake_ticks;      /* no need to wait long here */
	vcpu = vcpu_at_ready(vm, guest_skipped_instructions, s, &out_end);
	r = __vcpu_set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	if (r) {
		snprintf(why, len, "KVM_SET_GUEST_DEBUG(ENABLE|EXIT_USERSPACE) failed with %s",
			 strerror(-r));
		vm_destroy(vm);
		return FLAG_ABSENT;
	}
	st = next_stop(vcpu);
	expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, s->shadowed,
			  "the probe's wake timer interrupt was taken inside STI's shadow, before its HLT");
	if (st.msg) {
		snprintf(why, len, "KVM accepted the flag and ignored it: the next return to userspace "
			 "was %s; KVM_CAP_SET_GUEST_DEBUG2 mask 0x%x %s 0x%x", st.desc,
			 mask, mask & KVM_GUESTDBG_EXIT_USERSPACE ? "lists" : "lacks",
			 KVM_GUESTDBG_EXIT_USERSPACE);
		result = FLAG_ABSENT;
	} else {
		snprintf(why, len, "first return after setting the flag: %s (the message OUT ends at "
			 "0x%" PRIx64 ")", st.desc, out_end);
		result = FLAG_PRESENT;
	}
	vm_destroy(vm);
	return result;
}

static void require_exit_userspace(void)
{
	char why[384];

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
	  "KVM_CAP_SET_GUEST_DEBUG2 lists KVM_GUESTDBG_EXIT_USERSPACE only if KVM_RUN with the flag returns before the guest's next message")
{
	uint32_t mask = guest_debug_valid_mask();
	enum flag_probe probe;
	char why[384];

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

/*
 * The HLT stop comes after KVM emulated the halt: halt_exits +1 and the
 * vCPU HALTED, unless a wake event was pending already (then KVM leaves it
 * RUNNABLE; possible only once the wake timer has expired, TMCCT 0).
 */
static void expect_halt_emulated(struct vcpu *vcpu, uint64_t halt_exits_before)
{
	uint64_t halt_exits = vcpu_stat(vcpu, "halt_exits") - halt_exits_before;
	uint32_t mp_state = vcpu_mp_state(vcpu);
	uint64_t expected = test_negative_control(NC_HLT_NOT_EMULATED) ? 0 : 1;
	struct kvm_lapic_state lapic;
	uint32_t tmcct;

	vcpu_get_lapic(vcpu, &lapic);
	memcpy(&tmcct, &lapic.regs[APIC_TMCCT], sizeof(tmcct));
	test_diag("at the HLT stop: halt_exits +%" PRIu64 ", MP state %u, wake timer count %u",
		  halt_exits, mp_state, tmcct);
	TEST_ASSERT(halt_exits == expected,
		    "KVM emulates the HLT before it returns to userspace: expected halt_exits +%"
		    PRIu64 " at the HLT stop, got +%" PRIu64, expected, halt_exits);
	if (mp_state == KVM_MP_STATE_RUNNABLE && !tmcct)
		test_diag("the vCPU stayed RUNNABLE: its wake timer had expired, a pending wake event");
	else
		TEST_ASSERT(mp_state == KVM_MP_STATE_HALTED,
			    "KVM emulates the HLT before it returns to userspace: expected MP state "
			    "HALTED (%u) with the wake timer still counting (%u), got %u",
			    KVM_MP_STATE_HALTED, tmcct, mp_state);
}

TEST_CONTROL(exits_after_skipped_instructions, 1, "no_exit_userspace", "-",
	     "the flag's cases run although the flag is absent",
	     "the message OUT's completion with KVM_GUESTDBG_EXIT_USERSPACE: expected KVM_RUN to return with exit_reason left at KVM_EXIT_UNKNOWN, got the guest's GUEST_SYNC message");
TEST_CONTROL(exits_after_skipped_instructions, 3, "passes", "-",
	     "RIP is expected at, not past, the instruction",
	     "the message OUT's completion: expected RIP already past the instruction \\(0x[0-9a-f]+\\), got KVM_EXIT_UNKNOWN");
TEST_CONTROL(exits_after_skipped_instructions, 4, "passes", "-",
	     "no stop is expected for the message OUT's completion",
	     "HLT: expected RIP already past the instruction \\(0x[0-9a-f]+\\), got KVM_EXIT_UNKNOWN .* \\(guest_send_msg");
TEST_CONTROL(exits_after_skipped_instructions, 5, "passes", "-",
	     "the HLT stop is expected without a halt exit (HLT skipped, not emulated)",
	     "expected halt_exits \\+0 at the HLT stop, got \\+1");
TEST_CASE(exits_after_skipped_instructions,
	  "with KVM_GUESTDBG_EXIT_USERSPACE, KVM_RUN returns once after each of the message OUT's completion, HLT (emulated first), CPUID, RDMSR and WRMSR, RIP past each")
{
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits, out_end;

	require_exit_userspace();
	vm = irqchip_vm();
	s = dbg_shared(vm);
	vcpu = vcpu_at_ready(vm, guest_skipped_instructions, s, &out_end);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");

	expect_out_completion(vcpu, out_end);
	expect_stop(vcpu, (struct expected_stop){ "HLT", (uint64_t)after_hlt, hlt_hw_reason() });
	expect_halt_emulated(vcpu, halt_exits);
	/* The next KVM_RUN blocks in KVM until the timer wakes the vCPU. */
	expect_stop(vcpu, (struct expected_stop){ "CPUID", (uint64_t)after_cpuid,
						  hw_reason(VMX_EXIT_REASON_CPUID, SVM_EXIT_CPUID) });
	TEST_ASSERT(s->interrupts == 1, "the halted vCPU runs on only after its wake timer: "
		    "expected 1 timer interrupt before CPUID, got %" PRIu64, s->interrupts);
	expect_stop(vcpu, (struct expected_stop){ "RDMSR", (uint64_t)after_rdmsr,
						  hw_reason(VMX_EXIT_REASON_RDMSR, SVM_EXIT_MSR) });
	expect_stop(vcpu, (struct expected_stop){ "WRMSR", (uint64_t)after_wrmsr,
						  hw_reason(VMX_EXIT_REASON_WRMSR, SVM_EXIT_MSR) });
	expect_msg(vcpu, SYNC_DONE);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 1);
	vm_destroy(vm);
}

TEST_CASE(clearing_flag_restores,
	  "after KVM_GUESTDBG_EXIT_USERSPACE is cleared, HLT blocks in KVM again and the guest's next message is the next exit")
{
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits, out_end;

	require_exit_userspace();
	vm = irqchip_vm();
	s = dbg_shared(vm);
	vcpu = vcpu_at_ready(vm, guest_skipped_instructions, s, &out_end);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	expect_out_completion(vcpu, out_end);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");
	/* HLT (timer-woken), CPUID, RDMSR, WRMSR all stay in KVM. */
	expect_msg(vcpu, SYNC_DONE);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 1);
	TEST_ASSERT_GE(s->interrupts, 1);       /* its timer woke it */
	vm_destroy(vm);
}

TEST_CASE(no_exit_for_hlt_in_guest,
	  "with HLT exits disabled, HLT never returns to userspace even with KVM_GUESTDBG_EXIT_USERSPACE; only the message OUT's completion does")
{
	struct vm *vm;
	struct dbg_shared *s;
	struct vcpu *vcpu;
	uint64_t halt_exits, out_end, hlt_stops = 0, out_stops = 0;

	require_binary_stats();
	require_exit_userspace();
	TEST_REQUIRE(kvm_disable_exits_offered() & KVM_X86_DISABLE_EXITS_HLT,
		     "KVM does not offer disabling HLT exits (KVM_CAP_X86_DISABLE_EXITS = 0x%" PRIx64 ")",
		     kvm_disable_exits_offered());
	vm = irqchip_vm();
	TEST_ASSERT_EQ(__vm_disable_exits(vm, KVM_X86_DISABLE_EXITS_HLT), 0);
	s = dbg_shared(vm);
	vcpu = vcpu_at_ready(vm, guest_halt_rounds, s, &out_end);
	set_guest_debug(vcpu, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_EXIT_USERSPACE);
	halt_exits = vcpu_stat(vcpu, "halt_exits");
	for (;;) {
		struct stop st = next_stop_but_eoi(vcpu);

		if (st.msg) {
			TEST_ASSERT_EQ(st.msg->args[0], SYNC_ROUND);
			break;
		}
		if (st.rip == (uint64_t)after_round_hlt)
			hlt_stops++;
		else
			TEST_ASSERT(st.rip == out_end && !out_stops++,
				    "with HLT exits disabled the only instruction KVM completes here is "
				    "the message OUT (once, ending at 0x%" PRIx64 "), got %s", out_end,
				    st.desc);
	}
	test_diag("%" PRIu64 " HLTs, %" PRIu64 " wakeups, %" PRIu64 " returns to userspace at a HLT, "
		  "%" PRIu64 " at the message OUT's end, halt_exits +%" PRIu64, s->halts, s->wakes,
		  hlt_stops, out_stops, vcpu_stat(vcpu, "halt_exits") - halt_exits);
	expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, s->shadowed,
			  "%" PRIu64 " wake timer interrupts taken inside STI's shadow, their HLTs skipped",
			  s->shadowed);
	if (vcpu_stat(vcpu, "halt_exits") != halt_exits && !test_negative_control_active)
		skip_if_vendor_deviates("HLT exits disabled, yet %" PRIu64 " HLTs made %" PRIu64
					" halt exits", s->halts,
					vcpu_stat(vcpu, "halt_exits") - halt_exits);
	TEST_ASSERT(hlt_stops == 0, "HLT runs in the guest, so it cannot return to userspace: "
		    "%" PRIu64 " of %" PRIu64 " HLTs did", hlt_stops, s->halts);
	TEST_ASSERT_EQ(out_stops, 1);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - halt_exits, 0);
	TEST_ASSERT_EQ(s->wakes, nr_halts);
	vm_destroy(vm);
}
