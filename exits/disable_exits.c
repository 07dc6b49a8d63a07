// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_X86_DISABLE_EXITS: which guest instructions still exit.
 *
 * Guards the VM-scope capability (upstream: HLT, PAUSE, MWAIT, CSTATE, and
 * APERFMPERF from 6.17; since 6.14 it is refused once a vCPU exists and bits
 * KVM does not offer are refused instead of ignored) and the proposed
 * per-vCPU scope with its OVERRIDE bit (Kechen Lu, "KVM: x86: add per-vCPU
 * exits disable capability", RFC v3-v6, 2022-23; docs/interfaces.md section 2).
 *
 * Ground truth: the guest counts the instructions it executes; the vCPU's
 * binary statistics (halt_exits, exits) are read before and after. Every
 * HLT is woken by its own LAPIC timer interrupt, so a HLT that really runs
 * in the guest cannot hang the test. The guest workloads and their counting
 * are lib/exit_workloads.c (include/exit_workloads.h); this file holds the
 * scenarios.
 *
 * What each case trusts, and on which paths it has been seen (QEMU 7.2 TCG
 * AMD VM: kvm_amd with nrips=0, no pause filter, no APERFMPERF; stock
 * kernels 6.1, 6.12, 7.2; the proposed cases on the suite's port of the
 * series to 7.2, lib/tests/proposed-kvm, run by check_patched_kvm.sh):
 * - hlt_exits_by_default, hlt_disabled, the refusal cases' "still
 *   intercepted" rounds, and every per-vCPU case: the guest's own HLT and
 *   wakeup counts, and halt_exits, which KVM counts in its common HLT
 *   emulation, so on every vendor path (7.2's HLT fastpath on VMX and on SVM
 *   with NRIPS goes through it too). Seen only on TCG AMD, nrips=0.
 * - pause_disabled: the "exits" statistic over equal spin loops with and
 *   without PAUSE. Needs a pause filter (SVM: pause_filter_count, not in
 *   TCG) or pause-loop exiting (VMX: ple_gap) that exits often enough: KVM
 *   grows the PLE window at each exit (kvm_intel.ple_window_grow), so
 *   under Bochs a loop made 7 extra exits by default and 300 with a grow of
 *   1, which make check uses there. Seen on Bochs's VMX (kvm_intel).
 * - mwait_disabled, vcpu_scope_mwait_toggle: the "exits" statistic over
 *   MONITOR/MWAIT pairs. Seen on TCG AMD.
 * - vcpu_scope_pause_toggle: as pause_disabled, on one vCPU: seen on
 *   Bochs's VMX with the port and kvm_intel.ple_window_grow=1 (TCG has no
 *   pause filter).
 * - mwait_offered_as_host_allows: KVM_CHECK_EXTENSION against
 *   /proc/cpuinfo and kvm.mitigate_smt_rsb. Seen on TCG AMD, with and
 *   without clearcpuid=monitor (make vm_mwait_restricted).
 * - cstate_disabled, aperfmperf_disabled: whether the guest's RDMSR faults.
 *   Skip on AMD (no core C-state MSRs) and where APERFMPERF is not offered
 *   (TCG has none). Seen on Bochs's Haswell (kvm_intel).
 * - unoffered_bits_refused, unknown_bits_refused, override_refused_with_vcpu,
 *   refused_after_vcpu_creation, vcpu_scope_bad_input: KVM_ENABLE_CAP's
 *   return value, then a HLT round as above.
 * No case here reads run->hw.hardware_exit_reason, which 7.2 leaves stale
 * on its fastpaths (see exits/guest_debug_exit).
 *
 * A failure means KVM intercepts an instruction userspace asked it not to
 * (or the reverse), or that KVM_ENABLE_CAP accepted input it must refuse
 * and so silently changed (or did not change) what the VM exits on.
 */
#include <errno.h>
#include <stdio.h>

#include "cpuid.h"
#include "exit_control.h"
#include "exit_workloads.h"
#include "host.h"
#include "probe.h"
#include "stats.h"

#define HLT  KVM_X86_DISABLE_EXITS_HLT
#define PAUSE KVM_X86_DISABLE_EXITS_PAUSE
#define MWAIT KVM_X86_DISABLE_EXITS_MWAIT
#define CSTATE KVM_X86_DISABLE_EXITS_CSTATE
#define APERFMPERF KVM_X86_DISABLE_EXITS_APERFMPERF
#define OVERRIDE KVM_X86_DISABLE_EXITS_OVERRIDE

static uint64_t nr_halts = 32;
TEST_OPTION("halts", nr_halts, "HLTs the guest executes per measured round");
static uint64_t wake_us = 200;
TEST_OPTION("wake-us", wake_us, "LAPIC timer delay that wakes each HLT, in microseconds");

/*
 * --negative-control N makes one check see the wrong behaviour on purpose,
 * to show that it fails (the suite's own validation; see the report).
 */
enum negative_control {
	NC_NONE,
	NC_CONTROL_WITH_CAP = 1,        /* the "intercepted" control VM disables HLT exits */
	NC_HLT_WITHOUT_CAP,             /* the "disabled" VM never enables the capability */
	NC_PAUSE_WITHOUT_CAP,
	NC_MWAIT_WITHOUT_CAP,
	NC_CSTATE_WITHOUT_CAP,
	NC_APERFMPERF_WITHOUT_CAP,
	NC_UNOFFERED_IS_OFFERED,        /* "unoffered" bit is one KVM offers */
	NC_UNKNOWN_IS_KNOWN,            /* "unknown" bit is HLT */
	NC_STATE_CHANGED,               /* after a refused call, disable HLT for real */
	NC_AFTER_VCPU_IS_BEFORE,        /* enable before the vCPU exists */
	NC_ASSUME_VCPU_SCOPE,           /* treat the per-vCPU probe's EINVAL as support */
	NC_OVERRIDE_BEFORE_VCPU,        /* the call comes before the vCPU and lacks bit 63 */
	NC_MWAIT_ANSWER_INVERTED,       /* expect the opposite of what the host allows */
	NC_VCPU_CALL_EMPTY,             /* the per-vCPU "disable" call passes an empty mask */
};
TEST_NEGATIVE_CONTROLS("see the negative_control enum in the source");
/* Where the controls below can be shown (see TEST_CONTROL in ktest.h). */
TEST_CONTROL_PROBE(hlt_in_guest, "exits/disable_exits", "hlt_disabled", "-",
		   "pass");
TEST_CONTROL_PROBE(no_vcpu_scope, "exits/disable_exits", "vcpu_scope_one_of_two", "-",
		   "skip per-vCPU KVM_CAP_X86_DISABLE_EXITS .* is absent");

/* ---- VM scope (upstream) ---- */

TEST_CONTROL(hlt_exits_by_default, 1, "passes hlt_in_guest", "-",
	     "the \"intercepted\" VM disables HLT exits",
	     "vCPU 0 \\(default\\): (KVM emulates an intercepted HLT and ends it only for a wake event, yet [0-9]+ of [0-9]+ HLTs ended without the timer interrupt|HLT exits are intercepted, so halt_exits should grow by one per HLT \\([0-9]+\\); it grew by [0-9]+)");
TEST_CASE(hlt_exits_by_default,
	  "without the capability every guest HLT is one halt exit and is woken by its timer")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu;

	require_binary_stats();
	vm = vm_with_disabled_exits(test_negative_control(NC_CONTROL_WITH_CAP) ? HLT : 0);
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "default"), "default");
	vm_destroy(vm);
}

TEST_CONTROL(hlt_disabled, 2, "passes", "-",
	     "the \"disabled\" VM never enables the capability",
	     "vCPU 0 \\(HLT disabled\\): HLT exits are disabled, so halt_exits should not move over [0-9]+ HLTs; it grew by [1-9][0-9]*");
TEST_CASE(hlt_disabled,
	  "HLT exits disabled before vCPU creation: every HLT halts in the guest, is woken, and halt_exits stays 0")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu;

	require_binary_stats();
	require_disable_exits_offered(HLT);
	vm = vm_with_disabled_exits(test_negative_control(NC_HLT_WITHOUT_CAP) ? 0 : HLT);
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_in_guest(vcpu, halt_round_run(vcpu, s, "HLT disabled"), "HLT disabled");
	/* Still disabled on a second round: the setting is not one-shot. */
	expect_hlt_in_guest(vcpu, halt_round_run(vcpu, s, "HLT disabled, round 2"),
			    "HLT disabled, round 2");
	vm_destroy(vm);
}

/* ---- PAUSE: spin loops of equal length with and without PAUSE ---- */

static uint64_t spin_ms = 20;
TEST_OPTION("spin-ms", spin_ms, "length of each PAUSE / plain spin loop, in milliseconds");

TEST_CONTROL(pause_disabled, 3, "passes", "-",
	     "the \"disabled\" VM never enables the capability",
	     "PAUSE exits are disabled, so a PAUSE loop should exit about as often as a plain loop");
TEST_CASE(pause_disabled,
	  "PAUSE exits disabled: a PAUSE loop exits no more often than the same loop without PAUSE")
{
	uint64_t intercepted;

	require_binary_stats();
	require_kvm_cap(KVM_CAP_GET_TSC_KHZ);
	require_disable_exits_offered(PAUSE);
	intercepted = require_pause_exits_observable(measure_pause_spin(0, spin_ms, "PAUSE intercepted"),
						     spin_ms, "without the capability");
	expect_pause_in_guest(measure_pause_spin(test_negative_control(NC_PAUSE_WITHOUT_CAP) ? 0 : PAUSE,
						 spin_ms, "PAUSE disabled"),
			      intercepted, "PAUSE disabled");
}

/* ---- MWAIT: MONITOR/MWAIT pairs that never sleep ---- */

static uint64_t nr_mwaits = 256;
TEST_OPTION("mwaits", nr_mwaits, "MONITOR/MWAIT pairs the guest executes per round");

TEST_CONTROL(mwait_disabled, 4, "passes", "-",
	     "the \"disabled\" VM never enables the capability",
	     "MWAIT exits are disabled: expected far fewer exits than the [0-9]+ MONITOR/MWAIT pairs");
TEST_CASE(mwait_disabled,
	  "MWAIT exits disabled: MONITOR and MWAIT run in the guest; without the capability each one exits")
{
	uint64_t ctl, dis;

	require_binary_stats();
	require_disable_exits_offered(MWAIT);
	ctl = measure_mwait_exits(0, nr_mwaits, "MWAIT intercepted");
	expect_mwait_intercepted(ctl, nr_mwaits, "without the capability");
	dis = measure_mwait_exits(test_negative_control(NC_MWAIT_WITHOUT_CAP) ? 0 : MWAIT, nr_mwaits,
				  "MWAIT disabled");
	expect_mwait_in_guest(dis, nr_mwaits, "MWAIT disabled");
}

/*
 * KVM lets MWAIT run in the guest only where the host kernel says the CPU
 * has MONITOR/MWAIT (cpuinfo flag "monitor", which clearcpuid=monitor
 * removes), no MONITOR erratum (bug "monitor") and an APIC timer that runs
 * in deep C-states ("arat"), and only with kvm.mitigate_smt_rsb off (where
 * that parameter exists). Checked both ways, so that a VM booted with
 * clearcpuid=monitor (make vm_mwait_restricted) sees the mask without MWAIT.
 */
TEST_CONTROL(mwait_offered_as_host_allows, 13, "passes", "-",
	     "the host's answer is inverted",
	     "KVM_CHECK_EXTENSION\\(KVM_CAP_X86_DISABLE_EXITS\\) = 0x[0-9a-f]+ \\([A-Z|]+\\): expected MWAIT (offered|not offered)");
TEST_CASE(mwait_offered_as_host_allows,
	  "KVM offers disabling MWAIT exits exactly where the host may pass MWAIT through (CPU flags monitor and arat, no monitor bug, kvm.mitigate_smt_rsb off)")
{
	int monitor = host_cpuinfo_lists("flags", "monitor");
	int arat = host_cpuinfo_lists("flags", "arat");
	int bug = host_cpuinfo_lists("bugs", "monitor");
	bool smt_rsb = module_param_enabled("kvm", "mitigate_smt_rsb");
	uint64_t have = kvm_disable_exits_offered();
	bool allowed;

	TEST_REQUIRE(monitor >= 0 && arat >= 0, "/proc/cpuinfo has no flags line to read");
	allowed = monitor == 1 && arat == 1 && bug != 1 && !smt_rsb;
	test_diag("host: flag monitor %s, flag arat %s, bug monitor %s, kvm.mitigate_smt_rsb %s; "
		  "KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS) = 0x%" PRIx64 " (%s)",
		  monitor ? "set" : "clear", arat ? "set" : "clear",
		  bug == 1 ? "set" : bug == 0 ? "clear" : "(no bugs line)", smt_rsb ? "on" : "off",
		  have, disable_exits_names(have));
	if (test_negative_control(NC_MWAIT_ANSWER_INVERTED))
		allowed = !allowed;
	TEST_ASSERT(!!(have & MWAIT) == allowed,
		    "KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS) = 0x%" PRIx64 " (%s): expected MWAIT "
		    "%s, since the host %s pass MWAIT through", have, disable_exits_names(have),
		    allowed ? "offered" : "not offered", allowed ? "may" : "may not");
}

/* ---- CSTATE and APERFMPERF: MSRs that stop being intercepted ---- */

#define MSR_CORE_C3_RESIDENCY 0x3fc
#define MSR_CORE_C6_RESIDENCY 0x3fd
#define MSR_CORE_C7_RESIDENCY 0x3fe
#define MSR_CORE_C1_RES       0x660

TEST_CONTROL(cstate_disabled, 5, "passes", "-",
	     "the \"disabled\" VM never enables the capability",
	     "CSTATE exits are disabled and the host CPU has MSR 0x[0-9a-f]+: expected the guest to read it");
TEST_CASE(cstate_disabled,
	  "CSTATE exits disabled: the guest reads the core C-state residency MSRs instead of taking #GP")
{
	static const uint32_t msrs[] = { MSR_CORE_C3_RESIDENCY, MSR_CORE_C6_RESIDENCY,
					 MSR_CORE_C7_RESIDENCY, MSR_CORE_C1_RES };
	struct msr_reads ctl = { .nr = MAX_PROBE_MSRS }, dis;
	uint32_t i, checked = 0;

	require_disable_exits_offered(CSTATE);
	TEST_REQUIRE(!host_cpu_is_amd(),
		     "the host CPU is AMD: KVM passes only Intel's core C-state residency MSRs "
		     "through, which an AMD CPU does not have, so the effect is not observable");
	TEST_REQUIRE(!module_param_enabled("kvm", "ignore_msrs"),
		     "module parameter kvm.ignore_msrs is on: intercepted reads do not fault, so "
		     "passing the MSRs through is not observable");
	memcpy(ctl.index, msrs, sizeof(msrs));
	dis = ctl;
	read_msrs_in_vm(0, &ctl);
	read_msrs_in_vm(test_negative_control(NC_CSTATE_WITHOUT_CAP) ? 0 : CSTATE, &dis);
	for (i = 0; i < ctl.nr; i++) {
		int host = host_has_msr(msrs[i]);

		TEST_ASSERT(ctl.vector[i] == GP_VECTOR,
			    "without the capability RDMSR 0x%x is intercepted and KVM does not "
			    "emulate it: expected #GP, got %s", msrs[i],
			    ctl.vector[i] == NO_EXCEPTION ? "no fault" : exception_name(ctl.vector[i]));
		if (host == 0)
			continue;       /* the host CPU lacks it: passthrough faults too */
		if (host < 0 && dis.vector[i] != NO_EXCEPTION)
			continue;       /* unknown whether the CPU has it */
		checked++;
		if (dis.vector[i] != NO_EXCEPTION && !test_negative_control_active)
			skip_if_vendor_deviates("CSTATE exits disabled, yet RDMSR 0x%x of a C-state "
					 "residency MSR the host has still faults (%s)", msrs[i],
					 exception_name(dis.vector[i]));
		TEST_ASSERT(dis.vector[i] == NO_EXCEPTION,
			    "CSTATE exits are disabled and the host CPU has MSR 0x%x: expected the "
			    "guest to read it, got %s", msrs[i], exception_name(dis.vector[i]));
	}
	TEST_REQUIRE(checked || test_negative_control_active,
		     "no core C-state residency MSR is known to exist on the host CPU (/dev/cpu/0/msr "
		     "%s) and the guest could read none, so the effect is not observable",
		     host_has_msr(MSR_CORE_C6_RESIDENCY) < 0 ? "unreadable" : "shows none");
	TEST_ASSERT(checked, "CSTATE exits disabled, yet the guest could read no C-state "
		    "residency MSR");
}

TEST_CONTROL(aperfmperf_disabled, 6, "passes", "-",
	     "the \"disabled\" VM never enables the capability",
	     "APERFMPERF exits are disabled: expected RDMSR 0x[0-9a-f]+ to read the host counter");
TEST_CASE(aperfmperf_disabled,
	  "APERFMPERF exits disabled: the guest reads IA32_APERF/MPERF, which fault without the capability")
{
	struct msr_reads ctl = { .nr = 2, .index = { MSR_IA32_APERF, MSR_IA32_MPERF } }, dis;
	uint32_t i;

	require_disable_exits_offered(APERFMPERF);
	dis = ctl;
	read_msrs_in_vm(0, &ctl);
	read_msrs_in_vm(test_negative_control(NC_APERFMPERF_WITHOUT_CAP) ? 0 : APERFMPERF, &dis);
	for (i = 0; i < ctl.nr; i++) {
		TEST_ASSERT(ctl.vector[i] == GP_VECTOR,
			    "without the capability RDMSR 0x%x should #GP, got %s", ctl.index[i],
			    ctl.vector[i] == NO_EXCEPTION ? "no fault" : exception_name(ctl.vector[i]));
		TEST_ASSERT(dis.vector[i] == NO_EXCEPTION,
			    "APERFMPERF exits are disabled: expected RDMSR 0x%x to read the host "
			    "counter, got %s", dis.index[i], exception_name(dis.vector[i]));
		TEST_ASSERT(dis.second[i] > dis.first[i],
			    "RDMSR 0x%x reads a running counter: expected the second read (0x%"
			    PRIx64 ") above the first (0x%" PRIx64 ")", dis.index[i], dis.second[i],
			    dis.first[i]);
	}
}

/* ---- refused input leaves the VM as it was ---- */

/*
 * After a refused KVM_ENABLE_CAP the VM must still intercept HLT: the
 * refusal was all or nothing. Runs a round on a fresh vCPU.
 */
static void expect_vm_unchanged(struct vm *vm)
{
	struct halt_rounds *s = halt_rounds_create(vm, nr_halts, wake_us);
	struct vcpu *vcpu;

	if (test_negative_control(NC_STATE_CHANGED))
		TEST_ASSERT_EQ(__vm_disable_exits(vm, HLT), 0);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "after refused KVM_ENABLE_CAP"),
			       "after refused KVM_ENABLE_CAP");
}

/* An offered bit to send along with a bad one, so that a partial update
 * would show; HLT is the one whose effect the check can see. */
static uint64_t good_companion(void)
{
	return kvm_disable_exits_offered() & HLT;
}

static void expect_refused(struct vm *vm, uint64_t mask, const char *why)
{
	int r = __vm_disable_exits(vm, mask);

	TEST_ASSERT(r == -EINVAL, "KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, %s) (%s): expected "
		    "EINVAL, got %s", disable_exits_names(mask), why, r ? strerror(-r) : "success");
}

TEST_CONTROL(unoffered_bits_refused, 7, "passes", "-",
	     "an offered bit stands in for the unoffered one",
	     "refusing exit bits KVM does not offer arrived in 6\\.14 and this kernel is .*, but KVM_ENABLE_CAP accepted [A-Z]+ although KVM offers");
TEST_CASE(unoffered_bits_refused,
	  "exit bits KVM does not offer are refused with EINVAL and change nothing")
{
	uint64_t have = kvm_disable_exits_offered(), unoffered = DISABLE_EXITS_KNOWN_BITS & ~have;
	uint64_t accepted = 0;
	struct vm *vm;
	int bit;

	require_binary_stats();
	if (test_negative_control(NC_UNOFFERED_IS_OFFERED))
		unoffered = have & -have;
	TEST_REQUIRE(unoffered, "KVM offers every exit bit it knows (%s): nothing to refuse",
		     disable_exits_names(have));
	vm = vm_create_irqchip();
	for (bit = 0; bit < 64; bit++) {
		uint64_t b = 1ull << bit;
		int r;

		if (!(unoffered & b))
			continue;
		r = __vm_disable_exits(vm, b | good_companion());
		test_diag("KVM_ENABLE_CAP(%s), %s not offered: %s", disable_exits_names(b | good_companion()),
			  disable_exits_names(b), r ? strerror(-r) : "success");
		if (r == 0)
			accepted |= b;
		else
			TEST_ASSERT(r == -EINVAL, "KVM_ENABLE_CAP(%s): expected EINVAL, got %s",
				    disable_exits_names(b | good_companion()), strerror(-r));
	}
	if (accepted)
		release_rule_old_behaviour(6, 14, "refusing exit bits KVM does not offer",
					   "KVM_ENABLE_CAP accepted %s although KVM offers %s",
					   disable_exits_names(accepted), disable_exits_names(have));
	expect_vm_unchanged(vm);
	vm_destroy(vm);
}

TEST_CONTROL(unknown_bits_refused, 8, "passes", "-",
	     "HLT stands in for the unknown bits",
	     "KVM_ENABLE_CAP\\(KVM_CAP_X86_DISABLE_EXITS, HLT\\) \\(no kernel knows this bit\\): expected EINVAL, got success");
TEST_CONTROL(unknown_bits_refused, 9, "passes hlt_in_guest", "-",
	     "after the refused calls HLT exits are disabled for real",
	     "vCPU 0 \\(after refused KVM_ENABLE_CAP\\): (KVM emulates an intercepted HLT|HLT exits are intercepted, so halt_exits should grow)");
TEST_CASE(unknown_bits_refused,
	  "unknown exit bits, and bit 63 where the proposed OVERRIDE is absent, are refused with EINVAL and change nothing")
{
	char why[160];
	struct vm *vm;
	int bit;

	require_binary_stats();
	vm = vm_create_irqchip();
	for (bit = 0; bit < 63; bit++) {
		uint64_t b = 1ull << bit;

		if (b & DISABLE_EXITS_KNOWN_BITS)
			continue;
		if (test_negative_control(NC_UNKNOWN_IS_KNOWN))
			b = HLT;
		expect_refused(vm, b | good_companion(), "no kernel knows this bit");
	}
	/* The series makes bit 63 valid at VM scope before any vCPU exists
	 * (vm_scope_override); with a vCPU it is refused on every kernel
	 * (override_refused_with_vcpu). */
	if (kvm_has_vcpu_disable_exits(why, sizeof(why)))
		test_diag("per-vCPU scope present: bit 63 is OVERRIDE here, see vm_scope_override");
	else
		expect_refused(vm, OVERRIDE | good_companion(),
			       "OVERRIDE is not merged and this kernel has no per-vCPU scope");
	expect_vm_unchanged(vm);
	vm_destroy(vm);
}

/*
 * The series adds OVERRIDE to the bits VM scope accepts, but keeps VM scope
 * "before any vCPU only": with a vCPU present the call is refused whatever
 * the mask. Without the series bit 63 is unknown and refused as such. So
 * the refusal holds on every kernel, old ones included (6.1 accepted HLT
 * after vCPU creation, but never bit 63).
 */
TEST_CONTROL(override_refused_with_vcpu, 12, "passes", "-",
	     "the call comes before the vCPU exists and without bit 63",
	     "KVM_ENABLE_CAP\\(KVM_CAP_X86_DISABLE_EXITS, [A-Za-z|]+\\) \\(bit 63 at VM scope with a vCPU present\\): expected EINVAL, got success");
TEST_CASE(override_refused_with_vcpu,
	  "bit 63 (OVERRIDE) at VM scope on a VM that has a vCPU is refused with EINVAL, with or without the proposed series, and the vCPU keeps exiting")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu = NULL;
	uint64_t mask = OVERRIDE | good_companion();
	char why[160];

	require_binary_stats();
	test_diag("per-vCPU scope (the proposed series): %s",
		  kvm_has_vcpu_disable_exits(why, sizeof(why)) ? "present" : why);
	vm = vm_create_irqchip();
	s = halt_rounds_create(vm, nr_halts, wake_us);
	if (test_negative_control(NC_OVERRIDE_BEFORE_VCPU))
		mask &= ~OVERRIDE;
	else
		vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_refused(vm, mask, "bit 63 at VM scope with a vCPU present");
	if (!vcpu)
		vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "after refused OVERRIDE"),
			       "after refused OVERRIDE");
	vm_destroy(vm);
}

TEST_CONTROL(refused_after_vcpu_creation, 10, "passes", "-",
	     "the capability is enabled before the vCPU exists",
	     "refusing KVM_CAP_X86_DISABLE_EXITS after vCPU creation arrived in 6\\.14 and this kernel is .*, but KVM_ENABLE_CAP\\([A-Z|]+\\) succeeded with a vCPU present");
TEST_CASE(refused_after_vcpu_creation,
	  "KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS) on a VM that has a vCPU fails with EINVAL and the vCPU keeps exiting")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu = NULL;
	uint64_t mask;
	int r;

	require_binary_stats();
	mask = kvm_disable_exits_offered() & (HLT | PAUSE);
	TEST_REQUIRE(mask, "KVM offers neither HLT nor PAUSE (%s)",
		     disable_exits_names(kvm_disable_exits_offered()));
	vm = vm_create_irqchip();
	s = halt_rounds_create(vm, nr_halts, wake_us);
	if (!test_negative_control(NC_AFTER_VCPU_IS_BEFORE))
		vcpu = halt_rounds_add_vcpu(vm, 0, s);
	r = __vm_disable_exits(vm, mask);
	test_diag("KVM_ENABLE_CAP(%s) with %s vCPU: %s", disable_exits_names(mask), vcpu ? "one" : "no",
		  r ? strerror(-r) : "success");
	if (r == 0)
		release_rule_old_behaviour(6, 14, "refusing KVM_CAP_X86_DISABLE_EXITS after vCPU creation",
					   "KVM_ENABLE_CAP(%s) succeeded with a vCPU present",
					   disable_exits_names(mask));
	TEST_ASSERT(r == -EINVAL, "KVM_ENABLE_CAP(%s) after vCPU creation: expected EINVAL, got %s",
		    disable_exits_names(mask), strerror(-r));
	if (!kernel_is_at_least(6, 14))
		test_diag("this %s kernel refuses it: a backport of the 6.14 rule", kernel_release());
	if (!vcpu)
		vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "after refused enable"),
			       "after refused enable");
	vm_destroy(vm);
}

/* ---- vCPU scope and OVERRIDE (proposed, RFC v6 semantics) ---- */

/* What every per-vCPU case needs: the statistics it counts with, the
 * proposed vCPU scope, and HLT exits that KVM offers to disable. */
static void require_vcpu_scope(void)
{
	char why[160];

	require_binary_stats();
	if (!test_negative_control(NC_ASSUME_VCPU_SCOPE) &&
	    !kvm_has_vcpu_disable_exits(why, sizeof(why)))
		test_skip("per-vCPU KVM_CAP_X86_DISABLE_EXITS (proposed, Kechen Lu RFC v3-v6, not "
			  "merged) is absent: %s", why);
	require_disable_exits_offered(HLT);
}

static void vcpu_disable_exits(struct vcpu *vcpu, uint64_t mask)
{
	int r = __vcpu_disable_exits(vcpu, mask, 0);

	TEST_ASSERT(!r, "per-vCPU KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, %s) on vCPU %u: "
		    "expected success, got %s", disable_exits_names(mask), vcpu->id, strerror(-r));
}

TEST_CONTROL(vcpu_scope_one_of_two, 11, "no_vcpu_scope", "-",
	     "the per-vCPU probe's EINVAL is taken as support",
	     "per-vCPU KVM_ENABLE_CAP\\(KVM_CAP_X86_DISABLE_EXITS, HLT\\) on vCPU 0: expected success, got Invalid argument");
TEST_CASE(vcpu_scope_one_of_two,
	  "per-vCPU: HLT exits disabled on one of two vCPUs leave the other intercepting every HLT")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *quiet, *loud;

	require_vcpu_scope();
	vm = vm_create_irqchip();
	s = halt_rounds_create(vm, nr_halts, wake_us);
	quiet = halt_rounds_add_vcpu(vm, 0, s);
	loud = halt_rounds_add_vcpu(vm, 1, s);
	vcpu_disable_exits(quiet, HLT);
	expect_hlt_in_guest(quiet, halt_round_run(quiet, s, "HLT disabled on this vCPU"),
			    "HLT disabled on this vCPU");
	expect_hlt_intercepted(loud, halt_round_run(loud, s, "HLT disabled on the other vCPU"),
			       "HLT disabled on the other vCPU");
	vm_destroy(vm);
}

TEST_CONTROL(vcpu_scope_toggle, 11, "no_vcpu_scope", "-",
	     "the per-vCPU probe's EINVAL is taken as support",
	     "per-vCPU KVM_ENABLE_CAP\\(KVM_CAP_X86_DISABLE_EXITS, HLT\\) on vCPU 0: expected success, got Invalid argument");
TEST_CASE(vcpu_scope_toggle,
	  "per-vCPU: disable, then OVERRIDE alone re-enables all exits, then HLT|OVERRIDE disables again; each round follows")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu;

	require_vcpu_scope();
	vm = vm_create_irqchip();
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	vcpu_disable_exits(vcpu, HLT);
	expect_hlt_in_guest(vcpu, halt_round_run(vcpu, s, "HLT"), "HLT");
	vcpu_disable_exits(vcpu, OVERRIDE);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "OVERRIDE alone"), "OVERRIDE alone");
	/* Without OVERRIDE bits only add: an empty mask changes nothing. */
	vcpu_disable_exits(vcpu, 0);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "empty mask"), "empty mask");
	vcpu_disable_exits(vcpu, HLT | OVERRIDE);
	expect_hlt_in_guest(vcpu, halt_round_run(vcpu, s, "HLT|OVERRIDE"), "HLT|OVERRIDE");
	vm_destroy(vm);
}

/*
 * MWAIT and PAUSE per vCPU: the series reprograms their intercepts (SVM:
 * MONITOR/MWAIT and the PAUSE filter; VMX: MONITOR/MWAIT exiting and
 * pause-loop exiting) on a vCPU that has already run, in both directions.
 */
TEST_CONTROL(vcpu_scope_mwait_toggle, 14, "passes", "-",
	     "the per-vCPU call that disables MWAIT exits passes an empty mask",
	     "MWAIT disabled on this vCPU: MWAIT exits are disabled: expected far fewer exits");
TEST_CASE(vcpu_scope_mwait_toggle,
	  "per-vCPU: MONITOR/MWAIT exit, stop exiting once the vCPU disables MWAIT exits, and exit again after OVERRIDE alone")
{
	struct vm *vm;
	struct vcpu *vcpu;

	require_vcpu_scope();
	require_disable_exits_offered(MWAIT);
	vm = vm_create_irqchip();
	vcpu = mwait_add_vcpu(vm, 0, nr_mwaits);
	expect_mwait_intercepted(mwait_round_run(vcpu, "default"), nr_mwaits, "default");
	vcpu_disable_exits(vcpu, test_negative_control(NC_VCPU_CALL_EMPTY) ? 0 : MWAIT);
	expect_mwait_in_guest(mwait_round_run(vcpu, "MWAIT disabled on this vCPU"), nr_mwaits,
			      "MWAIT disabled on this vCPU");
	vcpu_disable_exits(vcpu, OVERRIDE);
	expect_mwait_intercepted(mwait_round_run(vcpu, "OVERRIDE alone"), nr_mwaits,
				 "OVERRIDE alone");
	vm_destroy(vm);
}

TEST_CONTROL(vcpu_scope_pause_toggle, 14, "passes", "-",
	     "the per-vCPU call that disables PAUSE exits passes an empty mask",
	     "PAUSE disabled on this vCPU: PAUSE exits are disabled, so a PAUSE loop should exit about as often as a plain loop: expected fewer than [0-9]+ extra exits");
TEST_CASE(vcpu_scope_pause_toggle,
	  "per-vCPU: a PAUSE loop exits more than a plain loop, no more once the vCPU disables PAUSE exits, and more again after OVERRIDE alone")
{
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t intercepted;

	require_vcpu_scope();
	require_kvm_cap(KVM_CAP_GET_TSC_KHZ);
	require_disable_exits_offered(PAUSE);
	vm = vm_create_irqchip();
	vcpu = pause_spin_add_vcpu(vm, 0, spin_ms);
	intercepted = require_pause_exits_observable(pause_spin_run(vcpu, "default"), spin_ms,
						     "by default");
	vcpu_disable_exits(vcpu, test_negative_control(NC_VCPU_CALL_EMPTY) ? 0 : PAUSE);
	expect_pause_in_guest(pause_spin_run(vcpu, "PAUSE disabled on this vCPU"), intercepted,
			      "PAUSE disabled on this vCPU");
	vcpu_disable_exits(vcpu, OVERRIDE);
	expect_pause_intercepted(pause_spin_run(vcpu, "OVERRIDE alone"), "OVERRIDE alone");
	vm_destroy(vm);
}

TEST_CASE(vcpu_inherits_vm_setting,
	  "per-vCPU: vCPUs created after the VM-wide setting inherit it, and OVERRIDE on one vCPU changes only that vCPU")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *kept, *overridden;

	require_vcpu_scope();
	vm = vm_with_disabled_exits(HLT);
	s = halt_rounds_create(vm, nr_halts, wake_us);
	kept = halt_rounds_add_vcpu(vm, 0, s);
	overridden = halt_rounds_add_vcpu(vm, 1, s);
	expect_hlt_in_guest(kept, halt_round_run(kept, s, "inherited"), "inherited");
	expect_hlt_in_guest(overridden, halt_round_run(overridden, s, "inherited"), "inherited");
	vcpu_disable_exits(overridden, OVERRIDE);
	expect_hlt_intercepted(overridden, halt_round_run(overridden, s, "OVERRIDE on this vCPU"),
			       "OVERRIDE on this vCPU");
	expect_hlt_in_guest(kept, halt_round_run(kept, s, "OVERRIDE on the other vCPU"),
			    "OVERRIDE on the other vCPU");
	vm_destroy(vm);
}

/*
 * VM scope with the series, before any vCPU: without OVERRIDE bits only add;
 * with it the mask is the VM's whole setting (1 = exit disabled), which the
 * vCPUs created afterwards take over. The second VM also catches the posted
 * "mask &= MWAIT" slip: where MWAIT may not be passed through it turns every
 * call into a no-op, so HLT|OVERRIDE would leave HLT intercepted.
 */
TEST_CONTROL(vm_scope_override, 11, "no_vcpu_scope", "-",
	     "the per-vCPU probe's EINVAL is taken as support",
	     "KVM_ENABLE_CAP\\(KVM_CAP_X86_DISABLE_EXITS, OVERRIDE\\) before any vCPU exists: expected success .*, got Invalid argument");
TEST_CASE(vm_scope_override,
	  "VM scope, proposed: before any vCPU, HLT then OVERRIDE alone leaves HLT intercepted, and HLT|OVERRIDE disables it")
{
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu;

	require_vcpu_scope();
	vm = vm_with_disabled_exits(HLT);
	vm_disable_exits_before_vcpus(vm, OVERRIDE);
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "VM: HLT, then OVERRIDE alone"),
			       "VM: HLT, then OVERRIDE alone");
	vm_destroy(vm);

	vm = vm_with_disabled_exits(HLT | OVERRIDE);
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_hlt_in_guest(vcpu, halt_round_run(vcpu, s, "VM: HLT|OVERRIDE"), "VM: HLT|OVERRIDE");
	vm_destroy(vm);
}

static void expect_vcpu_refused(struct vcpu *vcpu, uint64_t mask, uint32_t flags, const char *why)
{
	int r = __vcpu_disable_exits(vcpu, mask, flags);

	TEST_ASSERT(r == -EINVAL, "per-vCPU KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, %s, flags "
		    "0x%x) (%s): expected EINVAL, got %s", disable_exits_names(mask), flags, why,
		    r ? strerror(-r) : "success");
}

TEST_CASE(vcpu_scope_bad_input,
	  "per-vCPU: nonzero flags, unoffered and unknown bits are refused with EINVAL and the vCPU keeps exiting")
{
	uint64_t unoffered = DISABLE_EXITS_KNOWN_BITS & ~kvm_disable_exits_offered();
	struct vm *vm;
	struct halt_rounds *s;
	struct vcpu *vcpu;

	require_vcpu_scope();
	vm = vm_create_irqchip();
	s = halt_rounds_create(vm, nr_halts, wake_us);
	vcpu = halt_rounds_add_vcpu(vm, 0, s);
	expect_vcpu_refused(vcpu, HLT, 1, "flags must be 0");
	if (unoffered)
		expect_vcpu_refused(vcpu, HLT | (unoffered & -unoffered), 0, "bit not offered");
	expect_vcpu_refused(vcpu, HLT | (1ull << 62), 0, "unknown bit");
	expect_hlt_intercepted(vcpu, halt_round_run(vcpu, s, "after refused calls"),
			       "after refused calls");
	vm_destroy(vm);
}
