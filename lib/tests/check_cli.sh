#!/bin/sh
# Command-line contract of every test binary and of the suite runner:
# bad input gets one error line and a non-zero exit; no or forbidden
# /dev/kvm is a whole-binary skip; prove accepts each binary's output and
# the runner's combined stream; a kselftest-style install runs on its own.
set -u
build=${1:?usage: check_cli.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/x86_64/smoke
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
check() {  # check WHAT CONDITION...
	what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fail=1; fi
}
# run CMD... : stdout, stderr and status into $tmp/{out,err,rc}
run() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc_is() { [ "$(cat "$tmp/rc")" = "$1" ]; }
lines() { wc -l <"$tmp/$1" | tr -d ' '; }
one_error_line() { rc_is 2 && [ "$(lines err)" = 1 ] && [ "$(lines out)" = 0 ]; }

echo "TAP version 13"
run "$bin" --bogus
check "unknown option: one error line, exit 2" one_error_line
run "$bin" --seed banana
check "bad value: one error line, exit 2" one_error_line
run "$bin" --duration
check "missing value: one error line, exit 2" one_error_line
run "$bin" -t no_such_case
check "unknown case: one error line, exit 2" one_error_line
run "$bin" stray
check "stray argument: one error line, exit 2" one_error_line
run "$bin" -l
listed_cases() { rc_is 0 && [ "$(lines out)" = "$("$bin" -l | wc -l | tr -d ' ')" ] && grep -q '^entry	' "$tmp/out"; }
check "-l lists one line per case" listed_cases
run "$bin" --time-limit
check "--time-limit prints a number of seconds" grep -Eqx '[0-9]+' "$tmp/out"
run "$bin" -t entry
one_case_ran() { grep -q '^1\.\.1$' "$tmp/out" && grep -q '^ok 1 ' "$tmp/out"; }
check "-t runs exactly the named case" one_case_ran

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v unshare >/dev/null; then
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$bin"
	check "no permission on /dev/kvm: one SKIP line, exit 4" sh -c \
		"[ \$(cat $tmp/rc) = 4 ] && [ \"\$(cat $tmp/out)\" = '1..0 # SKIP cannot open /dev/kvm: Permission denied' ]"
	run unshare -m sh -c "mount -t tmpfs none /dev && exec $bin"
	check "no /dev/kvm: one SKIP line, exit 4" sh -c \
		"[ \$(cat $tmp/rc) = 4 ] && [ \"\$(cat $tmp/out)\" = '1..0 # SKIP cannot open /dev/kvm: No such file or directory' ]"
else
	echo "ok $((n + 1)) # SKIP /dev/kvm permission checks need root, setpriv and unshare"; n=$((n + 1))
fi

quiet_prove() { prove -Q "$@" >/dev/null 2>&1; }
check "prove accepts a binary's own output" quiet_prove --exec '' "$bin"
printf '#!/bin/sh\nexec %s -t missing_capability\n' "$build/lib/tests/harness_negative" >"$tmp/all-skip"
chmod +x "$tmp/all-skip"
run "$tmp/all-skip"
check "a binary whose cases all skip exits 4 (kselftest)" rc_is 4
check "prove accepts a binary whose cases all skip" quiet_prove --exec '' "$tmp/all-skip"
"$top/scripts/run_tests.sh" -d "$build" x86_64/smoke x86_64/smoke:entry >"$tmp/combined" 2>&1
echo $? >"$tmp/rc"
check "the runner passes a passing selection" rc_is 0
check "the runner ends with the counts line" sh -c "tail -n 1 $tmp/combined | grep -Eqx '[0-9]+ passed, 0 failed, [0-9]+ skipped'"
check "prove accepts the runner's combined stream" quiet_prove --exec cat "$tmp/combined"
check "binary:case runs one case nested under the runner" grep -q '^    1\.\.1$' "$tmp/combined"

"$top/scripts/run_tests.sh" -d "$build/lib" tests/harness_negative >"$tmp/neg" 2>&1
echo $? >"$tmp/rc"
check "the runner fails when a binary fails" rc_is 1
check "the runner counts failed cases" sh -c "tail -n 1 $tmp/neg | grep -Eqx '0 passed, 8 failed, 1 skipped'"
prove_rejects() { ! quiet_prove "$@"; }
check "prove sees the failure in the combined stream" prove_rejects --exec cat "$tmp/neg"

"$top/scripts/install.sh" "$build" "$tmp/install" x86_64/smoke >/dev/null 2>&1
check "install writes the kselftest list" grep -qx 'x86_64:smoke' "$tmp/install/kselftest-list.txt"
check "install writes the collection's time limit" grep -Eqx 'timeout=[0-9]+' "$tmp/install/x86_64/settings"
(cd / && "$tmp/install/run_tests.sh" >"$tmp/installed" 2>&1)
echo $? >"$tmp/rc"
check "the installed suite runs with no source tree" rc_is 0
echo "1..$n"
exit $fail
