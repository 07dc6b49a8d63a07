// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "probe.h"

int module_param_read(const char *module, const char *param, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module, param);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

bool module_param_enabled(const char *module, const char *param)
{
	char buf[32];

	if (module_param_read(module, param, buf, sizeof(buf)))
		return false;
	return !strcmp(buf, "Y") || !strcmp(buf, "y") || !strcmp(buf, "1");
}

const char *kvm_vendor_module(void)
{
	static char name[256];
	struct dirent *d;
	DIR *dir;

	if (!access("/sys/module/kvm_intel", F_OK))
		return "kvm_intel";
	if (!access("/sys/module/kvm_amd", F_OK))
		return "kvm_amd";
	dir = opendir("/sys/module");
	if (!dir)
		return NULL;
	while ((d = readdir(dir))) {
		if (!strncmp(d->d_name, "kvm_", 4)) {
			snprintf(name, sizeof(name), "%s", d->d_name);
			closedir(dir);
			return name;
		}
	}
	closedir(dir);
	return NULL;
}

int cpuinfo_lists(const char *path, const char *field, const char *word)
{
	FILE *f = fopen(path, "re");
	size_t flen = strlen(field);
	char line[8192];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + flen, *tok, *save;

		if (line[0] == '\n')
			break;          /* end of the first processor's block */
		if (strncmp(line, field, flen) || (*p != ' ' && *p != '\t' && *p != ':'))
			continue;
		p = strchr(p, ':');
		if (!p)
			continue;
		found = 0;
		for (tok = strtok_r(p + 1, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, word))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

int host_cpuinfo_lists(const char *field, const char *word)
{
	return cpuinfo_lists("/proc/cpuinfo", field, word);
}

const char *kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0])
		uname(&u);
	return u.release;
}

bool release_is_at_least(const char *release, int major, int minor)
{
	int ma = 0, mi = 0;

	if (sscanf(release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

bool kernel_is_at_least(int major, int minor)
{
	return release_is_at_least(kernel_release(), major, minor);
}

void __release_rule_old_behaviour(const char *file, int line, int major, int minor,
				  const char *behaviour, const char *fmt, ...)
{
	char observed[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(observed, sizeof(observed), fmt, ap);
	va_end(ap);
	if (kernel_is_at_least(major, minor))
		__test_fail(file, line, "%s arrived in %d.%d and this kernel is %s, but %s",
			    behaviour, major, minor, kernel_release(), observed);
	test_skip("%s arrived in %d.%d; this kernel is %s (%s)", behaviour, major, minor,
		  kernel_release(), observed);
}

int host_has_msr(uint32_t index)
{
	uint64_t v;
	int fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &v, sizeof(v), index);
	close(fd);
	return n == sizeof(v);
}
