// SPDX-License-Identifier: GPL-2.0
/*
 * The host's slowness, measured once per process, and the time limits
 * derived from it. See "Time limits" in include/host.h.
 *
 * The calibration does, three times, what every case does: create a VM
 * with one vCPU and run it to its first message, run a stretch of guest
 * code, make round trips to userspace, tear the VM down. Each part is
 * timed and divided by the same part at native speed; the slowness is the
 * largest of these ratios (a limit must cover the slowest kind of work a
 * case might be stuck in), the median of the three rounds, at least 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "ktest.h"
#include "vm.h"

#define CALIBRATION_ROUNDS      3
#define CALIBRATION_EXITS       200
#define CALIBRATION_WORK_LOOPS  200000
#define CALIBRATION_WORDS       2048            /* 16 KiB of guest memory */
#define TIME_SCALE_ENV          "KTEST_TIME_SCALE"
#define TIME_SCALE_MAX          1000            /* whole times slower */
#define CALIBRATION_TIMEOUT_S   120
/* No hang limit below this: a shared host deschedules threads for seconds. */
#define HOST_LIMIT_FLOOR_MS     5000
#define STRINGIFY_(x)           #x
#define STRINGIFY(x)            STRINGIFY_(x)

/*
 * The native figures. Set-up and exits: the fastest host the suite has
 * measured, a kvm_pvm host (make bench, 2026-11-21: VM set-up to the first
 * guest message 0.70 ms, teardown 0.45 ms, a port I/O round trip 7.5 us);
 * hardware-assisted KVM on a current CPU is no slower. Guest code: the
 * calibration's work loop run as ordinary host code on the AMD EPYC the
 * suite is developed on (2026-12-04): 0.33-0.37 ms, the faster end taken.
 */
#define NATIVE_SETUP_NS         1150000ull
#define NATIVE_EXIT_NS          7500ull
#define NATIVE_WORK_NS          330000ull

struct calibration_data {
	uint64_t words[CALIBRATION_WORDS];
	uint64_t result;
};

/*
 * Integer work over a 16 KiB buffer, the kind of code the suite's guests
 * run. Not inlined: the native figure was measured on this function's code.
 */
static __attribute__((noinline)) uint64_t host_speed_work(uint64_t *words, unsigned int loops)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (unsigned int i = 0; i < loops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		words[x % CALIBRATION_WORDS] += x;
	}
	return x;
}

static void calibration_guest(void *arg)
{
	struct calibration_data *d = arg;

	GUEST_SYNC(0);
	d->result = host_speed_work(d->words, CALIBRATION_WORK_LOOPS);
	GUEST_SYNC(1);
	for (unsigned int i = 0; i < CALIBRATION_EXITS; i++)
		GUEST_SYNC(2);
	GUEST_DONE();
}

struct calibration_round {
	uint64_t setup_ns, work_ns, exits_ns;
};

static void calibrate_once(struct calibration_round *r)
{
	uint64_t t0 = now_ns(), t1, t2, t3;
	struct calibration_data *d;
	struct vcpu *vcpu;
	struct vm *vm;

	vm = vm_create(NULL);
	d = vm_alloc(vm, sizeof(*d));
	vcpu = vcpu_add(vm, 0, calibration_guest, d);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), 0);
	t1 = now_ns();
	TEST_ASSERT_EQ(vcpu_sync(vcpu), 1);
	t2 = now_ns();
	for (unsigned int i = 0; i < CALIBRATION_EXITS; i++)
		TEST_ASSERT_EQ(vcpu_sync(vcpu), 2);
	vcpu_expect_done(vcpu);
	t3 = now_ns();
	vm_destroy(vm);
	/* Teardown belongs to the set-up's native figure. */
	r->setup_ns = (t1 - t0) + (now_ns() - t3);
	r->work_ns = t2 - t1;
	r->exits_ns = t3 - t2;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Library code is built without SSE (guests run it): tenths, not floats. */
static struct {
	bool done;
	unsigned int tenths;
	char how[256];
} speed;

static uint64_t ratio_tenths(uint64_t measured_ns, uint64_t native_ns)
{
	return (measured_ns * 10 + native_ns - 1) / native_ns;
}

static uint64_t median(uint64_t *v)
{
	qsort(v, CALIBRATION_ROUNDS, sizeof(*v), cmp_u64);
	return v[CALIBRATION_ROUNDS / 2];
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

/* KTEST_TIME_SCALE=F: a runner measured it once for all its binaries. */
static bool slowness_from_env(void)
{
	const char *s = getenv(TIME_SCALE_ENV), *p;
	uint64_t tenths = 0;

	if (!s || !*s)
		return false;
	/* N or N.D */
	for (p = s; *p >= '0' && *p <= '9' && tenths <= TIME_SCALE_MAX * 10; p++)
		tenths = tenths * 10 + (uint64_t)(*p - '0') * 10;
	if (p != s && *p == '.' && p[1] >= '0' && p[1] <= '9') {
		tenths += (uint64_t)(p[1] - '0');
		p += 2;
	}
	if (p == s || *p || tenths < 10 || tenths > TIME_SCALE_MAX * 10) {
		fprintf(stderr, "%s='%s': a number from 1 to %d with at most one decimal "
			"(how many times slower than native this host is)\n",
			TIME_SCALE_ENV, s, TIME_SCALE_MAX);
		exit(KSFT_USAGE);
	}
	speed.tenths = (unsigned int)tenths;
	snprintf(speed.how, sizeof(speed.how), "from %s", TIME_SCALE_ENV);
	return true;
}

static void measure_slowness(void)
{
	uint64_t setup[CALIBRATION_ROUNDS], work[CALIBRATION_ROUNDS], exits[CALIBRATION_ROUNDS];
	uint64_t worst[CALIBRATION_ROUNDS], tenths, m_setup, m_work, m_exits;

	for (int i = 0; i < CALIBRATION_ROUNDS; i++) {
		struct calibration_round r;

		calibrate_once(&r);
		setup[i] = ratio_tenths(r.setup_ns, NATIVE_SETUP_NS);
		work[i] = ratio_tenths(r.work_ns, NATIVE_WORK_NS);
		exits[i] = ratio_tenths(r.exits_ns, NATIVE_EXIT_NS * CALIBRATION_EXITS);
		worst[i] = max3(setup[i], work[i], exits[i]);
	}
	tenths = median(worst);
	tenths = tenths < 10 ? 10 : tenths > TIME_SCALE_MAX * 10 ? TIME_SCALE_MAX * 10 : tenths;
	speed.tenths = (unsigned int)tenths;
	m_setup = median(setup);
	m_work = median(work);
	m_exits = median(exits);
	snprintf(speed.how, sizeof(speed.how),
		 "measured: VM set-up %" PRIu64 ".%" PRIu64 "x, guest code %" PRIu64 ".%" PRIu64
		 "x, exits %" PRIu64 ".%" PRIu64 "x native, medians of %d",
		 m_setup / 10, m_setup % 10, m_work / 10, m_work % 10, m_exits / 10, m_exits % 10,
		 CALIBRATION_ROUNDS);
}

/*
 * The calibration runs in a child process, bounded like a case: a KVM that
 * cannot run this VM must end the binary with a reason, not hang it.
 */
static void measure_in_child(void)
{
	uint64_t deadline = now_ns() + CALIBRATION_TIMEOUT_S * 1000000000ull;
	size_t got = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) || (pid = fork()) < 0) {
		fprintf(stderr, "time-scale calibration: %s\n", strerror(errno));
		exit(KSFT_FAIL);
	}
	if (pid == 0) {
		close(p[0]);
		measure_slowness();
		if (write(p[1], &speed, sizeof(speed)) != (ssize_t)sizeof(speed))
			_exit(KSFT_FAIL);
		_exit(KSFT_PASS);
	}
	close(p[1]);
	while (got < sizeof(speed)) {
		int64_t left = (int64_t)(deadline - now_ns()) / 1000000;
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(p[0], (char *)&speed + got, sizeof(speed) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	if (got < sizeof(speed))
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (got < sizeof(speed)) {
		fprintf(stderr, "time-scale calibration: %s\n",
			WIFSIGNALED(status) ? "its VM did not finish within "
			STRINGIFY(CALIBRATION_TIMEOUT_S) " s" : "its VM failed (see above)");
		exit(KSFT_FAIL);
	}
}

unsigned int host_slowness_tenths(void)
{
	if (speed.done)
		return speed.tenths;
	if (!slowness_from_env()) {
		if (!host_kvm_open_error()) {
			measure_in_child();
		} else {
			/* Nothing will run: limits only need to be numbers. */
			speed.tenths = 10;
			snprintf(speed.how, sizeof(speed.how), "no usable /dev/kvm to measure it");
		}
	}
	speed.done = true;
	return speed.tenths;
}

const char *host_slowness_text(void)
{
	static char text[16];
	unsigned int tenths = host_slowness_tenths();

	snprintf(text, sizeof(text), "%u.%u", tenths / 10, tenths % 10);
	return text;
}

const char *host_slowness_how(void)
{
	host_slowness_tenths();
	return speed.how;
}

uint64_t host_limit_ms(uint64_t native_ms)
{
	uint64_t ms = (native_ms * host_slowness_tenths() + 9) / 10;

	return ms < HOST_LIMIT_FLOOR_MS ? HOST_LIMIT_FLOOR_MS : ms;
}

unsigned int host_limit_s(unsigned int native_s)
{
	return (unsigned int)(((uint64_t)native_s * host_slowness_tenths() + 9) / 10);
}
