/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the host offers, beyond capabilities (see vm.h for those): module
 * parameters, kernel release, and the rule for behaviour that arrived in a
 * known release.
 */
#ifndef KVMTEST_PROBE_H
#define KVMTEST_PROBE_H

#include "vm.h"

/* /sys/module/<module>/parameters/<param>; 0 or -errno. */
int module_param_read(const char *module, const char *param, char *buf, size_t len);
/* "Y"/"y"/"1" → true; absent or anything else → false. */
bool module_param_enabled(const char *module, const char *param);
#define require_module_param(module, param)                                    \
	TEST_REQUIRE(module_param_enabled(module, param),                     \
		     "module parameter %s.%s is not enabled", module, param)
/* The vendor module that backs /dev/kvm: "kvm_intel", "kvm_amd", or the
 * first other loaded kvm_* module (e.g. "kvm_pvm"), or NULL. */
const char *kvm_vendor_module(void);

/*
 * Whether the first processor's "FIELD : word word ..." line of a cpuinfo
 * file (e.g. "flags", "bugs") lists WORD: 1 or 0; -1 when the file cannot be
 * read or has no such line. host_cpuinfo_lists() reads /proc/cpuinfo.
 */
int cpuinfo_lists(const char *path, const char *field, const char *word);
int host_cpuinfo_lists(const char *field, const char *word);

/* Whether the host CPU implements an MSR, from /dev/cpu/0/msr: 1 or 0; -1
 * if that cannot be read (no msr driver, no privilege). */
int host_has_msr(uint32_t index);

/* Running kernel release (uname -r) and a version comparison. */
const char *kernel_release(void);
bool kernel_is_at_least(int major, int minor);
/* The same test on any release string ("6.12.57+deb13-amd64"). */
bool release_is_at_least(const char *release, int major, int minor);

/*
 * The rule for behaviour that arrived in release major.minor, called when
 * the running kernel shows the OLD behaviour: on major.minor or newer this
 * is a failure; on an older kernel the case is skipped naming the release,
 * e.g. "rejecting after vCPU creation arrived in 6.14; this kernel is
 * 6.12.43 (KVM_ENABLE_CAP succeeded)". A kernel older than major.minor that
 * shows the NEW behaviour (a backport) simply passes the check.
 */
__attribute__((noreturn, format(printf, 6, 7)))
void __release_rule_old_behaviour(const char *file, int line, int major, int minor,
				  const char *behaviour, const char *fmt, ...);
#define release_rule_old_behaviour(major, minor, behaviour, ...)               \
	__release_rule_old_behaviour(__FILE__, __LINE__, major, minor, behaviour, __VA_ARGS__)

#endif
