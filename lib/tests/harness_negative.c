// SPDX-License-Identifier: GPL-2.0
/*
 * Negative controls for the harness: every case here MUST be reported as a
 * failure (or, for the last one, a skip). lib/tests/check_harness.sh runs
 * this binary and checks each verdict and its diagnostic; a case that
 * "passes" means the harness would hide real failures.
 *
 * Not part of the suite: it fails by design.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "vm.h"

#define HUNG_CASE_TIMEOUT_S 2
#define WATCHDOG_MS         300

static void guest_bad_assert(void *arg)
{
	uint64_t answer = 41;

	GUEST_ASSERT_EQ(answer, 42);
}

TEST_CASE(guest_assert, "a failing guest assertion is reported with its values")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_bad_assert, NULL);

	vcpu_expect_done(vcpu);
}

static void guest_ud2(void *arg)
{
	__asm__ volatile("ud2");
}

TEST_CASE(guest_exception, "an unexpected guest exception is reported with vector and RIP")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_ud2, NULL);

	vcpu_expect_done(vcpu);
}

static void guest_page_fault(void *arg)
{
	/* Canonical but never mapped by the library. */
	volatile uint64_t *p = (volatile uint64_t *)0x100000000000ull;

	(void)*p;
}

TEST_CASE(guest_page_fault, "an unexpected guest page fault is reported with CR2")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_page_fault, NULL);

	vcpu_expect_done(vcpu);
}

static void guest_spin_forever(void *arg)
{
	for (;;)
		cpu_relax();
}

TEST_CASE(hung_vcpu, "a vCPU that never returns ends as a timeout naming it",
	  .timeout = HUNG_CASE_TIMEOUT_S)
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_spin_forever, NULL);

	vcpu_expect_done(vcpu);
}

TEST_CASE(hung_vcpu_watchdog, "a vCPU silent past its message timeout fails the case")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_spin_forever, NULL);

	vcpu_set_msg_timeout(vcpu, WATCHDOG_MS);
	vcpu_expect_done(vcpu);
}

TEST_CASE(host_crash, "a crash of the host side is reported with the signal")
{
	volatile int *null = NULL;

	*null = 1;
}

TEST_CASE(host_assert, "a failing host assertion is reported with both values")
{
	int vcpus = 2;

	TEST_ASSERT_EQ(vcpus, 3);
}

TEST_CASE(unexpected_exit, "an exit the test did not expect is reported by name")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_spin_forever, NULL);

	vcpu->run->immediate_exit = 1;
	vcpu_expect_done(vcpu);
}

TEST_CASE(missing_capability, "a missing capability is a skip naming it")
{
	require_kvm_cap(0x7fffffff);
}

/*
 * A process that SIGKILL cannot end, as when KVM never lets a vCPU thread
 * out of KVM_RUN: the case freezes itself in a cgroup-v1 freezer (frozen
 * tasks ignore fatal signals until thawed). check_harness.sh makes the
 * cgroup, names it in HARNESS_NEGATIVE_FREEZER and thaws it afterwards.
 */
static void write_file(const char *dir, const char *file, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s to %s: %s",
		    text, path, strerror(errno));
	close(fd);
}

TEST_CASE(stress_silent, "a stress case that does not say how much stress it applied fails",
	  .stress = true)
{
}

TEST_CASE(unkillable, "a case whose process survives SIGKILL is reported with its stacks",
	  .timeout = HUNG_CASE_TIMEOUT_S)
{
	const char *cgroup = getenv("HARNESS_NEGATIVE_FREEZER");
	char pid[16];

	if (!cgroup || !*cgroup)
		test_skip("HARNESS_NEGATIVE_FREEZER names no cgroup-v1 freezer directory");
	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file(cgroup, "cgroup.procs", pid);
	write_file(cgroup, "freezer.state", "FROZEN");
	for (;;)
		pause();
}
