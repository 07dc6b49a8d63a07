// SPDX-License-Identifier: GPL-2.0
/*
 * Kicking vCPU threads out of KVM_RUN. See include/vcpu_kick.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "kvm_proposed_uapi.h"
#include "vcpu_kick.h"

#define KICK_WAIT_POLL_NS       10000ull        /* 10 us between looks */
#define KICK_ALL_POLL_NS        100000ull       /* 100 us between looks at a KICK_ALL */
/* A KICK_ALL on a VM without vCPUs has nothing to wait for. */
#define KICK_ALL_PROBE_NATIVE_MS 100

/*
 * The proposed ioctls take no argument (_IO). Upstream's 0xd2 is
 * KVM_SET_MEMORY_ATTRIBUTES = _IOW(KVMIO, 0xd2, 32 bytes): a different full
 * command value, so KVM never routes one to the other. These checks keep a
 * future edit of kvm_proposed_uapi.h from probing the wrong command.
 */
_Static_assert(KVM_KICK_ALL_RUNNING_VCPUS == 0xAED2, "KICK_ALL is _IO(KVMIO, 0xd2)");
_Static_assert(KVM_RESUME_ALL_KICKED_VCPUS == 0xAED3, "RESUME_ALL is _IO(KVMIO, 0xd3)");
_Static_assert(KVM_KICK_ALL_RUNNING_VCPUS != KVM_SET_MEMORY_ATTRIBUTES,
	       "the probe must not issue KVM_SET_MEMORY_ATTRIBUTES");
_Static_assert(_IOC_DIR(KVM_KICK_ALL_RUNNING_VCPUS) == _IOC_NONE &&
	       _IOC_SIZE(KVM_KICK_ALL_RUNNING_VCPUS) == 0, "KICK_ALL has no argument");

struct kvm_signal_mask_buf {
	struct kvm_signal_mask hdr;
	uint8_t sigset[KVM_SIGSET_BYTES];
};

int __vcpu_set_signal_mask(struct vcpu *vcpu, uint32_t len, const sigset_t *blocked)
{
	struct kvm_signal_mask_buf buf = { .hdr.len = len };

	if (!blocked)
		return __vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, NULL);
	/* glibc's sigset_t starts with the kernel's 64 signal bits. */
	memcpy(buf.sigset, blocked, KVM_SIGSET_BYTES);
	return __vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &buf);
}

void vcpu_set_signal_mask(struct vcpu *vcpu, const sigset_t *blocked)
{
	int r = __vcpu_set_signal_mask(vcpu, KVM_SIGSET_BYTES, blocked);

	TEST_ASSERT(!r, "KVM_SET_SIGNAL_MASK on vCPU %u failed: %s", vcpu->id, strerror(-r));
}

void vcpu_thread_mask_kick_outside_run(struct vcpu *vcpu)
{
	sigset_t kick, inside;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	TEST_ASSERT(!pthread_sigmask(SIG_BLOCK, &kick, &inside), "pthread_sigmask failed");
	sigdelset(&inside, KICK_SIGNAL);
	vcpu_set_signal_mask(vcpu, &inside);
}

void thread_block_kick(void)
{
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	TEST_ASSERT(!pthread_sigmask(SIG_BLOCK, &kick, NULL), "pthread_sigmask failed");
}

bool kick_pending(void)
{
	sigset_t pending;

	TEST_ASSERT(!sigpending(&pending), "sigpending: %s", strerror(errno));
	return sigismember(&pending, KICK_SIGNAL);
}

bool kick_consume(void)
{
	static const struct timespec no_wait;
	sigset_t kick;
	int sig;

	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	do {
		sig = sigtimedwait(&kick, NULL, &no_wait);
	} while (sig < 0 && errno == EINTR);
	TEST_ASSERT(sig == KICK_SIGNAL || errno == EAGAIN, "sigtimedwait: %s", strerror(errno));
	return sig == KICK_SIGNAL;
}

static __thread struct kick_handler_state *kick_state;

static void kick_handler(int sig)
{
	struct kick_handler_state *st = kick_state;

	(void)sig;
	if (!st)
		return;
	atomic_fetch_add(&st->handled, 1);
	if (st->set_immediate_exit)
		__atomic_store_n(&st->vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void kick_handler_install(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };   /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(KICK_SIGNAL, &sa, NULL), "sigaction: %s", strerror(errno));
}

void kick_handler_attach(struct kick_handler_state *state)
{
	kick_state = state;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	nanosleep(&ts, NULL);
}

int vcpu_kick_and_wait(struct vcpu *vcpu, uint64_t timeout_ms)
{
	uint64_t count = __atomic_load_n(&vcpu->run_count, __ATOMIC_SEQ_CST);
	uint64_t deadline;

	vcpu_kick(vcpu);
	if (!(count & 1))
		return 0;
	deadline = now_ns() + timeout_ms * 1000000ull;
	while (__atomic_load_n(&vcpu->run_count, __ATOMIC_SEQ_CST) == count) {
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		sleep_ns(KICK_WAIT_POLL_NS);
	}
	return 0;
}

void vcpu_kick_out(struct vcpu *vcpu, uint64_t timeout_ms)
{
	TEST_ASSERT(!vcpu_kick_and_wait(vcpu, timeout_ms),
		    "vCPU %u did not leave KVM_RUN within %" PRIu64 " ms of a kick "
		    "(a lost kick or a vCPU that ignores signals)", vcpu->id, timeout_ms);
}

/* ---- proposed KVM_KICK_ALL_RUNNING_VCPUS / KVM_RESUME_ALL_KICKED_VCPUS ---- */

int __vm_kick_all(struct vm *vm)
{
	return __vm_ioctl(vm, KVM_KICK_ALL_RUNNING_VCPUS, 0);
}

int __vm_resume_all_kicked(struct vm *vm)
{
	return __vm_ioctl(vm, KVM_RESUME_ALL_KICKED_VCPUS, 0);
}

struct kick_all_call {
	struct vm *vm;
	atomic_bool done;
	int ret;
};

static void *kick_all_thread(void *p)
{
	struct kick_all_call *c = p;

	c->ret = __vm_kick_all(c->vm);
	atomic_store(&c->done, true);
	return NULL;
}

void vm_kick_all(struct vm *vm, struct vcpu **vcpus, unsigned int n, uint64_t timeout_ms,
		 const char *what)
{
	struct kick_all_call c = { .vm = vm };
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;
	char inside[256] = "";
	pthread_t thread;
	unsigned int i;

	TEST_ASSERT(!pthread_create(&thread, NULL, kick_all_thread, &c), "pthread_create failed");
	while (!atomic_load(&c.done)) {
		if (now_ns() >= deadline) {
			for (i = 0; i < n; i++)
				if (vcpus[i] && vcpu_in_run(vcpus[i]))
					snprintf(inside + strlen(inside), sizeof(inside) - strlen(inside),
						 " %u", vcpus[i]->id);
			test_fail("%s: KVM_KICK_ALL_RUNNING_VCPUS did not return within %" PRIu64
				  " ms; vCPU threads inside KVM_RUN:%s", what, timeout_ms,
				  inside[0] ? inside : " none");
		}
		sleep_ns(KICK_ALL_POLL_NS);
	}
	pthread_join(thread, NULL);
	TEST_ASSERT(!c.ret, "%s: KVM_KICK_ALL_RUNNING_VCPUS failed: %s", what,
		    strerrorname_np(-c.ret));
}

void vm_resume_all_kicked(struct vm *vm)
{
	int r = __vm_resume_all_kicked(vm);

	TEST_ASSERT(!r, "KVM_RESUME_ALL_KICKED_VCPUS failed: %s", strerrorname_np(-r));
}

struct kick_all_probe {
	int vm_fd;
	atomic_int done;
	long kick, resume;
};

static void *kick_all_probe_thread(void *p)
{
	struct kick_all_probe *probe = p;

	/* No argument: even an ioctl that reads one gets NULL and cannot
	 * succeed. Only 0 counts as "implemented". */
	probe->kick = __sys_ioctl(probe->vm_fd, KVM_KICK_ALL_RUNNING_VCPUS, 0);
	probe->resume = __sys_ioctl(probe->vm_fd, KVM_RESUME_ALL_KICKED_VCPUS, 0);
	atomic_store(&probe->done, 1);
	return NULL;
}

const char *kick_all_unsupported(void)
{
	static char reason[256];
	struct kick_all_probe probe = { 0 };
	uint64_t deadline, limit_ms;
	pthread_t thread;

	probe.vm_fd = __sys_ioctl(kvm_dev_fd(), KVM_CREATE_VM, 0);
	TEST_ASSERT(probe.vm_fd >= 0, "KVM_CREATE_VM: %s", strerror(-probe.vm_fd));
	/* The posted series waits on a lock shared by all VMs on the host:
	 * bound the wait instead of hanging on someone else's vCPU. */
	TEST_ASSERT(!pthread_create(&thread, NULL, kick_all_probe_thread, &probe),
		    "pthread_create failed");
	limit_ms = host_limit_ms(KICK_ALL_PROBE_NATIVE_MS);
	deadline = now_ns() + limit_ms * 1000000ull;
	while (!atomic_load(&probe.done)) {
		TEST_ASSERT(now_ns() < deadline,
			    "KVM_KICK_ALL_RUNNING_VCPUS on a VM without vCPUs did not return within "
			    "%" PRIu64 " ms (the posted series waits on a host-wide lock: another "
			    "VM's vCPU inside KVM_RUN blocks it)", limit_ms);
		sleep_ns(1000000);
	}
	pthread_join(thread, NULL);
	close(probe.vm_fd);

	if (probe.kick == -ENOTTY)
		return "KVM_KICK_ALL_RUNNING_VCPUS (VM ioctl 0xAED2) not implemented: ENOTTY "
		       "(proposed series, not merged upstream)";
	if (probe.kick) {
		snprintf(reason, sizeof(reason), "VM ioctl 0xAED2 answered %s, not 0: not the "
			 "KICK_ALL series (upstream's 0xd2 is KVM_SET_MEMORY_ATTRIBUTES, 0x4020AED2)",
			 strerrorname_np((int)-probe.kick));
		return reason;
	}
	if (probe.resume) {
		snprintf(reason, sizeof(reason), "KVM_KICK_ALL_RUNNING_VCPUS answered 0 but "
			 "KVM_RESUME_ALL_KICKED_VCPUS (0xAED3) answered %s: incomplete interface",
			 strerrorname_np((int)-probe.resume));
		return reason;
	}
	return NULL;
}
