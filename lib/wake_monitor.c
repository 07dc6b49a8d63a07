// SPDX-License-Identifier: GPL-2.0
/* The lost-wakeup monitor. See include/wake_monitor.h. */
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "host.h"
#include "ktest.h"
#include "stats.h"
#include "wake_monitor.h"

/* What the monitor knows about one pending event. */
struct pending_watch {
	uint64_t handled;               /* progress last seen while pending */
	struct migration move;          /* the thread's last move when it was first seen */
	bool moved;
	uint64_t since_ns;              /* when the monitor first saw it pending */
	uint64_t halts;                 /* guest HLT count last seen ... */
	uint64_t halts_seen_ns;         /* ... and when it last changed */
	/* Each competitor's rounds when the monitor first saw it pending. */
	uint64_t rounds[WAKE_MONITOR_MAX_COMPETITORS];
};

struct wake_monitor {
	struct wake_monitor_opts opts;
	struct wake_channel ch[WAKE_MONITOR_MAX_CHANNELS];
	struct pending_watch watch[WAKE_MONITOR_MAX_CHANNELS];
	unsigned int nr_channels;
	/* Gaps in the monitor's own scans of a quarter of the bound or more. */
	unsigned int pauses;
	uint64_t longest_pause_ns;
	/* Bounds passed while the CPU of the event's vCPU ran nothing (a
	 * platform's quirk): the first such CPU and what ran on it. */
	unsigned int stalls;
	int stall_cpu;
	char stall_threads[96];
	atomic_bool stop;
	pthread_t thread;
};

/* The one CPU the thread may run on, or -1. */
static int pinned_cpu(pid_t tid)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(tid, sizeof(set), &set) || CPU_COUNT(&set) != 1)
		return -1;
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	return cpu;
}

/* The index of the competitor on the one CPU v's thread is pinned to (*cpu,
 * -1 when not pinned), or -1 when there is none. */
static int cpu_competitor(struct wake_monitor *m, struct vcpu *v, int *cpu)
{
	unsigned int i;

	*cpu = pinned_cpu(v->tid);
	for (i = 0; *cpu >= 0 && i < m->opts.nr_competitors; i++) {
		struct competitor *c = m->opts.competitors[i];

		if (c && competitor_cpu(c) == *cpu)
			return (int)i;
	}
	return -1;
}

/* What showed that a CPU ran nothing, in the failure's words. */
struct stall_witness {
	const char *where;              /* "where its thread is pinned" */
	const char *evidence;           /* "its competing thread's last round" */
};

static const struct stall_witness competitor_witness = {
	"where its thread is pinned", "its competing thread's last round",
};
static const struct stall_witness migrator_witness = {
	"where the migrator sleeps",
	"the migrator's overdue wakeup; nothing moved the case's threads meanwhile",
};

/*
 * Whether a CPU the event depends on ran nothing for long enough that the
 * time says nothing about KVM: *cpu which, *quiet_ms for how long, *witness
 * what showed it (for the report). Two witnesses, each a thread of the
 * case that sleeps on one CPU's timers, apart from any vCPU's wakeup:
 * - the competitor pinned with the event's vCPU thread: it sleeps between
 *   short busy spells, so when its last round ended less than the bound
 *   after the event was first seen pending, the CPU has run nothing since,
 *   neither that thread nor KVM's timers and wakeups;
 * - the migrator, where threads migrate: its sleeps between moves last a
 *   fraction of a millisecond (a few under TCG), so one overdue by half
 *   the bound means the CPU it sleeps on ran nothing for that long, and
 *   that nothing moved the case's threads, whose moves' IPIs end such a
 *   stall (a vCPU timer waiting on that CPU did not fire either, in the
 *   case seen: docs/emulators.md, "In a migrating case").
 */
static bool cpu_stalled(struct wake_monitor *m, struct vcpu *v, struct pending_watch *w,
			uint64_t now, int *cpu, uint64_t *quiet_ms,
			const struct stall_witness **witness)
{
	int k = cpu_competitor(m, v, cpu);
	uint64_t last, overdue;

	if (k >= 0) {
		last = competitor_last_round_ns(m->opts.competitors[k]);
		*quiet_ms = now > last ? (now - last) / 1000000 : 0;
		*witness = &competitor_witness;
		return last < w->since_ns + m->opts.bound_ms * 1000000;
	}
	if (m->opts.nr_competitors || !m->opts.migrator)
		return false;
	overdue = migrator_overdue_ns(m->opts.migrator, now, cpu);
	*quiet_ms = overdue / 1000000;
	*witness = &migrator_witness;
	return *cpu >= 0 && overdue >= m->opts.bound_ms * 1000000 / 2;
}

/* "vCPU 1 S, vCPU 3 R": the tracked vCPUs whose threads last ran on cpu. */
static void threads_on_cpu(struct wake_monitor *m, int cpu, char *buf, size_t len)
{
	uint64_t listed = 0;
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < m->nr_channels && n < len; i++) {
		struct vcpu *v = m->ch[i].vcpu;
		char state = '?';
		int where = -1;

		if (v->id >= 64 || (listed & (1ull << v->id)) ||
		    thread_where(v->tid, &where, &state) || where != cpu)
			continue;
		listed |= 1ull << v->id;
		n += (size_t)snprintf(buf + n, len - n, "%svCPU %u %c", n ? ", " : "", v->id, state);
	}
}

/* A vCPU thread pinned with competitors: where, and whether the competitor
 * on its CPU kept running while the event was pending. */
static void describe_competition(struct wake_monitor *m, struct vcpu *v, struct pending_watch *w,
				 char *buf, size_t len)
{
	int cpu, k = cpu_competitor(m, v, &cpu);

	/* The competitor's rounds sleep in timers on that CPU: none means the
	 * CPU ran neither that thread nor its timers. */
	if (cpu < 0)
		snprintf(buf, len, "its thread is not pinned");
	else if (k < 0)
		snprintf(buf, len, "its thread is pinned to CPU %d with a competing thread", cpu);
	else
		snprintf(buf, len, "its thread is pinned to CPU %d with a competing thread, which "
			 "ran %" PRIu64 " rounds (each a timed sleep on that CPU) while the event "
			 "was pending", cpu, competitor_rounds(m->opts.competitors[k]) - w->rounds[k]);
}

static void describe_move(struct wake_monitor *m, struct vcpu *v, struct pending_watch *w,
			  char *buf, size_t len)
{
	struct migration mv = w->move, now;
	uint64_t sent_ns = w->since_ns;
	char to[32];

	if (m->opts.nr_competitors) {
		describe_competition(m, v, w, buf, len);
		return;
	}
	if (!migrator_last(m->opts.migrator, v->tid, &now)) {
		snprintf(buf, len, "its thread was never moved");
		return;
	}
	if (!w->moved) {
		snprintf(buf, len, "its thread was first moved after the send (%" PRIu64 " moves "
			 "since)", now.seq);
		return;
	}
	if (mv.to_cpu >= 0)
		snprintf(to, sizeof(to), "CPU %d", mv.to_cpu);
	else if (mv.to_node >= 0)
		snprintf(to, sizeof(to), "node %d", mv.to_node);
	else
		snprintf(to, sizeof(to), "all CPUs");
	snprintf(buf, len, "its thread was moved from CPU %d to %s %" PRIu64 " us before the "
		 "send (thread state %c), %" PRIu64 " more moves since", mv.from_cpu, to,
		 (sent_ns - mv.when_ns) / 1000, mv.state, now.seq - mv.seq);
}

/* stalled_cpu >= 0: that CPU ran nothing for the last quiet_ms, as witness
 * (cpu_stalled()) says, so the report blames that CPU, not KVM. */
static __attribute__((noreturn))
void report_lost_wakeup(struct wake_monitor *m, struct wake_channel *c, struct pending_watch *w,
			uint64_t now, int stalled_cpu, uint64_t quiet_ms,
			const struct stall_witness *witness)
{
	struct vcpu *v = c->vcpu;
	uint64_t blocking = 0, pending_ms = (now - w->since_ns) / 1000000;
	uint64_t blocked_ms = (now - w->halts_seen_ns) / 1000000;
	bool halted = *c->halts > *c->wakes, stalled = stalled_cpu >= 0;
	char move[200], what[64], state = '?';
	int cpu = -1;

	c->describe(c, what, sizeof(what));
	thread_where(v->tid, &cpu, &state);
	__vcpu_stat(v, "blocking", &blocking);
	describe_move(m, v, w, move, sizeof(move));
	test_diag("%s: vCPU %u, %s; guest %s (HLT #%" PRIu64 ", its HLT count last moved %" PRIu64
		  " ms ago); KVM 'blocking' = %" PRIu64 "; host thread %d in state %c on CPU %d; %s",
		  stalled ? "stalled CPU" : "lost wakeup", v->id, what,
		  halted ? "halted" : "not halted", *c->halts, blocked_ms, blocking, v->tid, state,
		  cpu, move);
	if (stalled)
		test_fail("vCPU %u did not handle %s within %" PRIu64 " ms, but CPU %d, %s, has "
			  "run nothing for the last %" PRIu64 " ms (%s): a stalled CPU, not a wakeup "
			  "KVM lost", v->id, what, pending_ms, stalled_cpu, witness->where,
			  quiet_ms, witness->evidence);
	test_fail("lost wakeup: vCPU %u did not handle %s within %" PRIu64 " ms (%s for >= %"
		  PRIu64 " ms); %s", v->id, what, pending_ms, halted ? "blocked" : "running",
		  blocked_ms, move);
}

/* One channel: the clock runs from its last progress while pending. */
static void watch_channel(struct wake_monitor *m, unsigned int i, uint64_t now)
{
	struct wake_channel *c = &m->ch[i];
	struct pending_watch *w = &m->watch[i];
	uint64_t handled = __atomic_load_n(c->handled, __ATOMIC_ACQUIRE);
	uint64_t sent = __atomic_load_n(c->sent, __ATOMIC_ACQUIRE);
	uint64_t halts = *c->halts, quiet_ms = 0;
	const struct stall_witness *witness = NULL;
	int cpu = -1;

	if (halts != w->halts || !w->halts_seen_ns) {
		w->halts = halts;
		w->halts_seen_ns = now;
	}
	TEST_ASSERT(handled <= sent, "vCPU %u handled %" PRIu64 " wake interrupts but only %"
		    PRIu64 " were sent (one delivered twice?)", c->vcpu->id, handled, sent);
	if (handled == sent) {
		w->since_ns = 0;
		return;
	}
	if (!w->since_ns || w->handled != handled) {
		w->handled = handled;
		w->since_ns = now;
		w->moved = migrator_last(m->opts.migrator, c->vcpu->tid, &w->move);
		for (unsigned int k = 0; k < m->opts.nr_competitors; k++)
			if (m->opts.competitors[k])
				w->rounds[k] = competitor_rounds(m->opts.competitors[k]);
		return;
	}
	if (now - w->since_ns <= m->opts.bound_ms * 1000000)
		return;
	if (!cpu_stalled(m, c->vcpu, w, now, &cpu, &quiet_ms, &witness))
		report_lost_wakeup(m, c, w, now, -1, 0, NULL);
	if (!host_has_quirk(HOST_QUIRK_CPU_STALL))
		report_lost_wakeup(m, c, w, now, cpu, quiet_ms, witness);
	/* A platform known to stall its CPUs: counted from now, once the CPU
	 * runs again. */
	if (!__atomic_fetch_add(&m->stalls, 1, __ATOMIC_RELAXED)) {
		m->stall_cpu = cpu;
		threads_on_cpu(m, cpu, m->stall_threads, sizeof(m->stall_threads));
	}
	w->since_ns = 0;
}

/* The monitor did not run for a while: what it did not watch does not count. */
static void restart_clocks(struct wake_monitor *m, uint64_t now, uint64_t gap)
{
	__atomic_add_fetch(&m->pauses, 1, __ATOMIC_RELAXED);
	if (gap > m->longest_pause_ns)
		m->longest_pause_ns = gap;
	for (unsigned int i = 0; i < m->nr_channels; i++)
		if (m->watch[i].since_ns)
			m->watch[i].since_ns = now;
}

static void *monitor_main(void *arg)
{
	struct wake_monitor *m = arg;
	uint64_t last = now_ns(), pause_ns = m->opts.bound_ms * 1000000 / 4;
	unsigned int i;

	prctl(PR_SET_NAME, "wake-monitor");

	while (!atomic_load(&m->stop)) {
		uint64_t now = now_ns();

		if (now - last >= pause_ns)
			restart_clocks(m, now, now - last);
		last = now;
		for (i = 0; i < m->nr_channels; i++)
			watch_channel(m, i, now);
		usleep(m->opts.period_us);
	}
	return NULL;
}

struct wake_monitor *wake_monitor_start(const struct wake_channel *ch, unsigned int n,
					const struct wake_monitor_opts *opts)
{
	struct wake_monitor *m = calloc(1, sizeof(*m));

	TEST_ASSERT(m, "out of memory");
	TEST_ASSERT(n <= WAKE_MONITOR_MAX_CHANNELS, "%u wake channels, at most %d", n,
		    WAKE_MONITOR_MAX_CHANNELS);
	TEST_ASSERT(opts->nr_competitors <= WAKE_MONITOR_MAX_COMPETITORS, "%u competitors, at "
		    "most %d", opts->nr_competitors, WAKE_MONITOR_MAX_COMPETITORS);
	m->opts = *opts;
	memcpy(m->ch, ch, n * sizeof(*ch));
	m->nr_channels = n;
	TEST_ASSERT(!pthread_create(&m->thread, NULL, monitor_main, m), "pthread_create");
	return m;
}

unsigned int wake_monitor_restarts(struct wake_monitor *m)
{
	return __atomic_load_n(&m->pauses, __ATOMIC_RELAXED) +
	       __atomic_load_n(&m->stalls, __ATOMIC_RELAXED);
}

void wake_monitor_stop(struct wake_monitor *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	if (m->pauses)
		test_diag("lost-wakeup monitor: its scans paused %u time(s), the longest %" PRIu64
			  " ms (the process or the VM not run); each time the clock of pending "
			  "events started again", m->pauses, m->longest_pause_ns / 1000000);
	expect_no_anomaly(HOST_QUIRK_CPU_STALL, m->stalls, "an event pending for longer than the "
			  "bound while a CPU ran nothing (the competing thread pinned with the "
			  "vCPU, or the migrator, stopped), %u time(s), the first on CPU %d "
			  "(vCPU threads there: %s); each time its clock started again", m->stalls,
			  m->stall_cpu, m->stall_threads);
	free(m);
}
