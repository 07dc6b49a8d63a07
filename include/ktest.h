/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KTAP test harness: a test binary is a list of named cases.
 *
 *   TEST_CASE(ipi_is_delivered, "an IPI between two vCPUs reaches the handler")
 *   {
 *           ...
 *           TEST_ASSERT_EQ(shared->ipis, 1);
 *   }
 *
 * Each case runs in a forked child with a time limit, so a crash or a hung
 * vCPU is one failed case and the others still run. Output is KTAP v1 that
 * `prove` accepts; exit codes follow kselftest (0 pass, 1 fail, 4 skip; under
 * a TAP harness that sets HARNESS_ACTIVE, as prove does, "all skipped" exits 0
 * because the harness reads the skips from the stream).
 *
 * Common options for every binary: -l, -t NAME, -v, --seed N, --duration S,
 * --iterations N, --time-limit; a binary adds its own with TEST_OPTION().
 */
#ifndef KVMTEST_KTEST_H
#define KVMTEST_KTEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4
#define KSFT_USAGE 2

struct test_case {
	const char *ident;      /* short name, for -t */
	const char *name;       /* reads as a sentence in the TAP output */
	void (*fn)(void);
	/*
	 * The case's time limit (include/host.h, "Time limits"): timeout is
	 * seconds of work at native speed (0: TEST_DEFAULT_TIMEOUT), scaled
	 * by the host's slowness; wait_s is seconds the case may spend
	 * waiting by design (check thresholds running out, settle sleeps),
	 * added as it is, like a stress case's --duration.
	 */
	unsigned int timeout;
	unsigned int wait_s;
	bool stress;            /* bounded by --duration / --iterations */
	int line;               /* cases run in source order */
};

#define TEST_DEFAULT_TIMEOUT 1
/* Added to every scaled limit: a loaded host's scheduling noise. */
#define TEST_LIMIT_ALLOWANCE_S 5

void test_register(struct test_case *tc);

#define TEST_CASE(id, sentence, ...)                                          \
	static void test_fn_##id(void);                                       \
	static struct test_case test_case_##id = {                            \
		.ident = #id, .name = sentence, .fn = test_fn_##id,           \
		.line = __LINE__, __VA_ARGS__                                 \
	};                                                                    \
	__attribute__((constructor)) static void test_register_##id(void)    \
	{                                                                     \
		test_register(&test_case_##id);                               \
	}                                                                     \
	static void test_fn_##id(void)

/* Options shared by every binary. A zero duration/iterations means "use the
 * case's default": read them through test_duration()/test_iterations(). */
struct test_options {
	uint64_t seed;
	uint64_t duration;      /* seconds, 0 = case default */
	uint64_t iterations;    /* 0 = case default */
	uint64_t negative_control;  /* --negative-control N, 0 = off */
	bool verbose;
};
extern struct test_options test_opts;

static inline uint64_t test_duration(uint64_t case_default)
{
	return test_opts.duration ? test_opts.duration : case_default;
}

static inline uint64_t test_iterations(uint64_t case_default)
{
	return test_opts.iterations ? test_opts.iterations : case_default;
}

/* A binary-specific numeric option, e.g.
 *   static uint64_t migrate_interval_us = 500;
 *   TEST_OPTION("migrate-interval", migrate_interval_us, "microseconds between migrations");
 */
struct test_option {
	const char *name;
	uint64_t *value;
	const char *help;
};
void test_register_option(struct test_option *opt);
#define TEST_OPTION(optname, var, helptext)                                   \
	static struct test_option test_option_##var = {                       \
		.name = optname, .value = &(var), .help = helptext            \
	};                                                                    \
	__attribute__((constructor)) static void test_register_option_##var(void) \
	{                                                                     \
		test_register_option(&test_option_##var);                     \
	}

/*
 * --negative-control N (every binary): make check N see the wrong behaviour
 * on purpose, to show that it can fail; TEST_CONTROL() below declares each
 * control with the failure it must produce. A binary describes its controls
 * for -h with TEST_NEGATIVE_CONTROLS("1: ...; 2: ...").
 */
extern const char *test_negative_control_help;
/* True when --negative-control selects `which`: says once in the output that
 * the case is now expected to fail, and sets test_negative_control_active
 * (per case: each case is its own process), so that a case can keep, e.g., a
 * host-deviation skip from hiding the failure the control induces. */
bool test_negative_control(uint64_t which);
extern bool test_negative_control_active;
#define TEST_NEGATIVE_CONTROLS(text)                                          \
	__attribute__((constructor)) static void test_negative_controls_help(void) \
	{                                                                     \
		test_negative_control_help = (text);                          \
	}

/*
 * Each negative control is declared next to the case it breaks, with the
 * failure it must produce there:
 *
 *   TEST_CONTROL(hlt_disabled, NC_HLT_WITHOUT_CAP, "passes", "-",
 *                "the \"disabled\" VM never enables the capability",
 *                "HLT exits are disabled, so halt_exits should not move");
 *
 * Run as `-t CASE --negative-control N ARGS` ("-" for no ARGS), the case
 * must be reported "not ok", print a "# " diagnostic matching the extended
 * regex, and the binary must exit 1. NEEDS says where that is observable,
 * words that must all hold: "any" (every host with a usable KVM), "passes"
 * (wherever the case passes without the control), or the name of a probe.
 * A probe runs one case once and states what it must show:
 *
 *   TEST_CONTROL_PROBE(hyperv, "hyperv/tlb_flush", "space_slow", "--yield-spins 0", "pass");
 *
 * ("pass", "skip REGEX": it skips with a matching reason, "pass-without
 * REGEX": it passes with no "# " diagnostic matching). --list-controls prints
 * the declarations (lib/tests/check_negative_controls.sh reads them from
 * every binary):
 *   probe NAME | BINARY | CASE | ARGS | EXPECT
 *   CASE | N | ARGS | NEEDS | WHAT | REGEX
 */
struct test_control {
	const char *case_ident;
	uint64_t number;
	const char *needs, *args, *what, *fails_with;
	const char *probe_binary;       /* set for a probe: case_ident is its case */
	const char *probe_name;
	int line;
};
void test_register_control(struct test_control *c);
#define __TEST_CONTROL_REGISTER(var, ...) __TEST_CONTROL_REGISTER_(var, __VA_ARGS__)
#define __TEST_CONTROL_REGISTER_(var, ...)                                      \
	static struct test_control var = { __VA_ARGS__, .line = __LINE__ };   \
	__attribute__((constructor)) static void var##_register(void)         \
	{                                                                     \
		test_register_control(&var);                                  \
	}
#define __TEST_CONTROL_VAR(a, b) __TEST_CONTROL_VAR2(a, b)
#define __TEST_CONTROL_VAR2(a, b) test_control_##a##_##b
#define TEST_CONTROL(case_id, n, needs_words, extra_args, what_it_breaks, regex)  \
	__TEST_CONTROL_REGISTER(__TEST_CONTROL_VAR(case_id, __LINE__),         \
		.case_ident = #case_id, .number = (n), .needs = (needs_words),  \
		.args = (extra_args), .what = (what_it_breaks), .fails_with = (regex))
#define TEST_CONTROL_PROBE(name, binary, case_id, extra_args, expect)         \
	__TEST_CONTROL_REGISTER(__TEST_CONTROL_VAR(probe_##name, __LINE__),    \
		.probe_name = #name, .probe_binary = (binary), .case_ident = (case_id), \
		.args = (extra_args), .needs = (expect))

/* Binaries that do not use /dev/kvm (unit tests of the host-side library)
 * say so; all others get a whole-binary skip when /dev/kvm is unusable. */
extern bool test_binary_needs_kvm;
#define TEST_BINARY_WITHOUT_KVM() \
	__attribute__((constructor)) static void test_no_kvm(void) { test_binary_needs_kvm = false; }

/* Verdicts from inside a case. They end the case (any thread may call them). */
__attribute__((noreturn, format(printf, 1, 2))) void test_skip(const char *fmt, ...);
__attribute__((noreturn, format(printf, 3, 4)))
void __test_fail(const char *file, int line, const char *fmt, ...);
#define test_fail(...) __test_fail(__FILE__, __LINE__, __VA_ARGS__)

/* A "# ..." diagnostic line; test_verbose() only with -v. */
__attribute__((format(printf, 1, 2))) void test_diag(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void test_verbose(const char *fmt, ...);

#define TEST_ASSERT(cond, ...)                                                \
	do {                                                                  \
		if (!(cond))                                                  \
			__test_fail(__FILE__, __LINE__, __VA_ARGS__);         \
	} while (0)

#define TEST_REQUIRE(cond, ...)                                               \
	do {                                                                  \
		if (!(cond))                                                  \
			test_skip(__VA_ARGS__);                               \
	} while (0)

#define __TEST_ASSERT_CMP(a, op, b)                                           \
	do {                                                                  \
		uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);            \
		if (!(__a op __b))                                            \
			__test_fail(__FILE__, __LINE__,                       \
				    "expected %s %s %s, got %s = %" PRIu64   \
				    " (0x%" PRIx64 "), %s = %" PRIu64         \
				    " (0x%" PRIx64 ")", #a, #op, #b, #a, __a, \
				    __a, #b, __b, __b);                       \
	} while (0)
#define TEST_ASSERT_EQ(a, b) __TEST_ASSERT_CMP(a, ==, b)
#define TEST_ASSERT_NE(a, b) __TEST_ASSERT_CMP(a, !=, b)
#define TEST_ASSERT_LT(a, b) __TEST_ASSERT_CMP(a, <, b)
#define TEST_ASSERT_LE(a, b) __TEST_ASSERT_CMP(a, <=, b)
#define TEST_ASSERT_GT(a, b) __TEST_ASSERT_CMP(a, >, b)
#define TEST_ASSERT_GE(a, b) __TEST_ASSERT_CMP(a, >=, b)

/* An ioctl-style call expected to fail with a given errno. */
#define TEST_ASSERT_ERRNO(ret, err)                                           \
	do {                                                                  \
		long __r = (ret);                                             \
		TEST_ASSERT(__r == -(err), "%s: expected -%s, got %ld (%s)",  \
			    #ret, #err, __r, __r < 0 ? strerror((int)-__r) : "success"); \
	} while (0)

/* Monotonic clock in nanoseconds, and a deterministic PRNG for stress cases
 * (seeded from --seed; the seed is printed so a failure can be replayed). */
uint64_t now_ns(void);
struct test_rng { uint64_t state; };
void test_rng_init(struct test_rng *rng, uint64_t stream);
uint64_t test_rng_next(struct test_rng *rng);
static inline uint64_t test_rng_below(struct test_rng *rng, uint64_t bound)
{
	return bound ? test_rng_next(rng) % bound : 0;
}
/* One set bit of mask, chosen uniformly (mask != 0). Guest-safe. */
static inline uint32_t test_rng_pick_bit(struct test_rng *rng, uint32_t mask)
{
	uint32_t k = (uint32_t)test_rng_below(rng, __builtin_popcount(mask));

	while (k--)
		mask &= mask - 1;
	return mask & -mask;
}

/*
 * How much stress a case applied, as one machine-readable diagnostic:
 * "# stress work: DONE of COUNT UNIT" (COUNT: the case's count bound, after
 * --iterations), or "# stress work: DONE UNIT (bounded by time only)" when
 * COUNT is 0 or UINT64_MAX. A stress case ends at its count or at its time
 * bound, whichever comes first: on a slow or shared host the time bound
 * comes first, and the case did less than its count. Runners add these up
 * (scripts/runner/ktap-results --stress-work), so a verdict says how much
 * stress stands behind it. A stress case that returns without calling it
 * fails.
 */
void test_stress_work(uint64_t done, uint64_t count, const char *unit);

/* Latency figures for diagnostics (never asserts): p50/p99/max of samples. */
struct latency_summary { uint64_t count, p50, p99, max; };
struct latency_summary latency_summarize(uint64_t *samples, uint64_t count);
void test_diag_latency(const char *what, uint64_t *samples_ns, uint64_t count);

/* Record what the case is doing, shown if it later times out or crashes. */
__attribute__((format(printf, 1, 2))) void test_progress(const char *fmt, ...);

#endif
