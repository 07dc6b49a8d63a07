// SPDX-License-Identifier: GPL-2.0
/*
 * Name guest code addresses in failure messages: the guest runs this very
 * binary at its link addresses, so its own symbol table (read once from
 * /proc/self/exe) turns "rip 0x403120" into "guest_ud2+0x0".
 */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols.h"

static const Elf64_Sym *syms;
static size_t nr_syms;
static const char *strtab;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load_symbols(void)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	const char *base;
	int fd, i;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*eh)) {
		close(fd);
		return;
	}
	base = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return;
	eh = (const void *)base;
	sh = (const void *)(base + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		syms = (const void *)(base + sh[i].sh_offset);
		nr_syms = sh[i].sh_size / sizeof(*syms);
		strtab = base + sh[sh[i].sh_link].sh_offset;
		return;         /* the mapping stays for the life of the process */
	}
}

bool symbolize(uint64_t addr, char *buf, size_t len)
{
	const Elf64_Sym *best = NULL;
	size_t i;

	pthread_once(&once, load_symbols);
	for (i = 0; i < nr_syms; i++) {
		const Elf64_Sym *s = &syms[i];

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_value > addr)
			continue;
		if (addr < s->st_value + (s->st_size ? s->st_size : 1) &&
		    (!best || s->st_value > best->st_value))
			best = s;
	}
	if (!best)
		return false;
	snprintf(buf, len, "%s+0x%lx", strtab + best->st_name,
		 (unsigned long)(addr - best->st_value));
	return true;
}
