// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"

#define MAX_CPUID_ENTRIES 256

static struct kvm_cpuid2 *alloc_cpuid(int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

const struct kvm_cpuid2 *kvm_supported_cpuid(void)
{
	static struct kvm_cpuid2 *supported;

	if (!supported) {
		struct kvm_cpuid2 *c = alloc_cpuid(MAX_CPUID_ENTRIES);
		long r = __sys_ioctl(kvm_dev_fd(), KVM_GET_SUPPORTED_CPUID, c);

		TEST_ASSERT(r == 0, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror((int)-r));
		supported = c;
	}
	return supported;
}

/* The entry for function/index; the index only counts where KVM says so. */
static struct kvm_cpuid_entry2 *find_entry(const struct kvm_cpuid2 *c, uint32_t function,
					   uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == function &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == index))
			return (struct kvm_cpuid_entry2 *)&c->entries[i];
	return NULL;
}

const struct kvm_cpuid_entry2 *kvm_supported_cpuid_entry(uint32_t function, uint32_t index)
{
	return find_entry(kvm_supported_cpuid(), function, index);
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, int reg)
{
	switch (reg) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	default:        return &e->edx;
	}
}

bool kvm_cpu_has(struct cpuid_bit f)
{
	const struct kvm_cpuid_entry2 *e = kvm_supported_cpuid_entry(f.function, f.index);

	return e && (*entry_reg((struct kvm_cpuid_entry2 *)e, f.reg) & BIT(f.bit));
}

void vcpu_apply_cpuid(struct vcpu *vcpu)
{
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, vcpu->cpuid);
}

void vcpu_init_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *s = kvm_supported_cpuid();

	vcpu->cpuid = alloc_cpuid(MAX_CPUID_ENTRIES);
	memcpy(vcpu->cpuid->entries, s->entries, s->nent * sizeof(s->entries[0]));
	vcpu->cpuid->nent = s->nent;
	vcpu_apply_cpuid(vcpu);
}

struct kvm_cpuid_entry2 *vcpu_cpuid_entry(struct vcpu *vcpu, uint32_t function, uint32_t index)
{
	struct kvm_cpuid2 *c = vcpu->cpuid;
	struct kvm_cpuid_entry2 *e = find_entry(c, function, index);

	if (e)
		return e;
	TEST_ASSERT(c->nent < MAX_CPUID_ENTRIES, "too many CPUID entries");
	c->entries[c->nent] = (struct kvm_cpuid_entry2){ .function = function, .index = index };
	return &c->entries[c->nent++];
}

static void update_feature(struct vcpu *vcpu, struct cpuid_bit f, bool set)
{
	uint32_t *reg = entry_reg(vcpu_cpuid_entry(vcpu, f.function, f.index), f.reg);

	if (set)
		*reg |= BIT(f.bit);
	else
		*reg &= ~BIT(f.bit);
	vcpu_apply_cpuid(vcpu);
}

void vcpu_set_cpuid_feature(struct vcpu *vcpu, struct cpuid_bit f) { update_feature(vcpu, f, true); }
void vcpu_clear_cpuid_feature(struct vcpu *vcpu, struct cpuid_bit f) { update_feature(vcpu, f, false); }

void vcpu_merge_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *extra)
{
	uint32_t i;

	for (i = 0; i < extra->nent; i++) {
		const struct kvm_cpuid_entry2 *src = &extra->entries[i];

		*vcpu_cpuid_entry(vcpu, src->function, src->index) = *src;
	}
	vcpu_apply_cpuid(vcpu);
}

static void host_vendor(char vendor[13])
{
	uint32_t r[4];

	cpuid_count(0, 0, r);
	memcpy(vendor, &r[CPUID_EBX], 4);
	memcpy(vendor + 4, &r[CPUID_EDX], 4);
	memcpy(vendor + 8, &r[CPUID_ECX], 4);
	vendor[12] = 0;
}

bool host_cpu_is_intel(void)
{
	char v[13];

	host_vendor(v);
	return !strcmp(v, "GenuineIntel");
}

bool host_cpu_is_amd(void)
{
	char v[13];

	host_vendor(v);
	return !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}
