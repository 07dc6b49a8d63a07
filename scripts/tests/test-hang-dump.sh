#!/bin/bash
# scripts/vm/hang-dump against a made-up QEMU monitor (fake-qemu) that
# answers with the state of a real hang (both CPUs halted with the timer's
# vector 236 in their IRR):
# it must name each CPU that waits for a wakeup only the emulator can give,
# and no CPU whose interrupts are off or whose IRR is empty.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# fake_monitor SOCKET RFL IRR [WHEN]: the made-up monitor of fake-qemu,
# with CPU 0's and 1's flags and IRR replaced; WHEN the CPUs leave that
# state: "key", "second" or never (fake-qemu says more).
fake_monitor() {
	FAKE_QEMU_RFL=$2 FAKE_QEMU_IRR=$3 FAKE_QEMU_WAKES=${4:-never} "$tests/fake-qemu" --monitor "$1" &
	for _ in $(seq 50); do [ -S "$1" ] && return; sleep 0.1; done
}

fake_monitor "$tmp/hung.sock" 00000282 "236 "
expect "a hung VM's CPUs: both named, halted with vector 236 pending" 0 \
	"$scripts/vm/hang-dump" "$tmp/hung.sock" "$tmp/hung.txt" :: \
	'^CPU 0: halted with interrupts enabled while its local APIC holds vector 236 \(processor priority 0x10\): a wakeup only the emulator can give$' \
	'^CPU 1: halted with interrupts enabled while its local APIC holds vector 236 \(processor priority 0x10\)'
if grep -q '^info lapic 1$' "$tmp/hung.txt" && grep -q 'HLT=1' "$tmp/hung.txt"; then
	pass "... and the dump keeps every CPU's registers and local APIC"
else
	fail "... and the dump keeps every CPU's registers and local APIC" "$(head -n 20 "$tmp/hung.txt")"
fi
wait

# A look can fall between an interrupt's arrival and its CPU's waking: a
# CPU that has taken it by the second look is not named (make check once
# named the idle guest's CPU 0 so, with the timer's vector in its IRR).
fake_monitor "$tmp/t.sock" 00000282 "236 " second
expect "a CPU that takes its interrupt by the second look is not named" 0 \
	"$scripts/vm/hang-dump" "$tmp/t.sock" "$tmp/t.txt" ::
no_line "... no line at all" '^' "$tmp/out"
grep -q 'HLT=1' "$tmp/t.txt" && pass "... and the dump keeps the first look" || fail "... and the dump keeps the first look" "$(head -n 5 "$tmp/t.txt")"
wait

fake_monitor "$tmp/if0.sock" 00000082 "236 "
expect "halted with interrupts off: no CPU named" 0 "$scripts/vm/hang-dump" "$tmp/if0.sock" "$tmp/if0.txt" ::
no_line "... no line at all" '^' "$tmp/out"
wait

fake_monitor "$tmp/idle.sock" 00000282 "(none)"
expect "halted with nothing pending: no CPU named" 0 "$scripts/vm/hang-dump" "$tmp/idle.sock" "$tmp/idle.txt" ::
no_line "... no line at all" '^' "$tmp/out"
wait

expect "no monitor to ask: one line, exit 1" 1 "$scripts/vm/hang-dump" "$tmp/none.sock" "$tmp/none.txt" :: \
	'^hang-dump: cannot ask the emulator.s monitor'
[ "$(wc -l <"$tmp/out")" -eq 1 ] && pass "... one line" || fail "... one line" "$(cat "$tmp/out")"

# --wake, as vm-run's watchdog asks it while a silent VM's emulator runs
# nothing: a key is pressed only when every CPU waits, twice in a row.
fake_monitor "$tmp/w.sock" 00000282 "236 " key
expect "--wake: every CPU waits; the key wakes them: exit 3, said" 3 \
	"$scripts/vm/hang-dump" --wake "$tmp/w.sock" "$tmp/w.txt" :: \
	'^CPU 0: halted with interrupts enabled while its local APIC holds vector 236 .*a wakeup only the emulator can give$' \
	'^CPU 1: halted .* vector 236 ' '^a key pressed on the VM.s keyboard woke it'
if [ "$(grep -c '^info cpus$' "$tmp/w.sock.log")" -ge 2 ] && grep -q '^sendkey ctrl$' "$tmp/w.sock.log" &&
	grep -q 'HLT=1' "$tmp/w.txt"; then
	pass "... after two looks; the state before the key is kept"
else
	fail "... after two looks; the state before the key is kept" "$(cat "$tmp/w.sock.log")"
fi
wait

fake_monitor "$tmp/s.sock" 00000282 "236 "
expect "--wake: the key does not wake them: exit 4, said" 4 \
	"$scripts/vm/hang-dump" --wake "$tmp/s.sock" "$tmp/s.txt" :: \
	'^a key pressed on the VM.s keyboard did not wake it: every CPU still waits after 3 s$'
wait

fake_monitor "$tmp/c.sock" 00000282 "236 " second
expect "--wake: a CPU that takes its interrupt by itself (the second look): nothing done, exit 0" 0 \
	"$scripts/vm/hang-dump" --wake "$tmp/c.sock" "$tmp/c.txt" ::
no_line "... nothing said" '^' "$tmp/out"
no_line "... no key pressed" '^sendkey' "$tmp/c.sock.log"
[ ! -e "$tmp/c.txt" ] && pass "... nothing written" || fail "... nothing written"
wait

fake_monitor "$tmp/i.sock" 00000082 "236 "
expect "--wake: halted with interrupts off: nothing done, exit 0" 0 \
	"$scripts/vm/hang-dump" --wake "$tmp/i.sock" "$tmp/i.txt" ::
no_line "... no key pressed" '^sendkey' "$tmp/i.sock.log"
wait
done_testing
