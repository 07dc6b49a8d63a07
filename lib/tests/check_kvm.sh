#!/bin/sh
# The project's self-tests that need a KVM that runs guests: the harness's
# negative controls (check_harness.sh), the command-line contract's KVM part
# (check_cli_kvm.sh), the suite's negative-control table
# (check_negative_controls.sh) and the lost-wakeup monitor's rules for a stopped
# process (check_monitor_pause.sh) and a stalled CPU (check_cpu_stall.sh). `make check` runs this on the host when its
# /dev/kvm is usable and, always, inside the QEMU VM (make vm_kvm_selftests),
# where the Hyper-V and nested rows can be shown.
#
#   check_kvm.sh [DIR]   DIR: a build directory or an installed suite
#                        (default: this script's directory when installed)
#
# Output: each part's TAP indented under one "ok N - PART" line, then
# "N passed, N failed, N skipped" over all the parts' checks. Exit status 0
# when nothing failed. POSIX sh: runs on the host and in the VM's busybox.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
dir=$(suite_dir "$here" "${1:-}")
[ -d "$dir" ] || { echo "check_kvm.sh: no test directory '$dir'" >&2; exit 2; }
# Without a KVM to run guests there is nothing to show: say so, as a binary
# does.
if ! kvm_usable; then
	echo "1..0 # SKIP cannot open /dev/kvm read-write (make check runs these in a VM)"
	exit 4
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_kvm.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
# The host's slowness, measured once for every binary run below.
if [ -z "${KTEST_TIME_SCALE:-}" ] && scale=$("$dir/x86_64/smoke" --time-scale 2>"$tmp/scale"); then
	KTEST_TIME_SCALE=$scale
	export KTEST_TIME_SCALE
fi

echo "TAP version 13"
echo "# host: $(uname -n), kernel: $(uname -r)"
[ -z "${scale:-}" ] || echo "# time scale: $scale, $(cat "$tmp/scale")"
echo "1..5"
n=0; passed=0; failed=0; skipped=0; status=0
# report TITLE OUT RC SECONDS: a part's TAP (in OUT), indented, and its line.
report() {
	n=$((n + 1))
	echo "# $1"
	sed 's/^/    /' "$2"
	# Count the part's own top-level results (nested lines are indented).
	p=$(grep -c '^ok ' "$2"); k=$(grep -c '^ok .*# SKIP' "$2")
	f=$(grep -c '^not ok ' "$2")
	passed=$((passed + p - k)); skipped=$((skipped + k)); failed=$((failed + f))
	if [ "$3" -eq 0 ]; then
		echo "ok $n - $1 # $4s"
	else
		[ "$f" -gt 0 ] || failed=$((failed + 1))
		echo "not ok $n - $1 # exit $3"; status=1
	fi
}
part() {  # part TITLE SCRIPT ARGS...
	title=$1; shift
	start=$(date +%s)
	"$@" >"$tmp/out" 2>&1
	report "$title" "$tmp/out" $? $(( $(date +%s) - start ))
}
# The monitor's case stops its process for 4 s, in which the VM has nothing
# to run: it runs beside the harness's controls (whose frozen case leaves
# 13 s as idle), and is reported last, as the others.
pause_start=$(date +%s)
{ "$here/check_monitor_pause.sh" "$dir" >"$tmp/pause" 2>&1; echo "$? $(( $(date +%s) - pause_start ))" >"$tmp/pause.rc"; } &
pause_pid=$!
part "harness negative controls" "$here/check_harness.sh" "$dir"
part "command-line contract, KVM part" "$here/check_cli_kvm.sh" "$dir"
part "negative controls make their cases fail" "$here/check_negative_controls.sh" "$dir"
wait "$pause_pid"
read -r rc secs <"$tmp/pause.rc" || { rc=1 secs=0; echo "# the part ended without a status" >>"$tmp/pause"; }
report "the lost-wakeup monitor counts only the time it watched" "$tmp/pause" "$rc" "$secs"
# After the others: it takes a CPU from everything for 3 s.
part "the lost-wakeup monitor tells a stalled CPU from a lost wakeup" "$here/check_cpu_stall.sh" "$dir"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
