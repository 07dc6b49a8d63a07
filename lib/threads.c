// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "threads.h"

struct thread_start {
	struct vcpu *vcpu;
	atomic_int ready;
};

static void *vcpu_thread_main(void *p)
{
	struct thread_start *start = p;
	struct vcpu *vcpu = start->vcpu;

	vcpu->tid = gettid();
	atomic_store(&start->ready, 1);
	vcpu->thread_fn(vcpu);
	return NULL;
}

void vcpu_thread_start(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu))
{
	struct thread_start start = { .vcpu = vcpu };
	int r;

	vcpu->thread_fn = fn;
	r = pthread_create(&vcpu->thread, NULL, vcpu_thread_main, &start);
	TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	while (!atomic_load(&start.ready))
		sched_yield();
	vcpu->thread_started = true;
}

void vcpu_thread_join(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

void vcpu_kick(struct vcpu *vcpu)
{
	pthread_kill(vcpu->thread, KICK_SIGNAL);
}

int host_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int cpu, n = 0;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "sched_getaffinity: %s",
		    strerror(errno));
	for (cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

int host_numa_nodes(void)
{
	return numa_available() < 0 ? 1 : numa_max_node() + 1;
}

int host_cpu_node(int cpu)
{
	int node;

	if (numa_available() < 0)
		return 0;
	node = numa_node_of_cpu(cpu);
	return node < 0 ? 0 : node;
}

int thread_pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

int thread_unpin(pid_t tid)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}
