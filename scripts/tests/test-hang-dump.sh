#!/bin/bash
# scripts/vm/hang-dump against a made-up QEMU monitor that answers with the
# state of a real hang (data/hang-dump/: a sid VM under QEMU 7.2 TCG,
# 2026-12-05, both CPUs halted with the timer's vector 236 in their IRR):
# it must name each CPU that waits for a wakeup only the emulator can give,
# and no CPU whose interrupts are off or whose IRR is empty.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# fake_monitor SOCKET RFL IRR: serves "info cpus", "info registers -a" and
# "info lapic N" as QEMU's human monitor does (each command echoed, then
# its answer, then the prompt), with CPU 0's and 1's flags and IRR replaced.
fake_monitor() {
	python3 - "$1" "$data/hang-dump" "$2" "$3" <<'PY' &
import os, re, socket, sys
path, data, rfl, irr = sys.argv[1:5]
def read(name):
    text = open(os.path.join(data, name)).read()
    text = re.sub(r"RFL=[0-9a-f]+", "RFL=" + rfl, text)
    return re.sub(r"^IRR\t.*$", "IRR\t " + irr, text, flags=re.M)
answers = {
    "info cpus": "* CPU #0: thread_id=1\n  CPU #1: thread_id=1\n",
    "info registers -a": "\nCPU#0\n" + read("regs0.txt") + "\nCPU#1\n" + read("regs1.txt"),
    "info lapic 0": read("lapic0.txt"),
    "info lapic 1": read("lapic1.txt"),
}
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
conn, _ = server.accept()
conn.sendall(b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ")
buf = b""
while True:
    chunk = conn.recv(4096)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        command = line.decode().strip()
        answer = answers.get(command, "unknown command: '%s'\n" % command)
        conn.sendall((command + "\r\n" + answer.replace("\n", "\r\n") + "(qemu) ").encode())
PY
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
done_testing
