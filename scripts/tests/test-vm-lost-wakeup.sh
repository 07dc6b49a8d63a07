#!/bin/bash
# vm-run's watchdog and a VM that the emulator stopped as a whole: every CPU
# halted with an interrupt its local APIC would deliver (QEMU 7.2 TCG,
# docs/emulators.md, "A pending interrupt nothing delivers"). A stand-in QEMU
# (fake-qemu) prints a run's console up to its test binary, then nothing,
# using no CPU, with its monitor in that state. The watchdog must find it
# within seconds, not at the binary's limit: a VM that a key wakes goes on
# to its verdict, one that stays stuck is killed at once.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# run WAKES: vm-run with fake-qemu as its QEMU, its CPUs leaving the hung
# state as WAKES says; the seconds it took in $tmp/seconds.
run() {
	local t0=$SECONDS rc=0
	fake_vm_run "$1" "$tmp/results-$1" || rc=$?
	echo $((SECONDS - t0)) >"$tmp/seconds"
	return "$rc"
}

expect "stopped in its test binary, woken by a key: the run goes on and passes" 0 run key :: \
	'^vm-run: emulator: the VM ran nothing for the last [0-9]+ s or more: the guest silent, the emulator idle$' \
	'^vm-run: emulator: CPU 0: halted with interrupts enabled while its local APIC holds vector 236 ' \
	'^vm-run: emulator: a key pressed on the VM.s keyboard woke it' \
	"^vm-run: the CPUs' registers and local APICs before the key: $tmp/results-key/vm-custom.lost-wakeup-1.txt$" \
	'^vm-run: emulator: every CPU waited for a wakeup only the emulator could give, 1 time\(s\); a key woke the VM each time' \
	'^vm-run: custom \(.*\): PASS$'
no_line "... not as a hang" 'hung' "$tmp/out"
has_line "... the CPUs' state before the key is kept" 'HLT=1' "$tmp/results-key/vm-custom.lost-wakeup-1.txt"
[ "$(cat "$tmp/seconds")" -le 30 ] && pass "... within 30 s" || fail "... within 30 s" "$(cat "$tmp/seconds") s"
# The results say it with the case that ran through the stop: the KTAP
# inside its block, the JSON in its record.
awk '/^    # case: it_runs$/ { getline; print; exit }' "$tmp/results-key/vm-custom.ktap" >"$tmp/after-case"
has_line "... the KTAP says so inside the case that was running" \
	'^    # emulator: the VM stopped while x86_64/fake_pass case 1 ran: every CPU waited for a wakeup only the emulator could give, and a key on its keyboard woke it \(their state before the key: vm-custom\.lost-wakeup-1\.txt\); the times of the running case include the stop$' \
	"$tmp/after-case"
python3 -c 'import json, sys; print(*json.load(open(sys.argv[1]))["results"][0]["vm_events"], sep="\n")' \
	"$tmp/results-key/vm-custom.json" >"$tmp/events" 2>&1 || true
has_line "... and the JSON, in the case's vm_events" '^emulator: the VM stopped while x86_64/fake_pass case 1 ran: .*lost-wakeup-1\.txt' "$tmp/events"

expect "stopped, and the key does not wake it: killed at once, a failure" 1 run never :: \
	'^vm-run: emulator: a key pressed on the VM.s keyboard did not wake it: every CPU still waits after 3 s$' \
	'^vm-run: FAIL: the guest is hung: no output from the suite \(kernel messages aside\) for [0-9]+ s while x86_64/fake_pass case 1 ran .*\(every CPU waits for a wakeup only the emulator can give, and a key did not wake it: killed at once\)' \
	"^vm-run: the CPUs' registers and local APICs at the hang: $tmp/results-never/vm-custom.hang.txt$" \
	'^vm-run: custom \(.*\): FAIL$'
[ "$(cat "$tmp/seconds")" -le 40 ] && pass "... within 40 s, not at the binary's limit" ||
	fail "... within 40 s, not at the binary's limit" "$(cat "$tmp/seconds") s"
no_line "... and the KTAP does not say a key woke it" '^ *# emulator:' "$tmp/results-never/vm-custom.ktap"
done_testing
