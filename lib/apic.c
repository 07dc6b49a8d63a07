// SPDX-License-Identifier: GPL-2.0
/*
 * Local APIC helpers. The guest half runs in the guest; the xAPIC page is
 * mapped at its physical address by vm_create() when the VM has an
 * in-kernel LAPIC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "apic.h"

/* ---- guest side ---- */

static volatile uint32_t *xapic_reg(uint32_t reg)
{
	return (volatile uint32_t *)(APIC_DEFAULT_GPA + reg);
}

bool apic_is_x2apic(void)
{
	return this_cpu()->x2apic;
}

uint32_t apic_read(uint32_t reg)
{
	if (apic_is_x2apic())
		return (uint32_t)rdmsr(APIC_X2APIC_MSR(reg));
	return *xapic_reg(reg);
}

void apic_write(uint32_t reg, uint32_t value)
{
	if (apic_is_x2apic())
		wrmsr(APIC_X2APIC_MSR(reg), value);
	else
		*xapic_reg(reg) = value;
}

void xapic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE);

	this_cpu()->x2apic = false;
	if (!(base & MSR_IA32_APICBASE_ENABLE))
		wrmsr(MSR_IA32_APICBASE, base | MSR_IA32_APICBASE_ENABLE);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR);
	apic_write(APIC_DFR, APIC_DFR_FLAT);
}

void x2apic_enable(void)
{
	wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE |
	      MSR_IA32_APICBASE_EXTD);
	this_cpu()->x2apic = true;
	apic_write(APIC_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR);
}

uint32_t apic_id(void)
{
	uint32_t id = apic_read(APIC_ID);

	return apic_is_x2apic() ? id : id >> 24;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

static void send_icr(uint32_t dest, uint32_t low)
{
	if (apic_is_x2apic()) {
		wrmsr(APIC_X2APIC_MSR(APIC_ICR), (uint64_t)dest << 32 | low);
		return;
	}
	apic_write(APIC_ICR2, dest << 24);
	apic_write(APIC_ICR, low);
	while (apic_read(APIC_ICR) & APIC_ICR_BUSY)
		cpu_relax();
}

void apic_send_ipi(uint32_t dest, uint32_t vector)
{
	send_icr(dest, APIC_DEST_PHYSICAL | APIC_DM_FIXED | APIC_LEVEL_ASSERT | vector);
}

void apic_send_ipi_logical(uint32_t dest_mask, uint32_t vector)
{
	send_icr(dest_mask, APIC_DEST_LOGICAL | APIC_DM_FIXED | APIC_LEVEL_ASSERT | vector);
}

void apic_send_nmi(uint32_t dest)
{
	send_icr(dest, APIC_DEST_PHYSICAL | APIC_DM_NMI | APIC_LEVEL_ASSERT);
}

void apic_set_logical_id(uint8_t flat_bit)
{
	/* x2APIC's LDR is read-only: cluster = id >> 4, bit = 1 << (id & 15). */
	if (!apic_is_x2apic())
		apic_write(APIC_LDR, (1u << flat_bit) << 24);
}

void apic_timer_oneshot(uint32_t vector, uint32_t ticks)
{
	apic_write(APIC_TDCR, APIC_TDCR_DIV_1);
	apic_write(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | vector);
	apic_write(APIC_TMICT, ticks);
}

void apic_timer_tsc_deadline(uint32_t vector, uint64_t tsc)
{
	apic_write(APIC_LVTT, APIC_LVT_TIMER_TSC_DEADLINE | vector);
	wrmsr(MSR_IA32_TSC_DEADLINE, tsc);
}

static bool apic_vector_bit(uint32_t base, uint32_t vector)
{
	return apic_read(base + (vector / 32) * 0x10) & BIT(vector % 32);
}

bool apic_irr_pending(uint32_t vector) { return apic_vector_bit(APIC_IRR, vector); }
bool apic_isr_in_service(uint32_t vector) { return apic_vector_bit(APIC_ISR, vector); }

bool apic_irr_any(void)
{
	uint32_t word;

	for (word = 0; word < 8; word++)
		if (apic_read(APIC_IRR + word * 0x10))
			return true;
	return false;
}

/* ---- host side ---- */

int vm_signal_msi(struct vm *vm, uint32_t apic_id, uint32_t vector)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)msi_address(apic_id),
		.address_hi = (uint32_t)(msi_address(apic_id) >> 32),
		.data = msi_data(vector),
	};

	return vm_ioctl(vm, KVM_SIGNAL_MSI, &msi);
}

#define MAX_ROUTES 64

struct irq_routes {
	struct kvm_irq_routing table;
	struct kvm_irq_routing_entry entries[MAX_ROUTES];
};

int vm_irqfd_msi(struct vm *vm, uint32_t gsi, uint32_t apic_id, uint32_t vector)
{
	struct irq_routes *r = vm->irq_routes;
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int efd;

	require_kvm_cap(KVM_CAP_IRQFD);
	if (!r) {
		r = vm->irq_routes = calloc(1, sizeof(*r));
		TEST_ASSERT(r, "out of memory");
	}
	TEST_ASSERT(r->table.nr < MAX_ROUTES, "too many GSI routes");
	/* KVM_SET_GSI_ROUTING replaces the whole table: keep ours complete. */
	r->entries[r->table.nr++] = (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)msi_address(apic_id),
			   .address_hi = (uint32_t)(msi_address(apic_id) >> 32),
			   .data = msi_data(vector) },
	};
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &r->table);

	efd = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(efd >= 0, "eventfd: %s", strerror(errno));
	irqfd.fd = efd;
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	return efd;
}

void irqfd_raise(int eventfd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(eventfd, &one, sizeof(one)) == sizeof(one), "eventfd write: %s",
		    strerror(errno));
}

void vcpu_get_lapic(struct vcpu *vcpu, struct kvm_lapic_state *state)
{
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, state);
}

void vcpu_set_lapic(struct vcpu *vcpu, struct kvm_lapic_state *state)
{
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, state);
}
