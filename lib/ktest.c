// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP harness: option parsing, one forked child per case with a time limit,
 * verdicts, diagnostics. See include/ktest.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "ktest.h"

#define MAX_CASES   256
#define MAX_OPTIONS 32
#define MAX_CONTROLS 64
#define REASON_LEN  512
#define HANG_REPORT_VCPUS 64
/*
 * How long a killed case may take to die. A process that outlives SIGKILL
 * this long is stuck in the kernel (e.g. a vCPU thread that KVM never lets
 * out of KVM_RUN): it is reported with its kernel stacks and left behind.
 */
#define KILL_GRACE_MS     5000
/* How long output may trail a case's exit (its group is killed first). */
#define DRAIN_MS          2000

struct test_options test_opts;
bool test_binary_needs_kvm = true;
const char *test_negative_control_help;
bool test_negative_control_active;

static struct test_case *cases[MAX_CASES];
static int nr_cases;
static struct test_option *options[MAX_OPTIONS];
static int nr_options;
static struct test_control *controls[MAX_CONTROLS];
static int nr_controls;

/*
 * State the child shares with the parent: the verdict and its reason, and
 * what the case was doing, so a timeout or crash can be explained.
 */
struct case_report {
	int verdict;
	char reason[REASON_LEN];
	char progress[REASON_LEN];
	struct {
		uint64_t entered_ns;    /* 0 when not inside KVM_RUN */
	} vcpu_in_run[HANG_REPORT_VCPUS];
};
static struct case_report *report;
static bool in_case_child;
static bool stress_work_said;   /* the case called test_stress_work() */
static atomic_int verdict_claimed;

void test_register(struct test_case *tc)
{
	int i;

	if (nr_cases == MAX_CASES) {
		fprintf(stderr, "too many test cases (max %d)\n", MAX_CASES);
		exit(KSFT_USAGE);
	}
	if (!tc->timeout)
		tc->timeout = TEST_DEFAULT_TIMEOUT;
	/* Constructors may run in any order: keep the cases in source order. */
	for (i = nr_cases; i > 0 && cases[i - 1]->line > tc->line; i--)
		cases[i] = cases[i - 1];
	cases[i] = tc;
	nr_cases++;
}

bool test_negative_control(uint64_t which)
{
	if (test_opts.negative_control != which)
		return false;
	if (!test_negative_control_active)
		test_diag("negative control %" PRIu64 " active: this case is expected to FAIL",
			  which);
	test_negative_control_active = true;
	return true;
}

void test_register_control(struct test_control *c)
{
	int i;

	if (nr_controls == MAX_CONTROLS) {
		fprintf(stderr, "too many negative controls (max %d)\n", MAX_CONTROLS);
		exit(KSFT_USAGE);
	}
	/* In source order, as the cases. */
	for (i = nr_controls; i > 0 && controls[i - 1]->line > c->line; i--)
		controls[i] = controls[i - 1];
	controls[i] = c;
	nr_controls++;
}

static struct test_case *find_case(const char *name);

/* The declarations, for the checker; a control naming no case is an error. */
static int list_controls(const char *prog)
{
	int i;

	for (i = 0; i < nr_controls; i++) {
		const struct test_control *c = controls[i];

		if (c->probe_name) {
			printf("probe %s | %s | %s | %s | %s\n", c->probe_name, c->probe_binary,
			       c->case_ident, c->args, c->needs);
			continue;
		}
		if (!find_case(c->case_ident)) {
			fprintf(stderr, "%s: negative control %" PRIu64 " names no case '%s'\n", prog,
				c->number, c->case_ident);
			return KSFT_USAGE;
		}
		printf("%s | %" PRIu64 " | %s | %s | %s | %s\n", c->case_ident, c->number, c->args,
		       c->needs, c->what, c->fails_with);
	}
	return KSFT_PASS;
}

void test_register_option(struct test_option *opt)
{
	if (nr_options == MAX_OPTIONS) {
		fprintf(stderr, "too many options (max %d)\n", MAX_OPTIONS);
		exit(KSFT_USAGE);
	}
	options[nr_options++] = opt;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* splitmix64: tiny, good enough, and identical on every host. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void test_rng_init(struct test_rng *rng, uint64_t stream)
{
	uint64_t s = test_opts.seed ^ (stream * 0xd1342543de82ef95ull);

	rng->state = splitmix64(&s);
}

uint64_t test_rng_next(struct test_rng *rng)
{
	return splitmix64(&rng->state);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct latency_summary latency_summarize(uint64_t *samples, uint64_t count)
{
	struct latency_summary s = { .count = count };

	if (!count)
		return s;
	qsort(samples, count, sizeof(*samples), cmp_u64);
	s.p50 = samples[count / 2];
	s.p99 = samples[count * 99 / 100];
	s.max = samples[count - 1];
	return s;
}

void test_diag_latency(const char *what, uint64_t *samples_ns, uint64_t count)
{
	struct latency_summary s = latency_summarize(samples_ns, count);

	test_diag("%s latency over %" PRIu64 " samples: p50 %" PRIu64 " us, p99 %" PRIu64
		  " us, max %" PRIu64 " us", what, s.count, s.p50 / 1000, s.p99 / 1000,
		  s.max / 1000);
}

static void vdiag(const char *fmt, va_list ap)
{
	char buf[1024];
	char *line, *save;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One "# " per line keeps multi-line messages valid KTAP. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
}

void test_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
}

void test_stress_work(uint64_t done, uint64_t count, const char *unit)
{
	stress_work_said = true;
	if (!count || count == UINT64_MAX)
		test_diag("stress work: %" PRIu64 " %s (bounded by time only)", done, unit);
	else
		test_diag("stress work: %" PRIu64 " of %" PRIu64 " %s", done, count, unit);
}

void test_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!test_opts.verbose)
		return;
	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
}

void test_progress(const char *fmt, ...)
{
	va_list ap;

	if (!report)
		return;
	va_start(ap, fmt);
	vsnprintf(report->progress, sizeof(report->progress), fmt, ap);
	va_end(ap);
	test_verbose("%s", report->progress);
}

/* Called by the VM library around KVM_RUN, for hang reports. */
void test_note_vcpu_run(unsigned int vcpu_id, bool entering)
{
	if (report && vcpu_id < HANG_REPORT_VCPUS)
		report->vcpu_in_run[vcpu_id].entered_ns = entering ? now_ns() : 0;
}

static __attribute__((noreturn)) void end_case(int verdict, const char *reason)
{
	/* The first verdict wins; another thread's later verdict waits to die. */
	if (atomic_exchange(&verdict_claimed, 1)) {
		for (;;)
			pause();
	}
	if (!in_case_child) {
		fprintf(stderr, "%s\n", reason);
		exit(verdict);
	}
	report->verdict = verdict;
	snprintf(report->reason, sizeof(report->reason), "%s", reason);
	fflush(stdout);
	_exit(verdict);
}

void test_skip(const char *fmt, ...)
{
	char reason[REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	end_case(KSFT_SKIP, reason);
}

void __test_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[REASON_LEN - 64], reason[REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(reason, sizeof(reason), "%s:%d: %s", file, line, msg);
	if (in_case_child)
		test_diag("%s", reason);
	end_case(KSFT_FAIL, reason);
}

static void usage(FILE *out, const char *prog)
{
	int i;

	fprintf(out, "usage: %s [-l] [-t NAME] [-v] [--seed N] [--duration S] [--iterations N] "
		"[--time-limit] [--time-scale]%s",
		prog, test_negative_control_help ? " [--negative-control N] [--list-controls]" : "");
	for (i = 0; i < nr_options; i++)
		fprintf(out, " [--%s N]", options[i]->name);
	fprintf(out, "\n");
	if (out != stdout)
		return;
	fprintf(out, "  -l              list the cases (name, time limit at native speed, description)\n"
		     "  -t NAME         run only this case (repeatable; NAME,NAME,... for several)\n"
		     "  -v              verbose diagnostics\n"
		     "  --seed N        seed for randomized cases (printed on every run)\n"
		     "  --duration S    seconds for stress cases\n"
		     "  --iterations N  iterations for stress cases\n"
		     "  --time-limit    print this run's worst-case seconds on this host and exit\n"
		     "  --time-scale    print how many times slower than native this host runs\n"
		     "                  KVM work and exit (KTEST_TIME_SCALE=F gives it instead)\n");
	if (test_negative_control_help)
		fprintf(out, "  --negative-control N  make a check fail on purpose (validation of the\n"
			     "                  test itself): %s\n"
			     "  --list-controls each control with its case and the failure it must produce\n",
			test_negative_control_help);
	for (i = 0; i < nr_options; i++)
		fprintf(out, "  --%-14s %s (default %" PRIu64 ")\n", options[i]->name,
			options[i]->help, *options[i]->value);
}

static __attribute__((noreturn, format(printf, 2, 3)))
void usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s -h)\n", prog);
	exit(KSFT_USAGE);
}

static uint64_t parse_u64(const char *prog, const char *opt, const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		usage_error(prog, "bad value '%s' for --%s: expected a non-negative integer", s, opt);
	return v;
}

static struct test_case *find_case(const char *name)
{
	int i;

	for (i = 0; i < nr_cases; i++)
		if (!strcmp(cases[i]->ident, name) || !strcmp(cases[i]->name, name))
			return cases[i];
	return NULL;
}

/*
 * A case's timeout is a native-speed figure (include/host.h, "Time
 * limits"); the stress duration is wall-clock time the case spends by
 * design, so it is added unscaled.
 */
static bool time_scaled;

static void settle_time_scale(void)
{
	const char *given = getenv("KTEST_TIME_SCALE");

	time_scaled = test_binary_needs_kvm || (given && *given);
	/* A bad value is bad input: refused now, whatever would run. */
	if (given && *given)
		host_slowness_tenths();
}

static unsigned int case_time_limit(const struct test_case *tc)
{
	unsigned int work = time_scaled ? host_limit_s(tc->timeout) + TEST_LIMIT_ALLOWANCE_S
					: tc->timeout;

	return work + tc->wait_s + (tc->stress ? test_opts.duration : 0);
}

/*
 * When /dev/kvm is missing or not ours, every case would skip for the same
 * reason: say it once, as a whole-binary skip.
 */
/*
 * kselftest says "all skipped" with exit code 4; a TAP harness such as
 * prove (which sets HARNESS_ACTIVE) reads the skips from the stream and
 * takes any non-zero exit as a failure, so under it the code is 0.
 */
static int skip_exit_code(void)
{
	return getenv("HARNESS_ACTIVE") ? KSFT_PASS : KSFT_SKIP;
}

static void check_kvm_usable(void)
{
	int err = host_kvm_open_error();

	if (err) {
		printf("1..0 # SKIP cannot open /dev/kvm: %s\n", strerror(err));
		exit(skip_exit_code());
	}
}

static const char *signal_name(int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	static char buf[32];

	snprintf(buf, sizeof(buf), "SIG%s", abbrev ? abbrev : "?");
	return buf;
}

static void report_hang(unsigned int limit)
{
	uint64_t now = now_ns();
	int i;

	test_diag("case did not finish within its time limit of %u s", limit);
	if (report->progress[0])
		test_diag("last progress: %s", report->progress);
	for (i = 0; i < HANG_REPORT_VCPUS; i++) {
		uint64_t t = report->vcpu_in_run[i].entered_ns;

		if (t)
			test_diag("vCPU %d had been inside KVM_RUN for %" PRIu64 " ms", i,
				  (now - t) / 1000000);
	}
}

/* Print one /proc file of a task line by line as diagnostics. */
static void diag_proc_file(const char *path, const char *prefix)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		test_diag("%s(%s unreadable: %s)", prefix, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		test_diag("%s%s", prefix, line);
	}
	fclose(f);
}

/*
 * A case's process outlived SIGKILL: say what the kernel says about each of
 * its threads (state, wait channel, kernel stack; the stack needs root).
 */
static void report_stuck(pid_t pid)
{
	char path[320], line[256], state = '?', wchan[64];
	struct dirent *d;
	DIR *dir;

	test_diag("the case's process %d did not die within %d ms of SIGKILL: stuck in the kernel",
		  pid, KILL_GRACE_MS);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir) {
		test_diag("cannot list its threads: %s", strerror(errno));
		return;
	}
	while ((d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		state = '?';
		wchan[0] = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, d->d_name);
		if ((f = fopen(path, "r"))) {
			/* "tid (comm) S ...": the state follows the last ')'. */
			char *paren = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;

			if (paren && paren[1] == ' ' && paren[2])
				state = paren[2];
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", pid, d->d_name);
		if ((f = fopen(path, "r"))) {
			if (!fgets(wchan, sizeof(wchan), f))
				wchan[0] = 0;
			fclose(f);
		}
		test_diag("thread %s: state %c, waiting in %s", d->d_name, state,
			  wchan[0] && strcmp(wchan, "0") ? wchan : "?");
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, d->d_name);
		diag_proc_file(path, "  ");
	}
	closedir(dir);
}

/*
 * The case child writes into pipes that the harness copies to its own
 * stdout and stderr, so a child that cannot be killed holds only those
 * pipes, never the stream of whoever runs this binary.
 */
struct case_output {
	int fd[2];              /* read ends: the child's stdout, stderr; -1 at EOF */
};

static void copy_output(struct case_output *out, int which)
{
	char buf[4096];
	ssize_t n = read(out->fd[which], buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(out->fd[which]);
			out->fd[which] = -1;
		}
		return;
	}
	fwrite(buf, 1, n, which ? stderr : stdout);
	fflush(which ? stderr : stdout);
}

/*
 * Copy the child's output until the child exits (returns true) or the
 * deadline passes (false). pidfd < 0: copy until both pipes are at EOF.
 */
static bool relay_until(int pidfd, struct case_output *out, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = out->fd[0], .events = POLLIN },
			{ .fd = out->fd[1], .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		uint64_t now = now_ns();
		int i, ret;

		if (pidfd < 0 && out->fd[0] < 0 && out->fd[1] < 0)
			return true;
		if (now >= deadline_ns)
			return false;
		ret = poll(pfd, 3, (int)((deadline_ns - now + 999999) / 1000000));
		if (ret < 0 && errno != EINTR)
			return false;
		for (i = 0; i < 2; i++)
			if (pfd[i].revents)
				copy_output(out, i);
		/* Exited: what it wrote before is already in the pipes. */
		if (pfd[2].revents)
			return true;
	}
}

static void close_output(struct case_output *out)
{
	for (int i = 0; i < 2; i++)
		if (out->fd[i] >= 0)
			close(out->fd[i]);
}

enum case_result { CASE_PASS, CASE_FAIL, CASE_SKIP };

static enum case_result run_case(int number, struct test_case *tc)
{
	unsigned int limit = case_time_limit(tc);
	uint64_t start = now_ns();
	struct case_output out;
	int status, pidfd, opipe[2], epipe[2];
	pid_t pid;

	memset(report, 0, sizeof(*report));
	atomic_store(&verdict_claimed, 0);
	/*
	 * The case's id (what -t takes) as a diagnostic first, so the result
	 * line keeps its sentence and a stream cut off mid-case still names
	 * the case that was running; results parsers read it back.
	 */
	test_diag("case: %s", tc->ident);
	fflush(stdout);
	fflush(stderr);
	if (pipe2(opipe, O_CLOEXEC) || pipe2(epipe, O_CLOEXEC)) {
		test_diag("pipe: %s", strerror(errno));
		printf("not ok %d %s\n", number, tc->name);
		return CASE_FAIL;
	}
	pid = fork();
	if (pid < 0) {
		test_diag("fork: %s", strerror(errno));
		printf("not ok %d %s\n", number, tc->name);
		return CASE_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(opipe[1], STDOUT_FILENO);
		dup2(epipe[1], STDERR_FILENO);
		in_case_child = true;
		tc->fn();
		/* A verdict says how much stress stands behind it: no stress
		 * case may pass without saying what it did. */
		if (tc->stress && !stress_work_said)
			test_fail("a stress case must say how much stress it applied "
				  "(test_stress_work()); this one returned without it");
		report->verdict = KSFT_PASS;
		fflush(stdout);
		_exit(KSFT_PASS);
	}
	close(opipe[1]);
	close(epipe[1]);
	out = (struct case_output){ .fd = { opipe[0], epipe[0] } };

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		test_diag("pidfd_open: %s (the harness needs Linux 5.3 or later)", strerror(errno));
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		close_output(&out);
		printf("not ok %d %s\n", number, tc->name);
		return CASE_FAIL;
	}
	if (!relay_until(pidfd, &out, start + (uint64_t)limit * 1000000000ull)) {
		bool died;

		report_hang(limit);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		died = relay_until(pidfd, &out, now_ns() + KILL_GRACE_MS * 1000000ull);
		if (died) {
			waitpid(pid, &status, 0);
			relay_until(-1, &out, now_ns() + DRAIN_MS * 1000000ull);
		} else {
			report_stuck(pid);
		}
		close_output(&out);
		close(pidfd);
		printf("not ok %d %s # TIMEOUT %u s%s\n", number, tc->name, limit,
		       died ? "" : ", process stuck in the kernel");
		return CASE_FAIL;
	}
	waitpid(pid, &status, 0);
	close(pidfd);
	/* Threads the case left behind (none should) die with their group. */
	kill(-pid, SIGKILL);
	relay_until(-1, &out, now_ns() + DRAIN_MS * 1000000ull);
	close_output(&out);
	test_diag("duration_ms: %" PRIu64, (now_ns() - start) / 1000000);

	if (WIFSIGNALED(status)) {
		test_diag("case crashed with %s", signal_name(WTERMSIG(status)));
		if (report->progress[0])
			test_diag("last progress: %s", report->progress);
		printf("not ok %d %s\n", number, tc->name);
		return CASE_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KSFT_PASS:
		printf("ok %d %s\n", number, tc->name);
		return CASE_PASS;
	case KSFT_SKIP:
		printf("ok %d %s # SKIP %s\n", number, tc->name, report->reason);
		return CASE_SKIP;
	default:
		if (!report->reason[0])
			test_diag("case exited with status %d", WEXITSTATUS(status));
		printf("not ok %d %s\n", number, tc->name);
		return CASE_FAIL;
	}
}

/* One more case for -t; more than a binary can hold is bad usage. */
static void select_case(const char *prog, struct test_case **selected, int *nr,
			struct test_case *tc)
{
	if (*nr == MAX_CASES)
		usage_error(prog, "more than %d -t options", MAX_CASES);
	selected[(*nr)++] = tc;
}

static void kick_handler(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	enum { OPT_SEED = 256, OPT_DURATION, OPT_ITERATIONS, OPT_TIME_LIMIT, OPT_TIME_SCALE,
	       OPT_NEGATIVE_CONTROL, OPT_LIST_CONTROLS, OPT_EXTRA };
	struct option longopts[9 + MAX_OPTIONS] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "iterations", required_argument, NULL, OPT_ITERATIONS },
		{ "time-limit", no_argument, NULL, OPT_TIME_LIMIT },
		{ "time-scale", no_argument, NULL, OPT_TIME_SCALE },
		{ "negative-control", required_argument, NULL, OPT_NEGATIVE_CONTROL },
		{ "list-controls", no_argument, NULL, OPT_LIST_CONTROLS },
		{ "help", no_argument, NULL, 'h' },
	};
	struct test_case *selected[MAX_CASES];
	int nr_selected = 0, i, opt, nr_base = 8;
	int passed = 0, failed = 0, skipped = 0;
	bool list = false, list_ctl = false, time_limit = false, time_scale_only = false;
	bool seed_given = false;
	const char *prog = argv[0];

	for (i = 0; i < nr_options; i++)
		longopts[nr_base + i] = (struct option){ options[i]->name, required_argument,
							 NULL, OPT_EXTRA + i };
	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hlt:v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout, prog);
			return KSFT_PASS;
		case 'l':
			list = true;
			break;
		case 't': {
			/* One case (by id or sentence), else a comma-separated
			 * list of ids: "-t a,b" is "-t a -t b" (a runner's
			 * "binary:a,b" item, one run for several cases). */
			struct test_case *tc = find_case(optarg);
			char *list, *id, *save = NULL;
			int before = nr_selected;

			if (tc) {
				select_case(prog, selected, &nr_selected, tc);
				break;
			}
			if (!strchr(optarg, ','))
				usage_error(prog, "no case named '%s' (list them with -l)", optarg);
			list = strdup(optarg);
			for (id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
				tc = find_case(id);
				if (!tc)
					usage_error(prog, "no case named '%s' in '%s' (list them with -l)",
						    id, optarg);
				select_case(prog, selected, &nr_selected, tc);
			}
			free(list);
			if (nr_selected == before)      /* nothing but commas */
				usage_error(prog, "no case named '%s' (list them with -l)", optarg);
			break;
		}
		case 'v':
			test_opts.verbose = true;
			break;
		case OPT_SEED:
			test_opts.seed = parse_u64(prog, "seed", optarg);
			seed_given = true;
			break;
		case OPT_DURATION:
			test_opts.duration = parse_u64(prog, "duration", optarg);
			break;
		case OPT_ITERATIONS:
			test_opts.iterations = parse_u64(prog, "iterations", optarg);
			break;
		case OPT_TIME_LIMIT:
			time_limit = true;
			break;
		case OPT_TIME_SCALE:
			time_scale_only = true;
			break;
		case OPT_NEGATIVE_CONTROL:
			test_opts.negative_control = parse_u64(prog, "negative-control", optarg);
			break;
		case OPT_LIST_CONTROLS:
			list_ctl = true;
			break;
		case ':':
			usage_error(prog, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				usage_error(prog, "unknown option '-%c'", optopt);
			usage_error(prog, "unknown option '%s'", argv[optind - 1]);
		default:
			if (opt >= OPT_EXTRA && opt < OPT_EXTRA + nr_options) {
				struct test_option *o = options[opt - OPT_EXTRA];

				*o->value = parse_u64(prog, o->name, optarg);
				break;
			}
			usage_error(prog, "unknown option");
		}
	}
	if (optind < argc)
		usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (!nr_selected) {
		for (i = 0; i < nr_cases; i++)
			selected[i] = cases[i];
		nr_selected = nr_cases;
	}

	if (list_ctl)
		return list_controls(prog);
	if (list) {
		for (i = 0; i < nr_selected; i++)
			printf("%s\t%u\t%s\n", selected[i]->ident, case_time_limit(selected[i]),
			       selected[i]->name);
		return KSFT_PASS;
	}
	if (time_scale_only) {
		printf("%s\n", host_slowness_text());
		fprintf(stderr, "%s\n", host_slowness_how());
		return KSFT_PASS;
	}
	settle_time_scale();
	if (time_limit) {
		unsigned int total = 10;        /* start-up and the runner's slack */

		for (i = 0; i < nr_selected; i++)
			total += case_time_limit(selected[i]);
		printf("%u\n", total);
		return KSFT_PASS;
	}

	if (test_binary_needs_kvm)
		check_kvm_usable();
	if (!seed_given)
		test_opts.seed = now_ns() ^ ((uint64_t)getpid() << 32);

	/* The library kicks vCPU threads out of KVM_RUN with SIGUSR1; a
	 * handler without SA_RESTART makes the ioctl return EINTR. */
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = kick_handler }, NULL);

	report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (report == MAP_FAILED) {
		fprintf(stderr, "%s: mmap: %s\n", prog, strerror(errno));
		return KSFT_FAIL;
	}

	printf("KTAP version 1\n");
	printf("# seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n", test_opts.seed,
	       test_opts.seed);
	if (test_binary_needs_kvm) {
		char profile[512];

		host_profile_describe(profile, sizeof(profile));
		printf("# %s\n", profile);
		printf("# time limits: native figures x %s, this host's slowness (%s)\n",
		       host_slowness_text(), host_slowness_how());
	}
	printf("1..%d\n", nr_selected);
	for (i = 0; i < nr_selected; i++) {
		switch (run_case(i + 1, selected[i])) {
		case CASE_PASS: passed++; break;
		case CASE_FAIL: failed++; break;
		case CASE_SKIP: skipped++; break;
		}
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", passed, failed,
	       skipped);
	if (failed)
		return KSFT_FAIL;
	if (!passed && skipped)
		return skip_exit_code();
	return KSFT_PASS;
}
