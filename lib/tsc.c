// SPDX-License-Identifier: GPL-2.0
/* TSC time and TSC latency samples. See include/tsc.h. */
#include <stdio.h>
#include <string.h>

#include "ktest.h"
#include "tsc.h"

#define CLOCKSOURCE_PATH "/sys/devices/system/clocksource/clocksource0/current_clocksource"

uint64_t vcpu_tsc_khz(struct vcpu *vcpu)
{
	uint64_t khz = (uint64_t)vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0);

	TEST_ASSERT(khz, "KVM_GET_TSC_KHZ returned 0");
	return khz;
}

int64_t vcpu_tsc_offset(struct vcpu *vcpu)
{
	uint64_t before = rdtsc();
	uint64_t guest = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	uint64_t after = rdtsc();

	return (int64_t)(guest - (before + (after - before) / 2));
}

void diag_host_clocksource(void)
{
	char cs[32] = "";
	FILE *f = fopen(CLOCKSOURCE_PATH, "r");

	if (f) {
		if (fscanf(f, "%31s", cs) != 1)
			cs[0] = '\0';
		fclose(f);
	}
	if (strcmp(cs, "tsc"))
		test_diag("host clocksource is '%s', not tsc: the TSC-based latencies below are "
			  "indicative only", cs[0] ? cs : "unknown");
}

void tsc_samples_alloc(struct vm *vm, struct tsc_samples *s, uint64_t capacity)
{
	s->count = 0;
	s->capacity = capacity;
	s->cycles = vm_alloc(vm, capacity * sizeof(uint64_t));
}

void tsc_samples_diag(const char *what, struct tsc_samples *s, uint64_t tsc_khz)
{
	uint64_t n = s->count < s->capacity ? s->count : s->capacity;
	uint64_t i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		s->cycles[i] = s->cycles[i] * 1000000 / tsc_khz;
	test_diag_latency(what, s->cycles, n);
}
