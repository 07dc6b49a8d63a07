#!/bin/bash
# shellcheck disable=SC2016 # the fake tests are shell for the VM, expanded there
# vm-run --snapshot with real boots of a Debian kernel ($KERNEL, default
# sid): the first run boots and saves the VM's state at the end of the
# boot; the next one restores it instead of booting, with its own
# initramfs (its own selection of the suite), its own randomness, and the
# saved boot at the head of its console log; a state that does not load is
# dropped and the VM boots.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-sid}
fake_suite fake_first fake_second
# A test binary as a busybox sh script that says 8 random bytes of the guest.
for name in first second; do
	printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo 10; exit 0; }\necho "KTAP version 1"\necho "1..1"\necho "# random: $(head -c 8 /dev/urandom | od -An -tx1 | tr -d " ")"\n[ -c /dev/kvm ] && { echo "ok 1 %s"; exit 0; }\necho "not ok 1 %s"; exit 1\n' \
		"$name" "$name" >"$suite/x86_64/fake_$name"
	chmod +x "$suite/x86_64/fake_$name"
done
# 512 MB: the made-up suite needs little, and a smaller state saves and
# loads sooner (2.6 s against 4.5 s at the runner's default 2048 MB).
vm() { "$scripts/vm/vm-run" --kernel "$kernel" --mem 512 --suite "$suite" --results "$tmp/results" "$@"; }
random_of() { sed -n 's/^    # random: //p' "$tmp/results/vm-$kernel.ktap"; }

expect "--snapshot goes with QEMU only" 2 vm --snapshot --emulator bochs x86_64/fake_first :: \
	"^vm-run: --snapshot goes with QEMU \(Bochs boots from an ISO\)$"
expect "a first run boots, saves its state at the end of the boot, and passes" 0 \
	vm --snapshot x86_64/fake_first :: \
	'^vm-run: snapshot: none for this VM yet; this run boots and saves it as [0-9a-f]{16}$' \
	'^# tested: boot: booted; the state at the end of the boot saved as snapshot [0-9a-f]{16}$' \
	'^vm-run: sid: VM ran [0-9]+ s: booted in ' "^vm-run: $kernel \(.*\): PASS$"
key=$(sed -n 's/^vm-run: snapshot: none for this VM yet; this run boots and saves it as //p' "$tmp/out")
state=$VM_SNAPSHOT_DIR/$key/state
expect "... kept where VM_SNAPSHOT_DIR says" 0 test -s "$state" ::
first_random=$(random_of)
expect "the next run restores it, runs its own selection, and passes" 0 \
	vm --snapshot x86_64/fake_second :: \
	"^vm-run: snapshot: restoring $key \(saved .*\)$" \
	"^# tested: boot: restored from snapshot $key " '^ok 1 x86_64/fake_second' \
	"^vm-run: sid: VM ran [0-9]+ s: restored its boot \(snapshot $key\), suite took " \
	"^vm-run: $kernel \(.*\): PASS$"
has_line "... its console log starts with the saved boot" \
	"^vm-run: the lines above are the boot saved as snapshot $key; this run restored its state there$" \
	"$tmp/results/vm-$kernel.console.log"
has_line "... (the kernel's boot messages among them)" '^\[ *[0-9.]+\] .*' "$tmp/results/vm-$kernel.console.log"
if python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["tested"]["boot"].startswith("restored from snapshot"))' \
	"$tmp/results/vm-$kernel.json"; then
	pass "... and its JSON says the boot was restored"
else
	fail "... and its JSON says the boot was restored" "$(head -c 2000 "$tmp/results/vm-$kernel.json")"
fi
second_random=$(random_of)
# The guest's random numbers after a restore are not a replay of the saved
# state's: the run that saved it drew its own after the mark too, and the
# kernel reseeds from RDRAND.
if [ -n "$first_random" ] && [ -n "$second_random" ] && [ "$first_random" != "$second_random" ]; then
	pass "... drawing other random numbers than the run that saved it ($first_random, $second_random)"
else
	fail "... drawing other random numbers than the run that saved it" \
		"saving run '$first_random', restored run '$second_random'"
fi
head -c 1000000 "$state" >"$state.cut" && mv "$state.cut" "$state"
expect "a saved state that does not load is dropped, and the VM boots and passes" 0 \
	vm --snapshot x86_64/fake_second :: \
	"^vm-run: snapshot: $key did not load \(.*\); dropped, booting instead$" \
	'^vm-run: sid: VM ran [0-9]+ s: booted in ' "^vm-run: $kernel \(.*\): PASS$"
no_line "... and the results do not say it was restored" '^# tested: boot: ' "$tmp/results/vm-$kernel.ktap"
no_line "... nor does the output judge the attempt that did not load" '^vm-run: (FAIL|last console lines)' "$tmp/out"
expect "... and is gone" 1 test -e "$VM_SNAPSHOT_DIR/$key" ::
done_testing
