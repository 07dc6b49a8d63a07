// SPDX-License-Identifier: GPL-2.0
/* Halt-polling, halt statistics, the wakeup path. See include/halt.h. */
#include <inttypes.h>

#include "cpuid.h"
#include "halt.h"
#include "ktest.h"
#include "probe.h"
#include "stats.h"

/* CPUID 0x8000000A EDX[30]: the Idle HLT intercept. */
#define SVM_FEATURES_LEAF  0x8000000a
#define SVM_IDLE_HLT_BIT   30
#define MAX_EXTENDED_LEAF  0x80000000

bool vm_clock_updates_kick_vcpus(struct vm *vm)
{
	struct kvm_clock_data clock = { 0 };

	if (__vm_ioctl(vm, KVM_GET_CLOCK, &clock) || (clock.flags & KVM_CLOCK_TSC_STABLE))
		return false;
	test_diag("KVM keeps no master clock for this VM (KVM_GET_CLOCK flags 0x%x, no "
		  "KVM_CLOCK_TSC_STABLE): a vCPU loaded on another CPU makes it kick every vCPU to "
		  "update its kvmclock, so here a wakeup KVM loses can end as a delay of ~100 ms "
		  "instead of a lost wakeup (on 7.2 only while another vCPU runs and moves)",
		  clock.flags);
	return true;
}

void vm_set_halt_poll(struct vm *vm, enum halt_poll_setting setting, uint64_t window_ns)
{
	char def[32] = "?";

	switch (setting) {
	case HALT_POLL_HOST_DEFAULT:
		module_param_read("kvm", "halt_poll_ns", def, sizeof(def));
		test_diag("halt-polling: host default (kvm.halt_poll_ns = %s)", def);
		break;
	case HALT_POLL_OFF:
		require_vm_cap(vm, KVM_CAP_HALT_POLL);
		vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);
		test_diag("halt-polling: off (KVM_CAP_HALT_POLL = 0)");
		break;
	case HALT_POLL_WINDOW:
		require_vm_cap(vm, KVM_CAP_HALT_POLL);
		vm_enable_cap(vm, KVM_CAP_HALT_POLL, window_ns);
		test_diag("halt-polling: up to %" PRIu64 " us (KVM_CAP_HALT_POLL)",
			  window_ns / 1000);
		break;
	}
}

void halt_stats_read(struct vcpu *vcpu, struct halt_stats *st)
{
	st->exits = vcpu_stat(vcpu, "halt_exits");
	st->poll_ok = vcpu_stat(vcpu, "halt_successful_poll");
	st->poll_tried = vcpu_stat(vcpu, "halt_attempted_poll");
	st->poll_invalid = vcpu_stat(vcpu, "halt_poll_invalid");
	st->wakeup = vcpu_stat(vcpu, "halt_wakeup");
	st->injections = vcpu_stat(vcpu, "irq_injections");
}

void halt_stats_since(struct vcpu *vcpu, const struct halt_stats *before,
		      struct halt_stats *delta)
{
	struct halt_stats now;

	halt_stats_read(vcpu, &now);
	delta->exits = now.exits - before->exits;
	delta->poll_ok = now.poll_ok - before->poll_ok;
	delta->poll_tried = now.poll_tried - before->poll_tried;
	delta->poll_invalid = now.poll_invalid - before->poll_invalid;
	delta->wakeup = now.wakeup - before->wakeup;
	delta->injections = now.injections - before->injections;
}

bool host_may_skip_hlt_exits(void)
{
	const char *mod = kvm_vendor_module();
	uint32_t regs[4];

	if (!mod || strcmp(mod, "kvm_amd") || !host_cpu_is_amd())
		return false;
	cpuid_count(MAX_EXTENDED_LEAF, 0, regs);
	if (regs[CPUID_EAX] < SVM_FEATURES_LEAF)
		return false;
	cpuid_count(SVM_FEATURES_LEAF, 0, regs);
	return regs[CPUID_EDX] & BIT(SVM_IDLE_HLT_BIT);
}

const char *kvm_wakeup_path(char *buf, size_t len)
{
	const char *mod = kvm_vendor_module();

	if (mod && !strcmp(mod, "kvm_intel")) {
		bool apicv = module_param_enabled("kvm_intel", "enable_apicv");
		bool ipiv = module_param_enabled("kvm_intel", "enable_ipiv");

		snprintf(buf, len, "%s (kvm_intel enable_apicv=%c enable_ipiv=%c)",
			 apicv && ipiv ? "posted interrupts; IPIs to blocked vCPUs raise the PI "
					 "wakeup vector" :
			 apicv ? "posted interrupts for running vCPUs; blocked vCPUs get the "
				 "generic kick (no IPIv, no assigned device)" :
				 "generic kvm_vcpu_kick", apicv ? 'Y' : 'N', ipiv ? 'Y' : 'N');
	} else if (mod && !strcmp(mod, "kvm_amd")) {
		bool avic = module_param_enabled("kvm_amd", "avic");

		snprintf(buf, len, "%s (kvm_amd avic=%c)",
			 avic ? "AVIC doorbell for running vCPUs; blocked vCPUs are woken by KVM "
				"(GA log / kick)" : "generic kvm_vcpu_kick", avic ? 'Y' : 'N');
	} else {
		snprintf(buf, len, "generic kvm_vcpu_kick (vendor module %s: no posted interrupts)",
			 mod ? mod : "unknown");
	}
	return buf;
}
