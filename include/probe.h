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

/* Running kernel release (uname -r) and a version comparison. */
const char *kernel_release(void);
bool kernel_is_at_least(int major, int minor);
/* The same test on any release string ("6.12.57+deb13-amd64"). */
bool release_is_at_least(const char *release, int major, int minor);

#endif
