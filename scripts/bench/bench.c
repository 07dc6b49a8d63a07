// SPDX-License-Identifier: GPL-2.0
/*
 * What the suite's library costs, next to the same operation done with the
 * fewest raw ioctls (the "floor"). Not a test of KVM behaviour: every case
 * passes once it has measured; the figures are the output. Run through
 * `make bench` (scripts/bench/bench.sh), which also times the whole suite
 * and writes results/bench.json.
 *
 * Each case prints, besides KTAP, one "# BENCH-JSON {...}" line per figure
 * and one "# BENCH-ROW |...|" markdown table row; the script collects them.
 *
 * Method: library and floor samples are taken alternately in one loop, so
 * both see the same machine noise. A figure ends at its iteration target or
 * its time budget (--iterations / --duration override both for every
 * figure), whichever comes first. Stability: the samples are cut, in time
 * order, into STABILITY_BLOCKS blocks; the spread of the block medians
 * relative to the overall median is printed (per mille), and a figure whose
 * spread exceeds STABLE_SPREAD_X1000 is marked unstable.
 *
 * Figure 6 is about the host, not the library: how late a host thread's
 * short sleep ends while vCPUs run, which sets the pace of every stress
 * case that sleeps between its steps.
 *
 * All arithmetic is integer (the suite is built with -mgeneral-regs-only):
 * times in ns, ratios and spreads in thousandths.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "apic.h"
#include "cpuid.h"
#include "threads.h"
#include "vcpu_runner.h"
#include "vm.h"

#define STABILITY_BLOCKS        5
#define STABLE_SPREAD_X1000     50      /* block medians within 5% of the median */
#define MIN_ITERATIONS          10      /* a figure never has fewer samples than this... */
#define MIN_BUDGET_NS           (UINT64_C(60) * NS_PER_S)  /* ...unless this much time passed */
#define NS_PER_S                UINT64_C(1000000000)
#define NS_PER_MS               UINT64_C(1000000)
#define NS_PER_US               UINT64_C(1000)

/* Per-figure defaults: iteration target and time budget (seconds). */
#define SETUP_ITERATIONS        400
#define SETUP_BUDGET_S          20
#define ROUNDTRIP_ITERATIONS    20000
#define ROUNDTRIP_BUDGET_S      10
#define KICK_ITERATIONS         2000
#define KICK_BUDGET_S           10
#define WAKEUP_ITERATIONS       2000
#define WAKEUP_BUDGET_S         10

/* Bounded waits: a step that takes longer than this means the vCPU thread
 * or the guest is stuck, and the case fails instead of hanging. */
#define STEP_TIMEOUT_NS         (UINT64_C(5) * NS_PER_S)
/* How long a "halted" vCPU has been asleep before it is kicked or sent an
 * IPI: beyond KVM's halt polling (halt_poll_ns, 200 us by default), so the
 * vCPU thread is really blocked in the kernel. */
#define HALT_SETTLE_US          1000
#define WAKEUP_VECTOR           0x40
#define KICK_IDLE_POLL_US       20      /* an idle vCPU thread checks for work this often */

/* ---- the floor: a raw real-mode VM ---------------------------------------- */

/*
 * A vCPU starts at the reset vector, CS base 0xffff0000, IP 0xfff0: one
 * 64 KiB memory slot at GPA 0xffff0000 holding a few bytes of code at its
 * offset 0xfff0 needs no register set-up at all.
 */
#define FLOOR_SLOT_GPA          0xffff0000ull
#define FLOOR_SLOT_SIZE         0x10000ull
#define FLOOR_RESET_OFFSET      0xfff0
#define FLOOR_COUNTER_OFFSET    0xf000  /* cs:0xf000, incremented by the spinning guest */

/* mov $GUEST_MSG_PORT, %dx; 1: out %al, (%dx); jmp 1b */
static const uint8_t floor_code_io[] = { 0xba, GUEST_MSG_PORT & 0xff, GUEST_MSG_PORT >> 8,
					 0xee, 0xeb, 0xfd };
/* 1: incw %cs:0xf000; jmp 1b */
static const uint8_t floor_code_spin[] = { 0x2e, 0xff, 0x06, FLOOR_COUNTER_OFFSET & 0xff,
					   FLOOR_COUNTER_OFFSET >> 8, 0xeb, 0xf9 };
/* cli; 1: hlt; jmp 1b */
static const uint8_t floor_code_halt[] = { 0xfa, 0xf4, 0xeb, 0xfd };

struct floor_vm {
	int vm_fd, vcpu_fd;
	uint8_t *mem;
	struct kvm_run *run;
	pthread_t thread;
};

static size_t floor_run_size;

static void floor_create(struct floor_vm *f, const uint8_t *code, size_t len, bool irqchip)
{
	struct kvm_userspace_memory_region region;
	int kvm = kvm_dev_fd();

	f->vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	TEST_ASSERT(f->vm_fd >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	f->mem = mmap(NULL, FLOOR_SLOT_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(f->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	memcpy(f->mem + FLOOR_RESET_OFFSET, code, len);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = FLOOR_SLOT_GPA, .memory_size = FLOOR_SLOT_SIZE,
		.userspace_addr = (uint64_t)f->mem,
	};
	TEST_ASSERT(!ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region),
		    "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	if (irqchip)
		TEST_ASSERT(!ioctl(f->vm_fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP: %s",
			    strerror(errno));
	f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(f->vcpu_fd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	if (!floor_run_size)
		floor_run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	f->run = mmap(NULL, floor_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu_fd, 0);
	TEST_ASSERT(f->run != MAP_FAILED, "mmap of kvm_run: %s", strerror(errno));
}

static void floor_destroy(struct floor_vm *f)
{
	munmap(f->run, floor_run_size);
	close(f->vcpu_fd);
	close(f->vm_fd);
	munmap(f->mem, FLOOR_SLOT_SIZE);
}

static void floor_expect_io(struct floor_vm *f)
{
	int r = ioctl(f->vcpu_fd, KVM_RUN, 0);

	TEST_ASSERT(!r && f->run->exit_reason == KVM_EXIT_IO &&
		    f->run->io.port == GUEST_MSG_PORT,
		    "floor guest: expected an I/O exit to port 0x%x, got KVM_RUN %d (%s), %s",
		    GUEST_MSG_PORT, r, r ? strerror(errno) : "ok",
		    exit_reason_name(f->run->exit_reason));
}

/* ---- samples and statistics (integers only) --------------------------------- */

struct series {
	uint64_t *ns;
	uint64_t n, cap;
};

struct stats {
	uint64_t n, median, p99, spread_x1000;
};

static void series_init(struct series *s, uint64_t cap)
{
	s->ns = calloc(cap, sizeof(*s->ns));
	TEST_ASSERT(s->ns, "out of memory for %" PRIu64 " samples", cap);
	s->n = 0;
	s->cap = cap;
}

static void series_add(struct series *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_of(uint64_t *v, uint64_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static struct stats series_stats(struct series *s)
{
	struct stats st = { .n = s->n };
	uint64_t *copy, lo = UINT64_MAX, hi = 0;
	int b;

	if (!s->n)
		return st;
	copy = malloc(s->n * sizeof(*copy));
	TEST_ASSERT(copy, "out of memory");
	memcpy(copy, s->ns, s->n * sizeof(*copy));
	/* Medians of consecutive blocks, in time order, before sorting all. */
	if (s->n >= STABILITY_BLOCKS * 2) {
		for (b = 0; b < STABILITY_BLOCKS; b++) {
			uint64_t from = s->n * b / STABILITY_BLOCKS;
			uint64_t to = s->n * (b + 1) / STABILITY_BLOCKS;
			uint64_t m = median_of(copy + from, to - from);

			lo = m < lo ? m : lo;
			hi = m > hi ? m : hi;
		}
	}
	st.median = median_of(copy, s->n);
	st.p99 = copy[s->n * 99 / 100];
	st.spread_x1000 = hi >= lo && st.median ? (hi - lo) * 1000 / st.median : 0;
	free(copy);
	return st;
}

/* "12.345" from a value in thousandths. */
static const char *fixed3(char *buf, size_t len, uint64_t x1000)
{
	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, x1000 / 1000, x1000 % 1000);
	return buf;
}

/* A time for the table, in a unit that keeps 3-4 significant digits. */
static const char *human_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 10 * NS_PER_MS)
		snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 " ms", ns / NS_PER_MS,
			 ns % NS_PER_MS / 100000);
	else if (ns >= NS_PER_MS)
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 " ms", ns / NS_PER_MS,
			 ns % NS_PER_MS / 1000);
	else if (ns >= 10 * NS_PER_US)
		snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 " us", ns / NS_PER_US,
			 ns % NS_PER_US / 100);
	else
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 " us", ns / NS_PER_US, ns % NS_PER_US);
	return buf;
}

static void json_stats(char *buf, size_t len, const struct stats *st)
{
	snprintf(buf, len, "{\"iterations\": %" PRIu64 ", \"median_ns\": %" PRIu64
		 ", \"p99_ns\": %" PRIu64 ", \"block_spread_x1000\": %" PRIu64
		 ", \"stable\": %s}", st->n, st->median, st->p99, st->spread_x1000,
		 st->spread_x1000 <= STABLE_SPREAD_X1000 ? "true" : "false");
}

/*
 * One figure: the library's series and, if there is one, the floor's.
 * Prints the JSON line and the table row.
 */
static void report_figure(const char *id, const char *what, struct series *lib,
			  const char *floor_what, struct series *floor)
{
	struct stats l = series_stats(lib), f = { 0 };
	char lj[256], fj[256] = "null", ratio[32] = "-", a[32], b[32], c[32], d[32], r[32];
	char stab[64];
	uint64_t ratio_x1000 = 0;
	bool stable = l.spread_x1000 <= STABLE_SPREAD_X1000;

	json_stats(lj, sizeof(lj), &l);
	if (floor) {
		f = series_stats(floor);
		json_stats(fj, sizeof(fj), &f);
		stable = stable && f.spread_x1000 <= STABLE_SPREAD_X1000;
		if (f.median) {
			ratio_x1000 = l.median * 1000 / f.median;
			snprintf(ratio, sizeof(ratio), "%" PRIu64, ratio_x1000);
		}
	}
	printf("# BENCH-JSON {\"id\": \"%s\", \"figure\": \"%s\", \"library\": %s, "
	       "\"floor_is\": %s%s%s, \"floor\": %s, \"ratio_x1000\": %s}\n",
	       id, what, lj, floor ? "\"" : "", floor ? floor_what : "null", floor ? "\"" : "",
	       fj, floor ? ratio : "null");
	/* Spreads are per mille; shown as percent with one decimal. */
	if (floor)
		snprintf(stab, sizeof(stab), "%" PRIu64 ".%" PRIu64 "%% / %" PRIu64 ".%" PRIu64 "%%%s",
			 l.spread_x1000 / 10, l.spread_x1000 % 10, f.spread_x1000 / 10,
			 f.spread_x1000 % 10, stable ? "" : " UNSTABLE");
	else
		snprintf(stab, sizeof(stab), "%" PRIu64 ".%" PRIu64 "%%%s", l.spread_x1000 / 10,
			 l.spread_x1000 % 10, stable ? "" : " UNSTABLE");
	printf("# BENCH-ROW | %s | %" PRIu64 " | %s | %s | %s | %s | %s | %s |\n", what, l.n,
	       human_ns(a, sizeof(a), l.median), human_ns(b, sizeof(b), l.p99),
	       floor ? human_ns(c, sizeof(c), f.median) : "-",
	       floor ? human_ns(d, sizeof(d), f.p99) : "-",
	       floor && f.median ? fixed3(r, sizeof(r), ratio_x1000) : "-", stab);
	fflush(stdout);
}

/* ---- iteration control ---------------------------------------------------- */

struct loop {
	uint64_t target, budget_ns, start, i;
};

static void loop_init(struct loop *lp, uint64_t iterations, uint64_t budget_s)
{
	lp->target = test_iterations(iterations);
	lp->budget_ns = test_duration(budget_s) * NS_PER_S;
	lp->start = now_ns();
	lp->i = 0;
}

static bool loop_next(struct loop *lp)
{
	uint64_t elapsed = now_ns() - lp->start;

	if (lp->i >= lp->target)
		return false;
	if (elapsed >= lp->budget_ns && (lp->i >= MIN_ITERATIONS || elapsed >= MIN_BUDGET_NS))
		return false;
	lp->i++;
	return true;
}

static void pin_self_and(pid_t other)
{
	int cpus[2];

	/* The measuring thread and the vCPU thread on different CPUs when there
	 * are two, so a kick is a cross-CPU signal as in real use. */
	if (host_cpus(cpus, 2) < 2)
		return;
	thread_pin(0, cpus[0]);
	if (other)
		thread_pin(other, cpus[1]);
}

/* ---- 1. VM set-up to the first guest message -------------------------------- */

static void guest_first_sync(void *arg)
{
	GUEST_SYNC(1);
}

TEST_CASE(setup, "VM set-up to the first guest message, library vs raw ioctls",
	  .timeout = 120, .stress = true)
{
	struct series lib, floor, p_create, p_add, p_run, p_destroy, f_destroy;
	struct loop lp;
	uint64_t cap;

	loop_init(&lp, SETUP_ITERATIONS, SETUP_BUDGET_S);
	cap = lp.target;
	series_init(&lib, cap);
	series_init(&floor, cap);
	series_init(&p_create, cap);
	series_init(&p_add, cap);
	series_init(&p_run, cap);
	series_init(&p_destroy, cap);
	series_init(&f_destroy, cap);

	/* Warm-up: /dev/kvm, the supported-CPUID cache, page cache of libs. */
	{
		struct vm *vm = vm_create(NULL);

		vcpu_add(vm, 0, guest_first_sync, NULL);
		vm_destroy(vm);
	}
	while (loop_next(&lp)) {
		struct floor_vm f;
		struct vm *vm;
		struct vcpu *vcpu;
		uint64_t t0, t1, t2, t3, t4;

		t0 = now_ns();
		vm = vm_create(NULL);
		t1 = now_ns();
		vcpu = vcpu_add(vm, 0, guest_first_sync, NULL);
		t2 = now_ns();
		TEST_ASSERT_EQ(vcpu_sync(vcpu), 1);
		t3 = now_ns();
		vm_destroy(vm);
		t4 = now_ns();
		series_add(&lib, t3 - t0);
		series_add(&p_create, t1 - t0);
		series_add(&p_add, t2 - t1);
		series_add(&p_run, t3 - t2);
		series_add(&p_destroy, t4 - t3);

		t0 = now_ns();
		floor_create(&f, floor_code_io, sizeof(floor_code_io), false);
		floor_expect_io(&f);
		t1 = now_ns();
		floor_destroy(&f);
		t2 = now_ns();
		series_add(&floor, t1 - t0);
		series_add(&f_destroy, t2 - t1);
	}
	report_figure("setup", "1. VM set-up to first guest message", &lib,
		      "create VM, one memory slot, one vCPU, real-mode guest to its first I/O exit",
		      &floor);
	report_figure("setup.vm_create", "1a. of which vm_create()", &p_create, NULL, NULL);
	report_figure("setup.vcpu_add", "1b. of which vcpu_add() in 64-bit mode", &p_add, NULL, NULL);
	report_figure("setup.first_run", "1c. of which running to the first GUEST_SYNC", &p_run,
		      NULL, NULL);
	report_figure("teardown", "1d. VM teardown (not in 1.)", &p_destroy,
		      "munmap and close of the raw VM", &f_destroy);
	test_stress_work(lp.i, lp.target, "set-ups");
}

/* ---- 2. guest-to-host message round trip ------------------------------------ */

static void guest_sync_forever(void *arg)
{
	uint64_t i;

	for (i = 0;; i++)
		GUEST_SYNC(i);
}

static void guest_out_forever(void *arg)
{
	for (;;)
		__asm__ volatile("outb %%al, %%dx" :: "a"(0), "d"(GUEST_MSG_PORT) : "memory");
}

TEST_CASE(roundtrip, "guest-to-host message round trip, library vs raw port I/O exit",
	  .timeout = 60, .stress = true)
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_sync_forever, NULL);
	/* The same 64-bit VM set-up, but a bare OUT loop and a raw KVM_RUN:
	 * separates the library's message cost from the guest mode's. */
	struct vcpu *bare = vcpu_add(vm, 1, guest_out_forever, NULL);
	struct series lib, floor, bare64;
	struct floor_vm f;
	struct loop lp;
	uint64_t expect = 0;

	floor_create(&f, floor_code_io, sizeof(floor_code_io), false);
	floor_expect_io(&f);
	TEST_ASSERT_EQ(vcpu_sync(vcpu), expect++);
	pin_self_and(0);
	loop_init(&lp, ROUNDTRIP_ITERATIONS, ROUNDTRIP_BUDGET_S);
	series_init(&lib, lp.target);
	series_init(&floor, lp.target);
	series_init(&bare64, lp.target);
	while (loop_next(&lp)) {
		uint64_t t0, t1, v;
		int r;

		t0 = now_ns();
		v = vcpu_sync(vcpu);
		t1 = now_ns();
		TEST_ASSERT_EQ(v, expect);
		expect++;
		series_add(&lib, t1 - t0);

		t0 = now_ns();
		floor_expect_io(&f);
		t1 = now_ns();
		series_add(&floor, t1 - t0);

		t0 = now_ns();
		r = ioctl(bare->fd, KVM_RUN, 0);
		t1 = now_ns();
		TEST_ASSERT(!r && bare->run->exit_reason == KVM_EXIT_IO,
			    "64-bit OUT loop: KVM_RUN %d, %s", r, exit_reason_name(bare->run->exit_reason));
		series_add(&bare64, t1 - t0);
	}
	report_figure("roundtrip", "2. guest-to-host message round trip", &lib,
		      "port I/O exit and re-entry (KVM_RUN of a real-mode out loop)", &floor);
	report_figure("roundtrip.bare64", "2a. of which: port I/O exit of a 64-bit guest, raw KVM_RUN",
		      &bare64, "port I/O exit and re-entry (KVM_RUN of a real-mode out loop)", &floor);
	test_stress_work(lp.i, lp.target, "round trips");
	floor_destroy(&f);
	vm_destroy(vm);
}

/* ---- 3. kick latency --------------------------------------------------------- */

/*
 * One vCPU thread per VM, driven by a handshake: the measuring thread sets
 * `go`, the vCPU thread enters KVM_RUN, the measuring thread waits until the
 * vCPU is running guest code (spinning: its counter moves) or asleep
 * (halted: the thread is in state S), notes the time and sends the signal;
 * the vCPU thread notes when KVM_RUN returned EINTR.
 */
struct kick_sync {
	atomic_uint_fast64_t go, entering, done;
	atomic_uint_fast64_t returned_ns;
	int last_errno;
	pid_t tid;
};

struct kick_shared {                    /* guest memory, library VM */
	volatile uint64_t counter;
};

static void guest_spin(void *arg)
{
	struct kick_shared *s = arg;

	for (;;)
		s->counter++;
}

static void guest_halt_forever(void *arg)
{
	cli();
	for (;;)
		hlt();
}

static uint64_t wait_change(atomic_uint_fast64_t *v, uint64_t want)
{
	uint64_t deadline = now_ns() + STEP_TIMEOUT_NS;

	while (atomic_load(v) != want)
		TEST_ASSERT(now_ns() < deadline, "vCPU thread stuck: step %" PRIu64 " not reached",
			    want);
	return want;
}

/* The vCPU thread's loop, shared by the library and the floor: run(ctx)
 * is vcpu_run() or a raw KVM_RUN. */
static void kick_thread_loop(struct kick_sync *k, int (*run)(void *), void *ctx)
{
	uint64_t i;

	k->tid = gettid();
	for (i = 1;; i++) {
		int r;

		/* Sleep, not spin: the other VM's vCPU thread shares this CPU. */
		while (atomic_load(&k->go) != i)
			usleep(KICK_IDLE_POLL_US);
		atomic_store(&k->entering, i);
		r = run(ctx);
		atomic_store(&k->returned_ns, now_ns());
		k->last_errno = r;
		atomic_store(&k->done, i);
	}
}

static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Wait until the vCPU thread is in KVM_RUN and running or asleep in the
 * guest, as the figure wants. */
static void wait_in_guest(struct kick_sync *k, uint64_t i, bool halted,
			  volatile uint64_t *counter, bool counter16)
{
	uint64_t deadline = now_ns() + STEP_TIMEOUT_NS;

	wait_change(&k->entering, i);
	if (halted) {
		/* Past halt polling, then asleep. */
		usleep(HALT_SETTLE_US);
		while (thread_state(k->tid) != 'S') {
			TEST_ASSERT(now_ns() < deadline, "halted vCPU thread never went to sleep");
			usleep(100);
		}
	} else {
		uint64_t start = counter16 ? *(volatile uint16_t *)counter : *counter;

		while ((counter16 ? *(volatile uint16_t *)counter : *counter) == start)
			TEST_ASSERT(now_ns() < deadline, "spinning vCPU never ran guest code");
	}
}

static uint64_t kick_once(struct kick_sync *k, uint64_t i, pthread_t thread, bool library,
			  struct vcpu *vcpu)
{
	uint64_t t0;

	t0 = now_ns();
	if (library)
		vcpu_kick(vcpu);
	else
		pthread_kill(thread, KICK_SIGNAL);
	wait_change(&k->done, i);
	TEST_ASSERT(k->last_errno == -EINTR, "kicked KVM_RUN returned %d, expected -EINTR",
		    k->last_errno);
	return atomic_load(&k->returned_ns) - t0;
}

static struct kick_sync *lib_kick, *floor_kick;
static struct floor_vm *floor_kick_vm;

static int lib_run(void *ctx) { return vcpu_run(ctx); }
static void lib_kick_thread(struct vcpu *vcpu) { kick_thread_loop(lib_kick, lib_run, vcpu); }

static int floor_run(void *ctx)
{
	struct floor_vm *f = ctx;

	return ioctl(f->vcpu_fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

static void *floor_kick_thread(void *arg)
{
	kick_thread_loop(floor_kick, floor_run, floor_kick_vm);
	return NULL;
}

static void kick_case(bool halted)
{
	struct vm_options opts = { .irqchip = halted };  /* HLT stays in the kernel */
	struct vm *vm = vm_create(&opts);
	struct kick_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, halted ? guest_halt_forever : guest_spin, s);
	struct kick_sync lk = { 0 }, fk = { 0 };
	struct floor_vm f;
	struct series lib, floor;
	struct loop lp;
	uint64_t i;

	if (halted)
		require_kvm_cap(KVM_CAP_IRQCHIP);
	lib_kick = &lk;
	floor_kick = &fk;
	floor_kick_vm = &f;
	if (halted)
		floor_create(&f, floor_code_halt, sizeof(floor_code_halt), true);
	else
		floor_create(&f, floor_code_spin, sizeof(floor_code_spin), false);
	vcpu_thread_start(vcpu, lib_kick_thread);
	TEST_ASSERT(!pthread_create(&f.thread, NULL, floor_kick_thread, NULL), "pthread_create");
	while (!fk.tid || !lk.tid)
		usleep(100);
	/* Both vCPU threads on the second CPU, the kicker on the first. */
	pin_self_and(lk.tid);
	pin_self_and(fk.tid);

	loop_init(&lp, KICK_ITERATIONS, KICK_BUDGET_S);
	series_init(&lib, lp.target);
	series_init(&floor, lp.target);
	for (i = 1; loop_next(&lp); i++) {
		atomic_store(&lk.go, i);
		wait_in_guest(&lk, i, halted, &s->counter, false);
		series_add(&lib, kick_once(&lk, i, 0, true, vcpu));

		atomic_store(&fk.go, i);
		wait_in_guest(&fk, i, halted, (volatile uint64_t *)(f.mem + FLOOR_COUNTER_OFFSET),
			      true);
		series_add(&floor, kick_once(&fk, i, f.thread, false, NULL));
	}
	if (halted)
		report_figure("kick.halted", "3b. kick latency, halted vCPU", &lib,
			      "pthread_kill + raw KVM_RUN, real-mode cli;hlt guest", &floor);
	else
		report_figure("kick.spinning", "3a. kick latency, spinning vCPU", &lib,
			      "pthread_kill + raw KVM_RUN, real-mode spin loop", &floor);
	test_stress_work(lp.i, lp.target, "kicks");
	/* The vCPU threads wait forever for the next step: the case's process
	 * group ends them. */
	_exit(KSFT_PASS);
}

TEST_CASE(kick_spinning, "kick latency of a spinning vCPU, library vs pthread_kill and raw KVM_RUN",
	  .timeout = 60, .stress = true)
{
	kick_case(false);
}

TEST_CASE(kick_halted, "kick latency of a halted vCPU, library vs pthread_kill and raw KVM_RUN",
	  .timeout = 60, .stress = true)
{
	kick_case(true);
}

/* ---- 4. wakeup latency: IPI to a halted vCPU -------------------------------- */

struct wakeup_shared {
	bool x2apic;
	bool receiver_halts;            /* false: the receiver spins with IF=1 */
	uint64_t iterations;
	uint64_t settle_cycles;         /* receiver asleep this long before the IPI */
	uint64_t deadline_tsc;          /* the sender stops here (time budget) */
	volatile uint64_t ready;        /* receiver: about to halt for IPI number ready */
	volatile uint64_t handled;      /* receiver's handler ran this many times */
	volatile uint64_t sent;         /* sender: IPIs sent */
	volatile uint64_t phase;        /* sender: what it waits for (enum wakeup_phase) */
	volatile bool abort;            /* host: no progress, stop and report */
	uint64_t *send_tsc, *seen_tsc;
};

enum wakeup_phase { WAIT_READY = 1, WAIT_SETTLE, WAIT_HANDLED, WAIT_NONE };
static const char *const wakeup_phase_names[] = {
	[WAIT_READY] = "waiting for the receiver to halt",
	[WAIT_SETTLE] = "waiting for its TSC to advance by the settle time",
	[WAIT_HANDLED] = "waiting for the receiver's handler (IPI sent, not handled)",
};

static struct wakeup_shared *wakeup;    /* the guest's copy, set by the guest */

static void wakeup_handler(struct ex_regs *regs)
{
	wakeup->handled++;
	apic_eoi();
}

static void wakeup_apic_enable(struct wakeup_shared *s)
{
	if (s->x2apic)
		x2apic_enable();
	else
		xapic_enable();
}

static void guest_wakeup_receiver(void *arg)
{
	struct wakeup_shared *s = arg;
	uint64_t i;

	wakeup = s;
	wakeup_apic_enable(s);
	guest_set_handler(WAKEUP_VECTOR, wakeup_handler);
	for (i = 0;; i++) {
		cli();
		s->ready = i + 1;
		if (s->receiver_halts) {
			while (s->handled < i + 1) {
				safe_halt();
				cli();
			}
		} else {
			sti();
			while (s->handled < i + 1)
				cpu_relax();
		}
	}
}

static void guest_wakeup_sender(void *arg)
{
	struct wakeup_shared *s = arg;
	uint64_t i, t;

	wakeup_apic_enable(s);
	for (i = 0; i < s->iterations && rdtsc() < s->deadline_tsc && !s->abort; i++) {
		s->phase = WAIT_READY;
		while (s->ready < i + 1 && !s->abort)
			cpu_relax();
		s->phase = WAIT_SETTLE;
		t = rdtsc();
		while (rdtsc() - t < s->settle_cycles && !s->abort)
			cpu_relax();
		if (s->abort)
			break;
		s->phase = WAIT_HANDLED;
		s->send_tsc[i] = rdtsc();
		apic_send_ipi(1, WAKEUP_VECTOR);
		while (s->handled < i + 1 && !s->abort)
			cpu_relax();
		if (s->abort)
			break;
		/* On the sender's clock: vCPUs' TSCs need not agree (they did
		 * not in a nested VM), and seeing the handler's write costs
		 * one cache-line transfer. */
		s->seen_tsc[i] = rdtsc();
		s->sent = i + 1;
	}
	s->phase = WAIT_NONE;
	GUEST_SYNC(s->sent);
}

static void run_until_sync(struct vcpu *vcpu)
{
	vcpu_set_msg_timeout(vcpu, STEP_TIMEOUT_NS / NS_PER_MS +
			       test_duration(WAKEUP_BUDGET_S) * 1000);
	vcpu_expect_sync(vcpu);
}

static uint64_t guest_tsc_khz(struct vcpu *vcpu)
{
	long khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0);

	TEST_REQUIRE(khz > 0, "KVM_GET_TSC_KHZ not supported: cannot convert TSC to time");
	return khz;
}

static void wakeup_case(bool x2apic, bool halts, const char *id, const char *what)
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm;
	struct vcpu *sender, *receiver;
	struct wakeup_shared *s;
	struct series lib;
	uint64_t khz, n, i, budget_ns;

	require_kvm_cap(KVM_CAP_IRQCHIP);
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_NR_VCPUS) >= 2, "KVM_CAP_NR_VCPUS < 2");
	if (x2apic)
		require_kvm_cpu_feature(X86_FEATURE_X2APIC);
	vm = vm_create(&opts);
	s = vm_alloc(vm, sizeof(*s));
	sender = vcpu_add(vm, 0, guest_wakeup_sender, s);
	receiver = vcpu_add(vm, 1, guest_wakeup_receiver, s);
	khz = guest_tsc_khz(sender);
	n = test_iterations(WAKEUP_ITERATIONS);
	budget_ns = test_duration(WAKEUP_BUDGET_S) * NS_PER_S;
	s->x2apic = x2apic;
	s->receiver_halts = halts;
	s->iterations = n;
	s->settle_cycles = halts ? khz * HALT_SETTLE_US / 1000 : 0;
	s->deadline_tsc = rdtsc() + budget_ns / NS_PER_MS * khz;
	s->send_tsc = vm_alloc(vm, n * sizeof(uint64_t));
	s->seen_tsc = vm_alloc(vm, n * sizeof(uint64_t));

	vcpu_thread_start(receiver, run_until_sync);   /* never syncs; ended with the case */
	vcpu_thread_start(sender, run_until_sync);
	{
		int cpus[2];

		if (host_cpus(cpus, 2) == 2) {
			thread_pin(sender->tid, cpus[0]);
			thread_pin(receiver->tid, cpus[1]);
		}
	}
	/* Watch for progress: a wait that never ends (an IPI not delivered, a
	 * TSC that does not advance) is reported, not left to the time limit. */
	{
		uint64_t last = 0, since = now_ns();
		enum wakeup_phase stuck = 0;

		while (s->phase != WAIT_NONE) {
			usleep(10000);
			if (s->sent != last) {
				last = s->sent;
				since = now_ns();
			} else if (now_ns() - since > STEP_TIMEOUT_NS) {
				stuck = s->phase;
				s->abort = true;
				break;
			}
		}
		vcpu_thread_join(sender);
		series_init(&lib, s->sent ? s->sent : 1);
		for (i = 0; i < s->sent; i++)
			series_add(&lib, (s->seen_tsc[i] - s->send_tsc[i]) * 1000000 / khz);
		report_figure(id, what, &lib, NULL, NULL);
		test_stress_work(s->sent, n, "IPIs");
		if (stuck)
			test_fail("no progress for %" PRIu64 " s after %" PRIu64 " IPIs: the sending vCPU was %s",
				  STEP_TIMEOUT_NS / NS_PER_S, last, wakeup_phase_names[stuck]);
	}
	_exit(KSFT_PASS);
}

TEST_CASE(wakeup_x2apic, "IPI wakeup of a halted vCPU until its handler runs (x2APIC)",
	  .timeout = 60, .stress = true)
{
	wakeup_case(true, true, "wakeup.x2apic", "4a. IPI wakeup of a halted vCPU (x2APIC)");
}

TEST_CASE(wakeup_xapic, "IPI wakeup of a halted vCPU until its handler runs (xAPIC)",
	  .timeout = 60, .stress = true)
{
	wakeup_case(false, true, "wakeup.xapic", "4b. IPI wakeup of a halted vCPU (xAPIC)");
}

TEST_CASE(ipi_running, "IPI to a running vCPU until its handler runs (x2APIC), for reference",
	  .timeout = 60, .stress = true)
{
	wakeup_case(true, false, "ipi.running", "4c. IPI to a running vCPU (x2APIC, reference)");
}

/* ---- 6. a host thread's short sleep beside spinning vCPUs ------------------ */

/*
 * How late a host thread wakes from a short sleep while vCPUs run guest
 * code: alone, beside one vCPU spinning on its CPU, and with a vCPU
 * spinning on every CPU. Natively the scheduler decides; under QEMU's
 * single-threaded TCG it is the emulator's round robin of its vCPUs: a
 * timer interrupt that finds its CPU with interrupts off can wait until
 * another busy CPU next exits (docs/emulators.md, "Timers under
 * single-threaded TCG"). Every sleep, kick pause and host-side wait of the
 * stress cases pays this, so it sets how much work they do per second.
 * No floor: the first figure is the reference for the other two.
 */
#define SLEEP_US                100
#define SLEEP_ITERATIONS        1000
#define SLEEP_BUDGET_S          5
#define SLEEP_MAX_SPINNERS      8

struct spinner_shared {                 /* guest memory: one counter per vCPU */
	volatile uint64_t counter[SLEEP_MAX_SPINNERS];
};

static void guest_spin_own_counter(void *arg)
{
	struct spinner_shared *s = arg;

	for (;;)
		s->counter[guest_vcpu_id()]++;
}

/* KVM_RUN until the process ends; the guest never exits on its own. */
static void spinner_thread(struct vcpu *vcpu)
{
	for (;;)
		vcpu_run(vcpu);
}

static void spinner_start(struct vm *vm, struct spinner_shared *s, int id, int cpu)
{
	struct vcpu *vcpu = vcpu_add(vm, id, guest_spin_own_counter, s);
	char what[32];

	vcpu_thread_start(vcpu, spinner_thread);
	TEST_ASSERT(!thread_pin(vcpu->tid, cpu), "cannot pin vCPU %d's thread to CPU %d", id, cpu);
	snprintf(what, sizeof(what), "spinning vCPU %d", id);
	wait_guest_progress(&s->counter[id], 0, STEP_TIMEOUT_NS / NS_PER_MS, what);
}

static void sleep_figure(const char *id, const char *what)
{
	struct series sleeps;
	struct loop lp;

	loop_init(&lp, SLEEP_ITERATIONS, SLEEP_BUDGET_S);
	series_init(&sleeps, lp.target);
	while (loop_next(&lp)) {
		uint64_t t0 = now_ns();

		usleep(SLEEP_US);
		series_add(&sleeps, now_ns() - t0);
	}
	report_figure(id, what, &sleeps, NULL, NULL);
}

TEST_CASE(sleep_beside_vcpus, "a host thread's 100 us sleep: alone, beside a spinning vCPU on "
	  "its CPU, and with a spinning vCPU on every CPU", .timeout = 60, .stress = true)
{
	int cpus[SLEEP_MAX_SPINNERS], n = host_cpus(cpus, SLEEP_MAX_SPINNERS), i;
	struct vm *vm = vm_create(NULL);
	struct spinner_shared *s = vm_alloc(vm, sizeof(*s));

	TEST_REQUIRE(n >= 2, "needs two CPUs, this process may use %d", n);
	prctl(PR_SET_TIMERSLACK, 1UL);
	TEST_ASSERT(!thread_pin(0, cpus[0]), "cannot pin the sleeper to CPU %d", cpus[0]);
	sleep_figure("sleep.alone", "6a. 100 us sleep of a host thread, no vCPU running");
	spinner_start(vm, s, 0, cpus[0]);
	sleep_figure("sleep.one_vcpu", "6b. the same, a vCPU spinning on its CPU");
	for (i = 1; i < n; i++)
		spinner_start(vm, s, i, cpus[i]);
	sleep_figure("sleep.every_cpu", "6c. the same, a vCPU spinning on every CPU (at most 8)");
	/* The vCPU threads never leave KVM_RUN: the case's process group ends them. */
	_exit(KSFT_PASS);
}
