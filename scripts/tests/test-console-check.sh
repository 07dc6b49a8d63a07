#!/bin/bash
# The console checker on canned console logs: what is KTAP, and which runs
# must fail (kernel problems, cut-off streams, failed suites, taint).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check() { "$scripts/vm/console-check" --ktap "$tmp/ktap" <"$data/console/$1.log"; }

expect "a clean run passes" 0 check pass :: '^vm-run: suite: 2 passed, 0 failed, 1 skipped$'
same "the KTAP of a clean run is the stream between the markers, without CRs" \
	"$data/console/pass.ktap" "$tmp/ktap"
"$scripts/vm/console-check" --ktap "$tmp/ktap" --state "$tmp/state" <"$data/console/pass.log" \
	>"$tmp/stdout" 2>"$tmp/stderr"
same "the KTAP goes to stdout as well" "$data/console/pass.ktap" "$tmp/stdout"
# pass.log starts as SeaBIOS does: reset, wrap off, clear screen.
if grep -q "$(printf '\033')" "$data/console/pass.log" && ! grep -q "$(printf '\033')" "$tmp/stderr"; then
	pass "no terminal control codes reach stderr"
else
	fail "no terminal control codes reach stderr" "$(od -c "$tmp/stderr" | head -n 5)"
fi
printf 'done\t30\thyperv/tlb_flush\t1\n' >"$tmp/want"
same "the state file says what ran last (for the watchdog)" "$tmp/want" "$tmp/state"

expect "a kernel message inside the stream, and a test printing BUG:, do not fail a run" 0 \
	check interleaved :: '^vm-run: suite: '
if grep -q 'unhandled rdmsr' "$tmp/ktap"; then
	fail "kernel messages are kept out of the KTAP" "$(cat "$tmp/ktap")"
elif ! grep -q '# guest says: BUG:' "$tmp/ktap"; then
	fail "kernel messages are kept out of the KTAP, test output is not" "$(cat "$tmp/ktap")"
else
	pass "kernel messages are kept out of the KTAP, test output is not"
fi

expect "cpu-poke's late CPU does not fail a run" 0 check cpu-poke :: '^vm-run: suite: 2 passed'
awk '/^    ok 1 / { getline; print; exit }' "$tmp/ktap" >"$tmp/after-ok-1"
has_line "... and is said in the KTAP, inside the case that was running" \
	'^    # cpu-poke: CPU 1: a 1000 ms wait ended 2500 ms late: the CPU ran nothing until then, or other work held it \(while x86_64/smoke case 2 ran\)$' \
	"$tmp/after-ok-1"
no_line "... and cpu-poke's start, before the stream, is not" 'each of the 2 CPUs' "$tmp/ktap"
# A --run script's output has no binary's start line: the line names the script.
grep -v '(time limit' "$data/console/cpu-poke.log" >"$tmp/script.log"
"$scripts/vm/console-check" --ktap "$tmp/ktap" --script check_kvm.sh <"$tmp/script.log" >/dev/null 2>&1 || true
has_line "... and in a --run script's output it names the script" \
	'^# cpu-poke: CPU 1: .* \(while the script check_kvm\.sh ran\)$' "$tmp/ktap"

expect "an oops during the run fails it and is shown" 1 check oops :: \
	'^vm-run: FAIL: kernel problem reported on the console:$' \
	'^    \[ *4\.400200\] Oops: 0000' '^    \[ *4\.400400\] Call Trace:' \
	'^vm-run: FAIL: the run tainted the kernel: D \(128\)$'
expect "an oops is attributed to the binary and case that were running" 1 check oops :: \
	'^vm-run: FAIL: kernel problem while x86_64/smoke case 1: BUG: kernel NULL pointer dereference'
if grep -qx '    # kernel problem while x86_64/smoke case 1 ran: BUG: kernel NULL pointer dereference, address: 0000000000000008' "$tmp/ktap" &&
	[ "$(grep -c '^    # kernel problem while' "$tmp/ktap")" = 1 ]; then
	pass "... once, in the KTAP, inside the running case's block"
else
	fail "... once, in the KTAP, inside the running case's block" "$(cat "$tmp/ktap")"
fi
expect "a panic fails the run: problem shown, stream cut off" 1 check panic :: \
	'^vm-run: FAIL: the KTAP stream was cut off' \
	'^    \[ *4\.500000\] Kernel panic - not syncing: Fatal exception$'
expect "a hung VM (stream stops) fails with the last console lines" 1 check hung :: \
	'^vm-run: FAIL: the KTAP stream was cut off' '^vm-run: last console lines:$' \
	'^        1\.\.2$'
expect "a WARN while loading KVM fails a run whose tests passed" 1 check warn-at-load :: \
	'^vm-run: FAIL: kernel problem reported on the console:$' \
	'WARNING: CPU: 0 PID: 1 at arch/x86/kvm/svm/svm\.c'
# The first line of each report the debug options of scripts/vm/kernel.config
# print (lockdep, KASAN, UBSAN, DEBUG_ATOMIC_SLEEP, DEBUG_LIST), alone in a
# case of a run that otherwise passed: each fails it, named.
while IFS='|' read -r what line; do
	sed "15a [    4.300000] $line" "$data/console/pass.log" >"$tmp/debug.log"
	expect "a $what report fails a run whose tests passed" 1 \
		"$scripts/vm/console-check" --ktap "$tmp/ktap" <"$tmp/debug.log" :: \
		'^vm-run: FAIL: kernel problem while x86_64/smoke case 2: ' "$(sed 's/[][().*+?^$|]/\\&/g' <<<"$line")"
done <<'REPORTS'
lockdep|WARNING: possible circular locking dependency detected
lockdep|WARNING: inconsistent lock state
KASAN|BUG: KASAN: slab-use-after-free in kvm_vcpu_kick+0x5c/0x140 [kvm]
UBSAN|UBSAN: shift-out-of-bounds in arch/x86/kvm/lapic.c:2190:17
sleep-in-atomic|BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580
DEBUG_LIST|list_add corruption. prev->next should be next (ffff888100a2b0e8), but was 0000000000000000. (prev=ffff888100a2b0e8).
REPORTS
expect "a failed test fails the run, naming the case and its evidence" 1 check test-failed :: \
	'^vm-run: FAIL: the suite exited with status 1; failing: 1$' \
	'^    x86_64/smoke: sync messages carry their values to the host in order$' \
	'^        # lib/ucall\.c:88: value 2 arrived as 3$' '^vm-run: suite: 1 passed, 1 failed'
expect "a binary that fails without a failing case is named as the binary" 1 check hung-binary :: \
	'^vm-run: FAIL: the suite exited with status 1; failing: 2$' \
	'^    x86_64/kick: the binary: TIMEOUT after 490s$' '^    x86_64/nope: the binary: no such test binary$'
expect "an init that found no suite fails the run" 1 check no-suite :: \
	'^vm-run: FAIL: the test suite never started' \
	'^vm-run: FAIL: the VM init gave up with status 127$' \
	'^    kvm-regress: no test suite at /suite/run_tests.sh$'
expect "a taint flag set during the run fails it, even without a splat" 1 check taint :: \
	'^vm-run: FAIL: the run tainted the kernel: L \(16384\)$'
expect "an empty console (QEMU never ran) fails" 1 check empty :: \
	'^vm-run: FAIL: the test suite never started'
expect "console-check refuses a missing --ktap" 2 "$scripts/vm/console-check" :: \
	'^console-check: --ktap FILE is required$'
# vm-run --trace: the trace's base64 after the suite goes to --trace FILE,
# not to the terminal, not into the KTAP.
awk '{ print } /kvm-regress ktap-end/ { print "### kvm-regress trace-begin ###"; print "H4sIAAAAAAAAA0tMTAQAJ1Ys1wMAAAA="; print "### kvm-regress trace-end ###" }' \
	"$data/console/pass.log" >"$tmp/traced.log"
"$scripts/vm/console-check" --ktap "$tmp/ktap" --trace "$tmp/trace.b64" <"$tmp/traced.log" >"$tmp/stdout" 2>"$tmp/stderr"
if [ "$(cat "$tmp/trace.b64")" = H4sIAAAAAAAAA0tMTAQAJ1Ys1wMAAAA= ] &&
	! grep -q H4sI "$tmp/stdout" "$tmp/stderr" "$tmp/ktap" && cmp -s "$data/console/pass.ktap" "$tmp/ktap"; then
	pass "a trace block goes to --trace FILE only, and the run is judged as without it"
else
	fail "a trace block goes to --trace FILE only, and the run is judged as without it" \
		"trace file: $(cat "$tmp/trace.b64" 2>&1); stderr: $(tail -n 3 "$tmp/stderr")"
fi
# vm-run --snapshot's restore: an attempt whose state did not load (the
# flag file never says "restored"; the emulator printed nothing) is not
# judged and says nothing: exit 3, and vm-run boots instead. Once loaded, the
# run is judged as any other.
: >"$tmp/empty.log"
expect "a restore that did not load is not judged: nothing said, exit 3" 3 \
	"$scripts/vm/console-check" --ktap "$tmp/ktap" --restored "$tmp/no-such-flag" <"$tmp/empty.log" ::
no_line "... (no FAIL line)" '.' "$tmp/out"
echo restored >"$tmp/restored"
expect "a restored run is judged as any other" 1 \
	"$scripts/vm/console-check" --ktap "$tmp/ktap" --restored "$tmp/restored" <"$tmp/empty.log" :: \
	'^vm-run: FAIL: the test suite never started'
expect "... and passes when it passes" 0 \
	"$scripts/vm/console-check" --ktap "$tmp/ktap" --restored "$tmp/restored" <"$data/console/pass.log" :: \
	'^vm-run: suite: 2 passed, 0 failed, 1 skipped$'
done_testing
