/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Local APIC: guest helpers for xAPIC (MMIO) and x2APIC (MSRs), and host
 * helpers for MSIs (KVM_SIGNAL_MSI, irqfd) and the vCPU's LAPIC state.
 * Needs a VM created with .irqchip (or .split_irqchip).
 */
#ifndef KVMTEST_APIC_H
#define KVMTEST_APIC_H

#include "vm.h"

#define APIC_DEFAULT_GPA 0xfee00000ull

/* Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16). */
#define APIC_ID     0x20
#define APIC_LVR    0x30
#define APIC_TPR    0x80
#define APIC_PPR    0xa0
#define APIC_EOI    0xb0
#define APIC_LDR    0xd0
#define APIC_DFR    0xe0
#define APIC_SVR    0xf0
#define APIC_ISR    0x100
#define APIC_IRR    0x200
#define APIC_ICR    0x300
#define APIC_ICR2   0x310
#define APIC_LVTT   0x320
#define APIC_TMICT  0x380
#define APIC_TMCCT  0x390
#define APIC_TDCR   0x3e0
#define APIC_X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

#define APIC_SVR_ENABLE      BIT(8)
#define APIC_SPURIOUS_VECTOR 0xff
#define APIC_DM_FIXED        (0u << 8)
#define APIC_DM_NMI          (4u << 8)
#define APIC_DEST_PHYSICAL   0
#define APIC_DEST_LOGICAL    BIT(11)
#define APIC_ICR_BUSY        BIT(12)
#define APIC_LEVEL_ASSERT    BIT(14)
#define APIC_DEST_SELF       (1u << 18)
#define APIC_DEST_ALL_BUT_SELF (3u << 18)
#define APIC_LVT_MASKED      BIT(16)
#define APIC_LVT_TIMER_ONESHOT  (0u << 17)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSC_DEADLINE (2u << 17)
#define APIC_TDCR_DIV_1      0xb
#define APIC_DFR_FLAT        0xffffffffu

/* ---- guest side: the mode (xAPIC or x2APIC) is remembered per vCPU ---- */
void xapic_enable(void);
void x2apic_enable(void);
bool apic_is_x2apic(void);
uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t value);
uint32_t apic_id(void);
void apic_eoi(void);
/* Fixed IPI, physical destination (APIC ID) or logical (LDR bits). */
void apic_send_ipi(uint32_t dest, uint32_t vector);
void apic_send_ipi_logical(uint32_t dest_mask, uint32_t vector);
void apic_send_nmi(uint32_t dest);
/* Set this vCPU's logical ID (flat model in xAPIC; x2APIC derives it). */
void apic_set_logical_id(uint8_t flat_bit);
/* One-shot LAPIC timer in bus-clock ticks (divide by 1), or a TSC deadline. */
void apic_timer_oneshot(uint32_t vector, uint32_t ticks);
void apic_timer_tsc_deadline(uint32_t vector, uint64_t tsc);
/* Whether vector is pending in the IRR / in service in the ISR. */
bool apic_irr_pending(uint32_t vector);
bool apic_isr_in_service(uint32_t vector);
/* Whether any vector is pending in the IRR. */
bool apic_irr_any(void);

/* ---- host side ---- */
/* MSI address/data for a fixed interrupt to an APIC ID (physical mode). */
static inline uint64_t msi_address(uint32_t apic_id) { return APIC_DEFAULT_GPA | (apic_id << 12); }
static inline uint32_t msi_data(uint32_t vector) { return vector | APIC_DM_FIXED; }
/* KVM_SIGNAL_MSI: returns >0 if delivered, 0 if blocked/ignored. */
int vm_signal_msi(struct vm *vm, uint32_t apic_id, uint32_t vector);
/* Route a GSI to an MSI and attach an eventfd to it; writing the eventfd
 * raises the interrupt. Returns the eventfd. */
int vm_irqfd_msi(struct vm *vm, uint32_t gsi, uint32_t apic_id, uint32_t vector);
void irqfd_raise(int eventfd);
void vcpu_get_lapic(struct vcpu *vcpu, struct kvm_lapic_state *state);
void vcpu_set_lapic(struct vcpu *vcpu, struct kvm_lapic_state *state);
static inline uint32_t lapic_state_reg(const struct kvm_lapic_state *s, uint32_t reg)
{
	return *(const uint32_t *)&s->regs[reg];
}

#endif
