// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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
	char name[16];

	/* Named for ps -L and for scripts that find a case's threads
	 * (lib/tests/check_cpu_stall.sh). */
	snprintf(name, sizeof(name), "vcpu %u", vcpu->id);
	prctl(PR_SET_NAME, name);
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

void vcpu_run_to_done(struct vcpu *vcpu, atomic_uint_fast64_t *signal_exits)
{
	for (;;) {
		struct guest_msg *msg;
		char what[256];
		int err;

		msg = vcpu_next_msg(vcpu, &err);
		if (msg && msg->type == GUEST_MSG_DONE)
			return;
		if (msg)
			test_fail("vCPU %u: unexpected GUEST_SYNC from %s:%u", vcpu->id, msg->file,
				  msg->line);
		if (err == EINTR) {
			if (signal_exits)
				atomic_fetch_add(signal_exits, 1);
			continue;
		}
		if (err)
			test_fail("vCPU %u: KVM_RUN failed: %s", vcpu->id, strerror(err));
		vcpu_describe_exit(vcpu, what, sizeof(what));
		test_fail("unexpected exit: %s", what);
	}
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

int thread_hold_cpu(struct cpu_hold *hold)
{
	int cpu = sched_getcpu(), ret;

	hold->cpu = -1;
	if (cpu < 0)
		return -errno;
	if (sched_getaffinity(0, sizeof(hold->allowed), &hold->allowed))
		return -errno;
	ret = thread_pin(gettid(), cpu);
	if (ret)
		return ret;
	hold->cpu = cpu;
	return cpu;
}

void thread_release_cpu(struct cpu_hold *hold)
{
	if (hold->cpu < 0)
		return;
	sched_setaffinity(0, sizeof(hold->allowed), &hold->allowed);
	hold->cpu = -1;
}

int64_t thread_run_delay_ns(pid_t tid)
{
	unsigned long long run_ns, wait_ns;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &run_ns, &wait_ns);
	fclose(f);
	return n == 2 ? (int64_t)wait_ns : -1;
}

void starvation_window_begin(struct starvation_window *w, const pid_t *tids, unsigned int n)
{
	unsigned int i;

	w->start_ns = now_ns();
	w->worst_overrun_ns = 0;
	w->n = n < STARVATION_MAX_THREADS ? n : STARVATION_MAX_THREADS;
	for (i = 0; i < w->n; i++) {
		w->tid[i] = tids[i];
		w->run_delay_ns[i] = thread_run_delay_ns(tids[i]);
	}
}

void starvation_sleep_us(struct starvation_window *w, uint64_t us)
{
	uint64_t start = now_ns(), took;

	usleep(us);
	took = now_ns() - start;
	if (took > us * 1000 && took - us * 1000 > w->worst_overrun_ns)
		w->worst_overrun_ns = took - us * 1000;
}

bool starvation_window_starved(const struct starvation_window *w, unsigned int i,
			       char *why, size_t len)
{
	uint64_t half = (now_ns() - w->start_ns) / 2;
	int64_t delay = -1;

	if (w->worst_overrun_ns > half) {
		snprintf(why, len, "the whole test stalled: a short sleep of the monitor overran "
			 "by %" PRIu64 " ms", w->worst_overrun_ns / 1000000);
		return true;
	}
	if (i < w->n && w->run_delay_ns[i] >= 0 && (delay = thread_run_delay_ns(w->tid[i])) >= 0 &&
	    (uint64_t)(delay - w->run_delay_ns[i]) > half) {
		snprintf(why, len, "its thread waited %" PRIu64 " ms for a CPU",
			 (uint64_t)(delay - w->run_delay_ns[i]) / 1000000);
		return true;
	}
	return false;
}
