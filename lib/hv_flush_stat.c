// SPDX-License-Identifier: GPL-2.0
/*
 * The tlb_flush statistic model (include/hv_flush_stat.h), and the source
 * reading behind each model:
 *
 * Before the FIFO series (Debian bookworm's 6.1.176, arch/x86/kvm/hyperv.c
 * kvm_hv_flush_tlb()): a flush call of any form sends its targets a request
 * for a full guest TLB flush and ignores the GVA list; a vCPU services a
 * pending request once, counting +1, however many calls raised it while it
 * stayed out of KVM_RUN. Such a KVM does not offer
 * HV_FEATURE_EXT_GVA_RANGES_FLUSH (6.2 added the bit with the FIFOs), which
 * is the evidence used here rather than the release, since distributions
 * backported the series to older kernels.
 *
 * With the FIFOs (6.2 on; read in 6.12.117 and 7.2.13), kvm_hv_vcpu_flush_tlb()
 * drains the target's FIFO: a "flush all" entry ends the batch in a full
 * flush (+1); otherwise each page of each GVA entry goes to the vendor's
 * flush_tlb_gva hook and each entry counts +1. It refuses (full flush, +1)
 * without two-dimensional paging.
 *
 * The vendor hooks: Intel's flushes one address by VPID (INVVPID), so the
 * count is per entry on every release. AMD's issued INVLPGA on the vCPU's
 * ASID in trixie's 6.12.117 (per entry). Sid's 7.2.13 uses INVLPGA only
 * under shadow paging; with NPT it flushes the whole ASID and reports
 * "full", which ends the batch at its first entry (+1 per batch, whatever
 * it holds): its comment cites INVLPGA errata on Genoa and Turin and Windows
 * guests crashing when Hyper-V flushes used it. Where that came from: not a
 * stable backport as far as Debian's changelogs show (trixie's lists the
 * 6.12.y stable commits, sid's those of 7.2.7 to 7.2.13; neither has it), so
 * a mainline release from 6.13 to 7.2. Which one was not pinned down: the
 * upstream commit was not found in the sources at hand, and Debian's archive
 * keeps no 6.13 to 7.1 source. Hence PER_ENTRY_OR_ONE on 6.13 to 7.1 and
 * ONE from 7.2. A kernel before 7.2 that carries the change (a distribution
 * backport) fails the per-entry count with +1, and the message says why.
 */
#include <string.h>

#include "hv_flush_stat.h"
#include "ktest.h"
#include "hyperv.h"
#include "probe.h"

/* AMD NPT: per entry up to here (the newest release read with INVLPGA)... */
#define AMD_PER_ENTRY_UNTIL_MAJOR 6
#define AMD_PER_ENTRY_UNTIL_MINOR 12
/* ... one full flush from here (the first release read without it). */
#define AMD_FULL_FROM_MAJOR 7
#define AMD_FULL_FROM_MINOR 2

struct hv_flush_stat hv_flush_stat_model_for(const struct hv_flush_stat_host *h)
{
	if (!h->intel_ept && !h->amd_npt)
		return (struct hv_flush_stat){ HV_FLUSH_STAT_ANY,
			"no kvm_intel.ept or kvm_amd.npt: shadow paging or another vendor module" };
	if (!h->fifo_series)
		return (struct hv_flush_stat){ HV_FLUSH_STAT_ONE,
			"KVM predates the 6.2 FIFO series (no HV_FEATURE_EXT_GVA_RANGES_FLUSH): "
			"every call requests a full flush, serviced once" };
	if (h->intel_ept)
		return (struct hv_flush_stat){ HV_FLUSH_STAT_PER_ENTRY,
			"Intel EPT: one INVVPID per page, counted per entry" };
	if (release_is_at_least(h->release, AMD_FULL_FROM_MAJOR, AMD_FULL_FROM_MINOR))
		return (struct hv_flush_stat){ HV_FLUSH_STAT_ONE,
			"AMD NPT from 7.2: no INVLPGA (errata), the first entry flushes the "
			"whole ASID and ends the batch" };
	if (!release_is_at_least(h->release, AMD_PER_ENTRY_UNTIL_MAJOR,
				 AMD_PER_ENTRY_UNTIL_MINOR + 1))
		return (struct hv_flush_stat){ HV_FLUSH_STAT_PER_ENTRY,
			"AMD NPT up to 6.12: INVLPGA per page, counted per entry" };
	return (struct hv_flush_stat){ HV_FLUSH_STAT_PER_ENTRY_OR_ONE,
		"AMD NPT on 6.13-7.1: the release that dropped INVLPGA (per entry in 6.12, "
		"one full flush in 7.2) is not pinned" };
}

struct hv_flush_stat hv_flush_stat_model(struct vcpu *vcpu)
{
	const char *module = kvm_vendor_module();
	struct hv_flush_stat_host h = {
		.release = kernel_release(),
		.intel_ept = module && !strcmp(module, "kvm_intel") &&
			     module_param_enabled("kvm_intel", "ept"),
		.amd_npt = module && !strcmp(module, "kvm_amd") &&
			   module_param_enabled("kvm_amd", "npt"),
		.fifo_series = kvm_hv_has(vcpu, HV_FEATURE_GVA_RANGES),
	};

	return hv_flush_stat_model_for(&h);
}

const char *hv_flush_stat_model_name(enum hv_flush_stat_model model)
{
	switch (model) {
	case HV_FLUSH_STAT_PER_ENTRY:        return "one per GVA entry, +1 per flush-all fallback";
	case HV_FLUSH_STAT_ONE:              return "one full flush per batch";
	case HV_FLUSH_STAT_PER_ENTRY_OR_ONE: return "either one per GVA entry or one full flush";
	case HV_FLUSH_STAT_ANY:              break;
	}
	return "no exact count, at least one flush";
}

bool hv_flush_stat_fits(const struct hv_flush_stat *m, uint64_t per_entry, uint64_t delta,
			uint64_t *expected)
{
	uint64_t one = per_entry ? 1 : 0;

	switch (m->model) {
	case HV_FLUSH_STAT_PER_ENTRY:
		*expected = per_entry;
		return delta == per_entry;
	case HV_FLUSH_STAT_ONE:
		*expected = one;
		return delta == one;
	case HV_FLUSH_STAT_PER_ENTRY_OR_ONE:
		*expected = per_entry;
		return delta == per_entry || delta == one;
	case HV_FLUSH_STAT_ANY:
		break;
	}
	*expected = one;
	return per_entry ? delta >= 1 : delta == 0;
}

void hv_flush_stat_hold_cpu(struct cpu_hold *hold, const char *what)
{
	int ret = thread_hold_cpu(hold);

	if (ret < 0)
		test_diag("%s: could not hold the vCPUs' thread on one CPU (%s): a vCPU moving "
			  "between CPUs adds KVM's own flushes to the counts", what, strerror(-ret));
}
