#!/bin/bash
# `make check`: the project's own tests, then the suite on this host's
# /dev/kvm, then the suite and the negative controls in a QEMU VM, then the
# patch-series rebuild.
# Each part streams its output and is timed; the last line adds up the
# counts lines of all parts.
#
#   scripts/check.sh BUILD_DIR [part...]     parts: self host vm patch (default: all)
set -uo pipefail
build=${1:?usage: scripts/check.sh BUILD_DIR [self|host|vm...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
parts=${*:-self host vm patch}
total_passed=0 total_failed=0 total_skipped=0 status=0
log=$(mktemp); trap 'rm -f "$log"' EXIT

run_part() {  # run_part TITLE CMD...
	local title=$1 start counts p f s
	shift
	echo "=== $title"
	start=$(date +%s)
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
	f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
	s=$(sed -nE 's/.*, ([0-9]+) skipped$/\1/p' <<<"$counts")
	total_passed=$((total_passed + ${p:-0}))
	total_failed=$((total_failed + ${f:-0}))
	total_skipped=$((total_skipped + ${s:-0}))
	if [ "$rc" -ne 0 ]; then
		status=1
		[ -n "$counts" ] && [ "${f:-0}" -gt 0 ] || total_failed=$((total_failed + 1))
	fi
	echo "=== $title: exit $rc, $(( $(date +%s) - start )) s"
}

for part in $parts; do
	case $part in
	self) run_part "project self-tests" "$top/lib/tests/run.sh" "$build" ;;
	host) run_part "suite on this host's /dev/kvm" "$top/scripts/run_tests.sh" -d "$build" ;;
	vm)
		if [ -x "$top/scripts/vm-run" ]; then
			run_part "VM runner self-tests" make -C "$top" --no-print-directory vm_selftest
			# The binaries' own limits add up to well over an hour (sized
			# for the worst case of every case under TCG); the whole suite
			# takes a few minutes, so a hung guest kernel is cut off sooner.
			run_part "suite in a QEMU VM (${KERNEL:-sid})" make -C "$top" --no-print-directory \
				vm_run_tests VM_FLAGS="--timeout ${VM_TIMEOUT:-1800}"
			# The controls only a VM can show (Hyper-V, nested SVM).
			run_part "negative controls in a QEMU VM (${KERNEL:-sid})" make -C "$top" \
				--no-print-directory vm_negative_controls VM_FLAGS="--timeout ${VM_TIMEOUT:-1800}"
		else
			echo "=== suite in a QEMU VM: skipped (no VM runner in this tree)"
		fi
		;;
	patch)
		# A KVM patch series rebuilt into a stock Debian kernel's modules
		# (slowest part: toolchain and source download, module build).
		if [ -x "$top/scripts/kvm-modules" ]; then
			run_part "patch-series rebuild self-test (sid)" make -C "$top" --no-print-directory patch_selftest
		fi
		;;
	*) echo "scripts/check.sh: unknown part '$part'" >&2; exit 2 ;;
	esac
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
exit $status
