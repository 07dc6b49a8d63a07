/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 architectural constants and the few instructions guest code needs.
 * Shared by host and guest code: nothing here touches KVM.
 */
#ifndef KVMTEST_X86_H
#define KVMTEST_X86_H

#include <stdbool.h>
#include <stdint.h>

#define BIT(n)  (1u << (n))
#define BITL(n) (1ull << (n))

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096ull
#define PAGE_MASK  (~(PAGE_SIZE - 1))

/* Control registers and EFER. */
#define X86_CR0_PE  BITL(0)
#define X86_CR0_MP  BITL(1)
#define X86_CR0_ET  BITL(4)
#define X86_CR0_NE  BITL(5)
#define X86_CR0_WP  BITL(16)
#define X86_CR0_PG  BITL(31)
#define X86_CR4_PAE        BITL(5)
#define X86_CR4_PGE        BITL(7)
#define X86_CR4_OSFXSR     BITL(9)
#define X86_CR4_OSXMMEXCPT BITL(10)
#define X86_CR4_VMXE       BITL(13)
#define X86_CR4_OSXSAVE    BITL(18)
#define EFER_SCE   BITL(0)
#define EFER_LME   BITL(8)
#define EFER_LMA   BITL(10)
#define EFER_NX    BITL(11)
#define EFER_SVME  BITL(12)

#define X86_EFLAGS_IF BITL(9)

/* Page-table entry bits. */
#define PTE_PRESENT  BITL(0)
#define PTE_WRITE    BITL(1)
#define PTE_USER     BITL(2)
#define PTE_PWT      BITL(3)
#define PTE_PCD      BITL(4)
#define PTE_ACCESSED BITL(5)
#define PTE_DIRTY    BITL(6)
#define PTE_LARGE    BITL(7)
#define PTE_GLOBAL   BITL(8)
#define PTE_NX       BITL(63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

/* Exception vectors. */
#define DE_VECTOR 0
#define DB_VECTOR 1
#define NMI_VECTOR 2
#define BP_VECTOR 3
#define UD_VECTOR 6
#define NM_VECTOR 7
#define DF_VECTOR 8
#define TS_VECTOR 10
#define NP_VECTOR 11
#define SS_VECTOR 12
#define GP_VECTOR 13
#define PF_VECTOR 14
#define AC_VECTOR 17
#define MC_VECTOR 18
#define NR_EXCEPTION_VECTORS 32
#define NR_VECTORS 256

/* MSRs used by the library and tests. */
#define MSR_IA32_TSC          0x00000010
#define MSR_IA32_APICBASE     0x0000001b
#define MSR_IA32_APICBASE_BSP    BITL(8)
#define MSR_IA32_APICBASE_EXTD   BITL(10)
#define MSR_IA32_APICBASE_ENABLE BITL(11)
#define MSR_IA32_MPERF        0x000000e7
#define MSR_IA32_APERF        0x000000e8
#define MSR_IA32_TSC_DEADLINE 0x000006e0
#define MSR_EFER              0xc0000080
#define MSR_FS_BASE           0xc0000100
#define MSR_GS_BASE           0xc0000101
#define MSR_KERNEL_GS_BASE    0xc0000102
#define MSR_VM_HSAVE_PA       0xc0010117

/* CPUID feature bits: leaf, register, bit. */
struct cpuid_bit {
	uint32_t function;
	uint32_t index;
	uint8_t reg;            /* CPUID_EAX .. CPUID_EDX */
	uint8_t bit;
	const char *name;
};
enum { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };
#define CPUID_FEATURE(fn, idx, r, b, n) \
	((struct cpuid_bit){ .function = (fn), .index = (idx), .reg = (r), .bit = (b), .name = (n) })
#define X86_FEATURE_MWAIT        CPUID_FEATURE(1, 0, CPUID_ECX, 3, "MONITOR/MWAIT")
#define X86_FEATURE_VMX          CPUID_FEATURE(1, 0, CPUID_ECX, 5, "VMX")
#define X86_FEATURE_X2APIC       CPUID_FEATURE(1, 0, CPUID_ECX, 21, "x2APIC")
#define X86_FEATURE_TSC_DEADLINE CPUID_FEATURE(1, 0, CPUID_ECX, 24, "TSC-deadline timer")
#define X86_FEATURE_XSAVE        CPUID_FEATURE(1, 0, CPUID_ECX, 26, "XSAVE")
#define X86_FEATURE_HYPERVISOR   CPUID_FEATURE(1, 0, CPUID_ECX, 31, "hypervisor")
#define X86_FEATURE_APIC         CPUID_FEATURE(1, 0, CPUID_EDX, 9, "APIC")
#define X86_FEATURE_APERFMPERF   CPUID_FEATURE(6, 0, CPUID_ECX, 0, "APERF/MPERF")
#define X86_FEATURE_SVM          CPUID_FEATURE(0x80000001, 0, CPUID_ECX, 2, "SVM")
#define X86_FEATURE_NX           CPUID_FEATURE(0x80000001, 0, CPUID_EDX, 20, "NX")
#define X86_FEATURE_NPT          CPUID_FEATURE(0x8000000a, 0, CPUID_EDX, 0, "NPT")

static inline void cpuid_count(uint32_t function, uint32_t index, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[CPUID_EAX]), "=b"(regs[CPUID_EBX]),
			   "=c"(regs[CPUID_ECX]), "=d"(regs[CPUID_EDX])
			 : "a"(function), "c"(index)
			 : "memory");
}

static inline bool this_cpu_has(struct cpuid_bit f)
{
	uint32_t regs[4];

	cpuid_count(f.function, f.index, regs);
	return regs[f.reg] & BIT(f.bit);
}

/* Instructions that only make sense inside the guest (CPL 0). */
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)value),
			 "d"((uint32_t)(value >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* STI's one-instruction shadow makes "sti; hlt" atomic: no wakeup is lost
 * between enabling interrupts and halting. */
static inline void safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }

static inline uint64_t read_rflags(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags;
}

static inline void invlpg(uint64_t gva)
{
	__asm__ volatile("invlpg (%0)" :: "r"(gva) : "memory");
}

/* Flush this CPU's whole TLB (non-global entries) by reloading CR3. */
static inline void flush_tlb_local(void) { write_cr3(read_cr3()); }

#endif
