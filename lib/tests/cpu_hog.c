// SPDX-License-Identifier: GPL-2.0
/*
 * A CPU that runs nothing of anyone else's: spins on --cpu at real-time
 * priority (SCHED_FIFO 1) for --ms milliseconds. With the kernel's
 * real-time throttling off (/proc/sys/kernel/sched_rt_runtime_us -1) the
 * CPU then runs only this and interrupts. check_cpu_stall.sh uses it to
 * stall the CPU of a case's pinned threads for longer than the lost-wakeup
 * monitor's bound. Skips where the CPU or the priority cannot be had.
 */
#include <errno.h>
#include <sched.h>

#include "ktest.h"

TEST_BINARY_WITHOUT_KVM();

static uint64_t hog_cpu;
static uint64_t hog_ms = 1000;
TEST_OPTION("cpu", hog_cpu, "the CPU to take");
TEST_OPTION("ms", hog_ms, "for how many milliseconds");

TEST_CASE(hog, "spins on one CPU at real-time priority for the time asked", .wait_s = 60)
{
	struct sched_param param = { .sched_priority = 1 };
	uint64_t until;
	cpu_set_t set;

	TEST_ASSERT(hog_cpu < CPU_SETSIZE && hog_ms >= 1 && hog_ms <= 60000,
		    "--cpu below %d and --ms from 1 to 60000", CPU_SETSIZE);
	CPU_ZERO(&set);
	CPU_SET(hog_cpu, &set);
	TEST_REQUIRE(!sched_setaffinity(0, sizeof(set), &set), "cannot run on CPU %" PRIu64 ": %s",
		     hog_cpu, strerror(errno));
	TEST_REQUIRE(!sched_setscheduler(0, SCHED_FIFO, &param), "cannot take SCHED_FIFO: %s",
		     strerror(errno));
	until = now_ns() + hog_ms * 1000000;
	while (now_ns() < until)
		;
}
