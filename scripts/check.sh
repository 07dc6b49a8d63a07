#!/bin/bash
# shellcheck disable=SC2317 # the parts are called by name: "part_$part"
# `make check`: the project's own tests, what needs a KVM on this host's
# /dev/kvm, the suite and the KVM self-tests in a QEMU VM, and the
# patch-series rebuild.
# Each part is timed and says where it ran; the last line adds up the counts
# lines of all parts. On a machine without a usable /dev/kvm the host parts
# that need one say so and the VM part runs them.
# Results go to BUILD_DIR/check-results, never to the user's results/.
#
#   scripts/check.sh BUILD_DIR [part...]     parts: self host vm patch (default: all)
#
# Two lanes (CHECK_LANES=2, the default where this machine has 2 cores and
# the memory for two VMs; CHECK_LANES=1 runs the parts one after another):
# each VM uses one host core (TCG is single-threaded), so two parts run side
# by side. The project's self-tests run while the set-up is made; then each
# lane takes the next part off one queue, longest first, when its last one
# ends (the patch-series parts share one module build cache and its lock:
# they are one part, in order). A part's output is kept and printed whole
# when it ends, between its "=== title" and "=== title: exit N, S s" lines.
# What the VM parts share is made once before them: the static suite
# (BUILD_DIR/check-suite, given to every part) and the kernel's look-up
# (the parts then take the kernel found: FETCH_KERNEL_<release>, see
# scripts/vm/fetch-kernel).
set -uo pipefail
build=${1:?usage: scripts/check.sh BUILD_DIR [self|host|vm|patch...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
parts=${*:-self host vm patch}
mkdir -p "$build/check-results"
results=$(cd "$build/check-results" && pwd)
status=0
tmpd=$(mktemp -d); trap 'rm -rf "$tmpd"' EXIT
# python3 looked up once, where it is a version manager's shim (scripts/vm/python3-direct).
# shellcheck source=vm/python3-direct
. "$top/scripts/vm/python3-direct"
python3_direct "$tmpd/bin"
: >"$tmpd/counts"

lanes=${CHECK_LANES:-auto}
if [ "$lanes" = auto ]; then
	# As many as there are cores and memory for VMs, at most 2. The parts'
	# VMs have vm-run's default 2048 MB; each lane is given 512 MB more for
	# the builds that run beside the other lane's VM (6144 MB for two).
	# shellcheck source=vm/vm-capacity
	. "$top/scripts/vm/vm-capacity"
	lanes=$(vm_capacity 2560)
	[ "$lanes" -le 2 ] || lanes=2
fi
buffered=0

run_part() {  # run_part TITLE CMD...
	local title=$1 start counts p f s rc out
	shift
	out=$(mktemp "$tmpd/part.XXXXXX")
	start=$(date +%s)
	if [ "$buffered" = 1 ]; then
		echo "--- started in lane $lane: $title"
		"$@" >"$out" 2>&1
		rc=$?
		# One part's output at a time, whole.
		{
			flock 8
			echo "=== $title"
			cat "$out"
			echo "=== $title: exit $rc, $(( $(date +%s) - start )) s"
		} 8>"$tmpd/print.lock"
	else
		echo "=== $title"
		"$@" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		echo "=== $title: exit $rc, $(( $(date +%s) - start )) s"
	fi
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$counts")
	f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$counts")
	s=$(sed -nE 's/.*, ([0-9]+) skipped$/\1/p' <<<"$counts")
	if [ "$rc" -ne 0 ]; then
		[ -n "$counts" ] && [ "${f:-0}" -gt 0 ] || f=$((${f:-0} + 1))
	fi
	echo "$rc ${p:-0} ${f:-0} ${s:-0}" >>"$tmpd/counts"     # one short line: appends do not mix
	[ "$rc" -eq 0 ] || failed_checks "$title" "$rc" "$out"
	rm -f "$out"
	return 0
}

# failed_checks TITLE RC OUTPUT: a failed part's title and its "not ok"
# lines (with the VM runner's self-tests, each failed file's "# test-NAME.sh:
# FAILED" line after its own), kept for the summary at the end. A CI log is
# often read from its end, and one failed check among 600 is otherwise a
# search.
failed_checks() {
	{
		flock 8
		echo "  $1: exit $2"
		grep -E '^[[:space:]]*not ok |^# test-[^ ]+\.sh: FAILED ' "$3" | head -n 20 | sed 's/^[[:space:]]*/    /' |
			grep . || echo "    no \"not ok\" line: see the part's output above"
	} 8>"$tmpd/print.lock" >>"$tmpd/failed"
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

want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
for part in $parts; do
	case $part in self|host|vm|patch) ;;
	*) echo "scripts/check.sh: unknown part '$part'" >&2; exit 2 ;;
	esac
done

part_self() { run_part "project self-tests (no KVM needed), on $kvm_where" "$top/lib/tests/run.sh" "$build"; }
part_host() {
	if [ -z "$kvm_problem" ]; then
		run_part "suite on $kvm_where /dev/kvm" "$top/scripts/runner/run_tests.sh" -d "$build"
		run_part "KVM self-tests on $kvm_where /dev/kvm" "$top/lib/tests/check_kvm.sh" "$build"
	else
		# Nothing to run: every binary would skip as a whole.
		echo "=== suite and KVM self-tests on this host: not run, /dev/kvm: $kvm_problem (the VM part runs them)"
	fi
}
# The VM runner's flags for a part whose results go to DIR.
vm_flags_to() { echo "--timeout ${VM_TIMEOUT:-1800} --results $1 --suite $build/check-suite"; }
vm_flags=$(vm_flags_to "$results")
# The VM runner's self-tests in three parts of about 35, 25 and 50 s, so
# that the lanes can balance: the real QEMU boots, the LAVA job, the rest
# (the Bochs boot's checks go with the Intel cases' run, part_vm_intel).
vm_selftests_other() {
	local t name
	for t in "$top"/scripts/tests/test-*.sh; do
		name=${t##*/test-}; name=${name%.sh}
		case " $* " in *" $name "*) ;; *) printf '%s ' "$name" ;; esac
	done
}
part_vm_selftest() {  # part_vm_selftest WHAT JOBS NAME...
	local what=$1 jobs=$2
	shift 2
	run_part "VM runner self-tests: $what" env SUITE="$build/check-suite" VM_SELFTEST_JOBS="$jobs" \
		make -C "$top" --no-print-directory vm_selftest VM_SELFTESTS="$*"
}
# One file at a time: beside test-vm-snapshot.sh's VMs, test-vm-boot.sh's
# silent guest starved (its cpu-poke's "wait ended late" lines filled the
# console's last lines that the watchdog check reads).
part_vm_selftest_boots() { part_vm_selftest "real QEMU boots" 1 vm-boot vm-snapshot; }
part_vm_selftest_lava() { part_vm_selftest "a LAVA job" 1 lava; }
part_vm_selftest_rest() {
	# Four files at once: they mostly wait (for beats, locks, limits), and
	# alone they would leave this lane's core idle (39 s one after another,
	# about half that four at a time). The Bochs boot's file checks the
	# Intel cases' run (part_vm_intel).
	# shellcheck disable=SC2046 # a list of names
	part_vm_selftest "the others" 4 $(vm_selftests_other vm-boot vm-snapshot bochs-boot lava)
}
part_vm_suite() {
	# One VM when another lane runs beside it (a lane is a core), else as
	# make vm_run_tests chooses.
	local jobs=${VM_JOBS:-auto}
	[ "$lanes" -eq 1 ] || jobs=1
	run_part "suite in a QEMU VM (${KERNEL:-sid})" make -C "$top" --no-print-directory \
		vm_run_tests VM_JOBS="$jobs" VM_FLAGS="$vm_flags"
	# The KTAP that dashboards and CI consume, as a TAP consumer reads it.
	run_part "prove reads the VM's KTAP" bash -c \
		"prove -Q --exec cat '$results/vm-${KERNEL:-sid}.ktap' && echo '1 passed, 0 failed, 0 skipped'"
}
part_vm_mwait() {
	# exits/ once more where MWAIT may not be passed through
	# (clearcpuid=monitor): the capability masks the other way round.
	run_part "exits/ in a QEMU VM that may not pass MWAIT through (${KERNEL:-sid}, clearcpuid=monitor)" \
		make -C "$top" --no-print-directory vm_mwait_restricted \
		VM_FLAGS="$(vm_flags_to "$results/mwait-restricted")"
}
part_vm_intel() {
	# Intel nested VMX and the enlightened VMCS, which QEMU's CPU cannot
	# emulate: smoke and hyperv/l2_tlb_flush's vmx_ cases under Bochs
	# (built once from Debian's source, then cached: scripts/vm/bochs-build).
	# And the VM-scope exits QEMU's AMD cannot show: PAUSE (pause-loop
	# exiting, its window kept from growing so that a loop exits often
	# enough to count), the C-state and APERF/MPERF MSRs.
	local vmx dir=$results/bochs
	vmx=$("$build/hyperv/l2_tlb_flush" -l | cut -f1 | grep '^vmx_' | paste -sd ,)
	run_part "Intel nested VMX under Bochs (${KERNEL:-sid}): smoke, hyperv/l2_tlb_flush's vmx_ cases, the Intel-only exits" \
		output_kept_in "$dir" make -C "$top" --no-print-directory vm_run_tests EMULATOR=bochs \
		TESTS="x86_64/smoke hyperv/l2_tlb_flush:$vmx exits/disable_exits:pause_disabled,cstate_disabled,aperfmperf_disabled" \
		VM_FLAGS="$(vm_flags_to "$dir") --modparam kvm_intel.ple_window_grow=1"
	# The VM runner's checks of a Bochs boot, on this run: a Bochs boot
	# costs half a minute of a core, and one serves both.
	run_part "VM runner self-tests: the Bochs boot, checked on the Intel cases' run" \
		env BOCHS_BOOT_RUN="$dir" make -C "$top" --no-print-directory vm_selftest VM_SELFTESTS=bochs-boot
}
# output_kept_in DIR CMD...: CMD, its output also kept in DIR/vm-run.out and
# its exit status in DIR/vm-run.status (test-bochs-boot.sh's BOCHS_BOOT_RUN).
output_kept_in() {
	local dir=$1 rc
	shift
	mkdir -p "$dir"
	"$@" 2>&1 | tee "$dir/vm-run.out"
	rc=${PIPESTATUS[0]}
	echo "$rc" >"$dir/vm-run.status"
	return "$rc"
}
part_vm_kvm() {
	# Harness controls, the KVM part of the command-line contract and
	# the negative-control table, on a KVM with Hyper-V and nested SVM.
	run_part "KVM self-tests in a QEMU VM (${KERNEL:-sid})" make -C "$top" \
		--no-print-directory vm_kvm_selftests VM_FLAGS="$vm_flags"
}
part_patch() {
	# A KVM patch series rebuilt into a stock Debian kernel's modules
	# (slowest part: toolchain and source download, module build).
	export PATCH_SELFTEST_RESULTS=$results/patch-selftest
	run_part "patch-series rebuild self-test (sid)" make -C "$top" --no-print-directory patch_selftest
	# Cases against KVM broken on purpose: each fails where its path is.
	run_part "the suite against KVM broken on purpose (sid)" make -C "$top" \
		--no-print-directory broken_kvm_controls BROKEN_KVM_FLAGS="--results $results/broken-kvm --suite $build/check-suite"
}
# What the VM parts share, made once: the VM runner's packages, the static
# suite, and the kernel looked up once (two updates of one private apt state
# at once would collide on apt's lock). The packages come first: the look-up
# needs depmod (kmod), which a fresh machine may not have.
vm_setup() {
	"$top/scripts/deps.sh" build vm || return 1
	"$top/scripts/vm/build-suite" "$build/check-suite" || return 1
	case ${KERNEL:-sid} in
	bookworm|trixie|sid) "$top/scripts/vm/fetch-kernel" "${KERNEL:-sid}" >"$tmpd/kdir" || return 1 ;;
	esac
}

# The parts after the set-up, longest first, so that the two lanes end
# close together: each lane takes the next part when its last one ends.
# Measured warm on an idle 2-core machine, in s: the patch-series self-test
# and then the suite against patched KVM (one module build cache and its
# lock: in order, one part) 63-106 + 170-180, KVM self-tests 139-151 (115
# after 2026-12-05's cheaper negative-control table), suite 125-138, the VM
# runner's boots 33-49, its LAVA job 24, the Intel cases under Bochs 43-57
# (with the Bochs boot's checks on that run, 0 s; they had a boot of their
# own, 41 s, before 2026-12-05), the VM runner's other tests 48-52 four at
# a time (23 before the whole-VM stop test, test-vm-stop.sh, joined them),
# exits/ without MWAIT 13-24 (the lanes then end within 1-12 s of each other).
queue_parts() {
	! want patch || echo patch
	if want vm; then
		echo vm_kvm
		echo vm_suite
	fi
	! want host || echo host
	if want vm; then
		echo vm_intel
		echo vm_selftest_rest
		echo vm_selftest_boots
		echo vm_selftest_lava
		echo vm_mwait
	fi
}
queue=$tmpd/queue
queue_parts >"$queue"
next_part() {  # the next part's name, taken off the queue; fails when it is empty
	local part
	{
		flock 9
		part=$(head -n 1 "$queue")
		sed -i 1d "$queue"
	} 9>"$tmpd/queue.lock"
	[ -n "$part" ] && echo "$part"
}
lane_loop() {  # lane_loop LANE: parts off the queue until it is empty
	local part
	lane=$1
	while part=$(next_part); do "part_$part"; done
}

start_all=$(date +%s)
lane=1
if [ "$lanes" -ge 2 ]; then
	buffered=1
	# A lane is a core: a module build on both would take the core of the
	# other lane's VM, whose time-bounded cases then see less (and whose
	# negative controls' timing is what they check).
	export KVM_MODULES_JOBS=${KVM_MODULES_JOBS:-1}
	echo "--- two lanes side by side (CHECK_LANES=1: one after another); each part is printed whole when it ends"
	# The self-tests need no set-up: lane 2 runs them meanwhile.
	self_pid=
	if want self; then
		( lane=2; part_self ) & self_pid=$!
	fi
fi
[ "$lanes" -ge 2 ] || ! want self || part_self
if want vm || want patch; then
	run_part "VM parts' shared set-up: the static suite, ${KERNEL:-sid}'s kernel" vm_setup
	# Every part's fetch-kernel takes the kernel found there.
	[ ! -s "$tmpd/kdir" ] || export "FETCH_KERNEL_${KERNEL:-sid}=$(cat "$tmpd/kdir")"
fi
if [ "$lanes" -ge 2 ]; then
	lane_loop 1 & l1=$!
	[ -z "$self_pid" ] || wait "$self_pid"
	lane_loop 2 & l2=$!
	wait "$l1"; wait "$l2"
else
	lane_loop 1
fi
echo "--- all parts: $(( $(date +%s) - start_all )) s"
read -r total_passed total_failed total_skipped < <(awk '
	{ p += $2; f += $3; s += $4; if ($1 != 0) bad = 1 }
	END { print p + 0, f + 0, s + 0; exit bad }' "$tmpd/counts") || true
awk '$1 != 0 { exit 1 }' "$tmpd/counts" || status=1
if [ -s "$tmpd/failed" ]; then
	echo "--- failed:"
	cat "$tmpd/failed"
fi
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
exit $status
