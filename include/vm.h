/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host side of the library: VMs, guest memory, vCPUs, running them and
 * receiving the guest's messages.
 *
 *   struct shared *s;
 *   struct vm *vm = vm_create(NULL);
 *   s = vm_alloc(vm, sizeof(*s));                 // same pointer in the guest
 *   struct vcpu *vcpu = vcpu_add(vm, 0, guest_main, s);
 *   TEST_ASSERT_EQ(vcpu_sync(vcpu), 1);           // guest did GUEST_SYNC(1)
 *   vcpu_expect_done(vcpu);
 *   vm_destroy(vm);
 *
 * Every ioctl goes through a checked wrapper (vm_ioctl, vcpu_ioctl, kvm_ioctl)
 * whose failure ends the test naming the ioctl, errno and the caller's
 * file:line; the __ variants return -errno for tests that expect failure.
 */
#ifndef KVMTEST_VM_H
#define KVMTEST_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "kvm_compat.h"
#include "ktest.h"

#define KVM_MAX_TEST_VCPUS 64

struct vm_options {
	uint64_t memory_mb;     /* guest RAM, default 128 */
	bool irqchip;           /* in-kernel LAPIC, IOAPIC and PIC */
	bool split_irqchip;     /* in-kernel LAPIC only (KVM_CAP_SPLIT_IRQCHIP) */
	unsigned long vm_type;  /* KVM_CREATE_VM argument, default 0 */
};

struct vm {
	int kvm_fd;
	int fd;
	struct vm_options opts;
	uint8_t *ram;           /* host mapping of guest RAM; GPA 0 = ram[0] */
	void *ram_map;          /* the mapping ram was aligned within */
	uint64_t ram_size;
	uint64_t next_free_gpa;
	uint64_t pml4_gpa;
	uint64_t gdt_gpa, idt_gpa, tss_gpa;
	unsigned int nr_slots;
	struct vcpu *vcpus[KVM_MAX_TEST_VCPUS];
	int stats_fd;
	struct stats_cache *stats;
	struct irq_routes *irq_routes;  /* apic.c: the VM's GSI routing table */
	pthread_mutex_t lock;
};

struct vcpu {
	struct vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_cpu *cpu;  /* guest context (host pointer == guest pointer) */
	uint64_t stack_top;
	struct kvm_cpuid2 *cpuid;
	/* Threads: the host thread running this vCPU, see threads.h. */
	pthread_t thread;
	pid_t tid;
	bool thread_started;
	void (*thread_fn)(struct vcpu *vcpu);
	/* Watchdog: a vcpu_next_msg() longer than this fails the test. */
	uint64_t msg_timeout_ms;
	timer_t watchdog;
	pid_t watchdog_tid;
	int stats_fd;
	struct stats_cache *stats;
	void *test_data;        /* free for the test's use */
	/* vcpu_run() adds 1 on entering and on leaving KVM_RUN (atomically):
	 * odd while the vCPU's thread is inside, see vcpu_kick.h. */
	uint64_t run_count;
};

/* Checked ioctls. */
long __kvm_ioctl_checked(int fd, unsigned long cmd, const char *name, void *arg,
			 const char *file, int line);
#define __sys_ioctl(fd, cmd, arg) __raw_ioctl(fd, cmd, (void *)(uintptr_t)(arg))
long __raw_ioctl(int fd, unsigned long cmd, void *arg);  /* -errno on failure */
#define kvm_ioctl(vm, cmd, arg) \
	__kvm_ioctl_checked((vm)->kvm_fd, cmd, #cmd, (void *)(uintptr_t)(arg), __FILE__, __LINE__)
#define vm_ioctl(vm, cmd, arg) \
	__kvm_ioctl_checked((vm)->fd, cmd, #cmd, (void *)(uintptr_t)(arg), __FILE__, __LINE__)
#define vcpu_ioctl(vcpu, cmd, arg) \
	__kvm_ioctl_checked((vcpu)->fd, cmd, #cmd, (void *)(uintptr_t)(arg), __FILE__, __LINE__)
#define __vm_ioctl(vm, cmd, arg) __sys_ioctl((vm)->fd, cmd, arg)
#define __vcpu_ioctl(vcpu, cmd, arg) __sys_ioctl((vcpu)->fd, cmd, arg)

/* /dev/kvm, opened once per process. */
int kvm_dev_fd(void);

/* VM lifecycle. vm_create(NULL) gives the defaults. */
struct vm *vm_create(const struct vm_options *opts);
void vm_destroy(struct vm *vm);
/* A VM with n vCPUs (ids 0..n-1) all starting in guest_fn(arg). */
struct vm *vm_create_with_vcpus(const struct vm_options *opts, unsigned int n,
				void (*guest_fn)(void *), void *arg, struct vcpu **vcpus);

/*
 * Guest memory. All guest RAM is mapped in the guest at the same virtual
 * address as on the host, so a pointer from vm_alloc() is valid on both
 * sides. Allocations are page-granular and zeroed.
 */
void *vm_alloc(struct vm *vm, size_t size);
uint64_t vm_alloc_gpa(struct vm *vm, size_t npages);    /* not mapped anywhere extra */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa);
uint64_t vm_hva_to_gpa(struct vm *vm, const void *hva);
uint64_t vm_gva_to_gpa(struct vm *vm, uint64_t gva);     /* walks the guest page tables */
void *vm_gva_to_hva(struct vm *vm, uint64_t gva);
/* Map one 4 KiB page at a chosen guest-virtual address (4-level paging). */
void vm_map_page(struct vm *vm, uint64_t gva, uint64_t gpa, uint64_t pte_flags);
/*
 * A separate 4-level table mapping all guest RAM 1:1 with 2 MiB leaves (for
 * nested paging: NPT and EPT share the layout, not the flag bits). Returns
 * the root's GPA; leaf_flags must include the format's large-page bit.
 */
uint64_t vm_build_identity_map_2m(struct vm *vm, uint64_t table_flags, uint64_t leaf_flags);
/* The PTE for gva (host pointer == guest pointer), creating tables as needed. */
uint64_t *vm_pte(struct vm *vm, uint64_t gva);
/* Copy the host's current value of a global into the guest's copy of it. */
#define sync_global_to_guest(vm, g) \
	memcpy(vm_gva_to_hva(vm, (uint64_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy(&(g), vm_gva_to_hva(vm, (uint64_t)&(g)), sizeof(g))
/* Install a guest exception/interrupt handler from the host (all vCPUs). */
void vm_set_handler(struct vm *vm, int vector, guest_handler_t handler);
/* What guest_data() returns in this VM, on every vCPU (memory from vm_alloc()). */
void vm_set_guest_data(struct vm *vm, void *data);

/* vCPUs: created in 64-bit mode, starting in guest_fn(arg). */
struct vcpu *vcpu_add(struct vm *vm, uint32_t id, void (*guest_fn)(void *), void *arg);
/* Point an existing vCPU at another function (fresh stack). */
void vcpu_set_entry(struct vcpu *vcpu, void (*guest_fn)(void *), void *arg);
void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_set_regs(struct vcpu *vcpu, struct kvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index);
void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
int __vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value); /* entries set */
uint32_t vcpu_mp_state(struct vcpu *vcpu);
void vcpu_set_mp_state(struct vcpu *vcpu, uint32_t state);
/* Enable a vCPU capability with KVM_ENABLE_CAP (checked / raw). */
void vcpu_enable_cap(struct vcpu *vcpu, uint32_t cap, uint64_t arg0);
void vm_enable_cap(struct vm *vm, uint32_t cap, uint64_t arg0);

/*
 * Running. vcpu_run() is one KVM_RUN (returns 0 or -errno). vcpu_next_msg()
 * runs until the guest sends a message: it prints guest_printf() text and
 * continues, turns a guest failure into a test failure, and returns NULL on
 * any other exit (look at vcpu->run->exit_reason) or when KVM_RUN fails
 * (errno in *err if given). The vcpu_expect_*() helpers fail the test on
 * anything but the expected message.
 */
int vcpu_run(struct vcpu *vcpu);
struct guest_msg *vcpu_next_msg(struct vcpu *vcpu, int *err);
uint64_t vcpu_sync(struct vcpu *vcpu);          /* expects GUEST_SYNC, returns args[0] */
struct guest_msg *vcpu_expect_sync(struct vcpu *vcpu);  /* returns the message */
void vcpu_expect_done(struct vcpu *vcpu);
/* Fail the test if no message arrives within ms (0: no limit). */
void vcpu_set_msg_timeout(struct vcpu *vcpu, uint64_t ms);
/* "KVM_EXIT_HLT (5)" etc., and a one-line description of the last exit. */
const char *exit_reason_name(uint32_t reason);
void vcpu_describe_exit(struct vcpu *vcpu, char *buf, size_t len);

/* Probes: capability checks at system, VM and vCPU scope. */
int kvm_check_cap(long cap);
int vm_check_cap(struct vm *vm, long cap);
#define require_kvm_cap(cap) \
	TEST_REQUIRE(kvm_check_cap(cap) > 0, #cap " not supported")
#define require_vm_cap(vm, cap) \
	TEST_REQUIRE(vm_check_cap(vm, cap) > 0, #cap " not supported")

#endif
