/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host threads that disturb where vCPU threads run:
 *
 *   - a migrator moves a set of threads (usually vCPU threads) between host
 *     CPUs and NUMA nodes with sched_setaffinity() at random, seeded
 *     intervals, whatever the thread is doing (running, or blocked in a
 *     halted KVM_RUN), and can also signal it out of KVM_RUN now and then;
 *   - a competitor is pinned to one CPU and alternates short random busy
 *     spells with short sleeps, so that a thread sharing that CPU is
 *     preempted at random points (each competitor wakeup may preempt it).
 *
 *   struct migrator *m = migrator_start(tids, n, &(struct migrator_opts){
 *           .interval_us = 200, .stream = 1 });
 *   ...
 *   struct migration last;
 *   if (migrator_last(m, tid, &last)) ... last.from_cpu, last.to_cpu ...
 *   migrator_stop(m);          // joins; the threads may run anywhere again
 */
#ifndef KVMTEST_MIGRATE_H
#define KVMTEST_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MIGRATOR_MAX_THREADS 64

struct migrator_opts {
	uint64_t interval_us;           /* mean pause between moves (uniform 0..2x) */
	uint64_t stream;                /* test_rng stream: --seed replays the moves */
	unsigned int kick_percent;      /* moves that also send KICK_SIGNAL to the thread */
};

/* One move, as the migrator saw it. */
struct migration {
	uint64_t when_ns;               /* now_ns() of the sched_setaffinity() */
	int from_cpu;                   /* CPU the thread last ran on before the move */
	int to_cpu;                     /* the one CPU allowed, or -1 for a node / all CPUs */
	int to_node;                    /* node of to_cpu, or the node allowed; -1 = all CPUs */
	char state;                     /* /proc state letter at the move: R running, S sleeping */
	uint64_t seq;                   /* 1 for the thread's first move */
};

struct migrator_stats {
	uint64_t moves;
	uint64_t moves_while_sleeping;  /* thread was blocked (state S/D) when moved */
	uint64_t cross_node_moves;      /* from a CPU of one node to another node */
	uint64_t kicks;
};

struct migrator;
struct migrator *migrator_start(const pid_t *tids, int n, const struct migrator_opts *opts);
/* Stop and join; every thread may run on all CPUs again. */
void migrator_stop(struct migrator *m);
/* The thread's latest move; false if it has not been moved yet. Thread-safe, and
 * never waits for the migrator, wherever that is stopped. */
bool migrator_last(struct migrator *m, pid_t tid, struct migration *out);
void migrator_get_stats(struct migrator *m, struct migrator_stats *out);
/* Stop and join, say in a diagnostic how many moves (across nodes, of
 * blocked threads) and kicks there were; fail if no thread was moved. */
void migrator_stop_report(struct migrator *m);
/* While it runs: how long past the end of its current sleep between moves
 * it is at now (now_ns()), 0 when not, and the CPU it went to sleep on
 * (*cpu; -1 before its first move). It sleeps on that CPU's timers, so a
 * migrator overdue by far more than a timer's slack shows that CPU ran
 * nothing meanwhile. */
uint64_t migrator_overdue_ns(struct migrator *m, uint64_t now, int *cpu);

struct competitor;
/* A thread pinned to cpu that busy-waits for up to busy_us_max, then sleeps
 * for up to sleep_us_max (both uniform, seeded), until stopped. */
struct competitor *competitor_start(int cpu, uint64_t busy_us_max, uint64_t sleep_us_max,
				    uint64_t stream);
/* Stop and join; returns the number of busy/sleep rounds it ran. */
uint64_t competitor_stop(struct competitor *c);
/* While it runs: its CPU, the rounds done so far and when the last one
 * ended (now_ns(); its start before the first). A competitor whose rounds
 * stand still ran no thread and took no timer on its CPU. */
int competitor_cpu(const struct competitor *c);
uint64_t competitor_rounds(const struct competitor *c);
uint64_t competitor_last_round_ns(const struct competitor *c);
/* Pin thread i to the host's CPU i (round robin when there are fewer CPUs)
 * and start a competitor on each CPU used (streams stream, stream + 1, ...);
 * out[i] is NULL for a thread that shares its CPU with an earlier one. */
void competitors_start(const pid_t *tids, int n, uint64_t busy_us_max, uint64_t sleep_us_max,
		       uint64_t stream, struct competitor **out);
/* Stop and join them all (NULLs are skipped); returns their rounds. */
uint64_t competitors_stop(struct competitor **c, int n);

/* Where a thread is: the CPU it last ran on and its state letter (from
 * /proc/self/task/TID/stat); 0 or -errno. */
int thread_where(pid_t tid, int *cpu, char *state);
/* Its involuntary context switches so far (preemptions), or 0 if unknown. */
uint64_t thread_preemptions(pid_t tid);

#endif
