#!/bin/sh
# Checks the harness's negative controls (lib/tests/harness_negative.c):
# each planted failure must be reported as "not ok" with a diagnostic that
# says what happened, the planted skip as a skip, and the binary must exit 1.
set -u
bin=${1:?usage: check_harness.sh DIR}/lib/tests/harness_negative
out=$(mktemp)
out_frozen=$out.unkillable
freezer=
cleanup() {
	if [ -n "$freezer" ]; then
		echo THAWED >"$freezer/freezer.state" 2>/dev/null
		# The thawed process dies of the SIGKILL it was sent.
		i=0; while [ -s "$freezer/cgroup.procs" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		rmdir "$freezer" 2>/dev/null
		[ -z "${freezer_mount:-}" ] || umount "$freezer_mount" 2>/dev/null
	fi
	rm -f "$out" "$out.rc" "$out_frozen" "$out_frozen.rc"
}
trap cleanup EXIT

# The unkillable case freezes itself in a cgroup-v1 freezer; made here (as
# root), where the system has one mounted or lets us mount one.
if [ "$(id -u)" = 0 ]; then
	root=/sys/fs/cgroup/freezer
	if [ ! -f "$root/cgroup.procs" ]; then
		freezer_mount=$(mktemp -d "${TMPDIR:-/tmp}/freezer.XXXXXX")
		if mount -t cgroup -o freezer none "$freezer_mount" 2>/dev/null; then
			root=$freezer_mount
		else
			rmdir "$freezer_mount"; freezer_mount=; root=
		fi
	fi
	if [ -n "$root" ] && mkdir "$root/harness_negative.$$" 2>/dev/null; then
		freezer=$root/harness_negative.$$
	fi
fi

# run_bin OUT ARGS...: the binary through a pipe, bounded (a stuck case must
# not keep the reader waiting); its exit status in OUT.rc.
# The hung cases' limit is 2 s at native speed: at a given slowness of 1.5
# the harness must end them at 2 x 1.5 + its 5 s allowance = 8 s.
run_bin() {
	o=$1; shift
	{ HARNESS_NEGATIVE_FREEZER=$freezer KTEST_TIME_SCALE=1.5 timeout -s KILL 120 "$bin" "$@" 2>&1
	  echo $? >"$o.rc"; } | cat >"$o"
}
# The frozen process idles through its 8 s limit and the 5 s the harness
# then gives SIGKILL, so it runs in a process of its own beside the other
# cases (the hung vCPU's 8 s among them) instead of after them.
others=$("$bin" -l | cut -f1 | grep -vx unkillable | tr '\n' ',' | sed 's/,$//')
if [ -n "$freezer" ]; then
	run_bin "$out_frozen" -t unkillable &
	frozen_run=$!
fi
run_bin "$out" -t "$others"
[ -z "$freezer" ] || wait "$frozen_run"
rc=$(cat "$out.rc")
fail=0
expect() {  # expect PATTERN WHAT
	if grep -Eq "$1" "$out"; then echo "ok - $2"; else echo "not ok - $2 (no line matching: $1)"; fail=1; fi
}
expect '^not ok 1 a failing guest assertion'                          "guest assert is a failure"
expect 'guest \(vCPU 0\): expected answer == 42, got answer = 41'      "guest assert shows both values"
expect '^not ok 2 an unexpected guest exception'                       "guest exception is a failure"
expect 'unexpected #UD \(vector 6\), error code 0x0, at rip 0x[0-9a-f]+ \(guest_ud2\+0x0\)' "exception names vector, error code and RIP with its function"
expect '^not ok 3 an unexpected guest page fault'                      "guest #PF is a failure"
expect 'unexpected #PF \(vector 14\).*cr2 0x100000000000'              "#PF names CR2"
expect '^not ok 4 a vCPU that never returns.*# TIMEOUT 8 s'           "hung vCPU is a timeout at its scaled limit"
expect 'vCPU 0 had been inside KVM_RUN for'                            "timeout names the vCPU inside KVM_RUN"
expect '^not ok 5 a vCPU silent past its message timeout'              "watchdog turns a hang into a failure"
expect 'vCPU 0 sent no guest message within 300 ms.*\(guest_spin_forever\+0x' "watchdog names the vCPU and where it was"
expect '^not ok 6 a crash of the host side'                            "host crash is a failure"
expect 'case crashed with SIGSEGV'                                     "crash names the signal"
expect '^not ok 7 a failing host assertion'                            "host assert is a failure"
expect 'expected vcpus == 3, got vcpus = 2'                            "host assert shows both values"
expect '^not ok 8 an exit the test did not expect'                     "unexpected exit is a failure"
expect 'KVM_RUN failed: Interrupted system call|KVM_EXIT_'             "unexpected exit is named"
expect '^ok 9 a missing capability is a skip naming it # SKIP 0x7fffffff not supported' "missing capability is a skip"
expect '^not ok 10 a stress case that does not say how much stress it applied fails' "a stress case without its stress work is a failure"
expect 'a stress case must say how much stress it applied \(test_stress_work\(\)\); this one returned without it' "... saying so"
expect '^# Totals: pass:0 fail:9 .*skip:1 '                             "the binary reports every case and its totals"
if [ -n "$freezer" ]; then
	all=$out; out=$out_frozen
	expect '^not ok 1 a case whose process survives SIGKILL.*# TIMEOUT 8 s, process stuck in the kernel' "a process that survives SIGKILL is a timeout"
	expect 'did not die within [0-9]+ ms of SIGKILL: stuck in the kernel'   "a stuck process is named as stuck"
	expect 'thread [0-9]+: state D, waiting in __refrigerator'            "its threads' state and wait channel are shown"
	expect '^#   \[<0>\] __refrigerator'                                 "its kernel stack is shown"
	expect '^# Totals: pass:0 fail:1 '                                      "... and the run goes on to its totals"
	if [ "$(cat "$out.rc")" -eq 1 ]; then echo "ok - ... and exits 1"; else echo "not ok - the stuck case's run exited $(cat "$out.rc"), expected 1"; fail=1; fi
	out=$all
else
	echo "ok - a process that survives SIGKILL is reported # SKIP no cgroup-v1 freezer here (needs root and CONFIG_CGROUP_FREEZER)"
fi
if [ "$rc" -eq 1 ]; then echo "ok - exit status 1 when cases fail"; else echo "not ok - exit status $rc, expected 1"; fail=1; fi
if [ "$fail" -ne 0 ]; then
	echo "--- harness_negative output:"; cat "$out"
	[ -z "$freezer" ] || { echo "--- harness_negative -t unkillable output:"; cat "$out_frozen"; }
fi
exit $fail
