# Helpers for the VM runner's tests (sourced; bash). Each test file prints
# TAP ("ok N - what", "not ok N - what" with "#" detail lines, then "1..N")
# and exits 1 if anything failed; run.sh adds the files up.
# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this
set -euo pipefail

tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=$tests/data
scripts=$(dirname "$tests")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvm-regress-vmtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The made-up suites of these tests keep their initramfs parts to themselves
# (scripts/vm/mkinitramfs), not among the user's.
export INITRAMFS_CACHE=$tmp/initramfs-cache
# So do their saved boots (vm-run --snapshot), and a VM boots unless a test
# asks for a snapshot.
export VM_SNAPSHOT_DIR=$tmp/snapshots
unset VM_SNAPSHOT
count=0
failures=0
# fake_suite [--in DIR] NAME...: a made-up suite in DIR (default
# $tmp/suite; its path in suite): the project's run_tests.sh and a kselftest
# list of x86_64/NAME...; the test then writes each x86_64/NAME, a shell
# script for the VM's busybox.
fake_suite() {
	suite=$tmp/suite
	[ "$1" != --in ] || { suite=$2; shift 2; }
	mkdir -p "$suite/x86_64"
	cp "$scripts/runner/run_tests.sh" "$suite/"
	echo "fake-suite 1.0" >"$suite/suite-version.txt"
	printf 'x86_64:%s\n' "$@" >"$suite/kselftest-list.txt"
}

skips=0
pass() {
	count=$((count + 1)); echo "ok $count - $1"
	case $1 in *" # SKIP"*) skips=$((skips + 1)) ;; esac
}
fail() {
	count=$((count + 1)); failures=$((failures + 1))
	echo "not ok $count - $1"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/#   /'
}

# A command that fails outside a check stops the file (set -e). It then says
# so as a failed check, with where and what, and closes its plan: else the
# stop shows only as checks gone missing. (Only in the file's own shell: a
# command substitution's or a background job's failures are for their
# callers to judge.)
set -E
trap '[ "$BASH_SUBSHELL" -ne 0 ] || stopped_early "${BASH_SOURCE[0]##*/}:$LINENO" "$BASH_COMMAND" "$?"' ERR
stopped_early() {  # stopped_early WHERE COMMAND STATUS
	fail "the file stopped early: at $1, '$2' exited $3"
	echo "1..$count"
}

# expect WHAT STATUS CMD... :: PATTERN...
# Runs CMD with stdout and stderr into $tmp/out (kept for further checks);
# passes when it exits with STATUS and its output matches every PATTERN
# (extended regular expressions, one line each).
expect() {
	local what=$1 want=$2 rc=0
	shift 2
	local -a cmd=()
	while [ $# -gt 0 ] && [ "$1" != :: ]; do cmd+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	"${cmd[@]}" >"$tmp/out" 2>&1 || rc=$?
	judge "$what" "$want" "$rc" "$@"
}

# start NAME CMD...: runs CMD in the background, its output into
# $tmp/NAME.out: for commands that mostly wait (a VM left to hang), so that
# others run meanwhile.
# expect_started WHAT STATUS NAME :: PATTERN...: waits for it, then as
# expect (its output then in $tmp/out).
start() {
	local name=$1
	shift
	( rc=0; "$@" >"$tmp/$name.out" 2>&1 || rc=$?; echo "$rc" >"$tmp/$name.rc" ) &
	echo "$!" >"$tmp/$name.pid"
}
expect_started() {
	local what=$1 want=$2 name=$3
	shift 3
	[ "${1:-}" != :: ] || shift
	wait "$(cat "$tmp/$name.pid")" || true
	cp "$tmp/$name.out" "$tmp/out"
	judge "$what" "$want" "$(cat "$tmp/$name.rc" 2>/dev/null || echo "?")" "$@"
}

# judge WHAT STATUS RC PATTERN...: the verdict on $tmp/out.
judge() {
	local what=$1 want=$2 rc=$3 pattern
	shift 3
	if [ "$rc" != "$want" ]; then
		fail "$what" "exit status $rc, expected $want; output:" "$(sed 's/^/    /' "$tmp/out" | tail -n 25)"
		return 0
	fi
	for pattern in "$@"; do
		if ! grep -qE -- "$pattern" "$tmp/out"; then
			fail "$what" "no line matches /$pattern/ in the output:" "$(sed 's/^/    /' "$tmp/out" | tail -n 25)"
			return 0
		fi
	done
	pass "$what"
}

# no_line WHAT ERE FILE: passes when no line of FILE matches ERE (extended
# regular expression); else fails, showing the lines that do.
no_line() {
	if grep -qE -- "$2" "$3"; then fail "$1" "$(grep -E -- "$2" "$3" | head -n 5)"; else pass "$1"; fi
}

# usage WHAT PATTERN CMD...: CMD rejects its input as the runner's scripts
# do: exit status 2 and one line of output, matching PATTERN
usage() {
	local what=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -qE -- "$pattern" "$tmp/out"; then
		pass "$what"
	else
		fail "$what" "exit status $rc (expected 2); output (expected one line matching /$pattern/):" \
			"$(cat "$tmp/out")"
	fi
}

# has_line WHAT ERE FILE: passes when a line of FILE matches ERE; else fails,
# showing FILE's first lines (or that there is no FILE).
has_line() {
	if grep -qE -- "$2" "$3" 2>/dev/null; then
		pass "$1"
	elif [ -e "$3" ]; then
		fail "$1" "no line of $3 matches /$2/; its first lines:" "$(head -n 20 "$3")"
	else
		fail "$1" "no file $3"
	fi
}

# fake_vm_run WAKES RESULTS: vm-run with scripts/tests/fake-qemu as its
# QEMU (FAKE_QEMU_WAKES=WAKES: fake-qemu says what each means), an empty
# kernel file and a made-up suite of one shell "binary", x86_64/fake_pass,
# whose passing run is fake-qemu's console (data/fake-qemu/console.log);
# its results into RESULTS.
fake_vm_run() {
	local suite=$tmp/fake-suite
	if [ ! -d "$suite" ]; then
		fake_suite --in "$suite" fake_pass
		printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo 10; exit 0; }\necho "KTAP version 1"\n' >"$suite/x86_64/fake_pass"
		chmod +x "$suite/x86_64/fake_pass"
		: >"$tmp/fake-vmlinuz"
	fi
	FAKE_QEMU_WAKES=$1 QEMU=$tests/fake-qemu "$scripts/vm/vm-run" --kernel "$tmp/fake-vmlinuz" \
		--suite "$suite" --results "$2" -- x86_64/fake_pass
}

# same WHAT EXPECTED_FILE ACTUAL_FILE
same() {
	if diff -u "$2" "$3" >"$tmp/diff"; then pass "$1"; else fail "$1" "$(cat "$tmp/diff")"; fi
}

# The plan, then the counts line that scripts/check.sh adds up; the file
# ends here, with status 1 if a check failed.
done_testing() {
	echo "1..$count"
	echo "$((count - failures - skips)) passed, $failures failed, $skips skipped"
	exit $((failures > 0))
}
