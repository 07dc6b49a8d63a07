#!/bin/sh
# Checks the harness's negative controls (lib/tests/harness_negative.c):
# each planted failure must be reported as "not ok" with a diagnostic that
# says what happened, the planted skip as a skip, and the binary must exit 1.
set -u
bin=${1:?usage: check_harness.sh BUILD_DIR}/lib/tests/harness_negative
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$bin" >"$out" 2>&1
rc=$?
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
expect '^not ok 4 a vCPU that never returns.*# TIMEOUT 2 s'           "hung vCPU is a timeout"
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
if [ "$rc" -eq 1 ]; then echo "ok - exit status 1 when cases fail"; else echo "not ok - exit status $rc, expected 1"; fail=1; fi
if [ "$fail" -ne 0 ]; then echo "--- harness_negative output:"; cat "$out"; fi
exit $fail
