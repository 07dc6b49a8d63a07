// SPDX-License-Identifier: GPL-2.0
/*
 * Running vCPUs and receiving the guest's messages (host side).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "symbols.h"
#include "vm.h"

static const char *const exit_names[] = {
#define X(name) [KVM_EXIT_##name] = "KVM_EXIT_" #name
	X(UNKNOWN), X(EXCEPTION), X(IO), X(HYPERCALL), X(DEBUG), X(HLT), X(MMIO),
	X(IRQ_WINDOW_OPEN), X(SHUTDOWN), X(FAIL_ENTRY), X(INTR), X(SET_TPR),
	X(TPR_ACCESS), X(NMI), X(INTERNAL_ERROR), X(OSI), X(PAPR_HCALL), X(WATCHDOG),
	X(EPR), X(SYSTEM_EVENT), X(IOAPIC_EOI), X(HYPERV), X(X86_RDMSR), X(X86_WRMSR),
	X(DIRTY_RING_FULL), X(AP_RESET_HOLD), X(X86_BUS_LOCK), X(XEN), X(RISCV_SBI),
	X(NOTIFY),
#undef X
};

const char *exit_reason_name(uint32_t reason)
{
	static __thread char buf[48];

	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		snprintf(buf, sizeof(buf), "%s (%u)", exit_names[reason], reason);
	else
		snprintf(buf, sizeof(buf), "exit reason %u", reason);
	return buf;
}

void vcpu_describe_exit(struct vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	int n;

	char sym[128];

	vcpu_get_regs(vcpu, &regs);
	n = snprintf(buf, len, "vCPU %u: %s at rip 0x%llx", vcpu->id,
		     exit_reason_name(run->exit_reason), regs.rip);
	if (symbolize(regs.rip, sym, sizeof(sym)))
		n += snprintf(buf + n, len - n, " (%s)", sym);
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		snprintf(buf + n, len - n, " (triple fault: an exception could not be delivered)");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf + n, len - n, " (suberror %u, data %llx %llx %llx)",
			 run->internal.suberror, run->internal.ndata > 0 ? run->internal.data[0] : 0ull,
			 run->internal.ndata > 1 ? run->internal.data[1] : 0ull,
			 run->internal.ndata > 2 ? run->internal.data[2] : 0ull);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf + n, len - n, " (hardware entry failure reason 0x%llx)",
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_IO:
		snprintf(buf + n, len - n, " (%s port 0x%x, size %u)",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from",
			 run->io.port, run->io.size);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf + n, len - n, " (%s 0x%llx)", run->mmio.is_write ? "write to" : "read from",
			 run->mmio.phys_addr);
		break;
	}
}

/*
 * The message watchdog: a POSIX timer that sends the kick signal to the
 * thread running the vCPU, so a KVM_RUN that never comes back returns EINTR
 * and the test fails naming the vCPU instead of hanging until the case's
 * time limit.
 */
static void watchdog_arm(struct vcpu *vcpu, uint64_t ns)
{
	pid_t tid = gettid();
	struct itimerspec its = {
		.it_value = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull },
	};

	if (vcpu->watchdog_tid != tid) {
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };

		if (vcpu->watchdog_tid)
			timer_delete(vcpu->watchdog);
		sev._sigev_un._tid = tid;
		TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &vcpu->watchdog),
			    "timer_create: %s", strerror(errno));
		vcpu->watchdog_tid = tid;
	}
	timer_settime(vcpu->watchdog, 0, &its, NULL);
}

static void watchdog_disarm(struct vcpu *vcpu)
{
	struct itimerspec its = { 0 };

	if (vcpu->watchdog_tid)
		timer_settime(vcpu->watchdog, 0, &its, NULL);
}

void vcpu_set_msg_timeout(struct vcpu *vcpu, uint64_t ms)
{
	vcpu->msg_timeout_ms = ms;
}

/* " (function+0x12)" for the first "rip 0x..." in a guest message, or "". */
static const char *symbolize_rip_in(const char *text)
{
	static __thread char out[160];
	const char *rip = strstr(text, "rip 0x");
	char sym[128];

	if (!rip || !symbolize(strtoull(rip + 4, NULL, 16), sym, sizeof(sym)))
		return "";
	snprintf(out, sizeof(out), " (%s)", sym);
	return out;
}

static bool is_guest_msg_exit(struct kvm_run *run)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST_MSG_PORT &&
	       run->io.direction == KVM_EXIT_IO_OUT;
}

struct guest_msg *vcpu_next_msg(struct vcpu *vcpu, int *err)
{
	uint64_t deadline = 0;
	struct guest_msg *msg;
	int ret;

	if (vcpu->msg_timeout_ms) {
		deadline = now_ns() + vcpu->msg_timeout_ms * 1000000ull;
		watchdog_arm(vcpu, vcpu->msg_timeout_ms * 1000000ull);
	}
	for (;;) {
		ret = vcpu_run(vcpu);
		if (ret == -EINTR && deadline && now_ns() >= deadline) {
			char what[256];

			vcpu_describe_exit(vcpu, what, sizeof(what));
			test_fail("vCPU %u sent no guest message within %" PRIu64
				  " ms (hung?); last exit: %s", vcpu->id, vcpu->msg_timeout_ms, what);
		}
		if (ret < 0) {
			watchdog_disarm(vcpu);
			if (err)
				*err = -ret;
			return NULL;
		}
		if (!is_guest_msg_exit(vcpu->run)) {
			watchdog_disarm(vcpu);
			if (err)
				*err = 0;
			return NULL;
		}
		msg = vcpu->cpu->msg;
		switch (msg->type) {
		case GUEST_MSG_PRINT:
			test_diag("vCPU %u: %s", vcpu->id, msg->text);
			continue;
		case GUEST_MSG_FAIL:
			__test_fail(msg->file, msg->line, "guest (vCPU %u): %s%s", vcpu->id, msg->text,
				    symbolize_rip_in(msg->text));
		case GUEST_MSG_SYNC:
		case GUEST_MSG_DONE:
			watchdog_disarm(vcpu);
			if (err)
				*err = 0;
			return msg;
		default:
			test_fail("vCPU %u: malformed guest message (type %u)", vcpu->id, msg->type);
		}
	}
}

static struct guest_msg *expect_msg(struct vcpu *vcpu, uint32_t type, const char *what)
{
	struct guest_msg *msg;
	char desc[256];
	int err;

	msg = vcpu_next_msg(vcpu, &err);
	if (msg && msg->type == type)
		return msg;
	if (msg)
		test_fail("vCPU %u: expected %s, got %s from %s:%u", vcpu->id, what,
			  msg->type == GUEST_MSG_DONE ? "GUEST_DONE" : "GUEST_SYNC",
			  msg->file, msg->line);
	if (err)
		test_fail("vCPU %u: expected %s, KVM_RUN failed: %s", vcpu->id, what, strerror(err));
	vcpu_describe_exit(vcpu, desc, sizeof(desc));
	test_fail("expected %s, got %s", what, desc);
}

struct guest_msg *vcpu_expect_sync(struct vcpu *vcpu)
{
	return expect_msg(vcpu, GUEST_MSG_SYNC, "GUEST_SYNC");
}

uint64_t vcpu_sync(struct vcpu *vcpu)
{
	struct guest_msg *msg = vcpu_expect_sync(vcpu);

	return msg->nargs ? msg->args[0] : 0;
}

void vcpu_expect_done(struct vcpu *vcpu)
{
	expect_msg(vcpu, GUEST_MSG_DONE, "GUEST_DONE");
}
