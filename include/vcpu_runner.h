/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vCPU on its own thread, doing what the test asks, one request at a time,
 * while the test's thread watches, kicks and checks.
 *
 *   struct vcpu_runner *r = vcpu_runner_create(vcpu, VCPU_RUNNER_KICK_HANDLED);
 *
 *   vcpu_runner_run(r);                             // KVM_RUN until it returns
 *   wait_guest_progress(&s->counter, 0, timeout_ms, "spinning vCPU");
 *   vcpu_kick_out(vcpu, bound_ms);                  // kick.h
 *   vcpu_runner_wait_exit(r, bound_ms, "kicked vCPU");
 *   vcpu_runner_expect_signal_exit(r, "kicked vCPU");
 *   pending = vcpu_runner_kick_pending(r);          // asked on the vCPU's thread
 *   vcpu_runner_stop(r);                            // the thread exits, joined
 *
 * A run request is one vcpu_next_msg(): guest prints are shown and skipped, a
 * guest failure fails the test, and the request ends at the first guest
 * message, other exit, or failed KVM_RUN. Its result stays in msg, err and
 * exit_reason until the next run; vcpu_runner_result() says it in one line.
 * A request is made only when the previous one is done (the test fails
 * otherwise). Every wait is bounded: vcpu_runner_wait() answers whether the
 * request ended in time, the other waits fail the test when it did not.
 *
 * How the thread treats the kick signal (KICK_SIGNAL, vcpu_kick.h) is fixed at
 * creation, before the vCPU first runs.
 */
#ifndef KVMTEST_VCPU_RUNNER_H
#define KVMTEST_VCPU_RUNNER_H

#include <pthread.h>

#include "vcpu_kick.h"
#include "vm.h"

enum vcpu_runner_kick {
	/* The kick is delivered to vcpu_kick.h's handler (once kick_handler_install()
	 * replaced the harness's); handler counts, and sets immediate_exit if
	 * the test sets handler.set_immediate_exit. */
	VCPU_RUNNER_KICK_HANDLED,
	/* KVM_SET_SIGNAL_MASK: blocked in the thread, unblocked by KVM only
	 * inside KVM_RUN (vcpu_thread_mask_kick_outside_run()). */
	VCPU_RUNNER_KICK_MASKED_OUTSIDE_RUN,
	/* Blocked in the thread and no KVM signal mask: a kick never ends
	 * KVM_RUN, it stays pending. */
	VCPU_RUNNER_KICK_BLOCKED,
};

enum vcpu_runner_op { VCPU_RUNNER_RUN, VCPU_RUNNER_CALL, VCPU_RUNNER_EXIT };

struct vcpu_runner {
	struct vcpu *vcpu;
	enum vcpu_runner_kick kick;
	struct kick_handler_state handler;      /* VCPU_RUNNER_KICK_HANDLED */
	/* The last run's result (read once the request is done). */
	struct guest_msg *msg;                  /* NULL: no guest message */
	int err;                                /* KVM_RUN's errno, 0 if it returned 0 */
	uint32_t exit_reason;
	/* Private: the request handshake. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t requested, completed;
	enum vcpu_runner_op op;
	bool (*fn)(struct vcpu_runner *r);
	bool answer;
	char result[320];
};

/* Start the vCPU's thread (it owns vcpu->test_data from now on). */
struct vcpu_runner *vcpu_runner_create(struct vcpu *vcpu, enum vcpu_runner_kick kick);
/* Ask the thread to run the vCPU; returns at once. */
void vcpu_runner_run(struct vcpu_runner *r);
/* Whether the thread has finished the last request (a snapshot). */
bool vcpu_runner_done(struct vcpu_runner *r);
/* Wait for the last request; false if it is not done within timeout_ms. */
bool vcpu_runner_wait(struct vcpu_runner *r, uint64_t timeout_ms);
/* The KVM_RUN in progress must end within timeout_ms (a kick's bound):
 * otherwise the test fails, "<what>: vCPU N still inside KVM_RUN after ...". */
void vcpu_runner_wait_exit(struct vcpu_runner *r, uint64_t timeout_ms, const char *what);
/* Run fn on the vCPU's thread (for per-thread state such as its signal mask
 * and pending signals) and return its answer; a thread that does not answer
 * within VCPU_RUNNER_CALL_NATIVE_MS (at native speed, include/host.h) fails
 * the test. */
#define VCPU_RUNNER_CALL_NATIVE_MS 200
bool vcpu_runner_call(struct vcpu_runner *r, bool (*fn)(struct vcpu_runner *r));
/* kick_pending() / kick_consume() asked on the vCPU's thread. */
bool vcpu_runner_kick_pending(struct vcpu_runner *r);
bool vcpu_runner_kick_consume(struct vcpu_runner *r);
/* End the thread and join it (bounded like a call); the runner is freed. */
void vcpu_runner_stop(struct vcpu_runner *r);

/* The last run in one line: "guest message GUEST_SYNC from f.c:12",
 * "KVM_RUN failed with EINTR, exit_reason ...", "KVM_RUN returned 0: <exit>".
 * Valid until the runner's next call of it. */
const char *vcpu_runner_result(struct vcpu_runner *r);
/* Checks of the last run; a mismatch fails the test with "<what>: expected
 * ..., got <result>". */
/* EINTR with exit_reason KVM_EXIT_INTR / EINTR with any exit_reason: */
void vcpu_runner_expect_signal_exit(struct vcpu_runner *r, const char *what);
void vcpu_runner_expect_eintr(struct vcpu_runner *r, const char *what);
struct guest_msg *vcpu_runner_expect_sync(struct vcpu_runner *r, const char *what);

/*
 * Watching a running guest from the host, every wait bounded by timeout_ms
 * and failing the test naming what did not happen.
 */
/* Until *counter > value: "<what>: no guest progress in N ms (stuck at V)". */
void wait_guest_progress(volatile uint64_t *counter, uint64_t value, uint64_t timeout_ms,
			 const char *what);
/* *counter does not move for quiet_us: the guest is not running. */
void expect_guest_quiet(volatile uint64_t *counter, uint64_t quiet_us, const char *what);
/*
 * Until the vCPU, inside KVM_RUN, is blocked (in HLT, or waiting for
 * INIT/SIPI) with *reached >= value. KVM's "blocking" statistic (5.17+) is 1
 * only inside kvm_vcpu_block(); without it (have_blocking false), wait for
 * *reached and give KVM VCPU_BLOCK_SETTLE_MS to block. vcpu_open_blocking_stat()
 * says which: call it before the vCPU first runs (KVM_GET_STATS_FD waits for
 * KVM_RUN), it notes the fallback as a diagnostic.
 */
#define VCPU_BLOCK_SETTLE_MS 50
bool vcpu_open_blocking_stat(struct vcpu *vcpu);
void vcpu_wait_blocked(struct vcpu *vcpu, volatile uint64_t *reached, uint64_t value,
		       bool have_blocking, uint64_t timeout_ms);

#endif
