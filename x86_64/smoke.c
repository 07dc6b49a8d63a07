// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the library on this host's /dev/kvm.
 */
#include "vm.h"

struct smoke_shared {
	uint64_t arg_seen;
};

static void guest_hello(void *arg)
{
	struct smoke_shared *s = arg;

	s->arg_seen = (uint64_t)arg;
	guest_printf("hello from vCPU %u, arg %p", guest_vcpu_id(), arg);
	GUEST_SYNC(42, 43);
}

TEST_CASE(entry, "a vCPU starts in 64-bit mode in a C function with its argument")
{
	struct vm *vm = vm_create(NULL);
	struct smoke_shared *s = vm_alloc(vm, sizeof(*s));
	struct vcpu *vcpu = vcpu_add(vm, 0, guest_hello, s);

	TEST_ASSERT_EQ(vcpu_sync(vcpu), 42);
	TEST_ASSERT_EQ(s->arg_seen, (uint64_t)s);
	vcpu_expect_done(vcpu);
	vm_destroy(vm);
}
