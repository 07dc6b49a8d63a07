/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host profile: what runs this binary's KVM, computed once. The host
 * CPU is real or an emulator that announces itself (QEMU's software CPU
 * says "TCGTCGTCGTCG" in its hypervisor CPUID leaf), the machine is what the
 * firmware's DMI tables call it (QEMU: the machine type, whose version is
 * QEMU's, e.g. "pc-i440fx-7.2"), and the KVM vendor module is the one
 * loaded. Bochs sets no hypervisor CPUID bit and its BIOS fills no system
 * fields in DMI; the BIOS names itself there ("The Bochs Project", version
 * "Bochs 3.0"), and the VM runner boots Bochs only with the BIOS of its own
 * version (scripts/vm/bochs-build), so that names the emulator.
 *
 * Host quirks: anomalies of a platform below KVM, each named from evidence
 * and scoped to the platform and version where it was seen. A test that
 * meets one reports a diagnostic naming it when host_has_quirk() says this
 * host has it; on every other host the same observation fails the case.
 * A newer emulator version is not covered until it is seen to need it.
 *
 * KTEST_DENY_QUIRKS=hlt_wakes_without_cause[,...] (in the environment; a VM
 * gets it from its kernel command line) takes quirks away from this host,
 * so their anomalies fail here too: for a run whose KVM is changed to show
 * one of them on purpose (lib/tests/kvm-windows/). Names: irq_delivered_twice,
 * irq_in_sti_shadow, hlt_wakes_without_cause, cpu_stall.
 */
#ifndef KVMTEST_HOST_H
#define KVMTEST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum host_quirk {
	/* One injected interrupt handled twice by the guest. */
	HOST_QUIRK_IRQ_DELIVERED_TWICE,
	/* An interrupt taken between STI and the next instruction (HLT). */
	HOST_QUIRK_IRQ_IN_STI_SHADOW,
	/* HLT returns although no interrupt, NMI or timer handler ran. */
	HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE,
	/* A CPU runs nothing, its timers included, for seconds. */
	HOST_QUIRK_CPU_STALL,
	NR_HOST_QUIRKS
};

struct host_profile {
	char cpu_signature[13];  /* hypervisor CPUID signature, "" on bare metal */
	char machine[64];        /* DMI product_version, "" if none */
	char bios_vendor[64];    /* DMI bios_vendor, "" if none */
	char bios_version[64];   /* DMI bios_version, "" if none */
	const char *kvm_module;  /* kvm_amd, kvm_intel, kvm_pvm, ... or NULL */
	const char *platform;    /* the platform table's name for it, or NULL */
	unsigned int quirks;     /* 1 << enum host_quirk */
	unsigned int denied;     /* quirks KTEST_DENY_QUIRKS took away */
};

const struct host_profile *host_profile(void);
/* 0 when /dev/kvm opens read-write, else the errno that says why not. */
int host_kvm_open_error(void);
bool host_has_quirk(enum host_quirk quirk);
/* "QEMU 7.2 TCG: interrupts delivered twice (seen ...)": for diagnostics. */
const char *host_quirk_note(enum host_quirk quirk);
/* One line for the KTAP preamble. */
void host_profile_describe(char *buf, size_t len);

/*
 * The one way a test meets a quirk's anomaly: `count` observations of it,
 * described by the printf-style sentence. None: nothing. On a host with the
 * quirk: a diagnostic naming it. Anywhere else: the case fails.
 *
 *   expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, shadowed,
 *                     "vCPU %u: interrupts taken inside STI's shadow", id);
 */
#define expect_no_anomaly(quirk, count, ...)                                   \
	__expect_no_anomaly(__FILE__, __LINE__, quirk, count, __VA_ARGS__)
__attribute__((format(printf, 5, 6)))
void __expect_no_anomaly(const char *file, int line, enum host_quirk quirk,
			 unsigned long long count, const char *fmt, ...);

/*
 * Time limits. A limit that ends a hung case (a case's timeout, a wait for
 * a guest message, for guest progress, for a vCPU to block or leave
 * KVM_RUN when nothing is wrong) is written as the time the work takes at
 * native speed, with margin, and scaled by how much slower this host is:
 * an emulated CPU may be 50 times slower than the hardware the figures
 * were written for. The slowness is measured once per process with a
 * small VM (lib/host_speed.c) unless KTEST_TIME_SCALE gives it: a runner
 * measures it once (`BINARY --time-scale`) and passes it to every binary.
 *
 * Thresholds that are the checks themselves (how late a wakeup or a kick
 * may be before it counts as lost) are not scaled: they are the verdict,
 * each with its own option, sized for the slowest host the suite runs on.
 */
unsigned int host_slowness_tenths(void);        /* >= 10: 372 is 37.2 times */
const char *host_slowness_text(void);   /* "37.2" */
const char *host_slowness_how(void);    /* "measured: ..." or "from KTEST_TIME_SCALE" */
/* native x slowness, and never below 5 s: hang limits for waits in a case. */
uint64_t host_limit_ms(uint64_t native_ms);
/* native x slowness: the harness's case limits (it adds its own allowance). */
unsigned int host_limit_s(unsigned int native_s);

#endif
