/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPUs on host threads: start, join, kick out of KVM_RUN with a signal,
 * and place or move threads on host CPUs (CPUs and NUMA nodes from libnuma).
 */
#ifndef KVMTEST_THREADS_H
#define KVMTEST_THREADS_H

#include <sched.h>
#include <stdatomic.h>

#include "vm.h"

/* Run fn(vcpu) on a new thread; vcpu->tid is valid when this returns. */
void vcpu_thread_start(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu));
void vcpu_thread_join(struct vcpu *vcpu);
/* On the vCPU's thread: run until the guest's GUEST_DONE. A signal that
 * ends KVM_RUN (EINTR) re-enters, counted in *signal_exits (may be NULL);
 * a GUEST_SYNC or any other exit fails the test. */
void vcpu_run_to_done(struct vcpu *vcpu, atomic_uint_fast64_t *signal_exits);
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
/*
 * Keep the calling thread on the CPU it runs on now, until
 * thread_release_cpu() gives it back the CPUs it had: for counts that a
 * move between CPUs would change. Returns that CPU, or -errno with nothing
 * held (release is then a no-op).
 */
struct cpu_hold {
	int cpu;                /* -1: nothing held */
	cpu_set_t allowed;      /* the affinity before */
};
int thread_hold_cpu(struct cpu_hold *hold);
void thread_release_cpu(struct cpu_hold *hold);

/*
 * Whether a "no progress within a window" verdict can be trusted. On a
 * shared host a thread may make no progress only because it got no CPU:
 * either the whole test was stalled (the monitor's own short sleeps overran,
 * as when the VM running the suite is descheduled by its host), or this
 * kernel left the thread waiting on a run queue (its run delay, from
 * /proc/self/task/TID/schedstat). A window in which either ate more than
 * half of it is "starved": not judged, and the caller needs another one.
 *
 *   starvation_window_begin(&w, tids, n);
 *   ... monitor loop: starvation_sleep_us(&w, 10000); ...
 *   if (no progress && !starvation_window_starved(&w, i, &why)) fail;
 */
#define STARVATION_MAX_THREADS 64
struct starvation_window {
	uint64_t start_ns;
	uint64_t worst_overrun_ns;      /* the monitor's longest sleep overrun */
	unsigned int n;
	pid_t tid[STARVATION_MAX_THREADS];
	int64_t run_delay_ns[STARVATION_MAX_THREADS];  /* at the start; -1 unknown */
};
void starvation_window_begin(struct starvation_window *w, const pid_t *tids, unsigned int n);
/* Sleep on the monitor thread, noting how much longer it took. */
void starvation_sleep_us(struct starvation_window *w, uint64_t us);
/* Thread i of the window was starved; why says how (for a diagnostic). */
bool starvation_window_starved(const struct starvation_window *w, unsigned int i,
			       char *why, size_t len);
/* A thread's time runnable but waiting for a CPU, in ns; -1 if unknown. */
int64_t thread_run_delay_ns(pid_t tid);

#endif
