// SPDX-License-Identifier: GPL-2.0
/*
 * A kick storm: random signals to spinning and halting vCPUs, each of which
 * must end exactly one KVM_RUN with EINTR within a bound, while every guest
 * keeps making progress.
 *
 * The stress form of x86_64/kick (the same seed: E. G. Esposito, "KVM: use
 * signals to abort enter_guest/blocking and retry", Oct 2022): kicks land in
 * guest mode, in a blocked HLT and outside KVM_RUN, in random order and
 * timing (--seed), with KVM_SET_SIGNAL_MASK closing the race outside
 * KVM_RUN. The bookkeeping is exact (a lock per vCPU shared by the kicker
 * and the vCPU thread): a kick sent while the previous one is still queued
 * merges with it, every other kick must end exactly one KVM_RUN.
 *
 * A failure means a kick lost (a VMM that waits for it hangs), answered
 * twice or spuriously, or a guest that stopped running under kicks.
 * Only the kicks send signals, and halters are woken only by the host's
 * MSIs, so an EINTR without a queued kick or a HLT that completes without
 * an interrupt has no other source. Latencies are diagnostics.
 *
 * Negative controls (--negative-control N; each must make the case fail):
 *   1  vCPU 0's thread blocks kicks without the KVM signal mask; the
 *      monitor reports the unanswered kick.
 *   2  vCPU 0's guest stops making progress.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "apic.h"
#include "host.h"
#include "stress.h"
#include "threads.h"
#include "vcpu_kick.h"
#include "vm.h"
#include "workers.h"

#define STRESS_DEFAULT_DURATION_S 5
#define STRESS_DEFAULT_MIN_KICKS 10000
#define STRESS_MAX_EXTRA_S      20      /* beyond --duration to reach the minimum */
/*
 * The monitor checks the kick bound every millisecond, as pi/wakeup's does.
 * Its timer also keeps single-threaded TCG's turns short: there a sleeping
 * thread (the kicker between kicks) wakes only when the emulator passes the
 * turn to its CPU, which a busy vCPU keeps until its next interrupt, up to
 * a 250 Hz tick later (docs/emulators.md, "Timers under single-threaded
 * TCG"). There, in a VM alone, the same 10,000 kicks took 22-24 s with
 * a 10 ms monitor and 12-14 s with this one: the same kinds of kick,
 * merged as often.
 */
#define STRESS_MONITOR_MS       1
#define STRESS_WAKE_ONE_IN      8       /* one action in 8 wakes a halter */
#define STRESS_FINISH_NATIVE_MS 200

enum { NC_NONE, NC_LOST_KICK, NC_STALL };

TEST_NEGATIVE_CONTROLS("1-2, see the file header");
static uint64_t kick_bound_ms = 2000;
TEST_OPTION("kick-bound-ms", kick_bound_ms,
	    "longest a kick may take to end KVM_RUN before it counts as lost");
static uint64_t stress_vcpus = 4;
TEST_OPTION("vcpus", stress_vcpus, "vCPUs (half spin, half halt)");
static uint64_t stress_gap_us = 200;
TEST_OPTION("kick-gap-us", stress_gap_us, "largest random pause between kicks");
static uint64_t progress_window_ms = 2000;
TEST_OPTION("progress-window-ms", progress_window_ms,
	    "every vCPU must make guest progress in each window");

enum kick_kind { KICK_SPINNING, KICK_HALTED, KICK_OUTSIDE, NR_KICK_KINDS };
static const char *const kick_kind_name[NR_KICK_KINDS] = {
	"kick to a spinning vCPU", "kick to a vCPU halted in KVM_RUN",
	"kick to a vCPU thread outside KVM_RUN",
};

/*
 * Kick bookkeeping per vCPU, under a lock shared by the kicker and the vCPU
 * thread, so it is exact: a kick sent while the previous one is still queued
 * merges with it (one standard signal, one EINTR) and is counted as merged;
 * every other kick must end exactly one KVM_RUN with EINTR.
 */
struct stress_vcpu {
	struct vcpu *vcpu;
	struct worker *w;
	pthread_mutex_t lock;
	bool pending;                   /* a kick is queued and not yet answered */
	uint64_t pending_since;
	enum kick_kind pending_kind;
	uint64_t sent, merged, answered, syncs, window_kicks;
	struct latency_samples latency[NR_KICK_KINDS];
	atomic_bool done;
	bool no_kvm_mask;               /* negative control 9 */
};

struct stress {
	struct vm *vm;
	struct workers_shared *s;
	unsigned int n;
	struct stress_vcpu v[WORKERS_MAX];
	uint64_t wakes;
};

static void stress_kick(struct stress_vcpu *sv)
{
	enum kick_kind kind;

	pthread_mutex_lock(&sv->lock);
	kind = !vcpu_in_run(sv->vcpu) ? KICK_OUTSIDE : sv->w->halted ? KICK_HALTED : KICK_SPINNING;
	if (sv->pending) {
		sv->merged++;
	} else {
		sv->pending = true;
		sv->pending_since = now_ns();
		sv->pending_kind = kind;
	}
	sv->sent++;
	sv->window_kicks++;
	pthread_kill(sv->vcpu->thread, KICK_SIGNAL);
	pthread_mutex_unlock(&sv->lock);
}

/* The kicker's step: a kick to a random vCPU, now and then a halter's wakeup. */
static void stress_kick_or_wake(void *ctx, struct test_rng *rng)
{
	struct stress *st = ctx;
	struct stress_vcpu *sv = &st->v[test_rng_below(rng, st->n)];

	if (sv->w->halter && !test_rng_below(rng, STRESS_WAKE_ONE_IN)) {
		vm_signal_msi(st->vm, sv->vcpu->id, WORKER_WAKE_VECTOR);
		st->wakes++;
	} else {
		stress_kick(sv);
	}
}

/* On the vCPU thread, after KVM_RUN returned EINTR at time t. */
static void stress_answer_kick(struct stress_vcpu *sv, uint64_t t)
{
	struct vcpu *vcpu = sv->vcpu;
	enum kick_kind kind;
	uint64_t since;

	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_INTR, "vCPU %u: KVM_RUN failed with EINTR "
		    "but exit_reason is %s", vcpu->id, exit_reason_name(vcpu->run->exit_reason));
	pthread_mutex_lock(&sv->lock);
	TEST_ASSERT(sv->pending, "vCPU %u: KVM_RUN returned EINTR with no kick outstanding (a "
		    "second EINTR for one kick, or a spurious one) after %" PRIu64 " answered kicks",
		    vcpu->id, sv->answered);
	TEST_ASSERT(kick_consume(), "vCPU %u: KVM_RUN returned EINTR but the kick is no longer "
		    "queued in the thread", vcpu->id);
	since = sv->pending_since;
	kind = sv->pending_kind;
	sv->pending = false;
	sv->answered++;
	pthread_mutex_unlock(&sv->lock);
	latency_samples_add(&sv->latency[kind], t > since ? t - since : 0);
}

static void stress_vcpu_thread(struct vcpu *vcpu)
{
	struct stress_vcpu *sv = vcpu->test_data;
	struct guest_msg *msg;
	char desc[256];
	bool pending;
	int err, ret;

	if (sv->no_kvm_mask)
		thread_block_kick();
	else
		vcpu_thread_mask_kick_outside_run(vcpu);
	for (;;) {
		msg = vcpu_next_msg(vcpu, &err);
		if (msg && msg->type == GUEST_MSG_DONE)
			break;
		if (msg) {
			sv->syncs++;
			continue;
		}
		if (err != EINTR) {
			vcpu_describe_exit(vcpu, desc, sizeof(desc));
			test_fail("vCPU %u: unexpected %s%s", vcpu->id, err ? "KVM_RUN error " : "exit ",
				  err ? strerror(err) : desc);
		}
		stress_answer_kick(sv, now_ns());
	}
	/* A kick still queued must end one more KVM_RUN at once. */
	for (;;) {
		pthread_mutex_lock(&sv->lock);
		pending = sv->pending;
		pthread_mutex_unlock(&sv->lock);
		if (!pending)
			break;
		ret = vcpu_run(vcpu);
		TEST_ASSERT(ret == -EINTR, "vCPU %u: KVM_RUN with a kick queued after the guest "
			    "finished: expected EINTR, got %s", vcpu->id,
			    ret ? strerrorname_np(-ret) : "success");
		stress_answer_kick(sv, now_ns());
	}
	atomic_store(&sv->done, true);
}

/* Every queued kick must end KVM_RUN within the bound; whether one is
 * still queued. */
static bool stress_check_bound(struct stress *st)
{
	uint64_t now = now_ns();
	bool queued = false;
	unsigned int i;

	for (i = 0; i < st->n; i++) {
		struct stress_vcpu *sv = &st->v[i];
		uint64_t age = 0, sent;
		enum kick_kind kind = KICK_SPINNING;

		pthread_mutex_lock(&sv->lock);
		if (sv->pending && now > sv->pending_since)
			age = now - sv->pending_since;
		kind = sv->pending_kind;
		sent = sv->sent;
		queued |= sv->pending;
		pthread_mutex_unlock(&sv->lock);
		TEST_ASSERT(age <= kick_bound_ms * 1000000ull, "vCPU %u: a %s sent %" PRIu64 " ms ago "
			    "has not ended KVM_RUN (bound %" PRIu64 " ms; thread %s KVM_RUN; %" PRIu64
			    " kicks sent to it)", i, kick_kind_name[kind], age / 1000000, kick_bound_ms,
			    vcpu_in_run(sv->vcpu) ? "inside" : "outside", sent);
	}
	return queued;
}

/* At the end of a progress window: every vCPU made guest progress in it,
 * unless the host starved it of CPU time (stress_window_judged()). */
static void stress_check_progress(struct stress *st, struct stress_run *run)
{
	unsigned int i;

	for (i = 0; i < st->n; i++) {
		struct stress_vcpu *sv = &st->v[i];
		uint64_t progress = sv->w->progress, before, kicks;

		pthread_mutex_lock(&sv->lock);
		kicks = sv->window_kicks;
		sv->window_kicks = 0;
		pthread_mutex_unlock(&sv->lock);
		if (stress_window_judged(run, i, progress, &before))
			TEST_ASSERT(progress > before, "vCPU %u (%s) made no guest progress in %"
				    PRIu64 " ms (progress %" PRIu64 "; %" PRIu64 " kicks to it in that "
				    "time)", i, sv->w->halter ? "halting" : "spinning",
				    progress_window_ms, progress, kicks);
		/* Halters progress per interrupt: give each one per window. */
		if (sv->w->halter)
			vm_signal_msi(st->vm, i, WORKER_WAKE_VECTOR);
	}
}

static uint64_t stress_kicks_sent(struct stress *st)
{
	uint64_t sent = 0;

	for (unsigned int i = 0; i < st->n; i++)
		sent += __atomic_load_n(&st->v[i].sent, __ATOMIC_RELAXED);
	return sent;
}

/*
 * With the kicker stopped: first every kick still queued is answered on
 * its own, within the bound (the finish's wakeup interrupts would end a
 * halt that a lost kick left blocked, and its EINTR would then pass for
 * an answer); then the guests return (halters need an interrupt to see
 * it).
 */
static void stress_finish(struct stress *st)
{
	uint64_t limit_ms = host_limit_ms(STRESS_FINISH_NATIVE_MS);
	uint64_t deadline;
	unsigned int i;

	while (stress_check_bound(st))
		usleep(STRESS_MONITOR_MS * 1000);
	deadline = now_ns() + limit_ms * 1000000ull;
	st->s->finish = 1;
	for (i = 0; i < st->n; i++)
		if (st->v[i].w->halter)
			vm_signal_msi(st->vm, i, WORKER_WAKE_VECTOR);
	for (i = 0; i < st->n; i++) {
		while (!atomic_load(&st->v[i].done)) {
			stress_check_bound(st);
			TEST_ASSERT(now_ns() < deadline, "vCPU %u did not finish within %" PRIu64
				    " ms after the kicks stopped (thread %s KVM_RUN)", i, limit_ms,
				    vcpu_in_run(st->v[i].vcpu) ? "inside" : "outside");
			usleep(STRESS_MONITOR_MS * 1000);
		}
		vcpu_thread_join(st->v[i].vcpu);
	}
}

/* Every kick answered by one EINTR or merged; counts and latencies as diagnostics. */
static void stress_report(struct stress *st, const struct stress_run *run)
{
	uint64_t sent = 0, merged = 0, answered = 0, syncs = 0;
	struct latency_samples all = { 0 }, kind[NR_KICK_KINDS] = { 0 };
	unsigned int i, k;

	for (i = 0; i < st->n; i++) {
		struct stress_vcpu *sv = &st->v[i];

		expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, sv->w->in_shadow, "vCPU %u: wakeup "
				  "interrupts taken between STI and HLT, inside STI's interrupt "
				  "shadow", i);
		expect_no_anomaly(HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE, sv->w->causeless, "vCPU %u: "
				  "HLTs completed without an interrupt (woken by a kick?)", i);
		TEST_ASSERT(sv->sent == sv->answered + sv->merged, "vCPU %u: %" PRIu64 " kicks sent, "
			    "%" PRIu64 " answered by EINTR, %" PRIu64 " merged", i, sv->sent,
			    sv->answered, sv->merged);
		sent += sv->sent;
		merged += sv->merged;
		answered += sv->answered;
		syncs += sv->syncs;
		for (k = 0; k < NR_KICK_KINDS; k++) {
			latency_samples_append(&all, &sv->latency[k]);
			latency_samples_append(&kind[k], &sv->latency[k]);
		}
		test_diag("vCPU %u (%s): %" PRIu64 " kicks, %" PRIu64 " EINTR, %" PRIu64 " merged, "
			  "guest progress %" PRIu64 ", %" PRIu64 " normal exits", i,
			  sv->w->halter ? "halting" : "spinning", sv->sent, sv->answered, sv->merged,
			  sv->w->progress, sv->syncs);
	}
	test_diag("%" PRIu64 " kicks in %" PRIu64 " ms: %" PRIu64 " EINTR returns, %" PRIu64
		  " merged with a queued kick, %" PRIu64 " wakeup interrupts, %" PRIu64
		  " normal exits", sent, (now_ns() - run->start_ns) / 1000000, answered, merged,
		  st->wakes, syncs);
	/* Fewer than the minimum: a slow host, stopped STRESS_MAX_EXTRA_S past --duration. */
	test_stress_work(sent, run->config.min_iterations, "kicks");
	for (k = 0; k < NR_KICK_KINDS; k++) {
		if (kind[k].count)
			test_diag_latency(kick_kind_name[k], kind[k].ns, kind[k].count);
		latency_samples_free(&kind[k]);
	}
	test_diag_latency("kick to EINTR, all", all.ns, all.count);
	latency_samples_free(&all);
}

TEST_CONTROL(stress, 1, "passes", "--duration 3 --iterations 100",
	     "vCPU 0's thread blocks kicks without the KVM signal mask",
	     "vCPU 0: a kick to a (spinning vCPU|vCPU halted in KVM_RUN|vCPU thread outside KVM_RUN) sent [0-9]+ ms ago has not ended KVM_RUN");
TEST_CONTROL(stress, 2, "passes", "--duration 3 --iterations 100",
	     "vCPU 0's guest stops making progress",
	     "vCPU 0 \\((halting|spinning)\\) made no guest progress in [0-9]+ ms");
TEST_CASE(stress, "random kicks to spinning and halting vCPUs each end exactly one KVM_RUN "
	  "with EINTR within the bound, and the guests keep making progress",
	  .wait_s = STRESS_DEFAULT_DURATION_S + STRESS_MAX_EXTRA_S, .stress = true)
{
	struct vm_options opts = { .irqchip = true };
	const struct stress_run_config config = {
		.duration_s = test_duration(STRESS_DEFAULT_DURATION_S),
		.min_iterations = test_iterations(STRESS_DEFAULT_MIN_KICKS),
		.max_extra_s = STRESS_MAX_EXTRA_S,
		.window_ms = progress_window_ms,
		.monitor_ms = STRESS_MONITOR_MS,
		.thread_name = "vCPU",
	};
	struct stress *st = calloc(1, sizeof(*st));
	struct stress_actor kicker = { .step = stress_kick_or_wake, .ctx = st,
				       .max_gap_us = stress_gap_us, .rng_stream = 1 };
	struct stress_run run;
	pid_t tids[WORKERS_MAX];
	struct test_rng rng;
	unsigned int i, halter_parity, ticks = 0;
	uint64_t sent;

	TEST_ASSERT(st, "out of memory");
	TEST_ASSERT(stress_vcpus >= 1 && stress_vcpus <= WORKERS_MAX, "--vcpus must be 1..%d",
		    WORKERS_MAX);
	TEST_REQUIRE((uint64_t)kvm_check_cap(KVM_CAP_MAX_VCPUS) >= stress_vcpus,
		     "KVM_CAP_MAX_VCPUS is %d, below --vcpus %" PRIu64,
		     kvm_check_cap(KVM_CAP_MAX_VCPUS), stress_vcpus);
	test_rng_init(&rng, 0);
	halter_parity = test_rng_below(&rng, 2);
	st->n = stress_vcpus;
	st->vm = vm_create(&opts);
	st->s = vm_alloc(st->vm, sizeof(*st->s));
	vm_set_handler(st->vm, WORKER_WAKE_VECTOR, worker_wake);
	vm_set_guest_data(st->vm, st->s);
	st->s->causeless_allowed = host_has_quirk(HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE);
	for (i = 0; i < st->n; i++) {
		struct stress_vcpu *sv = &st->v[i];

		sv->w = &st->s->w[i];
		sv->w->halter = st->n > 1 && i % 2 == halter_parity;
		sv->vcpu = vcpu_add(st->vm, i, worker_guest, st->s);
		sv->vcpu->test_data = sv;
		pthread_mutex_init(&sv->lock, NULL);
	}
	if (test_opts.negative_control == NC_LOST_KICK)
		st->v[0].no_kvm_mask = true;
	if (test_opts.negative_control == NC_STALL)
		st->s->w[0].stall = 1;
	test_diag("%u vCPUs (%u halting), kicks for %" PRIu64 " s and at least %" PRIu64
		  " kicks (at most %" PRIu64 " s), bound %" PRIu64 " ms", st->n,
		  st->n > 1 ? (st->n + !halter_parity) / 2 : 0, config.duration_s,
		  config.min_iterations, config.duration_s + STRESS_MAX_EXTRA_S, kick_bound_ms);

	for (i = 0; i < st->n; i++) {
		vcpu_thread_start(st->v[i].vcpu, stress_vcpu_thread);
		tids[i] = st->v[i].vcpu->tid;
	}
	stress_actor_start(&kicker);
	stress_run_begin(&run, &config, tids, st->n);
	do {
		bool window_over = stress_run_tick(&run);

		stress_check_bound(st);
		if (window_over)
			stress_check_progress(st, &run);
		sent = stress_kicks_sent(st);
		/* Every 10th tick: -v prints each progress line. */
		if (!(++ticks % 10))
			test_progress("%" PRIu64 " kicks after %" PRIu64 " ms", sent,
				      stress_run_elapsed_ms(&run));
	} while (!stress_run_over(&run, sent));
	stress_run_end(&run);
	/* Stop in two phases: no more kicks, then the guests may finish. */
	stress_actor_stop(&kicker);
	stress_finish(st);
	stress_report(st, &run);
	vm_destroy(st->vm);
}
