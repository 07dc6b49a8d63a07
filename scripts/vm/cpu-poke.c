/*
 * cpu-poke: every CPU of the VM is sent an interrupt by another CPU once a
 * second, for as long as this runs (the VM's init runs it beside the suite
 * under QEMU 7.2's single-threaded TCG only; vm-run decides).
 *
 * Why: there a halted CPU can hold a deliverable vector in its local APIC
 * without the interrupt request that would wake it (docs/emulators.md, "A
 * pending interrupt nothing delivers"). Any new interrupt to that CPU makes
 * QEMU raise the request, and the stuck vector is delivered with it. Left
 * alone, an idle CPU waited 79 s once. The interrupt sent here is the
 * scheduler's IPI that wakes a thread on another CPU: it wakes no vCPU
 * thread, since those sleep until KVM itself wakes them.
 *
 * How: a thread pinned to each CPU waits on its own pipe until its next
 * second is due, then writes a byte to the next CPU's pipe. Writing wakes
 * that CPU's thread, which the kernel does with an IPI to that CPU when it
 * is idle. A thread that runs more than LATE_MS after its second was due
 * did not run on its CPU for that long (the CPU ran nothing, or other work
 * held it): it says so on /dev/kmsg, where the host's console-check finds
 * it.
 *
 *   cpu-poke [--log FILE]   runs until killed; prints one line when it
 *                           starts; says what was late in FILE (default
 *                           /dev/kmsg)
 *
 * Built statically by scripts/vm/mkinitramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_MS 1000
#define LATE_MS   1000
#define MAX_CPUS  64

static int nr_cpus;
static long long start_ms;
static int pipes[MAX_CPUS][2];
static int kmsg = -1;     /* where what was late is said */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *poker(void *arg)
{
	int cpu = (int)(long)arg, next = (cpu + 1) % nr_cpus;
	long long due;
	cpu_set_t set;
	char buf[256];

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "cpu-poke: cannot pin a thread to CPU %d: %s\n", cpu, strerror(errno));
		return NULL;
	}
	/*
	 * Above any real-time work on its CPU: check_cpu_stall.sh's hog spins
	 * at SCHED_FIFO 1 with the kernel's throttling off, and a poker held
	 * off its CPU leaves the next CPU without its poke for as long. There
	 * a halted CPU that missed its wakeup (the fault this works around)
	 * stayed asleep for the hog's whole 3 s, the lost-wakeup monitor on it
	 * with it. The poke takes microseconds a second. Where the priority is
	 * not to be had, the poker runs as any thread.
	 */
	struct sched_param param = { .sched_priority = sched_get_priority_max(SCHED_FIFO) };

	sched_setscheduler(0, SCHED_FIFO, &param);
	/* The CPUs' seconds are spread over the second, so that a poke comes
	 * between two timeouts of the thread it wakes, not with one. */
	due = start_ms + PERIOD_MS + (long long)cpu * PERIOD_MS / nr_cpus;
	for (;;) {
		struct pollfd pfd = { .fd = pipes[cpu][0], .events = POLLIN };
		long long wait = due - now_ms(), late;

		if (wait > 0 && poll(&pfd, 1, (int)wait) > 0) {
			while (read(pipes[cpu][0], buf, sizeof(buf)) > 0)
				;       /* the pokes of the CPU before: they only wake */
			continue;
		}
		if (wait > 0)
			continue;       /* EINTR, or woken just before the second */
		late = -wait;
		if (late > LATE_MS && kmsg >= 0) {
			int n = snprintf(buf, sizeof(buf),
					 "kvm-regress: cpu-poke: CPU %d: a %d ms wait ended %lld ms late: the CPU "
					 "ran nothing until then, or other work held it\n", cpu, PERIOD_MS, late);
			if (write(kmsg, buf, n) < 0)
				kmsg = -1;
		}
		if (write(pipes[next][1], "", 1) < 0 && errno != EAGAIN)
			fprintf(stderr, "cpu-poke: cannot poke CPU %d: %s\n", next, strerror(errno));
		due = (late > PERIOD_MS ? now_ms() : due) + PERIOD_MS;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *log = "/dev/kmsg";
	pthread_t t;
	int cpu;

	if (argc == 3 && !strcmp(argv[1], "--log")) {
		log = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: cpu-poke [--log FILE]\n");
		return 2;
	}

	nr_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nr_cpus < 2) {
		printf("kvm-regress: cpu-poke: %d CPU: no other CPU to poke it\n", nr_cpus);
		return 0;
	}
	if (nr_cpus > MAX_CPUS)
		nr_cpus = MAX_CPUS;
	kmsg = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (kmsg < 0)
		fprintf(stderr, "cpu-poke: %s: %s (what is late goes unsaid)\n", log, strerror(errno));
	for (cpu = 0; cpu < nr_cpus; cpu++)
		if (pipe2(pipes[cpu], O_NONBLOCK | O_CLOEXEC)) {
			fprintf(stderr, "cpu-poke: pipe: %s\n", strerror(errno));
			return 1;
		}
	start_ms = now_ms();
	for (cpu = 0; cpu < nr_cpus; cpu++)
		if (pthread_create(&t, NULL, poker, (void *)(long)cpu)) {
			fprintf(stderr, "cpu-poke: cannot start a thread for CPU %d\n", cpu);
			return 1;
		}
	printf("kvm-regress: cpu-poke: each of the %d CPUs is poked by the one before it once a second\n", nr_cpus);
	fflush(stdout);
	for (;;)
		pause();
}
