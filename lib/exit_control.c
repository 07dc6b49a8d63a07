// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_X86_DISABLE_EXITS at VM and (proposed) vCPU scope, the guest-debug
 * control word, and the known-release rule. See include/exit_control.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exit_control.h"
#include "probe.h"

uint64_t kvm_disable_exits_offered(void)
{
	return (uint64_t)kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS);
}

int __vm_disable_exits(struct vm *vm, uint64_t mask)
{
	struct kvm_enable_cap ec = { .cap = KVM_CAP_X86_DISABLE_EXITS, .args[0] = mask };
	long r = __vm_ioctl(vm, KVM_ENABLE_CAP, &ec);

	return r < 0 ? (int)r : 0;
}

int __vcpu_disable_exits(struct vcpu *vcpu, uint64_t mask, uint32_t flags)
{
	struct kvm_enable_cap ec = {
		.cap = KVM_CAP_X86_DISABLE_EXITS, .flags = flags, .args[0] = mask,
	};
	long r = __vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &ec);

	return r < 0 ? (int)r : 0;
}

const char *disable_exits_str(uint64_t mask, char *buf, size_t len)
{
	static const char *const names[] = { "MWAIT", "HLT", "PAUSE", "CSTATE", "APERFMPERF" };
	size_t n = 0;
	int bit;

	buf[0] = '\0';
	for (bit = 0; bit < 64 && n < len; bit++) {
		if (!(mask & (1ull << bit)))
			continue;
		if (bit < (int)(sizeof(names) / sizeof(names[0])))
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", names[bit]);
		else if (1ull << bit == KVM_X86_DISABLE_EXITS_OVERRIDE)
			n += snprintf(buf + n, len - n, "%sOVERRIDE", n ? "|" : "");
		else
			n += snprintf(buf + n, len - n, "%sbit%d", n ? "|" : "", bit);
	}
	if (!mask)
		snprintf(buf, len, "none");
	return buf;
}

const char *disable_exits_names(uint64_t mask)
{
	static char buf[4][160];
	static int next;

	next = (next + 1) % 4;
	return disable_exits_str(mask, buf[next], sizeof(buf[next]));
}

void require_disable_exits_offered(uint64_t bits)
{
	uint64_t have = kvm_disable_exits_offered();

	if ((have & bits) == bits)
		return;
	if ((bits & (KVM_X86_DISABLE_EXITS_HLT | KVM_X86_DISABLE_EXITS_CSTATE)) &&
	    module_param_enabled("kvm", "mitigate_smt_rsb"))
		test_skip("KVM does not offer disabling %s exits: module parameter "
			  "kvm.mitigate_smt_rsb is on (offered: %s)", disable_exits_names(bits & ~have),
			  disable_exits_names(have));
	test_skip("KVM does not offer disabling %s exits (KVM_CHECK_EXTENSION("
		  "KVM_CAP_X86_DISABLE_EXITS) = 0x%" PRIx64 ": %s)", disable_exits_names(bits & ~have),
		  have, disable_exits_names(have));
}

struct vm *vm_create_irqchip(void)
{
	struct vm_options opts = { .irqchip = true };

	return vm_create(&opts);
}

void vm_disable_exits_before_vcpus(struct vm *vm, uint64_t mask)
{
	int r = __vm_disable_exits(vm, mask);

	TEST_ASSERT(!r, "KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, %s) before any vCPU exists: "
		    "expected success (offered: %s), got %s", disable_exits_names(mask),
		    disable_exits_names(kvm_disable_exits_offered()), strerror(-r));
}

struct vm *vm_with_disabled_exits(uint64_t mask)
{
	struct vm *vm = vm_create_irqchip();

	if (mask)
		vm_disable_exits_before_vcpus(vm, mask);
	return vm;
}

const char *pause_exiting_params(void)
{
	static char buf[256];
	char a[32] = "?", b[32] = "?";
	const char *vendor = kvm_vendor_module();

	if (vendor && !strcmp(vendor, "kvm_amd")) {
		module_param_read("kvm_amd", "pause_filter_count", a, sizeof(a));
		module_param_read("kvm_amd", "pause_filter_thresh", b, sizeof(b));
		snprintf(buf, sizeof(buf), "kvm_amd.pause_filter_count=%s, pause_filter_thresh=%s; "
			 "0 means no pause filter", a, b);
	} else if (vendor && !strcmp(vendor, "kvm_intel")) {
		module_param_read("kvm_intel", "ple_gap", a, sizeof(a));
		module_param_read("kvm_intel", "ple_window_grow", b, sizeof(b));
		/* Each PLE exit multiplies the window by ple_window_grow (up to
		 * ple_window_max), so one spin loop sees only a few exits
		 * (measured under Bochs: 7 in 20 ms; 300 with a grow of 1). */
		snprintf(buf, sizeof(buf), "kvm_intel.ple_gap=%s, 0 means no pause-loop exiting; "
			 "ple_window_grow=%s, above 1 the window grows at each exit, so a loop sees "
			 "few (kvm_intel.ple_window_grow=1 keeps it)", a, b);
	} else {
		snprintf(buf, sizeof(buf), "vendor module %s has no known PAUSE-loop exiting parameter",
			 vendor ? vendor : "unknown");
	}
	return buf;
}

bool kvm_has_vcpu_disable_exits(char *why, size_t len)
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, NULL, NULL);
	int r = __vcpu_disable_exits(vcpu, 0, 0);

	vm_destroy(vm);
	if (!r)
		return true;
	snprintf(why, len, "KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, 0) on a vCPU fd failed with %s",
		 r == -EINVAL ? "EINVAL" : strerror(-r));
	return false;
}

int __vcpu_set_guest_debug(struct vcpu *vcpu, uint32_t control)
{
	struct kvm_guest_debug dbg = { .control = control };
	long r = __vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);

	return r < 0 ? (int)r : 0;
}


void skip_if_vendor_deviates(const char *fmt, ...)
{
	const char *vendor = kvm_vendor_module();
	char what[320];
	va_list ap;

	if (!vendor || !strcmp(vendor, "kvm_intel") || !strcmp(vendor, "kvm_amd"))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	test_skip("vendor module %s deviates from upstream KVM: %s", vendor, what);
}
