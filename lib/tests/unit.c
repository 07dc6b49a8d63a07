// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the library's host-side parts that need no /dev/kvm:
 * guest-side formatting (compared with glibc), latency summaries, the
 * seeded PRNG, kernel version comparison, the Hyper-V flush encoding,
 * holding a thread on its CPU.
 */
#include <errno.h>

#include "hv_flush_stat.h"
#include "hyperv_flush.h"
#include "probe.h"
#include "threads.h"
#include "vm.h"

TEST_BINARY_WITHOUT_KVM();

#define CHECK_FORMAT(...)                                                      \
	do {                                                                   \
		char ours[256], libc[256];                                     \
		int n1 = guest_snprintf(ours, sizeof(ours), __VA_ARGS__);      \
		int n2 = snprintf(libc, sizeof(libc), __VA_ARGS__);            \
		TEST_ASSERT(!strcmp(ours, libc) && n1 == n2,                   \
			    "format %s: guest_snprintf gave '%s' (%d), libc '%s' (%d)", \
			    #__VA_ARGS__, ours, n1, libc, n2);                 \
	} while (0)

TEST_CASE(format_matches_libc, "guest_snprintf formats like libc for the supported conversions")
{
	CHECK_FORMAT("plain");
	CHECK_FORMAT("%d %d %d", 0, -1, 2147483647);
	CHECK_FORMAT("%lld %llu", -9223372036854775807ll - 1, 18446744073709551615ull);
	CHECK_FORMAT("%x %X %o", 0xdeadbeefu, 0xabcu, 8u);
	CHECK_FORMAT("[%5d] [%-5d] [%05d] [%-3d]", 42, 42, -42, 7);
	CHECK_FORMAT("[%8s] [%-8s] [%.2s] [%s]", "ab", "cd", "efgh", "");
	CHECK_FORMAT("%c%c%%", 'o', 'k');
	CHECK_FORMAT("%zu %lx %p", (size_t)12345, 0xfffffffffffful, (void *)0x7f0012345678);
	CHECK_FORMAT("[%*d]", 6, 99);
}

TEST_CASE(format_truncates, "guest_snprintf truncates like libc and returns the full length")
{
	char buf[8];
	int n = guest_snprintf(buf, sizeof(buf), "%s", "0123456789");

	TEST_ASSERT_EQ(n, 10);
	TEST_ASSERT(!strcmp(buf, "0123456"), "truncated to '%s'", buf);
}

TEST_CASE(latency_summary, "latency summaries report median, p99 and max of the samples")
{
	uint64_t samples[200];
	struct latency_summary s;
	int i;

	for (i = 0; i < 200; i++)
		samples[i] = 200 - i;   /* 1..200, reversed */
	s = latency_summarize(samples, 200);
	TEST_ASSERT_EQ(s.count, 200);
	TEST_ASSERT_EQ(s.p50, 101);
	TEST_ASSERT_EQ(s.p99, 199);
	TEST_ASSERT_EQ(s.max, 200);
}

/* The two forms of the stress-work line; check_results.sh reads them back
 * through scripts/runner/ktap-results. */
TEST_CASE(stress_work_counted, "a stress case that ended before its count says how far it got")
{
	test_stress_work(4400, 12000, "wakeups");
}

TEST_CASE(stress_work_timed, "a stress case bounded by time only says what it did")
{
	test_stress_work(345, UINT64_MAX, "flushes");
}

TEST_CASE(rng_replays, "the same seed and stream give the same random sequence")
{
	struct test_rng a, b, c;
	int i, same_as_other_stream = 0;

	test_rng_init(&a, 7);
	test_rng_init(&b, 7);
	test_rng_init(&c, 8);
	for (i = 0; i < 100; i++) {
		uint64_t x = test_rng_next(&a);

		TEST_ASSERT_EQ(x, test_rng_next(&b));
		same_as_other_stream += x == test_rng_next(&c);
	}
	TEST_ASSERT_EQ(same_as_other_stream, 0);
}

TEST_CASE(rng_pick_bit, "a random pick from a bit mask is one of its set bits, and reaches each")
{
	const uint32_t mask = 0x8421;   /* bits 0, 5, 10, 15 */
	struct test_rng rng;
	uint32_t seen = 0;
	int i;

	test_rng_init(&rng, 3);
	for (i = 0; i < 200; i++) {
		uint32_t bit = test_rng_pick_bit(&rng, mask);

		TEST_ASSERT(bit && !(bit & (bit - 1)) && (bit & mask), "picked 0x%x from 0x%x",
			    bit, mask);
		seen |= bit;
	}
	TEST_ASSERT_EQ(seen, mask);
}

TEST_CASE(kernel_version, "kernel release comparison handles Debian version strings")
{
	TEST_ASSERT(release_is_at_least("6.1.0-40-amd64", 6, 1), "6.1.0-40-amd64 >= 6.1");
	TEST_ASSERT(!release_is_at_least("6.1.0-40-amd64", 6, 14), "6.1.0-40-amd64 < 6.14");
	TEST_ASSERT(release_is_at_least("6.12.57+deb13-amd64", 6, 12), "6.12 >= 6.12");
	TEST_ASSERT(!release_is_at_least("6.12.57+deb13-amd64", 6, 14), "6.12 < 6.14");
	TEST_ASSERT(release_is_at_least("7.2.13+deb14-amd64", 6, 14), "7.2 >= 6.14");
	TEST_ASSERT(!release_is_at_least("garbage", 5, 0), "unparsable is not newer");
}

TEST_CASE(cpuinfo_words, "cpuinfo lookups find whole words of the first processor's line, and say when there is no line")
{
	char path[] = "/tmp/kvm-regress-cpuinfo.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	TEST_ASSERT(f, "cannot create %s", path);
	fputs("processor\t: 0\nflags\t\t: fpu monitor_x arat\nbugs\t\t: sysret_ss_attrs\n\n"
	      "processor\t: 1\nflags\t\t: fpu monitor\n", f);
	fclose(f);
	TEST_ASSERT_EQ(cpuinfo_lists(path, "flags", "arat"), 1);
	TEST_ASSERT_EQ(cpuinfo_lists(path, "flags", "monitor"), 0);     /* not a prefix match, not CPU 1 */
	TEST_ASSERT_EQ(cpuinfo_lists(path, "bugs", "monitor"), 0);
	TEST_ASSERT_EQ(cpuinfo_lists(path, "power management", "ts"), -1);
	unlink(path);
	TEST_ASSERT_EQ(cpuinfo_lists(path, "flags", "fpu"), -1);
}

#define FLUSH_GVA 0x100000000000ull     /* any canonical page address */

TEST_CASE(hv_flush_encoding, "Hyper-V flush descriptions encode sparse banks in ascending order, every target form and GVA ranges")
{
	struct hv_flush_spec spec = { .call = HV_FLUSH_LIST_EX, .targets = HV_TARGETS_VPS,
				      HV_VPS(191, 7, 64, 0) };
	struct hv_flush f;
	char what[160];

	hv_flush_spec_add_gva(&spec, FLUSH_GVA, 3);
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT_EQ(f.code, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX);
	TEST_ASSERT_EQ(f.format, HV_GENERIC_SET_SPARSE_4K);
	TEST_ASSERT_EQ(f.valid_bank_mask, 0x7);
	TEST_ASSERT_EQ(f.var_cnt, 3);
	TEST_ASSERT_EQ(f.banks[0], BITL(7) | BITL(0));
	TEST_ASSERT_EQ(f.banks[1], BITL(0));
	TEST_ASSERT_EQ(f.banks[2], BITL(63));
	TEST_ASSERT_EQ(f.rep_cnt, 1);
	TEST_ASSERT_EQ(f.gvas[0], FLUSH_GVA | 3);
	TEST_ASSERT(hv_flush_spec_targets_vp(&spec, 64) && !hv_flush_spec_targets_vp(&spec, 65),
		    "VP 64 is targeted, 65 is not");
	hv_flush_describe(what, sizeof(what), &spec);
	TEST_ASSERT(!strcmp(what, "HvFlushVirtualAddressListEx (slow) to VP set 0x81 (bank 0), "
			    "0x1 (bank 1), 0x8000000000000000 (bank 2), 1 GVA entry (4 pages)"),
		    "described as '%s'", what);

	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE, .fast = true,
				       .targets = HV_TARGETS_VPS, HV_VPS(0) };
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT_EQ(f.processor_mask, 0x1);
	TEST_ASSERT_EQ(hv_flush_control(&f), HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HYPERCALL_FAST_BIT);
	hv_flush_describe(what, sizeof(what), &spec);
	TEST_ASSERT(!strcmp(what, "HvFlushVirtualAddressSpace (fast) to VP set 0x1"),
		    "described as '%s'", what);

	/* The "all" forms: the flag (the mask may still name VPs), mask 0, SET_ALL. */
	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_ALL_FLAG,
				       HV_VPS(7) };
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT_EQ(f.flags, HV_FLUSH_ALL_PROCESSORS);
	TEST_ASSERT_EQ(f.processor_mask, BITL(7));
	TEST_ASSERT(hv_flush_spec_targets_vp(&spec, 4000), "the flag targets every VP");
	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_ZERO_MASK };
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT(!f.flags && !f.processor_mask, "processor_mask 0, no flag");
	hv_flush_describe(what, sizeof(what), &spec);
	TEST_ASSERT(!strcmp(what, "HvFlushVirtualAddressSpace (slow) to all processors "
			    "(processor_mask 0)"), "described as '%s'", what);
	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_SET_ALL };
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT(f.format == HV_GENERIC_SET_ALL && !f.var_cnt && !f.valid_bank_mask,
		    "HV_GENERIC_SET_ALL with no banks");
	/* An Ex call may name no VP at all (an empty sparse set). */
	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_VPS };
	TEST_ASSERT(!hv_flush_build(&f, &spec), "%s", hv_flush_spec_problem(&spec));
	TEST_ASSERT(!f.var_cnt && !f.valid_bank_mask, "an empty sparse set");
}

TEST_CASE(hv_flush_rejects, "Hyper-V flush descriptions that KVM would reject are refused with a reason")
{
	static const struct hv_flush_spec bad[] = {
		{ .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS },                  /* empty mask */
		{ .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_VPS, HV_VPS(64) },      /* beyond the mask */
		{ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_VPS, HV_VPS(4096) },
		{ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_ALL_FLAG },
		{ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_ZERO_MASK },
		{ .call = HV_FLUSH_SPACE, .targets = HV_TARGETS_SET_ALL },
		{ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_SET_ALL, HV_VPS(1) },
		{ .call = HV_FLUSH_LIST, .targets = HV_TARGETS_ZERO_MASK },             /* no GVA */
		{ .call = HV_FLUSH_NR_CALLS, .targets = HV_TARGETS_ZERO_MASK },
	};
	struct hv_flush_spec spec = { .call = HV_FLUSH_LIST_EX, .fast = true,
				      .targets = HV_TARGETS_VPS, HV_VPS(0) };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TEST_ASSERT(hv_flush_spec_problem(&bad[i]), "bad description %u accepted", i);
	/* Fast ListEx, one bank: 3 halves, then one per GVA up to XMM0..XMM5. */
	for (i = 0; i < HV_FAST_XMM_HALVES - 3; i++)
		hv_flush_spec_add_gva(&spec, FLUSH_GVA + i * PAGE_SIZE, 0);
	TEST_ASSERT(!hv_flush_spec_problem(&spec), "%s", hv_flush_spec_problem(&spec));
	hv_flush_spec_add_gva(&spec, FLUSH_GVA, 0);
	TEST_ASSERT(hv_flush_spec_problem(&spec), "13 XMM halves accepted");
	/* Past the capacity: counted, and refused. */
	spec = (struct hv_flush_spec){ .call = HV_FLUSH_SPACE_EX, .targets = HV_TARGETS_VPS };
	for (i = 0; i <= HV_FLUSH_SPEC_MAX_VPS; i++)
		hv_flush_spec_add_vp(&spec, i);
	TEST_ASSERT_EQ(spec.nr_vps, HV_FLUSH_SPEC_MAX_VPS + 1);
	TEST_ASSERT(hv_flush_spec_problem(&spec), "more VPs than the capacity accepted");
}

TEST_CASE(hv_flush_stat_models, "the tlb_flush model follows the kernel release and vendor, and its counts are exact")
{
	static const struct {
		struct hv_flush_stat_host host;
		enum hv_flush_stat_model model;
	} cases[] = {
		{ { "6.1.0-50-amd64", false, true, false }, HV_FLUSH_STAT_ONE },          /* no FIFOs */
		{ { "6.12.117+deb13-amd64", false, true, true }, HV_FLUSH_STAT_PER_ENTRY },
		{ { "5.14.0-rhel", false, true, true }, HV_FLUSH_STAT_PER_ENTRY },       /* backported FIFOs */
		{ { "6.16.3+deb14-amd64", false, true, true }, HV_FLUSH_STAT_PER_ENTRY_OR_ONE },
		{ { "7.1.3+deb14-amd64", false, true, true }, HV_FLUSH_STAT_PER_ENTRY_OR_ONE },
		{ { "7.2.13+deb14-amd64", false, true, true }, HV_FLUSH_STAT_ONE },
		{ { "7.2.13+deb14-amd64", true, false, true }, HV_FLUSH_STAT_PER_ENTRY }, /* Intel EPT */
		{ { "6.12.117+deb13-amd64", false, false, true }, HV_FLUSH_STAT_ANY },    /* shadow paging */
	};
	struct hv_flush_stat m;
	uint64_t expected;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = hv_flush_stat_model_for(&cases[i].host);
		TEST_ASSERT(m.model == cases[i].model, "%s: model %s, expected %s", cases[i].host.release,
			    hv_flush_stat_model_name(m.model), hv_flush_stat_model_name(cases[i].model));
	}
	m.model = HV_FLUSH_STAT_PER_ENTRY;
	TEST_ASSERT(hv_flush_stat_fits(&m, 4, 4, &expected) && expected == 4, "per entry: 4 of 4");
	TEST_ASSERT(!hv_flush_stat_fits(&m, 4, 3, &expected), "per entry: 3 of 4 accepted");
	TEST_ASSERT(!hv_flush_stat_fits(&m, 4, 1, &expected), "per entry: 1 of 4 accepted");
	m.model = HV_FLUSH_STAT_ONE;
	TEST_ASSERT(hv_flush_stat_fits(&m, 16, 1, &expected) && expected == 1, "one: 1 for 16");
	TEST_ASSERT(!hv_flush_stat_fits(&m, 16, 16, &expected), "one: 16 accepted");
	TEST_ASSERT(!hv_flush_stat_fits(&m, 0, 1, &expected), "one: a flush with nothing queued");
	m.model = HV_FLUSH_STAT_PER_ENTRY_OR_ONE;
	TEST_ASSERT(hv_flush_stat_fits(&m, 4, 4, &expected) && hv_flush_stat_fits(&m, 4, 1, &expected),
		    "either: 4 or 1 for 4");
	TEST_ASSERT(!hv_flush_stat_fits(&m, 4, 2, &expected), "either: 2 for 4 accepted");
	m.model = HV_FLUSH_STAT_ANY;
	TEST_ASSERT(hv_flush_stat_fits(&m, 4, 7, &expected) && !hv_flush_stat_fits(&m, 4, 0, &expected),
		    "any: at least one");
}

TEST_CASE(thread_holds_cpu, "a thread held on its CPU may run there alone, and gets its CPUs back on release")
{
	cpu_set_t before, held, after;
	struct cpu_hold hold;
	int cpu;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(before), &before), "sched_getaffinity: %s", strerror(errno));
	cpu = thread_hold_cpu(&hold);
	TEST_ASSERT(cpu >= 0, "thread_hold_cpu: %s", strerror(-cpu));
	TEST_ASSERT(!sched_getaffinity(0, sizeof(held), &held), "sched_getaffinity: %s", strerror(errno));
	TEST_ASSERT(CPU_COUNT(&held) == 1 && CPU_ISSET(cpu, &held),
		    "held on CPU %d, but may run on %d CPU(s)", cpu, CPU_COUNT(&held));
	TEST_ASSERT_EQ(sched_getcpu(), cpu);
	thread_release_cpu(&hold);
	TEST_ASSERT(!sched_getaffinity(0, sizeof(after), &after), "sched_getaffinity: %s", strerror(errno));
	TEST_ASSERT(CPU_EQUAL(&before, &after), "after release: %d CPU(s), before: %d",
		    CPU_COUNT(&after), CPU_COUNT(&before));
	thread_release_cpu(&hold);      /* a second release changes nothing */
	TEST_ASSERT(!sched_getaffinity(0, sizeof(after), &after) && CPU_EQUAL(&before, &after),
		    "a second release changed the affinity");
}
