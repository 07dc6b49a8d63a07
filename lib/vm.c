// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU lifecycle, guest memory and page tables, loading the test
 * binary's own image into the guest, 64-bit mode set-up.
 *
 * Guest physical layout: one memory slot at GPA 0 backed by anonymous
 * memory. Guest virtual layout: the binary's loaded segments at their link
 * addresses (copied, 4 KiB pages), and all of guest RAM mapped with 2 MiB
 * pages at GVA == host address of the backing memory, so pointers into
 * guest RAM mean the same thing on both sides.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apic.h"
#include "cpuid.h"
#include "stats.h"
#include "vm.h"

#define DEFAULT_MEMORY_MB 128
#define LARGE_PAGE_SIZE (2ull << 20)
#define FIRST_ALLOC_GPA 0x100000ull     /* keep the first MiB free: a stray NULL-ish GPA faults */
#define GUEST_STACK_SIZE (32 * 1024)

/* GDT layout shared by every vCPU. */
#define GDT_CODE64_SEL 0x08
#define GDT_DATA_SEL   0x10
#define GDT_TSS_SEL    0x18

extern const char guest_exception_stubs[];      /* lib/guest_entry.S */
extern const char guest_return_trampoline[];
#define GUEST_EXCEPTION_STUB_SIZE 16
extern guest_handler_t guest_vector_handlers[NR_VECTORS];
extern void *guest_data_of_vm;                  /* lib/guest.c */

void test_note_vcpu_run(unsigned int vcpu_id, bool entering);

long __raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

long __kvm_ioctl_checked(int fd, unsigned long cmd, const char *name, void *arg,
			 const char *file, int line)
{
	long ret = ioctl(fd, cmd, arg);

	if (ret < 0)
		__test_fail(file, line, "ioctl %s failed: %s (errno %d)", name, strerror(errno),
			    errno);
	return ret;
}

int kvm_dev_fd(void)
{
	static int fd = -1;
	long version;

	if (fd >= 0)
		return fd;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		test_skip("cannot open /dev/kvm: %s", strerror(errno));
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	TEST_ASSERT(version == KVM_API_VERSION, "KVM API version %ld, expected %d", version,
		    KVM_API_VERSION);
	return fd;
}

/* An unknown capability is 0; an error means the ioctl itself is broken. */
int kvm_check_cap(long cap)
{
	int ret = ioctl(kvm_dev_fd(), KVM_CHECK_EXTENSION, cap);

	TEST_ASSERT(ret >= 0, "KVM_CHECK_EXTENSION(%ld) on /dev/kvm failed: %s", cap,
		    strerror(errno));
	return ret;
}

int vm_check_cap(struct vm *vm, long cap)
{
	int ret = ioctl(vm->fd, KVM_CHECK_EXTENSION, cap);

	TEST_ASSERT(ret >= 0, "KVM_CHECK_EXTENSION(%ld) on the VM failed: %s", cap,
		    strerror(errno));
	return ret;
}

void vm_enable_cap(struct vm *vm, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args[0] = arg0 };

	vm_ioctl(vm, KVM_ENABLE_CAP, &ec);
}

void vcpu_enable_cap(struct vcpu *vcpu, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args[0] = arg0 };

	vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &ec);
}

/* ---- guest physical memory ---- */

uint64_t vm_alloc_gpa(struct vm *vm, size_t npages)
{
	uint64_t gpa;

	pthread_mutex_lock(&vm->lock);
	gpa = vm->next_free_gpa;
	if (gpa + npages * PAGE_SIZE > vm->ram_size) {
		pthread_mutex_unlock(&vm->lock);
		test_fail("guest memory exhausted (%" PRIu64 " MiB): raise vm_options.memory_mb",
			  vm->ram_size >> 20);
	}
	vm->next_free_gpa += npages * PAGE_SIZE;
	pthread_mutex_unlock(&vm->lock);
	/* Anonymous memory starts zeroed and is never handed out twice. */
	return gpa;
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa)
{
	TEST_ASSERT(gpa < vm->ram_size, "GPA 0x%" PRIx64 " is outside guest RAM", gpa);
	return vm->ram + gpa;
}

uint64_t vm_hva_to_gpa(struct vm *vm, const void *hva)
{
	const uint8_t *p = hva;

	TEST_ASSERT(p >= vm->ram && p < vm->ram + vm->ram_size,
		    "%p is not guest RAM", hva);
	return p - vm->ram;
}

void *vm_alloc(struct vm *vm, size_t size)
{
	size_t npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;

	return vm_gpa_to_hva(vm, vm_alloc_gpa(vm, npages ? npages : 1));
}

/* ---- guest page tables (4-level, page-table pages live in guest RAM) ---- */

static uint64_t *table_entry(struct vm *vm, uint64_t table_gpa, uint64_t gva, int level)
{
	int shift = PAGE_SHIFT + 9 * (level - 1);

	return (uint64_t *)vm_gpa_to_hva(vm, table_gpa) + ((gva >> shift) & 511);
}

/* Walk to the entry at `level` (1 = PTE), creating missing tables. */
static uint64_t *walk_create(struct vm *vm, uint64_t gva, int level)
{
	uint64_t table = vm->pml4_gpa;
	int l;

	for (l = 4; l > level; l--) {
		uint64_t *e = table_entry(vm, table, gva, l);

		if (!(*e & PTE_PRESENT))
			*e = vm_alloc_gpa(vm, 1) | PTE_PRESENT | PTE_WRITE;
		TEST_ASSERT(!(*e & PTE_LARGE), "GVA 0x%" PRIx64 " is inside a large page", gva);
		table = *e & PTE_ADDR_MASK;
	}
	return table_entry(vm, table, gva, level);
}

void vm_map_page(struct vm *vm, uint64_t gva, uint64_t gpa, uint64_t pte_flags)
{
	TEST_ASSERT(!(gva & ~PAGE_MASK) && !(gpa & ~PAGE_MASK),
		    "unaligned mapping 0x%" PRIx64 " -> 0x%" PRIx64, gva, gpa);
	pthread_mutex_lock(&vm->lock);
	*walk_create(vm, gva, 1) = gpa | PTE_PRESENT | pte_flags;
	pthread_mutex_unlock(&vm->lock);
}

uint64_t *vm_pte(struct vm *vm, uint64_t gva)
{
	uint64_t *pte;

	pthread_mutex_lock(&vm->lock);
	pte = walk_create(vm, gva, 1);
	pthread_mutex_unlock(&vm->lock);
	return pte;
}

static void map_large_page(struct vm *vm, uint64_t gva, uint64_t gpa)
{
	*walk_create(vm, gva, 2) = gpa | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
}

uint64_t vm_build_identity_map_2m(struct vm *vm, uint64_t table_flags, uint64_t leaf_flags)
{
	uint64_t root = vm_alloc_gpa(vm, 1), gpa;
	int level;

	for (gpa = 0; gpa < vm->ram_size; gpa += LARGE_PAGE_SIZE) {
		uint64_t table = root;

		for (level = 4; level > 2; level--) {
			uint64_t *e = table_entry(vm, table, gpa, level);

			if (!*e)
				*e = vm_alloc_gpa(vm, 1) | table_flags;
			table = *e & PTE_ADDR_MASK;
		}
		*table_entry(vm, table, gpa, 2) = gpa | leaf_flags;
	}
	return root;
}

uint64_t vm_gva_to_gpa(struct vm *vm, uint64_t gva)
{
	uint64_t table = vm->pml4_gpa;
	int level;

	for (level = 4; level >= 1; level--) {
		uint64_t e = *table_entry(vm, table, gva, level);
		uint64_t size = 1ull << (PAGE_SHIFT + 9 * (level - 1));

		TEST_ASSERT(e & PTE_PRESENT, "GVA 0x%" PRIx64 " is not mapped (level %d)", gva,
			    level);
		if (level == 1 || (e & PTE_LARGE))
			return (e & PTE_ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
		table = e & PTE_ADDR_MASK;
	}
	return 0;
}

void *vm_gva_to_hva(struct vm *vm, uint64_t gva)
{
	return vm_gpa_to_hva(vm, vm_gva_to_gpa(vm, gva));
}

/*
 * Copy this binary's loaded segments into the guest at their addresses.
 * The copy is taken from the running process, so relocations (if any) are
 * applied and constant data is byte-identical to the host's.
 *
 * The destination pages are one contiguous run, populated with a single
 * madvise() before the copy: faulting them in one at a time dominated
 * vm_create() for a static binary (~300 pages; see scripts/bench). A kernel
 * without MADV_POPULATE_WRITE (< 5.14) just takes the faults.
 */
static void load_own_image(struct vm *vm)
{
	const ElfW(Phdr) *phdr = (const void *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM);
	uintptr_t bias = 0;
	uint64_t npages = 0, next_gpa;
	unsigned long i;

	for (i = 0; i < phnum; i++)
		if (phdr[i].p_type == PT_PHDR)
			bias = (uintptr_t)phdr - phdr[i].p_vaddr;

	/* An upper bound: a page shared by two segments is counted twice. */
	for (i = 0; i < phnum; i++)
		if (phdr[i].p_type == PT_LOAD)
			npages += (((bias + phdr[i].p_vaddr + phdr[i].p_memsz + PAGE_SIZE - 1) & PAGE_MASK) -
				   ((bias + phdr[i].p_vaddr) & PAGE_MASK)) / PAGE_SIZE;
	next_gpa = vm_alloc_gpa(vm, npages);
	madvise(vm_gpa_to_hva(vm, next_gpa), npages * PAGE_SIZE, MADV_POPULATE_WRITE);

	for (i = 0; i < phnum; i++) {
		uint64_t start, end, va;

		if (phdr[i].p_type != PT_LOAD)
			continue;
		start = (bias + phdr[i].p_vaddr) & PAGE_MASK;
		end = (bias + phdr[i].p_vaddr + phdr[i].p_memsz + PAGE_SIZE - 1) & PAGE_MASK;
		for (va = start; va < end; va += PAGE_SIZE) {
			uint64_t *pte = walk_create(vm, va, 1);
			uint64_t gpa;

			if (*pte & PTE_PRESENT)        /* page shared by two segments */
				continue;
			gpa = next_gpa;
			next_gpa += PAGE_SIZE;
			memcpy(vm_gpa_to_hva(vm, gpa), (void *)va, PAGE_SIZE);
			*pte = gpa | PTE_PRESENT | PTE_WRITE;
		}
	}
}

/* ---- descriptor tables ---- */

struct gdt_desc {
	uint16_t limit0, base0;
	uint8_t base1, access, limit1_flags, base2;
} __attribute__((packed));

struct idt_gate {
	uint16_t offset0, selector;
	uint8_t ist, type_attr;
	uint16_t offset1;
	uint32_t offset2, reserved;
} __attribute__((packed));

static void setup_descriptor_tables(struct vm *vm)
{
	struct gdt_desc *gdt;
	struct idt_gate *idt;
	uint64_t tss, stubs = (uint64_t)guest_exception_stubs;
	int v;

	vm->gdt_gpa = vm_alloc_gpa(vm, 1);
	vm->idt_gpa = vm_alloc_gpa(vm, 1);
	vm->tss_gpa = vm_alloc_gpa(vm, 1);
	gdt = vm_gpa_to_hva(vm, vm->gdt_gpa);
	idt = vm_gpa_to_hva(vm, vm->idt_gpa);
	tss = (uint64_t)vm_gpa_to_hva(vm, vm->tss_gpa);

	/* 64-bit code (L=1), flat data, and a 64-bit TSS (two slots). */
	gdt[GDT_CODE64_SEL / 8] = (struct gdt_desc){ .limit0 = 0xffff, .access = 0x9b,
						     .limit1_flags = 0xaf };
	gdt[GDT_DATA_SEL / 8] = (struct gdt_desc){ .limit0 = 0xffff, .access = 0x93,
						   .limit1_flags = 0xcf };
	gdt[GDT_TSS_SEL / 8] = (struct gdt_desc){ .limit0 = 0x67, .base0 = tss & 0xffff,
						  .base1 = (tss >> 16) & 0xff, .access = 0x8b,
						  .base2 = (tss >> 24) & 0xff };
	*(uint64_t *)&gdt[GDT_TSS_SEL / 8 + 1] = tss >> 32;

	for (v = 0; v < NR_VECTORS; v++) {
		uint64_t handler = stubs + v * GUEST_EXCEPTION_STUB_SIZE;

		idt[v] = (struct idt_gate){
			.offset0 = handler & 0xffff, .selector = GDT_CODE64_SEL,
			.type_attr = 0x8e,      /* present, DPL 0, 64-bit interrupt gate */
			.offset1 = (handler >> 16) & 0xffff, .offset2 = handler >> 32,
		};
	}
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

static void setup_long_mode(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs.cr3 = vm->pml4_gpa;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA | EFER_SCE;
	sregs.cs = flat_segment(GDT_CODE64_SEL, 0xb, true);
	sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs =
		flat_segment(GDT_DATA_SEL, 0x3, false);
	sregs.gs.base = (uint64_t)vcpu->cpu;
	sregs.tr = (struct kvm_segment){ .base = (uint64_t)vm_gpa_to_hva(vm, vm->tss_gpa),
					 .limit = 0x67, .selector = GDT_TSS_SEL, .type = 0xb,
					 .present = 1 };
	sregs.ldt = (struct kvm_segment){ .unusable = 1 };
	sregs.gdt.base = (uint64_t)vm_gpa_to_hva(vm, vm->gdt_gpa);
	sregs.gdt.limit = 0xfff;
	sregs.idt.base = (uint64_t)vm_gpa_to_hva(vm, vm->idt_gpa);
	sregs.idt.limit = NR_VECTORS * sizeof(struct idt_gate) - 1;
	vcpu_set_sregs(vcpu, &sregs);
}

/* ---- VM lifecycle ---- */

struct vm *vm_create(const struct vm_options *opts)
{
	struct vm_options defaults = { 0 };
	struct kvm_userspace_memory_region region;
	struct vm *vm = calloc(1, sizeof(*vm));
	pthread_mutexattr_t lock_attr;
	uint64_t gpa;
	uint8_t *map;

	TEST_ASSERT(vm, "out of memory");
	vm->opts = opts ? *opts : defaults;
	if (!vm->opts.memory_mb)
		vm->opts.memory_mb = DEFAULT_MEMORY_MB;
	/* Recursive: vm_map_page()/vm_pte() allocate page-table pages
	 * (vm_alloc_gpa() locks too) while holding it. */
	pthread_mutexattr_init(&lock_attr);
	pthread_mutexattr_settype(&lock_attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&vm->lock, &lock_attr);
	pthread_mutexattr_destroy(&lock_attr);
	vm->kvm_fd = kvm_dev_fd();
	vm->fd = kvm_ioctl(vm, KVM_CREATE_VM, vm->opts.vm_type);
	vm->stats_fd = -1;

	/* 2 MiB-aligned backing, so all of RAM can be mapped with large pages. */
	vm->ram_size = vm->opts.memory_mb << 20;
	map = mmap(NULL, vm->ram_size + LARGE_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(map != MAP_FAILED, "mmap of %" PRIu64 " MiB guest RAM: %s",
		    vm->opts.memory_mb, strerror(errno));
	vm->ram_map = map;
	vm->ram = (uint8_t *)(((uintptr_t)map + LARGE_PAGE_SIZE - 1) & ~(LARGE_PAGE_SIZE - 1));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->ram_size,
		.userspace_addr = (uint64_t)vm->ram,
	};
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	vm->nr_slots = 1;
	vm->next_free_gpa = FIRST_ALLOC_GPA;

	if (vm->opts.irqchip) {
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0);
	} else if (vm->opts.split_irqchip) {
		require_kvm_cap(KVM_CAP_SPLIT_IRQCHIP);
		vm_enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24);
	}

	vm->pml4_gpa = vm_alloc_gpa(vm, 1);
	for (gpa = 0; gpa < vm->ram_size; gpa += LARGE_PAGE_SIZE)
		map_large_page(vm, (uint64_t)vm->ram + gpa, gpa);
	/* The xAPIC page, uncached, at its architectural address. */
	if (vm->opts.irqchip || vm->opts.split_irqchip)
		*walk_create(vm, APIC_DEFAULT_GPA, 1) =
			APIC_DEFAULT_GPA | PTE_PRESENT | PTE_WRITE | PTE_PCD;
	setup_descriptor_tables(vm);
	load_own_image(vm);
	return vm;
}

void vm_set_handler(struct vm *vm, int vector, guest_handler_t handler)
{
	guest_handler_t *table = vm_gva_to_hva(vm, (uint64_t)&guest_vector_handlers[vector]);

	*table = handler;
}

void vm_set_guest_data(struct vm *vm, void *data)
{
	uint8_t *p = data;

	TEST_ASSERT(p >= vm->ram && p < vm->ram + vm->ram_size,
		    "vm_set_guest_data(%p): not guest memory from vm_alloc()", data);
	*(void **)vm_gva_to_hva(vm, (uint64_t)&guest_data_of_vm) = data;
}

void vcpu_set_entry(struct vcpu *vcpu, void (*guest_fn)(void *), void *arg)
{
	struct kvm_regs regs = { 0 };
	uint64_t *sp = (uint64_t *)vcpu->stack_top;

	/* The function "returns" into a trampoline that reports GUEST_DONE;
	 * RSP is 8 mod 16 at entry, as after a call. */
	*--sp = (uint64_t)guest_return_trampoline;
	regs.rsp = (uint64_t)sp;
	regs.rip = (uint64_t)guest_fn;
	regs.rdi = (uint64_t)arg;
	regs.rflags = 0x2;
	vcpu_set_regs(vcpu, &regs);
}

struct vcpu *vcpu_add(struct vm *vm, uint32_t id, void (*guest_fn)(void *), void *arg)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	long run_size;

	TEST_ASSERT(vcpu, "out of memory");
	TEST_ASSERT(id < KVM_MAX_TEST_VCPUS && !vm->vcpus[id], "bad or duplicate vCPU id %u", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->stats_fd = -1;
	vcpu->fd = vm_ioctl(vm, KVM_CREATE_VCPU, id);
	run_size = kvm_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vcpu->run_size = run_size;
	vcpu->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of kvm_run: %s", strerror(errno));

	vcpu->cpu = vm_alloc(vm, sizeof(*vcpu->cpu));
	vcpu->cpu->self = vcpu->cpu;
	vcpu->cpu->vcpu_id = id;
	vcpu->cpu->fault_vector = NO_EXCEPTION;
	vcpu->cpu->msg = &vcpu->cpu->own_msg;
	vcpu->cpu->ram_base = (uint64_t)vm->ram;
	vcpu->stack_top = (uint64_t)vm_alloc(vm, GUEST_STACK_SIZE) + GUEST_STACK_SIZE;

	vcpu_init_cpuid(vcpu);
	setup_long_mode(vcpu);
	vcpu_set_entry(vcpu, guest_fn, arg);
	/* With an in-kernel LAPIC, APs would wait for INIT/SIPI. */
	if (vm->opts.irqchip || vm->opts.split_irqchip)
		vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE);
	vm->vcpus[id] = vcpu;
	return vcpu;
}

struct vm *vm_create_with_vcpus(const struct vm_options *opts, unsigned int n,
				void (*guest_fn)(void *), void *arg, struct vcpu **vcpus)
{
	struct vm *vm = vm_create(opts);
	unsigned int i;

	for (i = 0; i < n; i++)
		vcpus[i] = vcpu_add(vm, i, guest_fn, arg);
	return vm;
}

static void vcpu_free(struct vcpu *vcpu)
{
	if (vcpu->watchdog_tid)
		timer_delete(vcpu->watchdog);
	stats_close(vcpu->stats_fd, vcpu->stats);
	munmap(vcpu->run, vcpu->run_size);
	close(vcpu->fd);
	free(vcpu->cpuid);
	free(vcpu);
}

void vm_destroy(struct vm *vm)
{
	int i;

	if (!vm)
		return;
	for (i = 0; i < KVM_MAX_TEST_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_free(vm->vcpus[i]);
	stats_close(vm->stats_fd, vm->stats);
	free(vm->irq_routes);
	close(vm->fd);
	munmap(vm->ram_map, vm->ram_size + LARGE_PAGE_SIZE);
	free(vm);
}

/* ---- registers and MSRs ---- */

void vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs) { vcpu_ioctl(vcpu, KVM_GET_REGS, regs); }
void vcpu_set_regs(struct vcpu *vcpu, struct kvm_regs *regs) { vcpu_ioctl(vcpu, KVM_SET_REGS, regs); }
void vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs) { vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs); }
void vcpu_set_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs) { vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs); }

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entry;
};

uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index)
{
	struct one_msr m = { .hdr.nmsrs = 1, .entry.index = index };
	long n = vcpu_ioctl(vcpu, KVM_GET_MSRS, &m);

	TEST_ASSERT(n == 1, "KVM_GET_MSRS of MSR 0x%x: KVM did not return it", index);
	return m.entry.data;
}

int __vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct one_msr m = { .hdr.nmsrs = 1, .entry.index = index, .entry.data = value };

	return __vcpu_ioctl(vcpu, KVM_SET_MSRS, &m);
}

void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	int n = __vcpu_set_msr(vcpu, index, value);

	TEST_ASSERT(n == 1, "KVM_SET_MSRS of MSR 0x%x = 0x%" PRIx64 ": KVM refused it (%d)",
		    index, value, n);
}

void vcpu_set_mp_state(struct vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
}

uint32_t vcpu_mp_state(struct vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

/* Announced to the harness so a hang report can name the vCPUs in KVM_RUN. */
int vcpu_run(struct vcpu *vcpu)
{
	long ret;

	test_note_vcpu_run(vcpu->id, true);
	__atomic_add_fetch(&vcpu->run_count, 1, __ATOMIC_SEQ_CST);
	ret = ioctl(vcpu->fd, KVM_RUN, NULL);
	__atomic_add_fetch(&vcpu->run_count, 1, __ATOMIC_SEQ_CST);
	test_note_vcpu_run(vcpu->id, false);
	return ret < 0 ? -errno : 0;
}
