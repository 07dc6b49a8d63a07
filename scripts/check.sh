#!/bin/bash
# `make check`: the project's own tests, then what needs a KVM on this host's
# /dev/kvm, then the suite and the KVM self-tests in a QEMU VM, then the
# patch-series rebuild.
# Each part streams its output, is timed and says where it ran; the last line
# adds up the counts lines of all parts. On a machine without a usable
# /dev/kvm the host parts that need one say so and the VM part runs them.
# Results go to BUILD_DIR/check-results, never to the user's results/.
#
#   scripts/check.sh BUILD_DIR [part...]     parts: self host vm patch (default: all)
set -uo pipefail
build=${1:?usage: scripts/check.sh BUILD_DIR [self|host|vm|patch...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
parts=${*:-self host vm patch}
mkdir -p "$build/check-results"
results=$(cd "$build/check-results" && pwd)
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

# Whether this host's /dev/kvm can be opened read-write, and if not, why.
# (The open is tried on a device node only: "<>" creates a missing file.)
if [ ! -e /dev/kvm ]; then
	kvm_problem="No such file or directory"
elif [ ! -c /dev/kvm ]; then
	kvm_problem="not a character device"
else
	kvm_problem=$( { : <>/dev/kvm; } 2>&1 ) && kvm_problem=
	kvm_problem=${kvm_problem##*: }
fi
kvm_where="this host ($(uname -r))"

for part in $parts; do
	case $part in
	self) run_part "project self-tests (no KVM needed), on $kvm_where" "$top/lib/tests/run.sh" "$build" ;;
	host)
		if [ -z "$kvm_problem" ]; then
			run_part "suite on $kvm_where /dev/kvm" "$top/scripts/runner/run_tests.sh" -d "$build"
			run_part "KVM self-tests on $kvm_where /dev/kvm" "$top/lib/tests/check_kvm.sh" "$build"
		else
			# Nothing to run: every binary would skip as a whole.
			echo "=== suite and KVM self-tests on this host: not run, /dev/kvm: $kvm_problem (the VM part runs them)"
		fi
		;;
	vm)
		vm_flags="--timeout ${VM_TIMEOUT:-1800} --results $results"
		run_part "VM runner self-tests" make -C "$top" --no-print-directory vm_selftest
		run_part "suite in a QEMU VM (${KERNEL:-sid})" make -C "$top" --no-print-directory \
			vm_run_tests VM_FLAGS="$vm_flags"
		# The KTAP that dashboards and CI consume, as a TAP consumer reads it.
		run_part "prove reads the VM's KTAP" bash -c \
			"prove -Q --exec cat '$results/vm-${KERNEL:-sid}.ktap' && echo '1 passed, 0 failed, 0 skipped'"
		# exits/ once more where MWAIT may not be passed through
		# (clearcpuid=monitor): the capability masks the other way round.
		run_part "exits/ in a QEMU VM that may not pass MWAIT through (${KERNEL:-sid}, clearcpuid=monitor)" \
			make -C "$top" --no-print-directory vm_mwait_restricted \
			VM_FLAGS="--timeout ${VM_TIMEOUT:-1800} --results $results/mwait-restricted"
		# Harness controls, the KVM part of the command-line contract and
		# the negative-control table, on a KVM with Hyper-V and nested SVM.
		run_part "KVM self-tests in a QEMU VM (${KERNEL:-sid})" make -C "$top" \
			--no-print-directory vm_kvm_selftests VM_FLAGS="$vm_flags"
		;;
	patch)
		# A KVM patch series rebuilt into a stock Debian kernel's modules
		# (slowest part: toolchain and source download, module build).
		export PATCH_SELFTEST_RESULTS=$results/patch-selftest
		run_part "patch-series rebuild self-test (sid)" make -C "$top" --no-print-directory patch_selftest
		# Cases against KVM broken on purpose: each fails where its path is.
		run_part "the suite against KVM broken on purpose (sid)" make -C "$top" \
			--no-print-directory broken_kvm_controls BROKEN_KVM_FLAGS="--results $results/broken-kvm"
		;;
	*) echo "scripts/check.sh: unknown part '$part'" >&2; exit 2 ;;
	esac
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
exit $status
