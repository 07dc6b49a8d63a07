/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time from the TSC, in the guest and on the host: conversions at the
 * vCPU's TSC frequency (KVM_GET_TSC_KHZ), busy waits, the guest's TSC
 * offset from the host's, and latency samples that a guest records in TSC
 * cycles and the host summarizes in microseconds.
 *
 *   s->tsc_khz = vcpu_tsc_khz(vcpu);                   // host, before running
 *   tsc_samples_alloc(vm, &s->latency, 1 << 18);
 *   ...
 *   tsc_delay_us(s->tsc_khz, 50);                      // guest
 *   tsc_samples_add(&s->latency, rdtsc() - sent_tsc);
 *   ...
 *   diag_host_clocksource();                           // host, after
 *   tsc_samples_diag("IPI send -> handler", &s->latency, s->tsc_khz);
 *
 * The inline functions are guest-safe (no libc).
 */
#ifndef KVMTEST_TSC_H
#define KVMTEST_TSC_H

#include <stdint.h>

#include "vm.h"
#include "x86.h"

static inline uint64_t tsc_from_us(uint64_t tsc_khz, uint64_t us)
{
	return us * tsc_khz / 1000;
}

/* Busy-wait for us microseconds of TSC time. */
static inline void tsc_delay_us(uint64_t tsc_khz, uint64_t us)
{
	uint64_t start = rdtsc(), cycles = tsc_from_us(tsc_khz, us);

	while (rdtsc() - start < cycles)
		cpu_relax();
}

/* The vCPU's TSC frequency; fails the test if KVM reports none. */
uint64_t vcpu_tsc_khz(struct vcpu *vcpu);
/* Guest TSC minus host TSC, read from the vCPU's IA32_TSC (before it runs). */
int64_t vcpu_tsc_offset(struct vcpu *vcpu);

/* Latencies across CPUs come from TSC differences: a diagnostic says so
 * when the host itself does not trust its TSC (e.g. QEMU's software CPU). */
void diag_host_clocksource(void);

/* Samples in guest memory: the guest adds, the host summarizes. Samples
 * beyond the capacity are counted, not kept. */
struct tsc_samples {
	volatile uint64_t count;
	uint64_t capacity;
	uint64_t *cycles;
};

static inline void tsc_samples_add(struct tsc_samples *s, uint64_t cycles)
{
	uint64_t i = __atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);

	if (i < s->capacity)
		s->cycles[i] = cycles;
}

void tsc_samples_alloc(struct vm *vm, struct tsc_samples *s, uint64_t capacity);
/* test_diag_latency() of the kept samples, converted to time in place (once,
 * at the end); no samples: nothing. */
void tsc_samples_diag(const char *what, struct tsc_samples *s, uint64_t tsc_khz);

#endif
