#!/bin/bash
# shellcheck disable=SC2016 # the fake tests are shell for the VM, expanded there
# Real boots of a Debian kernel ($KERNEL, default sid; fetched once, then
# cached) with a made-up suite of shell "binaries" and the project's own
# run_tests.sh: a pass, a kernel crash and two hangs must come out as PASS,
# FAIL, FAIL, FAIL, each with the reason; a missing test binary is refused
# before a boot.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-sid}
fake_suite fake_pass fake_gone fake_crash fake_hang fake_stop
# fake_NAME LIMIT BODY: a test binary as a busybox sh script.
fake() {
	printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo %s; exit 0; }\necho "KTAP version 1"\necho "1..1"\n%s\n' \
		"$2" "$3" >"$suite/x86_64/fake_$1"
	chmod +x "$suite/x86_64/fake_$1"
}
fake pass 10 'echo "# NUMA nodes: $(ls -d /sys/devices/system/node/node* | wc -l)"
[ -c /dev/kvm ] && { echo "ok 1 /dev/kvm is there"; exit 0; }
echo "not ok 1 /dev/kvm is there"; exit 1'
fake crash 10 'echo c >/proc/sysrq-trigger; sleep 5; echo "ok 1 still alive"'
fake hang 600 'sleep 600'
# A guest that is alive but silent: the fake stops the runner's subshell that
# waits for it (run_tests.sh then waits for ever, printing nothing); the
# runner's 5 s kill of the fake changes nothing. Its child goes on writing a
# kernel message every 2 s, as a hung guest's RCU stall and hung-task
# warnings do: those must not keep it alive.
fake stop 5 'kill -STOP $PPID; (while :; do echo "<4>fake_stop: the kernel still talks" >/dev/kmsg; sleep 2; done) & exec sleep 600'

# vm_in RESULTS ARGS...: vm-run with the fake suite, results into RESULTS.
vm_in() {
	local results=$1
	shift
	"$scripts/vm/vm-run" --kernel "$kernel" --suite "$suite" --results "$results" "$@"
}
vm() { vm_in "$tmp/results" "$@"; }

# The hung and the silent guest mostly wait for their limits: started first,
# in VMs of their own (their own results folders), while the others run.
start hang vm_in "$tmp/results-hang" --timeout 20 x86_64/fake_hang
# Its state file (what runs now, which console-check rewrites in place at
# every suite line) is emptied 3 s into the case, as a read that meets such
# a rewrite finds it: the watchdog must go on with what it read before. (A
# watchdog that died on such a read left make check waiting for the
# overall limit; 300 s here keeps this file's run bounded if it does.)
mkdir "$tmp/vmtmp"
empty_state_in_case() {
	local i f
	for ((i = 0; i < 3000; i++)); do
		for f in "$tmp"/vmtmp/kvm-regress-vm.*/state; do
			if [ -f "$f" ] && grep -q '^binary' "$f"; then
				sleep 3
				: >"$f"
				echo "emptied $f"
				return
			fi
		done
		sleep 0.1
	done
	echo "never saw the case run"
}
start stop env TMPDIR="$tmp/vmtmp" "$scripts/vm/vm-run" --kernel "$kernel" --suite "$suite" \
	--results "$tmp/results-stop" --timeout 300 --watchdog-margin 5 x86_64/fake_stop
empty_state_in_case >"$tmp/emptier.log" 2>&1 &
emptier=$!

# clearcpuid=monitor: the option reaches the kernel, which then keeps MWAIT
# from KVM (X86_DISABLE_EXITS without bit 0: 14 = HLT|PAUSE|CSTATE here).
# --modparam: kvm_amd is loaded with it, and the results say so.
expect "a passing test passes, on two NUMA nodes, with extra kernel options and a kvm_amd parameter" 0 \
	vm --numa --cmdline clearcpuid=monitor --modparam kvm_amd.vgif=0 x86_64/fake_pass :: \
	'^ok 1 x86_64/fake_pass' '^    # NUMA nodes: 2$' "^vm-run: $kernel \(.*\): PASS$" \
	'^kvm-regress: kvm_amd: .* vgif=0( |$)' '^# tested: kvm modules: .*; parameters kvm_amd\.vgif=0$' \
	'^kvm-regress: KVM api=12 .*HYPERV=1' '^kvm-regress: command line: .* clearcpuid=monitor$' \
	'^kvm-regress: KVM .* X86_DISABLE_EXITS=[0-9]*[02468] ' \
	'^# tested: kernel: [^ ]+ \('"$kernel"'\)$' \
	'^# tested: kvm modules: stock \(Debian.s\); kvm-amd\.ko[.a-z]* sha256 [0-9a-f]{64}, ' \
	'^# tested: suite: fake-suite 1\.0$' '^# tested: emulator: QEMU [0-9.]+ .*, accel tcg' \
	'^vm-run: tested: suite: fake-suite 1\.0$' \
	"^vm-run: kernel boots through its PVH entry, uncompressed: .*/kernels/$kernel/.*/vmlinux\.pvh$"
if python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["tested"]; sys.exit(not (t["suite"] == "fake-suite 1.0" and t["kvm_modules"].startswith("stock") and t["emulator"].startswith("QEMU")))' \
	"$tmp/results/vm-$kernel.json"; then
	pass "the JSON says what was tested"
else
	fail "the JSON says what was tested" "$(head -c 2000 "$tmp/results/vm-$kernel.json")"
fi
if grep -q '^ok 1 x86_64/fake_pass' "$tmp/results/vm-$kernel.ktap" &&
	grep -q '^### kvm-regress status=0 ###$' "$tmp/results/vm-$kernel.console.log"; then
	pass "the KTAP and the console log are saved"
else
	fail "the KTAP and the console log are saved" "$(ls -l "$tmp/results")"
fi
# Under QEMU 7.2's single-threaded TCG the init runs cpu-poke for the VM's
# whole life, and the results say so; under any other emulator it does not.
if grep -q '^# tested: emulator: QEMU 7\.2\..*accel tcg,thread=single' "$tmp/results/vm-$kernel.ktap"; then
	has_line "... with cpu-poke, as under QEMU 7.2's single-threaded TCG" \
		'\] kvm-regress: cpu-poke: each of the 2 CPUs is poked by the one before it once a second$' \
		"$tmp/results/vm-$kernel.console.log"
	has_line "... which the results say" '^# tested: emulator: .*; every CPU poked once a second \(cpu-poke\)$' \
		"$tmp/results/vm-$kernel.ktap"
else
	no_line "... without cpu-poke, as under any other emulator" 'cpu-poke' "$tmp/results/vm-$kernel.console.log"
fi
# The bzImage's own set-up code prints this before it decompresses the kernel.
no_line "... and QEMU started the kernel at its PVH entry: the bzImage's set-up code did not run" \
	'Probing EDD' "$tmp/results/vm-$kernel.console.log"
expect "a module parameter kvm_amd does not have stops the run before the suite" 1 \
	vm --modparam kvm_amd.no_such_param=1 x86_64/fake_pass :: \
	'^kvm-regress: module parameter kvm_amd\.no_such_param=1: kvm_amd has no parameter no_such_param$' \
	"^vm-run: $kernel \(.*\): FAIL$"
expect "a missing test binary is refused before a boot" 2 vm x86_64/fake_gone :: \
	"^vm-run: selection 'x86_64/fake_gone': no test binary x86_64/fake_gone in the suite$"
no_line "... and no VM was booted for it" '^vm-run: .*booted in' "$tmp/out"
# (The panic's line may follow the fake's own output mid-line: the kernel
# writes to the serial port at once, past what the tty still holds.)
expect "a kernel crash during a test fails the run and is shown" 1 vm x86_64/fake_crash :: \
	'^vm-run: FAIL: the KTAP stream was cut off' '^vm-run: FAIL: kernel problem reported' \
	'^    .*\[ *[0-9.]+\] Kernel panic - not syncing' "^vm-run: $kernel \(.*\): FAIL$"
expect_started "a hung VM is killed at the time limit and fails" 1 hang :: \
	'^vm-run: FAIL: the VM did not finish within 20 s and was killed$' \
	'^vm-run: FAIL: the (KTAP stream was cut off|test suite never started)' \
	"^vm-run: $kernel \(.*\): FAIL$"
# The watchdog, not the overall limit (300 s here), ends a silent guest:
# within the binary's 5 s limit + a 5 s margin (+ its 2 s polling) of the
# state file's last change. The margin is short (the runner's default is 60 s
# under TCG) because this guest's wait bounds the file's run time.
expect_started "a silent guest is caught by the watchdog within its binary's limit + margin" 1 stop :: \
	'^vm-run: overall time limit: 300 s; no-output watchdog: a binary.s time limit \+ 5 s$' \
	'^vm-run: FAIL: the guest is hung: no output from the suite \(kernel messages aside\) for (1[0-4]) s while x86_64/fake_stop case 1 ran \(its time limit 5 s \+ margin 5 s\); QEMU killed$' \
	'^vm-run: FAIL: the KTAP stream was cut off' '^vm-run: last console lines:$' \
	'^    # x86_64/fake_stop \(time limit 5s\)$' "^vm-run: $kernel \(.*\): FAIL$" \
	"^vm-run: the CPUs' registers and local APICs at the hang: .*/results-stop/vm-$kernel\.hang\.txt$"
# Its CPUs wait with nothing pending, as an idle guest's do: not the
# emulator's hang (scripts/tests/test-hang-dump.sh has one).
no_line "... whose CPUs are not said to wait for the emulator" '^vm-run: emulator: CPU' "$tmp/out"
has_line "... and the dump has the local APICs" '^info lapic 0$' "$tmp/results-stop/vm-$kernel.hang.txt"
ran=$(sed -n 's/^vm-run: .*: VM ran \([0-9]*\) s.*/\1/p' "$tmp/out")
if [ -n "$ran" ] && [ "$ran" -lt 150 ]; then
	pass "... after ${ran} s in all (boot included), not after the overall 300 s"
else
	fail "... after ${ran:-?} s in all (boot included), not after the overall 300 s" "$(tail -n 5 "$tmp/out")"
fi
wait "$emptier"
has_line "... although its state file was emptied 3 s into the case" '^emptied ' "$tmp/emptier.log"

# A VM fed from a queue (vm-run --queue, as vm-shard feeds its VMs): its
# run_tests.sh asks for units over the VM's second serial port; here a
# loop answers with three units, then "none" (and gives up after 120 s
# without a request). How vm-shard shares one queue among VMs is
# test-vm-shard.sh's, with stand-in VMs.
for q in 1 2 3; do fake "q$q" 10 'echo "ok 1 ran"'; done
printf 'x86_64:%s\n' fake_q1 fake_q2 fake_q3 >>"$suite/kselftest-list.txt"
mkfifo "$tmp/q.in" "$tmp/q.out"
(
	exec 5<>"$tmp/q.out" 6<>"$tmp/q.in"
	for answer in x86_64/fake_q2 x86_64/fake_q3 x86_64/fake_q1 none; do
		IFS= read -r -t 120 req <&5 && echo "$req" >>"$tmp/q.asked" && echo "$answer" >&6
	done
) &
server=$!
expect "a VM fed from a queue runs what it is given, in that order, and passes" 0 \
	vm --queue "$tmp/q" x86_64/fake_q1 x86_64/fake_q2 x86_64/fake_q3 :: \
	'^ok 1 x86_64/fake_q2 # [0-9]+s$' '^ok 2 x86_64/fake_q3 # [0-9]+s$' '^ok 3 x86_64/fake_q1 # [0-9]+s$' \
	'^1\.\.3$' "^vm-run: $kernel \(.*\): PASS$"
wait "$server"
expect "... asking once per unit and once more" 0 paste -sd ' ' "$tmp/q.asked" :: '^next next next next$'
done_testing
