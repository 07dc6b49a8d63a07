# shellcheck shell=sh
# TAP helpers for the project's own check scripts (sourced; POSIX sh, so it
# also runs in the VM runner's busybox).
#   check WHAT CMD...     "ok N - WHAT" when CMD succeeds, else "not ok N - WHAT"
#   skip_check WHY        "ok N # SKIP WHY"
#   done_testing          the plan line; exits 1 when a check failed
#   suite_dir HERE [DIR]  the binaries' directory: DIR, else HERE when it is an
#                         installed suite, else the build directory
#   kvm_usable            whether /dev/kvm opens read-write
tap_n=0
tap_fail=0
check() {
	tap_what=$1; shift
	tap_n=$((tap_n + 1))
	if "$@"; then echo "ok $tap_n - $tap_what"; else echo "not ok $tap_n - $tap_what"; tap_fail=1; fi
}
skip_check() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"; }
done_testing() { echo "1..$tap_n"; exit "$tap_fail"; }
quiet_prove() { prove -Q "$@" >/dev/null 2>&1; }
prove_rejects() { ! quiet_prove "$@"; }
# (The open is tried on a device node only: "<>" creates a missing file.)
kvm_usable() { { [ -c /dev/kvm ] && (: <>/dev/kvm); } 2>/dev/null; }
suite_dir() {
	if [ -n "${2:-}" ]; then echo "$2"
	elif [ -f "$1/kselftest-list.txt" ]; then echo "$1"
	else echo "$1/../../build"; fi
}
