/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPUs on host threads: start, join, kick out of KVM_RUN with a signal,
 * and place or move threads on host CPUs (CPUs and NUMA nodes from libnuma).
 */
#ifndef KVMTEST_THREADS_H
#define KVMTEST_THREADS_H

#include "vm.h"

/* Run fn(vcpu) on a new thread; vcpu->tid is valid when this returns. */
void vcpu_thread_start(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu));
void vcpu_thread_join(struct vcpu *vcpu);
/* Send the kick signal (SIGUSR1, handler installed by the harness, no
 * SA_RESTART): a thread inside KVM_RUN returns with EINTR. */
void vcpu_kick(struct vcpu *vcpu);
#define KICK_SIGNAL SIGUSR1

/* Host CPUs this process may use, in ascending order; returns the count. */
int host_cpus(int *cpus, int max);
/* NUMA node of a CPU (0 when libnuma says NUMA is unavailable). */
int host_cpu_node(int cpu);
int host_numa_nodes(void);
/* Pin a thread (by tid) to one CPU; returns 0 or -errno. */
int thread_pin(pid_t tid, int cpu);
/* Let a thread run on any CPU of this process again. */
int thread_unpin(pid_t tid);

#endif
