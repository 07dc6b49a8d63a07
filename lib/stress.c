// SPDX-License-Identifier: GPL-2.0
/*
 * The engine of a stress case. See include/stress.h.
 */
#include <stdlib.h>
#include <unistd.h>

#include "stress.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define LATENCY_SAMPLES_FIRST_CAP 1024

void latency_samples_add(struct latency_samples *s, uint64_t ns)
{
	if (s->count == s->cap) {
		s->cap = s->cap ? 2 * s->cap : LATENCY_SAMPLES_FIRST_CAP;
		s->ns = realloc(s->ns, s->cap * sizeof(*s->ns));
		TEST_ASSERT(s->ns, "out of memory");
	}
	s->ns[s->count++] = ns;
}

void latency_samples_append(struct latency_samples *to, const struct latency_samples *from)
{
	for (uint64_t i = 0; i < from->count; i++)
		latency_samples_add(to, from->ns[i]);
}

void latency_samples_free(struct latency_samples *s)
{
	free(s->ns);
	*s = (struct latency_samples){ 0 };
}

static void *stress_actor_main(void *p)
{
	struct stress_actor *a = p;
	struct test_rng rng;
	uint64_t gap;

	test_rng_init(&rng, a->rng_stream);
	while (!atomic_load(&a->stop)) {
		a->step(a->ctx, &rng);
		gap = test_rng_below(&rng, a->max_gap_us + 1);
		if (gap)
			usleep(gap);
	}
	return NULL;
}

void stress_actor_start(struct stress_actor *a)
{
	atomic_store(&a->stop, false);
	TEST_ASSERT(!pthread_create(&a->thread, NULL, stress_actor_main, a),
		    "pthread_create failed");
}

void stress_actor_stop(struct stress_actor *a)
{
	atomic_store(&a->stop, true);
	pthread_join(a->thread, NULL);
}

void stress_run_begin(struct stress_run *run, const struct stress_run_config *config,
		      const pid_t *tids, unsigned int n)
{
	uint64_t one_window = (config->window_ms + config->monitor_ms) * NS_PER_MS;
	unsigned int i;

	TEST_ASSERT(n <= STARVATION_MAX_THREADS, "a stress run watches at most %d threads",
		    STARVATION_MAX_THREADS);
	*run = (struct stress_run){ .config = *config, .n = n };
	for (i = 0; i < n; i++)
		run->tid[i] = tids[i];
	run->start_ns = run->now_ns = now_ns();
	/* At least one whole progress window, so progress is always judged. */
	run->end_min_ns = run->start_ns + config->duration_s * NS_PER_S;
	if (run->end_min_ns < run->start_ns + one_window)
		run->end_min_ns = run->start_ns + one_window;
	run->end_max_ns = run->end_min_ns + config->max_extra_s * NS_PER_S;
	run->window_end_ns = run->start_ns + config->window_ms * NS_PER_MS;
	starvation_window_begin(&run->window, run->tid, n);
}

bool stress_run_tick(struct stress_run *run)
{
	/* The window judged at the last tick is followed by the next one. */
	if (run->now_ns >= run->window_end_ns) {
		run->window_end_ns = run->now_ns + run->config.window_ms * NS_PER_MS;
		starvation_window_begin(&run->window, run->tid, run->n);
	}
	starvation_sleep_us(&run->window, run->config.monitor_ms * 1000);
	run->now_ns = now_ns();
	return run->now_ns >= run->window_end_ns;
}

bool stress_window_judged(struct stress_run *run, unsigned int i, uint64_t progress,
			  uint64_t *before)
{
	bool starved;
	char why[128];

	*before = run->last[i];
	run->last[i] = progress;
	starved = progress == *before &&
		  starvation_window_starved(&run->window, i, why, sizeof(why));
	if (starved) {
		run->starved_windows++;
		test_verbose("%s %u: no progress in a window the host starved (%s): not judged",
			     run->config.thread_name, i, why);
		return false;
	}
	run->judged_windows[i]++;
	return true;
}

static bool stress_every_thread_judged(const struct stress_run *run)
{
	for (unsigned int i = 0; i < run->n; i++)
		if (!run->judged_windows[i])
			return false;
	return true;
}

bool stress_run_over(struct stress_run *run, uint64_t iterations)
{
	return (run->now_ns >= run->end_min_ns && iterations >= run->config.min_iterations &&
		stress_every_thread_judged(run)) || run->now_ns >= run->end_max_ns;
}

uint64_t stress_run_elapsed_ms(const struct stress_run *run)
{
	return (run->now_ns - run->start_ns) / NS_PER_MS;
}

void stress_run_end(struct stress_run *run)
{
	for (unsigned int i = 0; i < run->n; i++)
		TEST_ASSERT(run->judged_windows[i], "%s %u: the host starved every progress window "
			    "of %" PRIu64 " ms in %u s, so its progress could not be judged",
			    run->config.thread_name, i, run->config.window_ms,
			    (unsigned int)((run->now_ns - run->start_ns) / NS_PER_S));
	if (run->starved_windows)
		test_diag("%" PRIu64 " %s progress windows not judged: the host starved them of CPU",
			  run->starved_windows, run->config.thread_name);
}
