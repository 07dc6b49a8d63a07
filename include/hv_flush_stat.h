/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a vCPU's tlb_flush statistic gains when it processes the Hyper-V PV
 * flush requests queued for it while it stayed out of KVM_RUN, per kernel
 * release and vendor. The exact count is the evidence that KVM processed
 * every entry (and every page of a range) it was given; accepting "it
 * flushed at all" where KVM counts per entry would throw that away.
 *
 * The models, from Debian's source of 6.1, 6.12 and 7.2 (the reading is
 * spelled out in lib/hv_flush_stat.c):
 * - PER_ENTRY: with the 6.2 FIFO series and two-dimensional paging, the
 *   target takes its queued GVA entries one by one, flushing each page of
 *   an entry through the vendor's flush_tlb_gva hook and counting +1 per
 *   entry, until a "flush all" entry, which ends the batch in one full
 *   flush (+1). Intel EPT, and AMD NPT up to 6.12.
 * - ONE: any non-empty batch costs exactly one full flush (+1). KVM before
 *   the FIFO series (e.g. 6.1) turns every call into a request for a full
 *   guest TLB flush, and requests to a parked vCPU coalesce; AMD NPT from
 *   7.2 on no longer trusts INVLPGA, so the first entry flushes everything
 *   and ends the batch.
 * - PER_ENTRY_OR_ONE: AMD NPT on 6.13 to 7.1, between the last release read
 *   with per-entry INVLPGA (6.12) and the first read with the full flush
 *   (7.2): either count is accepted and the case says which it saw.
 * - ANY: no exact model (shadow paging, where the guest's own PTE writes
 *   can add flushes; another vendor module such as kvm_pvm): only ">= 1".
 *
 *   struct hv_flush_stat m = hv_flush_stat_model(vcpu);
 *   ... park the target, queue 4 GVA entries for it, let it run ...
 *   TEST_ASSERT(hv_flush_stat_fits(&m, 4, delta, &expected), ...);
 */
#ifndef KVMTEST_HV_FLUSH_STAT_H
#define KVMTEST_HV_FLUSH_STAT_H

#include "threads.h"
#include "vm.h"

enum hv_flush_stat_model {
	HV_FLUSH_STAT_ANY,
	HV_FLUSH_STAT_PER_ENTRY,
	HV_FLUSH_STAT_ONE,
	HV_FLUSH_STAT_PER_ENTRY_OR_ONE,
};

struct hv_flush_stat {
	enum hv_flush_stat_model model;
	const char *why;        /* the evidence, for diagnostics */
};

/* The model for this host's KVM and vcpu's VM (Hyper-V enabled on it). */
struct hv_flush_stat hv_flush_stat_model(struct vcpu *vcpu);
/* The same from what it is decided by (for the library's unit tests). */
struct hv_flush_stat_host {
	const char *release;    /* uname -r */
	bool intel_ept, amd_npt;
	bool fifo_series;       /* KVM offers HV_FEATURE_EXT_GVA_RANGES_FLUSH */
};
struct hv_flush_stat hv_flush_stat_model_for(const struct hv_flush_stat_host *h);

/*
 * `per_entry`: what a batch counts when processed entry by entry (each GVA
 * entry before the first "flush all", +1 for that fallback), 0 if nothing
 * was queued. Returns whether `delta` fits the model, and the exact delta
 * expected in *expected (for PER_ENTRY_OR_ONE: the per-entry count; for
 * ANY: 1, the least a non-empty batch must show).
 */
bool hv_flush_stat_fits(const struct hv_flush_stat *m, uint64_t per_entry, uint64_t delta,
			uint64_t *expected);
/* "one per GVA entry, +1 per flush-all fallback", ... for messages. */
const char *hv_flush_stat_model_name(enum hv_flush_stat_model model);

/*
 * KVM counts flushes of its own in the same statistic. The one that can
 * fall between the two reads of a count: kvm_intel flushes all of a vCPU's
 * contexts when the vCPU is loaded on another host CPU than last time
 * (vmx_vcpu_load_vmcs(), a KVM_REQ_TLB_FLUSH; seen under Bochs as +1 where
 * 0 was expected). The vCPUs of a count run on the calling thread: this
 * holds it on its CPU from before the vCPUs' first entry to the last read
 * (thread_release_cpu() ends it), and says so when it cannot.
 */
void hv_flush_stat_hold_cpu(struct cpu_hold *hold, const char *what);

/*
 * Where a control that makes the per-entry count wrong can fail: this probe
 * passes only where hyperv/tlb_flush's list_each_gva found the per-entry
 * model (it prints "# tlb_flush model: NAME (why)" on every host, NAME from
 * hv_flush_stat_model_name(); every other model's name starts with one of
 * the words below). Declared in each binary whose controls need it.
 */
#define HV_FLUSH_STAT_PER_ENTRY_PROBE()                                        \
	TEST_CONTROL_PROBE(per_entry_stat, "hyperv/tlb_flush", "list_each_gva", "-", \
			   "pass-without ^# tlb_flush model: (one full flush|either|no exact)")

#endif
