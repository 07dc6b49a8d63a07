#!/bin/bash
# A failure is named where a log's reader looks. A CI log is read from its
# end, and one failed check among 640 was once only a count there: "302
# passed, 1 failed" for a part whose files have 304 checks, so a file had
# also stopped early, unnamed. Now:
#  - a file that stops so (set -e) says where, as a failed check (lib.sh);
#  - run.sh gives a file that failed without a failed check of its own
#    (killed) one, naming it;
#  - make check's last lines name each failed part, its "not ok" lines
#    and its failed files.
# Checked on copies of run.sh, lib.sh and check.sh, with made-up files.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# A copy of the runner and the helpers, with three made-up test files.
mkdir -p "$tmp/runner"
cp "$tests/run.sh" "$tests/lib.sh" "$tmp/runner/"
made_up() {  # made_up NAME BODY: test-NAME.sh, sourcing lib.sh, then BODY
	# shellcheck disable=SC2016 # expanded by the made-up file
	printf '#!/bin/bash\n. "$(dirname "$0")/lib.sh"\n%s\n' "$2" >"$tmp/runner/test-$1.sh"
	chmod +x "$tmp/runner/test-$1.sh"
}
made_up stops 'pass "first"
count_nothing() { n=$(grep -c nothing /dev/null); echo "$n"; }
count_nothing
pass "second"
done_testing'
made_up killed 'pass "first"
kill -KILL $$'
made_up passes 'pass "first"
done_testing'

for jobs in 1 3; do
	expect "run.sh, $jobs file(s) at a time: a file stopped by a failed command is a failed check saying where" 1 \
		env VM_SELFTEST_JOBS=$jobs "$tmp/runner/run.sh" :: \
		"^not ok 2 - the file stopped early: at test-stops\.sh:4, 'n=\\$\\(grep -c nothing /dev/null\\)' exited 1$" \
		'^not ok - test-killed\.sh exited 137 after 1 checks, none failed$' \
		'^# test-passes\.sh: ok ' \
		'^3 passed, 2 failed, 0 skipped$'
	no_line "... and the stopped file's check after the stop is not run" '^ok [0-9]+ - second$' "$tmp/out"
done

# check.sh's end, with a made-up project self-test part that fails; the
# other parts are not asked for.
mkdir -p "$tmp/project/scripts/vm" "$tmp/project/lib/tests" "$tmp/build"
cp "$scripts/check.sh" "$tmp/project/scripts/"
cp "$scripts/vm/python3-direct" "$scripts/vm/vm-capacity" "$tmp/project/scripts/vm/"
printf '#!/bin/sh\necho "ok - fine"\necho "not ok - made to fail"\necho "# test-x.sh: FAILED (1 s)"\necho "1 passed, 1 failed"\nexit 1\n' \
	>"$tmp/project/lib/tests/run.sh"
chmod +x "$tmp/project/lib/tests/run.sh"
for lanes in 1 2; do
	expect "make check's last lines name a failed part, its not-ok lines and failed files ($lanes lane(s))" 1 \
		env CHECK_LANES=$lanes "$tmp/project/scripts/check.sh" "$tmp/build" self :: \
		'^--- failed:$' '^  project self-tests \(no KVM needed\), on this host \(.*\): exit 1$' \
		'^    not ok - made to fail$' '^    # test-x\.sh: FAILED \(1 s\)$'
	tail -n 5 "$tmp/out" >"$tmp/end"
	has_line "... among the last five" '^    not ok - made to fail$' "$tmp/end"
done
done_testing
