// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU on its own thread, run on request. See include/vcpu_runner.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "stats.h"
#include "threads.h"
#include "vcpu_runner.h"

/* Between looks at a guest counter or a statistic. */
#define WATCH_POLL_US 100

static void vcpu_runner_thread(struct vcpu *vcpu)
{
	struct vcpu_runner *r = vcpu->test_data;
	uint64_t done = 0;
	enum vcpu_runner_op op;

	if (r->kick == VCPU_RUNNER_KICK_MASKED_OUTSIDE_RUN)
		vcpu_thread_mask_kick_outside_run(vcpu);
	if (r->kick == VCPU_RUNNER_KICK_BLOCKED)
		thread_block_kick();
	kick_handler_attach(&r->handler);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (r->requested == done)
			pthread_cond_wait(&r->cond, &r->lock);
		op = r->op;
		pthread_mutex_unlock(&r->lock);

		switch (op) {
		case VCPU_RUNNER_RUN:
			r->msg = vcpu_next_msg(vcpu, &r->err);
			r->exit_reason = vcpu->run->exit_reason;
			break;
		case VCPU_RUNNER_CALL:
			r->answer = r->fn(r);
			break;
		case VCPU_RUNNER_EXIT:
			break;
		}
		pthread_mutex_lock(&r->lock);
		r->completed = ++done;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		if (op == VCPU_RUNNER_EXIT)
			return;
	}
}

struct vcpu_runner *vcpu_runner_create(struct vcpu *vcpu, enum vcpu_runner_kick kick)
{
	struct vcpu_runner *r = calloc(1, sizeof(*r));
	pthread_condattr_t attr;

	TEST_ASSERT(r, "out of memory");
	r->vcpu = vcpu;
	r->kick = kick;
	r->handler.vcpu = vcpu;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &attr);
	pthread_condattr_destroy(&attr);
	vcpu->test_data = r;
	vcpu_thread_start(vcpu, vcpu_runner_thread);
	return r;
}

static void vcpu_runner_request(struct vcpu_runner *r, enum vcpu_runner_op op)
{
	pthread_mutex_lock(&r->lock);
	TEST_ASSERT(r->completed == r->requested, "vCPU %u's thread is still busy", r->vcpu->id);
	r->op = op;
	r->requested++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void vcpu_runner_run(struct vcpu_runner *r)
{
	vcpu_runner_request(r, VCPU_RUNNER_RUN);
}

bool vcpu_runner_done(struct vcpu_runner *r)
{
	bool done;

	pthread_mutex_lock(&r->lock);
	done = r->completed == r->requested;
	pthread_mutex_unlock(&r->lock);
	return done;
}

bool vcpu_runner_wait(struct vcpu_runner *r, uint64_t timeout_ms)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;
	struct timespec ts = { .tv_sec = deadline / 1000000000ull,
			       .tv_nsec = deadline % 1000000000ull };
	bool done;

	pthread_mutex_lock(&r->lock);
	while (r->completed != r->requested &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	done = r->completed == r->requested;
	pthread_mutex_unlock(&r->lock);
	return done;
}

void vcpu_runner_wait_exit(struct vcpu_runner *r, uint64_t timeout_ms, const char *what)
{
	TEST_ASSERT(vcpu_runner_wait(r, timeout_ms), "%s: vCPU %u still inside KVM_RUN after %"
		    PRIu64 " ms", what, r->vcpu->id, timeout_ms);
}

bool vcpu_runner_call(struct vcpu_runner *r, bool (*fn)(struct vcpu_runner *r))
{
	r->fn = fn;
	vcpu_runner_request(r, VCPU_RUNNER_CALL);
	TEST_ASSERT(vcpu_runner_wait(r, host_limit_ms(VCPU_RUNNER_CALL_NATIVE_MS)),
		    "vCPU %u's thread did not answer", r->vcpu->id);
	return r->answer;
}

static bool call_kick_pending(struct vcpu_runner *r) { return kick_pending(); }
static bool call_kick_consume(struct vcpu_runner *r) { return kick_consume(); }

bool vcpu_runner_kick_pending(struct vcpu_runner *r)
{
	return vcpu_runner_call(r, call_kick_pending);
}

bool vcpu_runner_kick_consume(struct vcpu_runner *r)
{
	return vcpu_runner_call(r, call_kick_consume);
}

void vcpu_runner_stop(struct vcpu_runner *r)
{
	struct vcpu *vcpu = r->vcpu;

	vcpu_runner_request(r, VCPU_RUNNER_EXIT);
	TEST_ASSERT(vcpu_runner_wait(r, host_limit_ms(VCPU_RUNNER_CALL_NATIVE_MS)),
		    "vCPU %u's thread did not stop", vcpu->id);
	vcpu_thread_join(vcpu);
	vcpu->test_data = NULL;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

const char *vcpu_runner_result(struct vcpu_runner *r)
{
	char exit[256];

	if (r->msg)
		snprintf(r->result, sizeof(r->result), "guest message %s from %s:%u",
			 r->msg->type == GUEST_MSG_SYNC ? "GUEST_SYNC" : "GUEST_DONE",
			 r->msg->file, r->msg->line);
	else if (r->err)
		snprintf(r->result, sizeof(r->result), "KVM_RUN failed with %s, exit_reason %s",
			 strerrorname_np(r->err), exit_reason_name(r->exit_reason));
	else {
		vcpu_describe_exit(r->vcpu, exit, sizeof(exit));
		snprintf(r->result, sizeof(r->result), "KVM_RUN returned 0: %s", exit);
	}
	return r->result;
}

void vcpu_runner_expect_signal_exit(struct vcpu_runner *r, const char *what)
{
	TEST_ASSERT(!r->msg && r->err == EINTR && r->exit_reason == KVM_EXIT_INTR,
		    "%s: expected KVM_RUN to fail with EINTR and exit_reason KVM_EXIT_INTR, got %s",
		    what, vcpu_runner_result(r));
}

void vcpu_runner_expect_eintr(struct vcpu_runner *r, const char *what)
{
	TEST_ASSERT(!r->msg && r->err == EINTR, "%s: expected KVM_RUN to fail with EINTR, got %s",
		    what, vcpu_runner_result(r));
}

struct guest_msg *vcpu_runner_expect_sync(struct vcpu_runner *r, const char *what)
{
	TEST_ASSERT(r->msg && r->msg->type == GUEST_MSG_SYNC, "%s: expected a GUEST_SYNC, got %s",
		    what, vcpu_runner_result(r));
	return r->msg;
}

/* ---- watching a running guest ---- */

void wait_guest_progress(volatile uint64_t *counter, uint64_t value, uint64_t timeout_ms,
			 const char *what)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;

	while (*counter <= value) {
		TEST_ASSERT(now_ns() < deadline, "%s: no guest progress in %" PRIu64 " ms (stuck at %"
			    PRIu64 ")", what, timeout_ms, *counter);
		usleep(WATCH_POLL_US);
	}
}

void expect_guest_quiet(volatile uint64_t *counter, uint64_t quiet_us, const char *what)
{
	uint64_t v = *counter;

	usleep(quiet_us);
	TEST_ASSERT(*counter == v, "%s: guest still running after KVM_RUN returned (%" PRIu64
		    " -> %" PRIu64 ")", what, v, *counter);
}

bool vcpu_open_blocking_stat(struct vcpu *vcpu)
{
	uint64_t v;

	if (__vcpu_stat(vcpu, "blocking", &v))
		return true;
	test_diag("no 'blocking' statistic (before 5.17): waiting %u ms for HLT to block",
		  VCPU_BLOCK_SETTLE_MS);
	return false;
}

void vcpu_wait_blocked(struct vcpu *vcpu, volatile uint64_t *reached, uint64_t value,
		       bool have_blocking, uint64_t timeout_ms)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;
	uint64_t blocking = 0;

	while (*reached < value || !vcpu_in_run(vcpu) ||
	       (have_blocking && (__vcpu_stat(vcpu, "blocking", &blocking), !blocking))) {
		TEST_ASSERT(now_ns() < deadline, "vCPU %u did not block inside KVM_RUN within %"
			    PRIu64 " ms (guest reached halt %" PRIu64 " of %" PRIu64 ", blocking %"
			    PRIu64 ")", vcpu->id, timeout_ms, *reached, value, blocking);
		usleep(WATCH_POLL_US);
	}
	if (!have_blocking)
		usleep(VCPU_BLOCK_SETTLE_MS * 1000);
}
