/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM binary statistics (KVM_GET_STATS_FD): read one named VM or vCPU
 * statistic, e.g. vcpu_stat(vcpu, "halt_exits"). The descriptors are read
 * once per fd; each read is one pread().
 */
#ifndef KVMTEST_STATS_H
#define KVMTEST_STATS_H

#include "vm.h"

struct stats_cache;

/* Value of a statistic (the first bucket for histograms); the test fails if
 * the name does not exist. The __ variants return false instead. */
uint64_t vcpu_stat(struct vcpu *vcpu, const char *name);
uint64_t vm_stat(struct vm *vm, const char *name);
bool __vcpu_stat(struct vcpu *vcpu, const char *name, uint64_t *value);
bool __vm_stat(struct vm *vm, const char *name, uint64_t *value);
#define require_binary_stats() require_kvm_cap(KVM_CAP_BINARY_STATS_FD)

void stats_close(int fd, struct stats_cache *cache);

#endif
