// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test: every facility of the library works on this host's KVM.
 *
 * Not tied to one kernel change: this is the canary. If a case here fails,
 * the library or the host's KVM basics (64-bit entry, port I/O exits, the
 * in-kernel APIC, binary stats, CPUID) are broken, and every other result
 * of the suite on this host is suspect.
 */
#include "apic.h"
#include "cpuid.h"
#include "host.h"
#include "stats.h"
#include "threads.h"
#include "vm.h"

#define NR_SYNCS        16
#define NR_HALTS        10
#define NR_IPIS         100
#define IPI_VECTOR      0x40
#define MSI_VECTOR      0x41
#define NUDGE_VECTOR    0x42            /* uncounted: only ends a HLT */
#define GUEST_ARG_MAGIC 0x5eedf00dull
#define UD2_LENGTH      2
#define DATA_VCPUS      2               /* one added before vm_set_guest_data(), one after */
/* One guest message at native speed, generously: catches a hang early. */
#define MSG_NATIVE_MS   200

/* --negative-control N: make one check see the wrong behaviour on purpose. */
enum negative_control {
	NC_NONE,
	NC_GUEST_DATA_DECOY = 1,        /* the host gives guest_data() a decoy struct */
};
TEST_NEGATIVE_CONTROLS("1: the host gives guest_data() a decoy, not the test's shared data");

struct smoke_shared {
	uint64_t arg_seen;
	volatile uint64_t ipis_received;
	volatile uint64_t ipis_acked;       /* receiver -> sender handshake */
	volatile uint64_t msis_received;
	volatile bool receiver_ready;
	volatile bool receiver_done;
	bool use_x2apic;
	uint64_t ud_count;
	uint64_t ud_by_vcpu[DATA_VCPUS];        /* #UDs counted through guest_data() */
	char formatted[GUEST_MSG_TEXT_LEN];
};

static struct smoke_shared *shared_of(struct vm *vm)
{
	return vm_alloc(vm, sizeof(struct smoke_shared));
}

static void guest_entry(void *arg)
{
	struct smoke_shared *s = arg;

	s->arg_seen = (uint64_t)arg;
	guest_printf("hello from vCPU %u in 64-bit mode, arg %p", guest_vcpu_id(), arg);
	GUEST_ASSERT(read_cr4() & X86_CR4_PAE);
	GUEST_SYNC(GUEST_ARG_MAGIC);
}

TEST_CASE(entry, "a vCPU starts in 64-bit mode in a C function with its argument")
{
	struct vm *vm = vm_create(NULL);
	struct smoke_shared *s = shared_of(vm);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_entry, s);

	TEST_ASSERT_EQ(vcpu_sync(vcpu), GUEST_ARG_MAGIC);
	TEST_ASSERT_EQ(s->arg_seen, (uint64_t)s);
	vcpu_expect_done(vcpu);
	vm_destroy(vm);
}

static void guest_syncs(void *arg)
{
	uint64_t i;

	for (i = 0; i < NR_SYNCS; i++)
		GUEST_SYNC(i, i * 3, ~i, 0);
}

TEST_CASE(sync_values, "sync messages carry their values to the host in order")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_syncs, NULL);
	uint64_t i;

	for (i = 0; i < NR_SYNCS; i++) {
		struct guest_msg *msg = vcpu_expect_sync(vcpu);

		TEST_ASSERT_EQ(msg->nargs, 4);
		TEST_ASSERT_EQ(msg->args[0], i);
		TEST_ASSERT_EQ(msg->args[1], i * 3);
		TEST_ASSERT_EQ(msg->args[2], ~i);
	}
	vcpu_expect_done(vcpu);
	vm_destroy(vm);
}

#define FORMAT_ARGS "%d|%5u|%-4x|%08llx|%s|%.3s|%c|%%|%p|%lld", -42, 7u, 0xabu, \
	0x1234ull, "str", "truncated", 'z', (void *)0x1000, -9000000000ll

static void guest_format(void *arg)
{
	struct smoke_shared *s = arg;

	guest_snprintf(s->formatted, sizeof(s->formatted), FORMAT_ARGS);
}

TEST_CASE(guest_format, "guest-side formatting matches the host's printf")
{
	struct vm *vm = vm_create(NULL);
	struct smoke_shared *s = shared_of(vm);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_format, s);
	char expected[GUEST_MSG_TEXT_LEN];

	vcpu_expect_done(vcpu);
	snprintf(expected, sizeof(expected), FORMAT_ARGS);
	TEST_ASSERT(!strcmp(s->formatted, expected), "guest formatted '%s', host '%s'",
		    s->formatted, expected);
	vm_destroy(vm);
}

static void guest_halts(void *arg)
{
	int i;

	for (i = 0; i < NR_HALTS; i++)
		hlt();
}

TEST_CASE(halt_exits_stat, "the halt_exits statistic counts every guest HLT")
{
	struct vm *vm = vm_create(NULL);       /* no irqchip: HLT exits to us */
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_halts, NULL);
	uint64_t before = vcpu_stat(vcpu, "halt_exits");
	int hlt_exits = 0;
	struct guest_msg *msg;

	while (!(msg = vcpu_next_msg(vcpu, NULL))) {
		TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_HLT);
		hlt_exits++;
	}
	TEST_ASSERT_EQ(msg->type, GUEST_MSG_DONE);
	TEST_ASSERT_EQ(hlt_exits, NR_HALTS);
	TEST_ASSERT_EQ(vcpu_stat(vcpu, "halt_exits") - before, NR_HALTS);
	vm_destroy(vm);
}

static void guest_report_hypervisor_bit(void *arg)
{
	GUEST_SYNC(this_cpu_has(X86_FEATURE_HYPERVISOR));
}

TEST_CASE(cpuid_bit, "a CPUID bit set or cleared by the host is what the guest sees")
{
	struct vm *vm = vm_create(NULL);
	struct vcpu *cleared = vcpu_add(vm, 0, guest_report_hypervisor_bit, NULL);
	struct vcpu *set = vcpu_add(vm, 1, guest_report_hypervisor_bit, NULL);

	vcpu_clear_cpuid_feature(cleared, X86_FEATURE_HYPERVISOR);
	vcpu_set_cpuid_feature(set, X86_FEATURE_HYPERVISOR);
	TEST_ASSERT_EQ(vcpu_sync(cleared), 0);
	TEST_ASSERT_EQ(vcpu_sync(set), 1);
	vm_destroy(vm);
}

static void count_ud_and_skip(struct ex_regs *regs)
{
	struct smoke_shared *s = (struct smoke_shared *)regs->rbx;

	s->ud_count++;
	regs->rip += UD2_LENGTH;
}

static void guest_exceptions(void *arg)
{
	struct smoke_shared *s = arg;
	uint64_t value;

	GUEST_ASSERT_EQ(rdmsr_safe(0xdeadbeef, &value), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_IA32_APICBASE, &value), NO_EXCEPTION);
	GUEST_ASSERT_EQ(wrmsr_safe(0xdeadbeef, 0), GP_VECTOR);
	guest_set_handler(UD_VECTOR, count_ud_and_skip);
	/* rbx carries the shared pointer into the handler. */
	__asm__ volatile("ud2" :: "b"(s) : "memory");
	__asm__ volatile("ud2" :: "b"(s) : "memory");
	GUEST_SYNC(s->ud_count);
}

TEST_CASE(exceptions, "guest exception handlers run and faulting MSR accesses are reported")
{
	struct vm *vm = vm_create(NULL);
	struct smoke_shared *s = shared_of(vm);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_exceptions, s);

	TEST_ASSERT_EQ(vcpu_sync(vcpu), 2);
	vcpu_expect_done(vcpu);
	vm_destroy(vm);
}

static void count_ud_through_guest_data(struct ex_regs *regs)
{
	struct smoke_shared *s = guest_data();

	s->ud_by_vcpu[guest_vcpu_id()]++;
	regs->rip += UD2_LENGTH;
}

/* No argument: the handler's only way to the shared data is guest_data(). */
static void guest_ud_without_arg(void *arg)
{
	guest_set_handler(UD_VECTOR, count_ud_through_guest_data);
	__asm__ volatile("ud2" ::: "memory");
}

TEST_CONTROL(guest_data, NC_GUEST_DATA_DECOY, "passes", "-",
	     "the host gives guest_data() a decoy struct, not the test's",
	     "vCPU 0's #UD handler counted 0 #UDs in the data given to vm_set_guest_data\\(\\), expected 1");
TEST_CASE(guest_data, "exception handlers on every vCPU reach the test's shared data through guest_data()")
{
	struct vm *vm = vm_create(NULL);
	struct smoke_shared *s = shared_of(vm);
	struct smoke_shared *decoy = shared_of(vm);
	struct vcpu *vcpus[DATA_VCPUS];
	uint32_t i;

	vcpus[0] = vcpu_add(vm, 0, guest_ud_without_arg, NULL);
	vm_set_guest_data(vm, test_negative_control(NC_GUEST_DATA_DECOY) ? decoy : s);
	vcpus[1] = vcpu_add(vm, 1, guest_ud_without_arg, NULL);
	for (i = 0; i < DATA_VCPUS; i++) {
		vcpu_expect_done(vcpus[i]);
		TEST_ASSERT(s->ud_by_vcpu[i] == 1, "vCPU %u's #UD handler counted %" PRIu64
			    " #UDs in the data given to vm_set_guest_data(), expected 1",
			    i, s->ud_by_vcpu[i]);
	}
	vm_destroy(vm);
}

/* ---- interrupts through the in-kernel APIC ---- */

/* The handler acknowledges: the sender waits for it before the next IPI. */
static void count_ipi(struct ex_regs *regs)
{
	struct smoke_shared *s = guest_data();

	s->ipis_acked = ++s->ipis_received;
	apic_eoi();
}

static void ignore_nudge(struct ex_regs *regs)
{
	apic_eoi();
}

static void count_msi(struct ex_regs *regs)
{
	struct smoke_shared *s = guest_data();

	s->msis_received++;
	apic_eoi();
}

static void guest_ipi_receiver(void *arg)
{
	struct smoke_shared *s = arg;

	if (s->use_x2apic)
		x2apic_enable();
	else
		xapic_enable();
	guest_set_handler(IPI_VECTOR, count_ipi);
	guest_set_handler(MSI_VECTOR, count_msi);
	guest_set_handler(NUDGE_VECTOR, ignore_nudge);
	s->receiver_ready = true;
	while (s->ipis_received < NR_IPIS) {
		safe_halt();
		cli();
	}
	s->receiver_done = true;
	GUEST_SYNC(s->ipis_received);
}

static void guest_ipi_sender(void *arg)
{
	struct smoke_shared *s = arg;
	uint64_t i;

	if (s->use_x2apic)
		x2apic_enable();
	else
		xapic_enable();
	while (!s->receiver_ready)
		cpu_relax();
	for (i = 1; i <= NR_IPIS; i++) {
		apic_send_ipi(1, IPI_VECTOR);
		/* One at a time: a second IPI of the same vector while the first
		 * is pending would merge with it. */
		while (s->ipis_acked < i)
			cpu_relax();
	}
	/*
	 * "sti; hlt" cannot miss an IPI on real CPUs, but QEMU's emulated SVM
	 * sometimes takes an interrupt between the two (pi/wakeup reports
	 * it): the receiver may then halt after its last IPI. Nudge it with an
	 * uncounted vector until it has seen that it is done.
	 */
	while (!s->receiver_done) {
		apic_send_ipi(1, NUDGE_VECTOR);
		for (int spin = 0; spin < 1000 && !s->receiver_done; spin++)
			cpu_relax();
	}
	GUEST_SYNC(i - 1);
}

static void run_until_sync(struct vcpu *vcpu)
{
	vcpu_set_msg_timeout(vcpu, host_limit_ms(MSG_NATIVE_MS));
	vcpu_expect_sync(vcpu);
}

static void ipi_case(bool x2apic)
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm = vm_create(&opts);
	struct smoke_shared *s = shared_of(vm);
	struct vcpu *sender = vcpu_add(vm, 0, guest_ipi_sender, s);
	struct vcpu *receiver = vcpu_add(vm, 1, guest_ipi_receiver, s);

	if (x2apic)
		require_kvm_cpu_feature(X86_FEATURE_X2APIC);
	s->use_x2apic = x2apic;
	vm_set_guest_data(vm, s);
	vcpu_thread_start(receiver, run_until_sync);
	vcpu_thread_start(sender, run_until_sync);
	vcpu_thread_join(sender);
	vcpu_thread_join(receiver);
	/* Each IPI waits for the last one's acknowledgement: a count beyond
	 * NR_IPIS is an IPI delivered twice. */
	TEST_ASSERT_GE(s->ipis_received, NR_IPIS);
	expect_no_anomaly(HOST_QUIRK_IRQ_DELIVERED_TWICE, s->ipis_received - NR_IPIS,
			  "%" PRIu64 " IPI handler runs for the %d IPIs sent", s->ipis_received, NR_IPIS);
	vm_destroy(vm);
}

TEST_CASE(xapic_ipi, "fixed IPIs between two vCPUs through the xAPIC reach the handler once each")
{
	ipi_case(false);
}

TEST_CASE(x2apic_ipi, "fixed IPIs between two vCPUs through the x2APIC reach the handler once each")
{
	ipi_case(true);
}

static void guest_msi_receiver(void *arg)
{
	struct smoke_shared *s = arg;

	xapic_enable();
	guest_set_handler(MSI_VECTOR, count_msi);
	GUEST_SYNC(0);
	while (s->msis_received < 2) {
		safe_halt();
		cli();
	}
}

TEST_CASE(host_msi, "an MSI from the host and one through irqfd wake a halted vCPU")
{
	struct vm_options opts = { .irqchip = true };
	struct vm *vm = vm_create(&opts);
	struct smoke_shared *s = shared_of(vm);
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_msi_receiver, s);
	struct kvm_lapic_state lapic;
	int efd;

	vm_set_guest_data(vm, s);
	vcpu_set_msg_timeout(vcpu, host_limit_ms(MSG_NATIVE_MS));
	vcpu_expect_sync(vcpu);
	vcpu_get_lapic(vcpu, &lapic);
	TEST_ASSERT(lapic_state_reg(&lapic, APIC_SVR) & APIC_SVR_ENABLE,
		    "guest enabled its APIC, but KVM_GET_LAPIC shows SVR 0x%x",
		    lapic_state_reg(&lapic, APIC_SVR));
	TEST_ASSERT_GT(vm_signal_msi(vm, 0, MSI_VECTOR), 0);
	efd = vm_irqfd_msi(vm, 1, 0, MSI_VECTOR);
	/* The first MSI is taken on entry; the irqfd one wakes the halt. */
	vcpu_thread_start(vcpu, vcpu_expect_done);
	while (!s->msis_received)
		usleep(1000);
	irqfd_raise(efd);
	vcpu_thread_join(vcpu);
	/* The guest stops halting at its second MSI: a handler run beyond
	 * that is an MSI delivered twice (QEMU's software SVM has done so). */
	TEST_ASSERT_GE(s->msis_received, 2);
	expect_no_anomaly(HOST_QUIRK_IRQ_DELIVERED_TWICE, s->msis_received - 2,
			  "%" PRIu64 " MSI handler runs for the 2 MSIs sent", s->msis_received);
	vm_destroy(vm);
}
