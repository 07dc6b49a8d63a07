// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the library's host-side parts that need no /dev/kvm:
 * guest-side formatting (compared with glibc), latency summaries, the
 * seeded PRNG, kernel version comparison.
 */
#include "probe.h"
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
