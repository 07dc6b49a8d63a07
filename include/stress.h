/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine of a stress case: how long it runs, whether its threads keep
 * making progress, stopping what drives it, and latency samples. The
 * scenario (what an action is, what counts as progress, the verdicts) stays
 * in the test; this file only keeps the books.
 *
 *   struct stress_actor kicker = { .step = kick_one, .ctx = st,
 *                                  .max_gap_us = gap_us, .rng_stream = 1 };
 *   struct stress_run run;
 *
 *   stress_actor_start(&kicker);                    // steps until stopped
 *   stress_run_begin(&run, &config, tids, n);
 *   do {
 *           if (stress_run_tick(&run))              // a progress window ended
 *                   for (i = 0; i < n; i++)
 *                           if (stress_window_judged(&run, i, progress[i], &before))
 *                                   TEST_ASSERT(progress[i] > before, ...);
 *   } while (!stress_run_over(&run, iterations));
 *   stress_run_end(&run);                           // every thread judged once
 *   stress_actor_stop(&kicker);                     // phase one of the stop
 *   ... let the threads finish (phase two: the scenario's own) ...
 *
 * Duration: a run lasts --duration (at least one whole progress window) and
 * until --iterations iterations were done and every thread had a judged
 * window, but no longer than max_extra_s beyond the duration: a slow host
 * ends with fewer iterations (the test says so), never with a timeout.
 *
 * Progress windows: on a shared host a thread may make no progress only
 * because it got no CPU (threads.h: struct starvation_window). Such a window
 * is not judged for that thread; the run goes on until each thread has had a
 * judged one.
 */
#ifndef KVMTEST_STRESS_H
#define KVMTEST_STRESS_H

#include <pthread.h>
#include <stdatomic.h>

#include "threads.h"

/* Latency samples in ns, grown as needed (for test_diag_latency()). */
struct latency_samples {
	uint64_t *ns;
	uint64_t count, cap;
};
void latency_samples_add(struct latency_samples *s, uint64_t ns);
void latency_samples_append(struct latency_samples *to, const struct latency_samples *from);
void latency_samples_free(struct latency_samples *s);

/* A thread that calls step(ctx, rng) with a random pause of 0..max_gap_us
 * after each, until stopped; rng is seeded from --seed and rng_stream. */
struct stress_actor {
	void (*step)(void *ctx, struct test_rng *rng);
	void *ctx;
	uint64_t max_gap_us;
	uint64_t rng_stream;
	/* Private. */
	pthread_t thread;
	atomic_bool stop;
};
void stress_actor_start(struct stress_actor *a);
/* No step runs once this returns. */
void stress_actor_stop(struct stress_actor *a);

struct stress_run_config {
	uint64_t duration_s;            /* test_duration(the case's default) */
	uint64_t min_iterations;        /* test_iterations(the case's default) */
	uint64_t max_extra_s;           /* beyond duration_s to reach the minimum */
	uint64_t window_ms;             /* every thread must progress in each window */
	uint64_t monitor_ms;            /* the monitor's period */
	const char *thread_name;        /* names thread i in messages: "vCPU" */
};

struct stress_run {
	struct stress_run_config config;
	uint64_t start_ns, now_ns;      /* now_ns: at the last tick */
	uint64_t end_min_ns, end_max_ns, window_end_ns;
	unsigned int n;
	pid_t tid[STARVATION_MAX_THREADS];
	uint64_t last[STARVATION_MAX_THREADS];          /* progress at the window's start */
	uint64_t judged_windows[STARVATION_MAX_THREADS];
	uint64_t starved_windows;       /* thread windows not judged */
	struct starvation_window window;
};

/* Start the clock and the first progress window for threads tids[0..n-1]
 * (their progress counters start at 0). */
void stress_run_begin(struct stress_run *run, const struct stress_run_config *config,
		      const pid_t *tids, unsigned int n);
/* Sleep one monitor period. True when the progress window is over: then call
 * stress_window_judged() for every thread; the next window starts at the
 * next tick. */
bool stress_run_tick(struct stress_run *run);
/*
 * At the end of a window: whether thread i's window is judged. It is, unless
 * the thread made no progress and the host starved it (counted; said with
 * -v). *before gets the progress at the window's start: the caller's verdict
 * is progress > *before.
 */
bool stress_window_judged(struct stress_run *run, unsigned int i, uint64_t progress,
			  uint64_t *before);
/* Whether to stop after iterations iterations (see Duration above). */
bool stress_run_over(struct stress_run *run, uint64_t iterations);
uint64_t stress_run_elapsed_ms(const struct stress_run *run);
/* After the last tick: every thread had a judged window, or the test fails
 * naming the one the host starved throughout; notes the starved windows. */
void stress_run_end(struct stress_run *run);

#endif
