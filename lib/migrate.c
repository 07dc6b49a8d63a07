// SPDX-License-Identifier: GPL-2.0
/*
 * Migrator and competitor threads (see include/migrate.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"
#include "threads.h"

#define MAX_CPUS  CPU_SETSIZE
#define MAX_NODES 64
/* Move targets, in percent of moves: one CPU, one node's CPUs, else all. */
#define MOVE_TO_CPU_PCT  60
#define MOVE_TO_NODE_PCT 25

int thread_where(pid_t tid, int *cpu, char *state)
{
	char path[64], buf[1024], *p;
	int field, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	/* The command name may contain spaces: fields start after the ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	*state = *p;
	/* State is field 3; "processor" is field 39. */
	for (field = 3; field < 39 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EINVAL;
	*cpu = atoi(p);
	return 0;
}

uint64_t thread_preemptions(pid_t tid)
{
	char path[64], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- migrator ---- */

/*
 * A thread's latest move, for readers that must never wait for the
 * migrator: the lost-wakeup monitor reads it at every send, and the
 * migrator can be stopped anywhere (preempted, or on a CPU that runs
 * nothing for seconds) while the monitor has to go on watching. So no lock:
 * the migrator, the only writer, fills the slot that readers are not
 * pointed at, then publishes it by advancing gen (slot[gen & 1] is the
 * latest). A reader copies the published slot and keeps the copy if gen
 * did not move meanwhile; a writer stopped half-way through its slot
 * leaves the published one whole.
 */
struct move_record {
	_Atomic uint64_t gen;           /* moves published; 0: never moved */
	struct migration slot[2];
};

struct migrator {
	struct migrator_opts opts;
	pid_t tids[MIGRATOR_MAX_THREADS];
	struct move_record last[MIGRATOR_MAX_THREADS];
	int nr_tids;
	int cpus[MAX_CPUS], nr_cpus;
	int cpu_node[MAX_CPUS];
	int nodes[MAX_NODES], nr_nodes;         /* nodes that have CPUs here */
	struct test_rng rng;
	/* Counted by the migrator alone, read at the end (migrator_get_stats). */
	struct migrator_stats stats;
	pthread_t thread;
	atomic_bool stop;
	/* migrator_overdue_ns(): when its sleep ends, and on which CPU. */
	_Atomic uint64_t wake_due_ns;
	atomic_int sleep_cpu;
};

static void node_cpuset(struct migrator *m, int node, cpu_set_t *set)
{
	int i;

	CPU_ZERO(set);
	for (i = 0; i < m->nr_cpus; i++)
		if (m->cpu_node[i] == node)
			CPU_SET(m->cpus[i], set);
}

/* The migrator's side of struct move_record. */
static void publish_move(struct move_record *r, struct migration *mv)
{
	uint64_t gen = atomic_load_explicit(&r->gen, memory_order_relaxed);

	mv->seq = gen + 1;
	r->slot[(gen + 1) & 1] = *mv;
	atomic_store_explicit(&r->gen, gen + 1, memory_order_release);
}

/* A reader's side: false if the thread was never moved. */
static bool read_move(struct move_record *r, struct migration *out)
{
	uint64_t gen = atomic_load_explicit(&r->gen, memory_order_acquire), again;

	for (;;) {
		if (!gen)
			return false;
		*out = r->slot[gen & 1];
		atomic_thread_fence(memory_order_acquire);
		again = atomic_load_explicit(&r->gen, memory_order_relaxed);
		if (again == gen)
			return true;
		/* The migrator published twice during the copy (the monitor
		 * was preempted): take the newer one. */
		gen = atomic_load_explicit(&r->gen, memory_order_acquire);
	}
}

static void count(uint64_t *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static void migrate_one(struct migrator *m)
{
	int idx = (int)test_rng_below(&m->rng, m->nr_tids);
	uint64_t kind = test_rng_below(&m->rng, 100);
	struct migration mv = { .to_cpu = -1, .to_node = -1, .from_cpu = -1, .state = '?' };
	pid_t tid = m->tids[idx];
	cpu_set_t set;
	int i;

	thread_where(tid, &mv.from_cpu, &mv.state);
	if (kind < MOVE_TO_CPU_PCT || (kind < MOVE_TO_CPU_PCT + MOVE_TO_NODE_PCT && m->nr_nodes < 2)) {
		/* One CPU, other than the one it last ran on when there is a choice. */
		i = (int)test_rng_below(&m->rng, m->nr_cpus);
		if (m->nr_cpus > 1 && m->cpus[i] == mv.from_cpu)
			i = (i + 1 + (int)test_rng_below(&m->rng, m->nr_cpus - 1)) % m->nr_cpus;
		mv.to_cpu = m->cpus[i];
		mv.to_node = m->cpu_node[i];
		CPU_ZERO(&set);
		CPU_SET(mv.to_cpu, &set);
	} else if (kind < MOVE_TO_CPU_PCT + MOVE_TO_NODE_PCT) {
		mv.to_node = m->nodes[test_rng_below(&m->rng, m->nr_nodes)];
		node_cpuset(m, mv.to_node, &set);
	} else {
		CPU_ZERO(&set);
		for (i = 0; i < m->nr_cpus; i++)
			CPU_SET(m->cpus[i], &set);
	}
	mv.when_ns = now_ns();
	if (sched_setaffinity(tid, sizeof(set), &set)) {
		/* The thread may just have finished (end of the case). */
		TEST_ASSERT(errno == ESRCH, "sched_setaffinity of thread %d: %s", tid,
			    strerror(errno));
		return;
	}

	publish_move(&m->last[idx], &mv);
	count(&m->stats.moves);
	if (mv.state == 'S' || mv.state == 'D')
		count(&m->stats.moves_while_sleeping);
	if (mv.from_cpu >= 0 && mv.to_node >= 0 && host_cpu_node(mv.from_cpu) != mv.to_node)
		count(&m->stats.cross_node_moves);
	if (test_rng_below(&m->rng, 100) < m->opts.kick_percent &&
	    !syscall(SYS_tgkill, getpid(), tid, KICK_SIGNAL))
		count(&m->stats.kicks);
}

static void *migrator_main(void *arg)
{
	struct migrator *m = arg;
	uint64_t us;

	prctl(PR_SET_TIMERSLACK, 1UL);
	prctl(PR_SET_NAME, "migrator");
	while (!atomic_load(&m->stop)) {
		migrate_one(m);
		us = test_rng_below(&m->rng, 2 * m->opts.interval_us + 1);
		atomic_store(&m->sleep_cpu, sched_getcpu());
		atomic_store(&m->wake_due_ns, now_ns() + us * 1000);
		sleep_us(us);
	}
	return NULL;
}

struct migrator *migrator_start(const pid_t *tids, int n, const struct migrator_opts *opts)
{
	struct migrator *m = calloc(1, sizeof(*m));
	int i, j, r;

	TEST_ASSERT(m, "out of memory");
	TEST_ASSERT(n > 0 && n <= MIGRATOR_MAX_THREADS, "migrator: %d threads (max %d)", n,
		    MIGRATOR_MAX_THREADS);
	m->opts = *opts;
	memcpy(m->tids, tids, n * sizeof(*tids));
	m->nr_tids = n;
	m->nr_cpus = host_cpus(m->cpus, MAX_CPUS);
	for (i = 0; i < m->nr_cpus; i++) {
		m->cpu_node[i] = host_cpu_node(m->cpus[i]);
		for (j = 0; j < m->nr_nodes && m->nodes[j] != m->cpu_node[i]; j++)
			;
		if (j == m->nr_nodes && m->nr_nodes < MAX_NODES)
			m->nodes[m->nr_nodes++] = m->cpu_node[i];
	}
	test_rng_init(&m->rng, opts->stream);
	atomic_store(&m->sleep_cpu, -1);
	atomic_store(&m->wake_due_ns, now_ns());
	r = pthread_create(&m->thread, NULL, migrator_main, m);
	TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	return m;
}

void migrator_stop(struct migrator *m)
{
	int i;

	if (!m)
		return;
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	for (i = 0; i < m->nr_tids; i++)
		thread_unpin(m->tids[i]);
	free(m);
}

bool migrator_last(struct migrator *m, pid_t tid, struct migration *out)
{
	int i;

	if (!m)
		return false;
	for (i = 0; i < m->nr_tids; i++)
		if (m->tids[i] == tid)
			return read_move(&m->last[i], out);
	return false;
}

uint64_t migrator_overdue_ns(struct migrator *m, uint64_t now, int *cpu)
{
	uint64_t due = atomic_load(&m->wake_due_ns);

	*cpu = atomic_load(&m->sleep_cpu);
	return now > due ? now - due : 0;
}

void migrator_get_stats(struct migrator *m, struct migrator_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return;
	out->moves = __atomic_load_n(&m->stats.moves, __ATOMIC_RELAXED);
	out->moves_while_sleeping = __atomic_load_n(&m->stats.moves_while_sleeping,
						    __ATOMIC_RELAXED);
	out->cross_node_moves = __atomic_load_n(&m->stats.cross_node_moves, __ATOMIC_RELAXED);
	out->kicks = __atomic_load_n(&m->stats.kicks, __ATOMIC_RELAXED);
}

/* ---- competitor ---- */

struct competitor {
	int cpu;
	uint64_t busy_us_max, sleep_us_max;
	struct test_rng rng;
	uint64_t rounds;
	uint64_t last_round_ns;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool pinned;
	int pin_error;
};

static void *competitor_main(void *arg)
{
	struct competitor *c = arg;

	c->pin_error = thread_pin(gettid(), c->cpu);
	prctl(PR_SET_TIMERSLACK, 1UL);
	__atomic_store_n(&c->last_round_ns, now_ns(), __ATOMIC_RELAXED);
	atomic_store(&c->pinned, true);
	while (!atomic_load(&c->stop)) {
		uint64_t until = now_ns() + test_rng_below(&c->rng, c->busy_us_max + 1) * 1000;

		while (now_ns() < until)
			;
		sleep_us(test_rng_below(&c->rng, c->sleep_us_max + 1));
		__atomic_add_fetch(&c->rounds, 1, __ATOMIC_RELAXED);     /* read by reports */
		__atomic_store_n(&c->last_round_ns, now_ns(), __ATOMIC_RELAXED);
	}
	return NULL;
}

struct competitor *competitor_start(int cpu, uint64_t busy_us_max, uint64_t sleep_us_max,
				    uint64_t stream)
{
	struct competitor *c = calloc(1, sizeof(*c));
	int r;

	TEST_ASSERT(c, "out of memory");
	c->cpu = cpu;
	c->busy_us_max = busy_us_max;
	c->sleep_us_max = sleep_us_max;
	test_rng_init(&c->rng, stream);
	r = pthread_create(&c->thread, NULL, competitor_main, c);
	TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	while (!atomic_load(&c->pinned))
		sched_yield();
	TEST_ASSERT(!c->pin_error, "pinning the competitor thread to CPU %d: %s", cpu,
		    strerror(-c->pin_error));
	return c;
}

int competitor_cpu(const struct competitor *c)
{
	return c->cpu;
}

uint64_t competitor_rounds(const struct competitor *c)
{
	return __atomic_load_n(&c->rounds, __ATOMIC_RELAXED);
}

uint64_t competitor_last_round_ns(const struct competitor *c)
{
	return __atomic_load_n(&c->last_round_ns, __ATOMIC_RELAXED);
}

uint64_t competitor_stop(struct competitor *c)
{
	uint64_t rounds;

	if (!c)
		return 0;
	atomic_store(&c->stop, true);
	pthread_join(c->thread, NULL);
	rounds = c->rounds;
	free(c);
	return rounds;
}

void migrator_stop_report(struct migrator *m)
{
	struct migrator_stats ms;

	migrator_get_stats(m, &ms);
	migrator_stop(m);
	test_diag("migrations: %" PRIu64 " (%" PRIu64 " while the thread was blocked, %" PRIu64
		  " across nodes, %d node(s)); signals into KVM_RUN: %" PRIu64, ms.moves,
		  ms.moves_while_sleeping, ms.cross_node_moves, host_numa_nodes(), ms.kicks);
	TEST_ASSERT(ms.moves > 0, "the migrator moved no thread during the case");
}

void competitors_start(const pid_t *tids, int n, uint64_t busy_us_max, uint64_t sleep_us_max,
		       uint64_t stream, struct competitor **out)
{
	int cpus[MAX_CPUS], nr_cpus = host_cpus(cpus, MAX_CPUS);
	int i, r;

	for (i = 0; i < n; i++) {
		int cpu = cpus[i % nr_cpus];

		r = thread_pin(tids[i], cpu);
		TEST_ASSERT(!r, "pinning thread %d to CPU %d: %s", tids[i], cpu, strerror(-r));
		out[i] = i < nr_cpus ? competitor_start(cpu, busy_us_max, sleep_us_max, stream + i)
				     : NULL;
	}
}

uint64_t competitors_stop(struct competitor **c, int n)
{
	uint64_t rounds = 0;
	int i;

	for (i = 0; i < n; i++) {
		rounds += competitor_stop(c[i]);
		c[i] = NULL;
	}
	return rounds;
}
