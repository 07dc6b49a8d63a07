// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

struct stats_cache {
	struct kvm_stats_header header;
	char *descriptors;      /* header.num_desc entries of desc_size bytes */
	size_t desc_size;
};

static struct stats_cache *stats_load(int fd)
{
	struct stats_cache *c = calloc(1, sizeof(*c));
	size_t total;

	TEST_ASSERT(c, "out of memory");
	TEST_ASSERT(pread(fd, &c->header, sizeof(c->header), 0) == sizeof(c->header),
		    "reading the stats header: %s", strerror(errno));
	c->desc_size = sizeof(struct kvm_stats_desc) + c->header.name_size;
	total = c->desc_size * c->header.num_desc;
	c->descriptors = malloc(total);
	TEST_ASSERT(c->descriptors, "out of memory");
	TEST_ASSERT(pread(fd, c->descriptors, total, c->header.desc_offset) == (ssize_t)total,
		    "reading the stats descriptors: %s", strerror(errno));
	return c;
}

static bool stats_read(int fd, struct stats_cache *c, const char *name, uint64_t *value)
{
	uint32_t i;

	for (i = 0; i < c->header.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(c->descriptors + i * c->desc_size);

		if (strcmp(d->name, name))
			continue;
		TEST_ASSERT(pread(fd, value, sizeof(*value), c->header.data_offset + d->offset) ==
			    sizeof(*value), "reading statistic %s: %s", name, strerror(errno));
		return true;
	}
	return false;
}

void stats_close(int fd, struct stats_cache *c)
{
	if (fd >= 0)
		close(fd);
	if (c) {
		free(c->descriptors);
		free(c);
	}
}

bool __vcpu_stat(struct vcpu *vcpu, const char *name, uint64_t *value)
{
	if (vcpu->stats_fd < 0) {
		require_binary_stats();
		vcpu->stats_fd = vcpu_ioctl(vcpu, KVM_GET_STATS_FD, 0);
		vcpu->stats = stats_load(vcpu->stats_fd);
	}
	return stats_read(vcpu->stats_fd, vcpu->stats, name, value);
}

bool __vm_stat(struct vm *vm, const char *name, uint64_t *value)
{
	if (vm->stats_fd < 0) {
		require_binary_stats();
		vm->stats_fd = vm_ioctl(vm, KVM_GET_STATS_FD, 0);
		vm->stats = stats_load(vm->stats_fd);
	}
	return stats_read(vm->stats_fd, vm->stats, name, value);
}

uint64_t vcpu_stat(struct vcpu *vcpu, const char *name)
{
	uint64_t v;

	TEST_ASSERT(__vcpu_stat(vcpu, name, &v), "KVM has no vCPU statistic '%s'", name);
	return v;
}

uint64_t vm_stat(struct vm *vm, const char *name)
{
	uint64_t v;

	TEST_ASSERT(__vm_stat(vm, name, &v), "KVM has no VM statistic '%s'", name);
	return v;
}
