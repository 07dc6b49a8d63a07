// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_X86_DISABLE_EXITS at VM and (proposed) vCPU scope, the guest-debug
 * control word, and the known-release rule. See include/exit_control.h.
 */
#include <errno.h>
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
