/*
 * Print, on one line, the KVM capabilities this suite depends on, so that a
 * VM run's console says what the kernel under test offers before any test
 * starts (e.g. "hyperv_tlbflush=0" explains a column of skips).
 * Built statically by scripts/vm/mkinitramfs and run by the VM's init.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

/* Numbers newer than the host's <linux/kvm.h> (Debian 12 ships 6.1's). */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif

#define CAP(name) { #name, KVM_CAP_##name }

static const struct {
	const char *name;
	int cap;
} caps[] = {
	CAP(NR_VCPUS), CAP(MAX_VCPUS), CAP(IRQCHIP), CAP(SPLIT_IRQCHIP),
	CAP(X2APIC_API), CAP(IMMEDIATE_EXIT), CAP(X86_DISABLE_EXITS),
	CAP(NESTED_STATE), CAP(BINARY_STATS_FD), CAP(USER_MEMORY2), CAP(VM_TYPES),
	CAP(HYPERV), CAP(HYPERV_SYNIC2), CAP(HYPERV_TLBFLUSH),
	CAP(HYPERV_DIRECT_TLBFLUSH), CAP(HYPERV_SEND_IPI), CAP(HYPERV_CPUID),
	CAP(SYS_HYPERV_CPUID), CAP(HYPERV_ENFORCE_CPUID),
	CAP(HYPERV_ENLIGHTENED_VMCS),
};

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR);
	unsigned int i;

	if (kvm < 0) {
		perror("kvm-caps: /dev/kvm");
		return 1;
	}
	printf("KVM api=%d", ioctl(kvm, KVM_GET_API_VERSION, 0));
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf(" %s=%d", caps[i].name,
		       ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap));
	printf("\n");
	return 0;
}
